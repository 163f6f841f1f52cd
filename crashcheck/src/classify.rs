//! Which losses a policy allows, and which break its promise.
//!
//! A policy without `+dir` never syncs the directory entries of the files
//! it creates. On the `posix` profile such a name can vanish in a power
//! cut, and every acknowledged write in that file with it: that is what the
//! policy chose, not a bug. The same holds on every profile whose file sync
//! does not commit every earlier name (`btrfs` commits only the synced
//! file's own names). To tell that loss from any other, a trial that
//! broke its promise by losing writes (no corrupt read, no failed
//! recovery, no injected fault) is run again with the same seed on the
//! `linux` profile, where a file's sync also commits the names before it:
//! the same workload, the same crash instant, with only the names made
//! durable. If the promise then holds, the loss is "lost (no dir sync:
//! expected)"; if not, it stays a broken promise. A broken policy (syncs
//! that do not sync) loses writes on both profiles, so it is still caught.

use engines::fs::{Faults, Profile};
use engines::SyncPolicy;

use crate::trial::{ExpectedLoss, TrialOutcome, TrialSpec};

/// The verdict of a table line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every promise held and nothing acknowledged was lost.
    Kept,
    /// Losses, all of never-synced directory entries under a policy without `+dir`.
    LostNoDirSync,
    /// Losses of writes not yet synced, which `none` and `batch:N` allow.
    LostNoSync,
    /// A promise was broken: an unexpected loss, a corrupt read, a
    /// resurrected delete, a failed recovery.
    Broken,
}

impl Verdict {
    /// The label shown in the table and written to `crash.csv`.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Kept => "kept",
            Verdict::LostNoDirSync => "lost (no dir sync: expected)",
            Verdict::LostNoSync => "lost (no sync: expected)",
            Verdict::Broken => "BROKEN",
        }
    }
}

/// Whether a broken-looking outcome is a loss the policy allows: reruns
/// `spec` with durable names (`rerun` with the `linux` profile) when the
/// only failure is lost writes under a policy without `+dir` on `posix`.
pub fn classify(
    spec: &TrialSpec,
    outcome: TrialOutcome,
    rerun: impl FnOnce(&TrialSpec) -> TrialOutcome,
) -> TrialOutcome {
    if spec.faults != Faults::default() {
        return outcome;
    }
    classify_with(&spec.policy, spec.profile, outcome, || {
        let mut durable_names = spec.clone();
        durable_names.profile = Profile::Linux;
        rerun(&durable_names)
    })
}

/// [`classify`] for any trial driver (in process, or a process on a FUSE
/// mount): `rerun_with_durable_names` runs the same trial (same seed, same
/// crash instant) on the `linux` profile; it is called only when the
/// outcome could be an expected loss.
pub fn classify_with(
    policy: &SyncPolicy,
    profile: Profile,
    mut outcome: TrialOutcome,
    rerun_with_durable_names: impl FnOnce() -> TrialOutcome,
) -> TrialOutcome {
    let only_losses = outcome.violation.is_some()
        && outcome.lost > 0
        && outcome.corrupt_reads == 0
        && outcome.recovery_failure.is_none();
    if !only_losses || policy.dir_sync || profile.rules().file_sync_commits_all_names() {
        return outcome;
    }
    if rerun_with_durable_names().violation.is_none() {
        outcome.excused = outcome.violation.take();
        outcome.expected = Some(ExpectedLoss::NoDirSync);
    }
    outcome
}
