//! [`RealFs`]: the operating system's filesystem, with positional I/O.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{FileHandle, Mapping, VFile, Vfs};
use crate::{Error, Result};

/// The zeros [`VFile::allocate`] writes, one page per `pwrite`: the page
/// cache sizes its folios by the writes that create them, and a small
/// append into a large folio costs a walk over all of its block buffers
/// (ext4, Linux 6.18: 137-byte appends into space zeroed 1 MiB per
/// `pwrite` ran at 0.45 of the rate of appends into space zeroed 4 KiB
/// per `pwrite`).
static ZEROS: [u8; 4096] = [0; 4096];

/// The real filesystem through `std::fs`: `pread`/`pwrite`, `fdatasync`,
/// `fsync`, and a directory fsync that opens the directory and fsyncs it.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealFs;

impl RealFs {
    /// A shared handle, ready to be put into an `EngineConfig`.
    pub fn shared() -> Arc<dyn Vfs> {
        Arc::new(RealFs)
    }
}

#[derive(Debug)]
struct RealFile {
    file: File,
    path: PathBuf,
    /// The append position: the file's length as this handle last left it.
    /// Appends are serialised on it so each is one `pwrite` at the end.
    end: Mutex<u64>,
}

impl RealFile {
    fn new(file: File, path: &Path) -> Result<Self> {
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat", path, e))?
            .len();
        Ok(RealFile {
            file,
            path: path.to_path_buf(),
            end: Mutex::new(len),
        })
    }

    fn end(&self) -> std::sync::MutexGuard<'_, u64> {
        self.end.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Vfs for RealFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("create", path, e))?;
        Ok(Arc::new(RealFile::new(file, path)?))
    }

    fn open(&self, path: &Path) -> Result<FileHandle> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open", path, e))?;
        Ok(Arc::new(RealFile::new(file, path)?))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        fs::rename(from, to).map_err(|e| Error::io("rename", from, e))
    }

    fn remove(&self, path: &Path) -> Result<()> {
        fs::remove_file(path).map_err(|e| Error::io("remove", path, e))
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let mut names = Vec::new();
        for entry in fs::read_dir(path).map_err(|e| Error::io("list", path, e))? {
            let entry = entry.map_err(|e| Error::io("list", path, e))?;
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        fs::create_dir_all(path).map_err(|e| Error::io("create directory", path, e))
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let dir = File::open(path).map_err(|e| Error::io("open directory", path, e))?;
        dir.sync_all()
            .map_err(|e| Error::io("fsync directory", path, e))
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        match fs::metadata(path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("stat", path, e)),
        }
    }
}

