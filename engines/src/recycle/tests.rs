//! Tests of the log pool: power cuts at every step of recycling a log
//! file, checked against a model of what was written and acknowledged.
//! The engines' own recycling trials are in `engine_recycling_tests.rs`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use super::*;
use crate::fs::{CrashMode, FileLayer, Profile, SimFs, VFile, Vfs, VfsLayer};
use crate::policy::SyncPolicy;
use crate::record::{self, Record};
use crate::syncer::Syncer;
use crate::Error;

/// What the log's writer has done: generations up to `covered` are
/// covered (durably, in an engine: a manifest, a checkpoint).
#[derive(Debug, Default, Clone)]
struct Model {
    covered: u64,
    written: BTreeMap<u64, Vec<u64>>,
    acked: BTreeMap<u64, Vec<u64>>,
}

/// Power-cuts the filesystem in every crash mode and checks what
/// recovery would replay against the model.
#[derive(Debug, Clone)]
struct Checker {
    sim: SimFs,
    model: Arc<Mutex<Model>>,
    /// `posix` without `+dir`: a name never synced may vanish.
    names_may_vanish: bool,
    /// Where each failed check crashed, and what it found.
    failures: Arc<Mutex<Vec<(String, Replay)>>>,
    crashes: Arc<Mutex<u64>>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Checker {
    fn check(&self, at: &str) {
        let model = lock(&self.model).clone();
        for seed in 0..4 {
            for mode in CrashMode::ALL {
                let (fs, _) = self.sim.crash(seed, mode);
                *lock(&self.crashes) += 1;
                if let Err(e) = recover(&fs, &model, self.names_may_vanish) {
                    lock(&self.failures).push((format!("{at}, {mode:?} seed {seed}"), e));
                }
            }
        }
    }
}

fn name(gen: u64) -> String {
    format!("{gen:04}.log")
}

/// What a recovery check found wrong.
#[derive(Debug)]
enum Replay {
    /// Reading the crashed image failed.
    Unreadable(Error),
    /// A generation replays records it never wrote (another generation's).
    Foreign {
        gen: u64,
        replayed: Vec<u64>,
        written: Vec<u64>,
    },
    /// A generation lost acknowledged records.
    Lost {
        gen: u64,
        replayed: Vec<u64>,
        acked: Vec<u64>,
    },
}

impl From<Error> for Replay {
    fn from(e: Error) -> Self {
        Replay::Unreadable(e)
    }
}

impl std::fmt::Display for Replay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Replay::Unreadable(e) => write!(f, "{e}"),
            Replay::Foreign {
                gen,
                replayed,
                written,
            } => write!(
                f,
                "generation {gen} replays {replayed:?}, which it never wrote ({written:?})"
            ),
            Replay::Lost {
                gen,
                replayed,
                acked,
            } => write!(
                f,
                "generation {gen} lost acknowledged records: replays {replayed:?}, acknowledged {acked:?}"
            ),
        }
    }
}

/// Recovery as the engines do it: covered generations are removed, the
/// others scanned by generation. Every replayed generation must be a
/// prefix of what was written to it (nothing of another generation),
/// and hold every acknowledged record (unless its name may vanish and
/// did).
fn recover(fs: &SimFs, m: &Model, names_may_vanish: bool) -> std::result::Result<(), Replay> {
    let mut found = BTreeMap::new();
    for n in fs.list_dir(Path::new("/d"))? {
        let Some(gen) = n.strip_suffix(".log").and_then(|g| g.parse::<u64>().ok()) else {
            continue;
        };
        if gen <= m.covered {
            continue;
        }
        let f = fs.open(&Path::new("/d").join(&n))?;
        let image = f.read_all()?;
        let mut seqs = Vec::new();
        record::scan_generation(&image, f.path(), gen, |_, r| {
            seqs.push(r.seq);
            Ok(())
        })?;
        let written = m.written.get(&gen).cloned().unwrap_or_default();
        if !written.starts_with(&seqs) {
            return Err(Replay::Foreign {
                gen,
                replayed: seqs,
                written,
            });
        }
        found.insert(gen, seqs);
    }
    for (&gen, acked) in m.acked.range(m.covered + 1..) {
        let got = match found.get(&gen) {
            Some(got) => got.as_slice(),
            None if names_may_vanish => continue,
            None => &[],
        };
        if !got.starts_with(acked) {
            return Err(Replay::Lost {
                gen,
                replayed: got.to_vec(),
                acked: acked.clone(),
            });
        }
    }
    Ok(())
}

pub(crate) type Probe = Arc<dyn Fn(&str) + Send + Sync>;

