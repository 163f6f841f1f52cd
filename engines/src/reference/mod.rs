//! Reference engines: SQLite, redb and fjall behind the same [`Engine`]
//! trait, so the matrix has a known production engine next to the five of
//! the seed. They are compiled with the `reference-engines` feature (on by
//! default).
//!
//! Their I/O does not go through [`crate::fs::Vfs`]: the sync-count columns
//! stay empty, engine write amplification comes from the process's
//! `/proc/self/io` counter, and the crash simulator cannot reach them
//! (`bench-runner crash --kill` checks their process-crash durability on a
//! real disk).
//!
//! ## Policy mapping
//!
//! | policy | sqlite (WAL journal) | redb | fjall |
//! |---|---|---|---|
//! | `none` | `synchronous=OFF` | `Durability::Eventual` (written, not synced) | `PersistMode::Buffer` after each write |
//! | `always` | `synchronous=FULL` | `Durability::Immediate` | `PersistMode::SyncData` after each write (`SyncAll` with `@fsync`) |
//! | `batch:N` | not expressible | `Immediate` every N-th commit, `Eventual` otherwise | `SyncData` every N-th write, `Buffer` otherwise |
//! | `group` | not expressible | not expressible | not expressible |
//! | `+dir` | not separable: each engine syncs its own directory entries | same | same |
//!
//! redb's `Durability::None` is not used for `none`: it keeps commits out of
//! the file entirely until a later durable commit, so a process crash would
//! lose them, which is weaker than this suite's `none` (handed to the kernel).

#[cfg(feature = "reference-engines")]
mod fjall_engine;
#[cfg(feature = "reference-engines")]
mod redb_engine;
#[cfg(feature = "reference-engines")]
mod sqlite;

#[cfg(feature = "reference-engines")]
pub use fjall_engine::FjallEngine;
#[cfg(feature = "reference-engines")]
pub use redb_engine::RedbEngine;
#[cfg(feature = "reference-engines")]
pub use sqlite::SqliteEngine;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::engine::Capabilities;
use crate::policy::{SyncMode, SyncPolicy, SyncPrimitive};
#[allow(unused_imports)]
use crate::Engine;

/// Capabilities of the reference engines: everything but replay.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: true,
    deletes: true,
    replay: false,
};

fn common(policy: &SyncPolicy, engine: &str) -> Result<(), String> {
    if policy.mode == SyncMode::Group {
        return Err(format!(
            "{engine} has no leader/follower group commit this suite can drive"
        ));
    }
    if policy.dir_sync {
        return Err(format!(
            "{engine} syncs its own directory entries, so `+dir` cannot be told apart from the plain policy; use `{}`",
            SyncPolicy { dir_sync: false, ..*policy }
        ));
    }
    Ok(())
}

/// Policies SQLite can express.
pub fn sqlite_supports(policy: &SyncPolicy) -> Result<(), String> {
    common(policy, "sqlite")?;
    if matches!(policy.mode, SyncMode::Batch(_)) {
        return Err("sqlite has no setting that syncs every N commits (grouping writes into one transaction would change what an acknowledgement means)".into());
    }
    if policy.primitive == SyncPrimitive::Fsync {
        return Err(
            "sqlite chooses its own sync call (fdatasync on Linux); `@fsync` is not expressible"
                .into(),
        );
    }
    Ok(())
}

/// Policies redb can express.
pub fn redb_supports(policy: &SyncPolicy) -> Result<(), String> {
    common(policy, "redb")?;
    if policy.primitive == SyncPrimitive::Fsync {
        return Err("redb chooses its own sync call; `@fsync` is not expressible".into());
    }
    Ok(())
}

/// Policies fjall can express.
pub fn fjall_supports(policy: &SyncPolicy) -> Result<(), String> {
    common(policy, "fjall")
}

/// Decides, write by write, whether this write must be durable.
#[derive(Debug)]
pub struct Cadence {
    policy: SyncPolicy,
    writes: AtomicU64,
}

impl Cadence {
    /// For `policy`.
    pub fn new(policy: SyncPolicy) -> Self {
        Cadence {
            policy,
            writes: AtomicU64::new(0),
        }
    }

    /// Counts a write; true when it must be made durable before it is
    /// acknowledged.
    pub fn durable_now(&self) -> bool {
        let n = self.writes.fetch_add(1, Relaxed) + 1;
        match self.policy.mode {
            SyncMode::None => false,
            SyncMode::Always | SyncMode::Group => true,
            SyncMode::Batch(b) => n % u64::from(b) == 0,
        }
    }

    /// Writes so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Relaxed)
    }
}

/// Maps a library error to this crate's error, naming the engine and path.
pub(crate) fn lib_err(
    engine: &'static str,
    path: &std::path::Path,
    e: impl std::fmt::Display,
) -> crate::Error {
    crate::Error::io(engine, path, std::io::Error::other(e.to_string()))
}
