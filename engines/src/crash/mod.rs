//! The crash checker: drive an engine on [`SimFs`], crash, recover through
//! the same engine code, and check what the policy promised.
//!
//! A trial writes a seeded workload of puts and deletes over a small key
//! space; every value names its key and version (`k7:v42:....`), so a read
//! tells exactly which write it returns. The crash happens either after a
//! random number of operations or right after a random sync point (the
//! image is frozen at that sync: a two-pass crash without running twice),
//! with a random [`CrashMode`]; a quarter of the trials crash again during
//! recovery. Then every key is read back and checked:
//!
//! - recovery succeeds (no error, no panic);
//! - no read returns a value never written for that key (corrupt read);
//! - acknowledged writes survive as the policy promises: all of them under
//!   `always` and `group`; all but at most the last N-1 under `batch:N`;
//!   under `none` losses are counted, not failed;
//! - a deleted key whose delete was acknowledged does not come back
//!   (counted separately as a resurrected delete);
//! - with an injected sync failure, nothing is acknowledged after it.
//!
//! Each trial with losses is labelled by cause: a directory entry never
//! synced (a file with synced data vanished), a truncate reverted, or data
//! never synced.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{Engine, EngineConfig};
use crate::fs::sim::CrashRng;
use crate::fs::{CrashMode, Faults, FileHandle, Profile, SimFs, VFile, Vfs};
use crate::registry::EngineInfo;
use crate::{Error, Result, SyncMode, SyncPolicy};

/// Keys a trial writes to.
pub const KEYS: u64 = 24;

/// One trial's parameters.
#[derive(Debug, Clone)]
pub struct TrialSpec {
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its policy.
    pub policy: SyncPolicy,
    /// Filesystem profile.
    pub profile: Profile,
    /// Seed of everything random in the trial.
    pub seed: u64,
    /// Operations before the crash (at most).
    pub ops: u64,
    /// Testing the checker: syncs report success without syncing.
    pub broken_sync: bool,
    /// Injected faults.
    pub faults: Faults,
}

/// Why acknowledged writes were lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LossCause {
    /// A file with synced data lost its directory entry.
    DirEntryNeverSynced,
    /// A truncation was undone.
    TruncateReverted,
    /// The data itself was never synced.
    DataNeverSynced,
}

impl LossCause {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            LossCause::DirEntryNeverSynced => "directory entry never synced",
            LossCause::TruncateReverted => "truncate reverted",
            LossCause::DataNeverSynced => "data never synced",
        }
    }
}

/// What one trial found.
#[derive(Debug, Clone, Default)]
pub struct TrialOutcome {
    /// Writes acknowledged before the crash.
    pub acked: u64,
    /// Acknowledged writes lost.
    pub lost: u64,
    /// Files lost by the crash.
    pub files_lost: u64,
    /// Reads of values never written.
    pub corrupt_reads: u64,
    /// Acknowledged deletes undone.
    pub resurrected: u64,
    /// The recovery error or panic, if recovery failed.
    pub recovery_failure: Option<String>,
    /// Writes that returned an error.
    pub failed_writes: u64,
    /// The first broken promise, if any.
    pub violation: Option<String>,
    /// Why writes were lost.
    pub cause: Option<LossCause>,
    /// Operation trace (when asked for).
    pub trace: Vec<String>,
}

#[derive(Debug, Clone)]
struct Op {
    key: u64,
    /// `None` for a delete.
    version: Option<u64>,
    /// Position among acknowledged writes (0-based), if acknowledged.
    ack: Option<u64>,
}

/// The key of key number `k` in crash workloads.
pub fn key_bytes(k: u64) -> Vec<u8> {
    format!("key{k:04}").into_bytes()
}

/// A value naming its key and version, padded with `pad` dots.
pub fn value_bytes(k: u64, v: u64, pad: usize) -> Vec<u8> {
    let mut b = format!("k{k}:v{v}:").into_bytes();
    b.resize(b.len() + pad, b'.');
    b
}

/// The version a value names, if it is a well-formed value of key `k`.
pub fn parse_value(k: u64, value: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(value).ok()?;
    let rest = s.strip_prefix(&format!("k{k}:v"))?;
    let (v, pad) = rest.split_once(':')?;
    pad.bytes().all(|b| b == b'.').then_some(())?;
    v.parse().ok()
}

/// A filesystem whose syncs succeed without syncing: the broken policy the
/// checker must catch.
#[derive(Debug)]
pub struct NoSyncFs(pub Arc<dyn Vfs>);

#[derive(Debug)]
struct NoSyncFile(FileHandle);