impl VFile for RealFile {
    fn map(&self, len: u64) -> Result<Option<Arc<Mapping>>> {
        Ok(Mapping::new(&self.file, len, &self.path)?.map(Arc::new))
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.file.read_exact_at(buf, offset).map_err(|e| {
            if e.kind() == ErrorKind::UnexpectedEof {
                Error::io(
                    "read",
                    &self.path,
                    std::io::Error::new(
                        ErrorKind::UnexpectedEof,
                        format!("short read of {} bytes at offset {offset}", buf.len()),
                    ),
                )
            } else {
                Error::io("read", &self.path, e)
            }
        })
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let mut end = self.end();
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| Error::io("write", &self.path, e))?;
        *end = (*end).max(offset + buf.len() as u64);
        Ok(())
    }

    fn append(&self, buf: &[u8]) -> Result<u64> {
        let mut end = self.end();
        let at = *end;
        if let Err(e) = self.file.write_all_at(buf, at) {
            // A partial write may have extended the file: take the real length
            // so the next append does not leave a hole.
            if let Ok(meta) = self.file.metadata() {
                *end = meta.len();
            }
            return Err(Error::io("write", &self.path, e));
        }
        *end = at + buf.len() as u64;
        Ok(at)
    }

    fn len(&self) -> Result<u64> {
        Ok(*self.end())
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut end = self.end();
        self.file
            .set_len(len)
            .map_err(|e| Error::io("truncate", &self.path, e))?;
        *end = len;
        Ok(())
    }

    /// Writes zeros from the end to `len` (see the contract in [`super`]):
    /// the reserved blocks are then allocated *and written*. `fallocate(2)`
    /// would leave unwritten extents, and the first append into each block
    /// of one converts it, a metadata change the next `fdatasync` must
    /// commit. With 32 appends of 137 bytes per `fdatasync` (2 blocks per
    /// sync) on ext4 that cost 15% of the throughput against written space
    /// (docs/measurements.md, "Log reservation"); PostgreSQL zero-fills
    /// its new WAL segments (`wal_init_zero`) for the same reason. The
    /// zeros are written once, and reach the device with the file's next
    /// sync.
    fn allocate(&self, len: u64) -> Result<()> {
        let mut end = self.end();
        let mut at = *end;
        while at < len {
            let n = (len - at).min(ZEROS.len() as u64) as usize;
            if let Err(e) = self.file.write_all_at(&ZEROS[..n], at) {
                // What was written is zeros, which end a log like reserved
                // space does; keep the real length for the next append.
                if let Ok(meta) = self.file.metadata() {
                    *end = meta.len();
                }
                return Err(Error::io("reserve (write zeros)", &self.path, e));
            }
            at += n as u64;
        }
        *end = (*end).max(len);
        Ok(())
    }

    fn sync_data(&self) -> Result<()> {
        self.file
            .sync_data()
            .map_err(|e| Error::io("fdatasync", &self.path, e))
    }

    fn sync_all(&self) -> Result<()> {
        self.file
            .sync_all()
            .map_err(|e| Error::io("fsync", &self.path, e))
    }

    /// `sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE)`: queues the
    /// writeback of every dirty page and returns. Without a `WAIT` flag it
    /// neither waits for nor consumes a writeback error, so the
    /// `fdatasync` that follows still reports one.
    fn start_writeback(&self) -> Result<()> {
        #[allow(unsafe_code)]
        // SAFETY: a plain syscall on a descriptor this file owns; it reads
        // no memory of ours.
        let rc = unsafe {
            libc::sync_file_range(self.file.as_raw_fd(), 0, 0, libc::SYNC_FILE_RANGE_WRITE)
        };
        if rc != 0 {
            return Err(Error::io(
                "sync_file_range",
                &self.path,
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where the next data at or after `offset` is (`SEEK_DATA`); `None`
    /// when only a hole follows. Unwritten (`fallocate`d) extents count
    /// as holes on ext4 and xfs, and a sparse extension as a hole on
    /// every filesystem with holes.
    fn next_data(path: &Path, offset: i64) -> Option<i64> {
        let f = File::open(path).unwrap();
        // SAFETY: plain syscall on a descriptor `f` owns; no memory passed.
        #[allow(unsafe_code)]
        let at = unsafe { libc::lseek(f.as_raw_fd(), offset, libc::SEEK_DATA) };
        (at >= 0).then_some(at)
    }

    /// Regression: reservations were `fallocate`d, and an `fdatasync` of
    /// appends into them committed an extent conversion each time (15% of
    /// the `batch:32` throughput). Reserved space must be written zeros.
    #[test]
    fn allocate_writes_its_zeros() {
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("log");
        let f = RealFs.create(&path).unwrap();
        f.append(b"record").unwrap();
        f.allocate(3 << 20).unwrap();
        f.sync_data().unwrap();
        assert_eq!(f.len().unwrap(), 3 << 20);
        let mut tail = vec![1u8; 4096];
        f.read_at(&mut tail, (3 << 20) - 4096).unwrap();
        assert!(tail.iter().all(|&b| b == 0));
        // Every page of the reservation is data, none a hole.
        for page in [1i64, 255, 256, 767] {
            assert_eq!(
                next_data(&path, page * 4096),
                Some(page * 4096),
                "page {page}"
            );
        }
        // Growing to a length it already has writes nothing.
        f.allocate(1 << 20).unwrap();
        assert_eq!(f.len().unwrap(), 3 << 20);
    }
}
