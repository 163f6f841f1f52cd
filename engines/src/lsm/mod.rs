//! `lsm`: a log-structured merge tree (ported from the
//! Python prototype `log-structured-merge-tree/lsm.py`).
//!
//! Writes go to a WAL generation and a memtable (an ordered map). When the
//! memtable passes `memtable_bytes` it becomes immutable, a new WAL
//! generation starts, and the immutable memtable is flushed to a level-0
//! SSTable while writes continue (on a background thread, or inline when
//! `background_maintenance` is off).
//!
//! Compaction is **leveled**, as in LevelDB and RocksDB. Level 0 holds
//! flushed tables, which overlap each other. Levels 1 to 6 each hold tables
//! with disjoint key ranges, in key order; level 1's target size is
//! `merge_trigger_files x memtable_bytes` (about the size of a full level 0)
//! and each deeper level's is 10x the one above. One compaction step is
//! either level 0 (once it has `merge_trigger_files` tables) merged with the
//! level-1 tables it overlaps, or one table of the level furthest over its
//! target (round robin through its key range) merged with the tables of
//! the next level it overlaps; a table that overlaps nothing below is moved
//! down by the manifest alone. So one step rewrites at most level 0 plus
//! level 1, or one table plus about 10 of the next level, never the whole
//! tree. Outputs are streamed into tables of about `memtable_bytes`. A
//! tombstone is dropped only when no deeper level has a table whose key
//! range holds its key. Flushes run between compaction steps, so writers
//! wait for at most one step. Compaction I/O runs without the tree lock:
//! gets and scans only wait for the brief swap of the table lists.
//!
//! Reads check the memtable, the immutable memtable, the level-0 tables
//! newest first, then in each deeper level the one table whose range holds
//! the key (bloom filter, block index). A scan merges the memtables, each
//! level-0 table, and one concatenating iterator per deeper level.
//!
//! ## Format
//!
//! - `NNNNNNNNNNNN.wal`: the WAL of one memtable generation, records in the
//!   shared framing ([`crate::record`]; under every policy but `none` each
//!   carries the generation), then reserved zeros or, in a recycled file,
//!   an older generation's leftovers: its end is found by its records
//!   ([`crate::logfile`], [`record::scan_generation`]).
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

mod bloom;
pub mod manifest;
mod merge;
pub mod sstable;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::combine::{Combiner, Log, WriteOp};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::events::EventKind;
use crate::fs::{EngineDir, FileHandle, ReplaceFile};
use crate::logfile::{self, LogFile};
use crate::record::{self, Record};
use crate::recycle::LogPool;
use crate::syncer::{Syncer, Ticket};
use crate::worker::{self, Signal, Worker};
use crate::{Error, Result};

use manifest::Manifest;
use merge::{MergeIter, Source};
use sstable::{Table, TableWriter};

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

/// What one compaction step merges.
#[derive(Debug)]
struct Step {
    /// Level of `upper`; the output goes to `level + 1`.
    level: usize,
    /// Level-0 tables newest first, or one table of a sorted level.
    upper: Vec<Arc<Table>>,
    /// The tables of `level + 1` that overlap `upper`, in key order.
    lower: Vec<Arc<Table>>,
}

#[derive(Debug)]
struct Wal {
    gen: u64,
    /// The generation's log (reserved space, end found by records).
    log: LogFile,
    reserve_step: u64,
    buf: Vec<u8>,
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
    tree: RwLock<Tree>,
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
}

/// The LSM tree engine.
#[derive(Debug)]
pub struct Lsm {
    inner: Arc<Inner>,
    worker: Worker,
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

