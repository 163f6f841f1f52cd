//! `bench-runner crash`: the durability verification table.
//!
//! On the simulated filesystem (profiles `posix` and `linux`), every engine
//! x policy line runs seeded crash trials (the `crashcheck` crate). With
//! `--kill --disk DIR`, each engine runs in a child process on the real
//! disk, driven over the line protocol; the child is SIGKILLed at a seeded
//! operation, a new child recovers, and every acknowledged write must have
//! survived (a process crash keeps everything that reached the kernel, so
//! this holds under every policy, `none` included). `--exec CMD` drives an
//! external program the same way. With `--fs fuse` ([`fuse`]), the same
//! child processes (every engine, the reference engines included, or the
//! `--exec` program) write through a FUSE mount of the simulated
//! filesystem, which is power-cut between the kill and the restart.
//!
//! Every child is started as the leader of its own process group and
//! killed with everything it started ([`crashcheck::kill`]): a shell or
//! wrapper that forks the engine must not leave it running through the
//! power cut. The command line becomes a [`CrashPlan`] in `main`, checked
//! before any trial; nothing here sees clap's types.

mod exhaustive;
pub mod fuse;
pub mod fuse_concurrent;
mod plan;
mod process;
mod table;

use crate::output::progress::{Progress, ProgressMode};

use std::path::Path;

use anyhow::{bail, Context, Result};
use crashcheck::process::{run_process_trial, ProcessTrial};
use crashcheck::{classify, run_trial, LineSpec, TrialSpec};
use engines::fs::Faults;
use engines::EngineInfo;
use results::CrashRow;

pub use plan::{profiles, CrashPlan, Target};
pub use process::{child, kill_seed, ChildEngine, PROCESS_KILL};
pub use table::{likely_fix, replay_command, ReplayContext, LEGEND};

pub use crate::cli::crash::{CrashArgs, CrashChildArgs, FsArg, ProfileArg};

/// Runs `crash`; returns the exit code (1 when a promise was broken).
pub fn run(plan: &CrashPlan) -> Result<u8> {
    if let Some(seed) = plan.replay {
        return replay(plan, seed);
    }
    // Stop signals end a FUSE run after the current trial, mounts undone.
    let signals = match &plan.target {
        Target::Fuse(..) => Some(crate::support::signals::Signals::install_patient()?),
        _ => None,
    };
    let mut interrupted = false;
    let mut progress = Progress::new(ProgressMode::detect(plan.quiet));
    let env = crate::support::build_info::environment(plan.disk.as_deref());
    let out = crate::output::folder::results_dir(plan.out.as_deref(), &env.host, "crash")?;
    let rows = match &plan.target {
        Target::Kill(children, disk) => {
            let run_id = crate::output::folder::run_id(&env.host);
            let work = crate::commands::run::prepare_disk(disk, &run_id)?;
            let result: Result<Vec<CrashRow>> = children
                .iter()
                .map(|c| process::kill_line(&work, c, plan.trials, plan.seed, plan.ops, &progress))
                .collect();
            let _ = std::fs::remove_dir_all(&work);
            result?
        }
        Target::Fuse(children, disk) => {
            let stop = signals
                .as_ref()
                .map(|s| s.stop_flag())
                .context("stop signals not installed")?;
            let run_id = crate::output::folder::run_id(&env.host);
            let work = crate::commands::run::prepare_disk(disk, &run_id)?;
            let (rows, done) = fuse_lines(plan, children, &work, stop, &progress);
            let _ = std::fs::remove_dir_all(&work);
            interrupted = !done?;
            rows
        }
        Target::Sim(engines) => match plan.exhaustive {
            Some(depth) => exhaustive::lines(plan, depth, engines, &progress),
            None => sim_lines(plan, engines, &progress),
        },
    };
    progress.finish();
    let mut env = env;
    env.command = plan.command_line.clone();
    env.started_utc = crate::output::folder::utc_now();
    env.label = plan.label.clone().unwrap_or_else(|| env.host.clone());
    env.run_id = crate::output::folder::run_id(&env.host);
    // Added to an existing run's folder, the run's own environment stays.
    if !out.environment().exists() {
        results::write_json(&out.environment(), &env)?;
    }
    results::write_csv(&out.crash(), &rows)?;
    table::print(&rows, &plan.replay_context)?;
    // The folder's report now has a crash section (or a new one).
    if let Err(e) = crate::commands::plot::plot(out.root(), None, None) {
        eprintln!("bench-runner: report not redrawn: {e:#}");
    }
    if interrupted {
        let sig = signals
            .as_ref()
            .and_then(|s| s.received())
            .unwrap_or(crate::support::signals::StopSignal::Int);
        eprintln!(
            "bench-runner: stopped by {}; every FUSE mount was undone; the finished lines are in the table above",
            sig.name()
        );
        crate::output::store::not_added(plan.store.as_deref(), out.root());
        return Ok(sig.exit_code());
    }
    let broken = rows.iter().filter(|r| !r.promise_kept).count();
    if broken > 0 {
        eprintln!(
            "bench-runner: {broken} line(s) broke their promise; each BROKEN line above shows the command that replays it"
        );
    }
    crate::output::store::add_finished(plan.store.as_deref(), out.root())?;
    outln!("{}", out.root().display())?;
    Ok(if broken > 0 {
        crate::EXIT_CHECK_FAILED
    } else {
        0
    })
}

