//! Exports the locked versions of the reference engines' crates as
//! `ENGINES_LOCKED_<NAME>` (read by `reference::library_versions`), from
//! the workspace's Cargo.lock; `unknown` when it cannot be read.

use std::path::PathBuf;

const CRATES: [&str; 4] = ["rusqlite", "redb", "fjall", "heed"];

fn main() {
    let lock = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(|d| PathBuf::from(d).join("..").join("Cargo.lock"));
    if let Some(lock) = &lock {
        println!("cargo:rerun-if-changed={}", lock.display());
    }
    let text = lock
        .and_then(|l| std::fs::read_to_string(l).ok())
        .unwrap_or_default();
    for name in CRATES {
        let version = locked_version(&text, name).unwrap_or("unknown");
        println!(
            "cargo:rustc-env=ENGINES_LOCKED_{}={version}",
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
