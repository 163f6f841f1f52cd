//! `crash --exhaustive [--depth N]`: the bounded exhaustive check of
//! [`crashcheck::exhaustive`], one table line per engine x policy x
//! profile, with the states checked and the wall time of each on stderr.

use anyhow::{bail, Result};
use crashcheck::exhaustive::{run_exhaustive, ExhaustiveSpec, DEFAULT_DEPTH};
use engines::EngineInfo;
use results::CrashRow;

use super::{CrashArgs, CrashPlan, FsArg};
use crate::output::progress::Progress;

/// Deepest `--depth` accepted: 8^N workloads, so 4 already takes minutes.
const MAX_DEPTH: usize = 4;

/// The depth of `--exhaustive`, if given, checked for the usage errors
/// that clap's conflicts do not cover.
pub(super) fn depth(args: &CrashArgs) -> Result<Option<usize>> {
    if !args.exhaustive {
        return Ok(None);
    }
    if args.fs == FsArg::Fuse {
        bail!("--exhaustive runs in process on the simulated filesystem: drop --fs fuse");
    }
    match args.depth.unwrap_or(DEFAULT_DEPTH) {
        0 => bail!("--depth 0 checks nothing: give at least 1"),
        d if d > MAX_DEPTH => bail!(
            "--depth {d}: at most {MAX_DEPTH} (8^{d} workloads, each crashed at every operation)"
        ),
        d => Ok(Some(d)),
    }
}

/// The exhaustive lines (no concurrent lines: the racing step covers
/// group commit's window deterministically).
pub(super) fn lines(
    plan: &CrashPlan,
    depth: usize,
    engines: &[&'static EngineInfo],
    progress: &Progress,
) -> Vec<CrashRow> {
    let mut rows = Vec::new();
    let (mut states, mut violations, mut wall) = (0u64, 0u64, std::time::Duration::ZERO);
    for &info in engines {
        for &policy in &plan.policies {
            for &profile in &plan.profiles {
                progress.step(&format!(
                    "{} {} {} exhaustive depth {depth} ...",
                    info.name,
                    policy,
                    profile.name()
                ));
                let mut spec = ExhaustiveSpec::new(info, policy, profile, depth);
                spec.seed = plan.seed;
                let l = run_exhaustive(&spec);
                eprintln!(
                    "exhaustive depth {depth}: {} {} {}: {} workloads, {} crash points, {} states checked ({} recoveries, {} crash points sampled), {} violations, {:.2} s",
                    info.name,
                    policy,
                    profile.name(),
                    l.workloads,
                    l.crash_points,
                    l.states,
                    l.recoveries,
                    l.sampled_points,
                    l.violations,
                    l.wall.as_secs_f64()
                );
                states += l.states;
                violations += l.violations;
                wall += l.wall;
                rows.push(l.row);
            }
        }
    }
    eprintln!(
        "exhaustive depth {depth}: {} lines, {states} states checked, {violations} violations, {:.2} s",
        rows.len(),
        wall.as_secs_f64()
    );
    rows
}
