//! Exhaustive small scopes: every workload of `depth` steps over two keys,
//! a power cut at every simulator operation boundary of each, into every
//! state the profile allows there (CrashMonkey/ACE's bounded check, on
//! [`SimFs`]). Random trials find bugs; this proves their absence within
//! the scope.
//!
//! The steps ([`Step`]): a put (of a new key or an overwrite, by history),
//! a delete, an explicit `Engine::sync`, a forced maintenance step
//! (`Engine::maintain`: the wal's rotation, bitcask's and loghash's merge,
//! lsm's flush and compaction, btree's checkpoint), a close and reopen, and
//! two puts racing: a second writer arrives while the first one's sync runs
//! ([`crate::race`]), the only window in which group commit can go wrong.
//!
//! Each workload runs once on a [`SimFs`] that keeps a [`CrashImage`] at
//! every operation boundary (write, truncate, reservation, name operation,
//! sync). At each, [`CrashImage::space`] lists every post-crash state (per
//! file: each prefix of its unsynced operations and each sector tear of the
//! next write; names: as the profile allows; across files and directories:
//! every combination), drawing a seeded sample of
//! [`STATES_PER_POINT`] when there are more (counted in
//! [`ExhaustiveLine::sampled_points`]). Each state is recovered through the
//! engine's own `open`, every key read back, and checked against the
//! history as of the crash instant by the same checker as the seeded
//! trials ([`crate::history`]): an operation is acknowledged at the instant
//! if it returned before it, in flight if it had started.
//!
//! Two reductions, neither skipping a state:
//!
//! - only workloads of exactly `depth` steps run: a shorter workload is a
//!   prefix of a longer one, and every crash instant of it (with the same
//!   image and the same acknowledgements) is a crash instant of the longer
//!   run;
//! - a recovery is memoised by the durable image it starts from (names and
//!   contents): states that leave the same bytes recover alike, and only
//!   the history check differs per state.
//!
//! The table line: `trials` counts workloads, `states_checked` states, and
//! the loss columns count states.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use engines::fs::{CrashChoice, CrashImage, CrashReport, Profile, SimFs, Vfs};
use engines::{Engine, EngineInfo, Error, SyncPolicy};
use results::CrashRow;

use crate::history::{check_history, scan_disagrees, Op, Pin};
use crate::line::LineTally;
use crate::race::{Race, RaceFs};
use crate::trial::ExpectedLoss;
use crate::trial::{LossCause, TrialOutcome};
use crate::workload::{key_bytes, open_guarded, read_all, trial_config, value_bytes};

/// Steps per workload unless `--depth` says.
pub const DEFAULT_DEPTH: usize = 2;

/// States checked at one crash instant before they are sampled.
pub const STATES_PER_POINT: usize = 1024;

/// Value padding: records of about 160 bytes, so the fourth record of a
/// log straddles a 512-byte sector (and can tear) while an entry still fits
/// a 512-byte btree page (at most 164 bytes with its overhead).
const PAD: usize = 130;

/// One step of an exhaustive workload (keys 0 and 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A new version of the key: a new key or an overwrite.
    Put(u64),
    /// A delete of the key (written or not).
    Delete(u64),
    /// An explicit `Engine::sync`.
    Sync,
    /// `Engine::maintain`: the engine's flush, compaction, merge,
    /// checkpoint or rotation, now.
    Maintain,
    /// `Engine::close`, then the engine's `open` on the same files.
    Reopen,
    /// A put of key 0, and a put of key 1 by a second writer that arrives
    /// while the first one's sync runs (or after it, where none syncs).
    RacingPuts,
}

