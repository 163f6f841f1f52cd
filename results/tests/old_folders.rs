//! Results folders in the first format (`fixtures/format-v1`: written
//! before the device-flush, interval and multi-writer columns existed)
//! still load: every new column is `#[serde(default)]`, and an absent
//! figure reads as empty, not 0.

use std::path::PathBuf;

use results::{read_csv, LatencyRow, ProbeRow, RunRow};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/format-v1")
        .join(name)
}

#[test]
fn runs_from_before_the_new_columns_load_with_empty_figures() {
    let rows: Vec<RunRow> = read_csv(&fixture("runs.csv")).unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        assert!(r.ops_per_sec > 0.0, "{r:?}");
        assert_eq!(r.device_flushes, None, "not measured then: {r:?}");
        assert_eq!(r.flushes_per_write, None);
        assert_eq!(r.noisy, None);
        assert_eq!((r.ops_per_sec_ci_low, r.ops_per_sec_ci_high), (None, None));
        assert_eq!(r.latency_sample_every, None);
    }
    // Sync counts written as numbers then still read as counted.
    assert!(rows.iter().any(|r| r.file_syncs.is_some_and(|n| n > 0)));
    let reps: Vec<RunRow> = read_csv(&fixture("repetitions.csv")).unwrap();
    assert!(reps.len() >= rows.len());
}

#[test]
fn probes_and_latency_from_before_load() {
    let probe: Vec<ProbeRow> = read_csv(&fixture("probe.csv")).unwrap();
    assert!(probe.iter().any(|p| p.pattern == "append+fdatasync"));
    for p in &probe {
        assert_eq!(p.threads, None, "{p:?}");
        assert!(p.layout.is_empty() && p.prepared.is_empty() && p.warning.is_empty());
    }
    let lat: Vec<LatencyRow> = read_csv(&fixture("latency.csv")).unwrap();
    assert!(!lat.is_empty());
}
