//! The FUSE request handlers, each mapped onto one `SimFs` call.

use super::*;

impl Filesystem for SimFuse {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let mut t = self.table();
        match self
            .child(&t, parent, name)
            .and_then(|p| self.entry(&mut t, &p))
        {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if ino == INodeNo::ROOT {
            return;
        }
        let mut t = self.table();
        let gone = match t.nodes.get_mut(&ino.0) {
            Some(n) => {
                n.lookups = n.lookups.saturating_sub(nlookup);
                n.lookups == 0
            }
            None => false,
        };
        if gone {
            if let Some(n) = t.nodes.remove(&ino.0) {
                if let Some(p) = n.path {
                    t.by_path.remove(&p);
                }
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        let t = self.table();
        match t.nodes.get(&ino.0).ok_or(Errno::ENOENT) {
            Ok(node) => match self.attr(ino.0, node) {
                Ok(a) => reply.attr(&TTL, &a),
                Err(e) => reply.error(e),
            },
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Only the size is modelled (truncate/extend, a data operation that
        // needs a sync like a write); mode, owner and times are accepted and
        // not stored.
        if let Some(len) = size {
            self.sim
                .note_event(|| format!("FUSE setattr size={len} -> set_len"));
            match self
                .file(ino)
                .and_then(|f| f.set_len(len).map_err(|e| errno(&e)))
            {
                Ok(()) => self.touch(ino),
                Err(e) => return reply.error(e),
            }
        }
        self.getattr(_req, ino, None, reply);
    }

    fn mknod(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        _rdev: u32,
        reply: ReplyEntry,
    ) {
        if mode & libc_s_ifmt() != libc_s_ifreg() {
            return reply.error(Errno::EOPNOTSUPP);
        }
        match self.create_file(parent, name, true) {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let mut t = self.table();
        let r = self.child(&t, parent, name).and_then(|path| {
            if self.sim.exists(&path).map_err(|e| errno(&e))? {
                return Err(Errno::EEXIST);
            }
            // SimFs directories are durable once made (the engines make
            // their directory once, before any data).
            self.sim.create_dir_all(&path).map_err(|e| errno(&e))?;
            self.entry(&mut t, &path)
        });
        match r {
            Ok(attr) => reply.entry(&TTL, &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let mut t = self.table();
        let r = self.child(&t, parent, name).and_then(|path| {
            if self.is_dir(&path) {
                return Err(Errno::EISDIR);
            }
            self.sim.remove(&path).map_err(|e| errno(&e))?;
            Self::detach(&mut t, &path);
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, _parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        // SimFs has no directory removal: refused rather than faked.
        self.sim
            .note_event(|| format!("FUSE rmdir {} -> EOPNOTSUPP (refused)", name.display()));
        reply.error(Errno::EOPNOTSUPP);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let mut t = self.table();
        let r = (|| {
            let from = self.child(&t, parent, name)?;
            let to = self.child(&t, newparent, newname)?;
            if !(flags - RenameFlags::RENAME_NOREPLACE).is_empty() {
                return Err(Errno::EINVAL); // RENAME_EXCHANGE, RENAME_WHITEOUT
            }
            if self.is_dir(&from) {
                return Err(Errno::EOPNOTSUPP); // SimFs renames files only.
            }
            if self.is_dir(&to) {
                return Err(Errno::EISDIR);
            }
            if flags.contains(RenameFlags::RENAME_NOREPLACE)
                && self.sim.exists(&to).map_err(|e| errno(&e))?
            {
                return Err(Errno::EEXIST);
            }
            self.sim.rename(&from, &to).map_err(|e| errno(&e))?;
            if from != to {
                Self::detach(&mut t, &to);
                if let Some(ino) = t.by_path.remove(&from) {
                    if let Some(n) = t.nodes.get_mut(&ino) {
                        n.path = Some(to.clone());
                    }
                    t.by_path.insert(to, ino);
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            // Refusals only: an accepted rename is traced by the simulator.
            self.sim.note_event(|| {
                format!(
                    "FUSE rename {} -> {} flags={flags:?} -> {e:?}",
                    name.display(),
                    newname.display()
                )
            });
        }
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        // No FOPEN_DIRECT_IO (shared writable mmap keeps working) and no
        // FOPEN_KEEP_CACHE; writes are write-through because the session
        // never asks for FUSE_WRITEBACK_CACHE.
        match self.file(ino) {
            Ok(_) => reply.opened(FileHandle(0), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let r = self.file(ino).and_then(|f| {
            let len = f.len().map_err(|e| errno(&e))?;
            let n = len.saturating_sub(offset).min(u64::from(size));
            let mut buf = vec![0u8; usize::try_from(n).map_err(|_| Errno::EINVAL)?];
            if n > 0 {
                f.read_at(&mut buf, offset).map_err(|e| errno(&e))?;
            }
            Ok(buf)
        });
        match r {
            Ok(buf) => reply.data(&buf),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        // Writes from mmap writeback (FUSE_WRITE_CACHE) arrive here too; they
        // are keyed by inode, not by the handle that dirtied the page.
        match self
            .file(ino)
            .and_then(|f| f.write_at(data, offset).map_err(|e| errno(&e)))
        {
            Ok(()) => {
                self.touch(ino);
                reply.written(u32::try_from(data.len()).unwrap_or(u32::MAX))
            }
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // close(2) is not a sync: nothing becomes durable.
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        // The kernel writes dirty mmap pages back (as `write`s) before it
        // sends FSYNC, so msync(MS_SYNC) and fsync cover them.
        self.sim.note_event(|| {
            if datasync {
                "FUSE fsync datasync (fdatasync) -> sync_data".to_string()
            } else {
                "FUSE fsync (fsync) -> sync_all".to_string()
            }
        });
        let r = self.file(ino).and_then(|f| {
            if datasync {
                f.sync_data()
            } else {
                f.sync_all()
            }
            .map_err(|e| errno(&e))
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let mut t = self.table();
        let Some(dir) = t.nodes.get(&ino.0).and_then(|n| n.path.clone()) else {
            return reply.error(Errno::ENOENT);
        };
        let names = match self.sim.list_dir(&dir) {
            Ok(n) => n,
            Err(e) => return reply.error(errno(&e)),
        };
        let mut entries: Vec<(u64, FileType, String)> = vec![
            (ino.0, FileType::Directory, ".".into()),
            (ino.0, FileType::Directory, "..".into()),
        ];
        for name in names {
            let path = dir.join(&name);
            let Ok(child) = self.node_at(&mut t, &path) else {
                continue;
            };
            let kind = match t.nodes.get(&child).map(|n| n.kind) {
                Some(Kind::Dir) => FileType::Directory,
                _ => FileType::RegularFile,
            };
            entries.push((child, kind, name));
        }
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        for (i, (child, kind, name)) in entries.into_iter().enumerate().skip(start) {
            if reply.add(INodeNo(child), i as u64 + 1, kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let path = self.table().nodes.get(&ino.0).and_then(|n| n.path.clone());
        let Some(path) = path else {
            return reply.error(Errno::ENOENT);
        };
        match self.sim.sync_dir(&path) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        // An in-memory filesystem: report ample room.
        reply.statfs(1 << 24, 1 << 23, 1 << 23, 1 << 20, 1 << 19, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, ino: INodeNo, _mask: fuser::AccessFlags, reply: ReplyEmpty) {
        if self.table().nodes.contains_key(&ino.0) {
            reply.ok();
        } else {
            reply.error(Errno::ENOENT);
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let exclusive = flags & nix::fcntl::OFlag::O_EXCL.bits() != 0;
        match self.create_file(parent, name, exclusive) {
            Ok(attr) => reply.created(
                &TTL,
                &attr,
                Generation(0),
                FileHandle(0),
                FopenFlags::empty(),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn fallocate(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        length: u64,
        mode: i32,
        reply: ReplyEmpty,
    ) {
        let r = match Fallocate::from_mode(mode) {
            Fallocate::Extend => offset
                .checked_add(length)
                .ok_or(Errno::EFBIG)
                .and_then(|end| {
                    self.sim.note_event(|| {
                        format!("FUSE fallocate @{offset} +{length} -> allocate {end}")
                    });
                    let f = self.file(ino)?;
                    f.allocate(end).map_err(|e| errno(&e))
                }),
            Fallocate::KeepSize => {
                self.sim.note_event(|| {
                    format!(
                        "FUSE fallocate KEEP_SIZE @{offset} +{length} -> nothing visible changes (no-op)"
                    )
                });
                self.file(ino).map(drop)
            }
            Fallocate::Refused => {
                self.sim.note_event(|| {
                    format!(
                        "FUSE fallocate mode={mode:#x} @{offset} +{length} -> EOPNOTSUPP (refused)"
                    )
                });
                Err(Errno::EOPNOTSUPP)
            }
        };
        match r {
            Ok(()) => {
                self.touch(ino);
                reply.ok()
            }
            Err(e) => reply.error(e),
        }
    }
}

/// What a FALLOCATE request's mode asks for, as the simulator serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fallocate {
    /// Mode 0 (`posix_fallocate`): reserve `offset..offset + length`,
    /// growing the file to at least its end, the new bytes reading as
    /// zeros: `VFile::allocate`, a pending data operation until the file's
    /// next sync.
    Extend,
    /// `FALLOC_FL_KEEP_SIZE` alone: reserve blocks without changing the
    /// size. The simulator has no block allocation, so nothing a read, a
    /// stat or a crash could see changes: accepted as a no-op.
    KeepSize,
    /// Every other mode (punching holes, zeroing, collapsing or inserting
    /// ranges, unsharing): it would change contents the simulator does not
    /// model as one operation, so `EOPNOTSUPP`, which callers must handle
    /// (glibc's `posix_fallocate` never sends these).
    Refused,
}

impl Fallocate {
    /// `FALLOC_FL_KEEP_SIZE` (linux/falloc.h).
    const KEEP_SIZE: i32 = 0x01;

    fn from_mode(mode: i32) -> Self {
        match mode {
            0 => Fallocate::Extend,
            Self::KEEP_SIZE => Fallocate::KeepSize,
            _ => Fallocate::Refused,
        }
    }
}

fn libc_s_ifmt() -> u32 {
    nix::sys::stat::SFlag::S_IFMT.bits()
}

fn libc_s_ifreg() -> u32 {
    nix::sys::stat::SFlag::S_IFREG.bits()
}
