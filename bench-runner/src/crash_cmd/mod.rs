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

pub mod fuse;
mod process;
mod table;

use crate::progress::{Progress, ProgressMode};

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use crashcheck::process::{run_process_trial, Launch, ProcessTrial};
use crashcheck::{classify, run_trial, LineSpec, TrialSpec};
use engines::fs::{Faults, Profile};
use engines::{EngineInfo, SyncPolicy};
use results::CrashRow;

pub use process::{child, kill_seed, ChildEngine, PROCESS_KILL};
pub use table::{likely_fix, replay_command, ReplayContext, LEGEND};

pub use crate::crash_args::{CrashArgs, CrashChildArgs, FsArg, ProfileArg};

fn profiles(p: ProfileArg) -> Vec<Profile> {
    match p {
        ProfileArg::Posix => vec![Profile::Posix],
        ProfileArg::Linux | ProfileArg::Ext4Ordered => vec![Profile::EXT4_ORDERED],
        ProfileArg::Xfs => vec![Profile::Xfs],
        ProfileArg::Btrfs => vec![Profile::Btrfs],
        ProfileArg::Ext4Journal => vec![Profile::Ext4Journal],
        ProfileArg::Both => vec![Profile::Posix, Profile::Linux],
        ProfileArg::All => Profile::ALL.to_vec(),
    }
}

