//! `redb`: one table, one write transaction per put or delete, each
//! committed with `Durability::Immediate` (the only policy redb can express
//! faithfully, see [`super::redb_supports`]). A bulk load
//! ([`EngineConfig::bulk_load`]) commits with `Durability::None` and makes
//! every 1,024th commit, `sync` and `close` durable: one durable commit
//! per key makes a large load take tens of minutes (docs/measurements.md).
//!
//! ## Durability
//!
//! `always`: redb as shipped. `Database::create` opens `kv.redb` with
//! `O_CREAT` and every commit `fdatasync`s it, but redb 4.6 never fsyncs
//! the directory, so on a filesystem that does not journal the create with
//! the file's data (POSIX, `fuse-posix`) a power cut can remove the whole
//! database with every acknowledged commit in it
//! (docs/redb-directory-fsync.md).
//!
//! `always+dir`: the adapter makes the name durable itself before redb sees
//! the file: it creates the empty `kv.redb` through the `Vfs` when missing,
//! fsyncs the directory (on every open, as an earlier run may have crashed
//! between the create and the directory sync), and only then opens it with
//! `Database::create`, which initializes an empty file in place. The file is
//! opened by path rather than handed over with `Builder::create_file`
//! (deprecated since redb 4.5) because a `std::fs::File` lies outside the
//! `Vfs` seam; the effect is the same: the name is durable before the first
//! commit is acknowledged.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::lifecycle::Lifecycle;
use super::{LibError, CAPABILITIES};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats, BULK_LOAD_SYNC_EVERY};
use crate::fs::EngineDir;
use crate::{Error, Result};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// redb behind the `Engine` trait.
#[derive(Debug)]
pub struct RedbEngine {
    /// Closing drops the database, which releases its file lock.
    life: Lifecycle<Database>,
    /// [`EngineConfig::bulk_load`]: commits are `Durability::None` except
    /// every [`BULK_LOAD_SYNC_EVERY`]th, and `sync`/`close` commit durably.
    bulk_load: bool,
    /// Commits since the last durable one (bulk load only).
    unsynced: AtomicU64,
}

/// A redb error of any of its types (opening, transactions, tables,
/// commits), judged as the one `redb::Error` they all convert into.
struct RedbError {
    text: String,
    corrupted: bool,
}

impl RedbError {
    fn new<E: Into<redb::Error> + fmt::Display>(e: E) -> Self {
        let text = e.to_string();
        // redb reports a file that does not hold a redb database (its magic
        // number is wrong) as an I/O error of kind `InvalidData`, and damage
        // within one as `Corrupted`.
        let corrupted = match e.into() {
            redb::Error::Corrupted(_) => true,
            redb::Error::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
            _ => false,
        };
        RedbError { text, corrupted }
    }
}

impl fmt::Display for RedbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl LibError for RedbError {
    fn is_corruption(&self) -> bool {
        self.corrupted
    }
}

impl RedbEngine {
    /// Opens (or creates) `config.dir/kv.redb`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        super::redb_supports(&config.policy)?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        let path = dir.join("kv.redb");
        if config.policy.dir_sync {
            if !dir.exists("kv.redb")? {
                // An empty file: redb initializes it in place.
                drop(dir.vfs().create(&path)?);
            }
            dir.sync()?;
        }
        let db = Database::create(&path)
            .map_err(|e| super::lib_err("redb", &path, RedbError::new(e)))?;
        let engine = RedbEngine {
            life: Lifecycle::new("redb", "redb", path, config.policy, db),
            bulk_load: config.bulk_load,
            unsynced: AtomicU64::new(0),
        };
        // Create the table durably so reads never meet a missing table.
        {
            let db = engine.life.get()?;
            let tx = db.begin_write().map_err(|e| engine.err(e))?;
            tx.open_table(TABLE).map_err(|e| engine.err(e))?;
            tx.commit().map_err(|e| engine.err(e))?;
        }
        Ok(engine)
    }

    fn err<E: Into<redb::Error> + fmt::Display>(&self, e: E) -> Error {
        self.life.err(RedbError::new(e))
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        let db = self.life.get()?;
        let mut tx = db.begin_write().map_err(|e| self.err(e))?;
        // `redb_supports` admits only durable policies, so every commit is
        // `Immediate` (redb's default, set here so no default can change it),
        // except in a bulk load, which is made durable at its end.
        self.life.durable_now();
        let durable =
            !self.bulk_load || self.unsynced.fetch_add(1, Relaxed) + 1 >= BULK_LOAD_SYNC_EVERY;
        let durability = if durable {
            self.unsynced.store(0, Relaxed);
            Durability::Immediate
        } else {
            Durability::None
        };
        tx.set_durability(durability).map_err(|e| self.err(e))?;
        {
            let mut t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
            match value {
                Some(v) => {
                    t.insert(key, v).map_err(|e| self.err(e))?;
                }
                None => {
                    t.remove(key).map_err(|e| self.err(e))?;
                }
            }
        }
        tx.commit().map_err(|e| self.err(e))?;
        self.life.stored(key, value);
        Ok(())
    }
}

