//! The core shared by the two hash-index engines, [`crate::bitcask`] and
//! [`crate::loghash`]: append-only data files, an in-memory keydir, rotation
//! at a size limit, and a merge that rewrites the live records of the
//! immutable files into new files ([`merge`]), recovery in [`recovery`].
//!
//! The rest by job: `open.rs` starts the engine over what recovery found;
//! `write.rs` appends writes, points the keydir at them and rotates the
//! active file; this file holds the state they share, the read path and
//! the [`Engine`] face.
//!
//! ## Format
//!
//! - Data files (`NNNNNNNN.data` for bitcask, `segment_NNNNNNNN.log` for
//!   loghash): records in the shared framing ([`crate::record`]): crc32,
//!   flags (tombstone), sequence number, key length, value length, key,
//!   value. The active file is written through [`LogFile`]: reserved zeros
//!   follow its records and its end is found by them; a rotated file ends
//!   at its last record. Each record's sequence number orders it against every other
//!   record of the engine, so recovery does not depend on file order.
//! - Hint files (bitcask only, `NNNNNNNN.hint`, see [`hint`]), one per
//!   merged data file.
//! - Merge markers `NNNNNNNN.merge`: one record in the shared framing whose
//!   value lists the ids (u32 LE) of the data files a completed merge
//!   replaced. A marker exists from the moment the merge output is durable
//!   until the replaced files are removed; recovery treats the listed files
//!   as gone, so a crash halfway through removing them cannot bring back a
//!   value whose tombstone the merge dropped.
//!
//! File ids come from one counter (data files, merge outputs and markers
//! alike) and are never reused.
//!
//! ## Invariant
//!
//! Every record in the active file is newer than every record in any other
//! file: rotation happens under the write lock, and a merge only copies
//! records of files that were immutable when it started.
//!
//! ## Durability
//!
//! A put or delete is one positional write of one record into the active
//! file's reserved space (every policy but `none`) under the write lock (so its sync changes no file
//! size, except after a reservation step), then the shared [`Syncer`]: nothing more under `none`
//! (no user-space buffer: the record is in the kernel when `put` returns);
//! one `fdatasync` (`fsync` with `@fsync`) per write under `always`; one per
//! N writes and on close under `batch:N`; one per commit group under
//! `group`. Rotation seals the old file (synced unless `none`) and creates
//! the next one, syncing the directory under `+dir` before any write to it
//! is acknowledged. Merges write through temp name, sync (unless `none`),
//! rename, directory sync (under `+dir`); see [`merge`] for their order.
//!
//! ## Write amplification
//!
//! For N puts over K distinct keys (k-byte keys, v-byte values, H = 21 the
//! record header) followed by one merge of everything, the bytes the engine
//! writes are
//!
//! ```text
//!   N * (H + k + v)          every put appended once
//! + K * (H + k + v)          the merge copies each live record once
//! + K * (H + k + 13)         bitcask only: one hint entry per copied record
//! + H + 6 + 4 * F            the merge marker (F = files merged)
//! ```
//!
//! over N * (k + v) user bytes. An automatic merge runs only when at least
//! half of the immutable bytes are garbage, so it copies at most as many
//! bytes as it frees: under steady overwrites each byte is written about
//! twice (once by the put, once by a merge), plus hint entries; inserts of
//! new keys (no garbage) never trigger a merge.

pub mod hint;
pub mod keydir;
pub mod merge;
mod open;
pub mod recovery;
mod write;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::combine::Combiner;
use crate::deferred::Deferred;
use crate::engine::{Capabilities, Engine, EngineStats};
use crate::fs::{EngineDir, FileHandle, Mapping};
use crate::logfile::LogFile;
use crate::record;
use crate::syncer::Syncer;
use crate::worker::{Signal, Worker};
use crate::{Error, Result};

use keydir::Keydir;

/// Capabilities of both hash engines: point reads and deletes, no scans.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: false,
    deletes: true,
    replay: false,
};

/// What distinguishes the two engines.
#[derive(Debug)]
pub struct Flavor {
    /// Engine name.
    pub name: &'static str,
    /// Data file name for an id.
    pub data_name: fn(u32) -> String,
    /// Id of a data file name.
    pub parse_data: fn(&str) -> Option<u32>,
    /// Whether merges write hint files.
    pub hints: bool,
    /// Word for a merge in stats (`merges`, `compactions`).
    pub merge_word: &'static str,
}

