//! The harness's own cost per operation: generation alone, and the measured
//! loop (generation + two clock reads + two histogram records) against a
//! null engine. Compare with a `none`-mode put (`cargo bench -p engines`).
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use workloads::{OperationMix, WorkloadSpec};

fn spec(n: u64) -> WorkloadSpec {
    WorkloadSpec {
        operation_count: Some(n),
        mix: OperationMix {
            update: 1.0,
            ..OperationMix::default()
        },
        ..workloads::preset("overwrite").expect("preset")
    }
}

fn harness(c: &mut Criterion) {
    let n = 1_000_000u64;
    let s = spec(n);
    let mut g = c.benchmark_group("harness");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("generate_only", |b| {
        b.iter(|| {
            let mut st = s.run_stream(0, 1);
            let mut k = 0usize;
            while let Some(op) = st.next_op() {
                k += op.key.len();
            }
            k
        })
    });
    let null = bench_runner::measure::null::NullEngine::default();
    g.bench_function("loop_without_recording", |b| {
        b.iter(|| bench_runner::measure::drive::drive_for_bench(&null, &s, false, false))
    });
    g.bench_function("loop_with_timing_and_histograms", |b| {
        b.iter(|| bench_runner::measure::drive::drive_for_bench(&null, &s, true, false))
    });
    g.bench_function("loop_with_timing_histograms_and_timeline", |b| {
        b.iter(|| bench_runner::measure::drive::drive_for_bench(&null, &s, true, true))
    });
    g.finish();
}

criterion_group!(benches, harness);
criterion_main!(benches);
