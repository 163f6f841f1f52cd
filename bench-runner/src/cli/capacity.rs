//! `capacity`'s command-line options (clap derive) and the parser of a
//! latency budget (`500us`, `1ms`, `0.5s`).

use std::path::PathBuf;

use clap::Args;

use crate::cli::numbers::{seconds, whole};
use crate::cli::output::OutputArgs;
use crate::cli::DataArgs;

/// Most client threads a cell may use: `cli::MAX_THREADS` (a test checks
/// they agree; naming it here would make a module cycle).
pub const MAX_THREADS: u64 = 1024;

/// Fewest bisection steps a search makes (besides its two ends).
pub const MIN_STEPS: u64 = 6;
/// Most bisection steps.
pub const MAX_STEPS: u64 = 30;
/// Longest budget accepted (µs): an hour.
pub const MAX_BUDGET_US: f64 = 3.6e9;

const CAPACITY_EXAMPLES: &str = "\
Examples:
  The highest rate each engine sustains with p99 <= 1 ms, fillrandom:
    bench-runner capacity --disk /mnt/nvme/tmp --p99 1ms

  Two budgets, durable policies, 1 and 16 client threads:
    bench-runner capacity --disk /mnt/nvme/tmp --engines wal,lsm --policies always,group --threads 1,16 --p99 1ms,10ms

  A smoke run (short steps, 6 bisection steps):
    bench-runner capacity --disk /tmp --engines wal --policies none --p99 1ms --quick

Each cell is first measured without a target rate (closed loop); its
throughput is the top of the search. Each step runs the cell open loop at a
target rate, in a fresh directory, long enough for at least 5 operations
above the percentile (500 for p99, 5,000 for p99.9). A cell that misses the
budget even at the lowest rate is reported as such (exit code 0).";

/// Options of `capacity`.
#[derive(Debug, Args, Clone)]
#[command(after_long_help = CAPACITY_EXAMPLES)]
pub struct CapacityArgs {
    /// Directory on the disk under test (required); a fresh subfolder is created there and removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub disk: PathBuf,
    /// p99 latency budgets, comma-separated, with a unit: us, ms or s (e.g. 1ms,10ms); at least one of --p99 and --p999 is required.
    #[arg(long, value_delimiter = ',', value_name = "BUDGET", allow_negative_numbers = true,
          value_parser = budget_us)]
    pub p99: Vec<f64>,
    /// p99.9 latency budgets, as for --p99 (each step then runs long enough for 5,000 operations).
    #[arg(long, value_delimiter = ',', value_name = "BUDGET", allow_negative_numbers = true,
          value_parser = budget_us)]
    pub p999: Vec<f64>,
    /// Engines to search, comma-separated (default: every registered engine).
    #[arg(long, value_delimiter = ',')]
    pub engines: Vec<String>,
    /// Sync policies, comma-separated text forms (default: none,always,always+dir,batch:32+dir,group+dir).
    #[arg(long, value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Workloads: preset names or TOML files, comma-separated (default: fillrandom).
    #[arg(long, value_delimiter = ',')]
    pub workloads: Vec<String>,
    /// Client thread counts, 1 to 1024, comma-separated (default: a workload file's `threads`, else 1,4).
    #[arg(long, value_delimiter = ',', value_name = "N", allow_negative_numbers = true,
          value_parser = whole(1, MAX_THREADS, "client threads"))]
    pub threads: Vec<u64>,
    /// Bisection steps between the lowest rate and the closed-loop throughput, 6 to 30 (default: 7; 6 with --quick).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = whole(MIN_STEPS, MAX_STEPS, "steps"))]
    pub steps: Option<u64>,
    /// Seconds of the closed-loop measurement that sets the top of the search (default: 2.0; 0.3 with --quick).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds(false))]
    pub duration: Option<f64>,
    /// Shortest open-loop step in seconds; a step at a low rate runs longer, until the percentile has 5 operations above it (default: 1.0; 0.2 with --quick).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds(false))]
    pub step_duration: Option<f64>,
    /// Longest an open-loop step may need for its tail: the lowest rate searched is raised until the tail fits in it (default: 5.0; 1.0 with --quick).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true, value_parser = seconds(false))]
    pub max_step_duration: Option<f64>,
    /// The lowest rate searched, ops/s over all threads (default: 1% of the closed-loop throughput, raised as --max-step-duration needs).
    #[arg(long, value_name = "OPS_PER_SEC", allow_negative_numbers = true, value_parser = rate)]
    pub min_rate: Option<f64>,
    /// The data a cell loads and writes.
    #[command(flatten)]
    pub data: DataArgs,
    /// A smoke run: short closed-loop measurement and steps, 6 bisection steps.
    #[arg(long)]
    pub quick: bool,
    /// Skip drawing charts and the report at the end.
    #[arg(long)]
    pub no_plots: bool,
    /// The results store the finished folder is added to.
    #[command(flatten)]
    pub store: crate::cli::store::StoreTarget,
    /// Replace a non-empty --out results folder whole (without it such a folder is refused).
    #[arg(long)]
    pub force: bool,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Parses a latency budget with its unit (`us`, `µs`, `ms`, `s`) into µs:
/// a finite number greater than 0 and at most an hour.
pub fn budget_us(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (number, scale) = if let Some(n) = t.strip_suffix("us").or(t.strip_suffix("µs")) {
        (n, 1.0)
    } else if let Some(n) = t.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1e6)
    } else if t.parse::<f64>().is_ok_and(|x| x <= 0.0) {
        return Err(format!(
            "`{t}`: a budget must be greater than 0 (no rate keeps latency at or under 0)"
        ));
    } else {
        return Err(format!(
            "`{t}` has no unit: write the budget with us, ms or s, e.g. 1ms or 500us"
        ));
    };
    match number.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 && x * scale <= MAX_BUDGET_US => Ok(x * scale),
        Ok(x) if x.is_finite() && x <= 0.0 => Err(format!(
            "`{t}`: a budget must be greater than 0 (no rate keeps latency at or under 0)"
        )),
        _ => Err(format!(
            "`{t}` is not a latency budget: expected a number greater than 0 and at most 3600s, with us, ms or s"
        )),
    }
}

/// Parses a rate in operations/s: finite and greater than 0.
fn rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(x) if x.is_finite() && x > 0.0 => Ok(x),
        _ => Err("expected a rate in operations/s greater than 0, e.g. 100".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_thread_cap_is_run_s() {
        assert_eq!(MAX_THREADS, crate::cli::MAX_THREADS);
    }

    #[test]
    fn budgets_need_a_unit_and_a_positive_value() {
        assert_eq!(budget_us("1ms"), Ok(1000.0));
        assert_eq!(budget_us("500us"), Ok(500.0));
        assert_eq!(budget_us("250µs"), Ok(250.0));
        assert_eq!(budget_us("0.5s"), Ok(500_000.0));
        assert_eq!(budget_us(" 10ms "), Ok(10_000.0));
        assert!(budget_us("1").unwrap_err().contains("no unit"));
        assert!(budget_us("0").unwrap_err().contains("greater than 0"));
        assert!(budget_us("0ms").unwrap_err().contains("greater than 0"));
        assert!(budget_us("-1ms").unwrap_err().contains("greater than 0"));
        assert!(budget_us("fast").is_err());
        assert!(budget_us("nanms").is_err());
        assert!(budget_us("2h").is_err());
        assert!(budget_us("4000s").is_err());
    }
}
