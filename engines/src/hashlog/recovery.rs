//! Opening a hash engine's directory: finish or forget interrupted merges,
//! then rebuild the keydir from hint files where they can be trusted and by
//! scanning data files everywhere else.
//!
//! Steps, in order:
//! 1. remove `*.tmp` leftovers of interrupted replaces;
//! 2. for every merge marker, remove the data and hint files it lists (the
//!    merge that wrote it was complete), then the marker;
//! 3. remove hint files whose data file is gone (a crash between the two
//!    removals of a merge);
//! 4. per data file, in id order: load its hint file if present and valid
//!    (only under a policy that syncs: under `none` a hint file may describe
//!    data that never reached the disk), else scan the data file with
//!    [`record::recover_log`] (torn tail truncated, mid-file corruption an
//!    error); the record with the highest sequence number wins per key,
//!    tombstones included;
//! 5. remove data files left empty (an active file that took no write).

use std::collections::{BTreeMap, BTreeSet};

use crate::fs::{EngineDir, FileHandle};
use crate::policy::SyncPolicy;
use crate::record;
use crate::Result;

use super::keydir::{Keydir, Loc, RecoveringKeydir};
use super::{hint, hint_name, marker_name, parse_with, Flavor, HINT_EXT, MARKER_EXT};

/// What recovery found.
#[derive(Debug)]
pub struct Recovered {
    /// Keydir of the live keys.
    pub keydir: Keydir,
    /// Surviving data files by id, with their length and hint-file length.
    pub files: BTreeMap<u32, (FileHandle, u64, u64)>,
    /// Highest file id in use (data, hint or marker).
    pub max_id: u32,
    /// Highest sequence number seen.
    pub max_seq: u64,
    /// Torn-tail bytes truncated.
    pub torn_bytes: u64,
    /// Data files rebuilt from their hint file.
    pub from_hints: u64,
}

/// Recovers the directory (see the module doc).
pub fn recover(flavor: &Flavor, dir: &EngineDir, policy: SyncPolicy) -> Result<Recovered> {
    dir.remove_temporaries()?;
    let names = dir.list()?;
    let mut max_id = 0u32;

    // 2. Completed merges.
    let mut dead: BTreeSet<u32> = BTreeSet::new();
    let mut markers: Vec<String> = Vec::new();
    for n in &names {
        let Some(id) = parse_with(n, MARKER_EXT) else {
            continue;
        };
        max_id = max_id.max(id);
        let f = dir.open_file(n)?;
        let image = f.read_all()?;
        // A marker is renamed into place whole; a torn one was never a
        // completed merge (nothing was removed yet) and is ignored.
        record::scan_log(&image, f.path(), |_, r| {
            for c in r.value.unwrap_or(&[]).chunks_exact(4) {
                dead.insert(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
            Ok(())
        })?;
        markers.push(marker_name(id));
    }
    let mut ids: BTreeSet<u32> = names
        .iter()
        .filter_map(|n| (flavor.parse_data)(n))
        .collect();
    let hints: BTreeSet<u32> = names
        .iter()
        .filter_map(|n| parse_with(n, HINT_EXT))
        .collect();
    max_id = max_id
        .max(ids.last().copied().unwrap_or(0))
        .max(hints.last().copied().unwrap_or(0));
    let mut stale: Vec<String> = Vec::new();
    for &id in &dead {
        if ids.remove(&id) {
            stale.push((flavor.data_name)(id));
        }
    }
    // 3. Hint files of removed or missing data files.
    for &id in &hints {
        if !ids.contains(&id) {
            stale.push(hint_name(id));
        }
    }
    dir.remove_all(&stale)?;
    dir.remove_all(&markers)?;

    // 4. The keydir.
    let mut rk = RecoveringKeydir::default();
    let mut files = BTreeMap::new();
    let mut torn_bytes = 0;
    let mut from_hints = 0;
    let mut empty: Vec<String> = Vec::new();
    let mut opened = Vec::with_capacity(ids.len());
    for &id in &ids {
        let file = dir.open_file(&(flavor.data_name)(id))?;
        let len = file.len()?;
        opened.push((id, file, len));
    }
    let total_bytes: u64 = opened.iter().map(|f| f.2).sum();
    let mut sized = false;
    for (id, file, mut len) in opened {
        let mut hint_len = 0;
        let mut loaded = false;
        if flavor.hints && policy.syncs_data() && hints.contains(&id) {
            let h = dir.open_file(&hint_name(id))?;
            let image = h.read_all()?;
            hint_len = image.len() as u64;
            if let Some(entries) = hint::load(&image, h.path(), id, len) {
                for (key, loc, tombstone) in entries {
                    if tombstone {
                        rk.tombstone(key, loc.seq);
                    } else {
                        rk.value(key, loc);
                    }
                }
                loaded = true;
                from_hints += 1;
            }
        } else if hints.contains(&id) {
            hint_len = dir.open_file(&hint_name(id))?.len()?;
        }
        if !loaded {
            let image = file.read_all()?;
            let end = record::recover_log(&file, &image, policy, |off, r| {
                let loc = Loc {
                    file: id,
                    offset: off,
                    len: r.encoded_len() as u32,
                    seq: r.seq,
                };
                match r.value {
                    Some(_) => rk.value(r.key, loc),
                    None => rk.tombstone(r.key, r.seq),
                }
                Ok(())
            })?;
            torn_bytes += end.torn_bytes;
            len = end.valid_len;
            // Size the map once from the first file's keys per byte, so a
            // million keys are not rehashed twenty times over
            // (docs/measurements.md). Keys overwritten in later files make this an
            // overestimate, bounded by the records in the files.
            if !sized && len > 0 {
                sized = true;
                let per_byte = rk.len() as f64 / len as f64;
                rk.reserve_total((per_byte * total_bytes as f64 * 1.05) as usize);
            }
        }
        if len == 0 {
            empty.push((flavor.data_name)(id));
            if hints.contains(&id) {
                empty.push(hint_name(id));
            }
            continue;
        }
        files.insert(id, (file, len, hint_len));
    }
    // 5. Empty data files.
    dir.remove_all(&empty)?;
    let max_seq = rk.max_seq;
    Ok(Recovered {
        keydir: rk.finish(),
        files,
        max_id,
        max_seq,
        torn_bytes,
        from_hints,
    })
}
