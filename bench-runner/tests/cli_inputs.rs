//! Every input is honoured or refused: each bad-input case exits 2 with a
//! message naming the problem (and no panic), before anything is measured;
//! signals end a run cleanly; the results folder is never silently mixed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use results::{read_csv, RunRow};

mod common;
use common::{bench, setup};

/// `run` of one tiny cell on `disk` into `out`, plus `extra`.
fn tiny(disk: &Path, out: &Path, extra: &[&str]) -> Command {
    let mut c = bench();
    c.args([
        "run",
        "--quiet",
        "--no-probe",
        "--no-plots",
        "--repeat",
        "1",
    ])
    .arg("--disk")
    .arg(disk)
    .arg("--out")
    .arg(out)
    .args(extra);
    c
}

const ONE_CELL: &[&str] = &[
    "--ops",
    "200",
    "--engines",
    "wal",
    "--policies",
    "none",
    "--threads",
    "1",
    "--workloads",
    "fillrandom",
];

fn no_panic() -> impl predicates::Predicate<str> {
    contains("panicked").not()
}

fn rows(out: &Path) -> Vec<RunRow> {
    read_csv(&out.join("runs.csv")).unwrap()
}

#[test]
fn no_arguments_print_a_short_usage_with_an_example() {
    bench()
        .assert()
        .code(2)
        .stderr(contains("Usage: bench-runner --disk DIR"))
        .stderr(contains("Example:"));
}

#[test]
fn disk_is_required_for_run_and_probe() {
    for args in [&["--quick"][..], &["run", "--quick"], &["probe"]] {
        bench()
            .args(args)
            .assert()
            .code(2)
            .stderr(contains("--disk"))
            .stderr(contains("Example: bench-runner"))
            .stderr(no_panic());
    }
}

#[test]
fn out_with_other_files_is_refused_and_force_replaces_a_results_folder() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("notes.txt"), b"mine").unwrap();
    // Non-empty: refused, with or without --force (not a results folder).
    for force in [&[][..], &["--force"]] {
        tiny(&disk, &out, ONE_CELL)
            .args(force)
            .assert()
            .code(2)
            .stderr(contains(out.display().to_string()))
            .stderr(no_panic());
        assert!(
            out.join("notes.txt").exists(),
            "a refused --out was touched"
        );
    }
    // An old results folder with a stale chart: --force replaces it whole.
    std::fs::remove_file(out.join("notes.txt")).unwrap();
    tiny(&disk, &out, ONE_CELL).assert().success();
    std::fs::write(out.join("stale-chart.png"), b"old").unwrap();
    tiny(&disk, &out, ONE_CELL)
        .assert()
        .code(2)
        .stderr(contains("--force"));
    tiny(&disk, &out, ONE_CELL)
        .arg("--force")
        .assert()
        .success();
    assert!(!out.join("stale-chart.png").exists());
    assert_eq!(rows(&out).len(), 1);
}

#[test]
fn numbers_out_of_range_say_the_range() {
    let (t, disk) = setup();
    let out = t.path().join("o");
    for (flag, value, expect) in [
        ("--threads", "1025", "from 1 to 1024"),
        ("--threads", "0", "from 1 to 1024"),
        ("--repeat", "-1", "from 1 to 1000"),
        ("--repeat", "0", "from 1 to 1000"),
        ("--ops", "-5", "at least 1"),
        ("--duration", "-2", "greater than 0"),
        ("--warmup", "-1", "from 0"),
        ("--value-size", "0", "from 1"),
    ] {
        bench()
            .args(["run", "--no-probe", "--disk"])
            .arg(&disk)
            .arg("--out")
            .arg(&out)
            .args([flag, value])
            .assert()
            .code(2)
            .stderr(contains(flag))
            .stderr(contains(expect))
            .stderr(no_panic());
    }
    assert!(!out.exists(), "a refused run created --out");
}

#[test]
fn a_cell_that_cannot_fit_in_memory_is_refused_with_the_estimate() {
    let (t, disk) = setup();
    tiny(
        &disk,
        &t.path().join("o"),
        &["--engines", "lsm", "--policies", "none"],
    )
    .args(["--workloads", "ycsb-a", "--threads", "1"])
    .args(["--record-count", "100000000000000"])
    .assert()
    .code(2)
    .stderr(contains("GiB of memory"))
    .stderr(contains("available"));
    assert_eq!(std::fs::read_dir(&disk).unwrap().count(), 0);
}

