//! `lsm`: a log-structured merge tree (ported from the
//! Python prototype `log-structured-merge-tree/lsm.py`).
//!
//! Writes go to a WAL generation and a memtable (an ordered map). When the
//! memtable passes `memtable_bytes` it becomes immutable, a new WAL
//! generation starts, and the immutable memtable is flushed to a level-0
//! SSTable while writes continue (on a background thread, or inline when
//! `background_maintenance` is off).
//!
//! Compaction is **leveled**, as in LevelDB and RocksDB: level 0 holds
//! flushed tables, which overlap each other; levels 1 to 6 each hold
//! tables with disjoint key ranges, each level about 10x the one above.
//! One step rewrites at most level 0 plus level 1, or one table plus about
//! 10 of the next level, never the whole tree; its I/O runs without the
//! tree lock, so gets and scans only wait for the brief swap of the table
//! lists.
//!
//! Reads go through a block cache of checked, indexed data blocks
//! ([`cache`], `EngineConfig::cache_bytes`) shared by the tables. A clean
//! [`Engine::close`] flushes the memtable (a level-0 table, synced per
//! policy), so a reopened engine replays nothing; after a bulk load
//! (`EngineConfig::bulk_load`) it also compacts level 0 away and every
//! level down to its target, so the next open starts settled.
//!
//! The code, by job: `open.rs` recovers the directory and starts the
//! engine; `write.rs` logs writes and rotates the memtable; `read.rs`
//! answers gets and scans; `cache.rs` keeps the data blocks; `flush.rs` writes tables (a flush, or a
//! compaction's output) and the manifest that names them;
//! `compaction.rs` picks and runs compaction steps; this file holds the
//! state they share and the [`Engine`] face.
//!
//! ## Format
//!
//! - `NNNNNNNNNNNN.wal`: the WAL of one memtable generation, records in the
//!   shared framing ([`crate::record`]; under every policy but `none` each
//!   carries the generation), then reserved zeros or, in a recycled file,
//!   an older generation's leftovers: its end is found by its records
//!   ([`crate::logfile`], [`crate::record::scan_generation`]).
//! - `NNNNNNNNNNNN.sst`: tables, see [`sstable`].
//! - `MANIFEST`: the live tables of each level and the last flushed WAL
//!   generation, see [`manifest`].
//!
//! ## Durability
//!
//! A put or delete is one positional write into the current WAL
//! generation's reserved space (every policy but `none`: its sync changes
//! no file size), then the
//! shared syncer (no sync under `none`; one per write under `always`; one
//! per N under `batch:N`; one per group under `group`). A new WAL generation
//! starts after the old one is sealed (synced unless `none`): in a new file
//! (directory fsync under `+dir`) or, under every policy but `none`, in the
//! file of a generation a flush already covered, renamed (directory fsync
//! under `+dir`, else an `fsync` of the file) and overwritten from offset
//! 0, so syncing an append changes no metadata ([`crate::recycle`]). A flush writes the SSTable to a temporary name,
//! syncs it (unless `none`), renames it and fsyncs the directory (`+dir`),
//! then replaces the manifest the same way; only after the manifest naming
//! the table is durable are the WAL generations it covers removed (or kept
//! for recycling). A
//! compaction step writes its output tables the same way, then the
//! manifest, and only then removes its input tables. The
//! Python prototype's WAL only flushed (never fsynced) and its SSTables were written in
//! place: under `none` (and without `+dir`) this engine shows what that
//! costs. Under `none` recovery is best effort: a manifest or table that
//! fails validation is dropped (noted in `stats().notes`), since nothing
//! was promised; under every other policy it is an error.
//!
//! Under `batch:N` (with background threads) the memtable insert of an
//! acknowledged write may still be pending: an applier thread makes it
//! while the N-th writer waits for its sync, and every read, rotation and
//! close makes what is pending first ([`crate::deferred`]). Durability is
//! the WAL's either way: a rotation freezes a memtable only once every
//! insert of its generation is in it.

