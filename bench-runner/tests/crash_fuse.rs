//! `crash --fs fuse`: the power cut through a real kernel path agrees with
//! the in-process trials for our engines, loses unsynced writes under
//! `none`, and never leaves a mount behind (after a run, a run whose check
//! failed, and Ctrl-C). Needs /dev/fuse (and root); each test is skipped
//! with a printed reason where /dev/fuse is absent.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bench_runner::crash_fuse::FuseLine;
use engines::crash;
use engines::fs::Profile;
use engines::SyncPolicy;

const EXE: &str = env!("CARGO_BIN_EXE_bench-runner");

fn fuse_present() -> bool {
    if Path::new("/dev/fuse").exists() {
        return true;
    }
    eprintln!("skipped: /dev/fuse is absent, so nothing can be mounted through FUSE here");
    false
}

fn fuse_line(work: &Path, engine: &str, policy: &str, profile: Profile) -> crash::CrashSummary {
    let line = FuseLine {
        exe: Path::new(EXE),
        work,
        engine: engines::registry::info(engine).unwrap(),
        policy: policy.parse().unwrap(),
        profile,
        ops: 60,
    };
    // Four trials: each crash mode once (durable state only, prefix, torn, subset).
    line.run(4, 7, &AtomicBool::new(false)).unwrap().unwrap()
}

#[test]
fn fuse_and_in_process_trials_agree_for_our_engines() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut disagreements = Vec::new();
    for engine in ["wal", "bitcask", "loghash", "lsm", "btree"] {
        for policy in ["always", "always+dir"] {
            for profile in [Profile::Posix, Profile::Linux] {
                let fuse = fuse_line(tmp.path(), engine, policy, profile);
                let info = engines::registry::info(engine).unwrap();
                let p: SyncPolicy = policy.parse().unwrap();
                let sim = crash::run_line(info, p, profile, 100, 7, 80);
                let same_promise = fuse.promise_kept() == sim.promise_kept();
                let same_loss = (fuse.lost_writes > 0) == (sim.lost_writes > 0);
                if !same_promise || !same_loss {
                    disagreements.push(format!(
                        "{engine} {policy} {}: fuse kept={} lost={} ({:?}), in-process kept={} lost={} ({:?})",
                        profile.name(),
                        fuse.promise_kept(),
                        fuse.lost_writes,
                        fuse.first_violation,
                        sim.promise_kept(),
                        sim.lost_writes,
                        sim.first_violation
                    ));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
    assert!(simfuse::mounts_under(tmp.path()).is_empty());
}

#[test]
fn none_loses_unsynced_writes_through_fuse() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for profile in [Profile::Posix, Profile::Linux] {
        let s = fuse_line(tmp.path(), "bitcask", "none", profile);
        assert!(
            s.lost_writes > 0,
            "{}: a power cut under none lost nothing",
            profile.name()
        );
        assert!(
            s.promise_kept(),
            "none promises nothing: {:?}",
            s.first_violation
        );
    }
}

fn crash_cmd(disk: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(EXE);
    c.args(["crash", "--fs", "fuse", "--quiet", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(disk.join("out"))
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

#[test]
fn no_mount_remains_after_a_run_or_a_failed_check() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let ok = crash_cmd(
        tmp.path(),
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
    assert!(
        simfuse::mounts_under(tmp.path()).is_empty(),
        "a run left a mount"
    );
    let rows = std::fs::read_to_string(tmp.path().join("out/crash.csv")).unwrap();
    assert!(
        rows.contains("fuse-posix") && rows.contains("fuse-linux"),
        "{rows}"
    );

    // always without +dir on posix loses never-synced names: exit 1.
    let failed = crash_cmd(
        tmp.path(),
        &[
            "--engines",
            "wal",
            "--policies",
            "always",
            "--profile",
            "posix",
            "--trials",
            "4",
        ],
    )
    .status()
    .unwrap();
    assert_eq!(failed.code(), Some(1));
    assert!(
        simfuse::mounts_under(tmp.path()).is_empty(),
        "a failed run left a mount"
    );
}

#[test]
fn no_mount_remains_after_ctrl_c() {
    if !fuse_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut child = crash_cmd(
        tmp.path(),
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
        std::thread::sleep(Duration::from_millis(20));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
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
    assert!(
        simfuse::mounts_under(tmp.path()).is_empty(),
        "Ctrl-C left a mount"
    );
}
