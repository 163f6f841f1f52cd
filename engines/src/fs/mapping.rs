//! [`Mapping`]: a read-only memory mapping of a file that no longer
//! changes, so an engine reads it without a system call per read.
//!
//! Only [`super::RealFs`] maps files; every other filesystem (the crash
//! simulator, FUSE-backed tests) returns `None` from [`super::VFile::map`]
//! and the engine reads with `read_at` as before. Reads through a mapping
//! are not counted by [`super::CountingFs`] (the kernel's page faults do
//! the reading).
//!
//! Safety: the mapping must not outlive its bytes. Removing or renaming
//! the file is harmless (the mapping keeps the inode); truncating it below
//! the mapped length would make a read fault (`SIGBUS`). Engines map only
//! files they will never write, truncate or recycle again (bitcask's and
//! loghash's sealed data files), as LMDB maps its data file.
#![allow(unsafe_code)]
// Part of the real backend, like `real.rs`: it maps a `std::fs::File`.
#![allow(clippy::disallowed_types)]

use std::fmt;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::{Error, Result};

/// The first `len` bytes of a file, mapped read-only.
pub struct Mapping {
    ptr: *const u8,
    len: usize,
}

// SAFETY: the mapping is read-only and never changes for as long as it
// lives (see the module doc), so shared references from any thread are
// sound.
unsafe impl Send for Mapping {}
// SAFETY: as above.
unsafe impl Sync for Mapping {}

impl fmt::Debug for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapping").field("len", &self.len).finish()
    }
}

impl Mapping {
    /// Maps the first `len` bytes of `file` (opened for reading); `None`
    /// for an empty range.
    pub(super) fn new(file: &File, len: u64, path: &Path) -> Result<Option<Mapping>> {
        let Ok(len) = usize::try_from(len) else {
            return Ok(None);
        };
        if len == 0 {
            return Ok(None);
        }
        // SAFETY: a fresh private read-only mapping of an open file
        // descriptor; the kernel picks the address. Failure is MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(Error::io("mmap", path, std::io::Error::last_os_error()));
        }
        Ok(Some(Mapping {
            ptr: ptr.cast::<u8>().cast_const(),
            len,
        }))
    }

    /// The mapped bytes.
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes for the life of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the range `new` mapped, once.
        unsafe {
            libc::munmap(self.ptr.cast_mut().cast(), self.len);
        }
    }
}
