//! The command-line options of `recovery` and its hidden child. The
//! command's code is in [`crate::commands::recovery`].

use std::path::PathBuf;

use clap::Args;

use crate::cli::output::OutputArgs;

/// Examples of `recovery --help`.
pub const RECOVERY_EXAMPLES: &str = "\
Examples:
  Every engine under `always`, 10k, 100k and 1m keys, three rounds:
    bench-runner recovery --disk /mnt/nvme/tmp

  A smoke run of two engines, added to an existing run's folder:
    bench-runner recovery --disk /mnt/nvme/tmp --quick --engines wal,lsm --out bench-results/myrun";

/// Options of `recovery`.
#[derive(Debug, Args, Clone)]
pub struct RecoveryArgs {
    /// Directory on the disk under test (a fresh subfolder is used and removed).
    #[arg(long, value_name = "DIR")]
    pub disk: PathBuf,
    /// Engines, comma-separated (default: every registered engine).
    #[arg(long, value_delimiter = ',')]
    pub engines: Vec<String>,
    /// Policies of the measured writes, comma-separated (default: always).
    #[arg(long, value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Keys in the store, comma-separated, with an optional k or m suffix (default: 10k,100k,1m; 2k,8k with --quick).
    #[arg(long, value_delimiter = ',', value_name = "N")]
    pub sizes: Vec<String>,
    /// Writes made under the measured policy after the load, before the close or the kill (at most the store's keys; default: 10000; 1000 with --quick).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub tail: Option<String>,
    /// Value size in bytes (default: 100).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    pub value_size: Option<String>,
    /// Repetitions of each measurement, 1 to 1000, run interleaved as in `run`; results report the median and a 95% interval (default: 3; 1 with --quick).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub repeat: Option<String>,
    /// Seed of the kill points (the clean and the killed load of a measurement share it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seed of the interleaved order (default: a fresh one per run).
    #[arg(long, value_name = "SEED")]
    pub order_seed: Option<u64>,
    /// Small sizes and one repetition, for a smoke run.
    #[arg(long)]
    pub quick: bool,
    /// Drop the page cache before each timed reopen, as a power loss would (root only); without it the cache stays warm, as after a process crash.
    #[arg(long)]
    pub cold: bool,
    /// Testing the checker only: the writing child acknowledges every measured write after the first N without making it.
    #[arg(long, hide = true, value_name = "N")]
    pub test_drop_after: Option<u64>,
    /// The results store the finished folder is added to.
    #[command(flatten)]
    pub store: crate::cli::store::StoreTarget,
    /// Output options (--out adds recovery.csv to an existing run's folder).
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Hidden child of `recovery`: loads keys, serves the line protocol for
/// the measured writes, or times a reopen and reports every key.
#[derive(Debug, Args, Clone)]
pub struct RecoveryChildArgs {
    /// Engine.
    #[arg(long)]
    pub engine: String,
    /// Policy of the measured writes.
    #[arg(long)]
    pub policy: String,
    /// Engine directory (default: $BENCH_DIR).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Value size in bytes.
    #[arg(long, default_value_t = 100)]
    pub value_size: u64,
    /// Load keys 0..N under the engine's weakest policy, sync, close and exit.
    #[arg(long, value_name = "N", conflicts_with = "reopen")]
    pub load: Option<u64>,
    /// Time the reopen plus the read of --first-key, then report keys 0..--keys.
    #[arg(long, requires_all = ["keys", "first_key"])]
    pub reopen: bool,
    /// Keys to report after the reopen.
    #[arg(long, value_name = "N")]
    pub keys: Option<u64>,
    /// The key read first after the reopen (the last acknowledged one).
    #[arg(long, value_name = "K")]
    pub first_key: Option<u64>,
    /// Testing the checker only: acknowledge every write after the first N without making it.
    #[arg(long, value_name = "N")]
    pub test_drop_after: Option<u64>,
}
