//! The `run` command: validate everything, probe the disk, run every cell,
//! write each finished cell at once, print the table, draw the report.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use engines::registry::EngineInfo;
use engines::SyncPolicy;
use hdrhistogram::Histogram;
use results::{BlockDevice, Environment, ProbeRow, RunRow};
use serde::Serialize;
use workloads::WorkloadSpec;

use crate::cell::{self, CellError, CellPlan};
use crate::cli::{OutputFormat, RunArgs};
use crate::output;
use crate::probe;
use crate::progress::{Progress, ProgressMode};
use crate::reporter::{Repetition, Report, Reports};
use crate::rows::{self, CellId, CellStatus, RowContext};
use crate::schedule;

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
    /// Repetitions, run interleaved.
    pub repeat: u32,
    /// Seed of the interleaved cell order (`--order-seed` reruns the same order).
    pub order_seed: u64,
    /// The harness's own cost per operation (ns), measured over a null
    /// engine at the start of the run.
    pub harness_ns_per_op: f64,
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
    let repeat = args.repeat.unwrap_or(if args.quick { 1 } else { 3 });
    let order_seed = args.order_seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
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
    env.git_commit = option_env!("BENCH_RUNNER_GIT_COMMIT").map(str::to_string);
    results::write_json(&out.environment(), &env)?;
    // The harness's own cost per operation (timing, histograms, key
    // generation) over a null engine, before anything else competes.
    let harness_ns = specs
        .first()
        .map_or(0.0, |s| cell::harness_cost_ns(s, 200_000));
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
        repeat,
        order_seed,
        harness_ns_per_op: harness_ns,
        skipped: skipped.clone(),
    };
    results::write_json(&out.config(), &config)?;
    let mut reports = Reports::default();
    reports.push(Progress::new(ProgressMode::detect(args.output.quiet)));
    let mut writer = output::ResultsWriter::new(out.clone(), cells.len());
    writer.write_skipped(&skipped)?;
    for s in &skipped {
        reports.warn(&format!(
            "skipped: {} x {}: {}",
            s.engine, s.workload, s.reason
        ));
    }

    // The device's own ceilings, first.
    let mut probe_rows: Vec<ProbeRow> = Vec::new();
    if !args.no_probe {
        let mut plan = probe::plan_for(
            &policies,
            specs.iter().map(|s| {
                engines::record::HEADER_LEN as u64 + s.key_size as u64 + s.value_size.mean() as u64
            }),
            &threads,
            args.quick,
            env.disk.as_ref(),
        );
        if let Some(ms) = args.probe_budget_ms {
            plan.min_time = Duration::from_millis(ms);
            plan.min_syncs = 10;
            plan.rounds = 1;
        }
        probe_rows = probe::run(&work.join("probe"), &plan, |m| reports.note(m))?;
        for r in &mut probe_rows {
            r.run_id = run_id.clone();
            r.label = label.clone();
        }
        for w in crate::table::probe_warnings(&probe_rows) {
            reports.warn(&format!("probe: {w}"));
        }
        writer.probe_measured(&probe_rows)?;
    }
    reports.push(writer);
    match args.format {
        OutputFormat::Table => reports.push(crate::table::StdoutTable),
        OutputFormat::Json => reports.push(crate::reporter::JsonLines),
    }
    let matrix = Matrix {
        cells: &cells,
        ids: cells
            .iter()
            .map(|c| cell_id(c, &run_id, &env.host, &label))
            .collect(),
        warmup,
        enospc_after_bytes: args.inject_enospc_after_bytes,
        harness_ns: Some(harness_ns),
        device: env
            .disk
            .as_ref()
            .and_then(|d| BlockDevice::open(d.device.as_deref()?, d.disk_device.as_deref())),
        drop_caches: args.drop_caches,
        quick: args.quick,
    };
    let slots = schedule::interleaved(cells.len(), repeat, order_seed);
    let (end, rows) = measure(&matrix, &slots, &probe_rows, &work, stop, &mut reports)?;
    drop(guard);
    reports.run_finished(&rows, end == RunEnd::Finished)?;
    Ok((end, out.root().to_path_buf()))
}

