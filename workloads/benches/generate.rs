//! Operations generated per second, per key distribution.
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workloads::{KeyDistribution, OperationMix, WorkloadSpec};

fn generate(c: &mut Criterion) {
    let mut g = c.benchmark_group("generate");
    g.throughput(Throughput::Elements(1));
    let dists = [
        KeyDistribution::Sequential,
        KeyDistribution::Uniform,
        KeyDistribution::Zipfian { constant: 0.99 },
        KeyDistribution::ScrambledZipfian { constant: 0.99 },
        KeyDistribution::Latest { constant: 0.99 },
        KeyDistribution::Hotspot {
            hot_keys: 0.2,
            hot_ops: 0.8,
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
        let name = d.describe();
        g.bench_function(name, |b| {
            b.iter(|| stream.next_op().map(|op| op.key.len() + op.value.len()))
        });
    }
    g.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
