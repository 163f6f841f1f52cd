//! [`Vfs`] for [`SimFs`]: creates, renames and removes are pending name
//! operations until a sync commits them ([`super::sync`]); each is an
//! operation boundary. Directories are durable once made.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::file::SimFile;
use super::state::{split, Inode, NameOp};
use super::SimFs;
use crate::fs::{FileHandle, Vfs};
use crate::{Error, Result};

pub(super) fn enoent(path: &Path, op: &'static str) -> Error {
    Error::io(op, path, std::io::Error::from(std::io::ErrorKind::NotFound))
}

impl SimFs {
    fn handle(&self, ino: u64, path: &Path) -> FileHandle {
        Arc::new(SimFile {
            fs: self.clone(),
            ino,
            path: path.to_path_buf(),
        })
    }
}

impl Vfs for SimFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        let mut st = self.lock();
        let (dir, name) = split(path);
        let Some(entries) = st.dirs.get(&dir) else {
            return Err(enoent(path, "create"));
        };
        if entries.contains_key(&name) {
            return Err(Error::io(
                "create",
                path,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        st.next_ino += 1;
        let ino = st.next_ino;
        st.inodes.insert(ino, Inode::default());
        st.name_op(&dir, NameOp::Link { name, ino });
        let opn = st.op;
        st.event(|| format!("#{opn} create {}", path.display()));
        st.boundary(self.profile);
        Ok(self.handle(ino, path))
    }

    fn open(&self, path: &Path) -> Result<FileHandle> {
        let ino = self
            .lock()
            .lookup(path)
            .ok_or_else(|| enoent(path, "open"))?;
        Ok(self.handle(ino, path))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut st = self.lock();
        let (fd, fname) = split(from);
        let (td, tname) = split(to);
        let ino = st.lookup(from).ok_or_else(|| enoent(from, "rename"))?;
        if !st.dirs.contains_key(&td) {
            return Err(enoent(to, "rename"));
        }
        if (&fd, &fname) == (&td, &tname) {
            return Ok(()); // POSIX: renaming a name onto itself does nothing.
        }
        // One operation: a crash keeps both halves or neither (ext4 and xfs
        // journal a rename as one transaction). Within one directory no
        // crash mode can split it; across directories `posix` subsets may.
        st.op += 1;
        let opn = st.op;
        st.event(|| format!("#{opn} rename {} -> {}", from.display(), to.display()));
        st.name_op_at(opn, &td, NameOp::Link { name: tname, ino });
        st.name_op_at(opn, &fd, NameOp::Unlink { name: fname });
        st.boundary(self.profile);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        let mut st = self.lock();
        if st.lookup(path).is_none() {
            return Err(enoent(path, "remove"));
        }
        let (dir, name) = split(path);
        st.name_op(&dir, NameOp::Unlink { name });
        let opn = st.op;
        st.event(|| format!("#{opn} remove {}", path.display()));
        st.boundary(self.profile);
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let st = self.lock();
        let d = st.dirs.get(path).ok_or_else(|| enoent(path, "list"))?;
        let mut names: Vec<String> = d.keys().cloned().collect();
        // Subdirectories.
        for p in st.dirs.keys() {
            if p.parent() == Some(path) {
                if let Some(n) = p.file_name() {
                    names.push(n.to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        // Directories are durable when created (a simplification: the
        // engines create their directory once, before any data).
        let mut st = self.lock();
        let mut p = PathBuf::new();
        for c in path.components() {
            p.push(c);
            if !st.dirs.contains_key(&p) && st.lookup(&p).is_some() {
                return Err(Error::io(
                    "create directory",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotADirectory),
                ));
            }
            st.dirs.entry(p.clone()).or_default();
            st.durable_dirs.entry(p.clone()).or_default();
        }
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.sync_directory(path)
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        let st = self.lock();
        Ok(st.dirs.contains_key(path) || st.lookup(path).is_some())
    }
}
