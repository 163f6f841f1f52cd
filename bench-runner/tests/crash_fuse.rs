//! `crash --fs fuse`: the power cut through a real kernel path agrees with
//! the in-process trials for our engines (same verdicts, from the same
//! classification), loses unsynced writes under `none`, and never leaves a
//! mount behind (after a run, a run whose check failed, a run that failed
//! with an error, and SIGINT). Needs /dev/fuse (and root); each test is
//! skipped with a printed reason where /dev/fuse is absent.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crashcheck::LineSpec;
use engines::fs::Profile;
use results::CrashRow;

mod common;
use common::{crash_rows, fuse_present, python3, python_example, EXE};

fn crash_cmd(disk: &Path, out: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(["crash", "--fs", "fuse", "--quiet", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(disk.join(out))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn no_mount_under(dir: &Path, after: &str) {
    let left = simfuse::mounts_under(dir);
    assert!(left.is_empty(), "{after} left mounts: {left:?}");
}

#[test]
fn fuse_and_in_process_trials_agree_for_our_engines() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let engines = ["wal", "bitcask", "loghash", "lsm", "btree"];
    // Eight power cuts per line: each crash mode twice.
    let status = crash_cmd(
        tmp.path(),
        "out",
        &[
            "--engines",
            &engines.join(","),
            "--policies",
            "always,always+dir",
            "--trials",
            "8",
            "--ops",
            "80",
        ],
    )
    .status()
    .unwrap();
    no_mount_under(tmp.path(), "a run");
    let all = crash_rows(&tmp.path().join("out"));
    assert_eq!(status.code(), Some(0), "no line may be BROKEN: {all:#?}");
    // One-writer lines, and (--threads 4, a fifth of the trials) one
    // concurrent line per line: both policies' acknowledgements mean durable.
    let (concurrent, fuse): (Vec<CrashRow>, Vec<CrashRow>) = all
        .into_iter()
        .partition(|r| r.profile.ends_with(" 4 threads"));
    assert_eq!(fuse.len(), engines.len() * 2 * 2);
    assert_eq!(concurrent.len(), fuse.len(), "{concurrent:#?}");
    let mut disagreements = Vec::new();
    for f in &fuse {
        let profile = match f.profile.as_str() {
            "fuse-posix" => Profile::Posix,
            "fuse-linux" => Profile::Linux,
            other => panic!("unexpected profile {other}"),
        };
        let sim = crashcheck::run_line(&LineSpec {
            engine: engines::registry::info(&f.engine).unwrap(),
            policy: f.policy.parse().unwrap(),
            profile,
            trials: 100,
            base_seed: 7,
            ops: 80,
            broken_sync: false,
        });
        let same_promise = f.promise_kept == sim.promise_kept;
        let same_loss = (f.lost_writes > 0) == (sim.lost_writes > 0);
        if !same_promise || !same_loss || f.verdict != sim.verdict {
            disagreements.push(format!(
                "{} {} {}: fuse {} lost={} ({}), in-process {} lost={} ({})",
                f.engine,
                f.policy,
                f.profile,
                f.verdict,
                f.lost_writes,
                f.first_violation,
                sim.verdict,
                sim.lost_writes,
                sim.first_violation
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn none_loses_unsynced_writes_through_fuse() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let status = crash_cmd(
        tmp.path(),
        "out",
        &[
            "--engines",
            "bitcask",
            "--policies",
            "none",
            "--trials",
            "4",
        ],
    )
    .status()
    .unwrap();
    let rows = crash_rows(&tmp.path().join("out"));
    assert_eq!(status.code(), Some(0), "{rows:#?}");
    for r in rows {
        assert!(
            r.lost_writes > 0,
            "{}: a power cut under none lost nothing",
            r.profile
        );
        assert!(r.promise_kept, "none promises nothing: {:?}", r);
        assert_eq!(r.verdict, "lost (no sync: expected)");
    }
}

fn kv_py(mode: &str) -> Option<String> {
    python3(None).then(|| python_example("kv.py", mode))
}

#[test]
fn no_mount_remains_after_a_run_a_failed_check_or_an_error() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ok = crash_cmd(
        tmp.path(),
        "ok",
        &[
            "--engines",
            "bitcask",
            "--policies",
            "always+dir",
            "--trials",
            "2",
        ],
    )
    .status()
    .unwrap();
    assert_eq!(ok.code(), Some(0));
    no_mount_under(tmp.path(), "a run");
    let profiles: Vec<String> = crash_rows(&tmp.path().join("ok"))
        .into_iter()
        .map(|r| r.profile)
        .collect();
    assert_eq!(profiles, ["fuse-posix", "fuse-linux"]);

    // A program that dies at once cannot be driven: an error (exit 2).
    let err = crash_cmd(
        tmp.path(),
        "err",
        &[
            "--exec",
            "exit 3",
            "--exec-promise",
            "always",
            "--trials",
            "2",
        ],
    )
    .status()
    .unwrap();
    assert_eq!(err.code(), Some(2));
    no_mount_under(tmp.path(), "a run that failed with an error");

    // A program that never syncs its directory breaks `always` on posix.
    let Some(cmd) = kv_py("fsync") else { return };
    let failed = crash_cmd(
        tmp.path(),
        "failed",
        &[
            "--exec",
            &cmd,
            "--exec-promise",
            "always",
            "--profile",
            "posix",
            "--trials",
            "8",
            "--ops",
            "120",
        ],
    )
    .status()
    .unwrap();
    assert_eq!(failed.code(), Some(1));
    no_mount_under(tmp.path(), "a run whose check failed");
}

#[test]
fn no_mount_remains_after_ctrl_c() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut child = crash_cmd(
        tmp.path(),
        "out",
        &[
            "--engines",
            "bitcask",
            "--policies",
            "always",
            "--trials",
            "100000",
        ],
    )
    .spawn()
    .unwrap();
    // Wait for a mount to appear (bounded, so a broken build fails rather than hangs).
    let started = Instant::now();
    while simfuse::mounts_under(tmp.path()).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no mount appeared"
        );
        assert!(child.try_wait().unwrap().is_none(), "the run ended early");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Twice: a second signal must not end the run before its mounts are undone.
    for _ in 0..2 {
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("the run did not end after SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(130));
    no_mount_under(tmp.path(), "SIGINT");
}

/// The `--replay` trace of an `--exec` trial on FUSE, for the first trials
/// of `--seed 1` on `posix` (trial `i` crashes in mode `i mod 4`).
fn fuse_replay(disk: &Path, cmd: &str, trial: u64) -> String {
    let seed = bench_runner::commands::crash::fuse::fuse_seed(1, Profile::Posix, trial);
    let out = Command::new(EXE)
        .args(["crash", "--fs", "fuse", "--quiet", "--disk"])
        .arg(disk)
        .args([
            "--exec",
            cmd,
            "--exec-promise",
            "always",
            "--profile",
            "posix",
        ])
        .args(["--seed", "1", "--ops", "40", "--replay", &seed.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "replay failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The operation number of a `#N ...` trace entry after `prefix`.
fn op_number(line: &str, prefix: &str) -> Option<u64> {
    let rest = line.trim_start().strip_prefix(prefix)?.strip_prefix('#')?;
    rest.split(' ').next()?.parse().ok()
}

#[test]
fn replay_of_an_exec_trial_traces_fuse_requests_syncs_and_the_power_cut() {
    if !fuse_present() {
        return;
    }
    let Some(cmd) = kv_py("fsync") else { return };
    let tmp = tempfile::tempdir().unwrap();
    // Trial 0 keeps only durable state; trial 1 a prefix in time.
    for trial in [0, 1] {
        let text = fuse_replay(tmp.path(), &cmd, trial);
        let lines: Vec<&str> = text.lines().collect();
        let cut = lines
            .iter()
            .position(|l| l.trim_start().starts_with("power cut: "))
            .unwrap_or_else(|| panic!("trial {trial}: no power cut line:\n{text}"));
        let before = &lines[..cut];
        // Every request's calls print under it, with operation numbers.
        let first_op = before
            .iter()
            .position(|l| l.trim_start().starts_with("op 0: "));
        let write = before
            .iter()
            .position(|l| op_number(l, "fs: ").is_some() && l.contains(" write /db/seg-"));
        assert!(
            first_op < write,
            "trial {trial}: no numbered write under a request:\n{text}"
        );
        assert!(
            before.iter().any(|l| l.contains("fs: FUSE fsync"))
                && before.iter().any(|l| l.contains("fs: fsync /db/seg-")),
            "trial {trial}: no FUSE fsync and sync lines:\n{text}"
        );
        let served: Vec<u64> = before.iter().filter_map(|l| op_number(l, "fs: ")).collect();
        // Under the power cut: each pending operation, kept or dropped, by
        // the number it was served with.
        let recovery = lines[cut..]
            .iter()
            .position(|l| l.trim() == "recovery:")
            .map_or(lines.len(), |r| cut + r);
        let kept: Vec<u64> = lines[cut..recovery]
            .iter()
            .filter_map(|l| op_number(l, "kept: "))
            .collect();
        let dropped: Vec<u64> = lines[cut..recovery]
            .iter()
            .filter_map(|l| op_number(l, "dropped: "))
            .collect();
        for n in kept.iter().chain(&dropped) {
            assert!(
                served.contains(n),
                "trial {trial}: #{n} under the power cut was never served:\n{text}"
            );
        }
        // kv.py never syncs its directory: the segment's name is pending on posix.
        let create = lines[cut..recovery]
            .iter()
            .find(|l| l.contains("#1 create /db/seg-000000.log"));
        assert!(
            create.is_some(),
            "trial {trial}: the unsynced create is not listed:\n{text}"
        );
        match trial {
            0 => assert!(
                kept.is_empty() && !dropped.is_empty(),
                "durable state only keeps nothing pending:\n{text}"
            ),
            _ => assert!(
                kept.iter().all(|k| dropped.iter().all(|d| k < d)),
                "a prefix in time keeps earlier operations than it drops:\n{text}"
            ),
        }
    }
}

/// redb 4.6 never fsyncs the directory of the file it creates: without
/// `+dir` a power cut on `posix` takes the whole database (trials 0 and 4
/// keep only durable state, so they lose it whenever a write was
/// acknowledged); the `+dir` mapping syncs the name before redb opens the
/// file and keeps everything.
#[test]
fn redb_loses_its_file_without_dir_and_keeps_it_with_the_dir_mapping() {
    if !fuse_present() {
        return;
    }
    if engines::registry::info("redb").is_err() {
        eprintln!("skipped: built without the reference engines");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let status = crash_cmd(
        tmp.path(),
        "out",
        &[
            "--engines",
            "redb",
            "--policies",
            "always,always+dir",
            "--profile",
            "posix",
            "--trials",
            "8",
            "--threads",
            "0",
        ],
    )
    .status()
    .unwrap();
    let rows = crash_rows(&tmp.path().join("out"));
    assert_eq!(status.code(), Some(0), "{rows:#?}");
    let [plain, dir] = &rows[..] else {
        panic!("two lines expected: {rows:#?}")
    };
    assert_eq!(
        (plain.policy.as_str(), dir.policy.as_str()),
        ("always", "always+dir")
    );
    assert!(
        plain.trials_with_loss >= 2 && plain.files_lost >= 2,
        "redb always kept its file through durable-only power cuts: {plain:?}"
    );
    assert_eq!(plain.verdict, "lost (no dir sync: expected)");
    assert_eq!(
        (dir.lost_writes, dir.files_lost, dir.verdict.as_str()),
        (0, 0, "kept"),
        "{dir:?}"
    );
}