    /// Opens (recovering) or creates an LSM tree in `config.dir`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let policy = config.policy;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, policy)?
            .with_events(config.events.clone());
        dir.remove_temporaries()?;
        let best_effort = !policy.syncs_data();
        let mut dropped = Vec::new();
        let manifest = match Manifest::load(&dir) {
            Ok(m) => m.unwrap_or_default(),
            Err(e) if best_effort => {
                dropped.push(format!("manifest: {e}"));
                Manifest::default()
            }
            Err(e) => return Err(e),
        };
        let mut version = Version::default();
        version
            .levels
            .resize(manifest.levels.len().max(LEVELS), Vec::new());
        let mut live_ids = Vec::new();
        for (level, ids) in manifest.levels.iter().enumerate() {
            for &id in ids {
                match dir
                    .open_file(&sst_name(id))
                    .and_then(|f| Table::open(id, f))
                {
                    Ok(t) => {
                        version.levels[level].push(t);
                        live_ids.push(id);
                    }
                    Err(e) if best_effort => dropped.push(format!("table {id}: {e}")),
                    Err(e) => return Err(e),
                }
            }
        }
        for l in version.levels.iter_mut().skip(1) {
            l.sort_by(|a, b| a.first_key.cmp(&b.first_key));
        }
        let names = dir.list()?;
        let mut max_table = manifest.next_table;
        let mut orphans = Vec::new();
        let mut gens = Vec::new();
        for n in &names {
            if let Some(id) = parse(n, ".sst") {
                max_table = max_table.max(id + 1);
                if !live_ids.contains(&id) {
                    orphans.push(n.clone());
                }
            } else if let Some(g) = parse(n, ".wal") {
                if g <= manifest.flushed_gen {
                    orphans.push(n.clone());
                } else {
                    gens.push(g);
                }
            }
        }
        dir.remove_all(&orphans)?;
        gens.sort_unstable();

        // Replay the WALs the tables do not cover, oldest first.
        let mut mem = Memtable::default();
        let mut max_seq = 0u64;
        let mut torn_bytes = 0;
        for &g in &gens {
            let f = dir.open_file(&wal_name(g))?;
            let image = f.read_all()?;
            let end = record::recover_generation(&f, &image, policy, g, |_, r| {
                max_seq = max_seq.max(r.seq);
                mem.bytes += (r.key.len() + r.value.map_or(0, <[u8]>::len)) as u64 + ENTRY_OVERHEAD;
                mem.map
                    .insert(MemKey::from_slice(r.key), r.value.map(<[u8]>::to_vec));
                Ok(())
            })?;
            torn_bytes += end.torn_bytes;
        }
        let gen = gens.last().copied().unwrap_or(0).max(manifest.flushed_gen) + 1;
        let reserve_step = logfile::reserve_step(policy, config.segment_bytes);
        let mut wal_pool = LogPool::with_capacity(&dir, config.recycled_logs);
        let log = wal_pool.begin(&wal_name(gen), gen, reserve_step)?;
        gens.push(gen);
        mem.gen = gen;
        let manifest = Manifest {
            next_table: max_table,
            flushed_gen: manifest.flushed_gen,
            levels: version.ids(),
        };

        let signal = Arc::new(Signal::default());
        let syncer = Syncer::for_dir(policy, &dir);
        let inner = Arc::new(Inner {
            dir,
            memtable_bytes: config.memtable_bytes,
            trigger: config.merge_trigger_files,
            level1_bytes: config
                .memtable_bytes
                .saturating_mul(config.merge_trigger_files as u64),
            cursors: Mutex::new(vec![Vec::new(); version.levels.len()]),
            background: config.background_maintenance,
            tree: RwLock::new(Tree {
                mem,
                imm: None,
                version,
            }),
            wal: Mutex::new(Wal {
                gen,
                log,
                reserve_step,
                buf: Vec::with_capacity(4096),
            }),
            wal_gens: Mutex::new(gens),
            wal_pool: Mutex::new(wal_pool),
            syncer,
            combiner: Combiner::new(policy.mode),
            manifest: Mutex::new(manifest),
            maintenance: Mutex::new(()),
            flushed: Condvar::new(),
            flushed_lock: Mutex::new(()),
            next_seq: AtomicU64::new(max_seq + 1),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            torn_bytes,
            dropped,
            signal: signal.clone(),
        });
        let handle = if inner.background {
            let w = inner.clone();
            let path = inner.dir.path().to_path_buf();
            Some(
                worker::spawn("lsm flush".into(), signal.clone(), move || {
                    w.maintain(false)
                })
                .map_err(|e| Error::io("spawn flush thread", path, e))?,
            )
        } else {
            None
        };
        Ok(Lsm {
            inner,
            worker: Worker::new(signal, handle),
        })
    }
}

