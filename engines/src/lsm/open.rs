//! Opening an LSM tree: recover what the directory holds, then start a new
//! WAL generation and (with background maintenance) the flush thread.
//!
//! Recovery, in order:
//! 1. remove `*.tmp` leftovers of interrupted replaces;
//! 2. load the manifest;
//! 3. open the tables it names;
//! 4. remove what it does not name: tables a crash left before the manifest
//!    naming them was durable, and WAL generations its tables cover;
//! 5. replay the remaining WAL generations, oldest first, into the memtable.
//!
//! Under `none` nothing was promised, so a manifest or table that fails
//! validation is dropped and noted (`dropped_on_recovery`) instead of
//! failing the open; under every other policy it is an error.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use crate::combine::Combiner;
use crate::deferred::{self, Deferred};
use crate::engine::EngineConfig;
use crate::fs::EngineDir;
use crate::logfile;
use crate::policy::SyncPolicy;

use super::cache::BlockCache;
use crate::record;
use crate::recycle::LogPool;
use crate::syncer::Syncer;
use crate::worker::{self, Signal, Worker};
use crate::{Error, Result};

use super::manifest::Manifest;
use super::sstable::Table;
use super::{
    parse, sst_name, wal_name, Counters, Inner, Lsm, MemKey, Memtable, Tree, Version, Wal,
    ENTRY_OVERHEAD, LEVELS,
};

/// What recovery found on disk.
#[derive(Debug)]
struct Recovered {
    manifest: Manifest,
    version: Version,
    /// Next free table id: past the manifest's and every table file's.
    next_table: u64,
    /// WAL generations the tables do not cover, oldest first.
    gens: Vec<u64>,
    /// Their writes.
    mem: Memtable,
    max_seq: u64,
    torn_bytes: u64,
    /// What best-effort recovery (`none`) dropped, and why.
    dropped: Vec<String>,
}

impl Lsm {
    /// Opens (recovering) or creates an LSM tree in `config.dir`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?
            .with_events(config.events.clone());
        let cache = BlockCache::new(config.cache_bytes);
        let rec = recover(&dir, config.policy, &cache)?;
        let inner = Arc::new(Inner::start(dir, &config, rec, cache)?);
        let signal = inner.signal.clone();
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
        let apply_signal = inner.apply_signal.clone();
        let applier = if inner.deferred.is_some() && inner.background {
            let w = inner.clone();
            let path = inner.dir.path().to_path_buf();
            Some(
                worker::spawn("lsm apply".into(), apply_signal.clone(), move || {
                    w.apply_pending();
                    Ok(())
                })
                .map_err(|e| Error::io("spawn applier thread", path, e))?,
            )
        } else {
            None
        };
        Ok(Lsm {
            inner,
            worker: Worker::new(signal, handle),
            applier: Worker::new(apply_signal, applier),
        })
    }
}

/// Recovers the directory (see the module doc).
fn recover(dir: &EngineDir, policy: SyncPolicy, cache: &Arc<BlockCache>) -> Result<Recovered> {
    dir.remove_temporaries()?;
    let best_effort = !policy.syncs_data();
    let mut dropped = Vec::new();
    let manifest = load_manifest(dir, best_effort, &mut dropped)?;
    let version = open_tables(dir, &manifest, best_effort, &mut dropped, cache)?;
    let (next_table, gens) = remove_unlisted(dir, &manifest, &version)?;
    let (mem, max_seq, torn_bytes) = replay(dir, policy, &gens)?;
    Ok(Recovered {
        manifest,
        version,
        next_table,
        gens,
        mem,
        max_seq,
        torn_bytes,
        dropped,
    })
}

/// The manifest, or an empty one when there is none (or, best effort, when
/// it fails validation).
fn load_manifest(
    dir: &EngineDir,
    best_effort: bool,
    dropped: &mut Vec<String>,
) -> Result<Manifest> {
    match Manifest::load(dir) {
        Ok(m) => Ok(m.unwrap_or_default()),
        Err(e) if best_effort => {
            dropped.push(format!("manifest: {e}"));
            Ok(Manifest::default())
        }
        Err(e) => Err(e),
    }
}

