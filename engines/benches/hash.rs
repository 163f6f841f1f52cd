//! The two hash engines alone: put under `none` and point get of an
//! existing key, 16-byte keys and 100-byte values (default config: 4 MiB
//! files, merge trigger 4, background merges), in a temp dir on the local
//! disk (`HASH_BENCH_DIR` to choose another).
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engines::{EngineConfig, SyncPolicy};

const KEYS: u64 = 100_000;

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % KEYS;
    k.copy_from_slice(format!("{h:016}").as_bytes());
    k
}

fn temp_dir() -> tempfile::TempDir {
    match std::env::var("HASH_BENCH_DIR") {
        Ok(base) => tempfile::tempdir_in(base).expect("temp dir"),
        Err(_) => tempfile::tempdir().expect("temp dir"),
    }
}

fn hash_engines(c: &mut Criterion) {
    let value = [42u8; 100];
    for name in ["bitcask", "loghash"] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.measurement_time(Duration::from_secs(5));
        let dir = temp_dir();
        let e = engines::open(name, EngineConfig::new(dir.path(), SyncPolicy::NONE)).expect("open");
        let mut i = 0u64;
        g.bench_function("put_none", |b| {
            b.iter(|| {
                i += 1;
                e.put(&key(i), &value).expect("put")
            })
        });
        // Every key exists for the reads.
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
        e.close().expect("close");
        g.finish();
    }
}

criterion_group!(benches, hash_engines);
criterion_main!(benches);
