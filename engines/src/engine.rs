//! The [`Engine`] trait every storage engine implements, its
//! [`Capabilities`], [`EngineStats`] and the shared [`EngineConfig`].

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fs::{RealFs, Vfs};
use crate::policy::SyncPolicy;
use crate::Result;

pub use capabilities::Capabilities;

/// One operation recovered from a log by [`Engine::replay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedOp {
    /// Sequence number assigned when it was appended.
    pub seq: u64,
    /// Key.
    pub key: Vec<u8>,
    /// Value; `None` for a delete.
    pub value: Option<Vec<u8>>,
}

/// What an engine reports about itself. Fields an engine does not track are
/// zero; `bytes_written_by_kind` splits write amplification by cause.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EngineStats {
    /// Keys with a live value (where the engine knows it cheaply).
    pub live_keys: Option<u64>,
    /// Files in the engine's directory.
    pub files: u64,
    /// Bytes of those files.
    pub disk_bytes: u64,
    /// Key + value bytes the user asked to write (puts and deletes).
    pub user_bytes: u64,
    /// Bytes the engine wrote, by file kind (`wal`, `data`, `hint`, `sst`,
    /// `pages`, `manifest`, ...), including merges and compactions.
    pub bytes_written_by_kind: BTreeMap<String, u64>,
    /// Writes appended to the engine's log (sync tickets).
    pub log_writes: u64,
    /// Syncs the policy issued for acknowledged writes.
    pub log_syncs: u64,
    /// Merges, compactions, flushes, checkpoints run.
    pub maintenance_runs: BTreeMap<String, u64>,
    /// Bytes of torn log tails dropped during the last recovery.
    pub recovered_torn_bytes: u64,
    /// Free-form engine facts (e.g. `compaction = background`).
    pub notes: BTreeMap<String, String>,
}

impl EngineStats {
    /// Total bytes written over all file kinds.
    pub fn bytes_written(&self) -> u64 {
        self.bytes_written_by_kind.values().sum()
    }
}

/// A storage engine. Object safe; `Send + Sync`, so one engine can be driven
/// from several threads.
///
/// A write (`put`, `delete`) that returns `Ok` is acknowledged with exactly
/// the durability the engine's [`SyncPolicy`] promises.
pub trait Engine: Send + Sync + Debug {
    /// Registry name.
    fn name(&self) -> &'static str;
    /// Supported operations.
    fn capabilities(&self) -> Capabilities;
    /// Stores `value` under `key` (an empty value is a value, not a delete).
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()>;
    /// The value of `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Deletes `key` (a tombstone; deleting a missing key is not an error).
    fn delete(&self, key: &[u8]) -> Result<()>;
    /// Up to `limit` live pairs with `start <= key < end` (`end = None`: no
    /// upper bound), in key order.
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>>;
    /// The logged operations with sequence number `>= from`, in order.
    fn replay(&self, from: u64) -> Result<Vec<LoggedOp>> {
        let _ = from;
        Err(crate::Error::Unsupported {
            engine: self.name(),
            operation: "replay",
        })
    }
    /// Makes every acknowledged write durable now, whatever the policy:
    /// under `none` that includes the segments sealed and the files written
    /// whole (tables, merge outputs) without a sync, which engines cover
    /// with [`crate::syncer::Syncer::sync_everything`]. File names are durable
    /// only under `+dir` (or where a file sync commits them, as on ext4).
    /// Under `none` the promise outlives later maintenance: once an
    /// explicit sync ran, a merge, compaction, flush or checkpoint syncs the
    /// files it wrote before it removes the ones they replace
    /// ([`crate::fs::EngineDir::remove_all`]).
    fn sync(&self) -> Result<()>;
    /// Runs the engine's merge/compaction/checkpoint now, if it has one.
    fn maintain(&self) -> Result<()> {
        Ok(())
    }
    /// Fills the engine's own cache from its files, up to the cache's
    /// capacity, as a server loads its buffer pool at startup (InnoDB's
    /// `innodb_buffer_pool_load_at_startup`). Engines that read through
    /// the operating system's page cache (or keep no cache) do nothing. A
    /// restart empties a user-space cache but not the page cache, so
    /// without this a short read cell after a load measures our caches
    /// warming up against reference engines that start warm. Writes
    /// nothing; damage found is an error, as on a read. Returns whether
    /// the engine has a cache of its own to fill.
    fn warm(&self) -> Result<bool> {
        Ok(false)
    }
    /// Finishes background work, syncs per policy (not under `none`) and
    /// releases files. Later calls fail with [`crate::Error::Closed`].
    fn close(&self) -> Result<()>;
    /// Current statistics.
    fn stats(&self) -> EngineStats;
}

