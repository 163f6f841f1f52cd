//! The command line, turned once into a validated plan (hyperfine's
//! `Options::from_cli_arguments` then `validate_against_command_list`).
//!
//! `main` parses the arguments, and [`RunPlan::from_args`] resolves every
//! name, applies every override, builds the matrix and checks the whole of it
//! against the machine (disk, results folder, memory, privileges). Every
//! usage error of `run` comes from here, before anything is measured or
//! written; nothing below `main` sees a clap type.
//!
//! Precedence of a workload's settings: a command-line flag (`--threads`,
//! `--ops`, `--duration`, `--value-size`, `--record-count`) wins over the
//! same field in a workload TOML file, which wins over the runner's
//! defaults (`--quick` changes the defaults, never a file's fields).
//!
//! [`resolve`] turns names into engines, policies and workloads, [`matrix`]
//! builds the cells and checks their memory, [`out`] checks the results
//! folder.

mod matrix;
mod out;
mod resolve;

pub use matrix::{build_matrix, cell_memory_bytes};
use matrix::{check_memory, dedup_by, describe_skip};
pub use out::{check_out, check_out_is_not_read};
use resolve::resolve_workloads;
pub use resolve::{resolve_engines, resolve_policies};

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use engines::registry::EngineInfo;
use engines::SyncPolicy;
use results::SkippedRow;
use serde::Serialize;
use workloads::WorkloadSpec;

use crate::cli::{FormatArg, ProbeArgs, RunArgs};
use crate::measure::timeline::TimelineSettings;

/// Policies of the default matrix.
pub const DEFAULT_POLICIES: &[&str] =
    &["none", "always", "always+dir", "batch:32+dir", "group+dir"];
/// Workloads of the default matrix.
pub const DEFAULT_WORKLOADS: &[&str] = &["fillrandom", "ycsb-a"];
/// Workload run instead of read mixes on engines without point reads.
pub const LOG_WORKLOAD: &str = "append";
/// Thread counts when neither `--threads` nor a workload file sets them.
pub const DEFAULT_THREADS: &[usize] = &[1, 4];
/// Measured seconds per cell when nothing sets a length.
pub const DEFAULT_DURATION_S: f64 = 2.0;
/// The same with `--quick`.
pub const QUICK_DURATION_S: f64 = 0.2;
/// `--quick` loads at most this many keys (unless a flag or file says).
pub const QUICK_RECORD_COUNT: u64 = 10_000;

/// What stdout shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// A table for people, then the results folder.
    Table,
    /// One JSON object per `runs.csv` row, one per line.
    Json,
}

/// Where results go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDir {
    /// `--out`, or None for a new folder named after host, command and time.
    pub path: Option<PathBuf>,
    /// `--force` on a non-empty results folder: remove it before writing.
    pub replace: bool,
}

/// One cell to run.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Engine.
    pub engine: &'static EngineInfo,
    /// Policy.
    pub policy: SyncPolicy,
    /// Workload with the cell's threads and sizes applied.
    pub workload: WorkloadSpec,
}

/// A workload as resolved: its spec (overrides applied) and the thread
/// counts it runs at.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The spec, with the run's overrides applied.
    pub spec: WorkloadSpec,
    /// Thread counts of its cells.
    pub threads: Vec<usize>,
    /// What was given on the command line: a preset name or a file path.
    pub source: String,
}

