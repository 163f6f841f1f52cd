//! Fault injection for the runner's own tests: a disk that fills up.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use engines::fs::{FileHandle, FileLayer, VFile, Vfs, VfsLayer};
use engines::{Error, Result};

/// A `Vfs` whose writes fail with ENOSPC once `limit` bytes were written.
#[derive(Debug)]
pub struct FullDiskFs {
    inner: Arc<dyn Vfs>,
    left: Arc<AtomicU64>,
}

impl FullDiskFs {
    /// Wraps `inner`, allowing `limit` bytes of writes.
    pub fn new(inner: Arc<dyn Vfs>, limit: u64) -> Self {
        FullDiskFs {
            inner,
            left: Arc::new(AtomicU64::new(limit)),
        }
    }
}

impl VfsLayer for FullDiskFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }
    fn wrap(&self, f: FileHandle) -> FileHandle {
        Arc::new(FullDiskFile {
            inner: f,
            left: self.left.clone(),
        })
    }
}

#[derive(Debug)]
struct FullDiskFile {
    inner: FileHandle,
    left: Arc<AtomicU64>,
}

impl FullDiskFile {
    fn take(&self, n: usize) -> Result<()> {
        let n = n as u64;
        self.left
            .fetch_update(Relaxed, Relaxed, |left| left.checked_sub(n))
            .map(|_| ())
            .map_err(|_| {
                Error::io(
                    "write",
                    self.inner.path(),
                    std::io::Error::from_raw_os_error(libc::ENOSPC),
                )
            })
    }
}

impl FileLayer for FullDiskFile {
    fn inner(&self) -> &dyn VFile {
        &*self.inner
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.take(buf.len())?;
        self.inner.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.take(buf.len())?;
        self.inner.append(buf)
    }
    /// A full disk has nothing left to reserve; reserving does not use up
    /// the write budget (it counts written bytes).
    fn allocate(&self, len: u64) -> Result<()> {
        if self.left.load(Relaxed) == 0 {
            return Err(Error::io(
                "fallocate",
                self.inner.path(),
                std::io::Error::from_raw_os_error(libc::ENOSPC),
            ));
        }
        self.inner.allocate(len)
    }
}
