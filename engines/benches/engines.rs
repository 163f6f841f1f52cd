//! Record framing, and every registered engine: put under `none`, put under
//! `always`, point get of an existing key, and a 100-key scan where the
//! engine supports them (16-byte keys, 100-byte values, temp dir on the
//! local disk).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engines::record::{self, Record};
use engines::{EngineConfig, SyncPolicy};

fn framing(c: &mut Criterion) {
    let key = [7u8; 16];
    let value = [42u8; 100];
    let rec = Record {
        seq: 1,
        key: &key,
        value: Some(&value),
        batch_continues: false,
    };
    let mut g = c.benchmark_group("record");
    g.throughput(Throughput::Bytes(rec.encoded_len() as u64));
    let mut buf = Vec::with_capacity(256);
    g.bench_function("encode_16B_key_100B_value", |b| {
        b.iter(|| {
            buf.clear();
            record::encode_into(&mut buf, std::hint::black_box(&rec));
        })
    });
    let encoded = record::encode(&rec);
    g.bench_function("decode_16B_key_100B_value", |b| {
        b.iter(|| record::decode(std::hint::black_box(&encoded)).map(|(r, _)| r.seq))
    });
    g.finish();
}

fn key(i: u64) -> [u8; 16] {
    let mut k = [b'0'; 16];
    let s = format!(
        "{:016}",
        i.wrapping_mul(0x9E37_79B9_7F4A_7C13) % 10_000_000_000_000_000
    );
    k.copy_from_slice(s.as_bytes());
    k
}

fn engines_bench(c: &mut Criterion) {
    let value = [42u8; 100];
    for info in engines::registry::all() {
        let mut g = c.benchmark_group(info.name);
        g.throughput(Throughput::Elements(1));
        for policy in ["none", "always"] {
            let dir = tempfile::tempdir().expect("temp dir");
            let policy: SyncPolicy = policy.parse().expect("policy");
            // Reference engines refuse policies they cannot honour (redb
            // and `none`): nothing to measure there.
            let e = match info.open(EngineConfig::new(dir.path(), policy)) {
                Ok(e) => e,
                Err(err) => {
                    eprintln!("{}/put_{policy}: skipped: {err}", info.name);
                    continue;
                }
            };
            let mut i = 0u64;
            g.bench_function(format!("put_{policy}"), |b| {
                b.iter(|| {
                    i += 1;
                    e.put(&key(i), &value).expect("put")
                })
            });
            let _ = e.close();
        }
        // The same puts with a listener on the engine's events, as every
        // measured cell of bench-runner runs them.
        if ["wal", "bitcask", "lsm"].contains(&info.name) {
            let dir = tempfile::tempdir().expect("temp dir");
            let mut config = EngineConfig::new(dir.path(), SyncPolicy::NONE);
            let log = engines::events::EventLog::shared();
            config.events = engines::events::Events::to(log.clone());
            let e = info.open(config).expect("open engine");
            let mut i = 0u64;
            g.bench_function("put_none_with_events", |b| {
                b.iter(|| {
                    i += 1;
                    e.put(&key(i), &value).expect("put")
                })
            });
            let _ = e.close();
            let _ = log.take();
        }
        if info.capabilities.point_reads || info.capabilities.range_scans {
            let dir = tempfile::tempdir().expect("temp dir");
            // The reads are measured on data loaded under `none`; an
            // engine that refuses `none` (redb) has no such data.
            let e = match info.open(EngineConfig::new(dir.path(), SyncPolicy::NONE)) {
                Ok(e) => e,
                Err(err) => {
                    eprintln!("{}/get_existing, scan_100: skipped: {err}", info.name);
                    continue;
                }
            };
            let n = 100_000u64;
            for i in 0..n {
                e.put(&key(i), &value).expect("load");
            }
            if info.capabilities.point_reads {
                let mut i = 0u64;
                g.bench_function("get_existing", |b| {
                    b.iter(|| {
                        i = (i + 7919) % n;
                        e.get(&key(i)).expect("get").expect("present")
                    })
                });
            }
            if info.capabilities.range_scans {
                let mut i = 0u64;
                g.bench_function("scan_100", |b| {
                    b.iter(|| {
                        i = (i + 7919) % n;
                        e.scan(&key(i), None, 100).expect("scan").len()
                    })
                });
            }
            let _ = e.close();
        }
        g.finish();
    }
}

criterion_group!(benches, framing, engines_bench);
criterion_main!(benches);
