//! `crash --fs fuse`: power cuts through a real kernel path, for every
//! engine (the reference engines included) and for external programs
//! (`--exec`).
//!
//! One trial is a [process trial](crashcheck::process) whose data
//! directory lies on a [`SimFs`] mounted through FUSE ([`simfuse`]), with
//! [`FuseCut`] as its [`PowerCut`]: the engine process (our `crash-child`,
//! which opens the engine with a plain `RealFs`, or the `--exec` program)
//! writes through the kernel into the simulator; at a seeded operation it
//! is SIGKILLed and reaped, the simulator's image is frozen, the mount
//! undone, [`SimFs::crash`] applied with the line's profile and the
//! trial's crash mode (trial `i` uses mode `i mod 4`: durable state only,
//! a prefix in time, a torn prefix, per-file subsets), exactly as
//! in-process trials crash, and what survived is mounted again. A new
//! process recovers on it and reads every key back; the history is checked
//! by the same checker as every other trial, and the outcome is classified
//! ([`classify_with`]: a loss under a policy without `+dir` on `posix` is
//! rerun with the same seed on `linux`, through FUSE too) and tallied
//! ([`LineTally`]) into the same [`CrashRow`] and verdicts as in-process
//! lines. Rows carry profile `fuse-posix` or `fuse-linux` (`fuse-xfs`,
//! `fuse-btrfs`, `fuse-ext4-journal` with `--profile`).
//!
//! With `--fsync-eio`, each trial answers one seeded sync request (FSYNC
//! or FSYNCDIR; the `k`-th after the engine's first reply, `k` drawn from
//! the trial's seed in `1..=max(1, ops/4)`) with EIO, through
//! [`SimFs::set_faults`]: simfuse only returns the errno, and the profile
//! decides what the failure does to the data
//! ([`engines::fs::FsyncFailure`]). A program that retries the fsync and
//! acknowledges is then caught on ext4-ordered and xfs; an engine that
//! fails the write and poisons keeps its promise everywhere.
//!
//! Every mount is undone on every path out of a trial ([`simfuse::Mounted`]
//! unmounts on drop, lazily if need be), the engine process is killed and
//! reaped before its mount is touched, and a stop signal (SIGINT, SIGTERM,
//! SIGHUP) ends the run after the current trial with the finished lines
//! written.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use anyhow::{Context, Result};
use crashcheck::process::{run_process_trial, PowerCut, ProcessTrial};
use crashcheck::protocol::ProtocolError;
use crashcheck::trial::crash_lines;
use crashcheck::{classify_with, LineTally, LossCause, TrialOutcome};
use engines::fs::{CrashMode, CrashReport, CrashRng, Faults, Profile, SimFs};
use results::CrashRow;
use simfuse::Mounted;

use super::process::{kill_seed, ChildEngine};

/// Row label of a profile served through FUSE.
pub fn profile_label(profile: Profile) -> String {
    format!("fuse-{}", profile.name())
}

/// A [`SimFs`] mounted through FUSE, and the power cut that crashes it.
#[derive(Debug)]
pub struct FuseCut {
    sim: SimFs,
    mounted: Option<Mounted>,
    mountpoint: PathBuf,
    mode: CrashMode,
    /// With `--fsync-eio`: the sync (counted from the engine's first
    /// reply) answered with EIO, and the absolute sync number once armed.
    eio: Option<(u64, Option<u64>)>,
    /// What the last power cut did.
    pub report: Option<CrashReport>,
    /// Files with synced data that any power cut of the trial removed.
    pub files_lost: Vec<PathBuf>,
    /// Truncates any power cut of the trial reverted.
    pub truncates_reverted: u64,
    /// Removals any power cut of the trial reverted.
    pub removes_reverted: u64,
    /// The image [`PowerCut::save_image`] remembered.
    saved: Option<SimFs>,
}

/// Which sync after the engine's first reply `--fsync-eio` fails in the
/// trial with `seed`: `1..=max(1, ops/4)`, so that most trials reach it
/// before their kill (drawn uniformly in `0..ops`).
pub fn eio_sync(seed: u64, ops: u64) -> u64 {
    1 + CrashRng::new(seed ^ 0xE10_F5C).upto((ops / 4).max(1) - 1)
}

