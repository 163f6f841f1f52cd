//! The capacity search against a synthetic engine of known service time
//! (200 us a put: capacity ~5,000 ops/s): the real harness finds it
//! within 15% under a 10 ms p99 budget, and prints what it finds under
//! 1 ms. Wall-clock bound (about a minute), so an example, run by hand on
//! a quiet machine:
//!
//! ```text
//! cargo run --release -p bench-runner --example capacity_synthetic
//! ```

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bench_runner::cli::plan::Cell;
use bench_runner::commands::capacity::{
    measure_at, search, Bounds, Percentile, SearchSettings, Verdict,
};
use bench_runner::measure::null::{Hooked, Op};
use engines::registry::EngineInfo;
use engines::{Capabilities, Engine, EngineConfig, SyncPolicy};

const SERVICE: Duration = Duration::from_micros(200);

/// Every operation spins for `SERVICE`, so one client's throughput is
/// `1/SERVICE`.
fn work(_: Op) -> engines::Result<()> {
    let t = Instant::now();
    while t.elapsed() < SERVICE {
        std::hint::spin_loop();
    }
    Ok(())
}

const CAPS: Capabilities = Capabilities {
    point_reads: true,
    range_scans: false,
    deletes: true,
    replay: false,
};

fn open_spin(_: EngineConfig) -> engines::Result<Box<dyn Engine>> {
    Ok(Box::new(Hooked::new("spin", CAPS, work)))
}

static SPIN: EngineInfo = EngineInfo::custom("spin", "spins 200 us per operation", CAPS, open_spin);

/// The figure for the note: the real harness and a synthetic engine of
/// known service time. Arrivals are evenly spaced (D/D/1), so latency stays
/// at the service time up to 1/service = 5,000 ops/s and the capacity under
/// any budget above the service time is ~5,000 ops/s.
///
/// The asserted budget is 10 ms: under 1 ms (800 us above the service
/// time) the answer is set by the machine's own stalls, not the queue. A
/// thread spinning on the reference VM sees about one gap over 0.5 ms per
/// second, up to 4 ms, and at 87% load one 2 ms gap puts ~35 operations
/// over 1 ms, enough to fail a p99 of 4,400: the 1 ms search found
/// 4,215-4,517 ops/s there. It is printed, not asserted. Wall-clock bound,
/// so a program to run by hand on a quiet machine, not a test.
fn main() {
    let t = tempfile::tempdir().unwrap();
    let mut workload = workloads::preset("fillrandom").unwrap();
    workload.threads = 1;
    let cell = Cell {
        engine: &SPIN,
        policy: SyncPolicy::NONE,
        workload,
    };
    let settings = SearchSettings {
        steps: 7,
        min_step: Duration::from_secs(1),
        max_step: Duration::from_secs(5),
        min_rate: None,
    };
    let stop = AtomicBool::new(false);
    let expected = 1.0 / SERVICE.as_secs_f64();
    let mut k = 0;
    for budget_us in [10_000.0, 1_000.0] {
        // The top: twice the service rate (the closed loop would give ~1/s).
        let bounds = Bounds {
            low: settings.lowest_rate(2.0 * expected, Percentile::P99),
            high: 2.0 * expected,
            steps: settings.steps,
            budget_us,
        };
        let c = search(bounds, |rate| {
            k += 1;
            let m = measure_at(
                &t.path().join(format!("step-{k}")),
                &cell,
                rate,
                Percentile::P99,
                &settings,
                &stop,
            );
            if let Ok(m) = &m {
                eprintln!(
                    "{rate:>8.0} ops/s: p99 {:>10.0} us over {} ops",
                    m.p_us, m.ops
                );
            }
            m
        })
        .map_err(|e| format!("{e:?}"))
        .unwrap();
        eprintln!(
            "p99 <= {budget_us} us, {}: capacity {:?} ops/s, bracket [{:?}, {:.0}], expected {expected:.0} (D/D/1)",
            c.verdict.status(),
            c.rate(),
            c.low,
            c.high
        );
        if budget_us < 10_000.0 {
            continue;
        }
        assert_eq!(c.verdict, Verdict::Within);
        let rate = c.rate().unwrap_or(0.0);
        assert!(
            (rate - expected).abs() / expected <= 0.15,
            "{rate} vs {expected}"
        );
    }
}
