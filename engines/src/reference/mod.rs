//! Reference engines: SQLite, redb, fjall and LMDB behind the same
//! [`Engine`] trait, so the matrix has known production engines next to the
//! five engines of this project. They are compiled with the `reference-engines` feature
//! (on by default).
//!
//! Their I/O does not go through [`crate::fs::Vfs`]: the sync-count columns
//! stay empty, engine write amplification comes from the process's
//! `/proc/self/io` counter, and the crash simulator cannot reach them
//! (`bench-runner crash --kill` checks their process-crash durability on a
//! real disk).
//!
//! Each adapter keeps its library's handle in a `Lifecycle`
//! (`lifecycle.rs`): the closed flag, the handle lock, the byte and write
//! counts, the error mapping and the stats note are the same for all four,
//! so an adapter holds only what its library needs.
//!
//! ## Errors
//!
//! A library's report that its stored data is damaged (SQLite's
//! `SQLITE_CORRUPT` and `SQLITE_NOTADB`, redb's corruption and "not a redb
//! database", LMDB's `MDB_CORRUPTED`, `MDB_PAGE_NOTFOUND` and `MDB_INVALID`,
//! fjall's checksum, format and journal-recovery errors) is
//! [`crate::Error::Corrupt`] naming the database's file or folder, without
//! an offset; every other library error is an [`crate::Error::Io`] naming the
//! engine.
//!
//! ## Durability
//!
//! Each policy maps to the library's own setting; what a library cannot
//! express faithfully is refused by its `*_supports` function with the
//! reason, never approximated. The syncs per write counted with strace on
//! this project's machines are in docs/guide.md (*Reference engines*).
//!
//! | policy | sqlite (WAL journal) | redb | fjall | lmdb |
//! |---|---|---|---|---|
//! | `none` | `synchronous=OFF` | refused (see below) | `PersistMode::Buffer` after each write | `MDB_NOSYNC` |
//! | `always` | `synchronous=FULL` | `Durability::Immediate` | `PersistMode::SyncData` after each write (`SyncAll` with `@fsync`) | default flags: data pages and meta page synced in each commit |
//! | `batch:N` | refused | refused | `SyncData` every N-th write, `Buffer` otherwise | refused (see below) |
//! | `group` | refused | refused | refused | refused |
//! | `+dir` | refused: the engine's directory entries are its own business | the file is created and its directory synced before redb opens it (and the directory synced again at every open) | refused | the directory is synced once after the environment's files are created |
//! | `@fsync` | refused (SQLite picks fdatasync) | refused | `SyncAll` | refused (LMDB picks fdatasync) |
//!
//! redb 4 has two durabilities. `Durability::None` writes the commit's
//! pages but keeps it out of the file's header until a later `Immediate`
//! commit, so a process crash loses it: weaker than this suite's `none`
//! (handed to the kernel, survives a process crash), and for the same reason
//! it cannot stand for the unsynced writes of `batch:N`. redb therefore runs
//! `always` only, with or without `+dir` (redb never fsyncs the directory
//! of the file it creates; under `+dir` the adapter does).
//!
//! LMDB's `MDB_NOSYNC` keeps no synced snapshot safe: later commits may
//! reuse the pages of the last synced one, so a power loss (not a process
//! crash) can corrupt the database. That is within `none`'s promise but not
//! within `batch:N`'s (at most N-1 writes lost), and N puts per transaction
//! would acknowledge puts before their commit, so `batch:N` is refused.
//! `MDB_NOMETASYNC` (sync the data pages but not the meta page of each
//! commit; a crash can lose the last commit but not corrupt the database)
//! would sit between `none` and `always`; no policy of this suite means
//! that, so it is not used.

#[cfg(feature = "reference-engines")]
mod fjall_engine;
#[cfg(feature = "reference-engines")]
mod lifecycle;
#[cfg(feature = "reference-engines")]
mod lmdb_engine;
#[cfg(feature = "reference-engines")]
mod redb_engine;
#[cfg(feature = "reference-engines")]
mod sqlite;

#[cfg(feature = "reference-engines")]
pub use fjall_engine::FjallEngine;
#[cfg(feature = "reference-engines")]
pub use lmdb_engine::LmdbEngine;
#[cfg(feature = "reference-engines")]
pub use redb_engine::RedbEngine;
#[cfg(feature = "reference-engines")]
pub use sqlite::SqliteEngine;

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crate::engine::Capabilities;
use crate::policy::{PolicyRefusal, SyncMode, SyncPolicy, SyncPrimitive};
#[allow(unused_imports)]
use crate::Engine;

/// Capabilities of the reference engines: everything but replay.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: true,
    deletes: true,
    replay: false,
};

