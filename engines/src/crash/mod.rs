//! The crash checker: drive an engine on [`SimFs`], crash, recover through
//! the same engine code, and check what the policy promised.
//!
//! A trial writes a seeded workload of puts, deletes and now and then an
//! explicit [`Engine::sync`] over a small key space; every value names its
//! key and version (`k7:v42:....`), so a read tells exactly which write it
//! returns. The crash happens either after the workload or right after a
//! random sync point (the image is frozen at that sync: a two-pass crash
//! without running twice), with a random [`CrashMode`] (durable state only,
//! a prefix in time, a prefix with a torn sector, per-file subsets).
//! Recovery is the engine's own `open`; a quarter of the recoveries are
//! crashed themselves, right after one of their own syncs (counted in a
//! dry run) or at their end, and recovered again. A third of the trials
//! then keep writing on the recovered engine, crash and recover a second
//! time. After each recovery every key is read back (by `get`, or by
//! folding [`Engine::replay`] for engines without point reads; a full
//! `scan` must agree with `get`) and checked:
//!
//! - recovery succeeds (no error, no panic);
//! - no read returns a value never written for that key (corrupt read);
//! - acknowledged writes survive as the policy promises: all of them under
//!   `always` and `group`; all but at most the last N-1 under `batch:N`;
//!   under `none` losses are counted, not failed;
//! - every write acknowledged before a successful `Engine::sync` survives,
//!   whatever the policy, wherever file names are durable (`+dir`, or the
//!   `linux` profile); under `none` this is checked by crashing right after
//!   the sync, since later unsynced maintenance may legitimately rewrite it;
//! - the state a recovery returned survives the next crash (policies other
//!   than `none`);
//! - a deleted key whose delete was acknowledged does not come back
//!   (counted separately as a resurrected delete);
//! - with an injected sync failure (file or directory), nothing is
//!   acknowledged after it, and no later `Engine::sync` succeeds.
//!
//! Each trial with losses is labelled by cause: a directory entry never
//! synced (a file with synced data vanished), a truncate reverted, or data
//! never synced. [`run_concurrent_trial`] runs several writers at once on
//! slow syncs, for group commit. Traces ([`run_trial`] with `want_trace`)
//! list every operation with the filesystem calls it made.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::engine::{Engine, EngineConfig};
use crate::fs::sim::CrashRng;
use crate::fs::{CrashMode, Faults, FileHandle, FileLayer, Profile, SimFs, VFile, Vfs, VfsLayer};
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

impl VfsLayer for NoSyncFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.0
    }
    fn wrap(&self, file: FileHandle) -> FileHandle {
        Arc::new(NoSyncFile(file))
    }
    fn sync_dir(&self, _: &Path) -> Result<()> {
        Ok(())
    }
}

impl FileLayer for NoSyncFile {
    fn inner(&self) -> &dyn VFile {
        &*self.0
    }
    fn sync_data(&self) -> Result<()> {
        Ok(())
    }
    fn sync_all(&self) -> Result<()> {
        Ok(())
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

/// Why an operation must survive whatever the policy's own promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pin {
    /// A later `Engine::sync` returned `Ok` before the crash.
    ExplicitSync,
    /// A previous recovery returned this state (it was durable then).
    Recovered,
}

#[derive(Debug, Clone)]
struct Op {
    key: u64,
    /// `None` for a delete.
    version: Option<u64>,
    /// Position among acknowledged writes (0-based), if acknowledged.
    ack: Option<u64>,
    /// Set when the operation must survive regardless of `ack`.
    pin: Option<Pin>,
}

/// The state of one trial as it goes through its epochs.
struct Trial<'a> {
    spec: &'a TrialSpec,
    want_trace: bool,
    rng: CrashRng,
    out: TrialOutcome,
    ops: Vec<Op>,
    /// Acknowledged writes so far (all epochs).
    acked: u64,
    /// Next version number (unique over the trial).
    next_version: u64,
    sync_failed: bool,
    /// Truncates reverted by the crashes so far.
    truncates: u64,
}

