//! The manifest: which SSTables are live, newest first, and which WAL
//! generations they cover.
//!
//! ## Format
//!
//! `MANIFEST` holds one record in the shared framing (key `manifest`) whose
//! value is: next table id (u64 LE), flushed WAL generation (u64 LE: every
//! WAL generation up to this one is covered by tables), table count (u32
//! LE), then the live table ids (u64 LE each), newest first. It is replaced
//! whole through [`crate::fs::ReplaceFile`] (temp, sync unless `none`,
//! rename, directory sync under `+dir`), so it is always either the old or
//! the new version.

use crate::fs::EngineDir;
use crate::record::{self, Record};
use crate::{Error, Result};

/// File name of the manifest.
pub const NAME: &str = "MANIFEST";

/// The live tables and the WAL generations they cover.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Next table id to allocate.
    pub next_table: u64,
    /// Every WAL generation <= this is covered by tables.
    pub flushed_gen: u64,
    /// Live table ids, newest first.
    pub tables: Vec<u64>,
}

impl Manifest {
    /// Encodes as one framed record.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(20 + 8 * self.tables.len());
        v.extend_from_slice(&self.next_table.to_le_bytes());
        v.extend_from_slice(&self.flushed_gen.to_le_bytes());
        v.extend_from_slice(&(self.tables.len() as u32).to_le_bytes());
        for t in &self.tables {
            v.extend_from_slice(&t.to_le_bytes());
        }
        record::encode(&Record {
            seq: 0,
            key: b"manifest",
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
            found = r.value.map(<[u8]>::to_vec);
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
        let n = u32::from_le_bytes([v[16], v[17], v[18], v[19]]) as usize;
        if v.len() != 20 + 8 * n {
            return Err(bad("manifest table list has the wrong length"));
        }
        Ok(Some(Manifest {
            next_table: u64_at(0),
            flushed_gen: u64_at(8),
            tables: (0..n).map(|i| u64_at(20 + 8 * i)).collect(),
        }))
    }

    /// Writes the manifest durably (per policy) in place of the old one.
    pub fn store(&self, dir: &EngineDir) -> Result<usize> {
        let bytes = self.encode();
        dir.write_whole(NAME, &bytes)?;
        Ok(bytes.len())
    }
}