/// Everything `run` does, resolved and checked.
#[derive(Debug)]
pub struct RunPlan {
    /// The command line, for environment.json and config.json.
    pub command_line: String,
    /// `--disk`: an existing directory.
    pub disk: PathBuf,
    /// Results folder.
    pub out: OutDir,
    /// `--label` (None: the host name).
    pub label: Option<String>,
    /// No progress on stderr.
    pub quiet: bool,
    /// What stdout shows.
    pub format: OutputFormat,
    /// Engines, without duplicates.
    pub engines: Vec<&'static EngineInfo>,
    /// Policies, without duplicates.
    pub policies: Vec<SyncPolicy>,
    /// Workloads with their thread counts.
    pub workloads: Vec<Workload>,
    /// The cells, in run order, each once.
    pub cells: Vec<Cell>,
    /// Combinations not run, and why.
    pub skipped: Vec<SkippedRow>,
    /// Things the user should know that are not errors (duplicates removed).
    pub notes: Vec<String>,
    /// `--ops`.
    pub ops: Option<u64>,
    /// Warm-up before each measured phase.
    pub warmup: Duration,
    /// Repetitions per cell (at least 1), run interleaved.
    pub repeat: u32,
    /// Seed of the interleaved cell order.
    pub order_seed: u64,
    /// Testing only: probe each pattern this many milliseconds, once.
    pub probe_budget_ms: Option<u64>,
    /// `--quick`.
    pub quick: bool,
    /// Run the device probe first.
    pub probe: bool,
    /// Measure each syncing cell's ceiling again just before it.
    pub recheck: bool,
    /// Draw charts and the report at the end.
    pub plots: bool,
    /// Drop the page cache before each cell (checked: we are root).
    pub drop_caches: bool,
    /// Testing only: ENOSPC after this many bytes per cell.
    pub inject_enospc_after_bytes: Option<u64>,
    /// Estimated peak memory of the largest cell, in bytes.
    pub memory_estimate: u64,
    /// The measured phases' timeline: interval and `--until-steady`.
    pub timeline: TimelineSettings,
    /// `--store`: the results store the finished folder is added to
    /// (opened once already: it is a store this binary can write).
    pub store: Option<PathBuf>,
}

/// The harness's own cost per operation over the null engine (ns).
#[derive(Debug, Clone, Copy, Default)]
pub struct HarnessCost {
    /// Timing and histograms only.
    pub plain_ns: f64,
    /// With the timeline recording too (as in every measured cell).
    pub timeline_ns: f64,
}

/// Everything `run` resolved from its arguments (written to config.json).
#[derive(Debug, Serialize)]
pub struct RunConfig {
    /// The command line.
    pub command: String,
    /// Run identifier.
    pub run_id: String,
    /// Disk folder.
    pub disk: PathBuf,
    /// Engines.
    pub engines: Vec<String>,
    /// Policies.
    pub policies: Vec<String>,
    /// Workload specs, as run (cells vary threads: see `workload_threads`).
    pub workloads: Vec<WorkloadSpec>,
    /// Thread counts of each workload, in the order of `workloads`.
    pub workload_threads: Vec<Vec<usize>>,
    /// Every thread count in use.
    pub threads: Vec<usize>,
    /// Measured seconds per cell of the first workload (when not --ops).
    pub duration_s: Option<f64>,
    /// Operations per cell (when --ops).
    pub ops: Option<u64>,
    /// Warm-up seconds.
    pub warmup_s: f64,
    /// Repetitions, run interleaved.
    pub repeat: u32,
    /// Seed of the interleaved cell order (`--order-seed` reruns the same order).
    pub order_seed: u64,
    /// The harness's own cost per operation (ns), measured over a null
    /// engine at the start of the run, without the timeline.
    pub harness_ns_per_op: f64,
    /// The same with the timeline recording, as every measured cell does.
    pub harness_timeline_ns_per_op: f64,
    /// Timeline interval (ms).
    pub interval_ms: u64,
    /// `--until-steady`: the longest a cell runs waiting to be steady (s).
    pub until_steady_s: Option<f64>,
    /// Skipped combinations.
    pub skipped: Vec<SkippedRow>,
}

