//! [`EngineDir`]: an engine's directory, where every create, rename and
//! remove is followed by the directory sync the policy asks for, and
//! [`ReplaceFile`]: the temp-write, sync, rename, directory-sync sequence for
//! files that must appear whole or not at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::{parent_dir, FileHandle, Vfs};
use crate::events::Events;
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// Suffix of files being written before their rename into place.
pub const TMP_SUFFIX: &str = ".tmp";

/// One engine's directory on a [`Vfs`] under one [`SyncPolicy`].
#[derive(Debug, Clone)]
pub struct EngineDir {
    vfs: Arc<dyn Vfs>,
    dir: PathBuf,
    policy: SyncPolicy,
    /// Under `none`: files written whole and never synced (see
    /// [`EngineDir::owe`]). Shared by clones.
    owed: Arc<Mutex<BTreeSet<PathBuf>>>,
    /// Under `none`: an explicit `Engine::sync` ran (see
    /// [`EngineDir::remove_all`]). Shared by clones.
    explicitly_synced: Arc<AtomicBool>,
    /// Under policies that acknowledge before syncing: the directory held
    /// files at open, whose names may not be durable yet (see
    /// [`EngineDir::take_recovered_names`]). Shared by clones.
    recovered_names: Arc<AtomicBool>,
    /// The first failed sync (directory sync, or a file sync this type
    /// issued). Shared by clones. Once set, every later name change fails
    /// with [`Error::Poisoned`], and so does the [`crate::syncer::Syncer`]
    /// made with [`crate::syncer::Syncer::for_dir`].
    failed: Arc<Mutex<Option<String>>>,
    /// Where the engine's maintenance events go.
    events: Events,
}

impl EngineDir {
    /// Opens `dir`, creating it (and syncing its parent under `+dir`) when
    /// missing. Fails with the path in the error when it cannot be created or
    /// is not a directory.
    ///
    /// Under a policy that acknowledges writes before syncing them (`none`,
    /// `batch:N`), every file already there is owed a sync
    /// ([`EngineDir::owe`]), and its name a directory sync: what recovery
    /// reads back may sit unsynced in the page cache (the previous process
    /// was killed, or closed under `none`), and an explicit `Engine::sync`
    /// after the reopen promises it durable, though this process never
    /// wrote it. (Found by the exhaustive crash check: put, reopen, sync,
    /// power cut lost the put under `none`.)
    pub fn open(vfs: Arc<dyn Vfs>, dir: &Path, policy: SyncPolicy) -> Result<Self> {
        let existed = vfs.exists(dir)?;
        vfs.create_dir_all(dir)?;
        // Listing proves it is a readable directory before anything else runs.
        vfs.list_dir(dir)?;
        let d = EngineDir {
            vfs,
            dir: dir.to_path_buf(),
            policy,
            owed: Arc::default(),
            explicitly_synced: Arc::default(),
            recovered_names: Arc::default(),
            failed: Arc::default(),
            events: Events::off(),
        };
        if !existed && policy.dir_sync {
            d.vfs.sync_dir(parent_dir(dir))?;
        }
        if existed && !policy.acknowledges_durable() {
            d.owe_recovered()?;
        }
        Ok(d)
    }

    /// Owes a sync to every file in the directory (subdirectories and
    /// temporaries aside), and a directory sync to their names.
    fn owe_recovered(&self) -> Result<()> {
        let mut owed = self.owed.lock().unwrap_or_else(|p| p.into_inner());
        for name in self.vfs.list_dir(&self.dir)? {
            let path = self.join(&name);
            if name.ends_with(TMP_SUFFIX) || self.vfs.list_dir(&path).is_ok() {
                continue;
            }
            owed.insert(path);
        }
        if !owed.is_empty() {
            self.recovered_names.store(true, Ordering::Relaxed);
        }
        Ok(())
    }

    /// Whether the names of the files found at open still owe a directory
    /// sync (once: the flag is cleared).
    pub fn take_recovered_names(&self) -> bool {
        self.recovered_names.swap(false, Ordering::Relaxed)
    }

    /// Reports the engine's maintenance to `events` (the engine's
    /// [`crate::EngineConfig::events`]).
    pub fn with_events(mut self, events: Events) -> Self {
        self.events = events;
        self
    }

