//! The `run` command: validate everything, probe the disk, run every cell,
//! write each finished cell at once, print the table, draw the report.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use engines::registry::EngineInfo;
use engines::SyncPolicy;
use results::{DeviceCounters, Environment, ProbeRow};
use serde::Serialize;
use workloads::WorkloadSpec;

use crate::cell::{self, CellError, CellPlan};
use crate::cli::RunArgs;
use crate::output::{self, Progress};
use crate::probe::{self, ProbePlan};
use crate::rows::{self, CellId};

/// Policies of the default matrix.
pub const DEFAULT_POLICIES: &[&str] =
    &["none", "always", "always+dir", "batch:32+dir", "group+dir"];
/// Workloads of the default matrix.
pub const DEFAULT_WORKLOADS: &[&str] = &["fillrandom", "ycsb-a"];
/// Workload run instead of read mixes on engines without point reads.
pub const LOG_WORKLOAD: &str = "append";

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every cell ran (some may have failed; see their rows).
    Finished,
    /// Ctrl-C.
    Interrupted,
    /// The disk filled up; the run stopped after recording the failed cell.
    DiskFull,
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

/// A combination that was not run, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Engine.
    pub engine: String,
    /// Workload.
    pub workload: String,
    /// Why.
    pub reason: String,
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
    /// Workload specs, as run (with 1 thread; cells vary threads).
    pub workloads: Vec<WorkloadSpec>,
    /// Thread counts.
    pub threads: Vec<usize>,
    /// Measured seconds per cell (when not --ops).
    pub duration_s: Option<f64>,
    /// Operations per cell (when --ops).
    pub ops: Option<u64>,
    /// Warm-up seconds.
    pub warmup_s: f64,
    /// Repetitions.
    pub repeat: u32,
    /// Skipped combinations.
    pub skipped: Vec<Skipped>,
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

/// Parses policy texts (the default matrix's when empty).
pub fn resolve_policies(texts: &[String]) -> Result<Vec<SyncPolicy>> {
    let texts: Vec<String> = if texts.is_empty() {
        DEFAULT_POLICIES.iter().map(|s| s.to_string()).collect()
    } else {
        texts.to_vec()
    };
    texts
        .iter()
        .map(|t| t.parse::<SyncPolicy>().map_err(anyhow::Error::from))
        .collect()
}

/// Loads workloads by preset name or TOML path, applying the run's overrides.
pub fn resolve_workloads(args: &RunArgs) -> Result<(Vec<WorkloadSpec>, bool)> {
    let default = args.workloads.is_empty();
    let names: Vec<String> = if default {
        DEFAULT_WORKLOADS.iter().map(|s| s.to_string()).collect()
    } else {
        args.workloads.clone()
    };
    let mut specs = Vec::new();
    for n in names
        .iter()
        .map(|s| s.trim().to_string())
        .chain(default.then(|| LOG_WORKLOAD.to_string()))
    {
        let mut spec = workloads::resolve(&n).map_err(anyhow::Error::from)?;
        apply_overrides(&mut spec, args);
        spec.validate()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("workload `{n}` with the run's options"))?;
        specs.push(spec);
    }
    Ok((specs, default))
}

fn apply_overrides(spec: &mut WorkloadSpec, args: &RunArgs) {
    if let Some(ops) = args.ops {
        spec.operation_count = Some(ops);
        spec.duration_secs = None;
    } else {
        spec.operation_count = None;
        spec.duration_secs = Some(args.duration.unwrap_or(if args.quick { 0.2 } else { 2.0 }));
    }
    if let Some(v) = args.value_size {
        spec.value_size = workloads::ValueSize::Fixed(v);
    }
    if let Some(n) = args.record_count {
        spec.record_count = n;
    } else if args.quick {
        spec.record_count = spec.record_count.min(10_000);
    }
}

