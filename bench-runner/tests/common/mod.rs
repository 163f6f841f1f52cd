//! Test support shared by bench-runner's tests: the binary and its
//! `Command`, a temp disk, crash.csv rows, the skips (from
//! `test-support/skip.rs`, shared by every crate's tests), and the example
//! programs.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};

#[path = "../../../test-support/skip.rs"]
#[allow(dead_code)] // a test binary may need only one of its skips
mod skip;
#[allow(unused_imports)] // each test binary uses part of it
pub use skip::{fuse_present, python3};

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_bench-runner");

/// The binary under test as an `assert_cmd` command, without colours.
pub fn bench() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("bench-runner").unwrap();
    c.env("NO_COLOR", "1");
    c
}

/// A temp dir with an empty `disk/` folder.
pub fn setup() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    (t, disk)
}

/// The rows of `crash.csv` in the results folder `out`.
pub fn crash_rows(out: &Path) -> Vec<results::CrashRow> {
    results::read_csv(&out.join("crash.csv")).unwrap()
}

/// The absolute path of `examples/exec-engine/NAME`.
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/exec-engine")
        .join(name)
        .canonicalize()
        .unwrap()
}

/// `python3 'examples/exec-engine/NAME' ARGS`, the plain command line a
/// user types (the shell forks python3: the kill must reach it).
pub fn python_example(name: &str, args: &str) -> String {
    let cmd = format!("python3 '{}'", example(name).display());
    if args.is_empty() {
        cmd
    } else {
        format!("{cmd} {args}")
    }
}

/// Runs bench-runner with `args` then `paths`, colours off, and returns
/// its output whatever its exit status.
pub fn output(args: &[&str], paths: &[&Path]) -> std::process::Output {
    std::process::Command::new(EXE)
        .args(args)
        .args(paths)
        .env("NO_COLOR", "1")
        .output()
        .expect("run bench-runner")
}

/// A command's stderr as text.
pub fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// `results/tests/fixtures/format-vN`.
pub fn fixture(version: u32) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../results/tests/fixtures/format-v{version}"))
}

/// Copies the folder `from` into `to` (created), recursively.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A plan for one cell of `engine` under `none`, with no warm-up and
/// 100 ms timeline intervals, for tests that call `run_cell` directly.
pub fn none_cell(
    engine: &'static engines::registry::EngineInfo,
    workload: workloads::WorkloadSpec,
    until_steady: Option<std::time::Duration>,
) -> bench_runner::measure::cell::CellPlan {
    bench_runner::measure::cell::CellPlan {
        engine,
        policy: engines::SyncPolicy::NONE,
        workload,
        warmup: std::time::Duration::ZERO,
        enospc_after_bytes: None,
        harness_ns: None,
        timeline: bench_runner::measure::timeline::TimelineSettings {
            interval: std::time::Duration::from_millis(100),
            until_steady,
        },
    }
}
