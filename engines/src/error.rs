//! The one error type of the `engines` crate.

use std::io;
use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything an engine, the storage layer or the policy parser can fail with.
///
/// Each variant carries enough context to act on: the path and operation of a
/// failed system call, the file and byte offset of corruption, the valid
/// choices for a bad name.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A system call on `path` failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`open`, `write`, `fdatasync`, ...).
        op: &'static str,
        /// The file or directory it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// Stored data failed validation somewhere other than a log's torn tail.
    #[error("corrupt data in {file}{}: {reason}", at_offset(*.offset))]
    Corrupt {
        /// The file holding the bad bytes.
        file: PathBuf,
        /// Byte offset of the first bad record, block or page; `None` when
        /// the check that failed does not locate it (a structural invariant
        /// over many pages, or a library's own corruption report).
        offset: Option<u64>,
        /// What check failed.
        reason: String,
    },

    /// A sync failed earlier, so nothing written since the last good sync may
    /// be assumed durable: the engine refuses further writes instead of
    /// retrying and acknowledging (Linux drops the dirty pages of a failed
    /// fsync and a retry can report success).
    #[error("engine is poisoned after a failed sync and refuses writes: {cause}")]
    Poisoned {
        /// The error of the sync that failed.
        cause: String,
    },

    /// The engine does not support this operation (see its capabilities).
    #[error("engine `{engine}` does not support {operation}")]
    Unsupported {
        /// Engine name.
        engine: &'static str,
        /// Operation name.
        operation: &'static str,
    },

    /// The engine cannot honour this sync policy; `reason` says why.
    #[error("engine `{engine}` cannot run sync policy `{policy}`: {reason}")]
    UnsupportedPolicy {
        /// Engine name.
        engine: &'static str,
        /// The policy asked for, in its text form.
        policy: String,
        /// Why the engine cannot honour it.
        reason: String,
    },

    /// A key, value or record exceeds what the engine can store.
    #[error("{what} of {size} bytes is too large (limit {limit} bytes)")]
    TooLarge {
        /// What was too large (`key`, `value`, `entry`).
        what: &'static str,
        /// Its size in bytes.
        size: u64,
        /// The engine's limit in bytes.
        limit: u64,
    },

    /// An engine name that the registry does not know.
    #[error("unknown engine `{name}`; valid engines: {valid}")]
    UnknownEngine {
        /// The name given.
        name: String,
        /// Comma-separated list of registered names.
        valid: String,
    },

    /// A sync policy text that does not parse.
    #[error("invalid sync policy `{text}`: {reason}; valid forms: none, always, batch:N, group, each optionally followed by +dir and/or @fsync (e.g. always+dir@fsync, batch:32+dir)")]
    InvalidPolicy {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },

    /// An engine configuration value is out of range.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(String),

    /// The engine was closed; no further operations are accepted.
    #[error("engine is closed")]
    Closed,
}

impl Error {
    /// Wraps an `io::Error` with the operation and path it came from.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// Builds a `Corrupt` error for the bad bytes at `offset` of `file`.
    pub fn corrupt(file: impl Into<PathBuf>, offset: u64, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            file: file.into(),
            offset: Some(offset),
            reason: reason.into(),
        }
    }

    /// Builds a `Corrupt` error for damage in `file` that has no single
    /// offset.
    pub fn corrupt_file(file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Corrupt {
            file: file.into(),
            offset: None,
            reason: reason.into(),
        }
    }

    /// True when the underlying cause is "no space left on device".
    pub fn is_disk_full(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.raw_os_error() == Some(28)
            || source.kind() == io::ErrorKind::StorageFull)
    }
}

/// The ` at byte offset N` of a `Corrupt` message, when the offset is known.
fn at_offset(offset: Option<u64>) -> String {
    offset.map_or_else(String::new, |o| format!(" at byte offset {o}"))
}
