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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use engines::registry::EngineInfo;
use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use results::SkippedRow;
use serde::Serialize;
use workloads::WorkloadSpec;

use crate::cli::{FormatArg, ProbeArgs, RunArgs};
use crate::timeline::TimelineSettings;

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
        crate::scratch::check_disk(&disk)?;
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
        if args.drop_caches && !crate::sys::is_root() {
            bail!("--drop-caches needs root: it writes /proc/sys/vm/drop_caches (run as root or drop the flag)");
        }
        let warmup = args.warmup.unwrap_or(if args.quick { 0.0 } else { 0.5 });
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
                        .unwrap_or(crate::timeline::DEFAULT_INTERVAL_MS),
                ),
                until_steady: args.until_steady.map(Duration::from_secs_f64),
            },
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
}

impl ProbeJob {
    /// Resolves and validates `probe`'s arguments.
    pub fn from_args(args: &ProbeArgs, command_line: &str) -> Result<ProbeJob> {
        crate::scratch::check_disk(&args.disk)?;
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
        })
    }
}

/// Files whose presence marks a folder as results of this tool.
const RESULTS_FILES: &[&str] = &[
    "environment.json",
    "config.json",
    "runs.csv",
    "probe.csv",
    "crash.csv",
];

/// `--out`: a new or empty folder is used as is; a non-empty one is
/// refused, unless `force` and it holds results of this tool, in which case
/// it is replaced whole (so no stale report, chart or hgrm file survives).
pub fn check_out(out: Option<&Path>, force: bool) -> Result<OutDir> {
    let Some(path) = out else {
        return Ok(OutDir {
            path: None,
            replace: false,
        });
    };
    let fresh = OutDir {
        path: Some(path.to_path_buf()),
        replace: false,
    };
    if path.is_file() {
        bail!("--out {} is a file, not a folder", path.display());
    }
    let mut entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
        Err(e) => return Err(e).with_context(|| format!("--out {}", path.display())),
    };
    if entries.next().is_none() {
        return Ok(fresh);
    }
    if !force {
        bail!(
            "--out {} is not empty: its files would be mixed with this run's; choose a new folder, or pass --force to replace it whole",
            path.display()
        );
    }
    if !RESULTS_FILES.iter().any(|f| path.join(f).exists()) {
        bail!(
            "--out {} is not empty and is not a results folder (it has none of {}); --force replaces only results folders",
            path.display(),
            RESULTS_FILES.join(", ")
        );
    }
    Ok(OutDir {
        path: Some(path.to_path_buf()),
        replace: true,
    })
}

/// Keeps the first of each key, noting the duplicates removed.
fn dedup_by<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    what: &str,
    notes: &mut Vec<String>,
) -> Vec<T> {
    let mut seen = BTreeSet::new();
    let mut dropped = Vec::new();
    let kept: Vec<T> = items
        .into_iter()
        .filter(|i| {
            let k = key(i);
            let new = seen.insert(k.clone());
            if !new {
                dropped.push(k);
            }
            new
        })
        .collect();
    if !dropped.is_empty() {
        notes.push(format!(
            "{what}: duplicate {} removed; each runs once",
            dropped.join(", ")
        ));
    }
    kept
}

fn describe_skip(s: &SkippedRow) -> String {
    let mut what = vec![s.engine.as_str()];
    if !s.policy.is_empty() {
        what.push(&s.policy);
    }
    if !s.workload.is_empty() {
        what.push(&s.workload);
    }
    format!("{}: {}", what.join(" x "), s.reason)
}

/// Resolves engine names (all registered when empty).
pub fn resolve_engines(names: &[String]) -> Result<Vec<&'static EngineInfo>> {
    if names.is_empty() {
        return Ok(engines::registry::all().iter().collect());
    }
    names
        .iter()
        .map(|n| engines::registry::info(n.trim()).map_err(anyhow::Error::from))
        .collect()
}

/// Parses policy texts (the default matrix's when empty). A sync primitive
/// on a policy that never syncs is refused: it would measure nothing new.
pub fn resolve_policies(texts: &[String]) -> Result<Vec<SyncPolicy>> {
    let texts: Vec<String> = if texts.is_empty() {
        DEFAULT_POLICIES.iter().map(|s| s.to_string()).collect()
    } else {
        texts.to_vec()
    };
    texts
        .iter()
        .map(|t| {
            let p = t.trim().parse::<SyncPolicy>()?;
            if p.mode == SyncMode::None && p.primitive == SyncPrimitive::Fsync {
                bail!(
                    "--policies {t}: `@fsync` chooses the call that syncs file data, but `none` never syncs it; use `none`"
                );
            }
            Ok(p)
        })
        .collect()
}

