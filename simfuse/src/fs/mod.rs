//! [`SimFuse`]: the FUSE request handlers, each mapped onto one [`SimFs`]
//! call.
//!
//! The kernel names files by inode number; `SimFs` names them by path. A
//! table maps each inode number the kernel knows to the node's current
//! path and, for files, an open `SimFs` handle. The handle names the
//! simulator's own inode, so a file renamed or unlinked while open keeps
//! receiving its writes and syncs, as on a real filesystem.
//!
//! This file holds the inode table and the helpers the handlers share;
//! [`ops`] holds the handlers (`impl Filesystem`).

mod ops;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use engines::fs::{FileHandle as SimFile, SimFs, Vfs};
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};

/// How long the kernel may cache names and attributes. Only this mount's
/// kernel side changes the tree, so caching is safe; a fresh mount after
/// each crash starts with an empty cache.
const TTL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
}

#[derive(Debug)]
struct Node {
    /// Current path in the simulator; `None` once unlinked or replaced.
    path: Option<PathBuf>,
    kind: Kind,
    /// Open handle on the simulator's inode (files only).
    file: Option<SimFile>,
    /// Lookups the kernel holds (released by `forget`).
    lookups: u64,
    mtime: SystemTime,
}

#[derive(Debug, Default)]
struct Table {
    nodes: HashMap<u64, Node>,
    by_path: HashMap<PathBuf, u64>,
    next: u64,
}

/// A [`SimFs`] as a FUSE filesystem. Every `write` reaches the simulator
/// before the system call returns (no writeback cache is negotiated), so
/// unsynced data sits in the simulator's page-cache model where a crash
/// can drop it; `fsync`/`fdatasync`/`msync` arrive as FSYNC and directory
/// fsyncs as FSYNCDIR.
#[derive(Debug)]
pub struct SimFuse {
    sim: SimFs,
    table: Mutex<Table>,
    uid: u32,
    gid: u32,
}

fn errno(e: &engines::Error) -> Errno {
    match e {
        engines::Error::Io { source, .. } => match source.raw_os_error() {
            Some(n) => Errno::from_i32(n),
            None => match source.kind() {
                std::io::ErrorKind::NotFound => Errno::ENOENT,
                std::io::ErrorKind::AlreadyExists => Errno::EEXIST,
                std::io::ErrorKind::NotADirectory => Errno::ENOTDIR,
                std::io::ErrorKind::UnexpectedEof => Errno::EIO,
                _ => Errno::EIO,
            },
        },
        _ => Errno::EIO,
    }
}

impl SimFuse {
    /// Serves `sim`, whose root `/` becomes the mount's root.
    pub fn new(sim: SimFs) -> Self {
        let mut table = Table {
            next: 2,
            ..Table::default()
        };
        table.nodes.insert(
            INodeNo::ROOT.0,
            Node {
                path: Some(PathBuf::from("/")),
                kind: Kind::Dir,
                file: None,
                lookups: 1,
                mtime: SystemTime::now(),
            },
        );
        table.by_path.insert(PathBuf::from("/"), INodeNo::ROOT.0);
        SimFuse {
            sim,
            table: Mutex::new(table),
            uid: nix::unistd::geteuid().as_raw(),
            gid: nix::unistd::getegid().as_raw(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn is_dir(&self, path: &Path) -> bool {
        self.sim.list_dir(path).is_ok()
    }

    fn attr(&self, ino: u64, node: &Node) -> Result<FileAttr, Errno> {
        let (kind, size, perm, nlink) = match node.kind {
            Kind::Dir => (FileType::Directory, 4096, 0o755, 2),
            Kind::File => {
                let f = node.file.as_ref().ok_or(Errno::EIO)?;
                let size = f.len().map_err(|e| errno(&e))?;
                (
                    FileType::RegularFile,
                    size,
                    0o644,
                    u32::from(node.path.is_some()),
                )
            }
        };
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: node.mtime,
            mtime: node.mtime,
            ctime: node.mtime,
            crtime: node.mtime,
            kind,
            perm,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        })
    }

    /// The path of `name` inside directory `parent`.
    fn child(&self, t: &Table, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        let node = t.nodes.get(&parent.0).ok_or(Errno::ENOENT)?;
        if node.kind != Kind::Dir {
            return Err(Errno::ENOTDIR);
        }
        let dir = node.path.as_ref().ok_or(Errno::ENOENT)?;
        if name.is_empty() || name == "." || name == ".." {
            return Err(Errno::EINVAL);
        }
        Ok(dir.join(name))
    }

    /// The inode number for `path` (which exists in the simulator),
    /// registering it when the kernel has not seen it yet.
    fn node_at(&self, t: &mut Table, path: &Path) -> Result<u64, Errno> {
        if let Some(&ino) = t.by_path.get(path) {
            return Ok(ino);
        }
        let (kind, file) = if self.is_dir(path) {
            (Kind::Dir, None)
        } else if self.sim.exists(path).map_err(|e| errno(&e))? {
            (
                Kind::File,
                Some(self.sim.open(path).map_err(|e| errno(&e))?),
            )
        } else {
            return Err(Errno::ENOENT);
        };
        let ino = t.next;
        t.next += 1;
        t.nodes.insert(
            ino,
            Node {
                path: Some(path.to_path_buf()),
                kind,
                file,
                lookups: 0,
                mtime: SystemTime::now(),
            },
        );
        t.by_path.insert(path.to_path_buf(), ino);
        Ok(ino)
    }

    /// Looks `path` up for the kernel: one more lookup reference.
    fn entry(&self, t: &mut Table, path: &Path) -> Result<FileAttr, Errno> {
        let ino = self.node_at(t, path)?;
        let node = t.nodes.get_mut(&ino).ok_or(Errno::EIO)?;
        node.lookups += 1;
        self.attr(ino, node)
    }

    fn file(&self, ino: INodeNo) -> Result<SimFile, Errno> {
        let t = self.table();
        let node = t.nodes.get(&ino.0).ok_or(Errno::ENOENT)?;
        match (&node.kind, &node.file) {
            (Kind::File, Some(f)) => Ok(f.clone()),
            _ => Err(Errno::EISDIR),
        }
    }

    fn touch(&self, ino: INodeNo) {
        if let Some(n) = self.table().nodes.get_mut(&ino.0) {
            n.mtime = SystemTime::now();
        }
    }

    /// Forgets that `path` names anything (after unlink or replacement).
    fn detach(t: &mut Table, path: &Path) {
        if let Some(ino) = t.by_path.remove(path) {
            if let Some(n) = t.nodes.get_mut(&ino) {
                n.path = None;
                if n.lookups == 0 {
                    t.nodes.remove(&ino);
                }
            }
        }
    }

    fn create_file(
        &self,
        parent: INodeNo,
        name: &OsStr,
        exclusive: bool,
    ) -> Result<FileAttr, Errno> {
        let mut t = self.table();
        let path = self.child(&t, parent, name)?;
        if self.sim.exists(&path).map_err(|e| errno(&e))? {
            if exclusive || self.is_dir(&path) {
                return Err(Errno::EEXIST);
            }
            return self.entry(&mut t, &path);
        }
        let file = self.sim.create(&path).map_err(|e| errno(&e))?;
        Self::detach(&mut t, &path);
        let ino = t.next;
        t.next += 1;
        t.nodes.insert(
            ino,
            Node {
                path: Some(path.clone()),
                kind: Kind::File,
                file: Some(file),
                lookups: 0,
                mtime: SystemTime::now(),
            },
        );
        t.by_path.insert(path.clone(), ino);
        self.entry(&mut t, &path)
    }
}
