//! Command-line interface (clap derive). Only `main` (via [`crate::cli::plan`])
//! reads these types; everything below it takes a validated plan.
//!
//! Numeric options parse through [`whole`] and [`seconds`], so a value out
//! of range (negative ones included) is refused with the range it must be in.

pub mod capacity;
pub mod crash;
pub mod numbers;
pub mod output;
pub mod plan;
pub mod recovery;
pub mod store;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Most client threads a cell may use (the workload TOML has the same cap).
pub const MAX_THREADS: u64 = 1024;
/// Most repetitions of a cell.
pub const MAX_REPEAT: u64 = 1000;

/// `--version`: the crate version and the git commit it was built from.
pub static VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (git {})",
        env!("CARGO_PKG_VERSION"),
        crate::short_commit()
    )
});

const MAIN_EXAMPLES: &str = "\
Examples:
  Measure the whole matrix on a disk (about 10 minutes):
    bench-runner --disk /mnt/nvme/tmp

  A one-minute smoke run of the same matrix:
    bench-runner --disk /mnt/nvme/tmp --quick

  Check which acknowledged writes each policy keeps through a crash:
    bench-runner crash

  Put two machines side by side:
    bench-runner compare results-a results-b";

const RUN_EXAMPLES: &str = "\
Examples:
  Every engine, policy and default workload, results in a new folder:
    bench-runner run --disk /mnt/nvme/tmp

  Two engines, durable policies only, 1 and 16 client threads:
    bench-runner run --disk /mnt/nvme/tmp --engines wal,lsm --policies always+dir,group+dir --threads 1,16

  A workload of your own (its threads and operation_count apply unless
  --threads, --ops or --duration are given):
    bench-runner run --disk /mnt/nvme/tmp --workloads workloads/example.toml

  Rows as JSON lines, for scripts:
    bench-runner run --disk /mnt/nvme/tmp --quick --format json | jq .ops_per_sec

Precedence of a workload's settings: a command-line flag (--threads, --ops,
--duration, --value-size, --record-count) wins over the field in a workload
TOML file, which wins over the runner's defaults (--quick changes the defaults).";

const PROBE_EXAMPLES: &str = "\
Examples:
  The disk's ceilings for the default record sizes:
    bench-runner probe --disk /mnt/nvme/tmp

  Longer patterns, 4 KiB and 64 KiB records:
    bench-runner probe --disk /mnt/nvme/tmp --duration 5 --record-sizes 4096,65536";

const PLOT_EXAMPLES: &str = "\
Examples:
  Redraw the charts and report.md/report.html in place:
    bench-runner plot bench-results/myhost-run-20260101-120000";

const COMPARE_EXAMPLES: &str = "\
Examples:
  Two machines, the first is the baseline for ratios:
    bench-runner compare results-laptop results-server --out laptop-vs-server

  Every machine of a merged folder, the first is the baseline:
    bench-runner compare fleet";

const MERGE_EXAMPLES: &str = "\
Examples:
  One folder of three machines' results, with fleet-wide percentiles:
    bench-runner merge results-a results-b results-c --out fleet --label rack-7

  Add a machine to a fleet (its machines are merged again):
    bench-runner merge fleet results-d --out fleet-2";

const CRASH_EXAMPLES: &str = "\
Examples:
  The simulated-filesystem table for every engine and the default policies:
    bench-runner crash

  One engine and policy, more trials, posix profile only:
    bench-runner crash --engines wal --policies always+dir --profile posix --trials 2000

  Rerun a failing trial with its trace (the seed is in the table):
    bench-runner crash --engines wal --policies always --profile posix --replay 1000042

  Process crashes (SIGKILL) on a real disk:
    bench-runner crash --kill --disk /mnt/nvme/tmp";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  bench-runner completions bash > ~/.local/share/bash-completion/completions/bench-runner
  bench-runner completions zsh > ~/.zfunc/_bench-runner
  bench-runner completions fish > ~/.config/fish/completions/bench-runner.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  bench-runner man > bench-runner.1 && man ./bench-runner.1";

