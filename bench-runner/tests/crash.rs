//! `bench-runner crash` end to end: exit codes (0 kept or expected, 1
//! broken, 2 unusable input), the table's legend and follow-up lines, the
//! report it redraws, `--kill`, and `--exec` with the example engine.

use std::path::PathBuf;

use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

mod common;
use common::{bench, crash_rows, example, fuse_present, python3, python_example};

/// The example external engine, run from the workspace root.
fn kv_py(mode: &str) -> String {
    python_example("kv.py", mode)
}

/// `kv_py(mode)` started by a wrapper that waits for it as a child.
fn supervised_kv_py(mode: &str) -> String {
    format!("sh '{}' {}", example("supervise.sh").display(), kv_py(mode))
}

#[test]
fn crash_table_is_written_and_kept_promises_exit_zero() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("c");
    bench()
        .args([
            "crash",
            "--trials",
            "30",
            "--policies",
            "none,always+dir",
            "--profile",
            "linux",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("kept"));
    let rows = crash_rows(&out);
    let engines = engines::registry::vfs_engines().count();
    // One line per engine x policy, plus a concurrent line (4 threads, a
    // fifth of the trials) for the policy that acknowledges durably.
    assert_eq!(rows.len(), engines * 3);
    assert!(rows.iter().all(|r| r.promise_kept));
    let (threaded, single): (Vec<_>, Vec<_>) =
        rows.iter().partition(|r| r.profile.ends_with("threads"));
    assert!(single.iter().all(|r| r.trials == 30));
    assert!(threaded
        .iter()
        .all(|r| r.trials == 6 && r.policy == "always+dir" && r.profile == "linux 4 threads"));
}

/// The default policies and profiles (fewer trials) exit
/// 0 on this build: `always` without `+dir` loses never-synced names on
/// `posix`, which is labelled expected, not broken.
#[test]
fn default_policies_exit_zero_and_label_expected_losses() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("c");
    bench()
        .args(["crash", "--trials", "30", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("lost (no dir sync: expected)"))
        .stdout(contains("legend:"))
        .stdout(contains("likely fix").not());
    let rows = crash_rows(&out);
    let always_posix: Vec<_> = rows
        .iter()
        .filter(|r| r.policy == "always" && r.profile == "posix")
        .collect();
    assert!(!always_posix.is_empty());
    assert!(
        always_posix
            .iter()
            .any(|r| r.lost_writes > 0 && r.expected_lost_writes == r.lost_writes),
        "{always_posix:?}"
    );
    assert!(rows.iter().all(|r| r.promise_kept && r.verdict != "BROKEN"));
}

/// A deliberately broken policy (syncs that do not sync) exits 1, and the
/// BROKEN line prints the exact replay command and a likely fix; the
/// replay reproduces it.
#[test]
fn a_broken_policy_exits_one_with_replay_command_and_fix() {
    let t = tempfile::tempdir().unwrap();
    let a = bench()
        .args([
            "crash",
            "--broken-sync",
            "--engines",
            "wal",
            "--policies",
            "always+dir",
            "--profile",
            "posix",
            "--trials",
            "40",
            "--quiet",
            "--out",
        ])
        .arg(t.path().join("c"))
        .assert()
        .code(1)
        .stdout(contains("BROKEN"))
        .stdout(contains(
            "replay: bench-runner crash --engines wal --policies always+dir --profile posix --ops 80 --replay ",
        ))
        .stdout(contains("likely fix: "));
    drop(a);
    let rows = crash_rows(&t.path().join("c"));
    let seed = rows[0].first_failing_seed.expect("a failing seed");
    assert!(!rows[0].first_violation.is_empty());
    bench()
        .args([
            "crash",
            "--broken-sync",
            "--engines",
            "wal",
            "--policies",
            "always+dir",
            "--profile",
            "posix",
            "--ops",
            "80",
            "--replay",
        ])
        .arg(seed.to_string())
        .assert()
        .code(1)
        .stdout(contains("crash ("))
        .stdout(contains("verdict: BROKEN"));
}

