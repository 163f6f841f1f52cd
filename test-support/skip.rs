//! The skips of tests that need something the machine may lack: a FUSE
//! device, python3. Each crate's `tests/common/mod.rs` includes this one
//! file. A skip prints why and the test passes; where a skip must not
//! pass silently (CI, see `.ci/run`), `BENCH_REQUIRE_FUSE=1` or
//! `BENCH_REQUIRE_PYTHON=1` turns the missing tool into a failure.

use std::path::Path;
use std::process::Command;

/// Whether `var` is set to `1`.
fn required(var: &str) -> bool {
    std::env::var_os(var).is_some_and(|v| v == "1")
}

/// Prints why a test is skipped, or panics when `var` requires what is
/// missing.
fn skip(var: &str, why: &str) {
    assert!(!required(var), "{var}=1 but {why}");
    eprintln!("skipped: {why}");
}

/// Whether FUSE mounts can be made here; prints why not, or panics when
/// `BENCH_REQUIRE_FUSE=1`.
pub fn fuse_present() -> bool {
    if Path::new("/dev/fuse").exists() {
        return true;
    }
    skip(
        "BENCH_REQUIRE_FUSE",
        "/dev/fuse is absent, so nothing can be mounted through FUSE here",
    );
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
        skip("BENCH_REQUIRE_PYTHON", &why);
    }
    ok
}