/// Refuses `group`: no library here has a leader/follower commit to drive.
fn no_group(engine: &'static str, policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    if policy.mode == SyncMode::Group {
        return Err(PolicyRefusal::new(
            engine,
            policy,
            format!("{engine} has no leader/follower group commit this suite can drive"),
        ));
    }
    Ok(())
}

/// Refuses `+dir` for a library that handles its own directory entries.
fn no_dir_sync(engine: &'static str, policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    if policy.dir_sync {
        return Err(PolicyRefusal::new(
            engine,
            policy,
            format!(
                "{engine} syncs its own directory entries, so `+dir` cannot be told apart from the plain policy; use `{}`",
                SyncPolicy { dir_sync: false, ..*policy }
            ),
        ));
    }
    Ok(())
}

/// Policies SQLite can express.
pub fn sqlite_supports(policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    let refuse = |reason: &str| Err(PolicyRefusal::new("sqlite", policy, reason));
    no_group("sqlite", policy)?;
    no_dir_sync("sqlite", policy)?;
    if matches!(policy.mode, SyncMode::Batch(_)) {
        return refuse("sqlite has no setting that syncs every N commits (grouping writes into one transaction would change what an acknowledgement means)");
    }
    if policy.primitive == SyncPrimitive::Fsync {
        return refuse(
            "sqlite chooses its own sync call (fdatasync on Linux, as this build is configured in .cargo/config.toml); `@fsync` is not expressible",
        );
    }
    Ok(())
}

/// Policies redb can express: `always`, and `always+dir` (redb never syncs
/// its directory; the adapter does, see the `## Durability` section of
/// `redb_engine.rs`).
pub fn redb_supports(policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    let refuse = |reason: &str| Err(PolicyRefusal::new("redb", policy, reason));
    no_group("redb", policy)?;
    match policy.mode {
        SyncMode::None => {
            return refuse("redb 4 has no commit that is written but not synced: Durability::None keeps the commit out of the file's header until a later durable commit, so a process crash loses it (weaker than `none`)");
        }
        SyncMode::Batch(_) => {
            return refuse("redb 4's only unsynced commit (Durability::None) is lost on a process crash, so the writes between syncs would be weaker than `batch:N` promises");
        }
        SyncMode::Always | SyncMode::Group => {}
    }
    if policy.primitive == SyncPrimitive::Fsync {
        return refuse("redb chooses its own sync call; `@fsync` is not expressible");
    }
    Ok(())
}

/// Policies fjall can express.
pub fn fjall_supports(policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    no_group("fjall", policy)?;
    no_dir_sync("fjall", policy)
}

/// Policies LMDB can express: `none` and `always`. `+dir` is honoured (the
/// environment's two files are created at open and the directory is synced
/// then).
pub fn lmdb_supports(policy: &SyncPolicy) -> Result<(), PolicyRefusal> {
    let refuse = |reason: &str| Err(PolicyRefusal::new("lmdb", policy, reason));
    if matches!(policy.mode, SyncMode::Batch(_)) {
        return refuse("lmdb's only unsynced commit (MDB_NOSYNC) may reuse pages of the last synced commit, so a power loss between syncs can corrupt the database rather than lose at most N-1 writes; N puts per transaction would acknowledge writes before their commit");
    }
    if policy.mode == SyncMode::Group {
        return refuse("lmdb serializes write transactions and syncs inside each commit; concurrent writers cannot share one sync");
    }
    if policy.primitive == SyncPrimitive::Fsync {
        return refuse(
            "lmdb chooses its own sync call (fdatasync on Linux); `@fsync` is not expressible",
        );
    }
    Ok(())
}

/// The versions the C libraries compiled in report about themselves, by
/// name: `sqlite` (SQLite's own version string) and `lmdb` (LMDB's). Empty
/// without the `reference-engines` feature. The Rust crates' versions are
/// the binary's business: it reads them from Cargo.lock when it is built.
pub fn native_library_versions() -> std::collections::BTreeMap<String, String> {
    #[cfg(feature = "reference-engines")]
    {
        [
            ("sqlite", rusqlite::version().to_string()),
            ("lmdb", heed::lmdb_version().string.to_string()),
        ]
        .into_iter()
        .map(|(name, version)| (name.to_string(), version))
        .collect()
    }
    #[cfg(not(feature = "reference-engines"))]
    {
        std::collections::BTreeMap::new()
    }
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
            SyncMode::Batch(b) => n.is_multiple_of(u64::from(b)),
        }
    }

    /// Writes so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Relaxed)
    }
}

/// A library's error type, as far as this crate tells errors apart.
#[cfg(feature = "reference-engines")]
pub(crate) trait LibError: std::fmt::Display {
    /// True when the library found its stored data damaged (a checksum, a
    /// page or a header that fails its checks), rather than failing to do
    /// I/O, finding a lock held or running out of room.
    fn is_corruption(&self) -> bool;
}

