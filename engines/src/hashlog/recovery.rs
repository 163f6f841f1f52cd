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
    let merged = finish_merges(dir, &names)?;
    let mut ids: BTreeSet<u32> = names
        .iter()
        .filter_map(|n| (flavor.parse_data)(n))
        .collect();
    let hints: BTreeSet<u32> = names
        .iter()
        .filter_map(|n| parse_with(n, HINT_EXT))
        .collect();
    let max_id = merged
        .max_id
        .max(ids.last().copied().unwrap_or(0))
        .max(hints.last().copied().unwrap_or(0));
    remove_stale(flavor, dir, &merged, &mut ids, &hints)?;
    let rebuilt = rebuild_keydir(flavor, dir, policy, &ids, &hints)?;
    // 5. Empty data files.
    dir.remove_all(&rebuilt.empty)?;
    let max_seq = rebuilt.keydir.max_seq;
    Ok(Recovered {
        keydir: rebuilt.keydir.finish(),
        files: rebuilt.files,
        max_id,
        max_seq,
        torn_bytes: rebuilt.torn_bytes,
        from_hints: rebuilt.from_hints,
    })
}

/// The merge markers found: the data files they list and their names.
struct Merged {
    /// Data files a completed merge replaced.
    dead: BTreeSet<u32>,
    /// The markers' names.
    markers: Vec<String>,
    /// Highest marker id.
    max_id: u32,
}

/// Step 2, first half: reads every merge marker.
fn finish_merges(dir: &EngineDir, names: &[String]) -> Result<Merged> {
    let mut merged = Merged {
        dead: BTreeSet::new(),
        markers: Vec::new(),
        max_id: 0,
    };
    for n in names {
        let Some(id) = parse_with(n, MARKER_EXT) else {
            continue;
        };
        merged.max_id = merged.max_id.max(id);
        let f = dir.open_file(n)?;
        let image = f.read_all()?;
        // A marker is renamed into place whole; a torn one was never a
        // completed merge (nothing was removed yet) and is ignored.
        record::scan_log(&image, f.path(), |_, r| {
            for c in r.value.unwrap_or(&[]).chunks_exact(4) {
                merged
                    .dead
                    .insert(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            }
            Ok(())
        })?;
        merged.markers.push(marker_name(id));
    }
    Ok(merged)
}

/// Steps 2 and 3: removes the data files completed merges replaced (taking
/// them out of `ids`), hint files without a data file, then the markers.
fn remove_stale(
    flavor: &Flavor,
    dir: &EngineDir,
    merged: &Merged,
    ids: &mut BTreeSet<u32>,
    hints: &BTreeSet<u32>,
) -> Result<()> {
    let mut stale: Vec<String> = Vec::new();
    for &id in &merged.dead {
        if ids.remove(&id) {
            stale.push((flavor.data_name)(id));
        }
    }
    for &id in hints {
        if !ids.contains(&id) {
            stale.push(hint_name(id));
        }
    }
    dir.remove_all(&stale)?;
    dir.remove_all(&merged.markers)
}

/// What step 4 rebuilt.
struct Rebuilt {
    keydir: RecoveringKeydir,
    files: BTreeMap<u32, (FileHandle, u64, u64)>,
    torn_bytes: u64,
    from_hints: u64,
    /// Data files left empty, and their hint files: to remove.
    empty: Vec<String>,
}

/// Step 4: the keydir, per data file in id order from its hint file where
/// one can be trusted, else by scanning it.
fn rebuild_keydir(
    flavor: &Flavor,
    dir: &EngineDir,
    policy: SyncPolicy,
    ids: &BTreeSet<u32>,
    hints: &BTreeSet<u32>,
) -> Result<Rebuilt> {
    let mut rebuilt = Rebuilt {
        keydir: RecoveringKeydir::default(),
        files: BTreeMap::new(),
        torn_bytes: 0,
        from_hints: 0,
        empty: Vec::new(),
    };
    let mut opened = Vec::with_capacity(ids.len());
    for &id in ids {
        let file = dir.open_file(&(flavor.data_name)(id))?;
        let len = file.len()?;
        opened.push((id, file, len));
    }
    let total_bytes: u64 = opened.iter().map(|f| f.2).sum();
    let mut sized = false;
    for (id, file, mut len) in opened {
        let has_hint = hints.contains(&id);
        let trust_hint = flavor.hints && policy.syncs_data() && has_hint;
        let (loaded, hint_len) = if trust_hint {
            load_hint(dir, id, len, &mut rebuilt.keydir)?
        } else if has_hint {
            (false, dir.open_file(&hint_name(id))?.len()?)
        } else {
            (false, 0)
        };
        if loaded {
            rebuilt.from_hints += 1;
        } else {
            let end = scan_data(&file, id, policy, &mut rebuilt.keydir)?;
            rebuilt.torn_bytes += end.torn_bytes;
            len = end.valid_len;
            // Size the map once from the first file's keys per byte, so a
            // million keys are not rehashed twenty times over
            // (docs/measurements.md). Keys overwritten in later files make this an
            // overestimate, bounded by the records in the files.
            if !sized && len > 0 {
                sized = true;
                let per_byte = rebuilt.keydir.len() as f64 / len as f64;
                rebuilt
                    .keydir
                    .reserve_total((per_byte * total_bytes as f64 * 1.05) as usize);
            }
        }
        if len == 0 {
            rebuilt.empty.push((flavor.data_name)(id));
            if has_hint {
                rebuilt.empty.push(hint_name(id));
            }
            continue;
        }
        rebuilt.files.insert(id, (file, len, hint_len));
    }
    Ok(rebuilt)
}

/// Loads data file `id`'s hint file into `rk`: whether it was valid (and
/// loaded), and its length.
fn load_hint(
    dir: &EngineDir,
    id: u32,
    data_len: u64,
    rk: &mut RecoveringKeydir,
) -> Result<(bool, u64)> {
    let h = dir.open_file(&hint_name(id))?;
    let image = h.read_all()?;
    let hint_len = image.len() as u64;
    let Some(entries) = hint::load(&image, h.path(), id, data_len) else {
        return Ok((false, hint_len));
    };
    for (key, loc, tombstone) in entries {
        if tombstone {
            rk.tombstone(key, loc.seq);
        } else {
            rk.value(key, loc);
        }
    }
    Ok((true, hint_len))
}

/// Scans data file `id` into `rk` (torn tail truncated, mid-file
/// corruption an error).
fn scan_data(
    file: &FileHandle,
    id: u32,
    policy: SyncPolicy,
    rk: &mut RecoveringKeydir,
) -> Result<record::LogEnd> {
    let image = file.read_all()?;
    record::recover_log(file, &image, policy, |off, r| {
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
    })
}