/// The FUSE lines, each engine on each profile, until done or stopped;
/// the rows finished so far, and whether every line finished (an error
/// after some lines still returns those).
fn fuse_lines(
    plan: &CrashPlan,
    children: &[ChildEngine],
    work: &Path,
    stop: &std::sync::atomic::AtomicBool,
    progress: &Progress,
) -> (Vec<CrashRow>, Result<bool>) {
    let run = fuse::FuseRun {
        work,
        trials: plan.trials,
        base_seed: plan.seed,
        ops: plan.ops,
        fsync_eio: plan.fsync_eio,
        progress: progress.clone(),
    };
    let mut rows = Vec::new();
    for child in children {
        for &profile in &plan.profiles {
            match run.line(child, profile, stop) {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => return (rows, Ok(false)),
                Err(e) => return (rows, Err(e)),
            }
        }
    }
    // Concurrent lines, as in process: where an acknowledgement means durable.
    if plan.threads > 0 && plan.concurrent_trials > 0 {
        for child in children
            .iter()
            .filter(|c| fuse_concurrent::runs_concurrent(c))
        {
            for &profile in &plan.profiles {
                let threads = plan.threads;
                let trials = plan.concurrent_trials;
                match fuse_concurrent::concurrent_line(&run, child, profile, threads, trials, stop)
                {
                    Ok(Some(row)) => rows.push(row),
                    Ok(None) => return (rows, Ok(false)),
                    Err(e) => return (rows, Err(e)),
                }
            }
        }
    }
    (rows, Ok(true))
}

