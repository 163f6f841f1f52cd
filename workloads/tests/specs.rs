//! Presets, TOML files, bad input, determinism and operation mixes.

use std::collections::HashMap;
use std::path::Path;

use workloads::{
    preset, KeyDistribution, OpKind, OperationMix, WorkloadError, WorkloadSpec, PRESETS,
};

fn parse(text: &str) -> Result<WorkloadSpec, WorkloadError> {
    WorkloadSpec::from_toml(text, Path::new("test.toml"))
}

#[test]
fn every_preset_validates_and_round_trips_through_toml() {
    for name in PRESETS {
        let spec = preset(name).unwrap();
        spec.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = spec.to_toml().unwrap();
        let back = WorkloadSpec::from_toml(&text, Path::new("x.toml")).unwrap();
        assert_eq!(back, spec, "{name}");
    }
}

#[test]
fn ycsb_presets_have_ycsb_proportions() {
    let a = preset("ycsb-a").unwrap();
    assert_eq!((a.mix.read, a.mix.update), (0.5, 0.5));
    assert!(
        matches!(a.distribution, KeyDistribution::ScrambledZipfian { constant } if constant == 0.99)
    );
    let d = preset("ycsb-d").unwrap();
    assert_eq!((d.mix.read, d.mix.insert), (0.95, 0.05));
    assert!(matches!(d.distribution, KeyDistribution::Latest { .. }));
    let e = preset("ycsb-e").unwrap();
    assert_eq!((e.mix.scan, e.scan_length.max), (0.95, 100));
    let f = preset("ycsb-f").unwrap();
    assert_eq!(f.mix.read_modify_write, 0.5);
}

#[test]
fn unknown_preset_lists_the_presets() {
    let err = preset("ycsb-z").unwrap_err().to_string();
    assert!(
        err.contains("ycsb-z") && err.contains("ycsb-a") && err.contains("fillrandom"),
        "{err}"
    );
}

#[test]
fn example_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("example.toml");
    let spec = workloads::load_file(&path).unwrap();
    assert_eq!(spec.name, "example-hotspot");
    assert!(matches!(spec.distribution, KeyDistribution::Hotspot { .. }));
}

#[test]
fn bad_input_names_the_field() {
    let cases = [
        ("record_count = 10\nbogus = 1\n", "bogus"),
        ("key_size = -16\n", "key_size"),
        ("[mix]\nread = 0.0\n", "mix"),
        (
            "[mix]\nupdate = 1.0\n[distribution]\ntype = \"zipfian\"\nconstant = 1.0\n",
            "constant",
        ),
        (
            "[mix]\nupdate = 1.0\n[distribution]\ntype = \"zipfian\"\nconstant = 1.5\n",
            "constant",
        ),
        (
            "key_size = 3\nrecord_count = 1000\n[mix]\nread = 1.0\n",
            "key_size",
        ),
        (
            "operation_count = 5\nduration_secs = 1.0\n[mix]\nread = 1.0\n",
            "duration_secs",
        ),
        ("[mix]\nread = -1.0\n", "read"),
        (
            "[value_size]\nmin = 10\nmax = 5\n[mix]\nread = 1.0\n",
            "value_size",
        ),
        ("[distribution]\ntype = \"pareto\"\n", "pareto"),
    ];
    for (text, field) in cases {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(field), "`{text}` -> {err}");
    }
    // TOML errors carry the line.
    let err = parse("record_count = 10\nbogus = 1\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 2"), "{err}");
}

fn collect(
    spec: &WorkloadSpec,
    thread: usize,
    threads: usize,
    n: usize,
) -> Vec<(OpKind, Vec<u8>, Vec<u8>)> {
    let mut s = spec.run_stream(thread, threads);
    let mut out = Vec::new();
    while let Some(op) = s.next_op() {
        out.push((op.kind, op.key.to_vec(), op.value.to_vec()));
        if out.len() == n {
            break;
        }
    }
    out
}

#[test]
fn same_seed_same_stream_different_seed_different_stream() {
    let spec = preset("ycsb-a").unwrap();
    assert_eq!(collect(&spec, 0, 1, 2000), collect(&spec, 0, 1, 2000));
    let other = WorkloadSpec {
        seed: 99,
        ..spec.clone()
    };
    assert_ne!(collect(&spec, 0, 1, 2000), collect(&other, 0, 1, 2000));
    // Each thread's stream depends only on (spec, thread, threads).
    assert_eq!(collect(&spec, 2, 4, 500), collect(&spec, 2, 4, 500));
    assert_ne!(collect(&spec, 1, 4, 500), collect(&spec, 2, 4, 500));
}

