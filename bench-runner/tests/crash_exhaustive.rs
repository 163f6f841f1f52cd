//! `bench-runner crash --exhaustive`: the table gains states and violation
//! columns, crash.csv records them, and the flag's usage errors exit 2.

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use results::{read_csv, CrashRow};

mod common;
use common::bench;

#[test]
fn exhaustive_lines_report_workloads_states_and_wall_time() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("c");
    bench()
        .args([
            "crash",
            "--exhaustive",
            "--depth",
            "1",
            "--engines",
            "wal,lsm",
            "--policies",
            "always+dir,always",
            "--profile",
            "posix",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(
            contains("states")
                .and(contains("viol."))
                .and(contains("exhaustive lines")),
        )
        .stderr(contains("states checked").and(contains(" s")));
    let rows: Vec<CrashRow> = read_csv(&out.join("crash.csv")).unwrap();
    assert_eq!(rows.len(), 4);
    for r in &rows {
        assert_eq!(r.trials, 8, "one workload per step at depth 1: {r:?}");
        assert!(r.states_checked.is_some_and(|s| s >= 8), "{r:?}");
        assert_eq!(r.violations, Some(0), "{r:?}");
        assert!(r.promise_kept, "{r:?}");
    }
    // Without +dir on posix the loss of a never-synced name is expected.
    assert!(rows
        .iter()
        .any(|r| r.policy == "always" && r.verdict == "lost (no dir sync: expected)"));
}

#[test]
fn exhaustive_usage_errors_exit_two() {
    for args in [
        &["crash", "--depth", "2"][..],
        &["crash", "--exhaustive", "--depth", "0"],
        &["crash", "--exhaustive", "--depth", "9"],
        &["crash", "--exhaustive", "--fs", "fuse"],
        &["crash", "--exhaustive", "--kill", "--disk", "/tmp"],
        &["crash", "--exhaustive", "--trials", "5"],
    ] {
        bench().args(args).assert().code(2);
    }
}