fn sim_lines(
    plan: &CrashPlan,
    engines: &[&'static EngineInfo],
    progress: &Progress,
) -> Vec<CrashRow> {
    let line = |engine, policy, profile, trials| LineSpec {
        engine,
        policy,
        profile,
        trials,
        base_seed: plan.seed,
        ops: plan.ops,
        broken_sync: plan.broken_sync,
    };
    let mut rows = Vec::new();
    for &info in engines {
        for &policy in &plan.policies {
            for &profile in &plan.profiles {
                progress.step(&format!("{} {} {} ...", info.name, policy, profile.name()));
                rows.push(crashcheck::run_line(&line(
                    info,
                    policy,
                    profile,
                    plan.trials,
                )));
            }
        }
    }
    // Concurrent lines: only where an acknowledgement means durable, so
    // that acknowledgements from several threads need no common order.
    let concurrent = plan.concurrent_trials;
    if plan.threads > 0 && concurrent > 0 {
        for &info in engines {
            for &policy in plan
                .policies
                .iter()
                .filter(|p| p.max_lost_writes() == Some(0))
            {
                for &profile in &plan.profiles {
                    progress.step(&format!(
                        "{} {} {} {} threads ...",
                        info.name,
                        policy,
                        profile.name(),
                        plan.threads
                    ));
                    let l = line(info, policy, profile, concurrent);
                    rows.push(crashcheck::run_concurrent_line(&l, plan.threads));
                }
            }
        }
    }
    rows
}

/// `--replay SEED`: one trial with its trace.
fn replay(plan: &CrashPlan, seed: u64) -> Result<u8> {
    let profile = plan.profiles[0];
    let o = match &plan.target {
        Target::Sim(engines) => {
            let Some(&policy) = plan.policies.first() else {
                bail!("--replay needs a policy");
            };
            let spec = TrialSpec {
                engine: engines[0],
                policy,
                profile,
                seed,
                ops: plan.ops,
                broken_sync: plan.broken_sync,
                faults: Faults::default(),
            };
            outln!(
                "replay: engine {} policy {policy} profile {} seed {seed}",
                spec.engine.name,
                profile.name()
            )?;
            let o = run_trial(&spec, true);
            let traced = o.trace.clone();
            let mut o = classify(&spec, o, |s| run_trial(s, false));
            o.trace = traced;
            o
        }
        Target::Fuse(children, disk) => {
            let child = &children[0];
            outln!(
                "replay: {} promise {} {} seed {seed}",
                child.name,
                child.promise,
                fuse::profile_label(profile)
            )?;
            let Some(i) = fuse::trial_index(plan.seed, profile, seed) else {
                bail!("seed {seed} is not a trial of --seed {} on {}: give the --seed of the run that printed it", plan.seed, fuse::profile_label(profile));
            };
            let env_host = results::Environment::capture(None).host;
            let work = crate::commands::run::prepare_disk(
                disk,
                &crate::output::folder::run_id(&env_host),
            )?;
            let r = fuse::classified_trial(
                child,
                profile,
                &work.join("mnt"),
                seed,
                i,
                plan.ops,
                plan.fsync_eio,
            );
            let _ = std::fs::remove_dir_all(&work);
            r?
        }
        Target::Kill(children, disk) => {
            let child = &children[0];
            outln!(
                "replay: {} promise {} process-kill seed {seed}",
                child.name,
                child.promise
            )?;
            let env_host = results::Environment::capture(None).host;
            let work = crate::commands::run::prepare_disk(
                disk,
                &crate::output::folder::run_id(&env_host),
            )?;
            let dir = work.join("replay");
            let r = std::fs::create_dir_all(&dir)
                .with_context(|| format!("create {}", dir.display()))
                .and_then(|()| {
                    let t = ProcessTrial {
                        launch: &child.launch,
                        dir: &dir,
                        promise: child.promise,
                        seed,
                        ops: plan.ops,
                    };
                    run_process_trial(&t, None).map_err(anyhow::Error::from)
                });
            let _ = std::fs::remove_dir_all(&work);
            r?
        }
    };
    for line in &o.trace {
        outln!("  {line}")?;
    }
    outln!(
        "acknowledged {}, lost {}, files lost {}, corrupt reads {}, recovery: {}",
        o.acked,
        o.lost,
        o.files_lost,
        o.corrupt_reads,
        o.recovery_failure.as_deref().unwrap_or("ok")
    )?;
    let verdict = match (&o.violation, &o.excused) {
        (Some(v), _) => format!("BROKEN: {v}"),
        (None, Some(v)) => format!(
            "lost (no dir sync: expected): {v}; with durable names (the linux profile) the same trial keeps its promise"
        ),
        (None, None) if o.lost > 0 => "lost (no sync: expected)".to_string(),
        (None, None) => "promise kept".to_string(),
    };
    outln!("verdict: {verdict}")?;
    Ok(if o.violation.is_some() {
        crate::EXIT_CHECK_FAILED
    } else {
        0
    })
}
