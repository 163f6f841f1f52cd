//! Operations generated per second: one key distribution per benchmark
//! (50% read / 50% update over 1,000,000 loaded keys, 16 B keys, 100 B
//! values), plus the load phase and YCSB D (latest with inserts).
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workloads::{KeyDistribution, OperationMix, WorkloadSpec};

/// Operations per measured iteration, so the per-iteration overhead of
/// criterion stays negligible.
const BATCH: u64 = 1000;

fn drain(stream: &mut workloads::OpStream) -> usize {
    let mut bytes = 0;
    for _ in 0..BATCH {
        if let Some(op) = stream.next_op() {
            bytes += op.key.len() + op.value.len() + op.scan_len;
        }
    }
    bytes
}

fn generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.throughput(Throughput::Elements(BATCH));
    let dists = [
        KeyDistribution::Sequential,
        KeyDistribution::Uniform,
        KeyDistribution::Zipfian { constant: 0.99 },
        KeyDistribution::ScrambledZipfian { constant: 0.99 },
        KeyDistribution::Latest { constant: 0.99 },
        KeyDistribution::Hotspot {
            hot_fraction_keys: 0.2,
            hot_fraction_ops: 0.8,
        },
    ];
    for d in dists {
        let spec = WorkloadSpec {
            record_count: 1_000_000,
            distribution: d,
            mix: OperationMix {
                read: 0.5,
                update: 0.5,
                ..OperationMix::default()
            },
            duration_secs: Some(1.0),
            ..WorkloadSpec::default()
        };
        let mut stream = spec.run_stream(0, 1);
        g.bench_function(d.describe(), |b| b.iter(|| black_box(drain(&mut stream))));
    }
    let ycsb_d = WorkloadSpec {
        duration_secs: Some(1.0),
        operation_count: None,
        record_count: 1_000_000,
        ..workloads::preset("ycsb-d").expect("preset")
    };
    let mut stream = ycsb_d.run_stream(0, 1);
    g.bench_function("ycsb-d (latest + 5% inserts)", |b| {
        b.iter(|| black_box(drain(&mut stream)))
    });
    let load = WorkloadSpec {
        record_count: u64::MAX / 2,
        ..WorkloadSpec::default()
    };
    let mut stream = load.load_stream(0, 1);
    g.bench_function("load phase (hashed keys)", |b| {
        b.iter(|| black_box(drain(&mut stream)))
    });
    g.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
