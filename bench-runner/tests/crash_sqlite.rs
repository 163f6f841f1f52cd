//! SQLite's documented durability, checked through FUSE power cuts with
//! the example server `examples/exec-engine/sqlite_kv.py` (Python's
//! sqlite3), started by its plain command line: `sh -c` forks python3, so
//! these verdicts hold only if the kill reaches the program and not just
//! the shell (before process groups, WAL + FULL came out BROKEN: the
//! surviving server checkpointed and unlinked its WAL during the cut).
//! Skipped with a printed reason where /dev/fuse or python3's sqlite3 is
//! missing.

use std::path::Path;
use std::process::{Command, Stdio};

use results::CrashRow;

mod common;
use common::{crash_rows, fuse_present, python3, python_example, EXE};

fn runnable() -> bool {
    fuse_present() && python3(Some("sqlite3"))
}

fn server(journal: &str, synchronous: &str) -> String {
    python_example("sqlite_kv.py", &format!("{journal} {synchronous}"))
}

/// Runs `trials` power cuts per profile (posix and linux); the exit code
/// and the rows.
fn crash(
    disk: &Path,
    journal: &str,
    synchronous: &str,
    promise: &str,
    trials: u32,
) -> (i32, Vec<CrashRow>) {
    let out = disk.join(format!("{journal}-{synchronous}"));
    let status = Command::new(EXE)
        .args(["crash", "--fs", "fuse", "--profile", "both", "--trials"])
        .arg(trials.to_string())
        .args(["--exec", &server(journal, synchronous)])
        .args(["--exec-promise", promise, "--quiet", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    let rows = crash_rows(&out);
    (status.code().unwrap_or(-1), rows)
}

#[test]
fn sqlite_keeps_what_its_documentation_promises_and_loses_what_it_warns_of() {
    if !runnable() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // WAL + FULL: durable. DELETE + EXTRA: durable (the directory is synced
    // after the journal's unlink).
    for (journal, synchronous) in [("wal", "full"), ("delete", "extra")] {
        let (code, rows) = crash(tmp.path(), journal, synchronous, "always", 10);
        assert_eq!(code, 0, "{journal} {synchronous}: {rows:?}");
        assert_eq!(rows.len(), 2);
        for r in &rows {
            assert!(
                r.promise_kept && r.lost_writes == 0,
                "{journal} {synchronous}: {r:?}"
            );
            assert!(r.acked_writes > 0);
        }
    }
    // DELETE + FULL: "a transaction committed in rollback mode might roll
    // back following a power loss": the unlink of the journal, which
    // commits, is never made durable. Only the last commit can go.
    //
    // A cut loses the commit only when the kill lands before the next
    // transaction's syncs make the unlink durable and the cut then drops
    // it: 20-40% of the trials on `posix` (19 of 70 on a fast machine, so
    // 40 trials all keeping it is a chance of about 1e-5), and fewer on
    // `linux`, where any file sync commits earlier names (5 of 40; 10
    // trials all kept it one run in three). A `kept` row there agrees
    // with the documentation's "might"; what it does lose must be
    // explained. See docs/crash.md.
    let (code, rows) = crash(tmp.path(), "delete", "full", "always", 40);
    assert_eq!(code, 1, "{rows:?}");
    assert_eq!(rows.len(), 2, "{rows:?}");
    for r in &rows {
        assert_eq!(
            r.lost_writes, r.trials_with_loss,
            "more than the last commit lost in a trial: {r:?}"
        );
        if r.profile == "fuse-posix" {
            assert!(!r.promise_kept && r.trials_with_loss > 0, "{r:?}");
        }
        if r.trials_with_loss > 0 {
            // The journal came back: its unlink, the commit, was never
            // synced.
            assert!(r.loss_causes.contains("removal never synced="), "{r:?}");
        }
        assert!(r.corrupt_reads == 0 && r.recovery_failures == 0, "{r:?}");
    }
    // WAL + NORMAL: recent commits may roll back (an expected loss under
    // `none`), and nothing is corrupt.
    let (code, rows) = crash(tmp.path(), "wal", "normal", "none", 10);
    assert_eq!(code, 0, "{rows:?}");
    for r in &rows {
        assert!(r.promise_kept && r.corrupt_reads == 0, "{r:?}");
    }
    assert!(rows.iter().any(|r| r.lost_writes > 0), "{rows:?}");
}
