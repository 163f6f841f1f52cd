//! `bench-runner recovery`: how long each engine takes to come back, after
//! a clean close and after a SIGKILL, against the size of its data.
//!
//! Each measurement is three child processes on a fresh folder under
//! `--disk` ([`child`]): one loads the first keys under the engine's
//! weakest policy and syncs; one writes the last `--tail` keys under the
//! measured policy over `crash-child`'s line protocol and is closed, or
//! SIGKILLed during those writes ([`crashcheck::kill`], as `crash --kill`
//! does); a fresh one times the reopen plus the read of the last
//! acknowledged key, then reports every key, which is checked against the
//! acknowledged writes ([`crashcheck::recovery`]). The clean and the killed
//! measurement are separate loads with the same seed. Cells run
//! interleaved over `--repeat` rounds ([`crate::measure::schedule`]); rows are
//! medians with 95% intervals, rewritten after every measurement.

pub mod child;
mod measure;
pub mod plan;

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use results::RecoveryRow;

use crate::output::progress::{Progress, ProgressMode};
pub use child::child;
pub use measure::{ChildOptions, Ending, Measurement};
pub use plan::{RecoveryCell, RecoveryPlan};

/// The measurements of one cell so far.
#[derive(Debug, Default)]
struct CellResults {
    clean: Vec<Measurement>,
    kill: Vec<Measurement>,
}

/// Runs `recovery`; returns the exit code (1 when a recovered state failed
/// the check).
pub fn run(plan: &RecoveryPlan) -> Result<u8> {
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    let mut env = crate::support::build_info::environment(Some(&plan.disk));
    let out = crate::output::folder::results_dir(plan.out.as_deref(), &env.host, "recovery")?;
    let run_id = crate::output::folder::run_id(&env.host);
    let label = plan.label.clone().unwrap_or_else(|| env.host.clone());
    env.command = plan.command_line.clone();
    env.started_utc = crate::output::folder::utc_now();
    env.label = label.clone();
    env.run_id = run_id.clone();
    // Added to an existing run's folder, the run's own environment stays.
    if !out.environment().exists() {
        results::write_json(&out.environment(), &env)?;
    }
    let work = crate::commands::run::prepare_disk(&plan.disk, &run_id)?;
    let opts = ChildOptions {
        exe: std::env::current_exe()
            .context("find bench-runner's own executable")?
            .into_os_string(),
        value_size: plan.value_size,
        drop_after: plan.test_drop_after,
        cold: plan.cold,
    };
    let signals = crate::support::signals::Signals::install()?;
    let stop = signals.stop_flag();
    let mut progress = Progress::new(ProgressMode::detect(plan.quiet));
    let slots =
        crate::measure::schedule::interleaved(plan.cells.len(), plan.repeat, plan.order_seed);
    progress.set_total(slots.len());
    let mut done: BTreeMap<usize, CellResults> = BTreeMap::new();
    let mut result = Ok(());
    for slot in &slots {
        if stop.load(std::sync::atomic::Ordering::Relaxed) {
            break;
        }
        let cell = &plan.cells[slot.cell];
        let seed = measure::kill_seed(plan.seed, cell, slot.round);
        progress.step(&format!(
            "{} {} {} keys, round {}",
            cell.info.name,
            cell.policy,
            cell.keys,
            slot.round + 1
        ));
        let r = [Ending::Clean, Ending::Kill].iter().try_for_each(|&e| {
            let dir = work.join(format!("{}-{}-{:?}", cell.slug(), slot.round, e));
            let m = measure::measure(&opts, cell, &dir, seed, e)?;
            let c = done.entry(slot.cell).or_default();
            match e {
                Ending::Clean => c.clean.push(m),
                Ending::Kill => c.kill.push(m),
            }
            Ok::<_, anyhow::Error>(())
        });
        if let Err(e) = r {
            // A child killed by the same Ctrl-C is the stop, not a failure.
            if !stop.load(std::sync::atomic::Ordering::Relaxed) {
                result = Err(e);
            }
            break;
        }
        let rows = rows(plan, &done, &run_id, &label);
        results::write_csv(&out.recovery(), &rows).context("write recovery.csv")?;
        progress.advance("done");
    }
    progress.finish();
    let _ = std::fs::remove_dir_all(&work);
    result?;
    let rows = rows(plan, &done, &run_id, &label);
    if let Some(sig) = signals.received() {
        // Every finished measurement is kept.
        results::write_csv(&out.recovery(), &rows).context("write recovery.csv")?;
        eprintln!(
            "bench-runner: stopped by {}; finished measurements are in {}",
            sig.name(),
            out.root().display()
        );
        crate::output::store::not_added(plan.store.as_deref(), out.root());
        outln!("{}", out.root().display())?;
        return Ok(sig.exit_code());
    }
    print_table(&rows)?;
    if let Err(e) = crate::commands::plot::plot(out.root(), None, None) {
        eprintln!(
            "bench-runner: report not redrawn: {}",
            crate::error_chain(&e)
        );
    }
    crate::output::store::add_finished(plan.store.as_deref(), out.root())?;
    outln!("{}", out.root().display())?;
    let failed = rows.iter().filter(|r| !r.recovered_ok).count();
    if failed > 0 {
        eprintln!("bench-runner: {failed} line(s) recovered a state that lost acknowledged writes or invented values");
        return Ok(crate::EXIT_CHECK_FAILED);
    }
    Ok(0)
}

