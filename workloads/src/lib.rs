//! Workloads: specs, presets and deterministic key/value generators.
//!
//! A [`WorkloadSpec`] (a preset by name, or a TOML file) turns into one
//! [`OpStream`] per thread; the same spec and seed give the same operations
//! on any machine and in any thread split.

mod distribution;
mod generator;
mod presets;
pub mod rng;
mod spec;

use std::path::{Path, PathBuf};

pub use distribution::{KeyChooser, Zipfian};
pub use generator::{key_for, write_key, Op, OpKind, OpStream};
pub use presets::{preset, PRESETS};
pub use spec::{
    key_space, KeyDistribution, OperationMix, ScanLength, ValueSize, WorkloadSpec,
    DEFAULT_OPERATION_COUNT,
};

/// Errors loading or validating a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// Not a preset name.
    #[error("unknown workload `{name}`; presets: {valid} (or a path to a .toml file)")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The presets.
        valid: String,
    },
    /// A workload file could not be read.
    #[error("workload file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A workload file is not valid TOML for a spec (the message has the
    /// line, column and field).
    #[error("workload file {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A field has an impossible value.
    #[error("workload field `{field}`: {reason}")]
    Invalid {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Loads and validates a TOML workload file.
pub fn load_file(path: &Path) -> Result<WorkloadSpec, WorkloadError> {
    let text = std::fs::read_to_string(path).map_err(|source| WorkloadError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    WorkloadSpec::from_toml(&text, path)
}

/// A preset name, or a path to a `.toml` file.
pub fn resolve(name_or_path: &str) -> Result<WorkloadSpec, WorkloadError> {
    if name_or_path.ends_with(".toml") || name_or_path.contains('/') {
        load_file(Path::new(name_or_path))
    } else {
        preset(name_or_path)
    }
}