mod bloom;
pub mod cache;
mod compaction;
mod cursor;
mod flush;
pub mod manifest;
mod merge;
mod open;
mod read;
pub mod sstable;
mod write;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::combine::Combiner;
use crate::deferred::{Deferred, Op};
use crate::engine::{Capabilities, Engine, EngineStats};
use crate::fs::EngineDir;
use crate::logfile::LogFile;
use crate::recycle::LogPool;
use crate::syncer::Syncer;
use crate::worker::{Signal, Worker};
use crate::{Error, Result};

use manifest::Manifest;
use sstable::Table;

/// Capabilities: everything but replay.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: true,
    deletes: true,
    replay: false,
};

/// Per-entry memory overhead counted against `memtable_bytes`.
const ENTRY_OVERHEAD: u64 = 32;

/// Levels, level 0 included.
const LEVELS: usize = 7;

/// Each level below level 1 targets this many times the size of the one
/// above.
const LEVEL_RATIO: u64 = 10;

fn wal_name(gen: u64) -> String {
    format!("{gen:012}.wal")
}

fn sst_name(id: u64) -> String {
    format!("{id:012}.sst")
}

fn parse(name: &str, ext: &str) -> Option<u64> {
    name.strip_suffix(ext)?.parse().ok()
}

/// A memtable key: up to 24 bytes are held inside the map's nodes, so a
/// search compares keys without following a pointer per comparison: with
/// a large memtable, heap keys made `none` puts markedly slower
/// (docs/measurements.md). Inline keys order as byte strings, like
/// `Vec<u8>`.
type MemKey = smallvec::SmallVec<[u8; 24]>;

#[derive(Debug, Default)]
struct Memtable {
    map: BTreeMap<MemKey, Option<Vec<u8>>>,
    bytes: u64,
    /// The newest WAL generation whose writes it holds.
    gen: u64,
}

/// The live tables.
#[derive(Debug, Clone)]
struct Version {
    /// `levels[0]`: overlapping tables, newest first. Deeper levels:
    /// tables with disjoint key ranges, in key order.
    levels: Vec<Vec<Arc<Table>>>,
}

impl Default for Version {
    fn default() -> Self {
        Version {
            levels: vec![Vec::new(); LEVELS],
        }
    }
}

impl Version {
    fn ids(&self) -> Vec<Vec<u64>> {
        self.levels
            .iter()
            .map(|l| l.iter().map(|t| t.id).collect())
            .collect()
    }

    fn tables(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.levels.iter().flatten()
    }

    fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level].iter().map(|t| t.size).sum()
    }

    /// The table of sorted level `level` (>= 1) whose range holds `key`.
    fn find(&self, level: usize, key: &[u8]) -> Option<&Arc<Table>> {
        let l = &self.levels[level];
        let i = l.partition_point(|t| t.last_key() < key);
        l.get(i).filter(|t| t.first_key.as_slice() <= key)
    }

    /// Whether a level below `level` has a table whose range holds `key`.
    fn deeper_may_hold(&self, level: usize, key: &[u8]) -> bool {
        (level + 1..self.levels.len()).any(|l| self.find(l, key).is_some())
    }
}

#[derive(Debug, Default)]
struct Tree {
    mem: Memtable,
    imm: Option<Arc<Memtable>>,
    version: Version,
}

#[derive(Debug)]
struct Wal {
    gen: u64,
    /// The generation's log (reserved space, end found by records).
    log: LogFile,
    reserve_step: u64,
    buf: Vec<u8>,
    /// The memtable's size as its inserts are logged (its `bytes`, counted
    /// before an insert is applied, and without the tree's lock).
    mem_bytes: u64,
}

