//! Record framing and WAL append cost.
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
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

fn wal_append(c: &mut Criterion) {
    let mut g = c.benchmark_group("wal");
    g.throughput(Throughput::Elements(1));
    for policy in ["none", "always"] {
        let dir = tempfile::tempdir().expect("temp dir");
        let policy: SyncPolicy = policy.parse().expect("policy");
        let wal = engines::open("wal", EngineConfig::new(dir.path(), policy)).expect("open wal");
        let value = [42u8; 100];
        let mut i = 0u64;
        g.bench_function(format!("put_{policy}_16B_key_100B_value"), |b| {
            b.iter_batched(
                || {
                    i += 1;
                    format!("{i:016}")
                },
                |key| wal.put(key.as_bytes(), &value).expect("put"),
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, framing, wal_append);
criterion_main!(benches);
