//! The engine registry: every engine by name, so the runner, the tests and
//! the crash checker never match on concrete types. Adding an engine here
//! adds it to the conformance suite, the sync-count tests and the matrix.

use std::sync::LazyLock;

use crate::engine::{Capabilities, Engine, EngineConfig};
use crate::policy::{PolicyRefusal, SyncPolicy};
use crate::{Error, Result};

/// A registered engine.
#[derive(Debug, Clone, Copy)]
pub struct EngineInfo {
    /// Name used on the command line and in results.
    pub name: &'static str,
    /// One line on what it is.
    pub summary: &'static str,
    /// Supported operations.
    pub capabilities: Capabilities,
    /// Whether it creates files while writing (rotation, flush, merge), so a
    /// lost directory entry can lose acknowledged writes without `+dir`.
    pub creates_files_while_writing: bool,
    /// Whether all its I/O goes through the `Vfs` (so it can be counted and
    /// crash-simulated). False for the reference engines.
    pub uses_vfs: bool,
    /// Which policies it can express; why, for one it cannot.
    pub supports: fn(&SyncPolicy) -> std::result::Result<(), PolicyRefusal>,
    open: fn(EngineConfig) -> Result<Box<dyn Engine>>,
}

fn every_policy(_: &SyncPolicy) -> std::result::Result<(), PolicyRefusal> {
    Ok(())
}

impl EngineInfo {
    /// An engine outside the registry (test engines, engines of other
    /// crates) that does its own I/O, expresses every policy and creates no
    /// files while writing.
    pub const fn custom(
        name: &'static str,
        summary: &'static str,
        capabilities: Capabilities,
        open: fn(EngineConfig) -> Result<Box<dyn Engine>>,
    ) -> EngineInfo {
        EngineInfo {
            name,
            summary,
            capabilities,
            creates_files_while_writing: false,
            uses_vfs: false,
            supports: every_policy,
            open,
        }
    }

    /// Opens (recovering) or creates this engine.
    pub fn open(&self, config: EngineConfig) -> Result<Box<dyn Engine>> {
        (self.open)(config)
    }
}

fn open_wal(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::wal::Wal::open(c)?))
}

fn open_bitcask(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::bitcask::open(c)?))
}

fn open_loghash(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::loghash::open(c)?))
}

fn open_lsm(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::lsm::Lsm::open(c)?))
}

fn open_btree(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::btree::Btree::open(c)?))
}

const CORE: [EngineInfo; 5] = [
    EngineInfo {
        name: "wal",
        summary: "segmented write-ahead log: append, batches, replay, checkpoint",
        capabilities: crate::wal::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: true,
        supports: every_policy,
        open: open_wal,
    },
    EngineInfo {
        name: "bitcask",
        summary: "Bitcask: active data file, keydir, merge with hint files",
        capabilities: crate::bitcask::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: true,
        supports: every_policy,
        open: open_bitcask,
    },
    EngineInfo {
        name: "loghash",
        summary: "log-structured hash table: segments, hash index, compaction",
        capabilities: crate::loghash::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: true,
        supports: every_policy,
        open: open_loghash,
    },
    EngineInfo {
        name: "lsm",
        summary: "LSM tree: memtable + WAL, SSTables with bloom filters, manifest, compaction",
        capabilities: crate::lsm::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: true,
        supports: every_policy,
        open: open_lsm,
    },
    EngineInfo {
        name: "btree",
        summary: "B+tree: checksummed pages, page cache, redo WAL, doublewrite checkpoints",
        capabilities: crate::btree::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: true,
        supports: every_policy,
        open: open_btree,
    },
];

#[cfg(feature = "reference-engines")]
fn open_sqlite(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::reference::SqliteEngine::open(c)?))
}

#[cfg(feature = "reference-engines")]
fn open_redb(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::reference::RedbEngine::open(c)?))
}

#[cfg(feature = "reference-engines")]
fn open_fjall(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::reference::FjallEngine::open(c)?))
}

#[cfg(feature = "reference-engines")]
fn open_lmdb(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::reference::LmdbEngine::open(c)?))
}

#[cfg(feature = "reference-engines")]
const REFERENCE: [EngineInfo; 4] = [
    EngineInfo {
        name: "sqlite",
        summary: "reference: SQLite (bundled), WAL journal mode, one kv table",
        capabilities: crate::reference::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: false,
        supports: crate::reference::sqlite_supports,
        open: open_sqlite,
    },
    EngineInfo {
        name: "redb",
        summary: "reference: redb, one table, a transaction per write",
        capabilities: crate::reference::CAPABILITIES,
        creates_files_while_writing: false,
        uses_vfs: false,
        supports: crate::reference::redb_supports,
        open: open_redb,
    },
    EngineInfo {
        name: "fjall",
        summary: "reference: fjall LSM keyspace, journal persisted per policy",
        capabilities: crate::reference::CAPABILITIES,
        creates_files_while_writing: true,
        uses_vfs: false,
        supports: crate::reference::fjall_supports,
        open: open_fjall,
    },
    EngineInfo {
        name: "lmdb",
        summary: "reference: LMDB (bundled) copy-on-write B+tree, a transaction per write",
        capabilities: crate::reference::CAPABILITIES,
        creates_files_while_writing: false,
        uses_vfs: false,
        supports: crate::reference::lmdb_supports,
        open: open_lmdb,
    },
];

static ENGINES: LazyLock<Vec<EngineInfo>> = LazyLock::new(|| {
    let v = CORE.to_vec();
    #[cfg(feature = "reference-engines")]
    let v = [v, REFERENCE.to_vec()].concat();
    v
});

/// Every registered engine, in display order.
pub fn all() -> &'static [EngineInfo] {
    &ENGINES
}

/// The engines whose I/O goes through the `Vfs` (the five engines of this project).
pub fn vfs_engines() -> impl Iterator<Item = &'static EngineInfo> {
    all().iter().filter(|e| e.uses_vfs)
}

/// Registered names, comma-separated (for error messages).
pub fn names() -> String {
    ENGINES
        .iter()
        .map(|e| e.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The registered engine called `name`.
pub fn info(name: &str) -> Result<&'static EngineInfo> {
    ENGINES
        .iter()
        .find(|e| e.name == name)
        .ok_or_else(|| Error::UnknownEngine {
            name: name.to_string(),
            valid: names(),
        })
}

/// Opens the engine called `name` with `config`.
pub fn open(name: &str, config: EngineConfig) -> Result<Box<dyn Engine>> {
    let info = info(name)?;
    (info.supports)(&config.policy)?;
    info.open(config)
}