const MARKER_EXT: &str = ".merge";
const HINT_EXT: &str = ".hint";

fn marker_name(id: u32) -> String {
    format!("{id:08}{MARKER_EXT}")
}

fn hint_name(id: u32) -> String {
    format!("{id:08}{HINT_EXT}")
}

fn parse_with(name: &str, ext: &str) -> Option<u32> {
    name.strip_suffix(ext)?.parse().ok()
}

/// A data file the keydir may point into.
#[derive(Debug)]
struct DataFile {
    handle: FileHandle,
    /// Length once immutable (0 while active).
    len: u64,
    /// Length of its hint file (0 if none).
    hint_len: u64,
    /// The file mapped once immutable, where the filesystem maps files:
    /// a point read then copies the record out of memory instead of
    /// paying a `pread` (at 2M keys the system call was a fifth of a
    /// read's time).
    map: Option<Arc<Mapping>>,
}

impl DataFile {
    /// The active file (written, not mapped).
    fn active(handle: FileHandle) -> DataFile {
        DataFile {
            handle,
            len: 0,
            hint_len: 0,
            map: None,
        }
    }

    /// An immutable file of `len` bytes, mapped where the filesystem can.
    fn sealed(handle: FileHandle, len: u64, hint_len: u64) -> DataFile {
        let mut f = DataFile::active(handle);
        f.hint_len = hint_len;
        f.seal(len);
        f
    }

    /// The file is immutable from now on at `len` bytes: maps it (a file
    /// that cannot be mapped is read with `read_at`).
    fn seal(&mut self, len: u64) {
        self.len = len;
        self.map = self.handle.map(len).ok().flatten();
    }
}

/// The value of the record `bytes` (read at `offset` of `file`), which
/// must hold `key`.
fn value_of(bytes: &[u8], key: &[u8], file: &FileHandle, offset: u64) -> Result<Option<Vec<u8>>> {
    match record::decode(bytes) {
        Ok((r, _)) if r.key == key => Ok(r.value.map(<[u8]>::to_vec)),
        Ok(_) => Err(Error::corrupt(
            file.path(),
            offset,
            "record holds a different key",
        )),
        Err(e) => Err(Error::corrupt(file.path(), offset, e.reason())),
    }
}

/// What readers see: the keydir and the files it points into, switched
/// together under one lock.
#[derive(Debug)]
struct Tables {
    keydir: Keydir,
    files: BTreeMap<u32, DataFile>,
    active: u32,
    /// Sum of the immutable files' lengths.
    immutable_bytes: u64,
}

impl Tables {
    fn immutable_files(&self) -> usize {
        self.files.len().saturating_sub(1)
    }

    /// Immutable bytes no longer pointed at (overwritten or deleted values,
    /// tombstones).
    fn garbage_bytes(&self) -> u64 {
        let live = self.keydir.total_live() - self.keydir.live_bytes(self.active);
        self.immutable_bytes.saturating_sub(live)
    }
}

#[derive(Debug)]
struct Active {
    id: u32,
    log: LogFile,
    buf: Vec<u8>,
}

#[derive(Debug, Default)]
struct Counters {
    user_bytes: AtomicU64,
    data_bytes: AtomicU64,
    merge_bytes: AtomicU64,
    hint_bytes: AtomicU64,
    marker_bytes: AtomicU64,
    merges: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    flavor: &'static Flavor,
    dir: EngineDir,
    segment_bytes: u64,
    reserve_step: u64,
    trigger: usize,
    background: bool,
    tables: RwLock<Tables>,
    writer: Mutex<Active>,
    syncer: Syncer,
    /// Under `group`, batches concurrent writes (see [`crate::combine`]).
    combiner: Combiner,
    /// Held by the one merge running.
    merging: Mutex<()>,
    next_file: AtomicU32,
    next_seq: AtomicU64,
    closed: AtomicBool,
    counters: Counters,
    torn_bytes: u64,
    from_hints: u64,
    /// Wakes the background merge thread.
    signal: Arc<Signal>,
    /// Keydir changes left for the writer's next sync to apply, under
    /// `batch:N` ([`crate::deferred`]); `None` under every other policy.
    deferred: Option<Deferred<keydir::Change>>,
}

