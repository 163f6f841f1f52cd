//! Crash verification: what each policy protects, engine by engine, on the
//! simulated filesystem. Each test also shows the checker can fail.

use engines::crash::{run_line, run_trial, CrashSummary, TrialSpec};
use engines::fs::{Faults, Profile};
use engines::registry::{self, EngineInfo};
use engines::SyncPolicy;

const SEED: u64 = 0xC0FFEE;
const OPS: u64 = 80;

fn policy(s: &str) -> SyncPolicy {
    s.parse().unwrap()
}

fn line(info: &'static EngineInfo, p: &str, profile: Profile, trials: u64) -> CrashSummary {
    let s = run_line(info, policy(p), profile, trials, SEED, OPS);
    eprintln!(
        "{:<8} {:<11} {:<6} trials {:>4} acked {:>6} lost {:>4}/{:<6} files {:>4} corrupt {} resurrected {} recovery failures {} first failing seed {:?} {:?} {:?}",
        s.engine, s.policy, s.profile, s.trials, s.acked_writes, s.trials_with_loss, s.lost_writes, s.files_lost,
        s.corrupt_reads, s.resurrected_deletes, s.recovery_failures, s.first_failing_seed, s.first_violation, s.causes
    );
    s
}

#[test]
fn durable_policies_lose_nothing_on_either_profile() {
    for info in registry::vfs_engines() {
        for p in ["always+dir", "group+dir"] {
            for profile in [Profile::Posix, Profile::Linux] {
                let s = line(info, p, profile, 200);
                assert!(
                    s.acked_writes > 200 * 10,
                    "{}: too few acknowledged writes to mean anything",
                    info.name
                );
                assert_eq!(s.lost_writes, 0, "{s:?}");
                assert_eq!(s.corrupt_reads, 0, "{s:?}");
                assert_eq!(s.recovery_failures, 0, "{s:?}");
                assert!(s.promise_kept(), "{s:?}");
            }
        }
    }
}

#[test]
fn none_loses_acknowledged_writes_in_most_trials() {
    for info in registry::vfs_engines() {
        let s = line(info, "none", Profile::Posix, 100);
        assert!(
            s.trials_with_loss * 2 > s.trials,
            "{}: the checker saw loss in only {} of {} trials",
            info.name,
            s.trials_with_loss,
            s.trials
        );
        assert_eq!(s.corrupt_reads, 0, "{s:?}");
        assert_eq!(s.recovery_failures, 0, "{s:?}");
        assert!(
            s.promise_kept(),
            "none promises nothing, so nothing is broken: {s:?}"
        );
    }
}

#[test]
fn batch_loses_at_most_the_last_n_minus_one() {
    for info in registry::vfs_engines() {
        let s = line(info, "batch:8+dir", Profile::Linux, 100);
        assert!(s.promise_kept(), "{s:?}");
        assert_eq!(s.recovery_failures, 0, "{s:?}");
    }
}

#[test]
fn without_dir_sync_posix_loses_files_and_acknowledged_writes() {
    for info in registry::vfs_engines().filter(|i| i.creates_files_while_writing) {
        let s = line(info, "always", Profile::Posix, 100);
        assert!(
            s.files_lost > 0,
            "{}: no file lost without +dir: {s:?}",
            info.name
        );
        assert!(
            s.lost_writes > 0,
            "{}: no acknowledged write lost without +dir: {s:?}",
            info.name
        );
        assert!(!s.promise_kept(), "{s:?}");
        assert!(
            s.causes.contains_key("directory entry never synced"),
            "{s:?}"
        );
    }
}

/// The checker proves its worth: a policy that acknowledges before syncing
/// (syncs that report success without syncing) is caught.
#[test]
fn a_broken_policy_is_caught() {
    for info in registry::vfs_engines() {
        let mut caught = 0;
        for i in 0..40 {
            let spec = TrialSpec {
                engine: info,
                policy: policy("always+dir"),
                profile: Profile::Linux,
                seed: SEED + i,
                ops: OPS,
                broken_sync: true,
                faults: Faults::default(),
            };
            if run_trial(&spec, false).violation.is_some() {
                caught += 1;
            }
        }
        assert!(
            caught > 10,
            "{}: broken sync caught in only {caught} of 40 trials",
            info.name
        );
    }
}

/// After a failed fsync (EIO), Linux marks the pages clean and a retried
/// fsync succeeds without writing them: no engine may acknowledge a write
/// whose sync failed, or any write after it.
#[test]
fn no_write_is_acknowledged_after_a_failed_sync() {
    for info in registry::vfs_engines() {
        for profile in [Profile::Posix, Profile::Linux] {
            for n in 1..=12u64 {
                let spec = TrialSpec {
                    engine: info,
                    policy: policy("always+dir"),
                    profile,
                    seed: SEED ^ n,
                    ops: 40,
                    broken_sync: false,
                    faults: Faults {
                        fail_sync: Some(n),
                        ..Faults::default()
                    },
                };
                let o = run_trial(&spec, true);
                assert!(
                    o.violation.is_none(),
                    "{} {profile:?} sync {n}: {:?}\n{}",
                    info.name,
                    o.violation,
                    o.trace.join("\n")
                );
                assert_eq!(
                    o.recovery_failure, None,
                    "{} {profile:?} sync {n}",
                    info.name
                );
            }
        }
    }
}

#[test]
fn short_writes_and_full_disks_are_errors_not_acknowledgements() {
    for info in registry::vfs_engines() {
        for faults in [
            Faults {
                short_write: Some(7),
                ..Faults::default()
            },
            Faults {
                disk_bytes: Some(3000),
                ..Faults::default()
            },
        ] {
            let spec = TrialSpec {
                engine: info,
                policy: policy("always+dir"),
                profile: Profile::Linux,
                seed: SEED,
                ops: 60,
                broken_sync: false,
                faults,
            };
            let o = run_trial(&spec, true);
            assert!(
                o.failed_writes > 0,
                "{} {faults:?}: the fault never hit",
                info.name
            );
            assert!(
                o.violation.is_none(),
                "{} {faults:?}: {:?}\n{}",
                info.name,
                o.violation,
                o.trace.join("\n")
            );
        }
    }
}
