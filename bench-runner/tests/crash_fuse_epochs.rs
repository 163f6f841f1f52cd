//! `crash --fs fuse` does what in-process trials do beyond one power cut:
//! recoveries crashed themselves, second epochs, and several writers at
//! once. Each is shown to happen (in a `--replay` trace or a table row),
//! to keep our `+dir` engines kept, and to catch a broken engine: a
//! program whose recovery compacts its log in place, and syncs that do not
//! sync. Needs /dev/fuse (and root); each test is skipped with a printed
//! reason where /dev/fuse is absent.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use engines::fs::Profile;
use results::CrashRow;

mod common;
use common::{crash_rows, example, fuse_present, python3, EXE};

/// `--replay` of trial `trial` of `--seed 1` on `posix` (`--ops 40`).
fn replay(disk: &Path, target: &[&str], trial: u64) -> (Option<i32>, String) {
    let seed = bench_runner::commands::crash::fuse::fuse_seed(1, Profile::Posix, trial);
    let out: Output = Command::new(EXE)
        .args([
            "crash",
            "--fs",
            "fuse",
            "--quiet",
            "--profile",
            "posix",
            "--disk",
        ])
        .arg(disk)
        .args(target)
        .args(["--seed", "1", "--ops", "40", "--replay", &seed.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), text)
}

/// Trial 4 of `--seed 1` has two epochs, and its first recovery is crashed
/// right after its sync.
#[test]
fn recoveries_are_crashed_and_second_epochs_run_and_our_engines_keep_their_promise() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for engine in ["wal", "bitcask", "loghash", "lsm", "btree"] {
        let (code, text) = replay(
            tmp.path(),
            &["--engines", engine, "--policies", "always+dir"],
            4,
        );
        assert_eq!(code, Some(0), "{engine}:\n{text}");
        for want in [
            "epoch 2 of 2",
            "recovery dry run on a copy of the image: ",
            "second crash during recovery, ",
            "verdict: promise kept",
        ] {
            assert!(text.contains(want), "{engine}: no {want:?} in\n{text}");
        }
        // Three power cuts: the first epoch's, the crashed recovery's, the second epoch's.
        let cuts = text
            .lines()
            .filter(|l| l.trim_start().starts_with("power cut: "))
            .count();
        assert_eq!(cuts, 3, "{engine}:\n{text}");
    }
}

fn python_program(name: &str) -> Option<String> {
    python3(None).then(|| format!("exec python3 '{}'", example(name).display()))
}

/// A program that compacts its log in place when it starts (truncate,
/// fsync, write back, fsync) keeps every write through power cuts while it
/// runs; only a crash of its recovery between those fsyncs shows the loss.
#[test]
fn a_recovery_that_is_not_crash_safe_is_caught_by_crashing_it() {
    if !fuse_present() {
        return;
    }
    let Some(cmd) = python_program("rewrite_on_start.py") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let target = ["--exec", cmd.as_str(), "--exec-promise", "always"];
    // Trial 2: one epoch, the recovery crashed after the first of its two syncs.
    let (code, text) = replay(tmp.path(), &target, 2);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("second crash during recovery, after its sync 1 of 2:"),
        "{text}"
    );
    assert!(text.contains("verdict: BROKEN: "), "{text}");
    // Trial 6: no recovery crash, no second epoch: nothing is lost.
    let (code, text) = replay(tmp.path(), &target, 6);
    assert!(!text.contains("second crash during recovery"), "{text}");
    assert_eq!(code, Some(0), "{text}");
}

fn rows(disk: &Path, out: &str, extra: &[&str]) -> (Option<i32>, Vec<CrashRow>) {
    let status = Command::new(EXE)
        .args([
            "crash",
            "--fs",
            "fuse",
            "--quiet",
            "--profile",
            "linux",
            "--disk",
        ])
        .arg(disk)
        .arg("--out")
        .arg(disk.join(out))
        .args([
            "--engines",
            "bitcask,lsm",
            "--policies",
            "group+dir,batch:8+dir",
        ])
        .args([
            "--trials",
            "1",
            "--concurrent-trials",
            "3",
            "--threads",
            "4",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    (status.code(), crash_rows(&disk.join(out)))
}

/// Concurrent lines run for promises whose acknowledgement means durable,
/// keep our engines' promises, and fail when syncs do not sync.
#[test]
fn concurrent_lines_run_through_fuse_and_catch_syncs_that_do_not_sync() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (code, good) = rows(tmp.path(), "good", &[]);
    assert_eq!(code, Some(0), "{good:#?}");
    let concurrent: Vec<&CrashRow> = good
        .iter()
        .filter(|r| r.profile == "fuse-linux 4 threads")
        .collect();
    // group+dir only: batch:8 acknowledges before it is durable.
    assert_eq!(concurrent.len(), 2, "{good:#?}");
    for r in &concurrent {
        assert_eq!(r.policy, "group+dir");
        assert_eq!((r.trials, r.verdict.as_str()), (3, "kept"), "{r:?}");
        assert!(r.acked_writes > 0, "{r:?}");
    }
    let (code, broken) = rows(tmp.path(), "broken", &["--broken-sync"]);
    assert_eq!(code, Some(1), "{broken:#?}");
    let caught = broken
        .iter()
        .filter(|r| r.profile == "fuse-linux 4 threads" && r.verdict == "BROKEN")
        .count();
    assert_eq!(caught, 2, "{broken:#?}");
}
