//! `capacity`: bad input is refused with exit 2 before anything runs; a
//! tiny real search writes capacity.csv with a verdict per cell and
//! budget. That the search finds the known capacity of an engine with a
//! fixed service time is timing-bound: `examples/capacity_synthetic.rs`.

use std::time::Instant;

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
    // Every step of both searches, numbered per search.
    let steps: Vec<results::CapacityStepRow> =
        results::read_csv(&out.join("capacity_steps.csv")).unwrap();
    assert_eq!(steps.len() as u32, easy.steps + hard.steps, "{steps:?}");
    let (a, b) = steps.split_at(easy.steps as usize);
    assert!(a.iter().all(|s| s.budget_us == easy.budget_us && s.within));
    assert!(b
        .iter()
        .all(|s| s.budget_us == 1.0 && !s.within && s.p_us > 1.0));
    assert_eq!(
        b.iter().map(|s| s.step).collect::<Vec<_>>(),
        (1..=hard.steps).collect::<Vec<_>>()
    );
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