fn cell_id(c: &Cell, run_id: &str, host: &str, label: &str) -> CellId {
    CellId {
        run_id: run_id.to_string(),
        host: host.to_string(),
        label: label.to_string(),
        engine: c.engine.name.to_string(),
        policy: c.policy,
        workload: c.workload.name.clone(),
        threads: c.workload.threads as u32,
        key_size: c.workload.key_size as u64,
        value_size: c.workload.value_size.mean() as u64,
        seed: c.workload.seed,
    }
}

/// Everything the measuring loop needs about the matrix.
struct Matrix<'a> {
    cells: &'a [Cell],
    ids: Vec<CellId>,
    warmup: Duration,
    enospc_after_bytes: Option<u64>,
    harness_ns: Option<f64>,
    device: Option<BlockDevice>,
    drop_caches: bool,
    quick: bool,
}

/// Measures every slot in order. Before each measurement the device's
/// background write rate is sampled over an idle window, so a cell whose
/// device bytes are mostly someone else's is marked `noisy`. A failed cell
/// is not measured again; a full disk or Ctrl-C ends the run.
fn measure(
    m: &Matrix<'_>,
    slots: &[schedule::Slot],
    probe_rows: &[ProbeRow],
    work: &Path,
    stop: &AtomicBool,
    reports: &mut Reports,
) -> Result<(RunEnd, Vec<RunRow>)> {
    let rounds = slots.iter().map(|s| s.round + 1).max().unwrap_or(0);
    reports.run_started(slots.len());
    let idle = Duration::from_millis(if m.quick { 100 } else { 500 });
    let mut reps: Vec<Vec<RunRow>> = vec![Vec::new(); m.cells.len()];
    let mut failed: Vec<Option<RunRow>> = vec![None; m.cells.len()];
    let mut end = RunEnd::Finished;
    for slot in slots {
        let (n, id) = (slot.cell, &m.ids[slot.cell]);
        if failed[n].is_some() {
            continue;
        }
        if m.drop_caches {
            crate::sys::drop_caches().context("drop page cache")?;
        }
        let background = m.device.as_ref().and_then(|d| d.background_rate(idle));
        reports.cell_started(n, id, slot.round, rounds);
        let plan = CellPlan {
            engine: m.cells[n].engine,
            policy: m.cells[n].policy,
            workload: m.cells[n].workload.clone(),
            warmup: m.warmup,
            enospc_after_bytes: m.enospc_after_bytes,
            harness_ns: m.harness_ns,
        };
        let dir = work.join(format!("cell-{n}-{}", slot.round));
        match cell::run_cell(&dir, &plan, stop, m.device.as_ref()) {
            Ok(meas) => {
                let ctx = RowContext {
                    probe: probe_rows,
                    background_bytes_per_sec: background,
                };
                let mut row = rows::run_row(id, &meas, &ctx);
                row.repetition = slot.round;
                let latency = rows::latency_rows(id, &meas);
                let mut hists: Vec<(String, Histogram<u64>)> = meas
                    .latency
                    .named()
                    .map(|(op, h)| (op.to_string(), h.clone()))
                    .collect();
                if !meas.io.sync_latency_ns.is_empty() {
                    hists.push(("sync".into(), meas.io.sync_latency_ns.clone()));
                }
                let rep = Repetition {
                    row,
                    latency,
                    hists,
                };
                reports.repetition_measured(n, id, &rep)?;
                reps[n].push(rep.row);
                if slot.round + 1 == rounds {
                    reports.cell_finished(n, &rows::aggregate(&reps[n]))?;
                }
            }
            Err(CellError::Interrupted) => {
                end = RunEnd::Interrupted;
                break;
            }
            Err(CellError::Failed(e)) => {
                let mut row = id.row();
                row.status = CellStatus::Failed.to_string();
                row.error = e.clone();
                reports.cell_failed(n, &row)?;
                failed[n] = Some(row);
                if e.contains("os error 28") || e.to_lowercase().contains("no space left") {
                    reports.warn(&format!(
                        "the disk is full ({e}); stopping. Finished cells are kept."
                    ));
                    end = RunEnd::DiskFull;
                    break;
                }
            }
        }
    }
    let rows = (0..m.cells.len())
        .filter_map(|n| {
            failed[n]
                .clone()
                .or_else(|| (!reps[n].is_empty()).then(|| rows::aggregate(&reps[n])))
        })
        .collect();
    Ok((end, rows))
}

/// Removes the run's working folder on every exit path.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