#[test]
fn matrices_that_cannot_run_are_refused() {
    let (t, disk) = setup();
    let out = t.path().join("o");
    tiny(
        &disk,
        &out,
        &["--engines", "bitcask", "--workloads", "ycsb-e"],
    )
    .assert()
    .code(2)
    .stderr(contains("every cell of the matrix is skipped"))
    .stderr(contains("bitcask x ycsb-e"));
    tiny(&disk, &out, &["--policies", "none@fsync"])
        .assert()
        .code(2)
        .stderr(contains("none@fsync"))
        .stderr(contains("never syncs"));
}

#[test]
fn duplicate_cells_run_once_with_a_note() {
    let (t, disk) = setup();
    let out = t.path().join("o");
    tiny(
        &disk,
        &out,
        &[
            "--ops",
            "200",
            "--engines",
            "wal,wal",
            "--policies",
            "none,none",
            "--threads",
            "1,1",
            "--workloads",
            "fillrandom,fillrandom",
        ],
    )
    .assert()
    .success()
    .stderr(contains("duplicate"));
    assert_eq!(rows(&out).len(), 1);
}

fn write_toml(dir: &Path, file: &str, body: &str) -> PathBuf {
    let p = dir.join(file);
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn toml_threads_and_operation_count_are_honoured_below_the_flags() {
    let (t, disk) = setup();
    let w = write_toml(
        t.path(),
        "mine.toml",
        "name = \"mine\"\nrecord_count = 0\nload = false\noperation_count = 777\nthreads = 2\n[mix]\ninsert = 1.0\n",
    );
    let base = ["--engines", "wal", "--policies", "none", "--workloads"];
    // The file's fields, with no flags.
    let out = t.path().join("a");
    tiny(&disk, &out, &base).arg(&w).assert().success();
    let r = rows(&out);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!((r[0].threads, r[0].ops), (2, 777));
    // Flags win.
    let out = t.path().join("b");
    tiny(&disk, &out, &base)
        .arg(&w)
        .args(["--threads", "1,3", "--ops", "300"])
        .assert()
        .success();
    let r = rows(&out);
    let got: Vec<(u32, u64)> = r.iter().map(|r| (r.threads, r.ops)).collect();
    assert_eq!(got, [(1, 300), (3, 300)]);
}

#[test]
fn a_toml_workload_named_like_a_preset_is_refused() {
    let (t, disk) = setup();
    let w = write_toml(
        t.path(),
        "clash.toml",
        "name = \"fillrandom\"\n[mix]\ninsert = 1.0\n",
    );
    tiny(&disk, &t.path().join("o"), &["--workloads"])
        .arg(format!("fillrandom,{}", w.display()))
        .assert()
        .code(2)
        .stderr(contains("clash.toml"))
        .stderr(contains("named `fillrandom`"));
}

#[test]
fn the_example_workload_does_what_its_comments_say() {
    let (t, disk) = setup();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/example.toml");
    let out = t.path().join("o");
    tiny(
        &disk,
        &out,
        &["--engines", "lsm", "--policies", "none", "--workloads"],
    )
    .arg(&example)
    .assert()
    .success();
    let r = rows(&out);
    // threads = 1 (no --threads: one thread count only), operation_count = 200000.
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(
        (r[0].workload.as_str(), r[0].threads, r[0].ops),
        ("example-hotspot", 1, 200_000)
    );
}

#[test]
fn skipped_csv_has_typed_columns() {
    let (t, disk) = setup();
    let out = t.path().join("o");
    // wal has no point reads: ycsb-a is skipped for every policy.
    tiny(
        &disk,
        &out,
        &[
            "--ops",
            "200",
            "--engines",
            "wal",
            "--policies",
            "none",
            "--threads",
            "1",
            "--workloads",
            "fillrandom,ycsb-a",
        ],
    )
    .assert()
    .success();
    let skipped: Vec<results::SkippedRow> = read_csv(&out.join("skipped.csv")).unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let s = &skipped[0];
    assert_eq!(
        (s.engine.as_str(), s.policy.as_str(), s.workload.as_str()),
        ("wal", "", "ycsb-a")
    );
    assert!(!s.reason.is_empty());
}

#[test]
fn an_os_error_is_printed_once() {
    // Regression: "No such file or directory (os error 2): No such file or directory (os error 2)".
    let (t, disk) = setup();
    let a = tiny(
        &disk,
        &t.path().join("o"),
        &["--workloads", "/no/such.toml"],
    )
    .assert()
    .code(2);
    let err = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    assert!(err.contains("/no/such.toml"), "{err}");
    assert_eq!(err.matches("os error 2").count(), 1, "{err}");
}

#[test]
fn json_format_prints_one_row_object_per_line() {
    let (t, disk) = setup();
    let out = t.path().join("o");
    let a = tiny(&disk, &out, ONE_CELL)
        .args(["--format", "json"])
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    let parsed: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed.len(), 1, "{stdout}");
    assert_eq!(parsed[0]["engine"], "wal");
    assert_eq!(parsed[0]["ops"], 200);
}

