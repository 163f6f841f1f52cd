//! `bench-runner probe`: the disk's own ceilings, written as a results
//! folder of their own (the measurement is in [`crate::measure::probe`]).

use anyhow::{Context, Result};

use crate::cli::plan::ProbeJob;
use crate::measure::probe;
use crate::output::{self, progress, table};
use crate::support::{build_info, scratch};

/// Measures the ceilings `job` asks for and writes them to a new folder.
pub fn command(job: &ProbeJob) -> Result<u8> {
    let mut env = results::Environment::capture(None);
    let out = output::folder::fresh_results_dir(&job.out, &env.host, "probe")?;
    let run_id = output::folder::run_id(&env.host);
    let work = scratch::ScratchDir::create(&job.disk, &run_id)?;
    let label = job.label.clone().unwrap_or_else(|| env.host.clone());
    env = build_info::environment(Some(&job.disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = job.command_line.clone();
    env.started_utc = output::folder::utc_now();
    results::write_json(&out.environment(), &env)?;
    let policies: Vec<engines::SyncPolicy> = ["none", "always", "batch:32", "always@fsync"]
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let mut plan = probe::plan_for(
        &policies,
        job.record_sizes.iter().copied(),
        &job.threads,
        false,
        env.disk.as_ref(),
    );
    plan.min_time = job.per_pattern;
    let mut progress = progress::Progress::new(progress::ProgressMode::detect(job.quiet));
    let rows = probe::run(&work.path().join("probe"), &plan, |m| progress.step(m));
    progress.finish();
    drop(work);
    let mut rows = rows?;
    for r in &mut rows {
        r.run_id = run_id.clone();
        r.label = label.clone();
    }
    results::write_csv(&out.probe(), &rows).context("write probe.csv")?;
    let mut warnings = results::Warnings::of_disk(&env);
    warnings.extend(results::Warnings::of_probe(&rows));
    super::plot::print_warnings(&warnings);
    outln!("{}", table::probe_table(&rows))?;
    output::store::add_finished(job.store.as_deref(), out.root())?;
    outln!("{}", out.root().display())?;
    Ok(0)
}
