//! A reader that closes stdout early (`bench-runner ... | head -1`) ends
//! the command quietly: no panic, exit 0, the results written so far kept
//! and the scratch folder removed.

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs the binary with stdout connected to a pipe whose reader is already
/// closed, so its first write to stdout fails with a broken pipe.
fn with_closed_stdout(args: &[&str], extra: &[&Path]) -> Output {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let child = Command::new(common::EXE)
        .args(args)
        .args(extra)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .spawn()
        .expect("start bench-runner");
    child.wait_with_output().expect("wait for bench-runner")
}

fn assert_quiet_exit(what: &str, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked"),
        "{what} panicked on a closed stdout:\n{stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{what}:\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{what}:\n{stderr}");
    assert!(
        !stderr.contains("Broken pipe"),
        "{what} reported the closed stdout as an error:\n{stderr}"
    );
}

#[test]
fn list_exits_quietly() {
    let out = with_closed_stdout(&["list"], &[]);
    assert_quiet_exit("list", &out);
}

#[test]
fn completions_and_man_exit_quietly() {
    assert_quiet_exit(
        "completions",
        &with_closed_stdout(&["completions", "bash"], &[]),
    );
    assert_quiet_exit("man", &with_closed_stdout(&["man"], &[]));
}

#[test]
fn a_json_run_exits_quietly_and_keeps_its_results() {
    let disk = tempfile::tempdir().unwrap();
    let results = tempfile::tempdir().unwrap();
    let folder = results.path().join("r");
    let out = with_closed_stdout(
        &[
            "run",
            "--quick",
            "--engines",
            "wal",
            "--policies",
            "none,always",
            "--ops",
            "300",
            "--record-count",
            "500",
            "--no-probe",
            "--no-plots",
            "--format",
            "json",
            "--disk",
        ],
        &[disk.path(), Path::new("--out"), &folder],
    );
    assert_quiet_exit("run --format json", &out);
    // The first finished cell was written before its JSON line failed.
    for file in ["environment.json", "config.json", "runs.csv"] {
        assert!(folder.join(file).exists(), "{file} missing");
    }
    let runs = std::fs::read_to_string(folder.join("runs.csv")).unwrap();
    assert!(runs.lines().count() >= 2, "no row kept:\n{runs}");
    // The scratch folder went as the error unwound.
    let left: Vec<_> = std::fs::read_dir(disk.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "scratch left on --disk: {left:?}");
}
