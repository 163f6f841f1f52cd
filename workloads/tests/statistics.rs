//! Statistical properties of the streams, with fixed seeds: uniform is even,
//! zipfian's top key takes its analytic share, latest favours recent
//! inserts, hotspot sends its share to the hot set, and the mix matches its
//! proportions.

use std::collections::HashMap;

use workloads::{preset, zeta, KeyDistribution, OpKind, OperationMix, WorkloadSpec};

fn reads(distribution: KeyDistribution, record_count: u64, ops: u64) -> WorkloadSpec {
    WorkloadSpec {
        record_count,
        operation_count: Some(ops),
        distribution,
        mix: OperationMix {
            read: 1.0,
            ..OperationMix::default()
        },
        ..WorkloadSpec::default()
    }
}

/// Reads per key number.
fn read_counts(spec: &WorkloadSpec) -> Vec<u64> {
    let number: HashMap<Vec<u8>, usize> = (0..spec.record_count)
        .map(|i| (spec.key(i), i as usize))
        .collect();
    let mut counts = vec![0u64; spec.record_count as usize];
    let mut s = spec.run_stream(0, 1);
    while let Some(op) = s.next_op() {
        counts[number[op.key]] += 1;
    }
    counts
}

#[test]
fn uniform_covers_the_key_space_evenly() {
    let spec = reads(KeyDistribution::Uniform, 100, 200_000);
    let counts = read_counts(&spec);
    // 2000 expected per key, binomial sd 44: every key within 10%.
    let (lo, hi) = (counts.iter().min(), counts.iter().max());
    assert!(
        counts.iter().all(|&c| (1800..=2200).contains(&c)),
        "{lo:?}..{hi:?}"
    );
    // And the spread is binomial, not suspiciously flat: chi-square with 99
    // degrees of freedom lies in 60..150 far beyond 99.9% of the time.
    let chi2: f64 = counts
        .iter()
        .map(|&c| (c as f64 - 2000.0).powi(2) / 2000.0)
        .sum();
    assert!((60.0..150.0).contains(&chi2), "chi-square {chi2}");
}

#[test]
fn zipfian_top_key_takes_its_analytic_share() {
    for theta in [0.5, 0.99] {
        let n = 1000;
        let ops = 100_000;
        let spec = reads(KeyDistribution::Zipfian { constant: theta }, n, ops);
        let counts = read_counts(&spec);
        // Key 0 is rank 0: P = 1/H(n, theta); key 1 is 1/2^theta of that.
        let p0 = 1.0 / zeta(n, theta);
        let p1 = p0 / 2f64.powf(theta);
        let got0 = counts[0] as f64 / ops as f64;
        let got1 = counts[1] as f64 / ops as f64;
        // Binomial sd at most 0.0011 here.
        assert!(
            (got0 - p0).abs() < 0.005,
            "theta {theta}: key 0 {got0} vs {p0}"
        );
        assert!(
            (got1 - p1).abs() < 0.005,
            "theta {theta}: key 1 {got1} vs {p1}"
        );
        assert_eq!(counts.iter().max(), Some(&counts[0]));
    }
}

#[test]
fn scrambled_zipfian_is_skewed_but_its_hot_key_is_not_key_zero() {
    let ops = 100_000;
    let spec = reads(
        KeyDistribution::ScrambledZipfian { constant: 0.99 },
        1000,
        ops,
    );
    let counts = read_counts(&spec);
    let top = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap_or(0);
    assert_ne!(top, 0);
    // Rank 0 of YCSB's 10^10 items: 1/26.47 = 3.8% of operations.
    let share = counts[top] as f64 / ops as f64;
    assert!((share - 1.0 / 26.469).abs() < 0.005, "top share {share}");
}

