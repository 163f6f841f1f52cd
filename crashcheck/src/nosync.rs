//! [`NoSyncFs`]: the deliberately broken policy the checker must catch.

use std::path::Path;
use std::sync::Arc;

use engines::fs::{FileHandle, FileLayer, VFile, Vfs, VfsLayer};
use engines::Result;

/// A filesystem whose syncs succeed without syncing: the broken policy the
/// checker must catch. Everything else forwards to the inner filesystem.
#[derive(Debug)]
pub struct NoSyncFs(pub Arc<dyn Vfs>);

#[derive(Debug)]
struct NoSyncFile(FileHandle);

impl VfsLayer for NoSyncFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.0
    }
    fn wrap(&self, file: FileHandle) -> FileHandle {
        Arc::new(NoSyncFile(file))
    }
    fn sync_dir(&self, _: &Path) -> Result<()> {
        Ok(())
    }
}

impl FileLayer for NoSyncFile {
    fn inner(&self) -> &dyn VFile {
        &*self.0
    }
    fn sync_data(&self) -> Result<()> {
        Ok(())
    }
    fn sync_all(&self) -> Result<()> {
        Ok(())
    }
}
