//! `fjall`: one database with one keyspace (fjall 3's names; fjall 2 called
//! them keyspace and partition); the journal is persisted after each write as
//! the policy says.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{RwLock, RwLockReadGuard};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use super::{lib_err, Cadence, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncPrimitive;
use crate::{Error, Result};

/// fjall behind the `Engine` trait.
pub struct FjallEngine {
    /// `None` after close: dropping the handles releases fjall's lock so
    /// the folder can be reopened.
    handles: RwLock<Option<(Database, Keyspace)>>,
    path: PathBuf,
    cadence: Cadence,
    durable: PersistMode,
    closed: AtomicBool,
    user_bytes: AtomicU64,
}

impl std::fmt::Debug for FjallEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FjallEngine")
            .field("path", &self.path)
            .finish()
    }
}

impl FjallEngine {
    /// Opens (or creates) a keyspace in `config.dir/fjall`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        super::fjall_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("fjall");
        let db = Database::builder(&path)
            .open()
            .map_err(|e| lib_err("fjall", &path, e))?;
        let kv = db
            .keyspace("kv", KeyspaceCreateOptions::default)
            .map_err(|e| lib_err("fjall", &path, e))?;
        Ok(FjallEngine {
            handles: RwLock::new(Some((db, kv))),
            path,
            cadence: Cadence::new(config.policy),
            durable: if config.policy.primitive == SyncPrimitive::Fsync {
                PersistMode::SyncAll
            } else {
                PersistMode::SyncData
            },
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
        })
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        lib_err("fjall", &self.path, e)
    }

    fn handles(&self) -> Result<RwLockReadGuard<'_, Option<(Database, Keyspace)>>> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(self.handles.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn persist(&self, db: &Database) -> Result<()> {
        let mode = if self.cadence.durable_now() {
            self.durable
        } else {
            PersistMode::Buffer
        };
        db.persist(mode).map_err(|e| self.err(e))
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
        let g = self.handles()?;
        let (db, kv) = g.as_ref().ok_or(Error::Closed)?;
        kv.insert(key, value).map_err(|e| self.err(e))?;
        self.persist(db)?;
        self.user_bytes
            .fetch_add((key.len() + value.len()) as u64, Relaxed);
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let g = self.handles()?;
        let (_, kv) = g.as_ref().ok_or(Error::Closed)?;
        Ok(kv.get(key).map_err(|e| self.err(e))?.map(|v| v.to_vec()))
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        let g = self.handles()?;
        let (db, kv) = g.as_ref().ok_or(Error::Closed)?;
        kv.remove(key).map_err(|e| self.err(e))?;
        self.persist(db)?;
        self.user_bytes.fetch_add(key.len() as u64, Relaxed);
        Ok(())
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let g = self.handles()?;
        let (_, kv) = g.as_ref().ok_or(Error::Closed)?;
        let mut out = Vec::new();
        for item in kv.range(start.to_vec()..) {
            let (k, v) = item.into_inner().map_err(|e| self.err(e))?;
            if end.is_some_and(|e| &*k >= e) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
    fn sync(&self) -> Result<()> {
        let g = self.handles()?;
        let (db, _) = g.as_ref().ok_or(Error::Closed)?;
        db.persist(self.durable).map_err(|e| self.err(e))
    }
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        let taken = self
            .handles
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some((db, _kv)) = taken {
            if self.cadence.policy.syncs_data() {
                db.persist(self.durable).map_err(|e| self.err(e))?;
            }
            // Dropping both handles here (fjall persists once more on drop)
            // releases the folder's lock.
        }
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        let mut s = EngineStats {
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: self.cadence.writes(),
            ..EngineStats::default()
        };
        let g = self.handles.read().unwrap_or_else(|p| p.into_inner());
        if let Some((db, _)) = g.as_ref() {
            match db.disk_space() {
                Ok(bytes) => s.disk_bytes = bytes,
                Err(e) => {
                    s.notes
                        .insert("disk_bytes".into(), format!("not measured: {e}"));
                }
            }
        }
        s.notes
            .insert("io".into(), "fjall's own I/O (not through the Vfs)".into());
        s
    }
}
