//! Fault injection for the runner's own tests: a disk that fills up.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use engines::fs::{FileHandle, VFile, Vfs};
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

    fn wrap(&self, f: FileHandle) -> FileHandle {
        Arc::new(FullDiskFile {
            inner: f,
            left: self.left.clone(),
        })
    }
}

impl Vfs for FullDiskFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        self.inner.create(path).map(|f| self.wrap(f))
    }
    fn open(&self, path: &Path) -> Result<FileHandle> {
        self.inner.open(path).map(|f| self.wrap(f))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.inner.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.inner.create_dir_all(path)
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.inner.sync_dir(path)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        self.inner.exists(path)
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

impl VFile for FullDiskFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.inner.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.take(buf.len())?;
        self.inner.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.take(buf.len())?;
        self.inner.append(buf)
    }
    fn len(&self) -> Result<u64> {
        self.inner.len()
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<()> {
        self.inner.sync_data()
    }
    fn sync_all(&self) -> Result<()> {
        self.inner.sync_all()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}
