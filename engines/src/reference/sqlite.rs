//! `sqlite`: rusqlite with the bundled SQLite, WAL journal mode, one table
//! `kv(key BLOB PRIMARY KEY, value BLOB)`, prepared statements.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::{lib_err, Cadence, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncMode;
use crate::{Error, Result};

/// SQLite behind the `Engine` trait.
#[derive(Debug)]
pub struct SqliteEngine {
    conn: Mutex<Connection>,
    path: PathBuf,
    cadence: Cadence,
    closed: AtomicBool,
    user_bytes: AtomicU64,
}

impl SqliteEngine {
    /// Opens `config.dir/kv.sqlite`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        super::sqlite_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("kv.sqlite");
        let e = |x: rusqlite::Error| lib_err("sqlite", &path, x);
        let conn = Connection::open(&path).map_err(e)?;
        let sync = match config.policy.mode {
            SyncMode::None => "OFF",
            _ => "FULL",
        };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
        ))
        .map_err(e)?;
        Ok(SqliteEngine {
            conn: Mutex::new(conn),
            path,
            cadence: Cadence::new(config.policy),
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(self.conn.lock().unwrap_or_else(|p| p.into_inner()))
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        lib_err("sqlite", &self.path, e)
    }
}

impl Engine for SqliteEngine {
    fn name(&self) -> &'static str {
        "sqlite"
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let c = self.conn()?;
        let mut st = c
            .prepare_cached("INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)")
            .map_err(|e| self.err(e))?;
        st.execute(params![key, value]).map_err(|e| self.err(e))?;
        self.cadence.durable_now();
        self.user_bytes
            .fetch_add((key.len() + value.len()) as u64, Relaxed);
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let c = self.conn()?;
        let mut st = c
            .prepare_cached("SELECT value FROM kv WHERE key = ?1")
            .map_err(|e| self.err(e))?;
        st.query_row(params![key], |r| r.get::<_, Vec<u8>>(0))
            .optional()
            .map_err(|e| self.err(e))
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        let c = self.conn()?;
        let mut st = c
            .prepare_cached("DELETE FROM kv WHERE key = ?1")
            .map_err(|e| self.err(e))?;
        st.execute(params![key]).map_err(|e| self.err(e))?;
        self.cadence.durable_now();
        self.user_bytes.fetch_add(key.len() as u64, Relaxed);
        Ok(())
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let c = self.conn()?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?));
        let rows: rusqlite::Result<Vec<_>> = match end {
            Some(end) => {
                let mut st = c
                    .prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3")
                    .map_err(|e| self.err(e))?;
                let it = st
                    .query_map(params![start, end, limit], map)
                    .map_err(|e| self.err(e))?;
                it.collect()
            }
            None => {
                let mut st = c
                    .prepare_cached(
                        "SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2",
                    )
                    .map_err(|e| self.err(e))?;
                let it = st
                    .query_map(params![start, limit], map)
                    .map_err(|e| self.err(e))?;
                it.collect()
            }
        };
        rows.map_err(|e| self.err(e))
    }
    fn sync(&self) -> Result<()> {
        let c = self.conn()?;
        // A checkpoint with synchronous=FULL syncs the WAL and the database.
        c.execute_batch("PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(FULL);")
            .map_err(|e| self.err(e))?;
        let restore = if self.cadence.policy.mode == SyncMode::None {
            "OFF"
        } else {
            "FULL"
        };
        c.execute_batch(&format!("PRAGMA synchronous={restore};"))
            .map_err(|e| self.err(e))
    }
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        // Under `none` nothing is synced; otherwise every commit already was.
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        let mut s = EngineStats {
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: self.cadence.writes(),
            ..EngineStats::default()
        };
        s.notes
            .insert("io".into(), "SQLite's own I/O (not through the Vfs)".into());
        s
    }
}