/// Short usage printed when `bench-runner` is started with no arguments.
pub const SHORT_USAGE: &str = "\
bench-runner: measures what durability (fsync policies) costs on a disk.

Usage: bench-runner --disk DIR [OPTIONS]       run the benchmark matrix
       bench-runner <COMMAND> [OPTIONS]        probe, crash, plot, compare, merge, list, ...

Example:
  bench-runner --disk /mnt/nvme/tmp --quick    a one-minute smoke run on that disk

See `bench-runner --help` for every command and option.";

/// Measures what durability costs on a disk and proves what it protects.
///
/// Without a subcommand, `run` is assumed: `bench-runner --disk /mnt/nvme`.
#[derive(Debug, Parser)]
#[command(
    name = "bench-runner",
    version = VERSION.as_str(),
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true,
    after_long_help = MAIN_EXAMPLES
)]
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
    #[command(after_long_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Measure the disk's own ceilings: appends with no sync, fdatasync or fsync each, a sync every N, and directory fsync.
    #[command(after_long_help = PROBE_EXAMPLES)]
    Probe(ProbeArgs),
    /// List engines with their capabilities, sync policies and workload presets.
    List,
    /// Re-draw the charts and report of a saved results folder.
    #[command(after_long_help = PLOT_EXAMPLES)]
    Plot(PlotArgs),
    /// Compare result folders from different machines or disks side by side.
    #[command(after_long_help = COMPARE_EXAMPLES)]
    Compare(CompareArgs),
    /// Merge many machines' results folders into one, with fleet-wide percentiles from their histograms merged.
    #[command(after_long_help = MERGE_EXAMPLES)]
    Merge(MergeArgs),
    /// Crash verification: which acknowledged writes each policy keeps, on a simulated filesystem (or with --kill, on a real disk).
    #[command(after_long_help = CRASH_EXAMPLES)]
    Crash(crate::cli::crash::CrashArgs),
    /// The highest open-loop rate each cell sustains with its p99 (or p99.9) latency within a budget.
    Capacity(crate::cli::capacity::CapacityArgs),
    /// Print a shell completion script on stdout.
    #[command(after_long_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page (roff) on stdout.
    #[command(after_long_help = MAN_EXAMPLES)]
    Man,
    /// Internal: the child process of `crash --kill`.
    #[command(hide = true)]
    CrashChild(crate::cli::crash::CrashChildArgs),
    /// Recovery time after a clean close and after a SIGKILL, against data size, checked against the acknowledged writes.
    #[command(after_long_help = crate::cli::recovery::RECOVERY_EXAMPLES)]
    Recovery(crate::cli::recovery::RecoveryArgs),
    /// Internal: the child processes of `recovery`.
    #[command(hide = true)]
    RecoveryChild(crate::cli::recovery::RecoveryChildArgs),
    /// Keep results folders in one SQLite results store: add folders, list the stored runs.
    Store(crate::cli::store::StoreArgs),
}

pub use crate::cli::numbers::{seconds, whole};
pub use crate::cli::output::OutputArgs;

/// How `run` prints its rows on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FormatArg {
    /// A table for people, then the results folder.
    #[default]
    Table,
    /// One JSON object per runs.csv row, one per line; the folder goes to stderr.
    Json,
}

