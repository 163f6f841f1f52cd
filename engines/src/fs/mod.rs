//! The storage seam: every byte an engine reads or writes goes through
//! [`Vfs`] and [`VFile`], so it can be counted ([`CountingFs`]), replaced by
//! the crash simulator, or run on a real disk ([`RealFs`]).
//!
//! # Contract
//!
//! - Paths are ordinary paths; a `Vfs` does not resolve them against anything.
//! - [`VFile::read_at`] fills the whole buffer or fails: a short read (reading
//!   past the end of the file) is an error, never a partial result.
//! - [`VFile::set_len`] growth reads back as zeros.
//! - [`VFile::allocate`] reserves space: it grows the file to at least the
//!   given length (never shrinks it), and the new range reads back as
//!   zeros. [`RealFs`] *writes* the zeros, so that later writes inside the
//!   range need no block allocation, convert no unwritten extent and change
//!   no file size: an fdatasync of such an overwrite has no metadata to
//!   commit (`fallocate(2)` would leave unwritten extents, whose conversion
//!   the next fdatasync commits: see `RealFs`'s `allocate`). The file *size*
//!   changes at `allocate`, on purpose: that size change is metadata which
//!   the next `sync_data` (fdatasync commits a size change: it is needed to
//!   read the data back) or `sync_all` makes durable, with the zeros. A
//!   crash before that sync may keep the old size or the new one (zeros).
//!   [`CountingFs`] counts the reserved bytes as written. Logs that reserve
//!   space find their end by their records, never by the file size
//!   ([`crate::logfile`]).
//! - [`VFile::append`] is one `write(2)` of the whole buffer at the current end
//!   of the file. An engine that buffers in user space flushes that buffer with
//!   `append` before it acknowledges a write, so an acknowledged write under
//!   any policy has at least reached the kernel.
//! - Nothing is durable until synced: file data by [`VFile::sync_data`]
//!   (fdatasync) or [`VFile::sync_all`] (fsync); a new, renamed or removed
//!   directory entry by [`Vfs::sync_dir`] on its parent directory.
//! - **A failed sync.** After `sync_data`/`sync_all` returns an error, nothing
//!   written to that file since its last successful sync may be assumed
//!   durable, and a later sync of the same file may report success without
//!   having written anything (Linux marks the pages clean after reporting
//!   EIO). An engine must therefore fail the writes pending on that sync and
//!   refuse further writes ([`crate::Error::Poisoned`]); it must never retry the
//!   sync and acknowledge.

mod counting;
mod dir;
mod layer;
mod mapping;
pub mod profile;
mod real;
pub mod sim;

pub use counting::{file_kind, new_latency_histogram, CountingFs, IoCounters, IoSnapshot};
pub use dir::{EngineDir, ReplaceFile};
pub use layer::{FileLayer, VfsLayer};
pub use mapping::Mapping;
pub use profile::{DataOrder, FsyncFailure, NameCommit, NameOrder, Profile, ProfileRules};
pub use real::RealFs;
pub use sim::{
    CrashChoice, CrashImage, CrashMode, CrashReport, CrashRng, Faults, FileChoice, SimFs,
    StateSpace,
};

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use crate::policy::{SyncPolicy, SyncPrimitive};
use crate::Result;

/// A shared handle to an open file.
pub type FileHandle = Arc<dyn VFile>;

/// A filesystem: names, directories and opening files.
pub trait Vfs: Send + Sync + Debug {
    /// Creates a new, empty file opened for reading and writing. Fails if the
    /// name exists. The name is not durable until [`Vfs::sync_dir`] of its
    /// parent.
    fn create(&self, path: &Path) -> Result<FileHandle>;
    /// Opens an existing file for reading and writing.
    fn open(&self, path: &Path) -> Result<FileHandle>;
    /// Atomically renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> Result<()>;
    /// Removes a file.
    fn remove(&self, path: &Path) -> Result<()>;
    /// Names (not paths) of the entries of a directory, sorted.
    fn list_dir(&self, path: &Path) -> Result<Vec<String>>;
    /// Creates a directory and its missing parents.
    fn create_dir_all(&self, path: &Path) -> Result<()>;
    /// Makes the creates, renames and removes in directory `path` durable
    /// (opens the directory and fsyncs it).
    fn sync_dir(&self, path: &Path) -> Result<()>;
    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> Result<bool>;
}

/// An open file. All methods take `&self`; implementations synchronise
/// internally, so one handle can be shared by readers and a writer.
pub trait VFile: Send + Sync + Debug {
    /// Reads exactly `buf.len()` bytes at `offset`; a short read is an error.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;
    /// Writes all of `buf` at `offset`, extending the file if needed.
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()>;
    /// Writes all of `buf` at the end of the file in one call and returns the
    /// offset it was written at.
    fn append(&self, buf: &[u8]) -> Result<u64>;
    /// Current length in bytes.
    fn len(&self) -> Result<u64>;
    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&self, len: u64) -> Result<()>;
    /// Grows the file to at least `len` bytes with reserved, zero-reading
    /// space; does nothing when it is already that long (see the module
    /// contract for what becomes durable when).
    fn allocate(&self, len: u64) -> Result<()>;
    /// Makes the file's data durable (fdatasync).
    fn sync_data(&self) -> Result<()>;
    /// Starts writing the file's dirty data to the device without waiting
    /// for it (`sync_file_range(SYNC_FILE_RANGE_WRITE)`), so that work done
    /// before the [`VFile::sync_data`] that must follow overlaps the
    /// device's writes. A hint: it makes nothing durable, and a file that
    /// cannot start writeback does nothing (the default). The syncer
    /// ignores its error: the sync that follows reports any failure.
    fn start_writeback(&self) -> Result<()> {
        Ok(())
    }
    /// Makes the file's data and metadata durable (fsync).
    fn sync_all(&self) -> Result<()>;
    /// The path the file was opened under (for error messages).
    fn path(&self) -> &Path;

    /// Maps the file's first `len` bytes read-only, where the filesystem
    /// can ([`Mapping`]); `None` where it cannot, and the caller reads with
    /// `read_at`. Only for a file nobody writes or truncates again.
    fn map(&self, len: u64) -> Result<Option<Arc<Mapping>>> {
        let _ = len;
        Ok(None)
    }

    /// Whether the file is empty.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Reads the whole file.
    fn read_all(&self) -> Result<Vec<u8>> {
        let len = self.len()?;
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(usize::MAX)];
        self.read_at(&mut buf, 0)?;
        Ok(buf)
    }
}

// The one place a policy touches a file: the I/O lives with the files, so
// `policy` (a value type) does not depend on `fs`.
impl SyncPolicy {
    /// Syncs a file's data with this policy's primitive, regardless of mode.
    /// Used for the syncs that structure changes need (a new SSTable, a
    /// checkpoint) when the mode is not `none`.
    pub fn sync_file(&self, file: &dyn VFile) -> Result<()> {
        match self.primitive {
            SyncPrimitive::Fdatasync => file.sync_data(),
            SyncPrimitive::Fsync => file.sync_all(),
        }
    }
}

/// Parent directory of `path` (`.` for a bare name).
pub fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}
