//! Exhaustive small scopes: every workload of `depth` steps over two keys,
//! a power cut at every simulator operation boundary of each, into every
//! state the profile allows there (CrashMonkey/ACE's bounded check, on
//! [`SimFs`]). Random trials find bugs; this proves their absence within
//! the scope.
//!
//! The steps ([`Step`]): a put (of a new key or an overwrite, by history),
//! a delete, an explicit `Engine::sync`, a forced maintenance step
//! (`Engine::maintain`: the wal's rotation, bitcask's and loghash's merge,
//! lsm's flush and compaction, btree's checkpoint), a close and reopen, and
//! two puts racing: a second writer arrives while the first one's sync runs
//! ([`crate::race`]), the only window in which group commit can go wrong.
//!
//! Each workload runs once on a [`SimFs`] that keeps a [`CrashImage`] at
//! every operation boundary (write, truncate, reservation, name operation,
//! sync). At each, [`CrashImage::space`] lists every post-crash state (per
//! file: each prefix of its unsynced operations and each sector tear of the
//! next write; names: as the profile allows; across files and directories:
//! every combination), drawing a seeded sample of
//! [`STATES_PER_POINT`] when there are more (counted in
//! [`ExhaustiveLine::sampled_points`]). Each state is recovered through the
//! engine's own `open`, every key read back, and checked against the
//! history as of the crash instant by the same checker as the seeded
//! trials ([`crate::history`]): an operation is acknowledged at the instant
//! if it returned before it, in flight if it had started.
//!
//! Two reductions, neither skipping a state:
//!
//! - only workloads of exactly `depth` steps run: a shorter workload is a
//!   prefix of a longer one, and every crash instant of it (with the same
//!   image and the same acknowledgements) is a crash instant of the longer
//!   run;
//! - a recovery is memoised by the durable image it starts from (names and
//!   contents): states that leave the same bytes recover alike, and only
//!   the history check differs per state.
//!
//! The table line: `trials` counts workloads, `states_checked` states, and
//! the loss columns count states.
//!
//! ## Files
//!
//! - [`step`]: the steps and the workloads made of them;
//! - [`drive`]: one workload run on the simulator, keeping its writes,
//!   its explicit syncs and a crash image at every operation boundary;
//! - [`check`]: every state at every crash instant of a run, recovered and
//!   checked against the history.
//!
//! [`SimFs`]: engines::fs::SimFs
//! [`CrashImage`]: engines::fs::CrashImage
//! [`CrashImage::space`]: engines::fs::CrashImage::space

mod check;
mod drive;
mod step;

pub use step::{workloads, Step};

use std::sync::Arc;
use std::time::{Duration, Instant};

use engines::fs::{Profile, Vfs};
use engines::{EngineInfo, SyncPolicy};
use results::CrashRow;

use check::Checker;

/// Steps per workload unless `--depth` says.
pub const DEFAULT_DEPTH: usize = 2;

/// States checked at one crash instant before they are sampled.
pub const STATES_PER_POINT: usize = 1024;

/// Wraps the filesystem the engine writes to (tests of the checker plant
/// broken variants this way; the CLI never sets one).
pub type VfsWrap = fn(Arc<dyn Vfs>) -> Arc<dyn Vfs>;

/// One exhaustive table line: an engine, a policy, a profile, a depth.
#[derive(Debug, Clone, Copy)]
pub struct ExhaustiveSpec {
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its policy.
    pub policy: SyncPolicy,
    /// Filesystem profile.
    pub profile: Profile,
    /// Steps per workload.
    pub depth: usize,
    /// States checked at one crash instant before they are sampled.
    pub states_per_point: usize,
    /// Seed of the samples.
    pub seed: u64,
    /// A wrapper around the engine's filesystem (testing the checker).
    pub wrap: Option<VfsWrap>,
}

impl ExhaustiveSpec {
    /// A line with the default bound and seed.
    pub fn new(
        engine: &'static EngineInfo,
        policy: SyncPolicy,
        profile: Profile,
        depth: usize,
    ) -> Self {
        ExhaustiveSpec {
            engine,
            policy,
            profile,
            depth,
            states_per_point: STATES_PER_POINT,
            seed: 1,
            wrap: None,
        }
    }
}

/// What one exhaustive line checked and found.
#[derive(Debug, Clone)]
pub struct ExhaustiveLine {
    /// The table row (`trials`: workloads; `states_checked`, `violations`).
    pub row: CrashRow,
    /// Workloads run.
    pub workloads: u64,
    /// Crash instants (operation boundaries) over all workloads.
    pub crash_points: u64,
    /// Post-crash states checked.
    pub states: u64,
    /// Distinct durable images recovered (the rest were memoised).
    pub recoveries: u64,
    /// Crash instants with more than the bound of states, sampled.
    pub sampled_points: u64,
    /// States that broke a promise (and workloads whose run itself failed).
    pub violations: u64,
    /// Wall time of the line.
    pub wall: Duration,
}

/// Runs one exhaustive line.
pub fn run_exhaustive(spec: &ExhaustiveSpec) -> ExhaustiveLine {
    let started = Instant::now();
    let mut c = Checker::new(spec);
    for (i, w) in workloads(spec.depth).iter().enumerate() {
        c.workload(i as u64, w);
    }
    c.finish(started)
}