impl RunPlan {
    /// Resolves and validates `run`'s arguments. Every error is a usage
    /// error (exit 2) naming the option or value at fault.
    pub fn from_args(args: &RunArgs, command_line: &str) -> Result<RunPlan> {
        let disk = args
            .disk
            .clone()
            .context("--disk DIR is required: the directory on the disk to measure")?;
        crate::support::scratch::check_disk(&disk)?;
        let out = check_out(args.output.out.as_deref(), args.force)?;
        let mut notes = Vec::new();
        let engines = dedup_by(
            resolve_engines(&args.engines)?,
            |e| e.name.to_string(),
            "--engines",
            &mut notes,
        );
        let policies = dedup_by(
            resolve_policies(&args.policies)?,
            |p| p.to_string(),
            "--policies",
            &mut notes,
        );
        let threads = (!args.threads.is_empty()).then(|| {
            dedup_by(
                args.threads.iter().map(|&t| t as usize).collect(),
                |t| t.to_string(),
                "--threads",
                &mut notes,
            )
        });
        let (workloads, default_workloads) =
            resolve_workloads(args, threads.as_deref(), &mut notes)?;
        let (cells, skipped) = build_matrix(&engines, &policies, &workloads, default_workloads);
        let cells = dedup_by(
            cells,
            |c| {
                format!(
                    "{} {} {} {}",
                    c.engine.name, c.policy, c.workload.name, c.workload.threads
                )
            },
            "the matrix",
            &mut notes,
        );
        if cells.is_empty() {
            let why: Vec<String> = skipped.iter().map(describe_skip).collect();
            bail!(
                "nothing to run: every cell of the matrix is skipped:\n  {}\nchoose engines that support the workloads (see `bench-runner list`)",
                why.join("\n  ")
            );
        }
        let memory_estimate = check_memory(&cells)?;
        if args.drop_caches && !crate::measure::sys::is_root() {
            bail!("--drop-caches needs root: it writes /proc/sys/vm/drop_caches (run as root or drop the flag)");
        }
        let warmup = args.warmup.unwrap_or(if args.quick { 0.0 } else { 0.5 });
        let store = args.store.checked()?;
        Ok(RunPlan {
            command_line: command_line.to_string(),
            disk,
            out,
            label: args.output.label.clone(),
            quiet: args.output.quiet,
            format: match args.format {
                FormatArg::Table => OutputFormat::Table,
                FormatArg::Json => OutputFormat::Json,
            },
            engines,
            policies,
            workloads,
            cells,
            skipped,
            notes,
            ops: args.ops,
            warmup: Duration::from_secs_f64(warmup),
            repeat: u32::try_from(args.repeat.unwrap_or(if args.quick { 1 } else { 3 }))
                .context("--repeat")?,
            order_seed: args.order_seed.unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64)
            }),
            probe_budget_ms: args.probe_budget_ms,
            quick: args.quick,
            probe: !args.no_probe,
            recheck: !args.probe_once,
            plots: !args.no_plots,
            drop_caches: args.drop_caches,
            inject_enospc_after_bytes: args.inject_enospc_after_bytes,
            memory_estimate,
            timeline: TimelineSettings {
                interval: Duration::from_millis(
                    args.interval
                        .unwrap_or(crate::measure::timeline::DEFAULT_INTERVAL_MS),
                ),
                until_steady: args.until_steady.map(Duration::from_secs_f64),
            },
            store,
        })
    }

    /// Every thread count in use, ascending.
    pub fn threads(&self) -> Vec<usize> {
        let set: BTreeSet<usize> = self.cells.iter().map(|c| c.workload.threads).collect();
        set.into_iter().collect()
    }

    /// The workload specs, in command-line order.
    pub fn specs(&self) -> Vec<WorkloadSpec> {
        self.workloads.iter().map(|w| w.spec.clone()).collect()
    }

    /// config.json's content.
    pub fn config(&self, run_id: &str, harness: HarnessCost) -> RunConfig {
        RunConfig {
            command: self.command_line.clone(),
            run_id: run_id.to_string(),
            disk: self.disk.clone(),
            engines: self.engines.iter().map(|e| e.name.to_string()).collect(),
            policies: self.policies.iter().map(|p| p.to_string()).collect(),
            workloads: self.specs(),
            workload_threads: self.workloads.iter().map(|w| w.threads.clone()).collect(),
            threads: self.threads(),
            duration_s: self.workloads.first().and_then(|w| w.spec.duration_secs),
            ops: self.ops,
            warmup_s: self.warmup.as_secs_f64(),
            repeat: self.repeat,
            order_seed: self.order_seed,
            harness_ns_per_op: harness.plain_ns,
            harness_timeline_ns_per_op: harness.timeline_ns,
            interval_ms: self.timeline.interval.as_millis() as u64,
            until_steady_s: self.timeline.until_steady.map(|d| d.as_secs_f64()),
            skipped: self.skipped.clone(),
        }
    }
}