/// A hash-index engine (bitcask or loghash, by its [`Flavor`]).
#[derive(Debug)]
pub struct HashLog {
    inner: Arc<Inner>,
    worker: Worker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine for HashLog {
    fn name(&self) -> &'static str {
        self.inner.flavor.name
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.write(key, Some(value))
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.inner.write(key, None)
    }
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Err(Error::Unsupported {
            engine: self.inner.flavor.name,
            operation: "scan",
        })
    }
    fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner
            .syncer
            .sync_everything(&self.inner.dir, &|| self.inner.active_file())
    }
    fn maintain(&self) -> Result<()> {
        self.merge()
    }
    /// Stops the merge thread (after its current merge) and waits for an
    /// inline merge another thread is running, then syncs what is pending
    /// unless the policy is `none`.
    fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Relaxed) {
            return Ok(());
        }
        let stopped = self.worker.stop();
        drop(lock(&self.inner.merging));
        self.inner.apply_pending();
        self.inner.syncer.close(&|| self.inner.active_file())?;
        // A merge thread that panicked or failed is reported, not ignored.
        stopped
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}

impl HashLog {
    /// Merges every immutable file now, rotating the active file first so
    /// everything written so far takes part (`Engine::maintain`).
    pub fn merge(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.rotate_now()?;
        self.inner.merge(true)
    }
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn tables_read(&self) -> RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tables_write(&self) -> RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        self.apply_pending();
        let (file, loc) = {
            let t = self.tables_read();
            let Some(loc) = t.keydir.get(key).copied() else {
                return Ok(None);
            };
            let Some(f) = t.files.get(&loc.file) else {
                return Err(Error::corrupt(
                    self.dir.join(&(self.flavor.data_name)(loc.file)),
                    loc.offset,
                    "keydir points into a file the engine does not have",
                ));
            };
            let (start, len) = (loc.offset as usize, loc.len as usize);
            if let Some(bytes) = f
                .map
                .as_ref()
                .and_then(|m| m.bytes().get(start..start + len))
            {
                return value_of(bytes, key, &f.handle, loc.offset);
            }
            (f.handle.clone(), loc)
        };
        // The handle stays readable even if a merge removes the file now.
        let mut buf = vec![0u8; loc.len as usize];
        file.read_at(&mut buf, loc.offset)?;
        value_of(&buf, key, &file, loc.offset)
    }

    fn stats(&self) -> EngineStats {
        self.apply_pending();
        let active_len = lock(&self.writer).log.len();
        let t = self.tables_read();
        let hint_files = t.files.values().filter(|f| f.hint_len > 0).count() as u64;
        let disk_bytes =
            t.immutable_bytes + active_len + t.files.values().map(|f| f.hint_len).sum::<u64>();
        let s = self.syncer.stats();
        let c = &self.counters;
        let mut stats = EngineStats {
            live_keys: Some(t.keydir.len() as u64),
            files: t.files.len() as u64 + hint_files,
            disk_bytes,
            user_bytes: c.user_bytes.load(Relaxed),
            log_writes: s.writes,
            log_syncs: s.syncs,
            recovered_torn_bytes: self.torn_bytes,
            ..EngineStats::default()
        };
        let k = &mut stats.bytes_written_by_kind;
        k.insert("data".into(), c.data_bytes.load(Relaxed));
        k.insert("merge".into(), c.merge_bytes.load(Relaxed));
        if self.flavor.hints {
            k.insert("hint".into(), c.hint_bytes.load(Relaxed));
        }
        k.insert("marker".into(), c.marker_bytes.load(Relaxed));
        stats
            .maintenance_runs
            .insert(self.flavor.merge_word.into(), c.merges.load(Relaxed));
        let n = &mut stats.notes;
        n.insert(
            self.flavor.merge_word.into(),
            format!(
                "{} (automatic at {} immutable files with half their bytes garbage)",
                if self.background {
                    "background"
                } else {
                    "inline"
                },
                self.trigger
            ),
        );
        n.insert("garbage_bytes".into(), t.garbage_bytes().to_string());
        if self.flavor.hints {
            n.insert(
                "files_recovered_from_hints".into(),
                self.from_hints.to_string(),
            );
        }
        stats
    }
}
