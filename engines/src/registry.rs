//! The engine registry: every engine by name, so the runner, the tests and
//! the crash checker never match on concrete types. Adding an engine here
//! adds it to the conformance suite, the sync-count tests and the matrix.

use crate::engine::{Capabilities, Engine, EngineConfig};
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
    open: fn(EngineConfig) -> Result<Box<dyn Engine>>,
}

impl EngineInfo {
    /// Opens (recovering) or creates this engine.
    pub fn open(&self, config: EngineConfig) -> Result<Box<dyn Engine>> {
        (self.open)(config)
    }
}

fn open_wal(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::wal::Wal::open(c)?))
}

fn open_bitcask(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::bitcask::Bitcask::open(c)?))
}

fn open_loghash(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::loghash::LogHash::open(c)?))
}

fn open_lsm(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::lsm::Lsm::open(c)?))
}

fn open_btree(c: EngineConfig) -> Result<Box<dyn Engine>> {
    Ok(Box::new(crate::btree::Btree::open(c)?))
}

static ENGINES: &[EngineInfo] = &[
    EngineInfo {
        name: "wal",
        summary: "segmented write-ahead log: append, batches, replay, checkpoint",
        capabilities: crate::wal::CAPABILITIES,
        creates_files_while_writing: true,
        open: open_wal,
    },
    EngineInfo {
        name: "bitcask",
        summary: "Bitcask: active data file, keydir, merge with hint files",
        capabilities: crate::bitcask::CAPABILITIES,
        creates_files_while_writing: true,
        open: open_bitcask,
    },
    EngineInfo {
        name: "loghash",
        summary: "log-structured hash table: segments, hash index, compaction",
        capabilities: crate::loghash::CAPABILITIES,
        creates_files_while_writing: true,
        open: open_loghash,
    },
    EngineInfo {
        name: "lsm",
        summary: "LSM tree: memtable + WAL, SSTables with bloom filters, manifest, compaction",
        capabilities: crate::lsm::CAPABILITIES,
        creates_files_while_writing: true,
        open: open_lsm,
    },
    EngineInfo {
        name: "btree",
        summary: "B+tree: checksummed pages, page cache, redo WAL, doublewrite checkpoints",
        capabilities: crate::btree::CAPABILITIES,
        creates_files_while_writing: true,
        open: open_btree,
    },
];

/// Every registered engine, in display order.
pub fn all() -> &'static [EngineInfo] {
    ENGINES
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
    info(name)?.open(config)
}