impl Vfs for NoSyncFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        Ok(Arc::new(NoSyncFile(self.0.create(path)?)))
    }
    fn open(&self, path: &Path) -> Result<FileHandle> {
        Ok(Arc::new(NoSyncFile(self.0.open(path)?)))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.0.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.0.remove(path)
    }
    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        self.0.list_dir(path)
    }
    fn create_dir_all(&self, path: &Path) -> Result<()> {
        self.0.create_dir_all(path)
    }
    fn sync_dir(&self, _: &Path) -> Result<()> {
        Ok(())
    }
    fn exists(&self, path: &Path) -> Result<bool> {
        self.0.exists(path)
    }
}

impl VFile for NoSyncFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.0.read_at(buf, offset)
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.0.write_at(buf, offset)
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.0.append(buf)
    }
    fn len(&self) -> Result<u64> {
        self.0.len()
    }
    fn set_len(&self, len: u64) -> Result<()> {
        self.0.set_len(len)
    }
    fn sync_data(&self) -> Result<()> {
        Ok(())
    }
    fn sync_all(&self) -> Result<()> {
        Ok(())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

/// Small sizes so files are created, rotated, flushed, merged and
/// checkpointed within a trial.
pub fn trial_config(vfs: Arc<dyn Vfs>, policy: SyncPolicy) -> EngineConfig {
    let mut c = EngineConfig::with_vfs("/db", vfs, policy);
    c.segment_bytes = 1024;
    c.memtable_bytes = 1024;
    c.checkpoint_bytes = 2048;
    c.page_bytes = 512;
    c.cache_pages = 16;
    c.merge_trigger_files = 3;
    c.background_maintenance = false;
    c
}

fn open_guarded(
    info: &EngineInfo,
    cfg: EngineConfig,
) -> std::result::Result<Box<dyn Engine>, String> {
    match catch_unwind(AssertUnwindSafe(|| info.open(cfg))) {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Reads every key: `get` where the engine has point reads, else the fold
/// of its replayed log.
pub fn read_all(engine: &dyn Engine) -> Result<BTreeMap<u64, Option<Vec<u8>>>> {
    let mut out = BTreeMap::new();
    if engine.capabilities().point_reads {
        for k in 0..KEYS {
            out.insert(k, engine.get(&key_bytes(k))?);
        }
    } else {
        let mut state: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for op in engine.replay(0)? {
            state.insert(op.key, op.value);
        }
        for k in 0..KEYS {
            out.insert(k, state.remove(&key_bytes(k)).flatten());
        }
    }
    Ok(out)
}

/// Runs one trial.
pub fn run_trial(spec: &TrialSpec, want_trace: bool) -> TrialOutcome {
    let mut out = TrialOutcome::default();
    let trace = |out: &mut TrialOutcome, line: String| {
        if want_trace {
            out.trace.push(line);
        }
    };
    let mut rng = CrashRng::new(spec.seed);
    let sim = SimFs::new(spec.profile);
    let base: Arc<dyn Vfs> = Arc::new(sim.clone());
    let vfs: Arc<dyn Vfs> = if spec.broken_sync {
        Arc::new(NoSyncFs(base))
    } else {
        base
    };
    let engine = match open_guarded(spec.engine, trial_config(vfs, spec.policy)) {
        Ok(e) => e,
        Err(e) => {
            out.recovery_failure = Some(format!("first open failed: {e}"));
            out.violation = out.recovery_failure.clone();
            return out;
        }
    };
    sim.set_faults(spec.faults);
    let at_sync = rng.upto(1) == 0;
    if at_sync {
        let k = 1 + rng.upto(spec.ops.max(1) * 2);
        sim.freeze_after_sync(sim.syncs() + k);
        trace(&mut out, format!("crash after sync point {k}"));
    }
    let mut ops: Vec<Op> = Vec::new();
    let mut acked = 0u64;
    let mut sync_failed = false;
    for i in 0..spec.ops {
        if sim.frozen() {
            break;
        }
        let key = rng.upto(KEYS - 1);
        let delete = rng.upto(3) == 0;
        let version = (!delete).then_some(i);
        let r = catch_unwind(AssertUnwindSafe(|| match version {
            Some(v) => engine.put(&key_bytes(key), &value_bytes(key, v, rng_pad(spec.seed, i))),
            None => engine.delete(&key_bytes(key)),
        }));
        let r = r.unwrap_or_else(|_| Err(Error::InvalidConfig("write panicked".into())));
        // An acknowledgement that arrives after the crash instant does not count.
        let ok = r.is_ok() && !sim.frozen();
        let what = match version {
            Some(v) => format!("put k{key} v{v}"),
            None => format!("delete k{key}"),
        };
        match &r {
            Ok(()) if ok => {
                if sync_failed && out.violation.is_none() {
                    out.violation =
                        Some(format!("op {i} ({what}) acknowledged after a failed sync"));
                }
                trace(&mut out, format!("op {i}: {what} -> acknowledged #{acked}"));
            }
            Ok(()) => trace(
                &mut out,
                format!("op {i}: {what} -> returned after the crash instant"),
            ),
            Err(e) => {
                out.failed_writes += 1;
                if spec.faults.fail_sync.is_some() {
                    sync_failed = true;
                }
                trace(&mut out, format!("op {i}: {what} -> error: {e}"));
            }
        }
        ops.push(Op {
            key,
            version,
            ack: ok.then_some(acked),
        });
        if ok {
            acked += 1;
        }
    }
    out.acked = acked;
    let mode = CrashMode::ALL[rng.upto(3) as usize];
    let (mut crashed, report) = sim.crash(rng.next_u64(), mode);
    drop(engine);
    trace(
        &mut out,
        format!(
            "crash ({mode:?}): {} unsynced writes dropped, files lost {:?}, truncates reverted {}",
            report.writes_dropped, report.files_lost, report.truncates_reverted
        ),
    );
    out.files_lost = report.files_lost.len() as u64;
    let mut truncates = report.truncates_reverted;
    if rng.upto(3) == 0 {
        // Crash again during recovery: whatever recovery did but did not sync may go.
        match open_guarded(
            spec.engine,
            trial_config(Arc::new(crashed.clone()), spec.policy),
        ) {
            Ok(e) => {
                let (again, r2) =
                    crashed.crash(rng.next_u64(), CrashMode::ALL[rng.upto(3) as usize]);
                drop(e);
                trace(
                    &mut out,
                    format!(
                        "second crash during recovery: files lost {:?}",
                        r2.files_lost
                    ),
                );
                truncates += r2.truncates_reverted;
                crashed = again;
            }
            Err(e) => {
                out.recovery_failure = Some(e);
            }
        }
    }
    let recovered = match &out.recovery_failure {
        Some(_) => None,
        None => match open_guarded(spec.engine, trial_config(Arc::new(crashed), spec.policy)) {
            Ok(e) => Some(e),
            Err(e) => {
                out.recovery_failure = Some(e);
                None
            }
        },
    };
    let Some(engine) = recovered else {
        let e = out.recovery_failure.clone().unwrap_or_default();
        trace(&mut out, format!("recovery FAILED: {e}"));
        out.violation.get_or_insert(format!("recovery failed: {e}"));
        return out;
    };
    let state = match catch_unwind(AssertUnwindSafe(|| read_all(&*engine))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            out.recovery_failure = Some(format!("read after recovery: {e}"));
            out.violation
                .get_or_insert(format!("read after recovery failed: {e}"));
            return out;
        }
        Err(_) => {
            out.recovery_failure = Some("read after recovery panicked".into());
            out.violation
                .get_or_insert("read after recovery panicked".into());
            return out;
        }
    };

    let max_lost = spec.policy.max_lost_writes();
    let mut lost_acks: Vec<u64> = Vec::new();
    for (k, observed) in &state {
        let key_ops: Vec<(usize, &Op)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.key == *k)
            .collect();
        // Which operation does the observed state correspond to (latest candidate)?
        let candidate: Option<isize> = match observed {
            Some(v) => match parse_value(*k, v) {
                Some(ver) => key_ops
                    .iter()
                    .find(|(_, o)| o.version == Some(ver))
                    .map(|(i, _)| *i as isize),
                None => None,
            },
            None => Some(
                key_ops
                    .iter()
                    .filter(|(_, o)| o.version.is_none())
                    .map(|(i, _)| *i as isize)
                    .max()
                    .unwrap_or(-1),
            ),
        };
        let Some(c) = candidate else {
            out.corrupt_reads += 1;
            trace(
                &mut out,
                format!(
                    "k{k}: read a value never written: {:?}",
                    observed
                        .as_ref()
                        .map(|v| String::from_utf8_lossy(v).into_owned())
                ),
            );
            out.violation
                .get_or_insert(format!("k{k}: read a value never written"));
            continue;
        };
        for (i, o) in &key_ops {
            if (*i as isize) > c {
                if let Some(a) = o.ack {
                    lost_acks.push(a);
                    if o.version.is_none() && observed.is_some() {
                        out.resurrected += 1;
                    }
                    trace(
                        &mut out,
                        format!(
                            "k{k}: acknowledged op {i} (ack #{a}) lost; observed {}",
                            if c < 0 {
                                "nothing".to_string()
                            } else {
                                format!("op {c}")
                            }
                        ),
                    );
                }
            }
        }
    }
    out.lost = lost_acks.len() as u64;
    if out.lost > 0 {
        out.cause = Some(if out.files_lost > 0 {
            LossCause::DirEntryNeverSynced
        } else if truncates > 0 {
            LossCause::TruncateReverted
        } else {
            LossCause::DataNeverSynced
        });
        let broken = match max_lost {
            None => false,
            Some(0) => true,
            Some(n) => lost_acks.iter().any(|&a| a + n < acked),
        };
        if broken {
            out.violation.get_or_insert(format!(
                "{} acknowledged writes lost under {} (promise: at most the last {})",
                out.lost,
                spec.policy,
                max_lost.unwrap_or(0)
            ));
        }
    }
    let _ = engine.close();
    out
}

fn rng_pad(seed: u64, i: u64) -> usize {
    (CrashRng::new(seed ^ i.wrapping_mul(0x9E37)).next_u64() % 60) as usize
}

/// One line of the crash table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashSummary {
    /// Engine.
    pub engine: String,
    /// Policy text.
    pub policy: String,
    /// `posix` or `linux`.
    pub profile: String,
    /// Trials.
    pub trials: u64,
    /// Acknowledged writes over all trials.
    pub acked_writes: u64,
    /// Trials that lost an acknowledged write.
    pub trials_with_loss: u64,
    /// Acknowledged writes lost.
    pub lost_writes: u64,
    /// Files lost.
    pub files_lost: u64,
    /// Reads of values never written.
    pub corrupt_reads: u64,
    /// Acknowledged deletes undone.
    pub resurrected_deletes: u64,
    /// Failed recoveries.
    pub recovery_failures: u64,
    /// Seed of the first trial that broke a promise.
    pub first_failing_seed: Option<u64>,
    /// The first broken promise, described.
    pub first_violation: Option<String>,
    /// Trials with loss, by cause.
    pub causes: BTreeMap<&'static str, u64>,
}

