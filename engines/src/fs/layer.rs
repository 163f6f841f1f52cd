//! One forwarding layer for [`Vfs`] and [`VFile`] wrappers.
//!
//! A wrapper (counting, fault injection, tracing) implements [`VfsLayer`]
//! and [`FileLayer`], naming the inner filesystem or file and overriding
//! only the operations it changes; every other operation forwards to the
//! inner one. The blanket implementations below turn any layer into a
//! [`Vfs`] / [`VFile`], so an operation added to the traits is added here
//! once, not to every wrapper.

use std::fmt::Debug;
use std::path::Path;
use std::sync::Arc;

use super::{FileHandle, Mapping, VFile, Vfs};
use crate::Result;

/// A [`Vfs`] that forwards to [`VfsLayer::inner`] unless it overrides an
/// operation. Files it creates or opens pass through [`VfsLayer::wrap`].
pub trait VfsLayer: Send + Sync + Debug {
    /// The filesystem underneath.
    fn inner(&self) -> &dyn Vfs;
    /// Wraps a file this layer created or opened (default: unchanged).
    fn wrap(&self, file: FileHandle) -> FileHandle {
        file
    }
    /// See [`Vfs::create`].
    fn create(&self, path: &Path) -> Result<FileHandle> {
        self.inner().create(path).map(|f| self.wrap(f))
    }
    /// See [`Vfs::open`].
    fn open(&self, path: &Path) -> Result<FileHandle> {
        self.inner().open(path).map(|f| self.wrap(f))
    }
    /// See [`Vfs::rename`].
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner().rename(from, to)
    }
    /// See [`Vfs::remove`].
    fn remove(&self, path: &Path) -> Result<()> {
        self.inner().remove(path)
    }
    /// See [`Vfs::list_dir`].
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.inner().list_dir(path)
    }
    /// See [`Vfs::create_dir_all`].
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.inner().create_dir_all(path)
    }
    /// See [`Vfs::sync_dir`].
    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.inner().sync_dir(path)
    }
    /// See [`Vfs::exists`].
    fn exists(&self, path: &Path) -> Result<bool> {
        self.inner().exists(path)
    }
}

impl<T: VfsLayer> Vfs for T {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        VfsLayer::create(self, path)
    }
    fn open(&self, path: &Path) -> Result<FileHandle> {
        VfsLayer::open(self, path)
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        VfsLayer::rename(self, from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        VfsLayer::remove(self, path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        VfsLayer::list_dir(self, path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        VfsLayer::create_dir_all(self, path)
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        VfsLayer::sync_dir(self, path)
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        VfsLayer::exists(self, path)
    }
}

/// A [`VFile`] that forwards to [`FileLayer::inner`] unless it overrides an
/// operation.
#[allow(clippy::len_without_is_empty)] // `VFile::is_empty` covers it.
pub trait FileLayer: Send + Sync + Debug {
    /// The file underneath.
    fn inner(&self) -> &dyn VFile;
    /// See [`VFile::read_at`].
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.inner().read_at(buf, offset)
    }
    /// See [`VFile::write_at`].
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.inner().write_at(buf, offset)
    }
    /// See [`VFile::append`].
    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.inner().append(buf)
    }
    /// See [`VFile::len`].
    fn len(&self) -> Result<u64> {
        self.inner().len()
    }
    /// See [`VFile::set_len`].
    fn set_len(&self, len: u64) -> Result<()> {
        self.inner().set_len(len)
    }
    /// See [`VFile::allocate`].
    fn allocate(&self, len: u64) -> Result<()> {
        self.inner().allocate(len)
    }
    /// See [`VFile::sync_data`].
    fn sync_data(&self) -> Result<()> {
        self.inner().sync_data()
    }
    /// See [`VFile::sync_all`].
    fn sync_all(&self) -> Result<()> {
        self.inner().sync_all()
    }
    /// See [`VFile::start_writeback`].
    fn start_writeback(&self) -> Result<()> {
        self.inner().start_writeback()
    }
    /// See [`VFile::path`].
    fn path(&self) -> &Path {
        self.inner().path()
    }
    /// See [`VFile::map`]. A layer that changes what reads return must
    /// override it (to `None`), or its reads would be bypassed.
    fn map(&self, len: u64) -> Result<Option<Arc<Mapping>>> {
        self.inner().map(len)
    }
}

impl<T: FileLayer> VFile for T {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        FileLayer::read_at(self, buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        FileLayer::write_at(self, buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        FileLayer::append(self, buf)
    }
    fn len(&self) -> Result<u64> {
        FileLayer::len(self)
    }
    fn set_len(&self, len: u64) -> Result<()> {
        FileLayer::set_len(self, len)
    }
    fn allocate(&self, len: u64) -> Result<()> {
        FileLayer::allocate(self, len)
    }
    fn sync_data(&self) -> Result<()> {
        FileLayer::sync_data(self)
    }
    fn sync_all(&self) -> Result<()> {
        FileLayer::sync_all(self)
    }
    fn start_writeback(&self) -> Result<()> {
        FileLayer::start_writeback(self)
    }
    fn path(&self) -> &Path {
        FileLayer::path(self)
    }
    fn map(&self, len: u64) -> Result<Option<Arc<Mapping>>> {
        FileLayer::map(self, len)
    }
}
