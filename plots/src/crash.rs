//! The crash-verification section's words and table: what each simulated
//! profile keeps, and one line per engine, policy and profile.

use std::fmt::Write as _;

use results::CrashRow;

/// Expected losses of a row; rows from before the column existed count
/// every loss of a kept promise as expected.
pub(crate) fn expected_lost(c: &CrashRow) -> u64 {
    if c.verdict.is_empty() && c.promise_kept {
        c.lost_writes
    } else {
        c.expected_lost_writes.min(c.lost_writes)
    }
}

/// What a simulated profile keeps, in the words of someone choosing an
/// engine.
fn profile_words(profile: &str) -> Option<&'static str> {
    Some(match profile {
        "posix" => "`posix`: unsynced data and never-synced file names vanish",
        "linux" => "`linux`: unsynced data vanishes, a file sync also keeps the names created before it",
        "xfs" => "`xfs`: unsynced data vanishes, a file sync also keeps the names created before it, and a rename or create may survive without the data written before it",
        "btrfs" => "`btrfs`: unsynced data vanishes, a file sync keeps that file's own name but not the names of other files created or renamed before it",
        "ext4-journal" => "`ext4-journal` (ext4 data=journal): data and names are kept in the order they were made, a crash keeps everything up to a point",
        _ => return None,
    })
}

/// What a crash was, in the words of someone choosing an engine.
pub(crate) fn crash_fs_words(profile: &str) -> String {
    let (fs, threads) = profile.split_once(' ').unwrap_or((profile, ""));
    let base = if let Some(w) = profile_words(fs) {
        format!("simulated power cut, {w}")
    } else if let Some(w) = fs.strip_prefix("fuse-").and_then(profile_words) {
        format!(
            "power cut under a separate process writing through a FUSE mount of the simulator, {w}"
        )
    } else if fs == "process-kill" {
        "the engine process killed with SIGKILL on a real disk: the kernel's page cache survives"
            .to_string()
    } else {
        fs.to_string()
    };
    if threads.is_empty() {
        base
    } else {
        format!("{base}; {threads} writing at once")
    }
}

pub(crate) fn crash_table(crash: &[CrashRow]) -> String {
    let mut m = String::new();
    let _ = writeln!(
        m,
        "Each line crashed an engine many times under one policy and checked what it kept. A **power cut** (fs `posix`, `linux`) drops everything the engine had not synced, as a machine losing power would; `posix` keeps a new file's name only after a directory fsync, `linux` behaves like ext4 in its default `data=ordered` mode (a file fsync also commits the names made before it); `fuse-posix` and `fuse-linux` are the same power cuts under any engine (SQLite, redb, fjall, LMDB, an external program) running as its own process on a FUSE mount of the simulated filesystem. A **process kill** (`process-kill`) kills the engine with SIGKILL on a real disk: what reached the kernel survives. **BROKEN** means the engine lost or corrupted data it had promised to keep under that policy: do not rely on that engine with that setting. *Expected* losses are what the policy allows (without `+dir`, file names never synced; `none` and `batch:N`, writes not yet synced).\n"
    );
    let _ = writeln!(
        m,
        "| engine | policy | fs | trials | acked writes | trials with loss | writes lost | of which expected | files lost | corrupt reads | resurrected deletes | recovery failures | verdict |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for c in crash {
        let verdict = if !c.promise_kept {
            format!(
                "**BROKEN** (first failing seed {})",
                c.first_failing_seed.map_or("?".into(), |s| s.to_string())
            )
        } else if c.verdict.is_empty() {
            "kept".to_string()
        } else {
            c.verdict.clone()
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.engine,
            c.policy,
            c.profile,
            c.trials,
            c.acked_writes,
            c.trials_with_loss,
            c.lost_writes,
            expected_lost(c),
            c.files_lost,
            c.corrupt_reads,
            c.resurrected_deletes,
            c.recovery_failures,
            verdict
        );
    }
    let _ = writeln!(m);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_profile_is_described_in_words_fuse_or_not() {
        assert_eq!(
            crash_fs_words("fuse-posix 4 threads"),
            "power cut under a separate process writing through a FUSE mount of the simulator, \
             `posix`: unsynced data and never-synced file names vanish; 4 threads writing at once"
        );
        for p in ["posix", "linux", "xfs", "btrfs", "ext4-journal"] {
            assert!(
                crash_fs_words(p).starts_with("simulated power cut, `"),
                "{p}"
            );
            assert!(crash_fs_words(&format!("fuse-{p}")).contains("FUSE"), "{p}");
        }
    }
}