impl FuseCut {
    /// Mounts an empty simulator with `profile` at `mountpoint` (created if
    /// missing) and makes the engine's data directory on it.
    pub fn mount(profile: Profile, mountpoint: &Path, mode: CrashMode) -> Result<FuseCut> {
        std::fs::create_dir_all(mountpoint)
            .with_context(|| format!("create mount point {}", mountpoint.display()))?;
        let sim = SimFs::new(profile);
        // Traced always: a few lines per request, drained after each reply.
        sim.record_events();
        let mounted = Mounted::mount(sim.clone(), mountpoint)?;
        let cut = FuseCut {
            sim,
            mountpoint: mounted.path().to_path_buf(),
            mounted: Some(mounted),
            mode,
            eio: None,
            report: None,
            files_lost: Vec::new(),
            truncates_reverted: 0,
            removes_reverted: 0,
            saved: None,
        };
        // Directories on SimFs are durable once made.
        let dir = cut.data_dir();
        std::fs::create_dir(&dir).with_context(|| format!("create {}", dir.display()))?;
        Ok(cut)
    }

    /// The engine's data directory on the mount.
    pub fn data_dir(&self) -> PathBuf {
        self.mountpoint.join("db")
    }

    /// Serves `sim` at the mount point instead of what is served now (no
    /// process may be using the mount).
    fn serve(&mut self, sim: SimFs) -> Result<(), ProtocolError> {
        if let Some(m) = self.mounted.take() {
            m.unmount().map_err(mount_failed)?;
        }
        sim.record_events();
        self.mounted = Some(Mounted::mount(sim.clone(), &self.mountpoint).map_err(mount_failed)?);
        self.sim = sim;
        Ok(())
    }

    /// Unmounts, reporting a mount that would not go.
    pub fn unmount(mut self) -> Result<()> {
        match self.mounted.take() {
            Some(m) => m.unmount().map_err(Into::into),
            None => Ok(()),
        }
    }
}

impl FuseCut {
    /// Fails the `k`-th sync after the engine's first reply with EIO.
    pub fn fail_sync_after_ready(&mut self, k: u64) {
        self.eio = Some((k, None));
    }
}

impl PowerCut for FuseCut {
    fn engine_ready(&mut self) {
        if let Some((k, armed)) = &mut self.eio {
            // No sync delay through FUSE: syncs done = syncs started.
            let n = self.sim.syncs() + *k;
            *armed = Some(n);
            self.sim.set_faults(Faults {
                fail_sync: Some(n),
                ..Faults::default()
            });
        }
    }