#[test]
fn operation_counts_split_across_threads_exactly() {
    let spec = WorkloadSpec {
        operation_count: Some(1001),
        ..preset("ycsb-a").unwrap()
    };
    let total: usize = (0..4).map(|t| collect(&spec, t, 4, usize::MAX).len()).sum();
    assert_eq!(total, 1001);
    let load: usize = (0..3)
        .map(|t| {
            let mut s = spec.load_stream(t, 3);
            let mut n = 0;
            while s.next_op().is_some() {
                n += 1;
            }
            n
        })
        .sum();
    assert_eq!(load as u64, spec.record_count);
}

#[test]
fn inserts_never_collide_across_threads_and_loads_cover_every_key() {
    let spec = WorkloadSpec {
        operation_count: Some(4000),
        ..preset("fillrandom").unwrap()
    };
    let mut seen = std::collections::HashSet::new();
    for t in 0..4 {
        for (_, k, _) in collect(&spec, t, 4, usize::MAX) {
            assert!(seen.insert(k), "duplicate insert key");
        }
    }
    assert_eq!(seen.len(), 4000);
    let spec = WorkloadSpec {
        record_count: 5000,
        ..preset("readrandom").unwrap()
    };
    let mut loaded = std::collections::HashSet::new();
    for t in 0..3 {
        let mut s = spec.load_stream(t, 3);
        while let Some(op) = s.next_op() {
            assert_eq!(op.kind, OpKind::Insert);
            loaded.insert(op.key.to_vec());
        }
    }
    assert_eq!(loaded.len(), 5000);
    // Reads only ask for loaded keys.
    for (_, k, _) in collect(&spec, 0, 1, 5000) {
        assert!(loaded.contains(&k));
    }
}

#[test]
fn mix_matches_its_proportions_over_100k_ops() {
    let spec = WorkloadSpec {
        operation_count: Some(100_000),
        mix: OperationMix {
            read: 0.5,
            update: 0.2,
            insert: 0.1,
            scan: 0.15,
            read_modify_write: 0.05,
            ..OperationMix::default()
        },
        ..preset("ycsb-a").unwrap()
    };
    let mut counts: HashMap<OpKind, usize> = HashMap::new();
    for (k, _, _) in collect(&spec, 0, 1, usize::MAX) {
        *counts.entry(k).or_default() += 1;
    }
    for (kind, want) in [
        (OpKind::Read, 0.5),
        (OpKind::Update, 0.2),
        (OpKind::Insert, 0.1),
        (OpKind::Scan, 0.15),
        (OpKind::ReadModifyWrite, 0.05),
    ] {
        let got = counts.get(&kind).copied().unwrap_or(0) as f64 / 100_000.0;
        assert!((got - want).abs() < 0.01, "{kind:?}: {got} vs {want}");
    }
    assert!(!counts.contains_key(&OpKind::Delete));
}

#[test]
fn open_loop_streams_carry_intended_start_times() {
    let spec = WorkloadSpec {
        target_rate: Some(1000.0),
        ..preset("ycsb-c").unwrap()
    };
    let mut s = spec.run_stream(1, 2);
    let starts: Vec<_> = (0..3)
        .map(|_| s.next_op().unwrap().intended_start.unwrap())
        .collect();
    // 1000 ops/s over 2 threads: 2 ms apart per thread.
    assert_eq!(starts[1] - starts[0], std::time::Duration::from_millis(2));
    assert!(preset("ycsb-c")
        .unwrap()
        .run_stream(0, 1)
        .next_op()
        .unwrap()
        .intended_start
        .is_none());
}

#[test]
fn values_have_the_requested_sizes() {
    let spec = WorkloadSpec {
        value_size: workloads::ValueSize::Uniform { min: 10, max: 20 },
        ..preset("overwrite").unwrap()
    };
    for (_, _, v) in collect(&spec, 0, 1, 1000) {
        assert!((10..=20).contains(&v.len()));
    }
}

#[test]
fn capabilities_decide_support() {
    let wal = engines::registry::info("wal").unwrap().capabilities;
    assert!(preset("ycsb-a")
        .unwrap()
        .check_supported(&wal)
        .unwrap_err()
        .contains("point reads"));
    assert!(preset("append").unwrap().check_supported(&wal).is_ok());
    assert!(preset("fillrandom").unwrap().check_supported(&wal).is_ok());
}