/// The expected-loss label does not excuse a broken policy without `+dir`.
/// (wal: its first failing trial loses writes, which the hint is about;
/// lsm's and btree's first failing trials here fail their recovery, with
/// a different hint.)
#[test]
fn a_broken_policy_without_dir_sync_still_exits_one() {
    let t = tempfile::tempdir().unwrap();
    bench()
        .args([
            "crash",
            "--broken-sync",
            "--engines",
            "wal",
            "--policies",
            "always",
            "--profile",
            "posix",
            "--trials",
            "40",
            "--threads",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(t.path().join("c"))
        .assert()
        .code(1)
        .stdout(contains("BROKEN"))
        .stdout(contains("likely fix: add +dir"));
}

#[test]
fn zero_trials_is_a_usage_error() {
    bench()
        .args(["crash", "--trials", "0"])
        .assert()
        .code(2)
        .stderr(contains("--trials 0"))
        .stderr(contains("panicked").not());
}

/// Engines the simulated filesystem cannot reach (the reference engines):
/// the table says why and points to `--kill` and `--fs fuse`.
#[test]
fn unreachable_engines_say_why_and_point_to_kill_and_fuse() {
    let t = tempfile::tempdir().unwrap();
    bench()
        .current_dir(t.path())
        .args(["crash", "--engines", "sqlite"])
        .assert()
        .code(2)
        .stderr(contains("sqlite"))
        .stderr(contains("simulated filesystem cannot reach"))
        .stderr(contains("--kill --disk"))
        .stderr(contains("--fs fuse"))
        .stderr(contains("panicked").not());
    assert!(
        std::fs::read_dir(t.path()).unwrap().next().is_none(),
        "a refused run leaves no folder behind"
    );
}

/// `crash` into a run's folder redraws its report with the
/// crash section; a crash-only folder gets a labelled report with one
/// "Crash verification" heading.
#[test]
fn crash_redraws_the_report_of_its_folder() {
    let t = tempfile::tempdir().unwrap();
    let run = t.path().join("run");
    std::fs::create_dir(&run).unwrap();
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../plots/tests/fixtures/run-a");
    for f in std::fs::read_dir(&fixture).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() && f.file_name() != "crash.csv" {
            std::fs::copy(f.path(), run.join(f.file_name())).unwrap();
        }
    }
    let args = [
        "crash",
        "--engines",
        "wal",
        "--policies",
        "always+dir",
        "--trials",
        "5",
        "--quiet",
        "--out",
    ];
    bench().args(args).arg(&run).assert().success();
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(!md.contains("crash.csv is missing"), "{md}");
    assert!(md.contains("| wal | always+dir |"), "{md}");

    let only = t.path().join("only");
    bench()
        .args(args)
        .arg(&only)
        .args(["--label", "box-a"])
        .assert()
        .success();
    let md = std::fs::read_to_string(only.join("report.md")).unwrap();
    assert_eq!(md.matches("Crash verification").count(), 1, "{md}");
    assert!(md.contains("# bench-runner report: box-a"), "{md}");
}

#[test]
fn kill_mode_checks_process_crashes_on_a_real_disk() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("k");
    bench()
        .args([
            "crash",
            "--kill",
            "--engines",
            "wal,btree",
            "--policies",
            "none,always",
            "--trials",
            "2",
            "--quiet",
            "--disk",
        ])
        .arg(t.path())
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("process-kill"));
    let rows = crash_rows(&out);
    assert_eq!(rows.len(), 4);
    assert!(
        rows.iter()
            .all(|r| r.profile == "process-kill" && r.acked_writes > 0 && r.promise_kept),
        "{rows:?}"
    );
    bench()
        .args(["crash", "--kill"])
        .assert()
        .code(2)
        .stderr(contains("--disk"));
}

