//! `capacity`: the highest open-loop rate at which each cell's latency
//! percentile stays within a budget.
//!
//! Per cell: a closed-loop measurement (no target rate) gives the top of
//! the search and its `runs.csv` row; then, per budget, a bisection
//! ([`search`]) between a low rate and that throughput, each step an
//! open-loop run of the cell ([`crate::measure::cell::run_cell`] with
//! `target_rate`), latency timed from each operation's intended start.
//!
//! Each step runs in a fresh engine directory, as `run`'s cells do: every
//! step then starts from the same state, so its result does not depend on
//! the order the bisection visited the rates (an engine kept open would be
//! larger, more compacted, at later steps, and a step above capacity would
//! leave a backlog for the next). A service that has run for hours is
//! closer to an engine kept open; the fresh directory measures a young
//! one, which for the log-structured engines is the faster case.
//!
//! The open-loop generator spaces arrivals evenly (`1/rate` apart over
//! all threads, see `workloads::stream`): deterministic arrivals, so a
//! single-threaded engine with a fixed service time `s` is a D/D/1 queue
//! whose latency stays at `s` up to a rate of `1/s` and grows without
//! bound past it. Its capacity under any budget at or above `s` is
//! `1/s`.

pub mod plan;
pub mod search;

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result};
use results::capacity::STATUS_FAILED;
use results::{CapacityRow, CapacityStepRow, Environment, RunRow};
use serde::Serialize;

pub use crate::cli::capacity::CapacityArgs;
pub use plan::{Budget, CapacityPlan, Percentile, SearchSettings};
pub use search::{search, Bounds, Capacity, Measured, Verdict};

use crate::cli::plan::Cell;
use crate::measure::cell::{self, CellError, CellPlan};
use crate::measure::timeline::TimelineSettings;
use crate::output;
use crate::output::progress::{Progress, ProgressMode};
use crate::output::rows::{self, CellId, RowContext};
use crate::support::scratch::ScratchDir;

/// How a capacity run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapacityEnd {
    /// Every cell was searched (some may have failed: see their rows).
    Finished,
    /// A signal stopped it; finished cells are saved.
    Interrupted,
}

/// `config.json` of a capacity run.
#[derive(Debug, Serialize)]
struct CapacityConfig<'a> {
    command: &'a str,
    run_id: &'a str,
    budgets: &'a [Budget],
    search: &'a SearchSettings,
    closed_loop_duration_s: Option<f64>,
    workloads: Vec<workloads::WorkloadSpec>,
}

/// Measures `cell` open loop at `rate` for long enough for percentile `p`.
/// `dir` must not exist; it is removed afterwards.
pub fn measure_at(
    dir: &std::path::Path,
    cell: &Cell,
    rate: f64,
    p: Percentile,
    settings: &SearchSettings,
    stop: &AtomicBool,
) -> Result<Measured, CellError> {
    let mut workload = cell.workload.clone();
    workload.target_rate = Some(rate);
    workload.operation_count = None;
    workload.duration_secs = Some(settings.step_secs(rate, p));
    let plan = CellPlan {
        engine: cell.engine,
        policy: cell.policy,
        workload,
        warmup: Duration::ZERO,
        enospc_after_bytes: None,
        harness_ns: None,
        timeline: TimelineSettings::default(),
    };
    let m = cell::run_cell(dir, &plan, stop, None)?;
    let h = &m.latency.all;
    let ops = h.len();
    Ok(Measured {
        p_us: h.value_at_quantile(p.value() / 100.0) as f64 / 1000.0,
        ops,
        enough_tail: results::percentile_supported(ops, p.value()),
    })
}

