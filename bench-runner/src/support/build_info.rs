//! What built this binary: the git commit and the storage libraries'
//! versions, recorded in every `environment.json` (`build.rs` reads them
//! when the binary is built).

use std::collections::BTreeMap;
use std::path::Path;

/// The git commit this binary was built from, or `unknown` outside a git
/// checkout.
pub const GIT_COMMIT: &str = env!("BENCH_GIT_COMMIT");

/// [`GIT_COMMIT`] shortened to 10 hex digits, for `--version`.
pub fn short_commit() -> &'static str {
    GIT_COMMIT.get(..10).unwrap_or(GIT_COMMIT)
}

/// The version of each storage library compiled in, by name: the versions
/// SQLite and LMDB report (`sqlite`, `lmdb`) and the crate versions locked
/// in Cargo.lock (`rusqlite`, `redb`, `fjall`, `heed`; `unknown` when the
/// lock file was unreadable). Empty without the `reference-engines`
/// feature.
pub fn library_versions() -> BTreeMap<String, String> {
    let mut versions = engines::reference::native_library_versions();
    if cfg!(feature = "reference-engines") {
        for (name, version) in [
            ("rusqlite", env!("BENCH_LOCKED_RUSQLITE")),
            ("redb", env!("BENCH_LOCKED_REDB")),
            ("fjall", env!("BENCH_LOCKED_FJALL")),
            ("heed", env!("BENCH_LOCKED_HEED")),
        ] {
            versions.insert(name.to_string(), version.to_string());
        }
    }
    versions
}

/// The machine (and the disk behind `disk`, if given), stamped with what
/// built this binary: the `environment.json` every command writes.
pub fn environment(disk: Option<&Path>) -> results::Environment {
    let mut env = results::Environment::capture(disk);
    env.git_commit = Some(GIT_COMMIT.to_string());
    env.libraries = library_versions();
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_git_commit_and_the_libraries() {
        let env = environment(None);
        let commit = env.git_commit.as_deref().unwrap_or_default();
        // Built in a checkout: a full hash; elsewhere the word `unknown`.
        assert!(
            commit == "unknown"
                || (commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit())),
            "{commit:?}"
        );
        if cfg!(feature = "reference-engines") {
            for name in ["sqlite", "lmdb", "rusqlite", "redb", "fjall", "heed"] {
                let version = env.libraries.get(name).map(String::as_str);
                assert!(
                    version.is_some_and(|v| v != "unknown" && !v.is_empty()),
                    "{name}: {version:?}"
                );
            }
        }
    }
}