impl Trial<'_> {
    fn trace(&mut self, line: String) {
        if self.want_trace {
            self.out.trace.push(line);
        }
    }

    /// Moves the filesystem operations recorded since the last call into
    /// the trace, indented under the operation that caused them.
    fn fs_trace(&mut self, sim: &SimFs) {
        if self.want_trace {
            for e in sim.take_events() {
                self.out.trace.push(format!("      fs: {e}"));
            }
        }
    }

    fn violation(&mut self, what: String) {
        self.out.violation.get_or_insert(what);
    }

    /// Whether a successful `Engine::sync` must make every acknowledged
    /// write durable: the names of the files holding them must be durable
    /// too, which takes `+dir` on `posix` (on `linux` a file sync commits
    /// them).
    fn explicit_sync_promises(&self) -> bool {
        self.spec.policy.dir_sync || self.spec.profile == Profile::Linux
    }

    /// Drives `n` operations (puts, deletes, and now and then an explicit
    /// `sync`), stopping at the crash instant if the image froze.
    fn workload(&mut self, engine: &dyn Engine, sim: &SimFs, n: u64) {
        // Fault trials run to the end: the fault is the point.
        let plain = self.spec.faults == Faults::default();
        if self.rng.upto(1) == 0 && plain {
            let k = 1 + self.rng.upto(n.max(1) * 2);
            sim.freeze_after_sync(sim.syncs() + k);
            self.trace(format!("crash after sync point {k} of this run"));
        }
        for _ in 0..n {
            self.fs_trace(sim);
            if sim.frozen() {
                break;
            }
            let i = self.next_version;
            self.next_version += 1;
            if self.rng.upto(23) == 0 {
                self.explicit_sync(engine, sim, i);
                continue;
            }
            let key = self.rng.upto(KEYS - 1);
            let delete = self.rng.upto(3) == 0;
            let version = (!delete).then_some(i);
            let pad = rng_pad(self.spec.seed, i);
            let r = catch_unwind(AssertUnwindSafe(|| match version {
                Some(v) => engine.put(&key_bytes(key), &value_bytes(key, v, pad)),
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
                    if self.sync_failed {
                        self.violation(format!("op {i} ({what}) acknowledged after a failed sync"));
                    }
                    let a = self.acked;
                    self.trace(format!("op {i}: {what} -> acknowledged #{a}"));
                }
                Ok(()) => self.trace(format!(
                    "op {i}: {what} -> returned after the crash instant"
                )),
                Err(e) => {
                    self.out.failed_writes += 1;
                    if self.spec.faults.fail_sync.is_some()
                        || self.spec.faults.fail_dir_sync.is_some()
                    {
                        self.sync_failed = true;
                    }
                    self.trace(format!("op {i}: {what} -> error: {e}"));
                }
            }
            self.ops.push(Op {
                key,
                version,
                ack: ok.then_some(self.acked),
                pin: None,
            });
            if ok {
                self.acked += 1;
            }
        }
        self.fs_trace(sim);
    }

    fn explicit_sync(&mut self, engine: &dyn Engine, sim: &SimFs, i: u64) {
        let r = catch_unwind(AssertUnwindSafe(|| engine.sync()))
            .unwrap_or_else(|_| Err(Error::InvalidConfig("sync panicked".into())));
        match r {
            Ok(()) if !sim.frozen() => {
                // Under syncing policies what `sync` made durable stays
                // durable (maintenance syncs what it rewrites). Under `none`
                // only "durable now" holds: a later merge may move synced
                // data into files it never syncs. So under `none` the
                // promise is checked by crashing right here, one time in 8.
                let pins = self.explicit_sync_promises()
                    && (self.spec.policy.syncs_data() || self.rng.upto(7) == 0);
                if pins && !self.spec.policy.syncs_data() {
                    sim.freeze_now();
                }
                if pins {
                    for op in self.ops.iter_mut().filter(|o| o.ack.is_some()) {
                        op.pin.get_or_insert(Pin::ExplicitSync);
                    }
                }
                if self.sync_failed {
                    self.violation(format!("op {i} (sync) succeeded after a failed sync"));
                }
                let what = if pins {
                    " (every acknowledged write must now survive)"
                } else if self.explicit_sync_promises() {
                    " (not checked: under none a later merge may undo it)"
                } else {
                    " (promises nothing for files whose names were never synced)"
                };
                self.trace(format!("op {i}: sync -> ok{what}"));
            }
            Ok(()) => self.trace(format!("op {i}: sync -> returned after the crash instant")),
            Err(e) => {
                if self.spec.faults.fail_sync.is_some() || self.spec.faults.fail_dir_sync.is_some()
                {
                    self.sync_failed = true;
                }
                self.trace(format!("op {i}: sync -> error: {e}"));
            }
        }
    }

    /// Crashes `sim`; returns the post-crash filesystem.
    fn crash(&mut self, sim: &SimFs) -> SimFs {
        let mode = CrashMode::ALL[self.rng.upto(3) as usize];
        let (crashed, report) = sim.crash(self.rng.next_u64(), mode);
        self.trace(format!(
            "crash ({mode:?}): {} unsynced writes dropped, files lost {:?}, truncates reverted {}",
            report.writes_dropped, report.files_lost, report.truncates_reverted
        ));
        self.out.files_lost += report.files_lost.len() as u64;
        self.truncates += report.truncates_reverted;
        crashed
    }

    /// Recovers from `crashed`, sometimes crashing once more during the
    /// recovery (right after one of its syncs, chosen from a dry run, or at
    /// its end), then recovering again. `None` when recovery failed.
    fn recover(&mut self, crashed: SimFs) -> Option<(Box<dyn Engine>, SimFs)> {
        let mut crashed = crashed;
        if self.rng.upto(3) == 0 {
            // Dry run on a copy to count the recovery's syncs.
            let (probe, _) = crashed.crash(0, CrashMode::DurableOnly);
            let syncs = match open_guarded(self.spec.engine, self.config(&probe)) {
                Ok(e) => {
                    let n = probe.syncs();
                    drop(e);
                    n
                }
                Err(e) => {
                    self.recovery_failed(e);
                    return None;
                }
            };
            let k = 1 + self.rng.upto(syncs);
            let (copy, _) = crashed.crash(0, CrashMode::DurableOnly);
            if k <= syncs {
                copy.freeze_after_sync(k);
            }
            if self.want_trace {
                copy.record_events();
            }
            match open_guarded(self.spec.engine, self.config(&copy)) {
                Ok(e) => {
                    let at = if k <= syncs {
                        format!("after its sync {k} of {syncs}")
                    } else {
                        format!("at its end ({syncs} syncs)")
                    };
                    self.trace("recovery (to be crashed):".into());
                    self.fs_trace(&copy);
                    self.trace(format!("second crash during recovery, {at}:"));
                    crashed = self.crash(&copy);
                    drop(e);
                    if !self.spec.policy.syncs_data() {
                        // Under `none` an explicit sync promised "durable
                        // now"; recovery's own unsynced rewrites (a merge)
                        // may undo that, like any later maintenance.
                        for op in &mut self.ops {
                            if op.pin == Some(Pin::ExplicitSync) {
                                op.pin = None;
                            }
                        }
                    }
                }
                Err(e) => {
                    self.recovery_failed(e);
                    return None;
                }
            }
        }
        if self.want_trace {
            crashed.record_events();
        }
        match open_guarded(self.spec.engine, self.config(&crashed)) {
            Ok(e) => {
                self.trace("recovery:".into());
                self.fs_trace(&crashed);
                Some((e, crashed))
            }
            Err(e) => {
                self.recovery_failed(e);
                None
            }
        }
    }

    fn recovery_failed(&mut self, e: String) {
        self.trace(format!("recovery FAILED: {e}"));
        self.violation(format!("recovery failed: {e}"));
        self.out.recovery_failure = Some(e);
    }

    fn config(&self, sim: &SimFs) -> EngineConfig {
        trial_config(Arc::new(sim.clone()), self.spec.policy)
    }

    /// Reads every key back and checks it against the history. Returns the
    /// state read, or `None` when reading failed or a read was corrupt.
    fn check(&mut self, engine: &dyn Engine) -> Option<BTreeMap<u64, Option<Vec<u8>>>> {
        let state = match catch_unwind(AssertUnwindSafe(|| read_all(engine))) {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                self.out.recovery_failure = Some(format!("read after recovery: {e}"));
                self.violation(format!("read after recovery failed: {e}"));
                return None;
            }
            Err(_) => {
                self.out.recovery_failure = Some("read after recovery panicked".into());
                self.violation("read after recovery panicked".into());
                return None;
            }
        };
        if let Some(what) = scan_disagrees(engine, &state) {
            self.out.corrupt_reads += 1;
            self.trace(format!("scan after recovery: {what}"));
            self.violation(format!("scan after recovery: {what}"));
            return None;
        }
        let c = check_history(
            &self.ops,
            &state,
            self.acked,
            self.spec.policy.max_lost_writes(),
        );
        for line in c.trace {
            self.trace(line);
        }
        self.out.corrupt_reads += c.corrupt_reads;
        self.out.resurrected += c.resurrected;
        self.out.lost += c.lost;
        if c.lost > 0 && self.out.cause.is_none() {
            self.out.cause = Some(if self.out.files_lost > 0 {
                LossCause::DirEntryNeverSynced
            } else if self.truncates > 0 {
                LossCause::TruncateReverted
            } else {
                LossCause::DataNeverSynced
            });
        }
        if let Some(v) = c.violation {
            self.violation(v.replace("{policy}", &self.spec.policy.to_string()));
        }
        (c.corrupt_reads == 0).then_some(state)
    }

    /// Starts a new epoch from the state a recovery returned: earlier
    /// operations stay known (so their values are not corrupt reads) but
    /// promise nothing more; the recovered state itself must survive the
    /// next crash under every policy that promises durability.
    fn rebase(&mut self, state: &BTreeMap<u64, Option<Vec<u8>>>) {
        for op in &mut self.ops {
            op.ack = None;
            op.pin = None;
        }
        let pin = self
            .spec
            .policy
            .max_lost_writes()
            .is_some()
            .then_some(Pin::Recovered);
        for (k, v) in state {
            self.ops.push(Op {
                key: *k,
                version: v.as_ref().and_then(|v| parse_value(*k, v)),
                ack: None,
                pin,
            });
        }
    }
}

