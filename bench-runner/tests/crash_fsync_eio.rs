//! `crash --fs fuse --fsync-eio`: one fsync per trial answered with EIO,
//! the profile deciding what the failure does to the data. A program that
//! retries the fsync and then acknowledges is BROKEN on ext4-ordered (the
//! failed pages were marked clean: the retry wrote nothing), yet kept when
//! no fsync fails, and kept on ext4-journal (the error comes one fsync
//! late, after the data reached the journal); our engines, which fail the
//! write and poison, keep their promise on every profile. Needs /dev/fuse
//! (and root) and python3; skipped with a printed reason without them.

use std::path::Path;
use std::process::{Command, Stdio};

use results::CrashRow;

mod common;
use common::{crash_rows, fuse_present, python3, python_example, EXE};

fn retry_fsync_py() -> Option<String> {
    python3(None).then(|| python_example("retry_fsync.py", ""))
}

/// Runs `crash --fs fuse` with `extra`; its exit code and rows.
fn crash(disk: &Path, out: &str, extra: &[&str]) -> (Option<i32>, Vec<CrashRow>) {
    let status = Command::new(EXE)
        .args(["crash", "--fs", "fuse", "--quiet", "--ops", "12", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(disk.join(out))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let rows = crash_rows(&disk.join(out));
    (status.code(), rows)
}

#[test]
fn retrying_fsync_after_eio_is_caught_on_ext4_ordered() {
    if !fuse_present() {
        return;
    }
    let Some(cmd) = retry_fsync_py() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let program = ["--exec", &cmd, "--exec-promise", "always", "--trials", "4"];

    let (code, rows) = crash(
        tmp.path(),
        "eio",
        &[&program[..], &["--fsync-eio", "--profile", "ext4-ordered"]].concat(),
    );
    assert_eq!(code, Some(1), "a broken promise exits 1: {rows:?}");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].profile, "fuse-linux",
        "ext4-ordered keeps its old label"
    );
    assert_eq!(rows[0].verdict, "BROKEN", "{:?}", rows[0]);
    assert!(rows[0].lost_writes > 0);

    // The same program with no failing fsync keeps its promise: the EIO
    // and the retry are what lose the writes.
    let (code, rows) = crash(
        tmp.path(),
        "no-eio",
        &[&program[..], &["--profile", "ext4-ordered"]].concat(),
    );
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(rows[0].verdict, "kept");

    // ext4 data=journal reports the failure one fsync late, after the
    // data reached the journal: the retry happens to be right there.
    let (code, rows) = crash(
        tmp.path(),
        "journal",
        &[&program[..], &["--fsync-eio", "--profile", "ext4-journal"]].concat(),
    );
    assert_eq!(code, Some(0), "{rows:?}");
    assert_eq!(rows[0].profile, "fuse-ext4-journal");
    assert_eq!(rows[0].verdict, "kept");
}

#[test]
fn an_engine_that_poisons_keeps_its_promise_on_every_profile() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (code, rows) = crash(
        tmp.path(),
        "out",
        &[
            "--engines",
            "wal",
            "--policies",
            "always+dir",
            "--trials",
            "4",
            "--fsync-eio",
            "--profile",
            "all",
        ],
    );
    assert_eq!(code, Some(0), "{rows:?}");
    let profiles: Vec<&str> = rows.iter().map(|r| r.profile.as_str()).collect();
    assert_eq!(
        profiles,
        [
            "fuse-posix",
            "fuse-linux",
            "fuse-xfs",
            "fuse-btrfs",
            "fuse-ext4-journal"
        ]
    );
    for r in &rows {
        assert_eq!(r.verdict, "kept", "{r:?}");
    }
}
