//! Put rates on a real disk, moved out of the test suite (they measure,
//! they check nothing). Two sets, each in one run:
//!
//! - `btree`: 1,000,000 random puts under `none` and 5,000 under
//!   `always` over 100,000 keys (cache `BTREE_CACHE_PAGES`, default 4096
//!   pages), with the bytes written by kind, next to a raw loop of
//!   137-byte appends + fdatasync;
//! - `hash`: puts/s of bitcask and loghash under `none` and `always` (one
//!   thread, 16-byte keys, 100-byte values, default config, ~3 s a cell),
//!   next to raw 137-byte append loops with and without an fdatasync.
//!
//! ```text
//! cargo run --release -p engines --example put_figures -- btree|hash [DIR]
//! ```
//!
//! `DIR` (default `.`) is a folder on the disk to measure.

use std::time::{Duration, Instant};

use engines::fs::{RealFs, Vfs};
use engines::record::HEADER_LEN;
use engines::EngineConfig;

/// A 16-byte key: `i` scattered over `keys` keys, zero-padded decimal.
fn fig_key(i: u64, keys: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % keys;
    k.copy_from_slice(format!("{h:016}").as_bytes());
    k
}

/// Runs `op` until `cell` has passed (a multiple of 16 times); the count
/// and the rate per second.
fn timed(cell: Duration, op: &mut dyn FnMut(u64)) -> (u64, f64) {
    let start = Instant::now();
    let mut n = 0u64;
    while n % 16 != 0 || start.elapsed() < cell {
        op(n);
        n += 1;
    }
    (n, n as f64 / start.elapsed().as_secs_f64())
}

/// Appends `record` `n` times (or for `cell`), with an fdatasync after each
/// when `sync`; prints the rate.
fn raw(base: &str, record: &[u8], sync: bool, cell: Duration) {
    let t = tempfile::tempdir_in(base).unwrap();
    let f = RealFs.create(&t.path().join("raw.wal")).unwrap();
    let (n, rate) = timed(cell, &mut |_| {
        f.append(record).unwrap();
        if sync {
            f.sync_data().unwrap();
        }
    });
    let what = if sync { "append+fdatasync" } else { "append" };
    println!(
        "raw {what:<18} ({} B) {rate:>10.0} ops/s ({n} ops)",
        record.len()
    );
}

fn btree(base: &str) {
    let value = [42u8; 100];
    let cache: usize = std::env::var("BTREE_CACHE_PAGES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(4096);
    for (policy, n) in [("none", 1_000_000u64), ("always", 5_000)] {
        let t = tempfile::tempdir_in(base).unwrap();
        let mut cfg = EngineConfig::new(t.path(), policy.parse().unwrap());
        cfg.cache_pages = cache;
        let e = engines::open("btree", cfg).unwrap();
        let mut x = 42u64;
        let start = Instant::now();
        for _ in 0..n {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            e.put(&fig_key(x >> 33, 100_000), &value).unwrap();
        }
        let secs = start.elapsed().as_secs_f64();
        let s = e.stats();
        println!(
            "{policy}: {n} random puts over 100,000 keys, cache {cache} pages: {:.0} puts/s, \
             {} checkpoints, log syncs {}",
            n as f64 / secs,
            s.maintenance_runs["checkpoints"],
            s.log_syncs
        );
        let user = s.user_bytes as f64;
        for (kind, b) in &s.bytes_written_by_kind {
            println!(
                "  {kind:>6}: {b:>12} bytes = {:.2} x user bytes",
                *b as f64 / user
            );
        }
        println!(
            "  total : {:>12} bytes = {:.2} x user bytes ({} user bytes), {} pages",
            s.bytes_written(),
            s.bytes_written() as f64 / user,
            s.user_bytes,
            s.notes["pages"]
        );
        e.close().unwrap();
    }
    raw(base, &[7u8; 137], true, Duration::from_secs(3));
}

fn hash(base: &str) {
    let cell = Duration::from_secs(3);
    let value = [42u8; 100];
    println!("dir {base} (16-byte keys, 100-byte values, one thread)");
    for sync in [false, true] {
        raw(base, &[7u8; HEADER_LEN + 16 + 100], sync, cell);
    }
    for name in ["bitcask", "loghash"] {
        for policy in ["none", "always"] {
            let t = tempfile::tempdir_in(base).unwrap();
            let e =
                engines::open(name, EngineConfig::new(t.path(), policy.parse().unwrap())).unwrap();
            let (n, rate) = timed(cell, &mut |i| {
                e.put(&fig_key(i, 1_000_000), &value).unwrap()
            });
            let s = e.stats();
            println!(
                "{name:<8} {policy:<13} {rate:>10.0} puts/s ({n} puts, {} syncs, {} merges, {} files)",
                s.log_syncs,
                s.maintenance_runs.values().sum::<u64>(),
                s.files
            );
            e.close().unwrap();
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_default();
    let base = args.next().unwrap_or_else(|| ".".into());
    match which.as_str() {
        "btree" => btree(&base),
        "hash" => hash(&base),
        _ => {
            eprintln!("usage: put_figures btree|hash [DIR]");
            std::process::exit(2);
        }
    }
}