/// The line protocol through `--exec`, on process kills: the example
/// engine keeps every acknowledged write in its honest modes, and its
/// `buffered` mode (acknowledging from a user-space buffer, flushed at a
/// clean exit) is caught, also when a wrapper starts it as a child. Broke
/// before process groups: `sh -c` forks python3, the kill reached only the
/// shell, and the surviving program flushed its buffer at EOF.
#[test]
fn exec_engines_are_held_to_their_promise_across_process_kills() {
    if !python3(None) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for (name, cmd, promise, code) in [
        ("fsync+dir", kv_py("fsync+dir"), "always", 0),
        ("write", kv_py("write"), "none", 0),
        ("buffered", kv_py("buffered"), "none", 1),
        ("supervised", supervised_kv_py("buffered"), "none", 1),
    ] {
        let mode = name;
        let out = t.path().join(name);
        let a = bench()
            .args(["crash", "--exec", &cmd, "--exec-promise", promise])
            .args(["--trials", "4", "--quiet", "--disk"])
            .arg(t.path())
            .arg("--out")
            .arg(&out)
            .assert()
            .code(code);
        let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        let rows = crash_rows(&out);
        assert_eq!(rows.len(), 1, "{stdout}");
        let r = &rows[0];
        assert_eq!(
            (r.engine.as_str(), r.profile.as_str()),
            ("exec", "process-kill")
        );
        assert!(r.acked_writes > 0, "{mode}: {r:?}");
        assert_eq!(r.promise_kept, code == 0, "{mode}: {r:?}");
        if code == 1 {
            assert!(
                stdout.contains("--exec-promise none --kill --disk"),
                "{stdout}"
            );
            assert!(stdout.contains("flush user-space buffers"), "{stdout}");
        }
    }
}

#[test]
fn exec_input_errors_exit_two() {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().to_str().unwrap();
    for (args, msg) in [
        (vec!["--exec", "cat"], "--exec-promise"),
        (
            vec![
                "--exec",
                "cat",
                "--exec-promise",
                "always+dir",
                "--disk",
                disk,
            ],
            "+dir",
        ),
        (vec!["--exec", "cat", "--exec-promise", "always"], "--disk"),
        (
            vec![
                "--exec",
                "cat",
                "--exec-promise",
                "sometimes",
                "--disk",
                disk,
            ],
            "sometimes",
        ),
        (
            vec![
                "--exec",
                "cat",
                "--exec-promise",
                "none",
                "--engines",
                "wal",
                "--disk",
                disk,
            ],
            "--engines",
        ),
    ] {
        bench()
            .arg("crash")
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(msg))
            .stderr(contains("panicked").not());
    }
    // A program that does not speak the protocol: a clear error, not a
    // verdict, and no scratch folder left under --disk.
    bench()
        .args([
            "crash",
            "--exec",
            "echo hello; exit 3",
            "--exec-promise",
            "none",
        ])
        .args(["--trials", "1", "--quiet", "--disk", disk, "--out"])
        .arg(t.path().join("out"))
        .assert()
        .code(2)
        .stderr(contains("could not be driven"))
        .stderr(contains("panicked").not());
    let left: Vec<_> = std::fs::read_dir(t.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("bench-runner-"))
        .collect();
    assert!(left.is_empty(), "scratch folders left: {left:?}");
}

/// The fsync audit's finding ("no directory fsync anywhere") reproduced
/// through a real kernel path on a program the suite did not write. Under
/// power cuts on `posix`, the example engine that fsyncs each write but
/// never its directory loses whole segment files (BROKEN under its claim
/// `always`); the one that also fsyncs the directory keeps everything.
/// Power cuts for an external process need the FUSE layer (`--fs fuse`)
/// and /dev/fuse (see `common::fuse_present`).
#[test]
fn exec_example_without_dir_fsync_loses_files_on_power_cuts() {
    if !python3(None) {
        return;
    }
    if !fuse_present() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for (mode, code) in [("fsync", 1), ("fsync+dir", 0)] {
        let out = t.path().join(mode);
        let a = bench()
            .args(["crash", "--fs", "fuse", "--profile", "posix"])
            .args(["--exec", &kv_py(mode), "--exec-promise", "always"])
            .args(["--trials", "20", "--ops", "120", "--quiet", "--disk"])
            .arg(t.path())
            .arg("--out")
            .arg(&out)
            .assert()
            .code(code);
        let rows = crash_rows(&out);
        let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
        assert_eq!(rows.len(), 1, "{stdout}");
        if code == 1 {
            assert!(
                rows[0].files_lost > 0 || rows[0].lost_writes > 0,
                "{:?}",
                rows[0]
            );
            assert!(!rows[0].promise_kept, "{:?}", rows[0]);
        } else {
            assert!(
                rows[0].promise_kept && rows[0].lost_writes == 0,
                "{:?}",
                rows[0]
            );
        }
    }
}
