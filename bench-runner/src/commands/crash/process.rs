//! Process trials from the command line: `crash --kill` (each engine in a
//! `bench-runner crash-child` process on a real disk), `crash --exec CMD`
//! (any program speaking the line protocol), and the child itself.

use std::path::Path;

use anyhow::{Context, Result};
use crashcheck::process::{run_process_trial, Launch, ProcessTrial};
use crashcheck::{LineTally, TrialOutcome};
use engines::{EngineConfig, EngineInfo, SyncPolicy};
use results::CrashRow;

use super::CrashChildArgs;

/// The `fs` column of process-crash lines.
pub const PROCESS_KILL: &str = "process-kill";

/// An engine run in a child process: one of ours or an external program.
#[derive(Debug, Clone)]
pub struct ChildEngine {
    /// Engine column of the table.
    pub name: String,
    /// How to start it.
    pub launch: Launch,
    /// The promise it is held to.
    pub promise: SyncPolicy,
    /// Whether the engine offers `+dir` for this promise, so that losing
    /// never-synced file names without it is a choice (an expected loss
    /// after a power cut). False for external programs and for libraries
    /// that manage their directory entries themselves (SQLite, redb,
    /// fjall): their claim covers the names, and such a loss is BROKEN.
    pub dir_sync_optional: bool,
    /// Whether it serves writer tags (several requests at once, one
    /// thread per writer: `crash-child` does), so that it gets concurrent
    /// lines through FUSE. False for external programs.
    pub tagged_writers: bool,
}

impl ChildEngine {
    /// One of our engines under `policy`, in `bench-runner crash-child`;
    /// `broken_sync` (testing the checker) makes its syncs do nothing.
    pub fn builtin(info: &EngineInfo, policy: SyncPolicy, broken_sync: bool) -> Result<Self> {
        let exe = std::env::current_exe().context("find bench-runner's own executable")?;
        Ok(ChildEngine {
            name: info.name.to_string(),
            launch: Launch {
                program: exe.into_os_string(),
                args: [
                    "crash-child",
                    "--engine",
                    info.name,
                    "--policy",
                    &policy.to_string(),
                ]
                .iter()
                .chain(broken_sync.then_some(&"--broken-sync"))
                .map(Into::into)
                .collect(),
            },
            promise: policy,
            dir_sync_optional: !policy.dir_sync
                && (info.supports)(&SyncPolicy {
                    dir_sync: true,
                    ..policy
                })
                .is_ok(),
            tagged_writers: true,
        })
    }

    fn trial<'a>(&'a self, dir: &'a Path, seed: u64, ops: u64) -> ProcessTrial<'a> {
        ProcessTrial {
            launch: &self.launch,
            dir,
            promise: self.promise,
            seed,
            ops,
        }
    }

    fn slug(&self) -> String {
        format!("{}-{}", self.name, self.promise).replace([':', '+', '@', '/', ' '], "_")
    }
}

/// The seed of kill trial `t`.
pub fn kill_seed(base: u64, t: u64) -> u64 {
    base.wrapping_mul(1_000_003).wrapping_add(t)
}

/// Runs `trials` kill trials of `engine` in fresh folders under `work`.
pub fn kill_line(
    work: &Path,
    engine: &ChildEngine,
    trials: u64,
    seed: u64,
    ops: u64,
    progress: &crate::output::progress::Progress,
) -> Result<CrashRow> {
    let mut tally = LineTally::new(&engine.name, &engine.promise, PROCESS_KILL);
    for t in 0..trials {
        progress.step(&format!(
            "{} {} kill {}/{trials}",
            engine.name,
            engine.promise,
            t + 1
        ));
        let s = kill_seed(seed, t);
        let o = kill_one(work, engine, s, ops)?;
        tally.add(&o, s);
    }
    Ok(tally.finish())
}

/// Runs one kill trial in a fresh folder under `work`, removed afterwards.
pub fn kill_one(work: &Path, engine: &ChildEngine, seed: u64, ops: u64) -> Result<TrialOutcome> {
    let dir = work.join(format!("{}-{seed}", engine.slug()));
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let r = run_process_trial(&engine.trial(&dir, seed, ops), None).with_context(|| {
        format!(
            "{} ({}) could not be driven through a kill trial (seed {seed})",
            engine.name, engine.promise
        )
    });
    let _ = std::fs::remove_dir_all(&dir);
    r
}

/// The child of `--kill`: serves the line protocol for one of our engines
/// on `--dir` or `BENCH_DIR`.
pub fn child(args: &CrashChildArgs) -> Result<u8> {
    let policy: SyncPolicy = args.policy.parse()?;
    let info = engines::registry::info(&args.engine)?;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::var_os("BENCH_DIR")
            .context("crash-child needs --dir or BENCH_DIR")?
            .into(),
    };
    // The simulated trials' small sizes, so that a kill can land during a
    // rotation, flush, merge or checkpoint within a few dozen writes.
    let mut cfg = EngineConfig::new(&dir, policy);
    cfg.segment_bytes = 1024;
    cfg.memtable_bytes = 1024;
    cfg.checkpoint_bytes = 2048;
    cfg.page_bytes = 512;
    cfg.cache_pages = 16;
    cfg.merge_trigger_files = 3;
    if args.broken_sync {
        cfg.vfs = std::sync::Arc::new(crashcheck::NoSyncFs(cfg.vfs.clone()));
    }
    let engine = info
        .open(cfg)
        .with_context(|| format!("open {} in {}", info.name, dir.display()))?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    crashcheck::protocol::serve(&*engine, stdin.lock(), stdout)
        .context("serve the line protocol")?;
    Ok(0)
}