/// What [`check_history`] found.
#[derive(Debug, Default)]
struct HistoryCheck {
    lost: u64,
    corrupt_reads: u64,
    resurrected: u64,
    violation: Option<String>,
    trace: Vec<String>,
}

/// Matches each key's observed state to the latest operation that explains
/// it; every acknowledged or pinned operation after that one was lost.
fn check_history(
    ops: &[Op],
    state: &BTreeMap<u64, Option<Vec<u8>>>,
    acked: u64,
    max_lost: Option<u64>,
) -> HistoryCheck {
    let mut c = HistoryCheck::default();
    for (k, observed) in state {
        let key_ops: Vec<(usize, &Op)> = ops
            .iter()
            .enumerate()
            .filter(|(_, o)| o.key == *k)
            .collect();
        let candidate: Option<isize> = match observed {
            Some(v) => parse_value(*k, v).and_then(|ver| {
                key_ops
                    .iter()
                    .rev()
                    .find(|(_, o)| o.version == Some(ver))
                    .map(|(i, _)| *i as isize)
            }),
            None => Some(
                key_ops
                    .iter()
                    .filter(|(_, o)| o.version.is_none())
                    .map(|(i, _)| *i as isize)
                    .max()
                    .unwrap_or(-1),
            ),
        };
        let Some(cand) = candidate else {
            c.corrupt_reads += 1;
            c.trace.push(format!(
                "k{k}: read a value never written: {:?}",
                observed
                    .as_ref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            ));
            c.violation
                .get_or_insert(format!("k{k}: read a value never written"));
            continue;
        };
        for (i, o) in key_ops.iter().filter(|(i, _)| (*i as isize) > cand) {
            if o.ack.is_none() && o.pin.is_none() {
                continue;
            }
            c.lost += 1;
            if o.version.is_none() && observed.is_some() {
                c.resurrected += 1;
            }
            let seen = if cand < 0 {
                "nothing".to_string()
            } else {
                format!("op #{cand}")
            };
            let what = match o.version {
                Some(v) => format!("put v{v}"),
                None => "delete".to_string(),
            };
            let ack = o.ack.map(|a| format!(" ack #{a}")).unwrap_or_default();
            c.trace
                .push(format!("k{k}: op #{i} ({what}{ack}) lost; observed {seen}"));
            let broken = match (o.pin, o.ack, max_lost) {
                (Some(Pin::ExplicitSync), _, _) => Some("it was acknowledged before a successful Engine::sync".to_string()),
                (Some(Pin::Recovered), _, _) => Some("a previous recovery had returned it".to_string()),
                (None, Some(_), None) => None,
                (None, Some(a), Some(n)) => (a + n < acked)
                    .then(|| format!("{{policy}} promises at most the last {n} acknowledged writes lost, this was ack #{a} of {acked}")),
                (None, None, _) => None,
            };
            if let Some(why) = broken {
                c.violation
                    .get_or_insert(format!("k{k}: {what}{ack} lost, but {why}"));
            }
        }
    }
    c
}

