//! [`NoSyncFs`]: the deliberately broken policy the checker must catch.

use std::path::Path;
use std::sync::Arc;

use engines::fs::{FileHandle, VFile, Vfs};
use engines::Result;

/// A filesystem whose syncs succeed without syncing: the broken policy the
/// checker must catch.
#[derive(Debug)]
pub struct NoSyncFs(pub Arc<dyn Vfs>);

#[derive(Debug)]
struct NoSyncFile(FileHandle);

impl Vfs for NoSyncFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        Ok(Arc::new(NoSyncFile(self.0.create(path)?)))
    }
    fn open(&self, path: &Path) -> Result<FileHandle> {
        Ok(Arc::new(NoSyncFile(self.0.open(path)?)))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.0.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.0.remove(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.0.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.0.create_dir_all(path)
    }
    fn sync_dir(&self, _: &Path) -> Result<()> {
        Ok(())
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        self.0.exists(path)
    }
}

impl VFile for NoSyncFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.0.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.0.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.0.append(buf)
    }
    fn len(&self) -> Result<u64> {
        self.0.len()
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<()> {
        Ok(())
    }
    fn sync_all(&self) -> Result<()> {
        Ok(())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}
