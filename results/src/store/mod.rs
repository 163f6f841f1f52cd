//! The results store: every run in one SQLite file, so runs from many
//! machines can be queried together, and compared or plotted again
//! without their folders. The folder stays the unit of exchange; the
//! store indexes folders and gives them back.
//!
//! ## Schema (version [`SCHEMA_VERSION`], `PRAGMA user_version`)
//!
//! `PRAGMA application_id` is [`APPLICATION_ID`], so another program's
//! database is refused rather than written into.
//!
//! | table | rows |
//! |---|---|
//! | `folders` | one per stored folder: `folder_id`, `run_id`, `label` (unique together), `source` (the folder added), `added_utc`, `format_version`, `added_by` (the bench-runner version) |
//! | `runs`, `repetitions`, `latency`, `timeline`, `events`, `probe`, `ceilings`, `skipped`, `crash`, `recovery`, `capacity`, `capacity_steps` | the rows of the CSV file of that name, one column per CSV column, typed from the row type ([`columns`]) |
//! | `environment` | `environment.json`: its main fields as columns and the whole file in `json` |
//! | `config` | `config.json`, in `json` |
//! | `files` | every file of the folder: its `path`, the table its rows are in (`stored_in`) and its CSV header (`columns`, a JSON array), or the file itself (`content`: `hgrm/*.hgrm`, and a CSV file whose header has a column this bench-runner does not know) |
//!
//! Every row has the `folder_id` of its folder; every table has `run_id`
//! and `label` columns (`crash` and `skipped` rows get their folder's).
//! Figures are `INTEGER` or `REAL`, an empty (unmeasured) figure is NULL,
//! bools are 1/0, text is text; seeds are text (they use all 64 bits).
//!
//! ## Writing
//!
//! WAL mode and a 60-second busy timeout: several processes may add to
//! one store at once. Each folder is added in one `BEGIN IMMEDIATE`
//! transaction that first removes the rows of an earlier add of the same
//! run id and label, so adding a folder again replaces it. A folder is
//! read and checked whole before its transaction starts: a bad folder
//! leaves the store as it was.

pub mod columns;
mod error;
mod ingest;
mod materialize;
mod schema;
mod select;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use error::{Result, StoreError};
pub use ingest::{read_folder, FolderContent, MARKERS};
pub use select::{Filter, SelectedRun, Selection};
pub use write::Added;

/// The store's schema version, `PRAGMA user_version`. Raise it when a
/// reader of today would misread a new store (a column added to a row
/// type is not such a change: it is added to the table on the next
/// write); a newer store is refused, never written.
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a store: "bRnS".
pub const APPLICATION_ID: i64 = 0x6252_6e53;

/// How long a writer waits for another to finish its transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Opening for reading or for writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The store must exist; nothing is changed.
    Read,
    /// Made if missing; its tables gain any new columns.
    Write,
}

/// An open results store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A stored run, as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRun {
    /// Run id.
    pub run_id: String,
    /// Label.
    pub label: String,
    /// The folder it was added from.
    pub source: String,
}