impl Log for Inner {
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        self.append(ops)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        self.syncer.commit(ticket, &|| self.wal_file())
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

    fn wal_file(&self) -> FileHandle {
        lock(&self.wal).log.file().clone()
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        record::check_sizes(key, value)?;
        self.signal.check()?;
        self.syncer.check()?;
        // Under `group`, one writer appends for many.
        self.combiner.write(self, key, value)?;
        if self.tree().imm.is_some() {
            if self.background {
                self.signal.request();
            } else {
                self.maintain(false)?;
            }
        }
        Ok(())
    }

    /// Logs `ops` with one append and inserts them into the memtable:
    /// their ticket, still to be committed.
    fn append<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        let mut w = lock(&self.wal);
        if self.tree().mem.bytes >= self.memtable_bytes {
            self.rotate_memtable(&mut w)?;
        }
        let first = self.next_seq.fetch_add(ops.len() as u64, Relaxed);
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        for (seq, op) in (first..).zip(ops) {
            record::encode_into_generation(
                &mut buf,
                &Record {
                    seq,
                    key: op.key(),
                    value: op.value(),
                    batch_continues: false,
                },
                w.log.generation(),
            );
        }
        // A failed append is cut off the file (or poisons the syncer).
        let appended = w.log.append(&buf, &self.syncer);
        let len = buf.len() as u64;
        w.buf = buf;
        appended?;
        self.counters.wal_bytes.fetch_add(len, Relaxed);
        let mut t = self.tree_mut();
        let mut user = 0;
        for op in ops {
            let bytes = op.key().len() + op.value().map_or(0, <[u8]>::len);
            t.mem.bytes += bytes as u64 + ENTRY_OVERHEAD;
            t.mem
                .map
                .insert(MemKey::from_slice(op.key()), op.value().map(<[u8]>::to_vec));
            user += bytes;
        }
        drop(t);
        self.counters.user_bytes.fetch_add(user as u64, Relaxed);
        Ok(self.syncer.appended_many(ops.len() as u64))
    }

    /// Under the WAL lock: freezes the memtable and starts a new WAL
    /// generation. Waits for (or, inline, runs) the previous flush first.
    fn rotate_memtable(&self, w: &mut Wal) -> Result<()> {
        let waited_since = std::time::Instant::now();
        let mut waited = false;
        loop {
            if self.tree().imm.is_none() {
                break;
            }
            waited = true;
            if self.background {
                self.signal.check()?;
                self.signal.request();
                let g = lock(&self.flushed_lock);
                if self.tree().imm.is_some() {
                    let _ = self
                        .flushed
                        .wait_timeout(g, std::time::Duration::from_millis(50))
                        .unwrap_or_else(|p| p.into_inner());
                }
            } else {
                self.flush()?;
            }
        }
        if waited && self.background {
            self.dir
                .events()
                .record_since(EventKind::WriteStall, waited_since, || {
                    "memtable full, waiting for the previous flush".into()
                });
        }
        let mut span = self.dir.events().begin(EventKind::Rotation);
        w.log.trim()?;
        self.syncer.seal(w.log.file())?;
        let gen = w.gen + 1;
        span.detail(|| wal_name(gen));
        w.log = lock(&self.wal_pool).begin(&wal_name(gen), gen, w.reserve_step)?;
        lock(&self.wal_gens).push(gen);
        w.gen = gen;
        let mut t = self.tree_mut();
        let mem = std::mem::take(&mut t.mem);
        t.mem.gen = gen;
        t.imm = Some(Arc::new(mem));
        Ok(())
    }

    /// Flushes the immutable memtable (if any), then runs compaction steps
    /// while a level is over its target, flushing between steps. With
    /// `force`, level 0 is compacted even below its trigger.
    fn maintain(&self, force: bool) -> Result<()> {
        self.flush()?;
        let mut force_l0 = force;
        while self.compact_step(force_l0)? {
            force_l0 = false;
            self.flush()?;
        }
        Ok(())
    }

    fn alloc_table(&self) -> u64 {
        let mut m = lock(&self.manifest);
        let id = m.next_table;
        m.next_table += 1;
        id
    }

    /// Streams sorted entries into new tables of about `memtable_bytes`
    /// each (a single table when `split` is false), each through a
    /// temporary file; returns the tables, in key order, and the bytes
    /// written. Writes nothing for no entries.
    fn write_tables(
        &self,
        entries: impl Iterator<Item = Result<(impl AsRef<[u8]>, Option<impl AsRef<[u8]>>)>>,
        split: bool,
    ) -> Result<(Vec<Arc<Table>>, u64)> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut cur: Option<(u64, ReplaceFile, TableWriter)> = None;
        let run = || -> Result<()> {
            for e in entries {
                let (k, v) = e?;
                let (_, _, w) = match &mut cur {
                    Some(c) => c,
                    None => {
                        let id = self.alloc_table();
                        let rf = self.dir.replace(&sst_name(id))?;
                        let w = TableWriter::new(rf.file().clone());
                        cur.insert((id, rf, w))
                    }
                };
                w.add(k.as_ref(), v.as_ref().map(AsRef::as_ref))?;
                if split && w.bytes() >= self.memtable_bytes {
                    if let Some(c) = cur.take() {
                        bytes += self.finish_table(c, &mut out)?;
                    }
                }
            }
            if let Some(c) = cur.take() {
                bytes += self.finish_table(c, &mut out)?;
            }
            Ok(())
        };
        if let Err(e) = run() {
            // Tables already renamed into place are orphans the manifest
            // does not name: recovery removes them.
            if let Some((_, rf, _)) = cur.take() {
                let _ = rf.abort();
            }
            return Err(e);
        }
        Ok((out, bytes))
    }

    fn finish_table(
        &self,
        (id, rf, w): (u64, ReplaceFile, TableWriter),
        out: &mut Vec<Arc<Table>>,
    ) -> Result<u64> {
        let size = w.finish()?;
        rf.commit()?;
        out.push(Table::open(id, self.dir.open_file(&sst_name(id))?)?);
        Ok(size)
    }

    fn store_manifest(&self, m: &Manifest) -> Result<()> {
        let n = m.store(&self.dir)?;
        self.counters.manifest_bytes.fetch_add(n as u64, Relaxed);
        Ok(())
    }

    fn flush(&self) -> Result<()> {
        let _one = lock(&self.maintenance);
        let Some(imm) = self.tree().imm.clone() else {
            return Ok(());
        };
        let mut span = self.dir.events().begin(EventKind::Flush);
        let (tables, bytes) = self.write_tables(
            imm.map
                .iter()
                .map(|(k, v)| Ok((k.as_slice(), v.as_deref()))),
            false,
        )?;
        self.counters.flush_bytes.fetch_add(bytes, Relaxed);
        span.detail(|| {
            let ids: Vec<String> = tables.iter().map(|t| sst_name(t.id)).collect();
            format!("memtable {} -> {} out={bytes}", imm.gen, ids.join(","))
        });
        let mut version = self.tree().version.clone();
        for t in tables {
            version.levels[0].insert(0, t);
        }
        {
            let mut m = lock(&self.manifest);
            m.levels = version.ids();
            m.flushed_gen = imm.gen;
            self.store_manifest(&m)?;
        }
        {
            let mut t = self.tree_mut();
            t.version = version;
            t.imm = None;
        }
        {
            let _g = lock(&self.flushed_lock);
            self.flushed.notify_all();
        }
        // The manifest naming the table is durable: drop the WALs it covers.
        let covered: Vec<String> = {
            let mut gens = lock(&self.wal_gens);
            let (old, keep): (Vec<u64>, Vec<u64>) = gens.iter().partition(|&&g| g <= imm.gen);
            *gens = keep;
            old.into_iter().map(wal_name).collect()
        };
        lock(&self.wal_pool).retire(&covered)?;
        self.counters.flushes.fetch_add(1, Relaxed);
        Ok(())
    }

    fn level_target(&self, level: usize) -> u64 {
        let mut t = self.level1_bytes;
        for _ in 1..level {
            t = t.saturating_mul(LEVEL_RATIO);
        }
        t
    }

    /// The next compaction step, if any level needs one: level 0 at its
    /// trigger (or non-empty, when `force_l0`), else the sorted level (not
    /// the last) furthest over its target.
    fn pick(&self, v: &Version, force_l0: bool) -> Option<Step> {
        let l0 = &v.levels[0];
        let (level, upper) = if l0.len() >= self.trigger || (force_l0 && !l0.is_empty()) {
            (0, l0.clone())
        } else {
            let mut best: Option<(usize, f64)> = None;
            for level in 1..v.levels.len() - 1 {
                let score = v.level_bytes(level) as f64 / self.level_target(level) as f64;
                if score >= 1.0 && best.is_none_or(|(_, s)| score > s) {
                    best = Some((level, score));
                }
            }
            let (level, _) = best?;
            let tables = &v.levels[level];
            let cursors = lock(&self.cursors);
            let after = cursors.get(level).map_or(&[][..], Vec::as_slice);
            let i = tables.partition_point(|t| t.first_key.as_slice() <= after);
            let t = tables.get(i).or_else(|| tables.first())?;
            (level, vec![t.clone()])
        };
        let lo = upper.iter().map(|t| t.first_key.as_slice()).min()?;
        let hi = upper.iter().map(|t| t.last_key()).max()?;
        let lower = v.levels[level + 1]
            .iter()
            .filter(|t| t.overlaps(lo, hi))
            .cloned()
            .collect();
        Some(Step {
            level,
            upper,
            lower,
        })
    }

    /// Runs one compaction step; false when no level needs one.
    fn compact_step(&self, force_l0: bool) -> Result<bool> {
        let _one = lock(&self.maintenance);
        let v = self.tree().version.clone();
        let Some(step) = self.pick(&v, force_l0) else {
            return Ok(false);
        };
        let out_level = step.level + 1;
        let moved = step.upper.len() == 1 && step.lower.is_empty();
        // A move rewrites nothing: not worth an event.
        let mut span = (!moved).then(|| self.dir.events().begin(EventKind::Compaction));
        if step.level > 0 {
            if let Some(t) = step.upper.first() {
                let mut cursors = lock(&self.cursors);
                if let Some(c) = cursors.get_mut(step.level) {
                    c.clear();
                    c.extend_from_slice(t.last_key());
                }
            }
        }
        let input_ids: Vec<u64> = step.upper.iter().chain(&step.lower).map(|t| t.id).collect();
        let mut version = v.clone();
        for l in &mut version.levels {
            l.retain(|t| !input_ids.contains(&t.id));
        }
        if moved {
            // Nothing below overlaps: move the table down, no I/O.
            version.levels[out_level].extend(step.upper.iter().cloned());
        } else {
            let mut sources: Vec<Source<'_>> = step
                .upper
                .iter()
                .map(|t| Box::new(t.all()) as Source<'_>)
                .collect();
            sources.push(level_source(&step.lower, &[]));
            let live = MergeIter::new(sources).filter(|e| match e {
                Ok((k, None)) => v.deeper_may_hold(out_level, k),
                _ => true,
            });
            let (tables, bytes) = self.write_tables(live, true)?;
            self.counters.compaction_bytes.fetch_add(bytes, Relaxed);
            if let Some(span) = &mut span {
                let bytes_in: u64 = step.upper.iter().chain(&step.lower).map(|t| t.size).sum();
                span.detail(|| {
                    format!(
                        "L{}->L{out_level} in={bytes_in} out={bytes} tables={}->{}",
                        step.level,
                        step.upper.len() + step.lower.len(),
                        tables.len()
                    )
                });
            }
            version.levels[out_level].extend(tables);
        }
        version.levels[out_level].sort_by(|a, b| a.first_key.cmp(&b.first_key));
        {
            let mut m = lock(&self.manifest);
            m.levels = version.ids();
            self.store_manifest(&m)?;
        }
        self.tree_mut().version = version;
        if moved {
            self.counters.moves.fetch_add(1, Relaxed);
        } else {
            let names: Vec<String> = input_ids.iter().map(|&i| sst_name(i)).collect();
            self.dir.remove_all(&names)?;
            self.counters.compactions.fetch_add(1, Relaxed);
        }
        Ok(true)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        let t = self.tree();
        if let Some(v) = t.mem.map.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = t.imm.as_ref().and_then(|m| m.map.get(key)) {
            return Ok(v.clone());
        }
        let v = &t.version;
        for table in &v.levels[0] {
            if let Some(v) = table.get(key)? {
                return Ok(v);
            }
        }
        for level in 1..v.levels.len() {
            if let Some(table) = v.find(level, key) {
                if let Some(v) = table.get(key)? {
                    return Ok(v);
                }
            }
        }
        Ok(None)
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        let t = self.tree();
        let mut sources: Vec<Source<'_>> = vec![mem_source(&t.mem, start)];
        if let Some(imm) = &t.imm {
            sources.push(mem_source(imm, start));
        }
        let v = &t.version;
        for table in &v.levels[0] {
            sources.push(Box::new(table.iter_from(start)));
        }
        for level in v.levels.iter().skip(1).filter(|l| !l.is_empty()) {
            sources.push(level_source(level, start));
        }
        let mut out = Vec::new();
        for e in MergeIter::new(sources) {
            let (k, v) = e?;
            if end.is_some_and(|end| k.as_slice() >= end) || out.len() >= limit {
                break;
            }
            if let Some(v) = v {
                out.push((k, v));
            }
        }
        Ok(out)
    }

    fn stats(&self) -> EngineStats {
        let t = self.tree();
        let c = &self.counters;
        let s = self.syncer.stats();
        let wal_len = lock(&self.wal).log.len();
        let gens = lock(&self.wal_gens).len() as u64;
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
        stats
    }
}

/// Entries of a sorted level's tables (in key order) from `start` on.
fn level_source<'a>(tables: &'a [Arc<Table>], start: &[u8]) -> Source<'a> {
    let first = tables.partition_point(|t| t.last_key() < start);
    let start = start.to_vec();
    Box::new(
        tables[first..]
            .iter()
            .flat_map(move |t| t.iter_from(&start)),
    )
}

/// Entries of a memtable from `start` on.
fn mem_source<'a>(m: &'a Memtable, start: &'a [u8]) -> Source<'a> {
    Box::new(
        m.map
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .map(|(k, v)| Ok((k.to_vec(), v.clone()))),
    )
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
            if !self.inner.tree().mem.map.is_empty() {
                self.inner.rotate_memtable(&mut w)?;
            }
        }
        self.inner.maintain(true)
    }
    fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Relaxed) {
            return Ok(());
        }
        let stopped = self.worker.stop();
        self.inner.syncer.close(&|| self.inner.wal_file())?;
        let mut w = lock(&self.inner.wal);
        lock(&self.inner.wal_pool).release(&mut w.log)?;
        stopped
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}

#[cfg(test)]
mod tests;