/// The row of a finished search.
fn capacity_row(id: &CellId, budget: Budget, closed: f64, c: &Capacity) -> CapacityRow {
    let lowest = c.lowest();
    CapacityRow {
        status: c.verdict.status().to_string(),
        capacity_ops_per_sec: c.rate(),
        bracket_low_ops_per_sec: c.low,
        bracket_high_ops_per_sec: Some(c.high),
        p_at_capacity_us: c.p_at_capacity_us(),
        lowest_rate_ops_per_sec: lowest.map_or(0.0, |s| s.rate),
        p_at_lowest_us: lowest.map(|s| s.measured.p_us),
        steps: c.steps.len() as u32,
        ..identity_row(id, budget, closed)
    }
}

/// The steps of a finished search, in the order they were measured.
fn step_rows(id: &CellId, budget: Budget, c: &Capacity) -> Vec<CapacityStepRow> {
    c.steps
        .iter()
        .enumerate()
        .map(|(i, s)| CapacityStepRow {
            run_id: id.run_id.clone(),
            label: id.label.clone(),
            engine: id.engine.clone(),
            policy: id.policy.to_string(),
            workload: id.workload.clone(),
            threads: id.threads,
            percentile: budget.percentile.to_string(),
            budget_us: budget.us,
            step: i as u32 + 1,
            target_ops_per_sec: s.rate,
            p_us: s.measured.p_us,
            ops: s.measured.ops,
            enough_tail: s.measured.enough_tail,
            within: s.within,
        })
        .collect()
}

/// The cell, budget and closed-loop rate every row of a search carries.
fn identity_row(id: &CellId, budget: Budget, closed: f64) -> CapacityRow {
    CapacityRow {
        run_id: id.run_id.clone(),
        host: id.host.clone(),
        label: id.label.clone(),
        engine: id.engine.clone(),
        policy: id.policy.to_string(),
        workload: id.workload.clone(),
        threads: id.threads,
        value_size_bytes: id.value_size,
        percentile: budget.percentile.to_string(),
        budget_us: budget.us,
        closed_loop_ops_per_sec: closed,
        ..CapacityRow::default()
    }
}

fn failed_row(id: &CellId, budget: Budget, closed: f64, error: &str) -> CapacityRow {
    CapacityRow {
        status: STATUS_FAILED.to_string(),
        error: error.to_string(),
        ..identity_row(id, budget, closed)
    }
}

/// One line of the stdout table.
pub fn describe(r: &CapacityRow) -> String {
    let cell = format!("{} {} {} t{}", r.engine, r.policy, r.workload, r.threads);
    let budget = format!("{} <= {} us", r.percentile, r.budget_us);
    match (r.capacity_ops_per_sec, r.bracket_high_ops_per_sec) {
        (Some(c), Some(h)) => format!(
            "{cell:<40} {budget:<22} {c:>12.0} ops/s  [{:.0}..{h:.0}]  {} {:.0} us  (closed loop {:.0})",
            r.bracket_low_ops_per_sec.unwrap_or(c),
            r.percentile,
            r.p_at_capacity_us.unwrap_or(f64::NAN),
            r.closed_loop_ops_per_sec
        ),
        _ if r.status == STATUS_FAILED => format!("{cell:<40} {budget:<22} FAILED: {}", r.error),
        _ => format!(
            "{cell:<40} {budget:<22} {}: {} {:.0} us at {:.0} ops/s",
            r.status,
            r.percentile,
            r.p_at_lowest_us.unwrap_or(f64::NAN),
            r.lowest_rate_ops_per_sec
        ),
    }
}

