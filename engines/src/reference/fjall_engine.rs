//! `fjall`: one keyspace with one partition; the journal is persisted after
//! each write as the policy says.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

use fjall::{Config, Keyspace, PartitionCreateOptions, PartitionHandle, PersistMode};

use super::{lib_err, Cadence, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncPrimitive;
use crate::{Error, Result};

/// fjall behind the `Engine` trait.
pub struct FjallEngine {
    keyspace: Keyspace,
    kv: PartitionHandle,
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
        super::fjall_supports(&config.policy).map_err(|_| Error::Unsupported {
            engine: "fjall",
            operation: "this sync policy",
        })?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("fjall");
        let keyspace = Config::new(&path)
            .open()
            .map_err(|e| lib_err("fjall", &path, e))?;
        let kv = keyspace
            .open_partition("kv", PartitionCreateOptions::default())
            .map_err(|e| lib_err("fjall", &path, e))?;
        Ok(FjallEngine {
            keyspace,
            kv,
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

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn persist(&self) -> Result<()> {
        let mode = if self.cadence.durable_now() {
            self.durable
        } else {
            PersistMode::Buffer
        };
        self.keyspace.persist(mode).map_err(|e| self.err(e))
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
        self.check_open()?;
        self.kv.insert(key, value).map_err(|e| self.err(e))?;
        self.persist()?;
        self.user_bytes
            .fetch_add((key.len() + value.len()) as u64, Relaxed);
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        Ok(self
            .kv
            .get(key)
            .map_err(|e| self.err(e))?
            .map(|v| v.to_vec()))
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.check_open()?;
        self.kv.remove(key).map_err(|e| self.err(e))?;
        self.persist()?;
        self.user_bytes.fetch_add(key.len() as u64, Relaxed);
        Ok(())
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        let mut out = Vec::new();
        for item in self.kv.range(start.to_vec()..) {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if end.is_some_and(|e| &*k >= e) || out.len() >= limit {
                break;
            }
            out.push((k.to_vec(), v.to_vec()));
        }
        Ok(out)
    }
    fn sync(&self) -> Result<()> {
        self.check_open()?;
        self.keyspace.persist(self.durable).map_err(|e| self.err(e))
    }
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        if self.cadence.policy.syncs_data() {
            self.keyspace
                .persist(self.durable)
                .map_err(|e| self.err(e))?;
        }
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        let mut s = EngineStats {
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: self.cadence.writes(),
            disk_bytes: self.keyspace.disk_space(),
            ..EngineStats::default()
        };
        s.notes
            .insert("io".into(), "fjall's own I/O (not through the Vfs)".into());
        s
    }
}