    fn cut(&mut self, seed: u64) -> Result<String, ProtocolError> {
        // The engine process is dead and reaped: nothing more can arrive
        // that a power cut would keep.
        self.sim.freeze_now();
        if let Some(m) = self.mounted.take() {
            m.unmount().map_err(mount_failed)?;
        }
        // Reported at the first cut only: later epochs run on the survivor,
        // which injects nothing.
        let eio = match self.eio.take() {
            None => String::new(),
            Some((k, None)) => format!("fsync EIO at sync {k} after start-up: never armed; "),
            Some((k, Some(n))) if self.sim.syncs() >= n => {
                format!("fsync EIO injected at sync {k} after start-up (sync #{n}); ")
            }
            Some((k, Some(_))) => format!("fsync EIO at sync {k} after start-up: not reached; "),
        };
        let (survivor, report) = self.sim.crash(seed, self.mode);
        let line = format!(
            "{eio}SimFs crashed ({:?}): {} unsynced data operations dropped, {} truncates reverted, {} removals reverted, files lost: {}",
            self.mode,
            report.writes_dropped,
            report.truncates_reverted,
            report.removes_reverted,
            if report.files_lost.is_empty() {
                "none".to_string()
            } else {
                report
                    .files_lost
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        );
        self.files_lost.extend(report.files_lost.iter().cloned());
        self.truncates_reverted += report.truncates_reverted;
        self.removes_reverted += report.removes_reverted;
        self.report = Some(report);
        self.serve(survivor)?;
        Ok(line)
    }

    fn syncs(&mut self) -> Option<u64> {
        Some(self.sim.syncs())
    }

    fn crash_after_syncs(&mut self, n: u64) {
        self.sim.freeze_after_sync(self.sim.syncs() + n);
    }

    fn save_image(&mut self) -> Result<(), ProtocolError> {
        // Called right after a cut, when everything served is durable: a
        // crash keeping only durable state copies the image as it is.
        let (copy, _) = self.sim.crash(0, CrashMode::DurableOnly);
        self.saved = Some(copy);
        Ok(())
    }

    fn restore_image(&mut self) -> Result<(), ProtocolError> {
        match self.saved.take() {
            Some(saved) => self.serve(saved),
            None => Ok(()),
        }
    }

    fn take_events(&mut self) -> Vec<String> {
        self.sim.take_events()
    }

    fn cut_details(&mut self) -> Vec<String> {
        self.report.as_ref().map(crash_lines).unwrap_or_default()
    }
}

fn mount_failed(e: simfuse::Error) -> ProtocolError {
    ProtocolError::Io {
        what: "power cut through FUSE".into(),
        source: std::io::Error::other(format!("{:#}", anyhow::Error::from(e))),
    }
}

/// The crash mode of trial `i`: each mode in turn.
pub fn trial_mode(i: u64) -> CrashMode {
    CrashMode::ALL[(i % CrashMode::ALL.len() as u64) as usize]
}

/// Runs one power-cut trial of `engine` through a FUSE mount at
/// `mountpoint`, unclassified; the mount is undone on every path. With
/// `fsync_eio`, one seeded sync fails with EIO ([`eio_sync`]).
pub fn fuse_trial(
    engine: &ChildEngine,
    profile: Profile,
    mountpoint: &Path,
    mode: CrashMode,
    seed: u64,
    ops: u64,
    fsync_eio: bool,
) -> Result<TrialOutcome> {
    let mut cut = FuseCut::mount(profile, mountpoint, mode)?;
    if fsync_eio {
        cut.fail_sync_after_ready(eio_sync(seed, ops));
    }
    let dir = cut.data_dir();
    let trial = ProcessTrial {
        launch: &engine.launch,
        dir: &dir,
        promise: engine.promise,
        seed,
        ops,
    };
    let r = run_process_trial(&trial, Some(&mut cut)).with_context(|| {
        format!(
            "{} ({}) could not be driven through a power-cut trial on FUSE (seed {seed})",
            engine.name, engine.promise
        )
    });
    cut.finish(r)
}

impl FuseCut {
    /// Unmounts and adds what the trial's power cuts did to its outcome:
    /// the files they lost (named in a violation) and the cause of losses.
    pub fn finish(self, r: Result<TrialOutcome>) -> Result<TrialOutcome> {
        let files_lost = self.files_lost.clone();
        let truncates = self.truncates_reverted;
        let removes = self.removes_reverted;
        self.unmount()?;
        let mut o = r?;
        o.files_lost = files_lost.len() as u64;
        if let (Some(v), false) = (&mut o.violation, files_lost.is_empty()) {
            let names: Vec<String> = files_lost.iter().map(|p| p.display().to_string()).collect();
            v.push_str(&format!(
                " (files with synced data whose names the crash removed: {})",
                names.join(", ")
            ));
        }
        if o.lost > 0 {
            o.cause = Some(LossCause::of(files_lost.len() as u64, removes, truncates));
        }
        Ok(o)
    }
}

/// Runs trial `i` of a line and classifies it: a loss that could be an
/// expected one (no `+dir`, `posix`) is rerun with the same seed and
/// crash mode on `linux`, through FUSE. Only where the engine offers `+dir`
/// ([`ChildEngine::dir_sync_optional`]): a program or library that gives
/// no choice about directory syncs promises its file names with its
/// writes, so losing them is BROKEN.
pub fn classified_trial(
    engine: &ChildEngine,
    profile: Profile,
    mountpoint: &Path,
    seed: u64,
    i: u64,
    ops: u64,
    fsync_eio: bool,
) -> Result<TrialOutcome> {
    let mode = trial_mode(i);
    let o = fuse_trial(engine, profile, mountpoint, mode, seed, ops, fsync_eio)?;
    if !engine.dir_sync_optional {
        return Ok(o);
    }
    let mut rerun_err = None;
    let o = classify_with(&engine.promise, profile, o, || {
        fuse_trial(
            engine,
            Profile::Linux,
            mountpoint,
            mode,
            seed,
            ops,
            fsync_eio,
        )
        .unwrap_or_else(|e| {
            let v = format!("rerun on linux failed: {e:#}");
            rerun_err = Some(e);
            TrialOutcome {
                violation: Some(v),
                ..TrialOutcome::default()
            }
        })
    });
    match rerun_err {
        Some(e) => Err(e),
        None => Ok(o),
    }
}

/// What every FUSE line of a run shares.
#[derive(Debug, Clone)]
pub struct FuseRun<'a> {
    /// Scratch folder; the mount point is made in it.
    pub work: &'a Path,
    /// Power cuts per line.
    pub trials: u64,
    /// Base seed ([`fuse_seed`]).
    pub base_seed: u64,
    /// Operations per trial before the kill (at most).
    pub ops: u64,
    /// Whether each trial fails one seeded sync with EIO (`--fsync-eio`).
    pub fsync_eio: bool,
    /// Where progress goes.
    pub progress: crate::output::progress::Progress,
}