/// Runs every search of the plan. Writes `environment.json`,
/// `config.json`, `runs.csv` (the closed-loop measurements) and
/// `capacity.csv` after every cell. Returns how it ended and the folder.
pub fn run(plan: &CapacityPlan, stop: &AtomicBool) -> Result<(CapacityEnd, PathBuf)> {
    let rp = &plan.run;
    let (out, env) = open_folder(plan)?;
    let guard = ScratchDir::create(&rp.disk, &env.run_id)?;
    let mut progress = Progress::new(ProgressMode::detect(rp.quiet));
    progress.set_total(rp.cells.len() * (1 + plan.budgets.len()));
    let mut runs: Vec<RunRow> = Vec::new();
    let mut capacity: Vec<CapacityRow> = Vec::new();
    let mut steps: Vec<CapacityStepRow> = Vec::new();
    let mut end = CapacityEnd::Finished;
    'cells: for (n, cell) in rp.cells.iter().enumerate() {
        let id = cell_id(&env, cell);
        let searcher = Searcher {
            plan,
            cell,
            id: &id,
            work: &guard.path().join(format!("cell-{n}")),
            stop,
        };
        progress.step(&format!("{}: closed loop", id.describe()));
        let Ok((row, closed)) = searcher.closed_loop() else {
            end = CapacityEnd::Interrupted;
            break;
        };
        runs.push(row);
        progress.advance(&format!(
            "{}: closed loop {}",
            id.describe(),
            closed
                .as_ref()
                .map_or_else(|e| format!("FAILED: {e}"), |r| format!("{r:.0} ops/s"))
        ));
        results::write_csv(&out.runs(), &runs).context("write runs.csv")?;
        for &budget in &plan.budgets {
            let row = match &closed {
                Err(e) => failed_row(&id, budget, 0.0, &format!("closed loop: {e}")),
                Ok(rate) => match searcher.search(budget, *rate, &mut progress) {
                    Ok((row, cell_steps)) => {
                        steps.extend(cell_steps);
                        row
                    }
                    Err(Interrupted) => {
                        end = CapacityEnd::Interrupted;
                        break 'cells;
                    }
                },
            };
            progress.advance(&describe(&row));
            capacity.push(row);
            results::write_csv(&out.capacity(), &capacity).context("write capacity.csv")?;
            results::write_csv(&out.capacity_steps(), &steps)
                .context("write capacity_steps.csv")?;
        }
    }
    progress.finish();
    drop(guard);
    results::write_csv_with_header(&out.capacity(), &capacity).context("write capacity.csv")?;
    for r in &capacity {
        outln!("{}", describe(r))?;
    }
    Ok((end, out.root().to_path_buf()))
}

/// Makes the results folder and writes what is known before the first
/// cell: `environment.json` (whose `run_id` and `label` the rows carry),
/// `config.json` and `skipped.csv`.
fn open_folder(plan: &CapacityPlan) -> Result<(results::ResultsDir, Environment)> {
    let rp = &plan.run;
    let host = Environment::capture(None).host;
    let run_id = output::folder::run_id(&host);
    let out = output::folder::fresh_results_dir(&rp.out, &host, "capacity")?;
    let mut env = crate::support::build_info::environment(Some(&rp.disk));
    env.run_id = run_id.clone();
    env.label = rp.label.clone().unwrap_or(host);
    env.command = rp.command_line.clone();
    env.started_utc = output::folder::utc_now();
    results::write_json(&out.environment(), &env)?;
    results::write_json(
        &out.config(),
        &CapacityConfig {
            command: &rp.command_line,
            run_id: &run_id,
            budgets: &plan.budgets,
            search: &plan.search,
            closed_loop_duration_s: rp.workloads.first().and_then(|w| w.spec.duration_secs),
            workloads: rp.specs(),
        },
    )?;
    results::write_csv_with_header(&out.skipped(), &rp.skipped)?;
    Ok((out, env))
}

/// The identity of a cell's rows in this run.
fn cell_id(env: &Environment, cell: &Cell) -> CellId {
    CellId {
        run_id: env.run_id.clone(),
        host: env.host.clone(),
        label: env.label.clone(),
        engine: cell.engine.name.to_string(),
        policy: cell.policy,
        workload: cell.workload.name.clone(),
        threads: cell.workload.threads as u32,
        key_size: cell.workload.key_size as u64,
        value_size: cell.workload.value_size.mean() as u64,
        seed: cell.workload.seed,
    }
}

/// A signal stopped the measurement; the rows so far are kept.
struct Interrupted;

