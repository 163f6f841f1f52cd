//! The `run` command, from a plan already validated by [`crate::plan`]:
//! probe the disk, run every cell in the scratch folder, write each finished
//! cell at once, print the table (or JSON lines).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use results::{DeviceCounters, Environment, ProbeRow};

use crate::cell::{self, CellError, CellPlan};
use crate::output::{self, Progress};
use crate::plan::{OutputFormat, RunPlan};
use crate::probe::{self, ProbePlan};
use crate::rows::{self, CellId};
use crate::scratch::ScratchDir;

// Kept for callers outside the run loop (crash --kill).
pub use crate::plan::{resolve_engines, resolve_policies, DEFAULT_POLICIES};
pub use crate::scratch::prepare_disk;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunEnd {
    /// Every cell ran (some may have failed; see their rows).
    Finished,
    /// A signal (SIGINT, SIGTERM, SIGHUP) stopped it.
    Interrupted,
    /// The disk filled up; the run stopped after recording the failed cell.
    DiskFull,
}

/// Runs the plan's matrix. Returns how it ended and the results folder.
pub fn run(plan: &RunPlan, stop: &AtomicBool) -> Result<(RunEnd, PathBuf)> {
    let env0 = Environment::capture(None);
    let run_id = output::run_id(&env0.host);
    let out = output::fresh_results_dir(&plan.out, &env0.host, "run")?;
    let label = plan.label.clone().unwrap_or_else(|| env0.host.clone());
    let guard = ScratchDir::create(&plan.disk, &run_id)?;
    let work = guard.path().to_path_buf();
    let cells = &plan.cells;
    let skipped = &plan.skipped;
    let specs = plan.specs();
    let policies = &plan.policies;
    let warmup = plan.warmup;

    let mut env = Environment::capture(Some(&plan.disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = plan.command_line.clone();
    env.started_utc = output::utc_now();
    env.git_commit = option_env!("BENCH_RUNNER_GIT_COMMIT")
        .filter(|c| *c != "unknown")
        .map(str::to_string);
    results::write_json(&out.environment(), &env)?;
    results::write_json(&out.config(), &plan.config(&run_id))?;
    results::write_csv_with_header(&out.skipped(), skipped)?;
    let quiet = plan.quiet || !std::io::stderr().is_terminal();
    let mut progress = Progress::new(quiet, cells.len() * plan.repeat as usize);
    for s in skipped {
        let what = [s.engine.as_str(), s.policy.as_str(), s.workload.as_str()]
            .iter()
            .filter(|w| !w.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" x ");
        eprintln!("skipped: {what}: {}", s.reason);
    }

    // The device's own ceilings, first.
    let mut probe_rows: Vec<ProbeRow> = Vec::new();
    if plan.probe {
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
        let probe_plan = ProbePlan {
            record_sizes,
            batches,
            per_pattern: Duration::from_secs_f64(if plan.quick { 0.2 } else { 1.0 }),
        };
        probe_rows = probe::run(&work.join("probe"), &probe_plan, |m| progress.note(m))?;
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
        let cell_plan = CellPlan {
            engine: c.engine,
            policy: c.policy,
            workload: c.workload.clone(),
            warmup,
            enospc_after_bytes: plan.inject_enospc_after_bytes,
        };
        let mut reps: Vec<output::Repetition> = Vec::new();
        let mut failure: Option<String> = None;
        for rep in 0..plan.repeat {
            if plan.drop_caches {
                crate::sys::drop_caches().context("drop page cache")?;
            }
            progress.start(&format!(
                "{} {} {} t{}{}",
                id.engine,
                id.policy,
                id.workload,
                id.threads,
                if plan.repeat > 1 {
                    format!(" rep {}", rep + 1)
                } else {
                    String::new()
                }
            ));
            let dir = work.join(format!("cell-{n}-{rep}"));
            let t0 = Instant::now();
            match cell::run_cell(&dir, &cell_plan, stop, device.as_ref()) {
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
    drop(guard);
    progress.finish();
    if end == RunEnd::Finished {
        match plan.format {
            OutputFormat::Table => output::print_table(writer.rows()),
            OutputFormat::Json => crate::jsonl::print_rows(writer.rows())?,
        }
    }
    Ok((end, out.root().to_path_buf()))
}