#[derive(Debug, Default)]
struct Counters {
    user_bytes: AtomicU64,
    wal_bytes: AtomicU64,
    flush_bytes: AtomicU64,
    compaction_bytes: AtomicU64,
    manifest_bytes: AtomicU64,
    flushes: AtomicU64,
    compactions: AtomicU64,
    moves: AtomicU64,
    /// Level-0 compactions asked for by scans (below the trigger).
    read_triggered: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    dir: EngineDir,
    memtable_bytes: u64,
    /// Level-0 tables that trigger a level-0 compaction.
    trigger: usize,
    /// Target size of level 1.
    level1_bytes: u64,
    /// Per sorted level, the last key compacted from it (round robin).
    cursors: Mutex<Vec<Vec<u8>>>,
    background: bool,
    /// Opened for a bulk load ([`crate::EngineConfig::bulk_load`]): close
    /// compacts the tree it built (see [`Lsm`]'s `close`).
    settle_at_close: bool,
    tree: RwLock<Tree>,
    /// `tree.imm.is_some()`, readable by writers without the tree's lock.
    has_imm: AtomicBool,
    wal: Mutex<Wal>,
    /// WAL generations on disk, oldest first.
    wal_gens: Mutex<Vec<u64>>,
    /// Flushed generations' WAL files, recycled into new generations.
    wal_pool: Mutex<LogPool>,
    syncer: Syncer,
    /// Under `group`, batches concurrent writes (see [`crate::combine`]).
    combiner: Combiner,
    manifest: Mutex<Manifest>,
    /// One flush or compaction at a time.
    maintenance: Mutex<()>,
    /// Signalled when the immutable memtable is flushed.
    flushed: Condvar,
    flushed_lock: Mutex<()>,
    next_seq: AtomicU64,
    closed: AtomicBool,
    counters: Counters,
    torn_bytes: u64,
    dropped: Vec<String>,
    signal: Arc<Signal>,
    /// Checked data blocks of the tables (see [`cache`]).
    cache: Arc<cache::BlockCache>,
    /// What [`Engine::warm`] loaded, for the stats.
    warmed: Mutex<Option<String>>,
    /// Level-0 tables positioned by scans since level 0 was last
    /// compacted (read-triggered compaction, see `compaction.rs`).
    l0_scan_seeks: AtomicU64,
    /// Scans have paid for level 0 more than compacting it would cost:
    /// the next maintenance compacts it below its trigger.
    l0_wanted: AtomicBool,
    /// Memtable inserts logged and acknowledged but not applied yet, when
    /// the policy defers them (see [`crate::deferred`]).
    deferred: Option<Deferred<Op>>,
    /// Wakes the applier thread that applies `deferred`.
    apply_signal: Arc<Signal>,
}

/// A memtable insert left to the applier.
#[derive(Debug)]
struct Pending {
    key: MemKey,
    value: Option<Vec<u8>>,
}

/// The LSM tree engine.
#[derive(Debug)]
pub struct Lsm {
    inner: Arc<Inner>,
    worker: Worker,
    /// The applier of deferred memtable inserts (no thread when nothing is
    /// deferred).
    applier: Worker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Lsm {
    /// Makes the WAL's recycler misbehave (tests that must catch it).
    #[cfg(test)]
    pub(crate) fn set_pool_fault(&self, fault: crate::recycle::PoolFault) {
        lock(&self.inner.wal_pool).fault = Some(fault);
    }
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn tree(&self) -> RwLockReadGuard<'_, Tree> {
        self.tree.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tree_mut(&self) -> RwLockWriteGuard<'_, Tree> {
        self.tree.write().unwrap_or_else(|p| p.into_inner())
    }