/// Maps a library error to this crate's error, naming the engine and path:
/// damage the library detected is [`crate::Error::Corrupt`] (with no offset:
/// the libraries do not report one), everything else an I/O error.
#[cfg(feature = "reference-engines")]
pub(crate) fn lib_err(
    engine: &'static str,
    path: &std::path::Path,
    e: impl LibError,
) -> crate::Error {
    if e.is_corruption() {
        crate::Error::corrupt_file(path, format!("{engine}: {e}"))
    } else {
        crate::Error::io(engine, path, std::io::Error::other(e.to_string()))
    }
}

#[cfg(all(test, feature = "reference-engines"))]
mod tests {
    use super::*;
    use crate::{EngineConfig, Error};

    #[test]
    fn an_unsupported_policy_keeps_its_reason() {
        let t = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(t.path(), SyncPolicy::NONE);
        let Err(e) = RedbEngine::open(config) else {
            panic!("redb opened under `none`")
        };
        assert!(
            matches!(&e, Error::UnsupportedPolicy { engine: "redb", policy, reason }
                if policy == "none" && reason.contains("Durability::None")),
            "{e}"
        );
    }

    #[test]
    fn a_refused_policy_names_engine_and_policy_and_opening_by_name_says_why() {
        let batch: SyncPolicy = "batch:8".parse().unwrap();
        let refusal = sqlite_supports(&batch).unwrap_err();
        assert_eq!((refusal.engine, refusal.policy), ("sqlite", batch));
        assert!(refusal.to_string().starts_with("sqlite has no setting"));
        let t = tempfile::tempdir().unwrap();
        let Err(e) = crate::open("sqlite", EngineConfig::new(t.path(), batch)) else {
            panic!("sqlite opened under `batch:8`")
        };
        assert!(
            matches!(&e, Error::UnsupportedPolicy { engine: "sqlite", policy, reason }
                if policy == "batch:8" && *reason == refusal.reason),
            "{e}"
        );
    }

    /// Overwrites the start of `path` (created when missing) with bytes no
    /// library writes.
    fn garbage(path: &std::path::Path) {
        use crate::fs::{RealFs, Vfs};
        let f = match RealFs.open(path) {
            Ok(f) => f,
            Err(_) => RealFs.create(path).unwrap(),
        };
        f.write_at(&[0xa5; 16 << 10], 0).unwrap();
    }

    /// `opened` failed as corruption of `file`.
    fn assert_corrupt<E: std::fmt::Debug>(opened: Result<E, Error>, file: &std::path::Path) {
        match opened {
            Err(Error::Corrupt {
                file: f, offset, ..
            }) => assert_eq!((f.as_path(), offset), (file, None)),
            other => panic!("expected Corrupt for {}, got {other:?}", file.display()),
        }
    }

    /// Opening (with `open`) a directory whose file `name` holds garbage
    /// fails as corruption of `reported` (a file, or "" for the directory).
    fn garbage_is_corrupt<E: std::fmt::Debug>(
        name: &str,
        reported: &str,
        open: impl Fn(EngineConfig) -> Result<E, Error>,
    ) {
        let t = tempfile::tempdir().unwrap();
        garbage(&t.path().join(name));
        let config = EngineConfig::new(t.path(), SyncPolicy::ALWAYS);
        assert_corrupt(open(config), &t.path().join(reported));
    }

    #[test]
    fn sqlite_reports_a_file_that_is_not_a_database_as_corrupt() {
        garbage_is_corrupt("kv.sqlite", "kv.sqlite", SqliteEngine::open);
    }

    #[test]
    fn redb_reports_a_file_that_is_not_a_database_or_a_damaged_header_as_corrupt() {
        garbage_is_corrupt("kv.redb", "kv.redb", RedbEngine::open);
        let t = tempfile::tempdir().unwrap();
        let path = t.path().join("kv.redb");
        let config = EngineConfig::new(t.path(), SyncPolicy::ALWAYS);
        RedbEngine::open(config.clone()).unwrap().close().unwrap();
        // The header's count of data pages per region (after the magic
        // number, god byte, padding, page size and region header pages).
        use crate::fs::{RealFs, Vfs};
        RealFs.open(&path).unwrap().write_at(&[0; 4], 20).unwrap();
        assert_corrupt(RedbEngine::open(config), &path);
    }

    #[test]
    fn lmdb_reports_a_file_that_is_not_an_environment_as_corrupt() {
        garbage_is_corrupt("data.mdb", "", LmdbEngine::open);
    }

    #[test]
    fn fjall_reports_a_damaged_version_file_as_corrupt() {
        let t = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(t.path(), SyncPolicy::ALWAYS);
        let e = FjallEngine::open(config.clone()).unwrap();
        e.put(b"k", b"v").unwrap();
        e.close().unwrap();
        let path = t.path().join("fjall");
        garbage(&path.join("version"));
        assert_corrupt(FjallEngine::open(config), &path);
    }
}