/// The searches of one cell: its closed loop, then one search per budget,
/// each measurement in a fresh directory under `work`.
struct Searcher<'a> {
    plan: &'a CapacityPlan,
    cell: &'a Cell,
    id: &'a CellId,
    work: &'a std::path::Path,
    stop: &'a AtomicBool,
}

impl Searcher<'_> {
    /// The closed-loop measurement: its `runs.csv` row, and its throughput
    /// (the top of every search) or why it failed.
    fn closed_loop(&self) -> Result<(RunRow, Result<f64, String>), Interrupted> {
        let rp = &self.plan.run;
        let closed_plan = CellPlan {
            engine: self.cell.engine,
            policy: self.cell.policy,
            workload: self.cell.workload.clone(),
            warmup: rp.warmup,
            enospc_after_bytes: None,
            harness_ns: None,
            timeline: rp.timeline,
        };
        match cell::run_cell(self.work, &closed_plan, self.stop, None) {
            Ok(m) => {
                let row = rows::run_row(self.id, &m, &RowContext::default());
                let rate = row.ops_per_sec;
                Ok((row, Ok(rate)))
            }
            Err(CellError::Interrupted) => Err(Interrupted),
            Err(e) => {
                let mut row = self.id.row();
                row.status = rows::CellStatus::Failed.to_string();
                row.error = e.to_string();
                let error = row.error.clone();
                Ok((row, Err(error)))
            }
        }
    }

    /// The search under one budget, below the closed-loop rate `closed`:
    /// its `capacity.csv` row and its steps.
    fn search(
        &self,
        budget: Budget,
        closed: f64,
        progress: &mut Progress,
    ) -> Result<(CapacityRow, Vec<CapacityStepRow>), Interrupted> {
        let settings = &self.plan.search;
        let bounds = Bounds {
            low: settings.lowest_rate(closed, budget.percentile),
            high: closed,
            steps: settings.steps,
            budget_us: budget.us,
        };
        let mut k = 0;
        let found = search(bounds, |r| {
            k += 1;
            progress.step(&format!(
                "{} {budget}: step {k}, {r:.0} ops/s",
                self.id.describe()
            ));
            let step = format!("{}-{}-{k}", self.work.display(), budget.percentile);
            let dir = PathBuf::from(step);
            measure_at(&dir, self.cell, r, budget.percentile, settings, self.stop)
        });
        match found {
            Ok(c) => Ok((
                capacity_row(self.id, budget, closed, &c),
                step_rows(self.id, budget, &c),
            )),
            Err(CellError::Interrupted) => Err(Interrupted),
            Err(e) => Ok((
                failed_row(self.id, budget, closed, &e.to_string()),
                Vec::new(),
            )),
        }
    }
}

/// The `capacity` command: runs the plan, draws the report, prints the
/// folder last. Exit 0 when every cell was searched, whatever the cells'
/// verdicts (a cell missing its budget is a result).
pub fn command(plan: &CapacityPlan) -> Result<u8> {
    for n in &plan.run.notes {
        eprintln!("note: {n}");
    }
    let signals = crate::support::signals::Signals::install()?;
    let (end, out) = run(plan, signals.stop_flag())?;
    match end {
        CapacityEnd::Finished => {
            if plan.run.plots {
                if let Err(e) = crate::commands::plot::plot(&out, None, None) {
                    eprintln!(
                        "bench-runner: charts and report not drawn: {}",
                        crate::error_chain(&e)
                    );
                }
            }
            crate::output::store::add_finished(plan.run.store.as_deref(), &out)?;
            outln!("{}", out.display())?;
            Ok(0)
        }
        CapacityEnd::Interrupted => {
            crate::output::store::not_added(plan.run.store.as_deref(), &out);
            let sig = signals
                .received()
                .unwrap_or(crate::support::signals::StopSignal::Int);
            eprintln!(
                "bench-runner: stopped by {}; finished searches are in {}",
                sig.name(),
                out.display()
            );
            outln!("{}", out.display())?;
            Ok(sig.exit_code())
        }
    }
}