/// Everything needed to open any engine. Engines ignore the sizes that do
/// not apply to them.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The engine's own directory (created if missing).
    pub dir: PathBuf,
    /// The filesystem it writes through.
    pub vfs: Arc<dyn Vfs>,
    /// The durability policy.
    pub policy: SyncPolicy,
    /// Log segment / data file size at which the active file is rotated, in
    /// bytes (wal, bitcask, loghash). Default 4 MiB, so rotation happens
    /// during a benchmark run.
    pub segment_bytes: u64,
    /// Memtable size that triggers a flush, in bytes (lsm). Default 64 MiB,
    /// fjall 3's default (`max_memtable_size`; its level-0 threshold of 4
    /// tables is `merge_trigger_files`' default and its 64 MiB table target
    /// is this size too), so the two LSM trees flush and compact alike and
    /// their write amplification compares like for like (a smaller
    /// memtable flushes and compacts more: docs/measurements.md).
    pub memtable_bytes: u64,
    /// Page size in bytes (btree). Default 4096.
    pub page_bytes: usize,
    /// Pages held in the page cache (btree). Default 32,768 (128 MiB of
    /// 4 KiB pages, filled only as the tree grows): a cache that holds the
    /// working set checkpoints rarely, and each checkpoint rewrites fewer
    /// pages (write amplification 6 instead of 57 for 600k random inserts;
    /// see the btree module's `## Page cache size`).
    pub cache_pages: usize,
    /// Memory for an engine's own cache of file data, in bytes: the lsm's
    /// block cache, SQLite's page cache and fjall's block cache (bitcask,
    /// loghash and LMDB read through the kernel's page cache; the btree
    /// has `cache_pages`). Default 128 MiB, like the btree's default. The
    /// runner sets both from the memory available (the guide's "Caches").
    pub cache_bytes: u64,
    /// Immutable files that trigger a merge/compaction (bitcask, loghash,
    /// lsm). Default 4.
    pub merge_trigger_files: usize,
    /// Run merges and compactions on a background thread (true) or inline
    /// when triggered (false). Default true.
    pub background_maintenance: bool,
    /// WAL bytes after which the btree checkpoints. Default 64 MiB, the
    /// lsm's `memtable_bytes`: both replay at most that much WAL after a
    /// crash. A checkpoint rewrites every page dirtied since the last one
    /// (twice, through the doublewrite file), and random writes to a tree
    /// dirty nearly all of it, so the checkpoints' bytes per write fall
    /// with the distance. Against 16 MiB, fillrandom under `batch:32`
    /// wrote 1,006 device bytes per write instead of 1,472 and ran at
    /// 0.94 of the wal's throughput instead of 0.90; reopening after a
    /// kill took 148 ms instead of 40 ms (InnoDB's redo capacity is 100
    /// MiB by default; figures in docs/measurements.md).
    pub checkpoint_bytes: u64,
    /// Covered WAL files kept for the next generation to overwrite instead
    /// of a new file (lsm, btree; RocksDB's `recycle_log_file_num`, see
    /// [`crate::recycle`]). Default 1; 0 removes them, as under `none`,
    /// where nothing is recycled whatever this says.
    pub recycled_logs: usize,
    /// Where the engine reports its maintenance (flushes, compactions,
    /// merges, checkpoints, rotations). Off by default.
    pub events: crate::events::Events,
    /// The writes are a load, made durable as a whole by `sync` or `close`
    /// at its end and never measured. An engine whose weakest faithful
    /// policy still syncs every write (redb) may then commit without
    /// syncing until `sync`, `close` or every
    /// [`BULK_LOAD_SYNC_EVERY`] writes. The LSM engines (lsm, fjall)
    /// compact the tree they built at `close`, as RocksDB's
    /// `tools/benchmark.sh` compacts after its `bulkload` fill, so a cell
    /// after the load does not pay the load's compaction debt. Default
    /// false; no other engine changes anything for it.
    pub bulk_load: bool,
}

/// Under [`EngineConfig::bulk_load`], writes between the syncs an engine
/// still makes (redb cannot reuse the pages of unsynced commits, so its
/// file would grow without them).
pub const BULK_LOAD_SYNC_EVERY: u64 = 1024;

impl EngineConfig {
    /// Defaults on the real filesystem.
    pub fn new(dir: impl AsRef<Path>, policy: SyncPolicy) -> Self {
        EngineConfig::with_vfs(dir, RealFs::shared(), policy)
    }

    /// Defaults on the given filesystem.
    pub fn with_vfs(dir: impl AsRef<Path>, vfs: Arc<dyn Vfs>, policy: SyncPolicy) -> Self {
        EngineConfig {
            dir: dir.as_ref().to_path_buf(),
            vfs,
            policy,
            segment_bytes: 4 << 20,
            memtable_bytes: 64 << 20,
            page_bytes: 4096,
            cache_pages: 32_768,
            cache_bytes: 128 << 20,
            merge_trigger_files: 4,
            background_maintenance: true,
            checkpoint_bytes: 64 << 20,
            recycled_logs: crate::recycle::POOL_FILES,
            events: crate::events::Events::off(),
            bulk_load: false,
        }
    }

    /// Rejects sizes no engine can work with.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(crate::Error::InvalidConfig(m));
        if self.segment_bytes < 64 {
            return bad(format!(
                "segment_bytes = {} is below the minimum of 64",
                self.segment_bytes
            ));
        }
        if self.memtable_bytes < 64 {
            return bad(format!(
                "memtable_bytes = {} is below the minimum of 64",
                self.memtable_bytes
            ));
        }
        if !(512..=65536).contains(&self.page_bytes) || !self.page_bytes.is_power_of_two() {
            return bad(format!(
                "page_bytes = {} must be a power of two from 512 to 65536",
                self.page_bytes
            ));
        }
        if self.cache_pages < 8 {
            return bad(format!("cache_pages = {} is below 8", self.cache_pages));
        }
        if self.merge_trigger_files < 2 {
            return bad(format!(
                "merge_trigger_files = {} is below 2",
                self.merge_trigger_files
            ));
        }
        Ok(())
    }
}
