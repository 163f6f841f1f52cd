//! Opening a hash engine: [`recovery`] rebuilds the keydir
//! from the directory, then writes go to a new active file, the merge
//! thread starts (with background maintenance), and a merge runs at once
//! if recovery found enough garbage.
//!
//! Every open starts a new active file rather than appending to the last
//! one: the last file's tail may be torn, and a fresh file keeps the
//! invariant that the active file holds only records newer than every
//! other file's.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64};
use std::sync::{Arc, Mutex, RwLock};

use crate::combine::Combiner;
use crate::deferred::{self, Deferred};
use crate::engine::EngineConfig;
use crate::fs::EngineDir;
use crate::logfile::{self, LogFile};
use crate::syncer::Syncer;
use crate::worker::{self, Signal, Worker};
use crate::{Error, Result};

use super::recovery::{self, Recovered};
use super::{Active, Counters, DataFile, Flavor, HashLog, Inner, Tables};

impl HashLog {
    /// Opens (recovering) or creates the engine in `config.dir`.
    pub fn open(flavor: &'static Flavor, config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?
            .with_events(config.events.clone());
        let rec = recovery::recover(flavor, &dir, config.policy)?;
        let inner = Arc::new(Inner::start(flavor, dir, &config, rec)?);
        let signal = inner.signal.clone();
        let handle = if inner.background {
            let w = inner.clone();
            let path = inner.dir.path().to_path_buf();
            Some(
                worker::spawn(
                    format!("{} merge", flavor.name),
                    signal.clone(),
                    move || w.merge(false),
                )
                .map_err(|e| Error::io("spawn merge thread", path, e))?,
            )
        } else {
            None
        };
        let engine = HashLog {
            inner,
            worker: Worker::new(signal, handle),
        };
        // Recovery may have found enough garbage already.
        engine.inner.maybe_merge()?;
        Ok(engine)
    }
}

impl Inner {
    /// The engine's state over the recovered files, writing to a new
    /// active file.
    fn start(
        flavor: &'static Flavor,
        dir: EngineDir,
        config: &EngineConfig,
        rec: Recovered,
    ) -> Result<Inner> {
        let mut files = BTreeMap::new();
        let mut immutable_bytes = 0;
        for (id, (handle, len, hint_len)) in rec.files {
            immutable_bytes += len;
            files.insert(id, DataFile::sealed(handle, len, hint_len));
        }
        let active_id = rec.max_id + 1;
        let active = dir.create(&(flavor.data_name)(active_id))?;
        files.insert(active_id, DataFile::active(active.clone()));
        let reserve_step = logfile::reserve_step(config.policy, config.segment_bytes);
        let syncer = Syncer::for_dir(config.policy, &dir);
        Ok(Inner {
            flavor,
            dir,
            segment_bytes: config.segment_bytes,
            reserve_step,
            trigger: config.merge_trigger_files,
            background: config.background_maintenance,
            tables: RwLock::new(Tables {
                keydir: rec.keydir,
                files,
                active: active_id,
                immutable_bytes,
            }),
            writer: Mutex::new(Active {
                id: active_id,
                log: LogFile::new(active, 0, reserve_step)?,
                buf: Vec::with_capacity(4096),
            }),
            syncer,
            combiner: Combiner::new(config.policy.mode),
            merging: Mutex::new(()),
            next_file: AtomicU32::new(active_id + 1),
            next_seq: AtomicU64::new(rec.max_seq + 1),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            torn_bytes: rec.torn_bytes,
            from_hints: rec.from_hints,
            signal: Arc::new(Signal::default()),
            deferred: deferred::defers(config.policy).then(Deferred::default),
        })
    }
}
