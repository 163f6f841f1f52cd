//! `capacity`: bad input is refused with exit 2 before anything runs; a
//! tiny real search writes capacity.csv with a verdict per cell and
//! budget; and (ignored, for a quiet machine) the search finds the known
//! capacity of an engine with a fixed service time.

use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use bench_runner::capacity::{measure_at, search, Bounds, Percentile, SearchSettings, Verdict};
use bench_runner::plan::Cell;
use engines::registry::EngineInfo;
use engines::{Capabilities, Engine, EngineConfig, EngineStats, SyncPolicy};
use predicates::str::contains;
use results::capacity::{load_capacity, STATUS_AT_CLOSED_LOOP, STATUS_MISSES};

mod common;
use common::{bench, setup};

fn refused(extra: &[&str], message: &str) {
    let (t, disk) = setup();
    let out = t.path().join("out");
    bench()
        .arg("capacity")
        .arg("--disk")
        .arg(&disk)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .assert()
        .code(2)
        .stderr(contains(message));
    assert!(!out.exists(), "a refused command wrote {}", out.display());
}

#[test]
fn bad_budgets_and_thread_counts_exit_2_with_a_message() {
    refused(&["--p99", "0"], "greater than 0");
    refused(&["--p99", "0ms"], "greater than 0");
    refused(&["--p99", "1"], "no unit");
    refused(&["--p99", "fast"], "no unit");
    refused(&["--p999", "1ms,-2ms"], "greater than 0");
    refused(&["--p99", "1ms", "--threads", "2000"], "from 1 to 1024");
    refused(&["--p99", "1ms", "--steps", "3"], "from 6 to 30");
    refused(&[], "--p99 1ms");
    refused(&["--p99", "1ms", "--engines", "nosuch"], "nosuch");
}

#[test]
fn a_tiny_search_writes_a_verdict_per_cell_and_budget() {
    let (t, disk) = setup();
    let out = t.path().join("out");
    let started = Instant::now();
    bench()
        .args(["capacity", "--quick", "--quiet", "--no-plots"])
        .args(["--engines", "wal", "--policies", "none", "--threads", "1"])
        // 1 hour: within at the closed-loop rate; 1 µs: nothing is that fast.
        .args(["--p99", "3600s,1us", "--step-duration", "0.1"])
        .arg("--disk")
        .arg(&disk)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(0);
    eprintln!("took {:.1} s", started.elapsed().as_secs_f64());
    let rows = load_capacity(&out).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    let easy = &rows[0];
    assert_eq!(easy.status, STATUS_AT_CLOSED_LOOP, "{easy:?}");
    assert_eq!(
        easy.capacity_ops_per_sec,
        Some(easy.closed_loop_ops_per_sec)
    );
    assert!(easy.closed_loop_ops_per_sec > 0.0);
    assert!(easy.p_at_capacity_us.is_some_and(|p| p > 0.0));
    assert_eq!(easy.steps, 1, "the grid starts at the top, within");
    let hard = &rows[1];
    assert_eq!(hard.status, STATUS_MISSES, "{hard:?}");
    assert_eq!(hard.capacity_ops_per_sec, None);
    assert!(hard.p_at_lowest_us.is_some_and(|p| p > 1.0));
    assert_eq!(hard.budget_us, 1.0);
    assert_eq!(hard.steps, 4, "the whole grid was over the budget");
    let csv = std::fs::read_to_string(out.join("capacity.csv")).unwrap();
    assert!(
        csv.contains(",,"),
        "the missed capacity is an empty field: {csv}"
    );
    // The closed-loop measurement is a runs.csv row too.
    let runs: Vec<results::RunRow> = results::read_csv(&out.join("runs.csv")).unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].status, "ok");
}

/// An engine whose every operation spins for a fixed time: service time
/// `SERVICE`, so one client's throughput is `1/SERVICE`.
#[derive(Debug)]
struct Spin;

const SERVICE: Duration = Duration::from_micros(200);

impl Spin {
    fn work() {
        let t = Instant::now();
        while t.elapsed() < SERVICE {
            std::hint::spin_loop();
        }
    }
}

impl Engine for Spin {
    fn name(&self) -> &'static str {
        "spin"
    }
    fn capabilities(&self) -> Capabilities {
        CAPS
    }
    fn put(&self, _: &[u8], _: &[u8]) -> engines::Result<()> {
        Spin::work();
        Ok(())
    }
    fn get(&self, _: &[u8]) -> engines::Result<Option<Vec<u8>>> {
        Spin::work();
        Ok(None)
    }
    fn delete(&self, _: &[u8]) -> engines::Result<()> {
        Spin::work();
        Ok(())
    }
    fn scan(
        &self,
        _: &[u8],
        _: Option<&[u8]>,
        _: usize,
    ) -> engines::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(Vec::new())
    }
    fn sync(&self) -> engines::Result<()> {
        Ok(())
    }
    fn close(&self) -> engines::Result<()> {
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        EngineStats::default()
    }
}

const CAPS: Capabilities = Capabilities {
    point_reads: true,
    range_scans: false,
    deletes: true,
    replay: false,
};

fn open_spin(_: EngineConfig) -> engines::Result<Box<dyn Engine>> {
    Ok(Box::new(Spin))
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
/// so ignored by default:
/// `cargo test --release -p bench-runner --test capacity -- --ignored --nocapture`.
#[test]
#[ignore = "timing-dependent: run on a quiet machine"]
fn the_search_finds_the_capacity_of_a_fixed_service_time() {
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
