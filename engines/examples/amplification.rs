//! Write and space amplification of the ordered engines after 1M random
//! puts (16-byte keys, 100-byte values) over 100k keys, with the default
//! configuration and policy `none`. A measurement, not a check: run with
//! `cargo run --release -p engines --example amplification`
//! (`AMP_ENGINE=lsm|btree` for one engine).
//! `AMP_FILL=N` instead inserts N distinct keys (fillrandom);
//! `AMP_MEMTABLE_BYTES` and `AMP_CACHE_PAGES` override those defaults.

use engines::fs::{RealFs, Vfs};
use engines::{EngineConfig, SyncPolicy};

const KEYS: u64 = 100_000;
const PUTS: u64 = 1_000_000;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let s = format!(
        "k{:015}",
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 1_000_000_000_000_000
    );
    k.copy_from_slice(s.as_bytes());
    k
}

/// About 10 s per engine.
fn main() {
    let only = std::env::var("AMP_ENGINE").ok();
    for name in ["lsm", "btree"] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let t = tempfile::tempdir().unwrap();
        let mut cfg = EngineConfig::new(t.path(), SyncPolicy::NONE);
        let env = |v: &str| std::env::var(v).ok().and_then(|s| s.parse::<u64>().ok());
        if let Some(n) = env("AMP_MEMTABLE_BYTES") {
            cfg.memtable_bytes = n;
        }
        if let Some(n) = env("AMP_CACHE_PAGES") {
            cfg.cache_pages = n as usize;
        }
        let fill = env("AMP_FILL");
        let e = engines::open(name, cfg).unwrap();
        let mut x = 0x1234_5678u64;
        let mut value = [0u8; 100];
        for i in 0..fill.unwrap_or(PUTS) {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            value[..8].copy_from_slice(&i.to_le_bytes());
            value[8..16].copy_from_slice(&x.to_le_bytes());
            let k = if fill.is_some() { i } else { (x >> 33) % KEYS };
            e.put(&key(k), &value).unwrap();
        }
        let s = e.stats();
        let live = e.scan(b"", None, usize::MAX).unwrap();
        let live_bytes: u64 = live.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum();
        let on_disk: u64 = RealFs
            .list_dir(t.path())
            .unwrap()
            .iter()
            .map(|n| RealFs.open(&t.path().join(n)).unwrap().len().unwrap())
            .sum();
        println!(
            "{name}: write amp {:.2} ({} / {} bytes), space amp {:.2} (files {} bytes, live {} keys {} bytes), by kind {:?}, runs {:?}, notes {:?}",
            s.bytes_written() as f64 / s.user_bytes as f64,
            s.bytes_written(),
            s.user_bytes,
            on_disk as f64 / live_bytes as f64,
            on_disk,
            live.len(),
            live_bytes,
            s.bytes_written_by_kind,
            s.maintenance_runs,
            s.notes,
        );
        e.close().unwrap();
    }
}
