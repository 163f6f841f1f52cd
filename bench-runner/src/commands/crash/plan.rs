//! [`CrashPlan`]: `crash`'s command line, resolved and validated once in
//! `main`, before any trial. Nothing below it sees clap's types.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use crashcheck::process::Launch;
use engines::fs::Profile;
use engines::{EngineInfo, SyncPolicy};

use super::process::ChildEngine;
use super::table::{shell_quote, ReplayContext};
use crate::cli::crash::{CrashArgs, FsArg, ProfileArg};

/// What a `crash` invocation tests.
#[derive(Debug)]
pub enum Target {
    /// Our engines on the simulated filesystem, in process.
    Sim(Vec<&'static EngineInfo>),
    /// Child processes killed on a real disk (`--kill`, or `--exec` without
    /// `--fs fuse`), with the disk.
    Kill(Vec<ChildEngine>, PathBuf),
    /// Child processes power-cut on a FUSE mount of the simulator, with
    /// the folder the mount is made in.
    Fuse(Vec<ChildEngine>, PathBuf),
}

/// Everything `crash` does, resolved and checked.
#[derive(Debug)]
pub struct CrashPlan {
    /// The command line, for `environment.json`.
    pub command_line: String,
    /// What is tested.
    pub target: Target,
    /// Policies of in-process lines (empty for `--exec`).
    pub policies: Vec<SyncPolicy>,
    /// Simulated filesystem profiles, in table order.
    pub profiles: Vec<Profile>,
    /// Trials per line (the default depends on the target: 500 in
    /// process, 10 kills, 20 FUSE power cuts).
    pub trials: u64,
    /// Operations per trial before the crash.
    pub ops: u64,
    /// Base seed.
    pub seed: u64,
    /// Writers of the concurrent lines (0: none).
    pub threads: u64,
    /// Trials per concurrent line.
    pub concurrent_trials: u64,
    /// `--replay SEED`: one trial with its trace instead of the table.
    pub replay: Option<u64>,
    /// Testing the checker: syncs on the simulator report success without
    /// syncing.
    pub broken_sync: bool,
    /// `--fsync-eio`: each FUSE trial fails one seeded sync with EIO.
    pub fsync_eio: bool,
    /// `--disk`.
    pub disk: Option<PathBuf>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--label`.
    pub label: Option<String>,
    /// No progress on stderr.
    pub quiet: bool,
    /// What a BROKEN line's replay command needs.
    pub replay_context: ReplayContext,
    /// `--exhaustive`: its depth (steps per workload), instead of trials.
    pub exhaustive: Option<usize>,
    /// `--store`: the results store the finished folder is added to.
    pub store: Option<PathBuf>,
}

/// The profiles `--profile` names.
pub fn profiles(p: ProfileArg) -> Vec<Profile> {
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

impl CrashPlan {
    /// Resolves and validates `crash`'s arguments.
    pub fn from_args(args: &CrashArgs, command_line: &str) -> Result<CrashPlan> {
        let exhaustive = super::exhaustive::depth(args)?;
        let target = target(args)?;
        let policies = if args.exec.is_some() {
            Vec::new()
        } else {
            crate::commands::run::resolve_policies(&args.policies)?
        };
        let trials = args.trials.unwrap_or(match target {
            Target::Sim(_) => 500,
            Target::Kill(..) => 10,
            Target::Fuse(..) => 20,
        });
        let replay_context = ReplayContext {
            exec: args.exec.as_ref().map(|cmd| {
                format!(
                    " --exec {} --exec-promise {}",
                    shell_quote(cmd),
                    args.exec_promise.as_deref().unwrap_or("?")
                )
            }),
            disk: args.disk.clone(),
            ops: args.ops,
            seed: args.seed,
            fsync_eio: args.fsync_eio,
        };
        if args.replay.is_some() && matches!(target, Target::Sim(_)) && policies.is_empty() {
            bail!("--replay needs a policy");
        }
        if args.replay.is_some() && args.store.store.is_some() {
            bail!("--store adds a results folder, and --replay writes none: drop --store");
        }
        let store = args.store.checked()?;
        Ok(CrashPlan {
            command_line: command_line.to_string(),
            target,
            policies,
            profiles: profiles(args.profile),
            trials,
            ops: args.ops,
            seed: args.seed,
            threads: args.threads,
            concurrent_trials: args.concurrent_trials.unwrap_or(trials / 5),
            replay: args.replay,
            broken_sync: args.broken_sync,
            fsync_eio: args.fsync_eio,
            disk: args.disk.clone(),
            out: args.output.out.clone(),
            label: args.output.label.clone(),
            quiet: args.output.quiet,
            replay_context,
            exhaustive,
            store,
        })
    }
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
            tagged_writers: false,
        };
        if fuse {
            return Ok(Target::Fuse(vec![engine], fuse_disk()));
        }
        let Some(disk) = &args.disk else {
            bail!("--exec needs --disk DIR: the program writes its data to a real disk");
        };
        return Ok(Target::Kill(vec![engine], disk.clone()));
    }
    let engines = crate::commands::run::resolve_engines(&args.engines)?;
    let policies = crate::commands::run::resolve_policies(&args.policies)?;
    if args.kill || fuse {
        let mut children = Vec::new();
        for &info in &engines {
            for &policy in &policies {
                match (info.supports)(&policy) {
                    Ok(()) => children.push(ChildEngine::builtin(info, policy, args.broken_sync)?),
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
