//! `bench-runner recovery`: bad input is refused with exit 2 before
//! anything runs; a tiny real run writes one checked row per engine x
//! policy x size; and an engine that loses acknowledged writes is caught
//! (recovered_ok false, exit 1), so the check can fail.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use results::{read_csv, RecoveryRow};

fn bench() -> Command {
    let mut c = Command::cargo_bin("bench-runner").unwrap();
    c.env("NO_COLOR", "1");
    c
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    (t, disk)
}

fn recovery(disk: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = bench();
    c.args(["recovery", "--quiet", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(out)
        .args(extra);
    c
}

#[test]
fn bad_input_is_refused_with_exit_2_naming_it() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    for (args, says) in [
        (&["--sizes", "0"][..], "0 keys"),
        (&["--sizes", "10k,lots"][..], "\"lots\""),
        (&["--engines", "wal,nosuch"][..], "nosuch"),
        (&["--policies", "sometimes"][..], "sometimes"),
        (&["--repeat", "0"][..], "--repeat"),
        (&["--tail", "-5"][..], "--tail"),
    ] {
        recovery(&disk, &out, args)
            .assert()
            .code(2)
            .stderr(contains(says));
    }
    // Nothing was measured: no scratch folder is left on the disk.
    assert_eq!(std::fs::read_dir(&disk).unwrap().count(), 0);
}

#[test]
fn a_quick_run_writes_a_checked_row_per_engine_policy_and_size() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    recovery(
        &disk,
        &out,
        &[
            "--quick",
            "--engines",
            "wal,lsm",
            "--policies",
            "none,always",
            "--sizes",
            "300,1k",
            "--tail",
            "200",
        ],
    )
    .assert()
    .success();
    let rows: Vec<RecoveryRow> = read_csv(&out.join("recovery.csv")).unwrap();
    assert_eq!(rows.len(), 2 * 2 * 2, "{rows:?}");
    for e in ["wal", "lsm"] {
        for p in ["none", "always"] {
            for k in [300, 1000] {
                let r = rows
                    .iter()
                    .find(|r| r.engine == e && r.policy == p && r.keys == k)
                    .unwrap_or_else(|| panic!("no row {e} {p} {k}"));
                assert!(r.recovered_ok, "{r:?}");
                assert!(r.reopen_clean_ms.is_some_and(|v| v > 0.0), "{r:?}");
                assert!(r.reopen_after_kill_ms.is_some_and(|v| v > 0.0), "{r:?}");
                // Vfs engines say what they read to recover.
                assert!(r.bytes_replayed.is_some_and(|b| b > 0), "{r:?}");
                assert_eq!(r.repetitions, 1);
                assert_eq!(r.tail_writes, 200);
            }
        }
    }
    assert!(out.join("charts/recovery.svg").exists());
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Recovery"), "{report}");
}

#[test]
fn an_engine_that_drops_acknowledged_writes_fails_the_check() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    recovery(
        &disk,
        &out,
        &[
            "--quick",
            "--engines",
            "lsm",
            "--policies",
            "none",
            "--sizes",
            "500",
            "--tail",
            "200",
            "--test-drop-after",
            "150",
        ],
    )
    .assert()
    .code(1)
    .stderr(contains("lost acknowledged writes"));
    let rows: Vec<RecoveryRow> = read_csv(&out.join("recovery.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(!rows[0].recovered_ok, "{:?}", rows[0]);
    assert!(rows[0].lost_writes > 0);
    assert!(rows[0].problem.contains("lost"), "{:?}", rows[0]);
}
