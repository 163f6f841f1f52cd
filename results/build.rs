//! Exports the project's git commit as `RESULTS_GIT_COMMIT` (`unknown` when
//! built outside a git checkout or without git), for `environment.json`.

use std::path::Path;
use std::process::Command;

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

fn main() {
    let dir = std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default();
    let dir = Path::new(&dir);
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
            // watched path is missing every time, rebuilding this crate
            // and everything above it on each `cargo` command.
            if let Some(path) = git(dir, &["rev-parse", "--git-path", &name]) {
                let path = dir.join(path);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
    println!(
        "cargo:rustc-env=RESULTS_GIT_COMMIT={}",
        commit.as_deref().unwrap_or("unknown")
    );
}
