//! Command-line interface (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Measures what durability costs on a disk and proves what it protects.
///
/// Without a subcommand, `run` is assumed: `bench-runner --disk /mnt/nvme`.
#[derive(Debug, Parser)]
#[command(name = "bench-runner", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: run).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the default `run` command.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run every engine x policy x workload x threads cell on a disk (the default).
    Run(RunArgs),
    /// Measure the disk's own ceilings: appends with no sync, fdatasync or fsync each, a sync every N, and directory fsync.
    Probe(ProbeArgs),
    /// List engines with their capabilities, sync policies and workload presets.
    List,
    /// Re-draw the charts and report of a saved results folder.
    Plot(PlotArgs),
    /// Compare result folders from different machines or disks side by side.
    Compare(CompareArgs),
    /// Crash verification: which acknowledged writes each policy keeps, on a simulated filesystem (or with --kill, on a real disk).
    Crash(crate::crash_cmd::CrashArgs),
    /// Internal: the child process of `crash --kill`.
    #[command(hide = true)]
    CrashChild(crate::crash_cmd::CrashChildArgs),
}

/// Options shared by every command that writes files.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Results folder (default: a new folder ./bench-results/<host>-<command>-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Name for this machine/disk in results and charts (default: the host name).
    #[arg(long)]
    pub label: Option<String>,
    /// No progress output on stderr (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
}

/// What `run` prints on stdout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// A table for people (and the results folder as the last line).
    #[default]
    Table,
    /// Each finished cell's runs.csv row as a JSON object, one per line.
    Json,
}

/// Options of `run`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Directory on the disk under test; a fresh subfolder is created there and removed afterwards (default: ./bench-data).
    #[arg(long, value_name = "DIR")]
    pub disk: Option<PathBuf>,
    /// Engines to run, comma-separated (default: every registered engine).
    #[arg(long, value_delimiter = ',')]
    pub engines: Vec<String>,
    /// Sync policies, comma-separated text forms (default: none,always,always+dir,batch:32+dir,group+dir).
    #[arg(long, value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Workloads: preset names or TOML files, comma-separated (default: fillrandom,ycsb-a; engines without reads run append instead of read mixes).
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Client thread counts, comma-separated (default: 1,4).
    #[arg(long, value_delimiter = ',')]
    pub threads: Vec<usize>,
    /// Measured seconds per cell (default: 2.0; 0.2 with --quick).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<f64>,
    /// Operations per cell instead of a duration (default: unset).
    #[arg(long, value_name = "N", conflicts_with = "duration")]
    pub ops: Option<u64>,
    /// Repetitions per cell, run interleaved (every cell once, in a shuffled order, then again); results report the median, min..max and a 95% interval (default: 3; 1 with --quick).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: Option<u32>,
    /// Seed of the interleaved cell order, recorded in config.json (default: a fresh one per run).
    #[arg(long, value_name = "SEED")]
    pub order_seed: Option<u64>,
    /// Output on stdout: `table` for people, `json` for one JSON object per finished cell per line (default: table).
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Unrecorded warm-up seconds before each measured phase (default: 0.5; 0 with --quick).
    #[arg(long, value_name = "SECONDS")]
    pub warmup: Option<f64>,
    /// Value size in bytes, overriding the workloads' (default: the workload's, 100 for presets).
    #[arg(long, value_name = "BYTES")]
    pub value_size: Option<usize>,
    /// Keys loaded before read/update workloads (default: the workload's; 10000 with --quick).
    #[arg(long, value_name = "N")]
    pub record_count: Option<u64>,
    /// A smoke run of the whole matrix in about a minute (short cells, small load).
    #[arg(long)]
    pub quick: bool,
    /// Drop the page cache before each cell (root only).
    #[arg(long)]
    pub drop_caches: bool,
    /// Skip the device probe (efficiency columns stay empty).
    #[arg(long)]
    pub no_probe: bool,
    /// Skip drawing charts and the report at the end.
    #[arg(long)]
    pub no_plots: bool,
    /// Testing only: probe each pattern for this many milliseconds, once, with 10 syncs.
    #[arg(long, hide = true, value_name = "MS")]
    pub probe_budget_ms: Option<u64>,
    /// Testing only: fail writes with ENOSPC after this many bytes per cell.
    #[arg(long, hide = true)]
    pub inject_enospc_after_bytes: Option<u64>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `probe`.
#[derive(Debug, Args, Clone)]
pub struct ProbeArgs {
    /// Directory on the disk under test (a fresh subfolder is used and removed).
    #[arg(long, value_name = "DIR")]
    pub disk: PathBuf,
    /// Minimum seconds per round of each access pattern; each pattern also makes at least 1,000 syncs and runs 3 interleaved rounds (default: 1.0).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub duration: f64,
    /// Writer counts to probe, comma-separated: several writers each on its own file and all on one shared file (default: 1).
    #[arg(long, value_delimiter = ',', default_value = "1", value_name = "N")]
    pub threads: Vec<usize>,
    /// Record sizes in bytes, comma-separated (default: 137,4096: a 16-byte key + 100-byte value record, and a page).
    #[arg(long, value_delimiter = ',', default_values_t = [137u64, 4096])]
    pub record_sizes: Vec<u64>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `plot`.
#[derive(Debug, Args, Clone)]
pub struct PlotArgs {
    /// A results folder written by `run`.
    pub results: PathBuf,
    /// Where to write charts and the report (default: the results folder itself).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Options of `compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Two or more results folders; the first is the baseline for ratios.
    #[arg(required = true, num_args = 2..)]
    pub results: Vec<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_is_the_default_command() {
        let cli = Cli::try_parse_from(["bench-runner", "--disk", "/tmp", "--quick"]).unwrap();
        assert!(cli.command.is_none());
        assert!(cli.run.quick);
        let cli =
            Cli::try_parse_from(["bench-runner", "run", "--policies", "none,always+dir"]).unwrap();
        match cli.command {
            Some(Command::Run(r)) => assert_eq!(r.policies, ["none", "always+dir"]),
            other => panic!("{other:?}"),
        }
    }
}