/// Which of the fields the runner can override a workload file sets itself.
#[derive(Debug, Default, Clone, Copy)]
struct FileFields {
    threads: bool,
    length: bool,
    record_count: bool,
}

impl FileFields {
    /// Reads the keys present in a workload file (already loaded and
    /// validated by `workloads::resolve`, so a parse failure cannot happen
    /// here; it would count as "nothing set").
    fn of(path: &Path) -> FileFields {
        let table: toml::Table = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| toml::from_str(&t).ok())
            .unwrap_or_default();
        FileFields {
            threads: table.contains_key("threads"),
            length: table.contains_key("operation_count") || table.contains_key("duration_secs"),
            record_count: table.contains_key("record_count"),
        }
    }
}

fn is_file_name(name: &str) -> bool {
    name.ends_with(".toml") || name.contains(['/', std::path::MAIN_SEPARATOR])
}

/// Loads workloads by preset name or TOML path and applies the run's
/// overrides (see the module doc for precedence). Returns the workloads and
/// whether they are the default set.
fn resolve_workloads(
    args: &RunArgs,
    threads_flag: Option<&[usize]>,
    notes: &mut Vec<String>,
) -> Result<(Vec<Workload>, bool)> {
    let default = args.workloads.is_empty();
    let names: Vec<String> = if default {
        DEFAULT_WORKLOADS.iter().map(|s| s.to_string()).collect()
    } else {
        args.workloads
            .iter()
            .map(|s| s.trim().to_string())
            .collect()
    };
    let mut out: Vec<Workload> = Vec::new();
    let mut twice = Vec::new();
    for n in names
        .into_iter()
        .chain(default.then(|| LOG_WORKLOAD.to_string()))
    {
        let mut spec = workloads::resolve(&n).map_err(anyhow::Error::from)?;
        let file = is_file_name(&n);
        let (fields, source) = if file {
            let canon =
                std::fs::canonicalize(&n).map_or_else(|_| n.clone(), |p| p.display().to_string());
            (FileFields::of(Path::new(&n)), canon)
        } else {
            (FileFields::default(), n.clone())
        };
        if file && workloads::PRESETS.contains(&spec.name.as_str()) {
            bail!(
                "workload file {n} is named `{}`, like the preset: their rows could not be told apart; give the file another `name`",
                spec.name
            );
        }
        if let Some(prev) = out.iter().find(|w| w.spec.name == spec.name) {
            if prev.source == source {
                twice.push(n);
                continue;
            }
            bail!(
                "two workloads are named `{}` ({} and {n}): their rows could not be told apart; give each file its own `name`",
                spec.name,
                prev.source
            );
        }
        apply_overrides(&mut spec, args, fields);
        spec.validate()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("workload `{n}` with the run's options"))?;
        let threads = match threads_flag {
            Some(t) => t.to_vec(),
            None if fields.threads => vec![spec.threads],
            None => DEFAULT_THREADS.to_vec(),
        };
        out.push(Workload {
            spec,
            threads,
            source,
        });
    }
    if !twice.is_empty() {
        notes.push(format!(
            "--workloads: duplicate {} removed; each runs once",
            twice.join(", ")
        ));
    }
    Ok((out, default))
}

fn apply_overrides(spec: &mut WorkloadSpec, args: &RunArgs, file: FileFields) {
    if let Some(ops) = args.ops {
        spec.operation_count = Some(ops);
        spec.duration_secs = None;
    } else if let Some(d) = args.until_steady {
        spec.operation_count = None;
        spec.duration_secs = Some(d);
    } else if let Some(d) = args.duration {
        spec.operation_count = None;
        spec.duration_secs = Some(d);
    } else if !file.length {
        spec.operation_count = None;
        spec.duration_secs = Some(if args.quick {
            QUICK_DURATION_S
        } else {
            DEFAULT_DURATION_S
        });
    }
    if let Some(v) = args.value_size {
        spec.value_size = workloads::ValueSize::Fixed(v as usize);
    }
    if let Some(n) = args.record_count {
        spec.record_count = n;
    } else if args.quick && !file.record_count {
        spec.record_count = spec.record_count.min(QUICK_RECORD_COUNT);
    }
}

