//! Records what built the binary, for `environment.json` and `--version`:
//! - `BENCH_GIT_COMMIT`: the project's git commit (`unknown` when built
//!   outside a git checkout or without git);
//! - `BENCH_LOCKED_<NAME>`: the versions of the reference engines' crates
//!   in the workspace's Cargo.lock (`unknown` when it cannot be read).
//!
//! It lives in the binary's crate, not in the crates below it, so that a
//! new commit rebuilds only bench-runner.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The reference engines' crates whose locked versions are recorded.
const LOCKED_CRATES: [&str; 4] = ["rusqlite", "redb", "fjall", "heed"];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    export_git_commit(&dir);
    export_locked_versions(&dir.join("..").join("Cargo.lock"));
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

fn export_git_commit(dir: &Path) {
    let commit = git(dir, &["rev-parse", "HEAD"]);
    // Re-run when HEAD moves: HEAD itself (a branch switch), the branch's
    // ref (a commit), and packed-refs (a ref packed by gc).
    if commit.is_some() {
        let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
        if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(branch);
        }
        for name in watched {
            // Only existing paths: cargo reruns a build script whose
            // watched path is missing every time, rebuilding this crate on
            // each `cargo` command.
            if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
                let path = dir.join(path);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    println!(
        "cargo:rustc-env=BENCH_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}

fn export_locked_versions(lock: &Path) {
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    for name in LOCKED_CRATES {
        let version = locked_version(&text, name).unwrap_or("unknown");
        println!(
            "cargo:rustc-env=BENCH_LOCKED_{}={version}",
            name.to_uppercase()
        );
    }
}

/// The version of the first `[[package]]` called `name` in a Cargo.lock.
fn locked_version<'a>(lock: &'a str, name: &str) -> Option<&'a str> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let next = lines.next()?.trim();
            return next
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'));
        }
    }
    None
}