impl CrashSummary {
    /// Whether every promise held.
    pub fn promise_kept(&self) -> bool {
        self.first_failing_seed.is_none()
    }
}

/// The seed of trial `i` of a table line.
pub fn trial_seed(
    base: u64,
    info: &EngineInfo,
    policy: &SyncPolicy,
    profile: Profile,
    i: u64,
) -> u64 {
    let mut h: u64 = base ^ 0xCBF2_9CE4_8422_2325;
    for b in info
        .name
        .bytes()
        .chain(policy.to_string().bytes())
        .chain(profile.name().bytes())
    {
        h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3);
    }
    h ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs `trials` trials of one table line.
pub fn run_line(
    info: &'static EngineInfo,
    policy: SyncPolicy,
    profile: Profile,
    trials: u64,
    base_seed: u64,
    ops: u64,
) -> CrashSummary {
    let mut s = CrashSummary {
        engine: info.name.to_string(),
        policy: policy.to_string(),
        profile: profile.name().to_string(),
        ..CrashSummary::default()
    };
    for i in 0..trials {
        let seed = trial_seed(base_seed, info, &policy, profile, i);
        let spec = TrialSpec {
            engine: info,
            policy,
            profile,
            seed,
            ops,
            broken_sync: false,
            faults: Faults::default(),
        };
        let o = run_trial(&spec, false);
        s.add(&o, seed);
    }
    s
}

impl CrashSummary {
    /// Adds one trial's outcome.
    pub fn add(&mut self, o: &TrialOutcome, seed: u64) {
        self.trials += 1;
        self.acked_writes += o.acked;
        self.lost_writes += o.lost;
        self.trials_with_loss += u64::from(o.lost > 0);
        self.files_lost += o.files_lost;
        self.corrupt_reads += o.corrupt_reads;
        self.resurrected_deletes += o.resurrected;
        self.recovery_failures += u64::from(o.recovery_failure.is_some());
        if let Some(c) = o.cause {
            *self.causes.entry(c.label()).or_default() += 1;
        }
        if o.violation.is_some() && self.first_failing_seed.is_none() {
            self.first_failing_seed = Some(seed);
            self.first_violation = o.violation.clone();
        }
    }
}

/// Whether `policy` promises that acknowledged writes survive power loss.
pub fn promises_durability(policy: &SyncPolicy) -> bool {
    !matches!(policy.mode, SyncMode::None)
}

/// A path inside the simulated filesystem (for messages).
pub fn sim_root() -> PathBuf {
    PathBuf::from("/db")
}
