//! The manifest: which SSTables are live in which level, and which WAL
//! generations they cover.
//!
//! ## Format
//!
//! `MANIFEST` holds one record in the shared framing (key `manifest2`)
//! whose value is: next table id (u64 LE), flushed WAL generation (u64 LE:
//! every WAL generation up to this one is covered by tables), level count
//! (u32 LE), then per level its table count (u32 LE) and table ids (u64 LE
//! each). Level 0 lists its (overlapping) tables newest first; deeper
//! levels list their non-overlapping tables in key order. It is replaced
//! whole through [`crate::fs::ReplaceFile`] (temp, sync unless `none`,
//! rename, directory sync under `+dir` or else an `fsync` of the renamed
//! file unless `none`), so it is always either the old or
//! the new version.

use crate::fs::EngineDir;
use crate::record::{self, Record};
use crate::{Error, Result};

/// File name of the manifest.
pub const NAME: &str = "MANIFEST";

const KEY: &[u8] = b"manifest2";

/// The live tables and the WAL generations they cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Next table id to allocate.
    pub next_table: u64,
    /// Every WAL generation <= this is covered by tables.
    pub flushed_gen: u64,
    /// Live table ids per level: level 0 newest first, deeper levels in
    /// key order.
    pub levels: Vec<Vec<u64>>,
}

impl Manifest {
    /// Encodes as one framed record.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(20 + 4 * self.levels.len());
        v.extend_from_slice(&self.next_table.to_le_bytes());
        v.extend_from_slice(&self.flushed_gen.to_le_bytes());
        v.extend_from_slice(&(self.levels.len() as u32).to_le_bytes());
        for level in &self.levels {
            v.extend_from_slice(&(level.len() as u32).to_le_bytes());
            for t in level {
                v.extend_from_slice(&t.to_le_bytes());
            }
        }
        record::encode(&Record {
            seq: 0,
            key: KEY,
            value: Some(&v),
            batch_continues: false,
        })
    }

    /// Reads the manifest; `Ok(None)` when there is none yet.
    pub fn load(dir: &EngineDir) -> Result<Option<Manifest>> {
        if !dir.exists(NAME)? {
            return Ok(None);
        }
        let f = dir.open_file(NAME)?;
        let image = f.read_all()?;
        let mut found = None;
        let end = record::scan_log(&image, f.path(), |_, r| {
            if r.key == KEY {
                found = r.value.map(<[u8]>::to_vec);
            }
            Ok(())
        })?;
        let bad = |why: &str| Error::corrupt(f.path(), 0, why.to_string());
        let v = match found {
            Some(v) if end.torn_bytes == 0 => v,
            _ => return Err(bad("manifest is empty or torn")),
        };
        if v.len() < 20 {
            return Err(bad("manifest too short"));
        }
        let u64_at = |p: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&v[p..p + 8]);
            u64::from_le_bytes(a)
        };
        let u32_at = |p: usize| u32::from_le_bytes([v[p], v[p + 1], v[p + 2], v[p + 3]]) as usize;
        let short = || bad("manifest level list has the wrong length");
        let nlevels = u32_at(16);
        let mut levels = Vec::with_capacity(nlevels.min(64));
        let mut p = 20;
        for _ in 0..nlevels {
            if p + 4 > v.len() {
                return Err(short());
            }
            let n = u32_at(p);
            p += 4;
            if n > (v.len() - p) / 8 {
                return Err(short());
            }
            levels.push((0..n).map(|i| u64_at(p + 8 * i)).collect());
            p += 8 * n;
        }
        if p != v.len() {
            return Err(short());
        }
        Ok(Some(Manifest {
            next_table: u64_at(0),
            flushed_gen: u64_at(8),
            levels,
        }))
    }

    /// Writes the manifest durably (per policy) in place of the old one.
    pub fn store(&self, dir: &EngineDir) -> Result<usize> {
        let bytes = self.encode();
        dir.write_whole(NAME, &bytes)?;
        Ok(bytes.len())
    }
}
