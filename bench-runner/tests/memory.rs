//! `peak_rss_bytes` moves with an engine's configuration: lsm holding a
//! 64 MiB memtable peaks higher than lsm flushing every 4 MiB, over the
//! same writes. One test in its own binary: the resident set is the whole
//! process's, so nothing else may run beside it.

use bench_runner::measure::memory::{reset_peak, Rss};
use engines::{EngineConfig, SyncPolicy};

/// Peak resident bytes above the reset while lsm with `memtable_bytes`
/// takes 300,000 puts of 16 + 100 bytes (about 35 MB of keys and values).
fn peak_above_start(memtable_bytes: u64) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let start = reset_peak().expect("clear_refs works on Linux");
    let mut c = EngineConfig::new(dir.path(), SyncPolicy::NONE);
    c.memtable_bytes = memtable_bytes;
    let e = engines::open("lsm", c).unwrap();
    let value = [9u8; 100];
    for i in 0..300_000u64 {
        let key = format!(
            "{:016}",
            i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_007
        );
        e.put(key.as_bytes(), &value).unwrap();
    }
    let peak = Rss::read().unwrap().peak;
    e.close().unwrap();
    peak.saturating_sub(start)
}

#[test]
fn a_larger_memtable_peaks_higher() {
    let small = peak_above_start(4 << 20);
    let large = peak_above_start(64 << 20);
    eprintln!("lsm peak above start: 4 MiB memtable {small} B, 64 MiB memtable {large} B");
    assert!(
        large > small + (20 << 20),
        "64 MiB memtable peaked {large} B above start, 4 MiB {small} B"
    );
}
