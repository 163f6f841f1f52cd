//! Table lines: many seeded trials of one engine x policy x profile,
//! tallied straight into a [`CrashRow`].

use std::collections::BTreeMap;

use engines::fs::{Faults, Profile};
use engines::{EngineInfo, SyncPolicy};
use results::CrashRow;

use crate::classify::{classify, Verdict};
use crate::concurrent::run_concurrent_trial;
use crate::trial::{run_trial, TrialOutcome, TrialSpec};

/// Adds trial outcomes up into one [`CrashRow`].
#[derive(Debug, Clone)]
pub struct LineTally {
    row: CrashRow,
    causes: BTreeMap<&'static str, u64>,
    promises: bool,
    dir_sync: bool,
}

impl LineTally {
    /// An empty line; `profile` is what the table's `fs` column shows.
    pub fn new(engine: &str, policy: &SyncPolicy, profile: impl Into<String>) -> Self {
        LineTally {
            row: CrashRow {
                engine: engine.to_string(),
                policy: policy.to_string(),
                profile: profile.into(),
                ..CrashRow::default()
            },
            causes: BTreeMap::new(),
            promises: policy.max_lost_writes().is_some(),
            dir_sync: policy.dir_sync,
        }
    }

    /// Adds one trial's outcome.
    pub fn add(&mut self, o: &TrialOutcome, seed: u64) {
        let r = &mut self.row;
        r.trials += 1;
        r.acked_writes += o.acked;
        r.lost_writes += o.lost;
        r.trials_with_loss += u64::from(o.lost > 0);
        r.files_lost += o.files_lost;
        r.corrupt_reads += o.corrupt_reads;
        r.resurrected_deletes += o.resurrected;
        r.recovery_failures += u64::from(o.recovery_failure.is_some());
        if o.violation.is_none() && o.lost > 0 {
            r.expected_loss_trials += 1;
            r.expected_lost_writes += o.lost;
        }
        if let Some(c) = o.cause {
            *self.causes.entry(c.label()).or_default() += 1;
        }
        if let (Some(v), None) = (&o.violation, r.first_failing_seed) {
            r.first_failing_seed = Some(seed);
            r.first_violation = v.clone();
        }
    }

    /// The finished row.
    pub fn finish(mut self) -> CrashRow {
        let r = &mut self.row;
        r.promise_kept = r.first_failing_seed.is_none();
        r.loss_causes = self
            .causes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";");
        let verdict = if !r.promise_kept {
            Verdict::Broken
        } else if r.expected_loss_trials == 0 {
            Verdict::Kept
        } else if self.promises && !self.dir_sync {
            Verdict::LostNoDirSync
        } else {
            Verdict::LostNoSync
        };
        r.verdict = verdict.label().to_string();
        self.row
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

/// One table line: an engine, a policy, a profile, and how many trials.
#[derive(Debug, Clone, Copy)]
pub struct LineSpec {
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its policy.
    pub policy: SyncPolicy,
    /// Filesystem profile.
    pub profile: Profile,
    /// Trials.
    pub trials: u64,
    /// Base seed; each trial's seed derives from it ([`trial_seed`]).
    pub base_seed: u64,
    /// Operations per trial before the crash (at most).
    pub ops: u64,
    /// Testing the checker: syncs report success without syncing.
    pub broken_sync: bool,
}

impl LineSpec {
    /// The spec of the trial with `seed`.
    pub fn trial(&self, seed: u64) -> TrialSpec {
        TrialSpec {
            engine: self.engine,
            policy: self.policy,
            profile: self.profile,
            seed,
            ops: self.ops,
            broken_sync: self.broken_sync,
            faults: Faults::default(),
        }
    }
}

/// Runs the trials of one table line, each classified ([`classify`]).
pub fn run_line(l: &LineSpec) -> CrashRow {
    let mut s = LineTally::new(l.engine.name, &l.policy, l.profile.name());
    for i in 0..l.trials {
        let seed = trial_seed(l.base_seed, l.engine, &l.policy, l.profile, i);
        let spec = l.trial(seed);
        let o = classify(&spec, run_trial(&spec, false), |s| run_trial(s, false));
        s.add(&o, seed);
    }
    s.finish()
}

/// Runs the trials of one table line as concurrent trials
/// ([`run_concurrent_trial`], `threads` writers); its profile is labelled
/// `<profile> <threads> threads`. Its first failing seed may not fail
/// again on replay (thread interleaving is not seeded).
pub fn run_concurrent_line(l: &LineSpec, threads: u64) -> CrashRow {
    let mut s = LineTally::new(
        l.engine.name,
        &l.policy,
        format!("{} {threads} threads", l.profile.name()),
    );
    for i in 0..l.trials {
        let seed = trial_seed(l.base_seed ^ threads, l.engine, &l.policy, l.profile, i);
        let spec = l.trial(seed);
        let rerun = |s: &TrialSpec| run_concurrent_trial(s, threads);
        let o = classify(&spec, rerun(&spec), rerun);
        s.add(&o, seed);
    }
    s.finish()
}