/// Builds the matrix; engines without the capabilities a workload needs
/// skip it (with the reason), and in the default matrix engines without
/// point reads run `append` in place of read mixes.
pub fn build_matrix(
    engines: &[&'static EngineInfo],
    policies: &[SyncPolicy],
    specs: &[WorkloadSpec],
    threads: &[usize],
    default_workloads: bool,
) -> (Vec<Cell>, Vec<Skipped>) {
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for &engine in engines {
        let mut chosen: Vec<&WorkloadSpec> = Vec::new();
        let mut needs_log_workload = false;
        for spec in specs {
            let is_log = default_workloads && spec.name == LOG_WORKLOAD;
            if is_log {
                continue;
            }
            match spec.check_supported(&engine.capabilities) {
                Ok(()) => chosen.push(spec),
                Err(reason) => {
                    let substitute = default_workloads && !engine.capabilities.point_reads;
                    needs_log_workload |= substitute;
                    skipped.push(Skipped {
                        engine: engine.name.into(),
                        workload: spec.name.clone(),
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
            if let Some(log) = specs.iter().find(|s| s.name == LOG_WORKLOAD) {
                chosen.push(log);
            }
        }
        for &policy in policies {
            if let Err(reason) = (engine.supports)(&policy) {
                skipped.push(Skipped {
                    engine: engine.name.into(),
                    workload: format!("policy {policy}"),
                    reason,
                });
            }
        }
        for spec in chosen {
            for &policy in policies.iter().filter(|p| (engine.supports)(p).is_ok()) {
                for &t in threads {
                    let mut w = spec.clone();
                    w.threads = t;
                    cells.push(Cell {
                        engine,
                        policy,
                        workload: w,
                    });
                }
            }
        }
    }
    (cells, skipped)
}

/// Checks `--disk` and creates the run's own working folder in it.
pub fn prepare_disk(disk: &Path, run_id: &str) -> Result<PathBuf> {
    let meta = std::fs::metadata(disk).with_context(|| format!("--disk {}", disk.display()))?;
    if !meta.is_dir() {
        bail!("--disk {} is not a directory", disk.display());
    }
    let work = disk.join(format!("bench-runner-{run_id}"));
    std::fs::create_dir(&work).with_context(|| {
        format!(
            "--disk {}: cannot create working folder {}",
            disk.display(),
            work.display()
        )
    })?;
    Ok(work)
}

/// Runs the matrix. Returns how it ended and the results folder.
pub fn run(args: &RunArgs, command_line: &str, stop: &AtomicBool) -> Result<(RunEnd, PathBuf)> {
    let engines = resolve_engines(&args.engines)?;
    let policies = resolve_policies(&args.policies)?;
    let (specs, default_workloads) = resolve_workloads(args)?;
    let threads = if args.threads.is_empty() {
        vec![1, 4]
    } else {
        args.threads.clone()
    };
    if threads.contains(&0) {
        bail!("--threads: 0 is not a thread count");
    }
    if args.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    if args.drop_caches && !crate::sys::is_root() {
        bail!("--drop-caches needs root: it writes /proc/sys/vm/drop_caches (run as root or drop the flag)");
    }
    let warmup = Duration::from_secs_f64(
        args.warmup
            .unwrap_or(if args.quick { 0.0 } else { 0.5 })
            .max(0.0),
    );

    let env0 = Environment::capture(None);
    let run_id = output::run_id(&env0.host);
    let out = output::results_dir(args.output.out.as_deref(), &env0.host, "run")?;
    let label = args
        .output
        .label
        .clone()
        .unwrap_or_else(|| env0.host.clone());

    let disk = match &args.disk {
        Some(d) => d.clone(),
        None => {
            let d = PathBuf::from("bench-data");
            std::fs::create_dir_all(&d).with_context(|| format!("create {}", d.display()))?;
            eprintln!("no --disk given: measuring the disk under ./bench-data");
            d
        }
    };
    let work = prepare_disk(&disk, &run_id)?;
    let guard = WorkDir(work.clone());

    let (cells, skipped) = build_matrix(&engines, &policies, &specs, &threads, default_workloads);
    let mut env = Environment::capture(Some(&disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = command_line.to_string();
    env.started_utc = output::utc_now();
    env.libraries = engines::reference::library_versions();
    results::write_json(&out.environment(), &env)?;
    let config = RunConfig {
        command: command_line.to_string(),
        run_id: run_id.clone(),
        disk: disk.clone(),
        engines: engines.iter().map(|e| e.name.to_string()).collect(),
        policies: policies.iter().map(|p| p.to_string()).collect(),
        workloads: specs.clone(),
        threads: threads.clone(),
        duration_s: specs.first().and_then(|s| s.duration_secs),
        ops: args.ops,
        warmup_s: warmup.as_secs_f64(),
        repeat: args.repeat,
        skipped: skipped.clone(),
    };
    results::write_json(&out.config(), &config)?;
    let quiet = args.output.quiet || !std::io::stderr().is_terminal();
    let mut progress = Progress::new(quiet, cells.len() * args.repeat as usize);
    for s in &skipped {
        eprintln!("skipped: {} x {}: {}", s.engine, s.workload, s.reason);
    }

    // The device's own ceilings, first.
    let mut probe_rows: Vec<ProbeRow> = Vec::new();
    if !args.no_probe {
        let mut record_sizes: Vec<u64> = specs
            .iter()
            .map(|s| {
                engines::record::HEADER_LEN as u64 + s.key_size as u64 + s.value_size.mean() as u64
            })
            .collect();
        record_sizes.push(4096);
        record_sizes.sort_unstable();
        record_sizes.dedup();
        let mut batches: Vec<u64> = policies
            .iter()
            .filter_map(|p| match p.mode {
                engines::SyncMode::Batch(n) => Some(u64::from(n)),
                _ => None,
            })
            .collect();
        batches.sort_unstable();
        batches.dedup();
        let plan = ProbePlan {
            record_sizes,
            batches,
            per_pattern: Duration::from_secs_f64(if args.quick { 0.2 } else { 1.0 }),
        };
        probe_rows = probe::run(&work.join("probe"), &plan, |m| progress.note(m))?;
        for r in &mut probe_rows {
            r.run_id = run_id.clone();
            r.label = label.clone();
        }
        results::write_csv(&out.probe(), &probe_rows)?;
    }

    let device = env
        .disk
        .as_ref()
        .and_then(|d| d.device.as_deref())
        .and_then(DeviceCounters::for_device);
    let mut writer = output::RowsWriter::new(out.clone());
    let mut end = RunEnd::Finished;
    'cells: for (n, c) in cells.iter().enumerate() {
        let id = CellId {
            run_id: run_id.clone(),
            host: env.host.clone(),
            label: label.clone(),
            engine: c.engine.name.to_string(),
            policy: c.policy,
            workload: c.workload.name.clone(),
            threads: c.workload.threads as u32,
            key_size: c.workload.key_size as u64,
            value_size: c.workload.value_size.mean() as u64,
            seed: c.workload.seed,
        };
        let plan = CellPlan {
            engine: c.engine,
            policy: c.policy,
            workload: c.workload.clone(),
            warmup,
            enospc_after_bytes: args.inject_enospc_after_bytes,
        };
        let mut reps: Vec<output::Repetition> = Vec::new();
        let mut failure: Option<String> = None;
        for rep in 0..args.repeat {
            if args.drop_caches {
                crate::sys::drop_caches().context("drop page cache")?;
            }
            progress.start(&format!(
                "{} {} {} t{}{}",
                id.engine,
                id.policy,
                id.workload,
                id.threads,
                if args.repeat > 1 {
                    format!(" rep {}", rep + 1)
                } else {
                    String::new()
                }
            ));
            let dir = work.join(format!("cell-{n}-{rep}"));
            let t0 = Instant::now();
            match cell::run_cell(&dir, &plan, stop, device.as_ref()) {
                Ok(m) => {
                    let mut row = rows::run_row(&id, &m, &probe_rows);
                    row.repetition = rep;
                    progress.done(
                        t0.elapsed(),
                        &format!("{:.0} ops/s, p99 {:.0} us", row.ops_per_sec, row.p99_us),
                    );
                    let lat = rows::latency_rows(&id, &m);
                    let mut hists: Vec<(String, hdrhistogram::Histogram<u64>)> = cell::OP_NAMES
                        .iter()
                        .zip(m.latency)
                        .filter(|(_, h)| !h.is_empty())
                        .map(|(n, h)| (n.to_string(), h))
                        .collect();
                    if !m.io.sync_latency_ns.is_empty() {
                        hists.push(("sync".into(), m.io.sync_latency_ns));
                    }
                    reps.push((row, lat, hists));
                }
                Err(CellError::Interrupted) => {
                    end = RunEnd::Interrupted;
                    break 'cells;
                }
                Err(CellError::Failed(e)) => {
                    progress.done(t0.elapsed(), &format!("FAILED: {e}"));
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            let mut row = id.row();
            row.status = "failed".into();
            row.error = e.clone();
            writer.add_failed(row)?;
            if e.contains("os error 28") || e.to_lowercase().contains("no space left") {
                eprintln!(
                    "bench-runner: the disk is full ({e}); stopping. Finished cells are kept."
                );
                end = RunEnd::DiskFull;
                break;
            }
            continue;
        }
        writer.add_cell(&id, reps)?;
    }
    writer.write_skipped(&skipped)?;
    drop(guard);
    progress.finish();
    if end == RunEnd::Finished {
        output::print_table(writer.rows());
    }
    Ok((end, out.root().to_path_buf()))
}

/// Removes the run's working folder on every exit path.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
