//! The `run` command, from a plan already validated by [`crate::cli::plan`]:
//! probe the disk, run every cell in the scratch folder, write each finished
//! cell at once, print the table (or JSON lines).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use results::warnings::Skip;
use results::{BlockDevice, Environment, ProbeRow, RunRow, Warning, Warnings};

use crate::cli::plan::HarnessCost;
use crate::cli::plan::{Cell, OutputFormat, RunPlan};
use crate::measure::ceilings::Ceilings;
use crate::measure::cell::{self, CellError, CellMeasurement, CellPlan};
use crate::measure::drive;
use crate::measure::probe;
use crate::measure::schedule;
use crate::measure::timeline::TimelineSettings;
use crate::output;
use crate::output::progress::{Progress, ProgressMode};
use crate::output::reporter::{Repetition, Report, Reports};
use crate::output::rows::{self, CellId, CellStatus, RowContext};
use crate::support::scratch::ScratchDir;

// Kept for callers outside the run loop (crash --kill).
pub use crate::cli::plan::{resolve_engines, resolve_policies, DEFAULT_POLICIES};
pub use crate::support::scratch::prepare_disk;

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
    let run_id = output::folder::run_id(&env0.host);
    let out = output::folder::fresh_results_dir(&plan.out, &env0.host, "run")?;
    let label = plan.label.clone().unwrap_or_else(|| env0.host.clone());
    let guard = ScratchDir::create(&plan.disk, &run_id)?;
    let work = guard.path().to_path_buf();
    let cells = &plan.cells;
    let skipped = &plan.skipped;
    let specs = plan.specs();

    let mut env = crate::support::build_info::environment(Some(&plan.disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = plan.command_line.clone();
    env.started_utc = output::folder::utc_now();
    results::write_json(&out.environment(), &env)?;
    // The harness's own cost per operation (timing, histograms, key
    // generation) over a null engine, before anything else competes.
    let harness = specs.first().map_or(HarnessCost::default(), |s| {
        // Three passes each, alternated, medians: the first pass also pays
        // for faulting the histograms in.
        let (mut plain, mut timeline) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            plain.push(drive::harness_cost_ns(s, 200_000, false));
            timeline.push(drive::harness_cost_ns(s, 200_000, true));
        }
        HarnessCost {
            plain_ns: results::median(&plain).unwrap_or(0.0),
            timeline_ns: results::median(&timeline).unwrap_or(0.0),
        }
    });
    let harness_ns = harness.plain_ns;
    results::write_json(&out.config(), &plan.config(&run_id, harness))?;
    let mut reports = Reports::default();
    reports.push(Progress::new(ProgressMode::detect(plan.quiet)));
    let mut writer = output::folder::ResultsWriter::new(out.clone(), cells.len());
    writer.write_skipped(skipped)?;
    let skips: Vec<Skip> = skipped
        .iter()
        .map(|s| Skip {
            what: [s.engine.as_str(), s.policy.as_str(), s.workload.as_str()]
                .iter()
                .filter(|w| !w.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(" x "),
            reason: s.reason.clone(),
        })
        .collect();
    if !skips.is_empty() {
        reports.warn(&Warning::Skipped { skips });
    }
    // What the disk gives reason to doubt now; the probe's doubts follow.
    let mut disk_warnings = Warnings::of_disk(&env);

    // The device's own ceilings, first.
    let mut probe_rows: Vec<ProbeRow> = Vec::new();
    let mut recheck = None;
    if plan.probe {
        let mut probe_plan = probe::plan_for(
            &plan.policies,
            specs.iter().map(|s| {
                engines::record::HEADER_LEN as u64 + s.key_size as u64 + s.value_size.mean() as u64
            }),
            &plan.threads(),
            plan.quick,
            env.disk.as_ref(),
        );
        if let Some(ms) = plan.probe_budget_ms {
            probe_plan.min_time = Duration::from_millis(ms);
            probe_plan.min_syncs = 10;
            probe_plan.rounds = 1;
        }
        probe_rows = probe::run(&work.join("probe"), &probe_plan, |m| reports.note(m))?;
        for r in &mut probe_rows {
            r.run_id = run_id.clone();
            r.label = label.clone();
        }
        disk_warnings.extend(Warnings::of_probe(&probe_rows));
        writer.probe_measured(&probe_rows)?;
        recheck = plan.recheck.then_some(probe_plan);
    }
    disk_warnings.iter().for_each(|w| reports.warn(w));
    reports.push(writer);
    match plan.format {
        OutputFormat::Table => reports.push(crate::output::table::StdoutTable),
        OutputFormat::Json => reports.push(crate::output::reporter::JsonLines),
    }
    let matrix = Matrix {
        cells,
        ids: cells
            .iter()
            .map(|c| cell_id(c, &run_id, &env.host, &label))
            .collect(),
        warmup: plan.warmup,
        enospc_after_bytes: plan.inject_enospc_after_bytes,
        harness_ns: Some(harness_ns),
        timeline: plan.timeline,
        device: env
            .disk
            .as_ref()
            .and_then(|d| BlockDevice::open(d.device.as_deref()?, d.disk_device.as_deref())),
        drop_caches: plan.drop_caches,
        quick: plan.quick,
        recheck,
    };
    let slots = schedule::interleaved(cells.len(), plan.repeat, plan.order_seed);
    let (end, rows) = measure(&matrix, &slots, &probe_rows, &work, stop, &mut reports)?;
    drop(guard);
    let ok: Vec<RunRow> = rows.iter().filter(|r| r.status == "ok").cloned().collect();
    Warnings::of_cells(&ok).iter().for_each(|w| reports.warn(w));
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
    timeline: TimelineSettings,
    device: Option<BlockDevice>,
    drop_caches: bool,
    quick: bool,
    /// Measure the ceilings again at the start of each round, with this
    /// plan (`None`: the first probe's ceilings serve every cell).
    recheck: Option<probe::ProbePlan>,
}

/// Measures every slot in order. Before each measurement the device's
/// background write rate is sampled over an idle window, so a cell whose
/// device bytes are mostly someone else's is marked `noisy`. Each round
/// after the first starts by measuring the ceilings again ([`Ceilings`]).
/// A failed cell is not measured again; a full disk or Ctrl-C ends the run.
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
    let writing = m
        .cells
        .iter()
        .zip(&m.ids)
        .filter(|(c, _)| c.workload.mix.writes());
    let mut ceilings = Ceilings::new(
        probe_rows,
        writing.map(|(_, id)| (id.policy, id.record_bytes(), id.threads)),
        m.recheck.clone(),
        &work.join("recheck"),
    );
    let mut round = 0;
    for slot in slots {
        let (n, id) = (slot.cell, &m.ids[slot.cell]);
        if failed[n].is_some() {
            continue;
        }
        if slot.round != round {
            round = slot.round;
            recheck_ceilings(&mut ceilings, reports)?;
        }
        if m.drop_caches {
            crate::measure::sys::drop_caches().context("drop page cache")?;
        }
        let background = m.device.as_ref().and_then(|d| d.background_rate(idle));
        reports.cell_started(n, id, slot.round, rounds);
        let dir = work.join(format!("cell-{n}-{}", slot.round));
        match cell::run_cell(&dir, &cell_plan(m, n), stop, m.device.as_ref()) {
            Ok(meas) => {
                let ctx = RowContext {
                    probe: ceilings.rows(),
                    background_bytes_per_sec: background,
                };
                let rep = repetition(id, slot.round, &meas, &ctx);
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
            Err(e) => {
                let mut row = id.row();
                row.status = CellStatus::Failed.to_string();
                row.error = e.to_string();
                reports.cell_failed(n, &row)?;
                let error = row.error.clone();
                failed[n] = Some(row);
                if e.is_disk_full() {
                    reports.warn(&Warning::DiskFull { error });
                    end = RunEnd::DiskFull;
                    break;
                }
            }
        }
    }
    for w in &ceilings.drift_warnings(results::warnings::CEILING_DRIFT) {
        reports.warn(w);
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

/// Measures the ceilings again at the start of a round, reporting what
/// changed; a failed re-measurement stops the rechecks with a warning, not
/// the run.
fn recheck_ceilings(ceilings: &mut Ceilings, reports: &mut Reports) -> Result<()> {
    match ceilings.new_round() {
        Ok(lines) if !lines.is_empty() => {
            lines.iter().for_each(|l| reports.note(l));
            reports.ceilings_measured(ceilings.history())?;
        }
        Ok(_) => {}
        Err(e) => reports.warn(&Warning::RechecksStopped {
            error: format!("{e:#}"),
        }),
    }
    Ok(())
}

/// What [`cell::run_cell`] needs to measure cell `n` of the matrix.
fn cell_plan(m: &Matrix<'_>, n: usize) -> CellPlan {
    CellPlan {
        engine: m.cells[n].engine,
        policy: m.cells[n].policy,
        workload: m.cells[n].workload.clone(),
        warmup: m.warmup,
        enospc_after_bytes: m.enospc_after_bytes,
        harness_ns: m.harness_ns,
        timeline: m.timeline,
    }
}

/// One measured repetition as rows: the run row with its timeline columns,
/// the latency rows, the histograms (sync latency included when the engine
/// synced), the timeline and its events.
fn repetition(id: &CellId, round: u32, meas: &CellMeasurement, ctx: &RowContext<'_>) -> Repetition {
    let mut row = rows::run_row(id, meas, ctx);
    row.repetition = round;
    let (timeline, events) = rows::timeline_rows(id, round, meas);
    rows::fill_timeline_columns(&mut row, &timeline, &events, meas);
    let latency = rows::latency_rows(id, meas);
    let mut hists: Vec<(String, Histogram<u64>)> = meas
        .latency
        .named()
        .map(|(op, h)| (op.to_string(), h.clone()))
        .collect();
    if !meas.io.sync_latency_ns.is_empty() {
        hists.push(("sync".into(), meas.io.sync_latency_ns.clone()));
    }
    Repetition {
        row,
        latency,
        hists,
        timeline,
        events,
    }
}
