//! The btree engine alone: put under `none`, point get of an existing key,
//! and a 100-key scan, with 16-byte keys and 100-byte values over 100,000
//! keys (default config: 4 KiB pages, 4096-page cache), in a temp dir on the
//! local disk (`BTREE_BENCH_DIR` to choose another).
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engines::btree::Btree;
use engines::{Engine, EngineConfig, SyncPolicy};

const KEYS: u64 = 100_000;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS;
    k.copy_from_slice(format!("{h:016}").as_bytes());
    k
}

fn temp_dir() -> tempfile::TempDir {
    match std::env::var("BTREE_BENCH_DIR") {
        Ok(base) => tempfile::tempdir_in(base).expect("temp dir"),
        Err(_) => tempfile::tempdir().expect("temp dir"),
    }
}

fn btree(c: &mut Criterion) {
    let value = [42u8; 100];
    let mut g = c.benchmark_group("btree");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));

    let dir = temp_dir();
    let e = Btree::open(EngineConfig::new(dir.path(), SyncPolicy::NONE)).expect("open");
    let mut i = 0u64;
    g.bench_function("put_none", |b| {
        b.iter(|| {
            i += 1;
            e.put(&key(i), &value).expect("put")
        })
    });
    // Make sure every key exists for the reads.
    for i in 0..KEYS {
        e.put(&key(i), &value).expect("load");
    }
    let mut i = 0u64;
    g.bench_function("get_existing", |b| {
        b.iter(|| {
            i += 1;
            e.get(&key(i)).expect("get").expect("present")
        })
    });
    let mut i = 0u64;
    g.bench_function("scan_100", |b| {
        b.iter(|| {
            i += 1;
            e.scan(&key(i), None, 100).expect("scan").len()
        })
    });
    e.close().expect("close");
    g.finish();
}

criterion_group!(benches, btree);
criterion_main!(benches);
