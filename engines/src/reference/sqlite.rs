//! `sqlite`: rusqlite with the bundled SQLite, WAL journal mode, one table
//! `kv(key BLOB PRIMARY KEY, value BLOB)`, prepared statements.

use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use super::lifecycle::Lifecycle;
use super::{LibError, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::EngineDir;
use crate::policy::SyncMode;
use crate::Result;

/// SQLite behind the `Engine` trait.
#[derive(Debug)]
pub struct SqliteEngine {
    /// The connection; it stays open after `close` (SQLite is closed when
    /// the engine is dropped).
    life: Lifecycle<Mutex<Connection>>,
}

impl LibError for rusqlite::Error {
    fn is_corruption(&self) -> bool {
        matches!(
            self.sqlite_error_code(),
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)
        )
    }
}

impl SqliteEngine {
    /// Opens `config.dir/kv.sqlite`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        super::sqlite_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("kv.sqlite");
        let e = |x: rusqlite::Error| super::lib_err("sqlite", &path, x);
        let conn = Connection::open(&path).map_err(e)?;
        let sync = match config.policy.mode {
            SyncMode::None => "OFF",
            _ => "FULL",
        };
        // The page cache gets the shared budget (a negative size is KiB).
        let kib = (config.cache_bytes / 1024).max(1);
        conn.execute_batch(&format!(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync}; PRAGMA cache_size=-{kib}; CREATE TABLE IF NOT EXISTS kv(key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;"
        ))
        .map_err(e)?;
        Ok(SqliteEngine {
            life: Lifecycle::new("sqlite", "SQLite", path, config.policy, Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection, mapping its error.
    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let h = self.life.get()?;
        let c: MutexGuard<'_, Connection> = h.lock().unwrap_or_else(|p| p.into_inner());
        f(&c).map_err(|e| self.life.err(e))
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
        self.with(|c| {
            c.prepare_cached("INSERT OR REPLACE INTO kv(key, value) VALUES (?1, ?2)")?
                .execute(params![key, value])
        })?;
        self.life.durable_now();
        self.life.stored(key, Some(value));
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.with(|c| {
            c.prepare_cached("SELECT value FROM kv WHERE key = ?1")?
                .query_row(params![key], |r| r.get::<_, Vec<u8>>(0))
                .optional()
        })
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.with(|c| {
            c.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute(params![key])
        })?;
        self.life.durable_now();
        self.life.stored(key, None);
        Ok(())
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let map = |r: &rusqlite::Row<'_>| Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?));
        self.with(|c| match end {
            Some(end) => c
                .prepare_cached(
                    "SELECT key, value FROM kv WHERE key >= ?1 AND key < ?2 ORDER BY key LIMIT ?3",
                )?
                .query_map(params![start, end, limit], map)?
                .collect(),
            None => c
                .prepare_cached("SELECT key, value FROM kv WHERE key >= ?1 ORDER BY key LIMIT ?2")?
                .query_map(params![start, limit], map)?
                .collect(),
        })
    }
    fn sync(&self) -> Result<()> {
        let restore = if self.life.policy().mode == SyncMode::None {
            "OFF"
        } else {
            "FULL"
        };
        self.with(|c| {
            // A checkpoint with synchronous=FULL syncs the WAL and the database.
            c.execute_batch("PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(FULL);")?;
            c.execute_batch(&format!("PRAGMA synchronous={restore};"))
        })
    }
    fn close(&self) -> Result<()> {
        // Under `none` nothing is synced; otherwise every commit already was.
        self.life.mark_closed();
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        self.life.stats()
    }
}