/// Runs `probe` (which power-cuts and checks) right before every
/// rename, directory sync and file sync: the instants between a rename
/// and the sync that makes it durable, and between overwriting records
/// and syncing them.
#[derive(Clone)]
pub(crate) struct CrashBeforeSyncs(pub(crate) SimFs, pub(crate) Probe);

struct CrashBeforeFileSyncs(FileHandle, Probe);

impl std::fmt::Debug for CrashBeforeSyncs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CrashBeforeSyncs")
    }
}

impl std::fmt::Debug for CrashBeforeFileSyncs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CrashBeforeFileSyncs({})", self.0.path().display())
    }
}

impl VfsLayer for CrashBeforeSyncs {
    fn inner(&self) -> &dyn Vfs {
        &self.0
    }
    fn wrap(&self, file: FileHandle) -> FileHandle {
        Arc::new(CrashBeforeFileSyncs(file, self.1.clone()))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        (self.1)("before a rename");
        self.0.rename(from, to)
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        (self.1)("before a directory sync");
        self.0.sync_dir(path)
    }
}

impl FileLayer for CrashBeforeFileSyncs {
    fn inner(&self) -> &dyn VFile {
        &*self.0
    }
    fn sync_data(&self) -> Result<()> {
        (self.1)("before an fdatasync");
        self.0.sync_data()
    }
    fn sync_all(&self) -> Result<()> {
        (self.1)("before an fsync");
        self.0.sync_all()
    }
}

/// Six generations, each covered and recycled into the next (as the
/// btree does at a checkpoint), with records of varying length (so new
/// records end mid-way through old ones) and more of them each
/// generation (so recycled files grow by reservation steps), every
/// other one synced; crashes at every step. Returns the failures and
/// the generations begun in a recycled file.
fn drive(
    profile: Profile,
    policy: SyncPolicy,
    fault: Option<PoolFault>,
) -> (Vec<(String, Replay)>, u64) {
    let sim = SimFs::new(profile);
    let checker = Checker {
        sim: sim.clone(),
        model: Arc::default(),
        names_may_vanish: profile == Profile::Posix && !policy.dir_sync,
        failures: Arc::default(),
        crashes: Arc::default(),
    };
    let probe: Probe = {
        let c = checker.clone();
        Arc::new(move |at| c.check(at))
    };
    let vfs: Arc<dyn Vfs> = Arc::new(CrashBeforeSyncs(sim.clone(), probe));
    let dir = EngineDir::open(vfs, Path::new("/d"), policy).unwrap();
    let syncer = Syncer::new(policy);
    let mut pool = LogPool::new(&dir);
    pool.fault = fault;
    let mut log = pool.begin(&name(1), 1, 256).unwrap();
    for g in 1..=6u64 {
        for i in 0..2 + 2 * g {
            let seq = g * 1000 + i;
            let value = vec![b'a' + g as u8; ((i * 17 + g * 5) % 60) as usize];
            let mut buf = Vec::new();
            let r = Record {
                seq,
                key: b"key",
                value: Some(&value),
                batch_continues: false,
            };
            record::encode_into_generation(&mut buf, &r, log.generation());
            lock(&checker.model).written.entry(g).or_default().push(seq);
            log.append(&buf, &syncer).unwrap();
            checker.check("after an unsynced overwrite");
            if i % 2 == 1 {
                policy.sync_file(&**log.file()).unwrap();
                let mut m = lock(&checker.model);
                let w = m.written[&g].clone();
                m.acked.insert(g, w);
            }
        }
        // Seal; the engine makes a durable record of the coverage; the
        // covered file becomes the next generation's.
        policy.sync_file(&**log.file()).unwrap();
        {
            let mut m = lock(&checker.model);
            let w = m.written[&g].clone();
            m.acked.insert(g, w);
            m.covered = g;
        }
        log = pool.replace(&[name(g)], &name(g + 1), g + 1, 256).unwrap();
        checker.check("after beginning a generation, before any write");
    }
    assert!(*lock(&checker.crashes) > 1000);
    let failures = std::mem::take(&mut *lock(&checker.failures));
    (failures, pool.recycled())
}

#[test]
fn crashes_while_recycling_keep_every_acknowledged_record_and_replay_nothing_old() {
    for profile in [Profile::Posix, Profile::Linux] {
        for policy in [SyncPolicy::ALWAYS, SyncPolicy::ALWAYS_DIR] {
            let (failures, recycled) = drive(profile, policy, None);
            assert!(
                failures.is_empty(),
                "{profile:?} {policy}: {} failures, first: {}: {}",
                failures.len(),
                failures[0].0,
                failures[0].1
            );
            assert_eq!(
                recycled, 6,
                "{profile:?} {policy}: every generation recycled"
            );
        }
    }
}