    /// Where the engine reports its maintenance.
    pub fn events(&self) -> &Events {
        &self.events
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The policy.
    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    /// The filesystem.
    pub fn vfs(&self) -> &Arc<dyn Vfs> {
        &self.vfs
    }

    /// Path of `name` inside the directory.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Entry names, sorted.
    pub fn list(&self) -> Result<Vec<String>> {
        self.vfs.list_dir(&self.dir)
    }

    /// Whether `name` exists.
    pub fn exists(&self, name: &str) -> Result<bool> {
        self.vfs.exists(&self.join(name))
    }

    /// Fails with [`Error::Poisoned`] once a sync issued through this
    /// directory failed. After a failed directory fsync the name operations
    /// it covered may never become durable, and a retried fsync can report
    /// success without them (as for file data): nothing that depends on a
    /// name change may be acknowledged, and no further name change (a merge
    /// removing its inputs, say) may be made on top of the lost ones.
    pub fn check(&self) -> Result<()> {
        match &*self.failed.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Records a failed sync (see [`EngineDir::check`]) and returns it.
    fn failed(&self, e: Error) -> Error {
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(|| e.to_string());
        e
    }

    /// Syncs the directory if the policy has `+dir`.
    pub fn sync(&self) -> Result<()> {
        self.check()?;
        if self.policy.dir_sync {
            self.vfs.sync_dir(&self.dir).map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    /// Creates a new file and, under `+dir`, syncs the directory so the name
    /// survives a power loss before any write to it is acknowledged.
    pub fn create(&self, name: &str) -> Result<FileHandle> {
        self.check()?;
        let f = self.vfs.create(&self.join(name))?;
        self.sync()?;
        Ok(f)
    }

    /// Renames file `from` to `to` (replacing `to`) and, under `+dir`,
    /// syncs the directory so the new name survives a power loss before
    /// anything written under it is acknowledged.
    pub fn rename(&self, from: &str, to: &str) -> Result<()> {
        self.check()?;
        self.vfs.rename(&self.join(from), &self.join(to))?;
        self.sync()
    }

    /// `fsync`s `file` (data and all metadata, whatever the policy's
    /// primitive), as a name operation's sync: a failure poisons the
    /// directory like a failed directory sync.
    pub fn sync_file_metadata(&self, file: &FileHandle) -> Result<()> {
        self.check()?;
        file.sync_all().map_err(|e| self.failed(e))
    }

    /// Opens an existing file.
    pub fn open_file(&self, name: &str) -> Result<FileHandle> {
        self.vfs.open(&self.join(name))
    }

    /// Removes files, then syncs the directory once under `+dir`.
    ///
    /// Under `none`, once an explicit `Engine::sync` has run, the files
    /// written whole since (see [`EngineDir::owe`]: merge outputs, tables,
    /// manifests, checkpointed pages) are synced, and the directory with
    /// them, before anything is removed: the removed files may hold writes
    /// that sync made durable, now rewritten into those unsynced files, and
    /// maintenance must not undo what an explicit sync promised. Without an
    /// explicit sync nothing was promised, and `none` syncs nothing.
    pub fn remove_all<S: AsRef<str>>(&self, names: &[S]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        self.check()?;
        self.keep_explicit_sync()?;
        for n in names {
            self.vfs.remove(&self.join(n.as_ref()))?;
        }
        self.sync()
    }

    /// Records that an explicit `Engine::sync` ran (called by
    /// [`crate::syncer::Syncer::sync_everything`]).
    pub fn note_explicit_sync(&self) {
        if !self.policy.syncs_data() {
            self.explicitly_synced.store(true, Ordering::Relaxed);
        }
    }

    /// Under `none`: an explicit `Engine::sync` ran, so maintenance must
    /// keep what it made durable (see [`EngineDir::remove_all`]).
    pub fn explicit_sync_ran(&self) -> bool {
        !self.policy.syncs_data() && self.explicitly_synced.load(Ordering::Relaxed)
    }

    fn keep_explicit_sync(&self) -> Result<()> {
        if !self.explicit_sync_ran() {
            return Ok(());
        }
        let owed = self.take_owed();
        if owed.is_empty() {
            return Ok(());
        }
        self.sync_paths(&owed)?;
        self.vfs.sync_dir(&self.dir).map_err(|e| self.failed(e))
    }

    /// Starts writing `name` through a temporary file (see [`ReplaceFile`]).
    /// A leftover temporary of the same name (from a crash) is removed.
    pub fn replace(&self, name: &str) -> Result<ReplaceFile> {
        self.check()?;
        let tmp = format!("{name}{TMP_SUFFIX}");
        if self.exists(&tmp)? {
            self.vfs.remove(&self.join(&tmp))?;
        }
        let file = self.vfs.create(&self.join(&tmp))?;
        Ok(ReplaceFile {
            dir: self.clone(),
            tmp,
            name: name.to_string(),
            file,
        })
    }

    /// Writes `bytes` as file `name` through [`ReplaceFile`] in one append.
    pub fn write_whole(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let f = self.replace(name)?;
        f.file().append(bytes)?;
        f.commit()
    }

    /// Records that file `name` holds data the engine relies on but, under
    /// `none`, never synced (a table, a merge output, a manifest): an
    /// explicit `Engine::sync` must still sync it
    /// ([`crate::syncer::Syncer::sync_everything`]). Does nothing under
    /// syncing policies, which synced it already.
    pub fn owe(&self, name: &str) {
        if !self.policy.syncs_data() {
            self.owed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(self.join(name));
        }
    }

    /// Takes the owed files (see [`EngineDir::owe`]).
    pub fn take_owed(&self) -> Vec<PathBuf> {
        std::mem::take(&mut *self.owed.lock().unwrap_or_else(|p| p.into_inner()))
            .into_iter()
            .collect()
    }

    /// Syncs the files at `paths` that still exist (one merged or compacted
    /// away needs nothing: its data lives in the file that replaced it),
    /// with the policy's primitive.
    pub fn sync_paths(&self, paths: &[PathBuf]) -> Result<()> {
        self.check()?;
        for p in paths {
            if self.vfs.exists(p)? {
                let f = self.vfs.open(p)?;
                self.policy.sync_file(&*f).map_err(|e| self.failed(e))?;
            }
        }
        Ok(())
    }

    /// Removes leftover temporary files (from a crash during a replace).
    pub fn remove_temporaries(&self) -> Result<usize> {
        let tmps: Vec<String> = self
            .list()?
            .into_iter()
            .filter(|n| n.ends_with(TMP_SUFFIX))
            .collect();
        self.remove_all(&tmps)?;
        Ok(tmps.len())
    }
}

/// A file written under a temporary name and renamed into place by
/// [`ReplaceFile::commit`]: write, sync (unless `none`), rename, directory
/// sync (under `+dir`; without it, an `fsync` of the renamed file under
/// every policy but `none`). A crash before the rename leaves only a temporary,
/// which recovery removes; after the directory sync the new name is durable.
#[derive(Debug)]
pub struct ReplaceFile {
    dir: EngineDir,
    tmp: String,
    name: String,
    file: FileHandle,
}

impl ReplaceFile {
    /// The temporary file to write into.
    pub fn file(&self) -> &FileHandle {
        &self.file
    }

    /// Syncs, renames into place and syncs the directory, per policy.
    pub fn commit(self) -> Result<()> {
        let policy = self.dir.policy;
        if policy.syncs_data() {
            policy
                .sync_file(&*self.file)
                .map_err(|e| self.dir.failed(e))?;
        }
        self.dir
            .vfs
            .rename(&self.dir.join(&self.tmp), &self.dir.join(&self.name))?;
        self.dir.owe(&self.name);
        if policy.syncs_data() && !policy.dir_sync {
            // No directory sync makes the new name durable, but an `fsync`
            // of the renamed file does on ext4, xfs and btrfs (the rename
            // changed its ctime; btrfs logs the names of an inode it syncs).
            // Without it a later replacement whose name did reach the disk
            // (a manifest naming this table) could name a file that did
            // not: on the `btrfs` profile the lsm's recovery then failed
            // (`crash --engines lsm --policies batch:4 --profile btrfs`).
            self.dir.sync_file_metadata(&self.file)?;
        }
        self.dir.sync()
    }

    /// Gives up: removes the temporary file.
    pub fn abort(self) -> Result<()> {
        self.dir.vfs.remove(&self.dir.join(&self.tmp))
    }
}