/// What a `crash` invocation will test, validated before any trial.
#[derive(Debug)]
enum Target {
    /// Our engines on the simulated filesystem.
    Sim(Vec<&'static EngineInfo>),
    /// Child processes killed on a real disk.
    Kill(Vec<ChildEngine>, PathBuf),
    /// Child processes power-cut on a FUSE mount of the simulator, with
    /// the mount's scratch folder.
    Fuse(Vec<ChildEngine>, PathBuf),
}

/// Parses `--exec-promise`: a claim, so only the modes (`+dir` and `@fsync`
/// describe our engines' settings, not what a program promises).
fn exec_promise(text: Option<&str>) -> Result<SyncPolicy> {
    let Some(text) = text else {
        bail!("--exec needs --exec-promise none|always|batch:N: what the program claims an `ok` means");
    };
    let p: SyncPolicy = text
        .parse()
        .with_context(|| format!("--exec-promise {text}"))?;
    if p.dir_sync || text.contains('@') {
        bail!("--exec-promise {text}: give only what the program claims (none, always or batch:N); +dir and @fsync are settings of this suite's engines");
    }
    Ok(p)
}

fn exec_selector(args: &CrashArgs) -> Option<String> {
    args.exec.as_ref().map(|cmd| {
        format!(
            " --exec {} --exec-promise {}",
            table::shell_quote(cmd),
            args.exec_promise.as_deref().unwrap_or("?")
        )
    })
}

fn target(args: &CrashArgs) -> Result<Target> {
    if args.trials == Some(0) {
        bail!("--trials 0 runs nothing: give at least 1");
    }
    if args.ops == 0 {
        bail!("--ops must be at least 1");
    }
    let fuse = args.fs == FsArg::Fuse;
    if args.fsync_eio && !fuse {
        bail!("--fsync-eio answers a FUSE fsync request with EIO: it needs --fs fuse");
    }
    if fuse {
        if args.kill {
            bail!("--fs fuse power-cuts child processes itself: drop --kill");
        }
        simfuse::fuse_available().context(
            "--fs fuse mounts the simulated filesystem through FUSE, which needs /dev/fuse and root",
        )?;
    }
    let fuse_disk = || args.disk.clone().unwrap_or_else(std::env::temp_dir);
    if let Some(cmd) = &args.exec {
        if !args.engines.is_empty() || !args.policies.is_empty() {
            bail!("--exec tests one external program under its --exec-promise: drop --engines and --policies");
        }
        if cmd.trim().is_empty() {
            bail!("--exec needs a command");
        }
        let promise = exec_promise(args.exec_promise.as_deref())?;
        let engine = ChildEngine {
            name: "exec".into(),
            launch: Launch::shell(cmd),
            promise,
            dir_sync_optional: false,
        };
        if fuse {
            return Ok(Target::Fuse(vec![engine], fuse_disk()));
        }
        let Some(disk) = &args.disk else {
            bail!("--exec needs --disk DIR: the program writes its data to a real disk");
        };
        return Ok(Target::Kill(vec![engine], disk.clone()));
    }
    let engines = crate::run::resolve_engines(&args.engines)?;
    let policies = crate::run::resolve_policies(&args.policies)?;
    if args.kill || fuse {
        let mut children = Vec::new();
        for &info in &engines {
            for &policy in &policies {
                match (info.supports)(&policy) {
                    Ok(()) => children.push(ChildEngine::builtin(info, policy)?),
                    Err(why) if !args.policies.is_empty() => {
                        eprintln!("note: {} {policy} skipped: {why}", info.name);
                    }
                    Err(_) => {}
                }
            }
        }
        if children.is_empty() {
            bail!("no engine given supports any policy given: nothing to run");
        }
        if fuse {
            return Ok(Target::Fuse(children, fuse_disk()));
        }
        let Some(disk) = &args.disk else {
            bail!("--kill needs --disk DIR (process crashes are checked on a real disk)");
        };
        return Ok(Target::Kill(children, disk.clone()));
    }
    let (reachable, unreachable): (Vec<_>, Vec<_>) = engines.iter().partition(|e| e.uses_vfs);
    let names = |v: &[&&EngineInfo]| v.iter().map(|e| e.name).collect::<Vec<_>>().join(", ");
    if reachable.is_empty() {
        bail!(
            "nothing to check: {} do(es) its own file I/O, which the simulated filesystem cannot reach. \
             Check process crashes with `crash --kill --disk DIR --engines {}`; power cuts for such engines need \
             the FUSE mode (`crash --fs fuse`)",
            names(&unreachable),
            engines.iter().map(|e| e.name).collect::<Vec<_>>().join(",")
        );
    }
    for info in &unreachable {
        eprintln!(
            "note: {} does its own I/O, which the simulated filesystem cannot reach; check it with --kill --disk DIR",
            info.name
        );
    }
    Ok(Target::Sim(reachable.into_iter().copied().collect()))
}

/// Runs `crash`; returns the exit code (1 when a promise was broken).
pub fn run(args: &CrashArgs, command_line: &str) -> Result<u8> {
    let target = target(args)?;
    let policies = if args.exec.is_some() {
        Vec::new()
    } else {
        crate::run::resolve_policies(&args.policies)?
    };
    let ctx = ReplayContext {
        exec: exec_selector(args),
        disk: args.disk.clone(),
        ops: args.ops,
        seed: args.seed,
    };
    if let Some(seed) = args.replay {
        return replay(args, &target, &policies, seed);
    }
    // Stop signals end a FUSE run after the current trial, mounts undone.
    let signals = match &target {
        Target::Fuse(..) => Some(crate::signals::Signals::install_patient()?),
        _ => None,
    };
    let mut interrupted = false;
    let mut progress = Progress::new(ProgressMode::detect(args.output.quiet));
    let env = results::Environment::capture(args.disk.as_deref());
    let out = crate::output::results_dir(args.output.out.as_deref(), &env.host, "crash")?;
    let rows = match &target {
        Target::Kill(children, disk) => {
            let run_id = crate::output::run_id(&env.host);
            let work = crate::run::prepare_disk(disk, &run_id)?;
            let trials = args.trials.unwrap_or(10);
            let result: Result<Vec<CrashRow>> = children
                .iter()
                .map(|c| process::kill_line(&work, c, trials, args.seed, args.ops, &progress))
                .collect();
            let _ = std::fs::remove_dir_all(&work);
            result?
        }
        Target::Fuse(children, disk) => {
            let stop = signals
                .as_ref()
                .map(|s| s.stop_flag())
                .context("stop signals not installed")?;
            let run_id = crate::output::run_id(&env.host);
            let work = crate::run::prepare_disk(disk, &run_id)?;
            let (rows, done) = fuse_lines(args, children, &work, stop, &progress);
            let _ = std::fs::remove_dir_all(&work);
            interrupted = !done?;
            rows
        }
        Target::Sim(engines) => sim_lines(args, engines, &policies, &progress),
    };
    progress.finish();
    let mut env = env;
    env.command = command_line.to_string();
    env.started_utc = crate::output::utc_now();
    env.label = args
        .output
        .label
        .clone()
        .unwrap_or_else(|| env.host.clone());
    // Added to an existing run's folder, the run's own environment stays.
    if !out.environment().exists() {
        results::write_json(&out.environment(), &env)?;
    }
    results::write_csv(&out.crash(), &rows)?;
    table::print(&rows, &ctx);
    // The folder's report now has a crash section (or a new one).
    if let Err(e) = crate::report::plot(out.root(), None) {
        eprintln!("bench-runner: report not redrawn: {e:#}");
    }
    if interrupted {
        let sig = signals
            .as_ref()
            .and_then(|s| s.received())
            .unwrap_or(crate::signals::StopSignal::Int);
        eprintln!(
            "bench-runner: stopped by {}; every FUSE mount was undone; the finished lines are in the table above",
            sig.name()
        );
        return Ok(sig.exit_code());
    }
    let broken = rows.iter().filter(|r| !r.promise_kept).count();
    if broken > 0 {
        eprintln!(
            "bench-runner: {broken} line(s) broke their promise; each BROKEN line above shows the command that replays it"
        );
    }
    println!("{}", out.root().display());
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
    args: &CrashArgs,
    children: &[ChildEngine],
    work: &Path,
    stop: &std::sync::atomic::AtomicBool,
    progress: &Progress,
) -> (Vec<CrashRow>, Result<bool>) {
    let run = fuse::FuseRun {
        work,
        trials: args.trials.unwrap_or(20),
        base_seed: args.seed,
        ops: args.ops,
        fsync_eio: args.fsync_eio,
        progress: progress.clone(),
    };
    let mut rows = Vec::new();
    for child in children {
        for profile in profiles(args.profile) {
            match run.line(child, profile, stop) {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => return (rows, Ok(false)),
                Err(e) => return (rows, Err(e)),
            }
        }
    }
    (rows, Ok(true))
}

fn sim_lines(
    args: &CrashArgs,
    engines: &[&'static EngineInfo],
    policies: &[SyncPolicy],
    progress: &Progress,
) -> Vec<CrashRow> {
    let trials = args.trials.unwrap_or(500);
    let line = |engine, policy, profile, trials| LineSpec {
        engine,
        policy,
        profile,
        trials,
        base_seed: args.seed,
        ops: args.ops,
        broken_sync: args.broken_sync,
    };
    let mut rows = Vec::new();
    for &info in engines {
        for &policy in policies {
            for profile in profiles(args.profile) {
                progress.step(&format!("{} {} {} ...", info.name, policy, profile.name()));
                rows.push(crashcheck::run_line(&line(info, policy, profile, trials)));
            }
        }
    }
    // Concurrent lines: only where an acknowledgement means durable, so
    // that acknowledgements from several threads need no common order.
    let concurrent = args.concurrent_trials.unwrap_or(trials / 5);
    if args.threads > 0 && concurrent > 0 {
        for &info in engines {
            for &policy in policies.iter().filter(|p| p.max_lost_writes() == Some(0)) {
                for profile in profiles(args.profile) {
                    progress.step(&format!(
                        "{} {} {} {} threads ...",
                        info.name,
                        policy,
                        profile.name(),
                        args.threads
                    ));
                    let l = line(info, policy, profile, concurrent);
                    rows.push(crashcheck::run_concurrent_line(&l, args.threads));
                }
            }
        }
    }
    rows
}

/// `--replay SEED`: one trial with its trace.
fn replay(args: &CrashArgs, target: &Target, policies: &[SyncPolicy], seed: u64) -> Result<u8> {
    let o = match target {
        Target::Sim(engines) => {
            let profile = profiles(args.profile)[0];
            let Some(&policy) = policies.first() else {
                bail!("--replay needs a policy");
            };
            let spec = TrialSpec {
                engine: engines[0],
                policy,
                profile,
                seed,
                ops: args.ops,
                broken_sync: args.broken_sync,
                faults: Faults::default(),
            };
            println!(
                "replay: engine {} policy {policy} profile {} seed {seed}",
                spec.engine.name,
                profile.name()
            );
            let o = run_trial(&spec, true);
            let traced = o.trace.clone();
            let mut o = classify(&spec, o, |s| run_trial(s, false));
            o.trace = traced;
            o
        }
        Target::Fuse(children, disk) => {
            let child = &children[0];
            let profile = profiles(args.profile)[0];
            println!(
                "replay: {} promise {} {} seed {seed}",
                child.name,
                child.promise,
                fuse::profile_label(profile)
            );
            let Some(i) = fuse::trial_index(args.seed, profile, seed) else {
                bail!("seed {seed} is not a trial of --seed {} on {}: give the --seed of the run that printed it", args.seed, fuse::profile_label(profile));
            };
            let env_host = results::Environment::capture(None).host;
            let work = crate::run::prepare_disk(disk, &crate::output::run_id(&env_host))?;
            let r = fuse::classified_trial(
                child,
                profile,
                &work.join("mnt"),
                seed,
                i,
                args.ops,
                args.fsync_eio,
            );
            let _ = std::fs::remove_dir_all(&work);
            r?
        }
        Target::Kill(children, disk) => {
            let child = &children[0];
            println!(
                "replay: {} promise {} process-kill seed {seed}",
                child.name, child.promise
            );
            let env_host = results::Environment::capture(None).host;
            let work = crate::run::prepare_disk(disk, &crate::output::run_id(&env_host))?;
            let dir = work.join("replay");
            let r = std::fs::create_dir_all(&dir)
                .with_context(|| format!("create {}", dir.display()))
                .and_then(|()| {
                    let t = ProcessTrial {
                        launch: &child.launch,
                        dir: &dir,
                        promise: child.promise,
                        seed,
                        ops: args.ops,
                    };
                    run_process_trial(&t, None).map_err(anyhow::Error::from)
                });
            let _ = std::fs::remove_dir_all(&work);
            r?
        }
    };
    for line in &o.trace {
        println!("  {line}");
    }
    println!(
        "acknowledged {}, lost {}, files lost {}, corrupt reads {}, recovery: {}",
        o.acked,
        o.lost,
        o.files_lost,
        o.corrupt_reads,
        o.recovery_failure.as_deref().unwrap_or("ok")
    );
    let verdict = match (&o.violation, &o.excused) {
        (Some(v), _) => format!("BROKEN: {v}"),
        (None, Some(v)) => format!(
            "lost (no dir sync: expected): {v}; with durable names (the linux profile) the same trial keeps its promise"
        ),
        (None, None) if o.lost > 0 => "lost (no sync: expected)".to_string(),
        (None, None) => "promise kept".to_string(),
    };
    println!("verdict: {verdict}");
    Ok(if o.violation.is_some() {
        crate::EXIT_CHECK_FAILED
    } else {
        0
    })
}
