//! `capacity`'s arguments turned once into a validated plan. The matrix,
//! the disk, the results folder and the workloads are resolved by
//! [`RunPlan::from_args`] (the same rules and errors as `run`); this adds
//! the budgets and the search's settings.

use std::fmt;
use std::time::Duration;

use anyhow::{bail, Result};
use serde::Serialize;

use crate::cli::capacity::CapacityArgs;
use crate::cli::plan::RunPlan;
use crate::cli::RunArgs;

/// The workload searched when `--workloads` is not given.
pub const DEFAULT_WORKLOAD: &str = "fillrandom";

/// A latency percentile a budget applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Percentile {
    /// The 99th.
    P99,
    /// The 99.9th.
    P999,
}

impl Percentile {
    /// The percentile, 0-100.
    pub fn value(self) -> f64 {
        match self {
            Percentile::P99 => 99.0,
            Percentile::P999 => 99.9,
        }
    }

    /// Operations a measurement needs for this percentile: at least
    /// [`results::MIN_TAIL_SAMPLES`] above it.
    pub fn tail_ops(self) -> f64 {
        results::MIN_TAIL_SAMPLES / (1.0 - self.value() / 100.0)
    }
}

impl fmt::Display for Percentile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Percentile::P99 => "p99",
            Percentile::P999 => "p999",
        })
    }
}

/// A latency budget: the percentile must stay at or under `us`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Budget {
    /// Which percentile.
    pub percentile: Percentile,
    /// The budget (µs).
    pub us: f64,
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.us;
        if us >= 1e6 && us % 1e6 == 0.0 {
            write!(f, "{} <= {}s", self.percentile, us / 1e6)
        } else if us >= 1e3 && us % 1e3 == 0.0 {
            write!(f, "{} <= {}ms", self.percentile, us / 1e3)
        } else {
            write!(f, "{} <= {us}us", self.percentile)
        }
    }
}

/// How each search runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SearchSettings {
    /// Bisection steps between the two ends.
    pub steps: u32,
    /// Shortest open-loop step.
    pub min_step: Duration,
    /// Longest a step may need for its tail (bounds the lowest rate).
    pub max_step: Duration,
    /// `--min-rate`.
    pub min_rate: Option<f64>,
}

/// The slack on a step's operation count: a step runs long enough for 20%
/// more operations than its percentile needs, so a rate the engine barely
/// keeps up with still has its tail.
pub const TAIL_SLACK: f64 = 1.2;

impl SearchSettings {
    /// Seconds a step at `rate` runs: at least `min_step`, and long enough
    /// for the percentile's tail.
    pub fn step_secs(&self, rate: f64, p: Percentile) -> f64 {
        self.min_step
            .as_secs_f64()
            .max(TAIL_SLACK * p.tail_ops() / rate)
    }

    /// The lowest rate of a cell whose closed-loop throughput is
    /// `closed_loop`: `--min-rate`, else 1% of the throughput raised until
    /// a step's tail fits in `max_step`; never above half the throughput
    /// (there must be a range to search).
    pub fn lowest_rate(&self, closed_loop: f64, p: Percentile) -> f64 {
        let fit = TAIL_SLACK * p.tail_ops() / self.max_step.as_secs_f64();
        let low = self.min_rate.unwrap_or((0.01 * closed_loop).max(fit));
        low.min(0.5 * closed_loop)
    }
}

/// Everything `capacity` does, resolved and checked.
#[derive(Debug)]
pub struct CapacityPlan {
    /// The matrix, disk, results folder and closed-loop measurement.
    pub run: RunPlan,
    /// Budgets, p99 first, each once.
    pub budgets: Vec<Budget>,
    /// The search.
    pub search: SearchSettings,
}

impl CapacityPlan {
    /// Resolves and validates `capacity`'s arguments: every error is a
    /// usage error (exit 2).
    pub fn from_args(args: &CapacityArgs, command_line: &str) -> Result<CapacityPlan> {
        let mut budgets: Vec<Budget> = Vec::new();
        let given = args
            .p99
            .iter()
            .map(|&us| (Percentile::P99, us))
            .chain(args.p999.iter().map(|&us| (Percentile::P999, us)));
        for (percentile, us) in given {
            let b = Budget { percentile, us };
            if !budgets.contains(&b) {
                budgets.push(b);
            }
        }
        if budgets.is_empty() {
            bail!("give a latency budget: --p99 1ms (or --p999 10ms; several, comma-separated)");
        }
        let run_args = RunArgs {
            disk: Some(args.disk.clone()),
            engines: args.engines.clone(),
            policies: args.policies.clone(),
            workloads: if args.workloads.is_empty() {
                vec![DEFAULT_WORKLOAD.to_string()]
            } else {
                args.workloads.clone()
            },
            threads: args.threads.clone(),
            duration: Some(args.duration.unwrap_or(if args.quick { 0.3 } else { 2.0 })),
            warmup: Some(if args.quick { 0.0 } else { 0.5 }),
            repeat: Some(1),
            data: args.data.clone(),
            quick: args.quick,
            no_probe: true,
            no_plots: args.no_plots,
            force: args.force,
            output: args.output.clone(),
            store: args.store.clone(),
            ..RunArgs::default()
        };
        let run = RunPlan::from_args(&run_args, command_line)?;
        let min_step = args
            .step_duration
            .unwrap_or(if args.quick { 0.2 } else { 1.0 });
        let max_step = args
            .max_step_duration
            .unwrap_or(if args.quick { 1.0 } else { 5.0 });
        if max_step < min_step {
            bail!("--max-step-duration {max_step} is shorter than the shortest step ({min_step} s, --step-duration)");
        }
        Ok(CapacityPlan {
            run,
            budgets,
            search: SearchSettings {
                steps: args.steps.unwrap_or(if args.quick { 6 } else { 7 }) as u32,
                min_step: Duration::from_secs_f64(min_step),
                max_step: Duration::from_secs_f64(max_step),
                min_rate: args.min_rate,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_long_enough_for_the_tail() {
        let s = SearchSettings {
            steps: 6,
            min_step: Duration::from_secs(1),
            max_step: Duration::from_secs(5),
            min_rate: None,
        };
        // p99 needs 500 operations, p99.9 5,000 (20% slack on top).
        assert_eq!(s.step_secs(10_000.0, Percentile::P99), 1.0);
        assert!((s.step_secs(100.0, Percentile::P99) - 6.0).abs() < 1e-9);
        assert!((s.step_secs(1000.0, Percentile::P999) - 6.0).abs() < 1e-9);
        // The lowest rate: 1% of the throughput, raised so the tail fits.
        assert_eq!(s.lowest_rate(1_000_000.0, Percentile::P99), 10_000.0);
        assert!((s.lowest_rate(10_000.0, Percentile::P99) - 120.0).abs() < 1e-9);
        // Never above half the throughput.
        assert_eq!(s.lowest_rate(100.0, Percentile::P99), 50.0);
    }

    #[test]
    fn budgets_read_as_people_write_them() {
        let b = |percentile, us| Budget { percentile, us }.to_string();
        assert_eq!(b(Percentile::P99, 1000.0), "p99 <= 1ms");
        assert_eq!(b(Percentile::P999, 250.0), "p999 <= 250us");
        assert_eq!(b(Percentile::P99, 2e6), "p99 <= 2s");
    }
}