impl Store {
    /// Opens (for [`Access::Write`], makes) the store at `path`. Refuses a
    /// file that is not a store and a store of a newer schema version,
    /// before changing anything in it.
    pub fn open(path: &Path, access: Access) -> Result<Store> {
        if path.is_dir() {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "it is a folder (a store is one SQLite file)".into(),
            });
        }
        if access == Access::Read && !path.exists() {
            return Err(StoreError::Missing {
                path: path.to_path_buf(),
            });
        }
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = parent.filter(|p| !p.is_dir()) {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: format!("its folder {} does not exist", folder.display()),
            });
        }
        retry_busy(|| Store::connect(path, access))
    }

    /// Opens the store and, for writing, makes or updates its tables.
    fn connect(path: &Path, access: Access) -> Result<Store> {
        let sql = |e| StoreError::sqlite(path, e);
        let flags = match access {
            Access::Read => OpenFlags::SQLITE_OPEN_READ_WRITE,
            Access::Write => OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(path, flags).map_err(sql)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(sql)?;
        let fresh = check_identity(&conn, path)?;
        if access == Access::Read && fresh {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "an empty database: no run has been added to it".into(),
            });
        }
        if access == Access::Write {
            if fresh {
                // WAL cannot be chosen inside a transaction; a store made
                // by another process meanwhile is in WAL already.
                conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                    .map_err(sql)?;
            }
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sql)?;
            // Another process may have made it since the check above.
            check_identity(&tx, path)?;
            let tables = schema::tables().map_err(|reason| StoreError::NotAStore {
                path: path.to_path_buf(),
                reason,
            })?;
            for s in schema::create_statements(tables) {
                tx.execute(&s, []).map_err(sql)?;
            }
            schema::add_new_columns(&tx, tables).map_err(sql)?;
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(sql)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a folder read by [`read_folder`] in one transaction,
    /// replacing an earlier add of the same run id and label.
    pub fn add(&mut self, folder: &FolderContent) -> Result<Added> {
        retry_busy(|| self.add_once(folder))
    }

    fn add_once(&mut self, folder: &FolderContent) -> Result<Added> {
        let path = self.path.clone();
        let sql = |e| StoreError::sqlite(&path, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        check_identity(&tx, &path)?;
        if let Some((stored, started)) = write::other_run(&tx, folder).map_err(sql)? {
            return Err(StoreError::OtherRun {
                path,
                run: format!("{} ({})", folder.run_id, folder.label),
                stored: format!("{stored} (started {started})"),
                adding: folder.dir.clone(),
            });
        }
        let added = write::insert(&tx, folder).map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(added)
    }

    /// Every stored run, in the order first added.
    pub fn runs(&self) -> Result<Vec<StoredRun>> {
        let all = select::stored(&self.conn).map_err(|e| StoreError::sqlite(&self.path, e))?;
        Ok(all
            .into_iter()
            .map(|(_, run_id, label, source)| StoredRun {
                run_id,
                label,
                source,
            })
            .collect())
    }

    /// The runs `sel` picks ([`Selection`]); empty when nothing matches.
    pub fn select(&self, sel: &Selection) -> Result<Vec<SelectedRun>> {
        select::select(&self.conn, &self.path, sel)
    }

    /// Writes `run` back as a results folder in `dir` (made if missing,
    /// best empty): the files it was added with, less the rows and
    /// histograms of cells its filters left out. Returns the files written.
    pub fn materialize(&self, run: &SelectedRun, dir: &Path) -> Result<usize> {
        materialize::materialize(&self.conn, &self.path, run, dir)
    }
}

/// Runs `f` again while SQLite answers "database is locked" without
/// waiting (it does so where waiting could deadlock, and while another
/// connection turns a new store to WAL), for up to [`BUSY_TIMEOUT`].
/// Each attempt is one transaction, rolled back when it fails.
fn retry_busy<T>(mut f: impl FnMut() -> Result<T>) -> Result<T> {
    let start = std::time::Instant::now();
    loop {
        match f() {
            Err(StoreError::Sqlite { source, .. })
                if source.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy)
                    && start.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Checks the database is a store of a schema this binary knows; true
/// when it is empty (a store to be made).
fn check_identity(conn: &Connection, path: &Path) -> Result<bool> {
    let sql = |e| StoreError::sqlite(path, e);
    // One statement, so one snapshot: read one by one, another writer's
    // commit could fall between them (its tables seen, its version not).
    let (app, version, tables): (i64, i64, i64) = conn
        .query_row(
            "SELECT (SELECT application_id FROM pragma_application_id()), \
                    (SELECT user_version FROM pragma_user_version()), \
                    (SELECT count(*) FROM sqlite_master WHERE type = 'table')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(sql)?;
    let not_a_store = |reason: String| StoreError::NotAStore {
        path: path.to_path_buf(),
        reason,
    };
    match (app, version) {
        (0, 0) if tables == 0 => Ok(true),
        (APPLICATION_ID, v) if v > SCHEMA_VERSION => Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: v,
            supported: SCHEMA_VERSION,
        }),
        (APPLICATION_ID, SCHEMA_VERSION) => Ok(false),
        (APPLICATION_ID, v) => Err(not_a_store(format!(
            "schema version {v}, which this bench-runner does not read"
        ))),
        _ => Err(not_a_store(format!(
            "a SQLite database of another program (application_id {app}, {tables} tables)"
        ))),
    }
}

#[cfg(test)]
mod tests;
