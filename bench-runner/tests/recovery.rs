//! `bench-runner recovery`: bad input is refused with exit 2 before
//! anything runs; a tiny real run writes one checked row per engine x
//! policy x size; and an engine that loses acknowledged writes is caught
//! (recovered_ok false, exit 1), so the check can fail.

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;
use results::{read_csv, RecoveryRow};

mod common;
use common::{bench, setup};

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

/// `--cold` drops the page cache before each timed reopen (root only) and
/// says so in every row; without root it is refused before anything runs.
#[test]
fn cold_reopens_are_marked_and_need_root() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    let args = [
        "--quick",
        "--cold",
        "--engines",
        "wal",
        "--sizes",
        "300",
        "--tail",
        "100",
    ];
    if !bench_runner::measure::sys::is_root() {
        recovery(&disk, &out, &args)
            .assert()
            .code(2)
            .stderr(contains("--cold needs root"));
        return;
    }
    recovery(&disk, &out, &args).assert().success();
    let rows: Vec<RecoveryRow> = read_csv(&out.join("recovery.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].page_cache, "cold");
    assert!(rows[0].recovered_ok, "{:?}", rows[0]);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("always (cold cache)"), "{report}");
}

/// Ctrl-C ends a recovery run the way it ends `run`: the measurements that
/// finished are in recovery.csv and the exit code is 130.
#[test]
fn sigint_keeps_the_finished_measurements() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("bench-runner"))
        .args(["recovery", "--quiet", "--disk"])
        .arg(&disk)
        .arg("--out")
        .arg(&out)
        .args([
            "--engines",
            "wal",
            "--sizes",
            "500",
            "--tail",
            "100",
            "--repeat",
            "200",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let csv = out.join("recovery.csv");
    let give_up = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !csv.exists() {
        assert!(
            std::time::Instant::now() < give_up,
            "no measurement finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rows: Vec<RecoveryRow> = read_csv(&csv).unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].repetitions >= 1 && rows[0].repetitions < 200,
        "{:?}",
        rows[0]
    );
}
