//! `lmdb`: LMDB (the C library bundled by `heed`'s `lmdb-master-sys`), one
//! unnamed database of raw bytes, one write transaction per put or delete.
//!
//! ## Format
//!
//! LMDB's own: `data.mdb` (copy-on-write B+tree pages, two meta pages at the
//! start, the live one naming the root) and `lock.mdb` (reader table), both
//! in the engine's directory. The map is [`MAP_BYTES`] of address space; the
//! file grows with the data.
//!
//! ## Durability
//!
//! - `always`: default flags. Each commit writes its dirty pages, fdatasyncs
//!   the file, writes the meta page and syncs it again: two syncs per
//!   acknowledged write (docs/guide.md's table of syncs per write has the counted figure).
//! - `none`: `MDB_NOSYNC`. Each commit writes its pages and meta page with
//!   `pwrite` and never syncs: a process crash keeps every acknowledged
//!   write; a power loss can lose any of them and, since later commits may
//!   reuse the pages of earlier ones in any order on disk, can corrupt the
//!   database (LMDB's documentation says so of `MDB_NOSYNC`).
//! - `+dir`: the directory is synced once after the environment's files are
//!   created at open; LMDB creates no file later.
//! - `batch:N`, `group` and `@fsync` are refused (see
//!   [`super::lmdb_supports`]).
//!
//! A full map (`MDB_MAP_FULL`) fails the write with an I/O error of kind
//! `StorageFull` that names the map size; the write is not acknowledged.

use std::io;
use std::ops::Bound;

use heed::types::Bytes;
use heed::{Database, Env, EnvFlags, EnvOpenOptions, MdbError, WithoutTls};

use super::lifecycle::Lifecycle;
use super::{LibError, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncMode;
use crate::{Error, Result};

/// Size of the memory map: address space only (the data file grows with
/// the data), far above what the default matrix writes (2 s cells: well
/// under 1 GiB per cell on this project's machines), so a run meets a full
/// disk before a full map.
#[cfg(target_pointer_width = "64")]
pub const MAP_BYTES: usize = 256 << 30;
/// Size of the memory map on 32-bit targets.
#[cfg(not(target_pointer_width = "64"))]
pub const MAP_BYTES: usize = 1 << 30;

/// Reader slots: one per concurrent read transaction (slots belong to
/// transactions, not threads, since the environment is opened without TLS).
const MAX_READERS: u32 = 2048;

type Kv = Database<Bytes, Bytes>;

/// LMDB behind the `Engine` trait.
pub struct LmdbEngine {
    /// Closing closes the environment, so it can be reopened.
    life: Lifecycle<(Env<WithoutTls>, Kv)>,
    map_bytes: usize,
}

impl std::fmt::Debug for LmdbEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LmdbEngine")
            .field("path", &self.life.path())
            .field("map_bytes", &self.map_bytes)
            .finish()
    }
}

impl LibError for heed::Error {
    fn is_corruption(&self) -> bool {
        matches!(
            self,
            heed::Error::Mdb(MdbError::Corrupted | MdbError::PageNotFound | MdbError::Invalid)
        )
    }
}

impl LmdbEngine {
    /// Opens (or creates) the environment in `config.dir`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        Self::open_with_map(config, MAP_BYTES)
    }

    /// Opens with a map of `map_bytes` (a multiple of the OS page size).
    pub(crate) fn open_with_map(config: EngineConfig, map_bytes: usize) -> Result<Self> {
        super::lmdb_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.path().to_path_buf();
        let e = |x: heed::Error| lmdb_err(&path, map_bytes, x);
        let mut options = EnvOpenOptions::new().read_txn_without_tls();
        options
            .map_size(map_bytes)
            .max_readers(MAX_READERS)
            .max_dbs(0);
        if config.policy.mode == SyncMode::None {
            // SAFETY (of the flag): MDB_NOSYNC only drops the syncs of each
            // commit, which is what `none` asks for; it does not weaken the
            // memory safety of the map.
            #[allow(unsafe_code)]
            unsafe {
                options.flags(EnvFlags::NO_SYNC);
            }
        }
        // SAFETY: the map is only modified through this environment: the
        // directory is this engine's own (the registry gives every engine a
        // fresh or its own directory), LMDB's lock file coordinates any other
        // opener, and heed refuses a second open of the same path in this
        // process with different options.
        #[allow(unsafe_code)]
        let env = unsafe { options.open(&path) }.map_err(e)?;
        if config.policy.dir_sync {
            // data.mdb and lock.mdb were created (or found) by the open.
            dir.vfs().sync_dir(&path)?;
        }
        let mut tx = env.write_txn().map_err(e)?;
        let db: Kv = env.create_database(&mut tx, None).map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(LmdbEngine {
            life: Lifecycle::new("lmdb", "LMDB", path, config.policy, (env, db)),
            map_bytes,
        })
    }

    fn err(&self, e: heed::Error) -> Error {
        lmdb_err(self.life.path(), self.map_bytes, e)
    }

    fn check_key(env: &Env<WithoutTls>, key: &[u8]) -> Result<()> {
        let limit = env.max_key_size();
        if key.len() > limit {
            return Err(Error::TooLarge {
                what: "key",
                size: key.len() as u64,
                limit: limit as u64,
            });
        }
        if key.is_empty() {
            return Err(Error::Unsupported {
                engine: "lmdb",
                operation: "empty keys",
            });
        }
        Ok(())
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let h = self.life.get()?;
        let (env, db) = &*h;
        Self::check_key(env, key)?;
        let mut tx = env.write_txn().map_err(|e| self.err(e))?;
        match value {
            Some(v) => db.put(&mut tx, key, v).map_err(|e| self.err(e))?,
            None => {
                db.delete(&mut tx, key).map_err(|e| self.err(e))?;
            }
        }
        // Under `always` the commit syncs; under `none` it only writes.
        tx.commit().map_err(|e| self.err(e))?;
        self.life.durable_now();
        self.life.stored(key, value);
        Ok(())
    }
}