#[test]
fn completions_man_page_and_version() {
    bench()
        .args(["completions", "bash"])
        .assert()
        .success()
        .stdout(contains("bench-runner"))
        .stdout(contains("--disk"));
    bench()
        .arg("man")
        .assert()
        .success()
        .stdout(contains(".TH"));
    bench()
        .arg("--version")
        .assert()
        .success()
        .stdout(contains(format!("(git {})", bench_runner::short_commit())));
    bench()
        .args(["run", "--help"])
        .assert()
        .success()
        .stdout(contains("Examples:"));
}

#[test]
fn stale_scratch_folders_of_killed_runs_are_removed_and_others_kept() {
    let (t, disk) = setup();
    let stale = disk.join("bench-runner-killed");
    std::fs::create_dir(&stale).unwrap();
    // pid 0 is never a live process here: the run that made it is gone.
    std::fs::write(stale.join(".bench-runner-scratch"), "pid=0\n").unwrap();
    let foreign = disk.join("bench-runner-not-ours");
    std::fs::create_dir(&foreign).unwrap();
    tiny(&disk, &t.path().join("o"), ONE_CELL)
        .assert()
        .success()
        .stderr(contains("removed"))
        .stderr(contains("bench-runner-killed"));
    assert!(!stale.exists());
    assert!(foreign.exists());
}

/// Waits (polling) for `cond`, failing if the child ends first.
fn wait_for(child: &mut std::process::Child, what: &str, cond: impl Fn() -> bool) {
    let start = Instant::now();
    while !cond() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("bench-runner ended ({status}) before {what}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "gave up waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts a two-cell run (100 operations, then 600 s), waits until the
/// second cell runs, sends `signal`, and checks the clean ending.
fn stop_a_run_with(signal: &str, code: i32) {
    let (t, disk) = setup();
    let out = t.path().join("o");
    let insert = "record_count = 0\nload = false\n[mix]\ninsert = 1.0\n";
    let short = write_toml(
        t.path(),
        "short.toml",
        &format!("name = \"short\"\noperation_count = 100\n{insert}"),
    );
    let long = write_toml(
        t.path(),
        "long.toml",
        &format!("name = \"long\"\nduration_secs = 600.0\n{insert}"),
    );
    // Cells run in a seeded shuffled order: pick a seed that runs the
    // short cell first.
    let seed = (0u64..)
        .find(|&s| bench_runner::measure::schedule::interleaved(2, 1, s)[0].cell == 0)
        .unwrap_or(0);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("bench-runner"))
        .args([
            "run",
            "--quiet",
            "--no-probe",
            "--no-plots",
            "--engines",
            "wal",
        ])
        .args(["--policies", "none", "--threads", "1", "--repeat", "1"])
        .args(["--order-seed", &seed.to_string(), "--disk"])
        .arg(&disk)
        .arg("--out")
        .arg(&out)
        .arg("--workloads")
        .arg(format!("{},{}", short.display(), long.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The second cell is running once its folder exists.
    let second_cell_running = || {
        std::fs::read_dir(&disk).unwrap().flatten().any(|e| {
            e.file_name().to_string_lossy().starts_with("bench-runner-")
                && e.path().join("cell-1-0").exists()
        })
    };
    wait_for(&mut child, "the second cell started", second_cell_running);
    let sent = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(code), "{signal}: {stderr}");
    assert!(stderr.contains(&format!("SIG{signal}")), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(&disk).unwrap().count(),
        0,
        "SIG{signal}: the scratch folder stayed on --disk"
    );
    let r = rows(&out);
    assert_eq!(r.len(), 1, "the finished cell is kept: {r:?}");
    assert_eq!((r[0].workload.as_str(), r[0].ops), ("short", 100));
}

#[test]
fn sigterm_keeps_finished_cells_and_removes_the_scratch_folder() {
    stop_a_run_with("TERM", 143);
}

#[test]
fn sighup_and_sigint_end_a_run_the_same_way() {
    stop_a_run_with("HUP", 129);
    stop_a_run_with("INT", 130);
}

#[test]
fn timeline_options_are_checked_before_anything_runs() {
    let t = tempfile::tempdir().unwrap();
    for (args, expect) in [
        (&["--interval", "5"][..], "--interval"),
        (&["--interval", "20000"][..], "--interval"),
        (
            &["--until-steady", "10", "--ops", "100"][..],
            "--until-steady",
        ),
        (&["--until-steady", "0"][..], "--until-steady"),
    ] {
        let out = Command::cargo_bin("bench-runner")
            .unwrap()
            .arg("--disk")
            .arg(t.path())
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
    }
}
