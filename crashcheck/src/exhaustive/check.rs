//! The checker of one exhaustive line ([`Checker`]): for each crash
//! instant of a run, every post-crash state (or a seeded sample), each
//! recovered through the engine's own `open` (memoised by durable image)
//! and checked against the history as of that instant.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use engines::fs::{CrashChoice, CrashImage, CrashReport, SimFs};
use results::CrashRow;

use super::drive::{drive, guarded, Run};
use super::{ExhaustiveLine, ExhaustiveSpec, Step};
use crate::history::{check_history, scan_disagrees, Op, Pin};
use crate::line::LineTally;
use crate::trial::ExpectedLoss;
use crate::trial::{LossCause, TrialOutcome};
use crate::workload::{open_guarded, read_all, trial_config};

/// What a recovery from one durable image returned.
#[derive(Debug, Clone)]
enum Recovered {
    State(BTreeMap<u64, Option<Vec<u8>>>),
    Failed(String),
    ScanDisagrees(String),
}

/// The checker of one line.
pub(super) struct Checker {
    spec: ExhaustiveSpec,
    memo: HashMap<u64, Recovered>,
    tally: LineTally,
    line: ExhaustiveLine,
}

impl Checker {
    /// The checker of the line `spec`, nothing checked yet.
    pub(super) fn new(spec: &ExhaustiveSpec) -> Self {
        Checker {
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
        }
    }

    /// The line, with its table row, timed from `started`.
    pub(super) fn finish(mut self, started: Instant) -> ExhaustiveLine {
        let mut row = self.tally.finish();
        row.trials = self.line.workloads;
        row.states_checked = Some(self.line.states);
        row.violations = Some(self.line.violations);
        // No seed replays an exhaustive state: its description is in
        // `first_violation`.
        row.first_failing_seed = None;
        self.line.row = row;
        self.line.wall = started.elapsed();
        self.line
    }

    pub(super) fn workload(&mut self, index: u64, steps: &[Step]) {
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