impl Step {
    /// Every step, in enumeration order.
    pub const ALL: [Step; 8] = [
        Step::Put(0),
        Step::Put(1),
        Step::Delete(0),
        Step::Delete(1),
        Step::Sync,
        Step::Maintain,
        Step::Reopen,
        Step::RacingPuts,
    ];
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Put(k) => write!(f, "put k{k}"),
            Step::Delete(k) => write!(f, "delete k{k}"),
            Step::Sync => f.write_str("sync"),
            Step::Maintain => f.write_str("maintain"),
            Step::Reopen => f.write_str("reopen"),
            Step::RacingPuts => f.write_str("put k0 racing put k1"),
        }
    }
}

/// Every workload of exactly `depth` steps (shorter ones are prefixes of
/// these: see the module doc), in a fixed order.
pub fn workloads(depth: usize) -> Vec<Vec<Step>> {
    let mut out: Vec<Vec<Step>> = vec![Vec::new()];
    for _ in 0..depth {
        out = out
            .into_iter()
            .flat_map(|w| {
                Step::ALL.iter().map(move |s| {
                    let mut w = w.clone();
                    w.push(*s);
                    w
                })
            })
            .collect();
    }
    out
}

/// Wraps the filesystem the engine writes to (tests of the checker plant
/// broken variants this way; the CLI never sets one).
pub type VfsWrap = fn(Arc<dyn Vfs>) -> Arc<dyn Vfs>;

/// One exhaustive table line: an engine, a policy, a profile, a depth.
#[derive(Debug, Clone, Copy)]
pub struct ExhaustiveSpec {
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its policy.
    pub policy: SyncPolicy,
    /// Filesystem profile.
    pub profile: Profile,
    /// Steps per workload.
    pub depth: usize,
    /// States checked at one crash instant before they are sampled.
    pub states_per_point: usize,
    /// Seed of the samples.
    pub seed: u64,
    /// A wrapper around the engine's filesystem (testing the checker).
    pub wrap: Option<VfsWrap>,
}

impl ExhaustiveSpec {
    /// A line with the default bound and seed.
    pub fn new(
        engine: &'static EngineInfo,
        policy: SyncPolicy,
        profile: Profile,
        depth: usize,
    ) -> Self {
        ExhaustiveSpec {
            engine,
            policy,
            profile,
            depth,
            states_per_point: STATES_PER_POINT,
            seed: 1,
            wrap: None,
        }
    }
}

/// What one exhaustive line checked and found.
#[derive(Debug, Clone)]
pub struct ExhaustiveLine {
    /// The table row (`trials`: workloads; `states_checked`, `violations`).
    pub row: CrashRow,
    /// Workloads run.
    pub workloads: u64,
    /// Crash instants (operation boundaries) over all workloads.
    pub crash_points: u64,
    /// Post-crash states checked.
    pub states: u64,
    /// Distinct durable images recovered (the rest were memoised).
    pub recoveries: u64,
    /// Crash instants with more than the bound of states, sampled.
    pub sampled_points: u64,
    /// States that broke a promise (and workloads whose run itself failed).
    pub violations: u64,
    /// Wall time of the line.
    pub wall: Duration,
}

/// One write of a workload run.
#[derive(Debug)]
struct Write {
    key: u64,
    /// `None` for a delete.
    version: Option<u64>,
    /// Boundaries before it started and when it returned.
    begin: u64,
    end: u64,
    ok: bool,
}

/// A workload run: its writes, the boundaries at which explicit syncs
/// returned `Ok`, the crash images, and the first error.
#[derive(Debug, Default)]
struct Run {
    writes: Vec<Write>,
    syncs: Vec<u64>,
    images: Vec<CrashImage>,
    error: Option<String>,
}

/// What a recovery from one durable image returned.
#[derive(Debug, Clone)]
enum Recovered {
    State(BTreeMap<u64, Option<Vec<u8>>>),
    Failed(String),
    ScanDisagrees(String),
}

fn guarded<T>(f: impl FnOnce() -> engines::Result<T>) -> engines::Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::InvalidConfig("the engine panicked".into())))
}

