//! The trial driver: one seeded workload on [`SimFs`], a power cut with a
//! profile and crash mode, recovery through the engine's own `open`, and
//! the history check.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use engines::fs::{CrashMode, CrashReport, CrashRng, Faults, Profile, SimFs, Vfs};
use engines::{Engine, EngineConfig, EngineInfo, Error, SyncPolicy};

use crate::history::{check_history, scan_disagrees, Op, Pin};
use crate::nosync::NoSyncFs;
use crate::workload::{
    key_bytes, open_guarded, read_all, rng_pad, trial_config, value_bytes, KEYS,
};

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
    /// A removal was undone: the removed file came back (a rollback
    /// journal whose unlink was the commit).
    RemoveReverted,
    /// A truncation was undone.
    TruncateReverted,
    /// The data itself was never synced.
    DataNeverSynced,
}

impl LossCause {
    /// The cause of a trial's losses from what its crashes did, the most
    /// specific first: a lost file, a removed file back, a truncation
    /// undone, else data never synced.
    pub fn of(files_lost: u64, removes_reverted: u64, truncates_reverted: u64) -> LossCause {
        if files_lost > 0 {
            LossCause::DirEntryNeverSynced
        } else if removes_reverted > 0 {
            LossCause::RemoveReverted
        } else if truncates_reverted > 0 {
            LossCause::TruncateReverted
        } else {
            LossCause::DataNeverSynced
        }
    }

    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            LossCause::DirEntryNeverSynced => "directory entry never synced",
            LossCause::RemoveReverted => "removal never synced",
            LossCause::TruncateReverted => "truncate reverted",
            LossCause::DataNeverSynced => "data never synced",
        }
    }
}

/// Why a trial's losses are allowed (decided by [`crate::classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedLoss {
    /// The policy has no `+dir`, and with durable names nothing was lost
    /// beyond the promise.
    NoDirSync,
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
    /// Why the losses are allowed, when [`crate::classify`] excused them.
    pub expected: Option<ExpectedLoss>,
    /// The broken-looking promise that was excused, described.
    pub excused: Option<String>,
    /// Operation trace (when asked for).
    pub trace: Vec<String>,
}

/// The state of one trial as it goes through its epochs.
pub(crate) struct Trial<'a> {
    pub(crate) spec: &'a TrialSpec,
    pub(crate) want_trace: bool,
    pub(crate) rng: CrashRng,
    pub(crate) out: TrialOutcome,
    pub(crate) ops: Vec<Op>,
    /// Acknowledged writes so far (all epochs).
    pub(crate) acked: u64,
    /// Next version number (unique over the trial).
    pub(crate) next_version: u64,
    pub(crate) sync_failed: bool,
    /// Truncates reverted by the crashes so far.
    pub(crate) truncates: u64,
    /// Removals reverted by the crashes so far.
    pub(crate) removes: u64,
}

impl<'a> Trial<'a> {
    pub(crate) fn new(spec: &'a TrialSpec, want_trace: bool) -> Self {
        Trial {
            spec,
            want_trace,
            rng: CrashRng::new(spec.seed),
            out: TrialOutcome::default(),
            ops: Vec::new(),
            acked: 0,
            next_version: 0,
            sync_failed: false,
            truncates: 0,
            removes: 0,
        }
    }

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
    /// too, which takes `+dir` unless a file sync commits every earlier
    /// name (`linux`, `xfs`, `ext4-journal`; not `posix`, nor `btrfs`,
    /// whose fsync commits only the synced file's own names).
    fn explicit_sync_promises(&self) -> bool {
        self.spec.policy.dir_sync || self.spec.profile.rules().file_sync_commits_all_names()
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
    pub(crate) fn crash(&mut self, sim: &SimFs) -> SimFs {
        let mode = CrashMode::ALL[self.rng.upto(3) as usize];
        let (crashed, report) = sim.crash(self.rng.next_u64(), mode);
        self.trace(format!(
            "crash ({mode:?}): {} unsynced writes dropped, files lost {:?}, truncates reverted {}",
            report.writes_dropped, report.files_lost, report.truncates_reverted
        ));
        if self.want_trace {
            self.out.trace.extend(crash_lines(&report));
        }
        self.out.files_lost += report.files_lost.len() as u64;
        self.truncates += report.truncates_reverted;
        self.removes += report.removes_reverted;
        crashed
    }

    /// Recovers from `crashed`, sometimes crashing once more during the
    /// recovery (right after one of its syncs, chosen from a dry run, or at
    /// its end), then recovering again. `None` when recovery failed.
    pub(crate) fn recover(&mut self, crashed: SimFs) -> Option<(Box<dyn Engine>, SimFs)> {
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
    pub(crate) fn check(&mut self, engine: &dyn Engine) -> Option<BTreeMap<u64, Option<Vec<u8>>>> {
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
            self.out.cause = Some(LossCause::of(
                self.out.files_lost,
                self.removes,
                self.truncates,
            ));
        }
        if let Some(v) = c.violation {
            self.violation(v.replace("{policy}", &self.spec.policy.to_string()));
        }
        (c.corrupt_reads == 0).then_some(state)
    }

    /// Starts a new epoch from the state a recovery returned
    /// ([`crate::history::rebase`]).
    fn rebase(&mut self, state: &BTreeMap<u64, Option<Vec<u8>>>) {
        let durable = self.spec.policy.max_lost_writes().is_some();
        crate::history::rebase(&mut self.ops, state, durable);
    }
}

/// The trace lines under a crash: each pending operation the crash kept
/// or dropped, by operation number (`      kept: #12 write /db/x @0 +137`,
/// `      dropped: #13 fsync ...`), indented like filesystem calls.
pub fn crash_lines(report: &CrashReport) -> Vec<String> {
    let kept = report.kept.iter().map(|k| format!("      kept: {k}"));
    let dropped = report.dropped.iter().map(|d| format!("      dropped: {d}"));
    let mut lines: Vec<String> = kept.chain(dropped).collect();
    if lines.is_empty() {
        lines.push("      (nothing was pending: the crash kept exactly the durable state)".into());
    }
    lines
}

/// Runs one trial: one or two epochs of workload, crash and recovery (a
/// third of the trials continue writing on the recovered engine, crash and
/// recover again), each recovery sometimes crashed itself.
pub fn run_trial(spec: &TrialSpec, want_trace: bool) -> TrialOutcome {
    let mut t = Trial::new(spec, want_trace);
    let sim = SimFs::new(spec.profile);
    if want_trace {
        sim.record_events();
    }
    let vfs = engine_vfs(&sim, spec.broken_sync);
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

/// The filesystem the engine under test writes to: `sim`, or `sim` behind
/// [`NoSyncFs`] when the trial tests the checker itself.
pub(crate) fn engine_vfs(sim: &SimFs, broken_sync: bool) -> Arc<dyn Vfs> {
    let base: Arc<dyn Vfs> = Arc::new(sim.clone());
    if broken_sync {
        Arc::new(NoSyncFs(base))
    } else {
        base
    }
}
