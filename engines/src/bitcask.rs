//! `bitcask`: the Bitcask paper's design (ported from the Python prototype
//! `hash-index-storage/bitcask.py` this project started from), on the shared [`crate::hashlog`] core.
//!
//! One active data file takes every write; at `segment_bytes` (4 MiB by
//! default) it becomes immutable and a new one starts. An in-memory keydir
//! maps each key to (file id, offset, record length). `merge` rewrites the
//! live records of the immutable files into new data files, each with a
//! hint file, and removes the old files. It runs automatically when at
//! least `merge_trigger_files` immutable files exist and at least half of
//! their bytes are garbage (overwritten or deleted records), on a
//! background thread, or inline in the writing thread when
//! `background_maintenance` is off (`stats().notes["merges"]` says which);
//! and on [`crate::Engine::maintain`]. A merge takes every immutable file,
//! so it drops tombstones (see [`crate::hashlog::merge`] for why that is
//! safe only then).
//!
//! Recovery loads each data file's hint file when it is present and valid,
//! and scans the data file otherwise (a corrupt hint file, or one that does
//! not tile its data file exactly, falls back to the scan; a torn tail is
//! truncated). Under `none` hint files are not trusted (they may describe
//! data that never reached the disk) and every data file is scanned; see
//! [`crate::hashlog::recovery`].
//!
//! ## Format
//!
//! - `NNNNNNNN.data`: records in the shared framing (crc32, flags, seq, key
//!   length, value length, key, value); a delete is a tombstone record.
//! - `NNNNNNNN.hint`: per merged data file, one framed record per data
//!   record (key, seq; value = offset u64, length u32, tombstone u8).
//! - `NNNNNNNN.merge`: marker of a completed merge (ids it replaced), see
//!   [`crate::hashlog`].
//!
//! ## Durability
//!
//! A put or delete is one `append` to the active file, then the shared
//! syncer: nothing more under `none`; one fdatasync (fsync with `@fsync`)
//! per write under `always`; one per N writes under `batch:N`; one per
//! commit group under `group`. Rotation syncs the old file (unless `none`)
//! and, under `+dir`, fsyncs the directory after creating the new one
//! before any write to it is acknowledged. Merge output, hint files and the
//! merge marker are written to temporary names, synced (unless `none`),
//! renamed and the directory synced (under `+dir`); the active file is
//! synced (unless `none`) so every write that superseded a dropped record
//! is durable before that record can disappear; only then are the old files removed (directory
//! synced again under `+dir`). Without `+dir`, a new data
//! file's name can be lost on power loss with every acknowledged write in
//! it: the fsync audit's "no directory fsync" finding
//! (docs/crash.md, *Our five engines, and the fsync audit*).

use crate::engine::{Capabilities, EngineConfig};
use crate::hashlog::{Flavor, HashLog};
use crate::Result;

/// Capabilities: put, get, delete.
pub const CAPABILITIES: Capabilities = crate::hashlog::CAPABILITIES;

fn data_name(id: u32) -> String {
    format!("{id:08}.data")
}

fn parse_data(name: &str) -> Option<u32> {
    name.strip_suffix(".data")?.parse().ok()
}

static FLAVOR: Flavor = Flavor {
    name: "bitcask",
    data_name,
    parse_data,
    hints: true,
    merge_word: "merges",
};

/// Opens (recovering) or creates a bitcask store in `config.dir`; the
/// returned engine's `maintain` runs a merge now.
pub fn open(config: EngineConfig) -> Result<HashLog> {
    HashLog::open(&FLAVOR, config)
}
