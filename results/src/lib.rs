//! Result rows, environment capture, and the files a run leaves behind.
//!
//! A results folder holds (docs/results-format.md lists every column):
//!
//! | file | content |
//! |---|---|
//! | `environment.json` | [`Environment`]: format version, machine, OS, disk, tool version |
//! | `config.json` | everything needed to rerun the same thing |
//! | `probe.csv` | [`ProbeRow`]: the disk's own ceilings |
//! | `runs.csv` | [`RunRow`]: one row per cell (medians over repetitions) |
//! | `repetitions.csv` | [`RunRow`]: one row per cell and repetition |
//! | `latency.csv` | [`LatencyRow`]: long format, cell x operation x percentile |
//! | `hgrm/*.hgrm` | HdrHistogram percentile distributions per cell and operation |
//! | `hist/*.hdr` | the same histograms serialized (V2+deflate), to merge exactly |
//! | `crash.csv` | [`CrashRow`]: the durability verification table |
//! | `skipped.csv` | [`SkippedRow`]: combinations not run, and why |
//! | `timeline.csv` | [`TimelineRow`]: cell x repetition x interval |
//! | `events.csv` | [`EventRow`]: engine maintenance during each cell |
//! | `capacity.csv` | [`CapacityRow`]: the highest rate within a latency budget |
//! | `capacity_steps.csv` | [`CapacityStepRow`]: every open-loop measurement of those searches |
//! | `recovery.csv` | [`RecoveryRow`]: reopen time against data size |
//!
//! A fleet folder (`bench-runner merge`) adds `machines.csv`, `machines/`
//! (each machine's folder, whole), `fleet.csv` and `notes.md`: see
//! [`fleet`].
//!
//! `environment.json`'s `format_version` ([`FORMAT_VERSION`]) says which
//! layout the folder has; folders written before it was recorded are
//! version 1. [`ResultsDir::open`] refuses a folder newer than this binary
//! reads ([`Error::NewerFormat`]).
//!
//! Every file is written durably: temporary file, fsync, rename, fsync of
//! the directory. The tool about durability keeps its own results durable.
//!
//! The report of one folder and the comparison of several read a folder
//! through [`RunFolder::load`], which also names its run; cells are
//! identified across runs by a [`CellKey`] and listed in the matrix order
//! of [`sort_in_matrix_order`], policies by their [`PolicyKey`].
//!
//! The [`store`] keeps every file of many folders in one SQLite database
//! and writes any of them back as a folder.

pub mod capacity;
pub mod ceilings;
mod cell;
pub mod compare;
mod device;
mod env;
mod files;
pub mod fleet;
mod folder;
mod hgrm;
mod hist;
pub mod names;
pub mod policy;
mod recovery;
mod rows;
mod stats;
pub mod steady;
pub mod store;
mod timeline;
pub mod warnings;

pub use capacity::{CapacityRow, CapacityStepRow};
pub use cell::{sort_in_matrix_order, CellKey};
pub use device::{
    is_noisy, lying_disk_doubts, BlockDevice, DeviceStat, SyncEvidence, NOISE_FACTOR,
    ROTATIONAL_MIN_SYNC_US,
};
pub use env::{detect_disk, DeviceCounters, DiskInfo, Environment};
pub use files::{
    hgrm_stem, read_csv, read_json, write_csv, write_csv_with_header, write_durably, write_json,
    ResultsDir,
};
pub use folder::RunFolder;
pub use hgrm::{parse_hgrm, write_hgrm, PERCENTILES};
pub use hist::{merge_hists, read_hist, write_hist, OPERATIONS};
pub use policy::{PolicyKey, SyncCadence};
pub use recovery::{compare_recovery, RecoveryCompareRow, RecoveryRow};
pub use rows::{CeilingRow, CrashRow, LatencyRow, ProbeRow, RunRow, SkippedRow};
pub use stats::{median, median_interval, percentile_supported, MedianInterval, MIN_TAIL_SAMPLES};
pub use steady::Steadiness;
pub use timeline::{CellRow, EventRow, TimelineRow};
pub use warnings::{SyncDoubt, Warning, Warnings};

use std::path::PathBuf;

/// Errors reading or writing results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file system call failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A CSV file could not be written or parsed.
    #[error("CSV {path}: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line).
        #[source]
        source: csv::Error,
    },
    /// A JSON file could not be written or parsed.
    #[error("JSON {path}: {source}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A file's content is not what this tool writes.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A results folder written by a newer bench-runner, in a format this
    /// one does not know.
    #[error(
        "{path}: results format version {found} is newer than this bench-runner reads \
         (up to version {supported}); read it with a newer bench-runner"
    )]
    NewerFormat {
        /// The results folder.
        path: PathBuf,
        /// Its `format_version`.
        found: u64,
        /// The newest version this binary reads ([`FORMAT_VERSION`]).
        supported: u32,
    },
    /// Folders to be merged into one are of different results formats.
    #[error(
        "the folders are of different results formats ({}): merge folders of one format (rerun the older machines with this bench-runner, or merge them with the bench-runner that wrote them)",
        versions_text(.versions)
    )]
    FormatsDiffer {
        /// Each folder and its `format_version`.
        versions: Vec<(PathBuf, u64)>,
    },
}

/// `a is version 2, b is version 3`.
fn versions_text(versions: &[(PathBuf, u64)]) -> String {
    versions
        .iter()
        .map(|(p, v)| format!("{} is version {v}", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The format of the results folders this binary writes, and the newest it
/// reads: `format_version` in `environment.json`. Version 1 is every folder
/// written before the field existed; 2 added the field (with the columns,
/// all optional, of that time); 3 added `hist/` (each cell's histograms,
/// serialized so they merge exactly) and the fleet folders of
/// `bench-runner merge` (`machines.csv`, `machines/`, `fleet.csv`). Raise
/// it when a reader of today would misread a new folder, and add a fixture
/// of the old version to `results/tests/fixtures` (bench-runner's
/// `format_versions` test loads one of every version).
pub const FORMAT_VERSION: u32 = 3;

/// This tool's version, recorded in every results folder.
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
