//! Crash verification: what each policy protects, engine by engine, on the
//! simulated filesystem. Each test also shows the checker can fail.

use crashcheck::{
    classify, run_concurrent_trial, run_line, run_trial, LineSpec, LineTally, TrialSpec,
};
use engines::fs::{Faults, Profile};
use engines::registry::{self, EngineInfo};
use engines::SyncPolicy;
use results::CrashRow;

const SEED: u64 = 0xC0FFEE;
const OPS: u64 = 80;

fn policy(s: &str) -> SyncPolicy {
    s.parse().unwrap()
}

fn line(info: &'static EngineInfo, p: &str, profile: Profile, trials: u64) -> CrashRow {
    let s = run_line(&LineSpec {
        engine: info,
        policy: policy(p),
        profile,
        trials,
        base_seed: SEED,
        ops: OPS,
        broken_sync: false,
    });
    eprintln!(
        "{:<8} {:<11} {:<6} trials {:>4} acked {:>6} lost {:>4}/{:<6} files {:>4} corrupt {} resurrected {} recovery failures {} first failing seed {:?} {:?} {:?}",
        s.engine, s.policy, s.profile, s.trials, s.acked_writes, s.trials_with_loss, s.lost_writes, s.files_lost,
        s.corrupt_reads, s.resurrected_deletes, s.recovery_failures, s.first_failing_seed, s.first_violation, s.loss_causes
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
                assert!(s.promise_kept, "{s:?}");
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
            s.promise_kept,
            "none promises nothing, so nothing is broken: {s:?}"
        );
    }
}

#[test]
fn batch_loses_at_most_the_last_n_minus_one() {
    for info in registry::vfs_engines() {
        let s = line(info, "batch:8+dir", Profile::Linux, 100);
        assert!(s.promise_kept, "{s:?}");
        assert_eq!(s.recovery_failures, 0, "{s:?}");
    }
}

/// Without `+dir` a new file's name is never synced, so on `posix` files
/// and acknowledged writes are lost: the policy's own choice, labelled
/// expected, not a broken promise.
#[test]
fn without_dir_sync_posix_loses_files_as_expected() {
    for info in registry::vfs_engines().filter(|i| i.creates_files_while_writing) {
        let s = line(info, "always", Profile::Posix, 100);
        assert!(
            s.files_lost > 0,
            "{}: no file lost without +dir: {s:?}",
            info.name
        );
        assert!(
            s.lost_writes > 0 && s.expected_lost_writes == s.lost_writes,
            "{}: losses without +dir should all be expected: {s:?}",
            info.name
        );
        assert!(s.promise_kept, "{s:?}");
        assert_eq!(s.verdict, "lost (no dir sync: expected)", "{s:?}");
        assert!(
            s.loss_causes.contains("directory entry never synced"),
            "{s:?}"
        );
    }
}

