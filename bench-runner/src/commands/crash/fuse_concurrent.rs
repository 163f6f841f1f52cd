//! Concurrent lines through FUSE (`fuse-posix 4 threads`): `--threads N`
//! writers at once in one `crash-child` process on the mount, power-cut
//! like every FUSE trial ([`crashcheck::process_concurrent`]), for the
//! promises whose acknowledgement means durable (`always`, `group`), so
//! that a group-commit leader acknowledging writes its sync did not cover
//! is caught through a real kernel path as it is in process. External
//! `--exec` programs answer one request at a time and are not run here.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use anyhow::{Context, Result};
use crashcheck::process::ProcessTrial;
use crashcheck::process_concurrent::run_concurrent_process_trial;
use crashcheck::{classify_with, LineTally, TrialOutcome};
use engines::fs::Profile;
use results::CrashRow;

use super::fuse::{fuse_seed, profile_label, trial_mode, FuseCut, FuseRun};
use super::process::ChildEngine;

/// Trial numbers of concurrent lines start here, so that their seeds
/// differ from every seed of the one-writer lines.
const FIRST_TRIAL: u64 = 1 << 20;

/// Whether `engine` gets concurrent lines: one of ours (it serves writer
/// tags) under a promise whose acknowledgement means durable.
pub fn runs_concurrent(engine: &ChildEngine) -> bool {
    engine.tagged_writers && engine.promise.max_lost_writes() == Some(0)
}

/// One concurrent trial of `engine` with `threads` writers through a
/// FUSE mount at `mountpoint`, unclassified; the mount is undone on every
/// path.
pub fn concurrent_trial(
    engine: &ChildEngine,
    profile: Profile,
    mountpoint: &Path,
    threads: u64,
    seed: u64,
    i: u64,
    ops: u64,
) -> Result<TrialOutcome> {
    let mut cut = FuseCut::mount(profile, mountpoint, trial_mode(i))?;
    let dir = cut.data_dir();
    let trial = ProcessTrial {
        launch: &engine.launch,
        dir: &dir,
        promise: engine.promise,
        seed,
        ops,
    };
    let r = run_concurrent_process_trial(&trial, threads, &mut cut).with_context(|| {
        format!(
            "{} ({}) could not be driven through a {threads}-writer trial on FUSE (seed {seed})",
            engine.name, engine.promise
        )
    });
    cut.finish(r)
}

/// One concurrent line: `trials` power cuts of `engine` with `threads`
/// writers on `profile`, each classified as one-writer FUSE trials are;
/// `None` when `stop` was set.
pub fn concurrent_line(
    run: &FuseRun<'_>,
    engine: &ChildEngine,
    profile: Profile,
    threads: u64,
    trials: u64,
    stop: &AtomicBool,
) -> Result<Option<CrashRow>> {
    let mountpoint = run.mountpoint();
    let label = format!("{} {threads} threads", profile_label(profile));
    let mut tally = LineTally::new(&engine.name, &engine.promise, label.clone());
    for j in 0..trials {
        if stop.load(Relaxed) {
            return Ok(None);
        }
        run.progress.step(&format!(
            "{} {} {label} {}/{trials}",
            engine.name,
            engine.promise,
            j + 1
        ));
        let i = FIRST_TRIAL + j;
        let seed = fuse_seed(run.base_seed, profile, i);
        let trial =
            |p: Profile| concurrent_trial(engine, p, &mountpoint, threads, seed, i, run.ops);
        let o = trial(profile);
        if stop.load(Relaxed) {
            return Ok(None);
        }
        let mut o = o?;
        if engine.dir_sync_optional {
            let mut rerun_err = None;
            o = classify_with(&engine.promise, profile, o, || {
                trial(Profile::Linux).unwrap_or_else(|e| {
                    let v = format!("rerun on linux failed: {e:#}");
                    rerun_err = Some(e);
                    TrialOutcome {
                        violation: Some(v),
                        ..TrialOutcome::default()
                    }
                })
            });
            if let Some(e) = rerun_err {
                return Err(e);
            }
        }
        tally.add(&o, seed);
    }
    Ok(Some(tally.finish()))
}