/// For engines with range scans: a full scan must return exactly the live
/// keys `get` returned, with the same values.
fn scan_disagrees(engine: &dyn Engine, state: &BTreeMap<u64, Option<Vec<u8>>>) -> Option<String> {
    if !engine.capabilities().range_scans || !engine.capabilities().point_reads {
        return None;
    }
    let scanned = match catch_unwind(AssertUnwindSafe(|| engine.scan(b"", None, usize::MAX))) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Some(format!("scan failed: {e}")),
        Err(_) => return Some("scan panicked".into()),
    };
    let want: Vec<(Vec<u8>, Vec<u8>)> = state
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (key_bytes(*k), v.clone())))
        .collect();
    if scanned != want {
        let got: Vec<String> = scanned
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        let exp: Vec<String> = want
            .iter()
            .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            .collect();
        return Some(format!(
            "scan returned {got:?}, get says {exp:?} (or values differ)"
        ));
    }
    None
}

/// Runs one trial: one or two epochs of workload, crash and recovery (a
/// third of the trials continue writing on the recovered engine, crash and
/// recover again), each recovery sometimes crashed itself.
pub fn run_trial(spec: &TrialSpec, want_trace: bool) -> TrialOutcome {
    let mut t = Trial {
        spec,
        want_trace,
        rng: CrashRng::new(spec.seed),
        out: TrialOutcome::default(),
        ops: Vec::new(),
        acked: 0,
        next_version: 0,
        sync_failed: false,
        truncates: 0,
    };
    let sim = SimFs::new(spec.profile);
    if want_trace {
        sim.record_events();
    }
    let base: Arc<dyn Vfs> = Arc::new(sim.clone());
    let vfs: Arc<dyn Vfs> = if spec.broken_sync {
        Arc::new(NoSyncFs(base))
    } else {
        base
    };
    let mut engine = match open_guarded(spec.engine, trial_config(vfs, spec.policy)) {
        Ok(e) => e,
        Err(e) => {
            t.out.recovery_failure = Some(format!("first open failed: {e}"));
            t.out.violation = t.out.recovery_failure.clone();
            return t.out;
        }
    };
    sim.set_faults(spec.faults);
    // Fault and broken-sync trials stay in one epoch: the fault is the point.
    let plain = !spec.broken_sync && spec.faults == Faults::default();
    let epochs: u64 = if t.rng.upto(2) == 0 && plain { 2 } else { 1 };
    let mut sim = sim;
    for epoch in 1..=epochs {
        if epochs > 1 {
            t.trace(format!("epoch {epoch} of {epochs}"));
        }
        t.workload(&*engine, &sim, spec.ops.div_ceil(epochs));
        let crashed = t.crash(&sim);
        drop(engine);
        let Some((recovered, fs)) = t.recover(crashed) else {
            break;
        };
        let Some(state) = t.check(&*recovered) else {
            break;
        };
        if t.out.violation.is_some() || epoch == epochs {
            let _ = recovered.close();
            break;
        }
        t.rebase(&state);
        t.sync_failed = false;
        engine = recovered;
        sim = fs;
    }
    t.out.acked = t.acked;
    t.out
}

