//! Syncs: how pending state becomes durable. A file sync applies the
//! file's pending data operations to its durable image; what name
//! operations a sync commits with it, file or directory, is the profile's
//! [`NameCommit`]. A failed sync (see [`super::faults`]) commits what the
//! profile's failure rule says. A sync may take time
//! ([`SimFs::set_sync_delay`]), so writes made while it runs are not
//! covered by it.

use std::path::Path;
use std::sync::MutexGuard;

use super::faults::{eio, file_sync_outcome};
use super::file::SimFile;
use super::state::{apply, NameOp, State};
use super::vfs::enoent;
use super::SimFs;
use crate::fs::NameCommit;
use crate::Result;

impl SimFile {
    /// `sync_data` and `sync_all` alike: the file's pending data becomes
    /// durable (fdatasync commits a size change too), with the names the
    /// profile commits on a file sync.
    pub(super) fn sync(&self) -> Result<()> {
        let rules = self.fs.profile.rules();
        let mut st = self.fs.lock();
        let injected = st.file_sync_fault();
        let node = st.inodes.entry(self.ino).or_default();
        let outcome = file_sync_outcome(node, injected, rules.fsync_failure);
        if outcome.commits {
            let pending = std::mem::take(&mut node.pending);
            for (_, op) in &pending {
                apply(&mut node.durable, op);
            }
            node.synced = true;
            match rules.file_sync_commits {
                NameCommit::AllEarlier => st.commit_names(None),
                NameCommit::OwnNames => st.commit_own_names(self.ino),
                NameCommit::Nothing | NameCommit::ThisDirectory => {}
            }
        }
        st.event(|| format!("fsync {}{}", self.path.display(), outcome.note));
        let mut st = self.fs.sync_delay(st);
        st.counted_sync(self.fs.profile);
        if outcome.fails {
            return Err(eio("fdatasync", &self.path));
        }
        Ok(())
    }
}

impl SimFs {
    /// [`Vfs::sync_dir`](crate::fs::Vfs::sync_dir): commits the
    /// directory's pending name operations (or every earlier one, as the
    /// profile says); a failed one drops them instead.
    pub(super) fn sync_directory(&self, path: &Path) -> Result<()> {
        let mut st = self.lock();
        if !st.dirs.contains_key(path) {
            return Err(enoent(path, "fsync directory"));
        }
        let only = match self.profile.rules().dir_sync_commits {
            NameCommit::AllEarlier => None,
            NameCommit::Nothing | NameCommit::ThisDirectory | NameCommit::OwnNames => Some(path),
        };
        let fail = st.dir_sync_fault();
        st.event(|| {
            format!(
                "fsync dir {}{}",
                path.display(),
                if fail { " -> EIO (injected)" } else { "" }
            )
        });
        if fail {
            // The name operations of the failed commit never become
            // durable, and a later directory sync will not retry them.
            st.pending_names
                .retain(|(_, dir, _)| only.is_some_and(|d| d != dir));
        } else {
            st.commit_names(only);
        }
        let mut st = self.sync_delay(st);
        st.counted_sync(self.profile);
        if fail {
            return Err(eio("fsync directory", path));
        }
        Ok(())
    }

    /// Makes a sync take time (the lock released meanwhile): writes made
    /// while it runs are not covered by it, as on a real disk, so a syncer
    /// that acknowledges them is caught. Zero (the default) makes syncs
    /// instant.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.lock().sync_delay = delay;
    }

    /// Sleeps for the sync delay without the lock (the sync's effect was
    /// already applied: it covers what was written before it started).
    fn sync_delay<'a>(&'a self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let delay = st.sync_delay;
        if delay.is_zero() {
            return st;
        }
        drop(st);
        std::thread::sleep(delay);
        self.lock()
    }

    /// A digest of the durable state (names and contents, not inode
    /// numbers): two filesystems with the same digest recover alike.
    pub fn durable_digest(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let st = self.lock();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for (dir, entries) in &st.durable_dirs {
            dir.hash(&mut h);
            for (name, ino) in entries {
                name.hash(&mut h);
                st.inodes.get(ino).map(|n| &n.durable).hash(&mut h);
            }
        }
        h.finish()
    }
}

impl State {
    /// Commits the pending name operations in directory `only`, or all.
    fn commit_names(&mut self, only: Option<&Path>) {
        self.commit_names_where(|_, dir| only.is_none_or(|d| d == dir));
    }

    /// Commits the pending name operations that link inode `ino` (its
    /// create, its renames: both halves of each), as a btrfs fsync logs
    /// the names of the inode it syncs ([`NameCommit::OwnNames`]).
    fn commit_own_names(&mut self, ino: u64) {
        let own: std::collections::HashSet<u64> = self
            .pending_names
            .iter()
            .filter(|(_, _, op)| matches!(op, NameOp::Link { ino: i, .. } if *i == ino))
            .map(|p| p.0)
            .collect();
        self.commit_names_where(|opn, _| own.contains(&opn));
    }

    /// Makes durable the pending name operations `commit` picks (by
    /// operation number and directory), in order.
    fn commit_names_where(&mut self, commit: impl Fn(u64, &Path) -> bool) {
        let mut keep = Vec::new();
        for (opn, dir, op) in std::mem::take(&mut self.pending_names) {
            if !commit(opn, &dir) {
                keep.push((opn, dir, op));
                continue;
            }
            op.apply_to(self.durable_dirs.entry(dir).or_default());
        }
        self.pending_names = keep;
    }
}