impl Engine for RedbEngine {
    fn name(&self) -> &'static str {
        "redb"
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, Some(value))
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.life.get()?;
        let tx = db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
        Ok(t.get(key)
            .map_err(|e| self.err(e))?
            .map(|g| g.value().to_vec()))
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
        let db = self.life.get()?;
        let tx = db.begin_read().map_err(|e| self.err(e))?;
        let t = tx.open_table(TABLE).map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for item in t.range::<&[u8]>(start..).map_err(|e| self.err(e))? {
            let (k, v) = item.map_err(|e| self.err(e))?;
            if end.is_some_and(|e| k.value() >= e) || out.len() >= limit {
                break;
            }
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }
    fn sync(&self) -> Result<()> {
        let db = self.life.get()?;
        let mut tx = db.begin_write().map_err(|e| self.err(e))?;
        tx.set_durability(Durability::Immediate)
            .map_err(|e| self.err(e))?;
        tx.commit().map_err(|e| self.err(e))?;
        self.unsynced.store(0, Relaxed);
        Ok(())
    }
    fn close(&self) -> Result<()> {
        // A bulk load's unsynced commits are made durable first; otherwise
        // every commit already had the policy's durability.
        if self.bulk_load && self.unsynced.load(Relaxed) > 0 {
            self.sync()?;
        }
        // Dropping the database releases the file lock so it can be reopened.
        drop(self.life.close());
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        self.life.stats()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::fs::{CountingFs, RealFs};

    /// Opens redb under `policy` in `dir`; the Vfs calls the adapter made.
    fn open(dir: &std::path::Path, policy: &str) -> (RedbEngine, crate::fs::IoSnapshot) {
        let fs = CountingFs::new(RealFs::shared());
        let counters = fs.counters();
        let config = EngineConfig::with_vfs(dir, Arc::new(fs), policy.parse().unwrap());
        let e = RedbEngine::open(config).unwrap();
        (e, counters.snapshot())
    }

    #[test]
    fn always_dir_creates_the_file_and_syncs_its_directory_before_redb_opens_it() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("db");
        // Plain `always` is redb as shipped: no name operation through us.
        let (e, io) = open(&t.path().join("plain"), "always");
        assert_eq!((io.creates, io.sync_dir), (0, 0));
        e.close().unwrap();

        let (e, io) = open(&dir, "always+dir");
        assert_eq!(io.creates, 1, "kv.redb is created through the Vfs");
        // The new directory's parent, then the directory holding kv.redb.
        assert_eq!(io.sync_dir, 2);
        e.put(b"k", b"v").unwrap();
        e.close().unwrap();

        // Reopened: redb's file is found, not created again, and the
        // directory is synced once more (an earlier crash may have come
        // between the create and its directory sync).
        let (e, io) = open(&dir, "always+dir");
        assert_eq!((io.creates, io.sync_dir), (0, 1));
        assert_eq!(e.get(b"k").unwrap(), Some(b"v".to_vec()));
        e.close().unwrap();
    }

    /// A bulk load syncs once per `BULK_LOAD_SYNC_EVERY` commits, and
    /// `close` makes the rest durable: a reopen sees every key.
    #[test]
    fn a_bulk_load_commits_unsynced_and_close_makes_it_durable() {
        let t = tempfile::tempdir().unwrap();
        let fs = CountingFs::new(RealFs::shared());
        let mut config = EngineConfig::with_vfs(t.path(), Arc::new(fs), "always".parse().unwrap());
        config.bulk_load = true;
        let e = RedbEngine::open(config).unwrap();
        let n = BULK_LOAD_SYNC_EVERY * 2 + 5;
        for k in 0..n {
            e.put(&k.to_be_bytes(), b"v").unwrap();
        }
        assert_eq!(
            e.unsynced.load(Relaxed),
            5,
            "one durable commit per {BULK_LOAD_SYNC_EVERY}"
        );
        e.close().unwrap();
        let (e, _) = open(t.path(), "always");
        for k in 0..n {
            assert_eq!(
                e.get(&k.to_be_bytes()).unwrap(),
                Some(b"v".to_vec()),
                "key {k}"
            );
        }
        e.close().unwrap();
    }
}
