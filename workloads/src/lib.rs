//! Workloads: specs, presets and deterministic key/value generators.
//!
//! A [`WorkloadSpec`] (a preset by name, or a TOML file) turns into one
//! [`OpStream`] per thread for the load phase ([`WorkloadSpec::load_stream`])
//! and one for the measured phase ([`WorkloadSpec::run_stream`]). The same
//! spec and seed give the same operations on any machine: the RNG is this
//! crate's own ([`rng`]), and each thread's stream depends only on the
//! spec, the thread index and the thread count, never on timing.
//!
//! ```
//! let spec = workloads::preset("ycsb-a").unwrap();
//! let mut stream = spec.run_stream(0, 1);
//! let op = stream.next_op().unwrap();
//! assert_eq!(op.key.len(), spec.key_size);
//! ```

mod distribution;
mod keys;
mod presets;
pub mod rng;
mod spec;
mod stream;

use std::path::{Path, PathBuf};

pub use distribution::{zeta, KeyChooser, Zipfian, SCRAMBLED_ITEMS};
pub use keys::{key_for, key_space, permute, write_key};
pub use presets::{preset, PRESETS};
pub use spec::{
    KeyDistribution, Missing, OperationMix, ScanLength, ValueSize, WorkloadSpec,
    DEFAULT_OPERATION_COUNT, MAX_THREADS, MAX_VALUE_SIZE,
};
pub use stream::{Op, OpKind, OpStream};

/// Errors loading or validating a workload.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkloadError {
    /// Not a preset name.
    #[error("unknown workload `{name}`; presets: {valid} (or a path to a .toml file)")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The presets, comma-separated.
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
    /// A workload file is not valid TOML for a spec, or a field in it has
    /// an impossible value; the parser's message has the line, the column
    /// and the field.
    #[error("workload file {path}: {message}")]
    Toml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A field has an impossible value, alone or with the other fields.
    #[error("workload field `{field}`: {reason}")]
    Invalid {
        /// The field, dotted for nested ones (`distribution.constant`).
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// An engine cannot serve the workload's mix.
    #[error("workload `{workload}` {}", spec::Missing::list(lacks))]
    Unsupported {
        /// The workload's name.
        workload: String,
        /// What the engine lacks, one reason per operation kind.
        lacks: Vec<spec::Missing>,
    },
    /// A workload file parsed but its fields do not fit together.
    #[error("workload file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong ([`WorkloadError::Invalid`]).
        #[source]
        source: Box<WorkloadError>,
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

/// A preset name, or a path to a TOML file (anything ending in `.toml` or
/// containing a path separator).
pub fn resolve(name_or_path: &str) -> Result<WorkloadSpec, WorkloadError> {
    if name_or_path.ends_with(".toml") || name_or_path.contains(['/', std::path::MAIN_SEPARATOR]) {
        load_file(Path::new(name_or_path))
    } else {
        preset(name_or_path)
    }
}