/// Maps a heed error, turning a full map into a clear `StorageFull` error.
fn lmdb_err(path: &std::path::Path, map_bytes: usize, e: heed::Error) -> Error {
    match e {
        heed::Error::Mdb(MdbError::MapFull) => Error::io(
            "lmdb",
            path,
            io::Error::new(
                io::ErrorKind::StorageFull,
                format!(
                    "the LMDB map is full (MDB_MAP_FULL): the database reached its map size of {} MiB; the write was not acknowledged",
                    map_bytes >> 20
                ),
            ),
        ),
        heed::Error::Io(source) => Error::io("lmdb", path, source),
        other => super::lib_err("lmdb", path, other),
    }
}

impl Engine for LmdbEngine {
    fn name(&self) -> &'static str {
        "lmdb"
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, Some(value))
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let h = self.life.get()?;
        let (env, db) = &*h;
        if key.is_empty() || key.len() > env.max_key_size() {
            return Ok(None);
        }
        let tx = env.read_txn().map_err(|e| self.err(e))?;
        Ok(db
            .get(&tx, key)
            .map_err(|e| self.err(e))?
            .map(<[u8]>::to_vec))
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.write(key, None)
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let h = self.life.get()?;
        let (env, db) = &*h;
        let tx = env.read_txn().map_err(|e| self.err(e))?;
        // LMDB has no empty key, and a zero-length bound is an error to it.
        let range: (Bound<&[u8]>, Bound<&[u8]>) = (
            if start.is_empty() {
                Bound::Unbounded
            } else {
                Bound::Included(start)
            },
            end.map_or(Bound::Unbounded, Bound::Excluded),
        );
        let mut out = Vec::new();
        if limit == 0 || end.is_some_and(<[u8]>::is_empty) {
            return Ok(out);
        }
        for item in db.range(&tx, &range).map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            out.push((k.to_vec(), v.to_vec()));
            if out.len() >= limit {
                break;
            }
        }
        Ok(out)
    }
    fn sync(&self) -> Result<()> {
        let h = self.life.get()?;
        h.0.force_sync().map_err(|e| self.err(e))
    }
    fn close(&self) -> Result<()> {
        if let Some((env, _)) = self.life.close() {
            // `always` synced every commit and `none` never syncs. Wait until
            // LMDB has closed the environment, so it can be reopened at once.
            env.prepare_for_closing().wait();
        }
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        self.life.stats_measuring(|(env, _)| env.real_disk_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SyncPolicy;

    #[test]
    fn a_full_map_is_a_storage_full_error_naming_the_map() {
        let t = tempfile::tempdir().unwrap();
        let config = EngineConfig::new(t.path(), SyncPolicy::NONE);
        let e = LmdbEngine::open_with_map(config, 1 << 20).unwrap();
        let value = vec![7u8; 2000];
        let mut acked = 0u64;
        let err = loop {
            match e.put(&acked.to_be_bytes(), &value) {
                Ok(()) => acked += 1,
                Err(err) => break err,
            }
            assert!(acked < 10_000, "a 1 MiB map took {acked} 2 KB values");
        };
        assert!(acked > 100, "only {acked} writes fit");
        let text = err.to_string();
        assert!(
            text.contains("MDB_MAP_FULL") && text.contains("1 MiB"),
            "{text}"
        );
        match &err {
            Error::Io { source, .. } => assert_eq!(source.kind(), io::ErrorKind::StorageFull),
            other => panic!("not an I/O error: {other:?}"),
        }
        // Every acknowledged write is still there.
        for i in 0..acked {
            assert_eq!(e.get(&i.to_be_bytes()).unwrap(), Some(value.clone()));
        }
        e.close().unwrap();
    }
}