/// Key and value bytes of keys `0..keys` (keys and short values grow
/// with the key's digits).
fn data_bytes(keys: u64, value_size: u64) -> u64 {
    (0..keys)
        .map(|k| (crashcheck::key_bytes(k).len() + child::value(k, value_size).len()) as u64)
        .sum()
}

fn median_u64(v: &[Option<u64>]) -> Option<u64> {
    let xs: Vec<f64> = v.iter().flatten().map(|&x| x as f64).collect();
    results::median(&xs).map(|m| m.round() as u64)
}

fn rows(
    plan: &RecoveryPlan,
    done: &BTreeMap<usize, CellResults>,
    run_id: &str,
    label: &str,
) -> Vec<RecoveryRow> {
    done.iter()
        .map(|(&i, c)| {
            let cell = &plan.cells[i];
            let times = |ms: &[Measurement]| {
                let t: Vec<f64> = ms.iter().filter_map(|m| m.reopen_ms).collect();
                let ci = results::median_interval(&t);
                (results::median(&t), ci.map(|c| c.low), ci.map(|c| c.high))
            };
            let (clean, clean_lo, clean_hi) = times(&c.clean);
            let (kill, kill_lo, kill_hi) = times(&c.kill);
            let all = c.clean.iter().chain(&c.kill);
            let problem = all
                .clone()
                .find_map(|m| {
                    m.check
                        .violation
                        .clone()
                        .or_else(|| (!m.check.ok()).then(|| format!("{:?}", m.check)))
                })
                .unwrap_or_default();
            RecoveryRow {
                run_id: run_id.to_string(),
                label: label.to_string(),
                engine: cell.info.name.to_string(),
                policy: cell.policy.to_string(),
                keys: cell.keys,
                data_bytes: data_bytes(cell.keys, plan.value_size),
                tail_writes: cell.tail,
                log_bytes_at_kill: median_u64(
                    &c.kill.iter().map(|m| m.log_bytes).collect::<Vec<_>>(),
                ),
                repetitions: c.clean.len().min(c.kill.len()) as u64,
                reopen_clean_ms: clean,
                reopen_clean_ms_ci_low: clean_lo,
                reopen_clean_ms_ci_high: clean_hi,
                reopen_after_kill_ms: kill,
                reopen_after_kill_ms_ci_low: kill_lo,
                reopen_after_kill_ms_ci_high: kill_hi,
                bytes_replayed: median_u64(
                    &c.kill.iter().map(|m| m.bytes_read).collect::<Vec<_>>(),
                ),
                bytes_replayed_clean: median_u64(
                    &c.clean.iter().map(|m| m.bytes_read).collect::<Vec<_>>(),
                ),
                page_cache: if plan.cold { "cold" } else { "warm" }.to_string(),
                recovered_ok: all.clone().all(|m| m.check.ok()),
                lost_writes: all.map(|m| m.check.lost).sum(),
                problem,
            }
        })
        .collect()
}

fn print_table(rows: &[RecoveryRow]) -> std::io::Result<()> {
    let ms = |x: Option<f64>| x.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
    let bytes = |x: Option<u64>| x.map(|v| v.to_string()).unwrap_or_else(|| "-".into());
    outln!(
        "{:<8} {:<12} {:>9} {:>12} {:>14} {:>12} {:>14} {:>10}",
        "engine",
        "policy",
        "keys",
        "clean ms",
        "after kill ms",
        "log bytes",
        "bytes read",
        "recovered"
    )?;
    for r in rows {
        outln!(
            "{:<8} {:<12} {:>9} {:>12} {:>14} {:>12} {:>14} {:>10}",
            r.engine,
            r.policy,
            r.keys,
            ms(r.reopen_clean_ms),
            ms(r.reopen_after_kill_ms),
            bytes(r.log_bytes_at_kill),
            bytes(r.bytes_replayed),
            if r.recovered_ok { "ok" } else { "LOST" }
        )?;
    }
    Ok(())
}
