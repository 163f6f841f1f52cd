//! `fjall`: one database with one keyspace (fjall 3's names; fjall 2 called
//! them keyspace and partition); the journal is persisted after each write as
//! the policy says.

use fjall::{Database, Keyspace, KeyspaceCreateOptions, LsmError, PersistMode};

use super::lifecycle::Lifecycle;
use super::{LibError, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncPrimitive;
use crate::Result;

/// fjall behind the `Engine` trait.
pub struct FjallEngine {
    /// Closing drops both handles, which releases fjall's lock so the
    /// folder can be reopened.
    life: Lifecycle<(Database, Keyspace)>,
    /// The persist mode of a write the policy wants durable.
    durable: PersistMode,
    /// Opened for a bulk load: close compacts the tree first.
    settle_at_close: bool,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine")
            .field("path", &self.life.path())
            .finish()
    }
}

impl LibError for fjall::Error {
    fn is_corruption(&self) -> bool {
        use fjall::Error as F;
        match self {
            F::Storage(e) => !matches!(e, LsmError::Io(_)),
            F::JournalRecovery(_)
            | F::InvalidVersion(_)
            | F::Decompress(_)
            | F::InvalidTrailer
            | F::InvalidTag(_)
            | F::Unrecoverable => true,
            _ => false,
        }
    }
}

impl FjallEngine {
    /// Opens (or creates) a keyspace in `config.dir/fjall`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        super::fjall_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("fjall");
        let e = |x: fjall::Error| super::lib_err("fjall", &path, x);
        let db = Database::builder(&path)
            .cache_size(config.cache_bytes)
            .open()
            .map_err(e)?;
        let kv = db
            .keyspace("kv", KeyspaceCreateOptions::default)
            .map_err(e)?;
        Ok(FjallEngine {
            life: Lifecycle::new("fjall", "fjall", path, config.policy, (db, kv)),
            durable: if config.policy.primitive == SyncPrimitive::Fsync {
                PersistMode::SyncAll
            } else {
                PersistMode::SyncData
            },
            settle_at_close: config.bulk_load,
        })
    }

    /// Persists the journal as the policy wants for this write.
    fn persist(&self, db: &Database) -> Result<()> {
        let mode = if self.life.durable_now() {
            self.durable
        } else {
            PersistMode::Buffer
        };
        db.persist(mode).map_err(|e| self.life.err(e))
    }
}

impl Engine for FjallEngine {
    fn name(&self) -> &'static str {
        "fjall"
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let h = self.life.get()?;
        let (db, kv) = &*h;
        kv.insert(key, value).map_err(|e| self.life.err(e))?;
        self.persist(db)?;
        self.life.stored(key, Some(value));
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let h = self.life.get()?;
        let (_, kv) = &*h;
        Ok(kv
            .get(key)
            .map_err(|e| self.life.err(e))?
            .map(|v| v.to_vec()))
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        let h = self.life.get()?;
        let (db, kv) = &*h;
        kv.remove(key).map_err(|e| self.life.err(e))?;
        self.persist(db)?;
        self.life.stored(key, None);
        Ok(())
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let h = self.life.get()?;
        let (_, kv) = &*h;
        let mut out = Vec::new();
        for item in kv.range(start.to_vec()..) {
            let (k, v) = item.into_inner().map_err(|e| self.life.err(e))?;
            if end.is_some_and(|e| &*k >= e) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
    fn sync(&self) -> Result<()> {
        let h = self.life.get()?;
        h.0.persist(self.durable).map_err(|e| self.life.err(e))
    }
    fn close(&self) -> Result<()> {
        if let Some((db, kv)) = self.life.close() {
            if self.settle_at_close {
                // As our lsm settles after a bulk load (RocksDB's
                // tools/benchmark.sh compacts after its `bulkload`), so
                // that a read cell after the load measures neither LSM's
                // compaction debt. fjall 3 has no level-0 compaction to
                // ask for, only this (hidden) major compaction, which
                // leaves one sorted run.
                kv.major_compact().map_err(|e| self.life.err(e))?;
            }
            if self.life.policy().syncs_data() {
                db.persist(self.durable).map_err(|e| self.life.err(e))?;
            }
            // Dropping both handles here (fjall persists once more on drop)
            // releases the folder's lock.
        }
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        self.life.stats_measuring(|(db, _)| db.disk_space())
    }
}