/// Builds the matrix; engines without the capabilities a workload needs
/// skip it (with the reason), and in the default matrix engines without
/// point reads run `append` in place of read mixes.
pub fn build_matrix(
    engines: &[&'static EngineInfo],
    policies: &[SyncPolicy],
    workloads: &[Workload],
    default_workloads: bool,
) -> (Vec<Cell>, Vec<SkippedRow>) {
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for &engine in engines {
        let mut chosen: Vec<&Workload> = Vec::new();
        let mut needs_log_workload = false;
        for w in workloads {
            if default_workloads && w.spec.name == LOG_WORKLOAD {
                continue;
            }
            match w.spec.check_supported(&engine.capabilities) {
                Ok(()) => chosen.push(w),
                Err(reason) => {
                    let substitute = default_workloads && !engine.capabilities.point_reads;
                    needs_log_workload |= substitute;
                    skipped.push(SkippedRow {
                        engine: engine.name.into(),
                        policy: String::new(),
                        workload: w.spec.name.clone(),
                        reason: if substitute {
                            format!("{reason}; runs `{LOG_WORKLOAD}` instead")
                        } else {
                            reason
                        },
                    });
                }
            }
        }
        if needs_log_workload {
            if let Some(log) = workloads.iter().find(|w| w.spec.name == LOG_WORKLOAD) {
                chosen.push(log);
            }
        }
        for &policy in policies {
            if let Err(reason) = (engine.supports)(&policy) {
                skipped.push(SkippedRow {
                    engine: engine.name.into(),
                    policy: policy.to_string(),
                    workload: String::new(),
                    reason,
                });
            }
        }
        for w in chosen {
            for &policy in policies.iter().filter(|p| (engine.supports)(p).is_ok()) {
                for &t in &w.threads {
                    let mut spec = w.spec.clone();
                    spec.threads = t;
                    cells.push(Cell {
                        engine,
                        policy,
                        workload: spec,
                    });
                }
            }
        }
    }
    (cells, skipped)
}

/// Bytes of one latency histogram (the cell records one per operation
/// type and thread).
fn histogram_bytes() -> u64 {
    engines::fs::new_latency_histogram().distinct_values() as u64 * 8
}

/// A cell's peak memory, estimated from what grows with its size: per
/// client thread, a latency histogram per operation type, its value pool
/// (at least 1 MiB, twice the largest value) and stack; per key (loaded
/// and inserted), the key and an engine index entry.
pub fn cell_memory_bytes(spec: &WorkloadSpec, threads: usize) -> u64 {
    const STACK: u64 = 256 << 10;
    const INDEX_ENTRY: u64 = 48;
    // `all` and one per operation kind (cell::Latencies).
    let hists = (1 + workloads::OpKind::ALL.len()) as u64 * histogram_bytes();
    let pool = (1u64 << 20).max(spec.value_size.max() as u64 * 2);
    let per_thread = hists + pool + STACK;
    let keys = spec.record_count.saturating_add(spec.expected_new_keys());
    (threads as u64 + 1)
        .saturating_mul(per_thread)
        .saturating_add(keys.saturating_mul(spec.key_size as u64 + INDEX_ENTRY))
}

/// Refuses a matrix whose largest cell would not fit in available memory
/// (the kernel would kill the run mid-cell). Returns the estimate.
fn check_memory(cells: &[Cell]) -> Result<u64> {
    let Some(worst) = cells
        .iter()
        .max_by_key(|c| cell_memory_bytes(&c.workload, c.workload.threads))
    else {
        return Ok(0);
    };
    let need = cell_memory_bytes(&worst.workload, worst.workload.threads);
    if let Some(avail) = crate::sys::available_memory() {
        if need > avail {
            let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
            bail!(
                "cell {} {} {} t{} needs about {:.1} GiB of memory ({} threads, {} keys), but {:.1} GiB is available; lower --threads or --record-count",
                worst.engine.name,
                worst.policy,
                worst.workload.name,
                worst.workload.threads,
                gib(need),
                worst.workload.threads,
                worst
                    .workload
                    .record_count
                    .saturating_add(worst.workload.expected_new_keys()),
                gib(avail)
            );
        }
    }
    Ok(need)
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
