//! Test support shared by the crash tests: the binary, the skips, and the
//! example programs. A skip prints why; where CI must not skip, it sets
//! `BENCH_REQUIRE_FUSE=1` or `BENCH_REQUIRE_PYTHON=1`, and the missing tool
//! fails the test instead of passing it silently.

#![allow(dead_code)] // each test binary uses part of it

use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test.
pub const EXE: &str = env!("CARGO_BIN_EXE_bench-runner");

fn required(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v == "1")
}

/// Whether FUSE mounts can be made here; prints why not, or panics when
/// `BENCH_REQUIRE_FUSE=1`.
pub fn fuse_present() -> bool {
    if Path::new("/dev/fuse").exists() {
        return true;
    }
    let why = "/dev/fuse is absent, so nothing can be mounted through FUSE here";
    assert!(
        !required("BENCH_REQUIRE_FUSE"),
        "BENCH_REQUIRE_FUSE=1 but {why}"
    );
    eprintln!("skipped: {why}");
    false
}

/// Whether `python3` runs here (and imports `module`, if given); prints why
/// not, or panics when `BENCH_REQUIRE_PYTHON=1`.
pub fn python3(module: Option<&str>) -> bool {
    let script = module.map_or_else(|| "pass".to_string(), |m| format!("import {m}"));
    let ok = Command::new("python3")
        .args(["-c", &script])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        let why = match module {
            Some(m) => format!("python3 with its {m} module is not installed"),
            None => "python3 is not installed, the example programs cannot run".to_string(),
        };
        assert!(
            !required("BENCH_REQUIRE_PYTHON"),
            "BENCH_REQUIRE_PYTHON=1 but {why}"
        );
        eprintln!("skipped: {why}");
    }
    ok
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
