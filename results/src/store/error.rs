//! What can go wrong with a store, each cause a variant whose message
//! names the file, the folder or the column.

use std::path::PathBuf;

/// Errors opening, adding to or reading a results store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (locked past the busy timeout, disk full, I/O error).
    #[error("store {path}: {source}")]
    Sqlite {
        /// The store.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// Reading from a store that does not exist.
    #[error("store {path} does not exist (`bench-runner store add DIR --store {path}` makes one)")]
    Missing {
        /// The path given.
        path: PathBuf,
    },
    /// The file is not a bench-runner store.
    #[error("{path} is not a bench-runner results store: {reason}")]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What it is instead.
        reason: String,
    },
    /// A store written by a newer bench-runner, in a schema this one does
    /// not know: neither read nor written, so nothing in it is lost.
    #[error(
        "store {path} has schema version {found}, newer than this bench-runner reads and writes \
         (up to version {supported}); use a newer bench-runner (the store is left as it is)"
    )]
    NewerSchema {
        /// The store.
        path: PathBuf,
        /// Its `PRAGMA user_version`.
        found: i64,
        /// The newest version this binary knows ([`super::SCHEMA_VERSION`]).
        supported: i64,
    },
    /// The folder to add is not a results folder.
    #[error("{path} is not a results folder: {reason}")]
    NotResults {
        /// The folder.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A file of the folder could not be read or holds a value the store
    /// cannot keep.
    #[error(transparent)]
    Folder(#[from] crate::Error),
    /// A `COLUMN=VALUE` filter without `=` or with an empty column.
    #[error("`{filter}` is not COLUMN=VALUE (for example policy=always)")]
    BadFilter {
        /// The filter as given.
        filter: String,
    },
    /// A filter names a column the `runs` table does not have.
    #[error("`runs` has no column `{column}`; its columns are: {}", valid.join(", "))]
    UnknownColumn {
        /// The column named.
        column: String,
        /// The columns it has.
        valid: Vec<String>,
    },
    /// A filter's value is not of its column's type.
    #[error("`{column}` holds {reason}, not `{value}`")]
    BadValue {
        /// The column.
        column: String,
        /// The value given.
        value: String,
        /// What the column holds (`whole numbers`).
        reason: String,
    },
    /// A run id that is not in the store.
    #[error("store {path} holds no run `{run_id}`; it holds: {}", if stored.is_empty() { "nothing yet".to_string() } else { stored.join(", ") })]
    NoSuchRun {
        /// The store.
        path: PathBuf,
        /// The id asked for.
        run_id: String,
        /// `run_id (label)` of what it holds (at most 20).
        stored: Vec<String>,
    },
    /// Another run is stored under the run id and label of the folder
    /// being added: it is not replaced.
    #[error(
        "store {path} already holds run {run} from {stored}, and {adding} is another run \
         with the same id and label; nothing was replaced: add it to another store, or give \
         it another label (`label` in its environment.json)"
    )]
    OtherRun {
        /// The store.
        path: PathBuf,
        /// `run_id (label)`.
        run: String,
        /// The folder the stored run came from, and when it started.
        stored: String,
        /// The folder being added.
        adding: PathBuf,
    },
    /// A folder of a run could not be written back.
    #[error("{path}: {reason}")]
    Materialize {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

impl StoreError {
    /// A SQLite error of the store at `path`, or a clearer one: a file
    /// that is not SQLite at all.
    pub(crate) fn sqlite(path: &std::path::Path, source: rusqlite::Error) -> StoreError {
        if source.sqlite_error_code() == Some(rusqlite::ErrorCode::NotADatabase) {
            return StoreError::NotAStore {
                path: path.to_path_buf(),
                reason: "not a SQLite database".into(),
            };
        }
        StoreError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