/// Runs one trial with `threads` writers at once, so that group commit's
/// leader/follower path (and any race between rotation, maintenance and
/// acknowledgement) is exercised. Each thread writes its own keys, so every
/// key's history is in program order; the crash comes right after a random
/// sync or at the end, and the image is checked as in [`run_trial`]. An
/// acknowledgement counts only if `put` returned before the crash instant
/// (it may be missed, never invented). Thread interleaving is not seeded:
/// a failing seed may not fail again on replay. Meant for `always` and
/// `group` (`batch:N` has no single order of acknowledgements across
/// threads).
pub fn run_concurrent_trial(spec: &TrialSpec, threads: u64) -> TrialOutcome {
    let threads = threads.clamp(1, KEYS);
    let mut t = Trial {
        spec,
        want_trace: false,
        rng: CrashRng::new(spec.seed),
        out: TrialOutcome::default(),
        ops: Vec::new(),
        acked: 0,
        next_version: 0,
        sync_failed: false,
        truncates: 0,
    };
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
            t.out.recovery_failure = Some(format!("first open failed: {e}"));
            t.out.violation = t.out.recovery_failure.clone();
            return t.out;
        }
    };
    sim.set_faults(spec.faults);
    // Syncs that take a while: writes racing with a sync are not covered
    // by it, which is what a group-commit leader must get right.
    sim.set_sync_delay(std::time::Duration::from_micros(50 + t.rng.upto(150)));
    if t.rng.upto(3) != 0 {
        sim.freeze_after_sync(sim.syncs() + 1 + t.rng.upto(spec.ops.max(1)));
    }
    let per_thread = spec.ops.div_ceil(threads);
    let acks = std::sync::atomic::AtomicU64::new(0);
    let failed = std::sync::atomic::AtomicU64::new(0);
    let per_thread_ops: Vec<Vec<Op>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                let engine = &*engine;
                let sim = &sim;
                let acks = &acks;
                let failed = &failed;
                scope.spawn(move || {
                    let mut rng = CrashRng::new(spec.seed ^ (th + 1).wrapping_mul(0x9E37_79B9));
                    let keys = (KEYS - th).div_ceil(threads);
                    let mut ops = Vec::new();
                    for i in 0..per_thread {
                        if sim.frozen() {
                            break;
                        }
                        let key = th + threads * rng.upto(keys - 1);
                        let version = (rng.upto(3) != 0).then_some(i * threads + th);
                        let r = catch_unwind(AssertUnwindSafe(|| match version {
                            Some(v) => engine
                                .put(&key_bytes(key), &value_bytes(key, v, rng_pad(spec.seed, v))),
                            None => engine.delete(&key_bytes(key)),
                        }))
                        .unwrap_or_else(|_| Err(Error::InvalidConfig("write panicked".into())));
                        let ok = r.is_ok() && !sim.frozen();
                        if r.is_err() {
                            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let ack =
                            ok.then(|| acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                        ops.push(Op {
                            key,
                            version,
                            ack,
                            pin: None,
                        });
                    }
                    ops
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    t.ops = per_thread_ops.into_iter().flatten().collect();
    t.acked = acks.into_inner();
    t.out.failed_writes = failed.into_inner();
    let crashed = t.crash(&sim);
    drop(engine);
    if let Some((recovered, _)) = t.recover(crashed) {
        if t.check(&*recovered).is_some() {
            let _ = recovered.close();
        }
    }
    t.out.acked = t.acked;
    t.out
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

/// Runs `trials` concurrent trials ([`run_concurrent_trial`], `threads`
/// writers) of one table line; its profile is labelled
/// `<profile> <threads> threads`. Its first failing seed may not fail
/// again on replay (thread interleaving is not seeded).
pub fn run_concurrent_line(
    info: &'static EngineInfo,
    policy: SyncPolicy,
    profile: Profile,
    trials: u64,
    base_seed: u64,
    ops: u64,
    threads: u64,
) -> CrashSummary {
    let mut s = CrashSummary {
        engine: info.name.to_string(),
        policy: policy.to_string(),
        profile: format!("{} {threads} threads", profile.name()),
        ..CrashSummary::default()
    };
    for i in 0..trials {
        let seed = trial_seed(base_seed ^ threads, info, &policy, profile, i);
        let spec = TrialSpec {
            engine: info,
            policy,
            profile,
            seed,
            ops,
            broken_sync: false,
            faults: Faults::default(),
        };
        s.add(&run_concurrent_trial(&spec, threads), seed);
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