    fn stats(&self) -> EngineStats {
        // The WAL's lock before the tree's, as writers take them: a
        // reader of the tree waiting for the WAL's lock would block a
        // writer that holds it and waits for the tree.
        let wal_len = lock(&self.wal).log.len();
        let gens = lock(&self.wal_gens).len() as u64;
        let t = self.tree();
        let c = &self.counters;
        let s = self.syncer.stats();
        let mut stats = EngineStats {
            live_keys: None,
            files: t.version.tables().count() as u64 + gens + 1,
            disk_bytes: t.version.tables().map(|t| t.size).sum::<u64>() + wal_len,
            user_bytes: c.user_bytes.load(Relaxed),
            log_writes: s.writes,
            log_syncs: s.syncs,
            recovered_torn_bytes: self.torn_bytes,
            ..EngineStats::default()
        };
        let k = &mut stats.bytes_written_by_kind;
        k.insert("wal".into(), c.wal_bytes.load(Relaxed));
        k.insert("sst_flush".into(), c.flush_bytes.load(Relaxed));
        k.insert("sst_compaction".into(), c.compaction_bytes.load(Relaxed));
        k.insert("manifest".into(), c.manifest_bytes.load(Relaxed));
        stats
            .maintenance_runs
            .insert("flushes".into(), c.flushes.load(Relaxed));
        stats
            .maintenance_runs
            .insert("compactions".into(), c.compactions.load(Relaxed));
        stats
            .maintenance_runs
            .insert("trivial_moves".into(), c.moves.load(Relaxed));
        stats
            .maintenance_runs
            .insert("read_triggered".into(), c.read_triggered.load(Relaxed));
        let levels: Vec<String> = t
            .version
            .levels
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| format!("L{i}={}", l.len()))
            .collect();
        stats
            .notes
            .insert("tables_per_level".into(), levels.join(" "));
        stats.notes.insert(
            "compaction".into(),
            format!(
                "leveled: level 0 at {} tables, level 1 target {} bytes, x{} per level, {}",
                self.trigger,
                self.level1_bytes,
                LEVEL_RATIO,
                if self.background {
                    "background thread"
                } else {
                    "inline"
                }
            ),
        );
        if !self.dropped.is_empty() {
            stats
                .notes
                .insert("dropped_on_recovery".into(), self.dropped.join("; "));
        }
        stats.notes.insert(
            "recycled_wal_files".into(),
            lock(&self.wal_pool).recycled().to_string(),
        );
        stats.notes.insert(
            "block_cache".into(),
            format!("{} of {} bytes", self.cache.bytes(), self.cache.capacity()),
        );
        if let Some(w) = lock(&self.warmed).as_ref() {
            stats.notes.insert("block_cache_warmed".into(), w.clone());
        }
        stats
    }
}

impl Engine for Lsm {
    fn name(&self) -> &'static str {
        "lsm"
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
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(start, end, limit)
    }
    fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner
            .syncer
            .sync_everything(&self.inner.dir, &|| self.inner.wal_file())
    }
    fn maintain(&self) -> Result<()> {
        self.inner.check_open()?;
        {
            let mut w = lock(&self.inner.wal);
            // Under the WAL's lock, so no write can leave an insert pending
            // behind the emptiness check.
            self.inner.apply_pending();
            if !self.inner.tree().mem.map.is_empty() {
                self.inner.rotate_memtable(&mut w)?;
            }
        }
        self.inner.maintain(true)
    }
    fn warm(&self) -> Result<bool> {
        self.inner.check_open()?;
        self.inner.warm()?;
        Ok(true)
    }
    fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Relaxed) {
            return Ok(());
        }
        let stopped = self.applier.stop().and(self.worker.stop());
        self.inner.apply_pending();
        // A clean close flushes the memtable, as the btree checkpoints: the
        // next open replays nothing and starts with an empty memtable
        // (LevelDB and RocksDB write what they replay to a level-0 table
        // at open instead). Same flush, same ordering, as any other.
        stopped.and_then(|()| self.inner.flush_for_close())?;
        if self.inner.settle_at_close {
            // A bulk load ends with its tree settled, as RocksDB's
            // tools/benchmark.sh compacts after its `bulkload` fill: level
            // 0 compacted away and every level within its target.
            // Otherwise the first cell after a load paid the load's
            // compaction debt: at 10M keys its scans merged three level-0
            // tables of 117 MB while their 350 MB compaction, then two of
            // level 1, ran for up to 4 s of a 4 s cell
            // (docs/measurements.md). The load's `sync` stays whole: once
            // an explicit sync ran, a compaction syncs its output before
            // it removes its inputs, even under `none`
            // (`EngineDir::remove_all`).
            self.inner.maintain(true)?;
        }
        self.inner.syncer.close(&|| self.inner.wal_file())?;
        let mut w = lock(&self.inner.wal);
        lock(&self.inner.wal_pool).release(&mut w.log)
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests;