/// Opens the tables the manifest names, each sorted level in key order.
fn open_tables(
    dir: &EngineDir,
    manifest: &Manifest,
    best_effort: bool,
    dropped: &mut Vec<String>,
    cache: &Arc<BlockCache>,
) -> Result<Version> {
    let mut version = Version::default();
    version
        .levels
        .resize(manifest.levels.len().max(LEVELS), Vec::new());
    for (level, ids) in manifest.levels.iter().enumerate() {
        for &id in ids {
            match dir
                .open_file(&sst_name(id))
                .and_then(|f| Table::open(id, f, cache))
            {
                Ok(t) => version.levels[level].push(t),
                Err(e) if best_effort => dropped.push(format!("table {id}: {e}")),
                Err(e) => return Err(e),
            }
        }
    }
    for l in version.levels.iter_mut().skip(1) {
        l.sort_by(|a, b| a.first_key.cmp(&b.first_key));
    }
    Ok(version)
}

/// Removes tables `version` does not hold and WAL generations the manifest
/// covers; returns the next free table id and the remaining generations,
/// oldest first.
fn remove_unlisted(
    dir: &EngineDir,
    manifest: &Manifest,
    version: &Version,
) -> Result<(u64, Vec<u64>)> {
    let live_ids: Vec<u64> = version.tables().map(|t| t.id).collect();
    let mut next_table = manifest.next_table;
    let mut orphans = Vec::new();
    let mut gens = Vec::new();
    for n in &dir.list()? {
        if let Some(id) = parse(n, ".sst") {
            next_table = next_table.max(id + 1);
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
    Ok((next_table, gens))
}

/// Replays the WAL generations the tables do not cover, oldest first:
/// the memtable they fill, the highest sequence number and the torn bytes
/// cut off.
fn replay(dir: &EngineDir, policy: SyncPolicy, gens: &[u64]) -> Result<(Memtable, u64, u64)> {
    let mut mem = Memtable::default();
    let mut max_seq = 0u64;
    let mut torn_bytes = 0;
    for &g in gens {
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
    Ok((mem, max_seq, torn_bytes))
}

impl Inner {
    /// The engine's state over what recovery found, writing to a new WAL
    /// generation.
    fn start(
        dir: EngineDir,
        config: &EngineConfig,
        rec: Recovered,
        cache: Arc<BlockCache>,
    ) -> Result<Inner> {
        let policy = config.policy;
        let Recovered {
            manifest,
            version,
            next_table,
            mut gens,
            mut mem,
            max_seq,
            torn_bytes,
            dropped,
        } = rec;
        let gen = gens.last().copied().unwrap_or(0).max(manifest.flushed_gen) + 1;
        let reserve_step = logfile::reserve_step(policy, config.segment_bytes);
        let mut wal_pool = LogPool::with_capacity(&dir, config.recycled_logs);
        let log = wal_pool.begin(&wal_name(gen), gen, reserve_step)?;
        gens.push(gen);
        mem.gen = gen;
        let mem_bytes = mem.bytes;
        let manifest = Manifest {
            next_table,
            flushed_gen: manifest.flushed_gen,
            levels: version.ids(),
        };
        let syncer = Syncer::for_dir(policy, &dir);
        Ok(Inner {
            dir,
            memtable_bytes: config.memtable_bytes,
            trigger: config.merge_trigger_files,
            level1_bytes: config
                .memtable_bytes
                .saturating_mul(config.merge_trigger_files as u64),
            cursors: Mutex::new(vec![Vec::new(); version.levels.len()]),
            background: config.background_maintenance,
            settle_at_close: config.bulk_load,
            tree: RwLock::new(Tree {
                mem,
                imm: None,
                version,
            }),
            has_imm: AtomicBool::new(false),
            wal: Mutex::new(Wal {
                gen,
                log,
                reserve_step,
                buf: Vec::with_capacity(4096),
                mem_bytes,
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
            signal: Arc::new(Signal::default()),
            cache,
            warmed: Mutex::new(None),
            l0_scan_seeks: AtomicU64::new(0),
            l0_wanted: AtomicBool::new(false),
            deferred: deferred::defers(policy).then(Deferred::default),
            apply_signal: Arc::new(Signal::default()),
        })
    }
}