#[test]
fn latest_favours_recent_inserts() {
    // YCSB D: 95% read, 5% insert; one thread, so "existing" is exact.
    let spec = WorkloadSpec {
        record_count: 10_000,
        operation_count: Some(100_000),
        ..preset("ycsb-d").unwrap()
    };
    let mut number: HashMap<Vec<u8>, u64> =
        (0..spec.record_count).map(|i| (spec.key(i), i)).collect();
    let mut existing = spec.record_count;
    let (mut reads, mut newest_100, mut of_new_keys) = (0u64, 0u64, 0u64);
    let mut s = spec.run_stream(0, 1);
    while let Some(op) = s.next_op() {
        match op.kind {
            OpKind::Insert => {
                number.insert(op.key.to_vec(), existing);
                existing += 1;
            }
            OpKind::Read => {
                let n = *number.get(op.key).expect("reads only existing keys");
                reads += 1;
                newest_100 += u64::from(existing - 1 - n < 100);
                of_new_keys += u64::from(n >= spec.record_count);
            }
            other => panic!("ycsb-d has no {other:?}"),
        }
    }
    let newest = newest_100 as f64 / reads as f64;
    let new = of_new_keys as f64 / reads as f64;
    // Uniform would give under 1% to the newest 100 keys and under a third
    // to the ~5000 inserted keys; zipfian(0.99) over age gives about half
    // and about 90%.
    assert!(newest > 0.4, "newest 100 keys: {newest}");
    assert!(new > 0.8, "inserted keys: {new}");
}

#[test]
fn hotspot_sends_its_share_to_the_hot_keys() {
    let spec = reads(
        KeyDistribution::Hotspot {
            hot_fraction_keys: 0.1,
            hot_fraction_ops: 0.9,
        },
        1000,
        100_000,
    );
    let counts = read_counts(&spec);
    let hot: u64 = counts[..100].iter().sum();
    let share = hot as f64 / 100_000.0;
    assert!((share - 0.9).abs() < 0.01, "{share}");
}

#[test]
fn sequential_walks_the_keys_in_order() {
    let spec = WorkloadSpec {
        ordered_keys: true,
        ..reads(KeyDistribution::Sequential, 50, 120)
    };
    let mut s = spec.run_stream(0, 1);
    for i in 0..120 {
        assert_eq!(s.next_op().unwrap().key, spec.key(i % 50));
    }
    // Thread 1 of 2 starts halfway.
    assert_eq!(spec.run_stream(1, 2).next_op().unwrap().key, spec.key(25));
}

#[test]
fn mix_matches_its_proportions_over_100k_ops() {
    let mix = OperationMix {
        read: 0.3,
        update: 0.2,
        insert: 0.1,
        delete: 0.05,
        scan: 0.15,
        read_modify_write: 0.1,
        append: 0.1,
    };
    let spec = WorkloadSpec {
        operation_count: Some(100_000),
        mix,
        ..WorkloadSpec::default()
    };
    let mut counts: HashMap<OpKind, u64> = HashMap::new();
    let mut s = spec.run_stream(0, 1);
    while let Some(op) = s.next_op() {
        *counts.entry(op.kind).or_default() += 1;
        let (value, scan) = (!op.value.is_empty(), op.scan_len > 0);
        assert_eq!(value, op.kind.writes_value(), "{:?}", op.kind);
        assert_eq!(scan, op.kind == OpKind::Scan);
        assert!(op.scan_len <= 100);
    }
    assert_eq!(counts.values().sum::<u64>(), 100_000);
    for ((_, want), kind) in mix.entries().into_iter().zip(OpKind::ALL) {
        let got = counts.get(&kind).copied().unwrap_or(0) as f64 / 100_000.0;
        // Binomial sd at most 0.0015.
        assert!((got - want).abs() < 0.01, "{kind:?}: {got} vs {want}");
    }
}

#[test]
fn values_and_scans_have_the_requested_sizes() {
    let spec = WorkloadSpec {
        value_size: workloads::ValueSize::Uniform { min: 10, max: 20 },
        scan_length: workloads::ScanLength { min: 3, max: 5 },
        mix: OperationMix {
            update: 1.0,
            scan: 1.0,
            ..OperationMix::default()
        },
        ..WorkloadSpec::default()
    };
    let mut sizes = [0u32; 21];
    let mut scans = [0u32; 6];
    let mut s = spec.run_stream(0, 1);
    for _ in 0..20_000 {
        let op = s.next_op().unwrap();
        if op.kind == OpKind::Scan {
            scans[op.scan_len] += 1;
        } else {
            sizes[op.value.len()] += 1;
        }
    }
    assert!(sizes[..10].iter().all(|&c| c == 0) && sizes[10..].iter().all(|&c| c > 0));
    assert!(scans[..3].iter().all(|&c| c == 0) && scans[3..].iter().all(|&c| c > 0));
}