/// Everything `probe` does, resolved and checked.
#[derive(Debug)]
pub struct ProbeJob {
    /// The command line.
    pub command_line: String,
    /// `--disk`: an existing directory.
    pub disk: PathBuf,
    /// Results folder.
    pub out: OutDir,
    /// `--label` (None: the host name).
    pub label: Option<String>,
    /// No progress on stderr.
    pub quiet: bool,
    /// Record sizes, ascending, each once.
    pub record_sizes: Vec<u64>,
    /// Writer counts, ascending, each once.
    pub threads: Vec<usize>,
    /// Minimum length of each round of a pattern.
    pub per_pattern: Duration,
    /// `--store`: the results store the finished folder is added to.
    pub store: Option<PathBuf>,
}

impl ProbeJob {
    /// Resolves and validates `probe`'s arguments.
    pub fn from_args(args: &ProbeArgs, command_line: &str) -> Result<ProbeJob> {
        crate::support::scratch::check_disk(&args.disk)?;
        let out = check_out(args.output.out.as_deref(), args.force)?;
        let mut record_sizes = args.record_sizes.clone();
        record_sizes.sort_unstable();
        record_sizes.dedup();
        let mut threads: Vec<usize> = args.threads.iter().map(|&t| t as usize).collect();
        threads.sort_unstable();
        threads.dedup();
        Ok(ProbeJob {
            command_line: command_line.to_string(),
            disk: args.disk.clone(),
            out,
            label: args.output.label.clone(),
            quiet: args.output.quiet,
            record_sizes,
            threads,
            per_pattern: Duration::from_secs_f64(args.duration),
            store: args.store.checked()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn none_at_fsync_is_refused() {
        let e = resolve_policies(&["none@fsync".into()]).unwrap_err();
        assert!(e.to_string().contains("never syncs"), "{e}");
        assert!(resolve_policies(&["always@fsync".into()]).is_ok());
    }

    #[test]
    fn duplicates_are_noted_once() {
        let mut notes = Vec::new();
        let v = dedup_by(
            vec![1, 4, 1, 4, 2],
            |x| x.to_string(),
            "--threads",
            &mut notes,
        );
        assert_eq!(v, [1, 4, 2]);
        assert_eq!(notes.len(), 1);
        assert!(notes[0].contains("1, 4"), "{notes:?}");
    }

    #[test]
    fn memory_grows_with_threads_and_keys() {
        let spec = workloads::preset("fillrandom").unwrap();
        let one = cell_memory_bytes(&spec, 1);
        let many = cell_memory_bytes(&spec, 1024);
        // Measured: 1024 threads and 2000 operations peaked at 3.2 GB.
        assert!(many > 1 << 30 && many < 8 << 30, "{many}");
        assert!(one < many);
        let mut big = spec.clone();
        big.record_count = 1 << 40;
        assert!(cell_memory_bytes(&big, 1) > 1 << 40);
    }

    #[test]
    fn out_folder_rules() {
        let t = tempfile::tempdir().unwrap();
        let new = t.path().join("new");
        assert!(!check_out(Some(&new), false).unwrap().replace);
        std::fs::create_dir(&new).unwrap();
        assert!(!check_out(Some(&new), false).unwrap().replace);
        std::fs::write(new.join("notes.txt"), b"mine").unwrap();
        assert!(check_out(Some(&new), false).is_err());
        // Not a results folder: even --force leaves it alone.
        assert!(check_out(Some(&new), true).is_err());
        std::fs::write(new.join("runs.csv"), b"").unwrap();
        assert!(check_out(Some(&new), true).unwrap().replace);
    }
}