fn write(engine: &dyn Engine, key: u64, version: Option<u64>) -> engines::Result<()> {
    guarded(|| match version {
        Some(v) => engine.put(&key_bytes(key), &value_bytes(key, v, PAD)),
        None => engine.delete(&key_bytes(key)),
    })
}

/// The checker of one line.
struct Checker {
    spec: ExhaustiveSpec,
    memo: HashMap<u64, Recovered>,
    tally: LineTally,
    line: ExhaustiveLine,
}

/// Runs one exhaustive line.
pub fn run_exhaustive(spec: &ExhaustiveSpec) -> ExhaustiveLine {
    let started = Instant::now();
    let mut c = Checker {
        spec: *spec,
        memo: HashMap::new(),
        tally: LineTally::new(spec.engine.name, &spec.policy, spec.profile.name()),
        line: ExhaustiveLine {
            row: CrashRow::default(),
            workloads: 0,
            crash_points: 0,
            states: 0,
            recoveries: 0,
            sampled_points: 0,
            violations: 0,
            wall: Duration::ZERO,
        },
    };
    for (i, w) in workloads(spec.depth).iter().enumerate() {
        c.workload(i as u64, w);
    }
    let mut row = c.tally.finish();
    row.trials = c.line.workloads;
    row.states_checked = Some(c.line.states);
    row.violations = Some(c.line.violations);
    // No seed replays an exhaustive state: its description is in
    // `first_violation`.
    row.first_failing_seed = None;
    c.line.row = row;
    c.line.wall = started.elapsed();
    c.line
}