/// Options of `run`.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Directory on the disk under test (required); a fresh subfolder is created there and removed afterwards.
    #[arg(long, value_name = "DIR", required = true)]
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
    /// Client thread counts, 1 to 1024, comma-separated (default: a workload file's `threads`, else 1,4).
    #[arg(long, value_delimiter = ',', value_name = "N", allow_negative_numbers = true,
          value_parser = whole(1, MAX_THREADS, "client threads"))]
    pub threads: Vec<u64>,
    /// Measured seconds per cell (default: a workload file's duration_secs or operation_count, else 2.0; 0.2 with --quick).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds(false))]
    pub duration: Option<f64>,
    /// Operations per cell, over all threads, instead of a duration (default: unset).
    #[arg(long, value_name = "N", conflicts_with = "duration", allow_negative_numbers = true,
          value_parser = whole(1, u64::MAX, "operations"))]
    pub ops: Option<u64>,
    /// Run each cell until its throughput is steady (the last half of its timeline passes the steady-state test of docs/methodology.md), for at most this many seconds; replaces --duration (default: unset).
    #[arg(long, value_name = "MAX_SECONDS", conflicts_with = "ops", allow_negative_numbers = true,
          value_parser = seconds(false))]
    pub until_steady: Option<f64>,
    /// Length of one timeline interval in milliseconds, 10 to 10000: timeline.csv holds one row per cell, repetition and interval (default: 100).
    #[arg(long, value_name = "MS", allow_negative_numbers = true,
          value_parser = whole(10, 10_000, "milliseconds"))]
    pub interval: Option<u64>,
    /// Repetitions per cell, 1 to 1000, run interleaved (every cell once, in a shuffled order, then again); results report the median, min..max and a 95% interval (default: 3; 1 with --quick).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole(1, MAX_REPEAT, "repetitions"))]
    pub repeat: Option<u64>,
    /// Seed of the interleaved cell order, recorded in config.json (default: a fresh one per run).
    #[arg(long, value_name = "SEED")]
    pub order_seed: Option<u64>,
    /// Unrecorded warm-up seconds before each measured phase (default: 0.5; 0 with --quick).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds(true))]
    pub warmup: Option<f64>,
    /// The data a cell loads and writes.
    #[command(flatten)]
    pub data: DataArgs,
    /// A smoke run of the whole matrix in about two minutes (short cells, small load, a 3-round probe of 0.3 s per pattern).
    #[arg(long)]
    pub quick: bool,
    /// Drop the page cache before each cell (root only).
    #[arg(long)]
    pub drop_caches: bool,
    /// Skip the device probe (efficiency columns stay empty).
    #[arg(long)]
    pub no_probe: bool,
    /// Take the ceilings from the first probe only, instead of measuring each once more at the start of every repetition round (1 s, 0.3 s with --quick) and using the median of all its measurements (a disk's sync latency drifts between minutes).
    #[arg(long, conflicts_with = "no_probe")]
    pub probe_once: bool,
    /// Skip drawing charts and the report at the end.
    #[arg(long)]
    pub no_plots: bool,
    /// Replace a non-empty --out results folder whole (without it such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// What stdout shows: a table, or the rows as JSON lines (CSV files are written either way).
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Testing only: probe each pattern for this many milliseconds, once, with 10 syncs.
    #[arg(long, hide = true, value_name = "MS")]
    pub probe_budget_ms: Option<u64>,
    /// The results store the finished folder is added to.
    #[command(flatten)]
    pub store: crate::cli::store::StoreTarget,
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
    /// Minimum seconds per round of each access pattern; each pattern also makes at least 1,000 syncs and runs 3 interleaved rounds.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS", allow_negative_numbers = true,
          value_parser = seconds(false))]
    pub duration: f64,
    /// Writer counts to probe, 1 to 1024, comma-separated: several writers each on its own file and all on one shared file.
    #[arg(long, value_delimiter = ',', default_value = "1", value_name = "N", allow_negative_numbers = true,
          value_parser = whole(1, MAX_THREADS, "writers"))]
    pub threads: Vec<u64>,
    /// Record sizes in bytes, comma-separated (137: a 16-byte key + 100-byte value record; 4096: a page).
    #[arg(long, value_delimiter = ',', default_values_t = [137u64, 4096], allow_negative_numbers = true,
          value_parser = whole(1, 64 << 20, "bytes"))]
    pub record_sizes: Vec<u64>,
    /// Replace a non-empty --out results folder whole (without it such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// The results store the finished folder is added to.
    #[command(flatten)]
    pub store: crate::cli::store::StoreTarget,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `plot`.