impl FuseRun<'_> {
    /// The mount point of every trial.
    pub fn mountpoint(&self) -> PathBuf {
        self.work.join("mnt")
    }

    /// One line: `trials` power cuts of `engine` on `profile`; `None` when
    /// `stop` was set.
    pub fn line(
        &self,
        engine: &ChildEngine,
        profile: Profile,
        stop: &AtomicBool,
    ) -> Result<Option<CrashRow>> {
        let mountpoint = self.mountpoint();
        let mut tally = LineTally::new(&engine.name, &engine.promise, profile_label(profile));
        for i in 0..self.trials {
            if stop.load(Relaxed) {
                return Ok(None);
            }
            self.progress.step(&format!(
                "{} {} {} {}/{}",
                engine.name,
                engine.promise,
                profile_label(profile),
                i + 1,
                self.trials
            ));
            let seed = fuse_seed(self.base_seed, profile, i);
            let o = classified_trial(
                engine,
                profile,
                &mountpoint,
                seed,
                i,
                self.ops,
                self.fsync_eio,
            );
            // A trial cut short by a stop signal is an interruption, not
            // an error (the engine runs in its own process group, so a
            // terminal's Ctrl-C does not reach it; a signal sent to the
            // group by hand may).
            if stop.load(Relaxed) {
                return Ok(None);
            }
            tally.add(&o?, seed);
        }
        Ok(Some(tally.finish()))
    }
}

/// The seed of trial `i` of a FUSE line (the kill seeds, apart per
/// profile; posix and linux keep their salts, so old replay commands
/// still replay).
pub fn fuse_seed(base: u64, profile: Profile, i: u64) -> u64 {
    let salt = match profile {
        Profile::Posix => 0,
        Profile::Linux => 0x9E37_79B9,
        Profile::Xfs => 0x85EB_CA6B,
        Profile::Btrfs => 0xC2B2_AE35,
        Profile::Ext4Journal => 0x27D4_EB2F,
    };
    kill_seed(base ^ salt, i)
}

/// The trial index a seed of [`fuse_seed`] came from, for `--replay`
/// (which picks the crash mode by it); `None` when the seed is not one.
pub fn trial_index(base: u64, profile: Profile, seed: u64) -> Option<u64> {
    let i = seed.wrapping_sub(fuse_seed(base, profile, 0));
    (i < 1 << 32).then_some(i)
}