impl Checker {
    fn workload(&mut self, index: u64, steps: &[Step]) {
        self.line.workloads += 1;
        let run = drive(&self.spec, steps);
        let what = steps
            .iter()
            .map(Step::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        if let Some(e) = &run.error {
            self.line.violations += 1;
            let o = TrialOutcome {
                violation: Some(format!("{e} [workload #{index}: {what}]")),
                ..TrialOutcome::default()
            };
            self.tally.add(&o, index);
        }
        let last = run.images.last().map_or(0, CrashImage::boundary);
        for img in &run.images {
            self.crash_point(index, &what, last, &run, img);
        }
    }

    /// Whether a successful `Engine::sync` promises every acknowledged
    /// write durable: file names must be durable too (`+dir`, or `linux`).
    fn explicit_sync_promises(&self) -> bool {
        self.spec.policy.dir_sync || self.spec.profile.rules().file_sync_commits_all_names()
    }

    /// The history as of a crash right after boundary `k`: operations that
    /// had started, acknowledged if they had returned, pinned by an
    /// explicit sync that had returned (under `none` only at its own
    /// instant: later unsynced maintenance may rewrite what it synced).
    fn history_at(&self, run: &Run, k: u64) -> (Vec<Op>, u64) {
        let mut acked: Vec<(u64, usize)> = run
            .writes
            .iter()
            .enumerate()
            .filter(|(_, w)| w.ok && w.end <= k)
            .map(|(i, w)| (w.end, i))
            .collect();
        acked.sort_unstable();
        let ack_of: HashMap<usize, u64> = acked
            .iter()
            .enumerate()
            .map(|(n, (_, i))| (*i, n as u64))
            .collect();
        let pinned_upto = if self.explicit_sync_promises() {
            run.syncs
                .iter()
                .copied()
                .filter(|s| *s <= k && (self.spec.policy.syncs_data() || *s == k))
                .max()
        } else {
            None
        };
        let ops = run
            .writes
            .iter()
            .enumerate()
            .filter(|(_, w)| w.begin < k)
            .map(|(i, w)| Op {
                key: w.key,
                version: w.version,
                ack: ack_of.get(&i).copied(),
                pin: pinned_upto
                    .filter(|s| w.ok && w.end <= *s)
                    .map(|_| Pin::ExplicitSync),
            })
            .collect();
        (ops, acked.len() as u64)
    }

    fn crash_point(&mut self, index: u64, what: &str, last: u64, run: &Run, img: &CrashImage) {
        self.line.crash_points += 1;
        let k = img.boundary();
        let (ops, acked) = self.history_at(run, k);
        let space = img.space(self.spec.states_per_point, self.spec.seed ^ index);
        if space.sampled {
            self.line.sampled_points += 1;
        }
        for choice in &space.choices {
            self.line.states += 1;
            let mut o = self.state(img, choice, &ops, acked);
            if let Some(v) = o.violation.take() {
                self.line.violations += 1;
                let sample = if space.sampled {
                    format!(", sampled from {} states", space.total)
                } else {
                    String::new()
                };
                o.violation = Some(format!(
                    "{v} [workload #{index}: {what}; power cut after fs op {k} of {last}{sample}; {}]",
                    img.describe(choice)
                ));
            }
            self.tally.add(&o, index);
        }
    }

    /// Checks one post-crash state; under a policy without `+dir` on
    /// `posix`, losses that the same state with durable names does not
    /// show are the policy's expected loss ([`crate::classify`]).
    fn state(
        &mut self,
        img: &CrashImage,
        choice: &CrashChoice,
        ops: &[Op],
        acked: u64,
    ) -> TrialOutcome {
        let (fs, report) = img.build(choice);
        let mut o = self.check(fs, &report, ops, acked);
        let only_losses = o.violation.is_some()
            && o.lost > 0
            && o.corrupt_reads == 0
            && o.recovery_failure.is_none();
        if only_losses
            && !self.spec.policy.dir_sync
            && !self.spec.profile.rules().file_sync_commits_all_names()
        {
            let (named, report) = img.build(&img.with_durable_names(choice));
            if self.check(named, &report, ops, acked).violation.is_none() {
                o.excused = o.violation.take();
                o.expected = Some(ExpectedLoss::NoDirSync);
            }
        }
        o
    }

    fn check(&mut self, fs: SimFs, report: &CrashReport, ops: &[Op], acked: u64) -> TrialOutcome {
        let mut o = TrialOutcome {
            acked,
            files_lost: report.files_lost.len() as u64,
            ..TrialOutcome::default()
        };
        match self.recover(fs) {
            Recovered::Failed(e) => {
                o.violation = Some(format!("recovery failed: {e}"));
                o.recovery_failure = Some(e);
            }
            Recovered::ScanDisagrees(e) => {
                o.corrupt_reads = 1;
                o.violation = Some(format!("scan after recovery: {e}"));
            }
            Recovered::State(state) => {
                let c = check_history(ops, &state, acked, self.spec.policy.max_lost_writes());
                o.lost = c.lost;
                o.corrupt_reads = c.corrupt_reads;
                o.resurrected = c.resurrected;
                o.violation = c
                    .violation
                    .map(|v| v.replace("{policy}", &self.spec.policy.to_string()));
                if c.lost > 0 {
                    o.cause = Some(LossCause::of(
                        o.files_lost,
                        report.removes_reverted,
                        report.truncates_reverted,
                    ));
                }
            }
        }
        o
    }

    /// Recovers from `fs` through the engine's own `open` and reads every
    /// key, once per distinct durable image.
    fn recover(&mut self, fs: SimFs) -> Recovered {
        let digest = fs.durable_digest();
        if let Some(r) = self.memo.get(&digest) {
            return r.clone();
        }
        self.line.recoveries += 1;
        let r = match open_guarded(
            self.spec.engine,
            trial_config(Arc::new(fs), self.spec.policy),
        ) {
            Err(e) => Recovered::Failed(e),
            Ok(engine) => match guarded(|| read_all(&*engine)) {
                Err(e) => Recovered::Failed(format!("read after recovery: {e}")),
                Ok(state) => match scan_disagrees(&*engine, &state) {
                    Some(what) => Recovered::ScanDisagrees(what),
                    None => Recovered::State(state),
                },
            },
        };
        self.memo.insert(digest, r.clone());
        r
    }
}

/// Runs `steps` on a fresh simulated filesystem that keeps a crash image at
/// every operation boundary.
fn drive(spec: &ExhaustiveSpec, steps: &[Step]) -> Run {
    let sim = SimFs::new(spec.profile);
    let race = Arc::new(Race::default());
    let base: Arc<dyn Vfs> = Arc::new(sim.clone());
    let base = spec.wrap.map_or(base.clone(), |w| w(base));
    let vfs: Arc<dyn Vfs> = Arc::new(RaceFs::new(base, race.clone()));
    let open = || open_guarded(spec.engine, trial_config(vfs.clone(), spec.policy));
    sim.capture_crash_points();
    let mut run = Run::default();
    let mut engine = match open() {
        Ok(e) => Some(e),
        Err(e) => {
            run.error = Some(format!("first open failed: {e}"));
            None
        }
    };
    let mut version = 0;
    for step in steps {
        if *step == Step::Reopen {
            let Some(old) = engine.take() else {
                break;
            };
            let closed = guarded(|| old.close());
            drop(old);
            let reopened = closed.and_then(|()| {
                open().map_err(|why| Error::InvalidConfig(format!("reopen failed: {why}")))
            });
            match reopened {
                Ok(e) => engine = Some(e),
                Err(why) => {
                    run.error = Some(format!("{step} failed: {why}"));
                    break;
                }
            }
            continue;
        }
        let Some(e) = engine.as_deref() else {
            break;
        };
        let begin = sim.boundaries();
        let result = match *step {
            Step::Put(k) | Step::Delete(k) => {
                version += 1;
                let v = matches!(step, Step::Put(_)).then_some(version);
                let r = write(e, k, v);
                run.writes.push(Write {
                    key: k,
                    version: v,
                    begin,
                    end: sim.boundaries(),
                    ok: r.is_ok(),
                });
                r
            }
            Step::Sync => {
                let r = guarded(|| e.sync());
                if r.is_ok() {
                    run.syncs.push(sim.boundaries());
                }
                r
            }
            Step::Maintain => guarded(|| e.maintain()),
            Step::Reopen => Ok(()), // done above: it replaces the engine
            Step::RacingPuts => {
                version += 2;
                let (first, second) = racing_puts(e, &sim, &race, version - 1, version);
                for (key, v, (r, end)) in [(0, version - 1, &first), (1, version, &second)] {
                    run.writes.push(Write {
                        key,
                        version: Some(v),
                        begin,
                        end: *end,
                        ok: r.is_ok(),
                    });
                }
                first.0.and(second.0)
            }
        };
        if let Err(why) = result {
            run.error = Some(format!("{step} failed: {why}"));
            break;
        }
    }
    run.images = sim.take_crash_points();
    drop(engine);
    run
}

/// A put of key 0 by this thread and of key 1 by a second writer released
/// by the first file sync (see [`crate::race`]); each result with the
/// boundary at which it returned.
fn racing_puts(
    engine: &dyn Engine,
    sim: &SimFs,
    race: &Race,
    v0: u64,
    v1: u64,
) -> ((engines::Result<()>, u64), (engines::Result<()>, u64)) {
    std::thread::scope(|s| {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let second = s.spawn(move || {
            if go_rx.recv().is_err() {
                return (
                    Err(Error::InvalidConfig(
                        "the second writer never started".into(),
                    )),
                    sim.boundaries(),
                );
            }
            let _ = done_tx.send(()); // started
            let r = write(engine, 1, Some(v1));
            let end = sim.boundaries();
            let _ = done_tx.send(()); // returned
            (r, end)
        });
        race.arm(go_tx, done_rx);
        let r = write(engine, 0, Some(v0));
        let first = (r, sim.boundaries());
        race.disarm();
        let second = second.join().unwrap_or_else(|_| {
            (
                Err(Error::InvalidConfig("the second writer panicked".into())),
                sim.boundaries(),
            )
        });
        (first, second)
    })
}