/// The checker above catches a recycler whose records carry no
/// generation: an older generation's records replay.
#[test]
fn a_recycler_without_generations_is_caught() {
    for profile in [Profile::Posix, Profile::Linux] {
        let (failures, _) = drive(
            profile,
            SyncPolicy::ALWAYS_DIR,
            Some(PoolFault::OmitGeneration),
        );
        assert!(
            failures
                .iter()
                .any(|(_, r)| matches!(r, Replay::Foreign { .. })),
            "{profile:?}: {failures:?}"
        );
    }
}

/// ... and one that writes into a renamed file before the rename is
/// durable: under `+dir` on `posix`, acknowledged records vanish with
/// the name.
#[test]
fn a_recycler_that_skips_the_rename_sync_is_caught() {
    let (failures, _) = drive(
        Profile::Posix,
        SyncPolicy::ALWAYS_DIR,
        Some(PoolFault::SkipRenameSync),
    );
    assert!(
        failures
            .iter()
            .any(|(_, r)| matches!(r, Replay::Lost { .. })),
        "{failures:?}"
    );
}

#[test]
fn under_none_nothing_is_recycled_and_records_carry_no_generation() {
    let sim = SimFs::new(Profile::Linux);
    let dir = EngineDir::open(Arc::new(sim.clone()), Path::new("/d"), SyncPolicy::NONE).unwrap();
    let mut pool = LogPool::new(&dir);
    assert!(!pool.recycles());
    let log = pool.begin(&name(1), 1, 0).unwrap();
    assert_eq!(log.generation(), None);
    let log = pool.replace(&[name(1)], &name(2), 2, 0).unwrap();
    assert_eq!(log.generation(), None);
    assert_eq!(pool.recycled(), 0);
    assert_eq!(sim.list_dir(Path::new("/d")).unwrap(), vec![name(2)]);
}

#[test]
fn release_removes_pooled_files_and_trims_the_active_log() {
    let sim = SimFs::new(Profile::Linux);
    let dir = EngineDir::open(Arc::new(sim.clone()), Path::new("/d"), SyncPolicy::ALWAYS).unwrap();
    let syncer = Syncer::new(SyncPolicy::ALWAYS);
    let mut pool = LogPool::with_capacity(&dir, 2);
    let mut one = pool.begin(&name(1), 1, 256).unwrap();
    let mut buf = Vec::new();
    let r = Record {
        seq: 1,
        key: b"k",
        value: Some(&[1u8; 50]),
        batch_continues: false,
    };
    record::encode_into_generation(&mut buf, &r, one.generation());
    one.append(&buf, &syncer).unwrap();
    pool.begin(&name(2), 2, 256).unwrap();
    pool.retire(&[name(2)]).unwrap();
    // The most recently covered file is reused first.
    let mut three = pool.replace(&[name(1)], &name(3), 3, 256).unwrap();
    assert_eq!(pool.recycled(), 1);
    assert_eq!(pool.pooled(), 1);
    assert_eq!(
        three.file().len().unwrap(),
        256,
        "a recycled file keeps its size"
    );
    pool.release(&mut three).unwrap();
    assert_eq!(sim.list_dir(Path::new("/d")).unwrap(), vec![name(3)]);
    assert_eq!(three.file().len().unwrap(), 0);
}

/// Files found at recovery (begun elsewhere, maybe without generations)
/// are removed once covered, never recycled; the pool keeps at most
/// its capacity.
#[test]
fn only_files_this_pool_began_are_recycled_up_to_its_capacity() {
    let sim = SimFs::new(Profile::Linux);
    let dir = EngineDir::open(Arc::new(sim.clone()), Path::new("/d"), SyncPolicy::ALWAYS).unwrap();
    let found = dir.create(&name(1)).unwrap();
    let mut pool = LogPool::new(&dir);
    let log = pool.continue_log(found, 0, 256, 1).unwrap();
    assert_eq!(log.generation(), Some(1));
    for g in 2..=4 {
        pool.begin(&name(g), g, 256).unwrap();
    }
    pool.retire(&[name(1), name(2), name(3)]).unwrap();
    assert_eq!(pool.pooled(), POOL_FILES);
    let names = sim.list_dir(Path::new("/d")).unwrap();
    assert!(!names.contains(&name(1)), "{names:?}");
    assert_eq!(names.len(), 1 + POOL_FILES, "{names:?}");
    pool.begin(&name(5), 5, 256).unwrap();
    assert_eq!((pool.recycled(), pool.pooled()), (1, 0));
}
