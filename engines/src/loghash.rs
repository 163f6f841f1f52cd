//! `loghash`: DDIA's log-structured hash table (ported from the
//! Python prototype `log-structured-hash-table/bitcask.py`), on the shared
//! [`crate::hashlog`] core.
//!
//! Writes append to fixed-size segments (`segment_bytes`, 4 MiB by
//! default); an in-memory hash index maps each key to its newest record.
//! When at least `merge_trigger_files` frozen segments exist and at least
//! half of their bytes are garbage, all frozen segments are compacted
//! (overwritten and deleted records dropped) and merged into fewer
//! segments. Compaction runs on a background thread by default and inline
//! in the writing thread when `background_maintenance` is off; `stats()`
//! says which under `notes["compactions"]`. Unlike `bitcask` it writes no
//! hint files: recovery scans every segment.
//!
//! ## Format
//!
//! - `segment_NNNNNNNN.log`: records in the shared framing (crc32, flags,
//!   seq, key length, value length, key, value); a delete is a tombstone.
//! - `NNNNNNNN.merge`: marker of a completed compaction (the segment ids it
//!   replaced), see [`crate::hashlog`].
//!
//! ## Durability
//!
//! As `bitcask`: one `append` per write, then the shared syncer (no sync
//! under `none`, one per write under `always`, one per N under `batch:N`,
//! one per group under `group`); rotation syncs the frozen segment (unless
//! `none`) and fsyncs the directory after creating the next one (under
//! `+dir`); compaction output and markers go through temp name, sync,
//! rename, directory sync. The Python prototype never fsynced at all; here
//! that is exactly the `none` policy, measurable next to the others.

use crate::engine::{Capabilities, EngineConfig};
use crate::hashlog::{Flavor, HashLog};
use crate::Result;

/// Capabilities: put, get, delete.
pub const CAPABILITIES: Capabilities = crate::hashlog::CAPABILITIES;

fn data_name(id: u32) -> String {
    format!("segment_{id:08}.log")
}

fn parse_data(name: &str) -> Option<u32> {
    name.strip_prefix("segment_")?
        .strip_suffix(".log")?
        .parse()
        .ok()
}

static FLAVOR: Flavor = Flavor {
    name: "loghash",
    data_name,
    parse_data,
    hints: false,
    merge_word: "compactions",
};

/// Opens (recovering) or creates a loghash store in `config.dir`; the
/// returned engine's `maintain` runs a merge now.
pub fn open(config: EngineConfig) -> Result<HashLog> {
    HashLog::open(&FLAVOR, config)
}