#[derive(Debug, Args, Clone)]
pub struct PlotArgs {
    /// A results folder written by `run` or `merge` (or one run of --store).
    #[arg(required_unless_present = "store", conflicts_with = "store")]
    pub results: Option<PathBuf>,
    /// Where to write charts and the report (default: the results folder itself; with --store, a new folder ./bench-results/<host>-plot-<time> that also gets the run's files).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// The run read from a results store instead of a folder.
    #[command(flatten)]
    pub from: crate::cli::store::StoreSource,
    /// The cell of the machines-side-by-side chart of a folder of several machines, as ENGINE/POLICY/WORKLOAD[/THREADS] (default: the first cell every machine ran under a policy that syncs every write, else the first every machine ran).
    #[arg(long, value_name = "CELL")]
    pub cell: Option<String>,
}

/// Options of `compare`.
#[derive(Debug, Args, Clone)]
pub struct CompareArgs {
    /// Two or more results folders, or one merged folder of two machines or more (with --store, any number); the first (machine) is the baseline for ratios, the store's runs come after them.
    #[arg(required_unless_present = "store", num_args = 1..)]
    pub results: Vec<PathBuf>,
    /// Runs read from a results store besides the folders.
    #[command(flatten)]
    pub from: crate::cli::store::StoreSource,
    /// Replace a non-empty --out folder of results whole (without it such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Options of `merge`.
#[derive(Debug, Args, Clone)]
pub struct MergeArgs {
    /// Two or more results folders of `run` (a merged folder counts as its machines), all of one results format.
    #[arg(required = true, num_args = 2..)]
    pub results: Vec<PathBuf>,
    /// Replace a non-empty --out results folder whole (without it such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// Skip drawing the fleet's charts and report at the end.
    #[arg(long)]
    pub no_plots: bool,
    /// The fleet folder (default: a new folder ./bench-results/<host>-merge-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Name of the fleet in its report and charts (default: fleet).
    #[arg(long)]
    pub label: Option<String>,
}

/// Options of `completions`.
#[derive(Debug, Args, Clone)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// The value size and key count options `run` and `capacity` share.
#[derive(Args, Debug, Clone, Default)]
pub struct DataArgs {
    /// Value size in bytes, overriding the workloads' (default: the workload's, 100 for presets).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true,
          value_parser = whole(1, 64 << 20, "bytes"))]
    pub value_size: Option<u64>,
    /// Keys loaded before read/update workloads (default: the workload's; at most 10000 with --quick).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole(0, u64::MAX, "keys"))]
    pub record_count: Option<u64>,
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
        let cli = Cli::try_parse_from([
            "bench-runner",
            "run",
            "--disk",
            "/tmp",
            "--policies",
            "none,always+dir",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Run(r)) => assert_eq!(r.policies, ["none", "always+dir"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn subcommands_do_not_need_the_run_disk() {
        assert!(Cli::try_parse_from(["bench-runner", "list"]).is_ok());
        assert!(Cli::try_parse_from(["bench-runner", "crash"]).is_ok());
        let e = Cli::try_parse_from(["bench-runner", "--quick"]).unwrap_err();
        assert!(e.to_string().contains("--disk"), "{e}");
    }

    #[test]
    fn ranges_are_named_in_errors() {
        let f = whole(1, 1000, "repetitions");
        assert_eq!(f("3"), Ok(3));
        assert!(f("-1").unwrap_err().contains("from 1 to 1000"));
        assert!(f("0").unwrap_err().contains("0 is out of range"));
        assert!(f("x").unwrap_err().contains("whole number"));
        let s = seconds(false);
        assert!(s("0").is_err() && s("-1").is_err() && s("inf").is_err() && s("nan").is_err());
        assert_eq!(s("0.5"), Ok(0.5));
        assert_eq!(seconds(true)("0"), Ok(0.0));
    }

    #[test]
    fn defaults_are_shown_once() {
        // Regression: `--repeat` showed `(default: 1) [default: 1]`.
        fn check(cmd: &clap::Command) {
            for a in cmd.get_arguments() {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                if !a.get_default_values().is_empty() {
                    assert!(!help.contains("default"), "{}: {help}", a.get_id());
                }
            }
            for sub in cmd.get_subcommands() {
                check(sub);
            }
        }
        let mut cmd = Cli::command();
        cmd.build();
        check(&cmd);
        let run = cmd.find_subcommand_mut("run").unwrap();
        assert!(run.render_long_help().to_string().contains("Examples:"));
    }
}