/// The expected-loss label is no excuse for a broken policy: syncs that do
/// not sync, under `always` without `+dir` on `posix`, lose writes even
/// with durable names, and stay broken.
#[test]
fn a_broken_policy_without_dir_sync_is_not_excused() {
    for info in registry::vfs_engines() {
        let mut caught = 0;
        for i in 0..30 {
            let mut spec = spec(info, "always", Profile::Posix, SEED + i);
            spec.broken_sync = true;
            let o = classify(&spec, run_trial(&spec, false), |s| run_trial(s, false));
            caught += u32::from(o.violation.is_some());
        }
        assert!(
            caught > 5,
            "{}: broken sync without +dir caught in only {caught} of 30 trials",
            info.name
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

fn spec(info: &'static EngineInfo, p: &str, profile: Profile, seed: u64) -> TrialSpec {
    TrialSpec {
        engine: info,
        policy: policy(p),
        profile,
        seed,
        ops: OPS,
        broken_sync: false,
        faults: Faults::default(),
    }
}

/// `Engine::sync` makes every acknowledged write durable whatever the
/// policy: checked under `none` (crashing right after the sync), `none+dir`
/// and `batch` wherever the file names are durable too (`+dir`, or any sync
/// on `linux`).
#[test]
fn explicit_sync_makes_acknowledged_writes_durable_under_every_policy() {
    for info in registry::vfs_engines() {
        for (p, profile) in [
            ("none+dir", Profile::Posix),
            ("none", Profile::Linux),
            ("batch:8+dir", Profile::Posix),
        ] {
            let s = line(info, p, profile, 100);
            assert!(s.promise_kept, "{s:?}");
            assert_eq!(s.recovery_failures, 0, "{s:?}");
        }
    }
}

/// The trials really exercise what they claim: a second epoch on the
/// recovered engine, a crash after one of the recovery's own syncs, and a
/// crash right after an explicit sync under `none`.
#[test]
fn trials_reach_second_epochs_recovery_crashes_and_sync_crashes() {
    let info = registry::vfs_engines().find(|i| i.name == "lsm").unwrap();
    let (mut epochs, mut recovery_crash, mut sync_crash) = (0, 0, 0);
    for seed in 0..60 {
        let o = run_trial(&spec(info, "none+dir", Profile::Linux, seed), true);
        let has = |s: &str| o.trace.iter().any(|l| l.contains(s));
        epochs += u32::from(has("epoch 2 of 2"));
        recovery_crash += u32::from(has("second crash during recovery, after its sync"));
        sync_crash += u32::from(o.trace.windows(3).any(|w| {
            w.iter().any(|l| l.contains("must now survive"))
                && w.iter().any(|l| l.contains("crash instant"))
        }));
    }
    assert!(epochs >= 10, "{epochs} second epochs in 60 trials");
    assert!(
        recovery_crash >= 3,
        "{recovery_crash} crashes inside recovery in 60 trials"
    );
    assert!(
        sync_crash >= 3,
        "{sync_crash} crashes right after an explicit sync in 60 trials"
    );
}

/// A failed directory fsync (rotation, flush, merge) poisons the engine
/// like a failed file sync: nothing acknowledged after it, and nothing lost.
#[test]
fn no_write_is_acknowledged_after_a_failed_directory_sync() {
    for info in registry::vfs_engines() {
        let mut hit = 0;
        for profile in [Profile::Posix, Profile::Linux] {
            for p in ["always+dir", "group+dir"] {
                for n in 3..=6u64 {
                    let mut spec = spec(info, p, profile, SEED ^ n);
                    spec.faults = Faults {
                        fail_dir_sync: Some(n),
                        ..Faults::default()
                    };
                    let o = run_trial(&spec, true);
                    hit += u32::from(o.failed_writes > 0);
                    assert!(
                        o.violation.is_none(),
                        "{} {p} {profile:?} directory sync {n}: {:?}\n{}",
                        info.name,
                        o.violation,
                        o.trace.join("\n")
                    );
                }
            }
        }
        assert!(
            hit > 0,
            "{}: no directory sync failure ever hit a write",
            info.name
        );
    }
}

/// Several writers at once on slow syncs: group commit's leader/follower
/// path keeps `group`'s promise, and a broken policy is still caught.
#[test]
fn concurrent_writers_keep_group_and_always_promises() {
    for info in registry::vfs_engines() {
        for (p, trials) in [("group+dir", 30), ("always+dir", 10)] {
            for profile in [Profile::Posix, Profile::Linux] {
                let mut tally = LineTally::new(info.name, &policy(p), profile.name());
                for seed in 0..trials {
                    let o = run_concurrent_trial(&spec(info, p, profile, SEED + seed), 4);
                    tally.add(&o, SEED + seed);
                }
                let s = tally.finish();
                assert!(s.acked_writes > trials * 20, "{} {p}: {s:?}", info.name);
                assert!(
                    s.promise_kept && s.lost_writes == 0,
                    "{} {p} {profile:?}: {s:?}",
                    info.name
                );
                assert_eq!(s.recovery_failures, 0, "{} {p}: {s:?}", info.name);
            }
        }
        let mut caught = 0;
        for seed in 0..10 {
            let mut spec = spec(info, "group+dir", Profile::Linux, seed);
            spec.broken_sync = true;
            caught += u32::from(run_concurrent_trial(&spec, 4).violation.is_some());
        }
        assert!(
            caught >= 5,
            "{}: broken sync caught in {caught} of 10 concurrent trials",
            info.name
        );
    }
}

/// Every engine's logs reserve space ahead of their appends (steps of 256
/// bytes in the trial config), and the crashes land on reserved segments
/// and in the middle of a reservation: a crash instant after an `allocate`
/// that no file sync has covered yet (under `batch:8`, where appends, and
/// so reservations, wait for a sync). The lsm and btree recycle covered
/// WAL files, and crashes land on recycled files and in the middle of
/// recycling: after a WAL file's rename and before any file sync (the
/// rename's, or the overwriting records'). No promise may break there, on
/// either profile. Recycled files rarely need a reservation, so the lsm
/// and btree search more seeds for a crash during one.
#[test]
fn crashes_land_on_reserved_and_recycled_logs_during_reservation_and_recycling() {
    for info in registry::vfs_engines() {
        let recycles = matches!(info.name, "lsm" | "btree");
        for profile in [Profile::Posix, Profile::Linux] {
            let (mut reserved, mut during) = (0, 0);
            let (mut recycled, mut during_recycling) = (0, 0);
            for seed in 0..400 {
                let enough = during > 0 && (!recycles || during_recycling > 0);
                if seed >= 40 && enough {
                    break;
                }
                let p = if seed % 2 == 0 {
                    "always+dir"
                } else {
                    "batch:8+dir"
                };
                let out = run_trial(&spec(info, p, profile, seed), true);
                assert!(out.violation.is_none(), "{}: {out:?}", info.name);
                assert!(out.recovery_failure.is_none(), "{}: {out:?}", info.name);
                let t = &out.trace;
                // The frozen instant (the filesystem's marker, which comes
                // after the operation's own line: the crash may fall inside
                // it), or the end of the workload.
                let Some(crash) = t
                    .iter()
                    .position(|l| l.contains("== crash instant") || l.starts_with("crash ("))
                else {
                    continue;
                };
                let last = |what: &str| t[..crash].iter().rposition(|l| l.contains(what));
                let allocated = last(" allocate /");
                if allocated.is_some() {
                    reserved += 1;
                }
                // An `fsync` line of a file (not a directory) after it would
                // have made the reservation durable.
                let synced = t[..crash]
                    .iter()
                    .rposition(|l| l.contains("fs: fsync ") && !l.contains("fs: fsync dir"));
                if allocated > synced {
                    during += 1;
                }
                let renamed = t[..crash].iter().rposition(|l| {
                    l.contains("fs: #") && l.contains(" rename ") && l.contains(".wal -> ")
                });
                if renamed.is_some() {
                    recycled += 1;
                }
                if renamed > synced {
                    during_recycling += 1;
                }
            }
            assert!(reserved > 10, "{} {profile:?}: {reserved}", info.name);
            assert!(
                during > 0,
                "{} {profile:?}: no crash during a reservation",
                info.name
            );
            if recycles {
                assert!(recycled > 10, "{} {profile:?}: {recycled}", info.name);
                assert!(
                    during_recycling > 0,
                    "{} {profile:?}: no crash during recycling",
                    info.name
                );
            } else {
                assert_eq!(recycled, 0, "{}: only lsm and btree recycle", info.name);
            }
            eprintln!(
                "{:<8} {:<6} trials on reserved logs {reserved}, crashes during a reservation {during}, on recycled logs {recycled}, during recycling {during_recycling}",
                info.name,
                profile.name()
            );
        }
    }
}

/// Regression: btree under `always` on `posix` lost its never-dir-synced
/// data file, recovery started a new one and truncated the old doublewrite
/// copy without a sync; a crash during that recovery brought the stale copy
/// back and the next open wrote the lost file's pages into the new one
/// ("meta page counts 5 pages but the file holds 2048 bytes").
#[test]
fn a_stale_doublewrite_copy_never_reaches_a_new_btree_data_file() {
    let info = registry::info("btree").unwrap();
    let s = spec(info, "always", Profile::Posix, 18146029631085748827);
    let o = run_trial(&s, false);
    assert!(o.recovery_failure.is_none(), "{:?}", o.recovery_failure);
    let o = classify(&s, o, |s| run_trial(s, false));
    assert!(o.violation.is_none(), "{:?}", o.violation);
}
