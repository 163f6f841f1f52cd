//! Presets, TOML round trips, the example file, name resolution and engine
//! capabilities.

use std::path::Path;

use workloads::{preset, resolve, KeyDistribution, WorkloadError, WorkloadSpec, PRESETS};

#[test]
fn every_preset_validates_and_round_trips_through_toml() {
    assert_eq!(PRESETS.len(), 12);
    for name in PRESETS {
        let spec = preset(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(spec.name, *name);
        spec.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = spec.to_toml().expect("serialises");
        let back = WorkloadSpec::from_toml(&text, Path::new("x.toml"))
            .unwrap_or_else(|e| panic!("{name}: {e}\n{text}"));
        assert_eq!(back, spec, "{name}");
        // And through a file on disk.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(&path, &text).expect("write");
        assert_eq!(resolve(path.to_str().expect("utf-8")).expect("loads"), spec);
    }
}

#[test]
fn ycsb_presets_have_ycsb_proportions_and_distributions() {
    let zipf = KeyDistribution::ScrambledZipfian { constant: 0.99 };
    let cases = [
        ("ycsb-a", [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0], zipf),
        ("ycsb-b", [0.95, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0], zipf),
        ("ycsb-c", [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], zipf),
        (
            "ycsb-d",
            [0.95, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0],
            KeyDistribution::Latest { constant: 0.99 },
        ),
        ("ycsb-e", [0.0, 0.0, 0.05, 0.0, 0.95, 0.0, 0.0], zipf),
        ("ycsb-f", [0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.0], zipf),
    ];
    for (name, mix, dist) in cases {
        let spec = preset(name).expect("preset");
        let got: Vec<f64> = spec.mix.entries().iter().map(|(_, v)| *v).collect();
        assert_eq!(got, mix, "{name}");
        assert_eq!(spec.distribution, dist, "{name}");
        assert!(spec.load && spec.record_count > 0, "{name} loads first");
    }
    let e = preset("ycsb-e").expect("preset");
    assert_eq!((e.scan_length.min, e.scan_length.max), (1, 100));
}

#[test]
fn fill_presets_insert_new_keys_without_a_load_phase() {
    for (name, ordered) in [("fillseq", true), ("fillrandom", false)] {
        let spec = preset(name).expect("preset");
        assert_eq!(spec.mix.insert, spec.mix.total());
        assert!(!spec.load);
        assert_eq!(spec.ordered_keys, ordered);
        let mut s = spec.run_stream(0, 1);
        let keys: Vec<Vec<u8>> = (0..100)
            .map(|_| s.next_op().expect("op").key.to_vec())
            .collect();
        assert_eq!(keys.windows(2).all(|w| w[0] < w[1]), ordered, "{name}");
    }
}

#[test]
fn unknown_preset_lists_the_presets() {
    let err = preset("ycsb-z").unwrap_err();
    assert!(matches!(err, WorkloadError::UnknownPreset { .. }));
    let msg = err.to_string();
    for name in PRESETS {
        assert!(msg.contains(name), "{msg}");
    }
}

#[test]
fn resolve_takes_preset_names_and_toml_paths() {
    assert_eq!(
        resolve("ycsb-b").expect("preset"),
        preset("ycsb-b").expect("preset")
    );
    let err = resolve("missing-dir/nothing.toml").unwrap_err().to_string();
    assert!(err.contains("nothing.toml"), "{err}");
}

#[test]
fn example_file_loads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("example.toml");
    let spec = workloads::load_file(&path).expect("example.toml loads");
    assert_eq!(spec.name, "example-hotspot");
    assert!(matches!(
        spec.distribution,
        KeyDistribution::Hotspot {
            hot_fraction_keys,
            hot_fraction_ops
        } if hot_fraction_keys == 0.1 && hot_fraction_ops == 0.9
    ));
    let mut s = spec.run_stream(0, 1);
    assert!(s.next_op().is_some());
}

#[test]
fn a_file_without_a_name_takes_its_stem() {
    let spec =
        WorkloadSpec::from_toml("[mix]\nread = 1.0\n", Path::new("dir/mine.toml")).expect("valid");
    assert_eq!(spec.name, "mine");
}

#[test]
fn capabilities_decide_support() {
    let caps = |point_reads, range_scans, deletes| capabilities::Capabilities {
        point_reads,
        range_scans,
        deletes,
        replay: false,
    };
    let log = caps(false, false, false);
    let hash = caps(true, false, true);
    let full = caps(true, true, true);
    for name in PRESETS {
        let spec = preset(name).expect("preset");
        assert!(spec.check_supported(&full).is_ok(), "{name}");
    }
    let err = preset("ycsb-a")
        .unwrap()
        .check_supported(&log)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("ycsb-a") && err.contains("point reads"),
        "{err}"
    );
    let err = preset("ycsb-f")
        .unwrap()
        .check_supported(&log)
        .unwrap_err()
        .to_string();
    assert!(err.contains("point reads"), "{err}");
    let err = preset("ycsb-e")
        .unwrap()
        .check_supported(&hash)
        .unwrap_err()
        .to_string();
    assert!(err.contains("range scans"), "{err}");
    let err = preset("deleterandom")
        .unwrap()
        .check_supported(&log)
        .unwrap_err()
        .to_string();
    assert!(err.contains("deletes"), "{err}");
    // The reasons are typed: what the engine lacks, per operation kind.
    match preset("ycsb-f").unwrap().check_supported(&log) {
        Err(workloads::WorkloadError::Unsupported { lacks, .. }) => assert_eq!(
            lacks,
            [
                workloads::Missing::PointReads,
                workloads::Missing::PointReadsToModify
            ]
        ),
        other => panic!("ycsb-f on a log: {other:?}"),
    }
    // Updates are puts: no read capability needed.
    for ok in ["append", "fillrandom", "fillseq", "overwrite"] {
        assert!(preset(ok).unwrap().check_supported(&log).is_ok(), "{ok}");
    }
    // The real WAL engine, from the registry.
    let wal = engines::registry::info("wal").expect("wal").capabilities;
    assert!(preset("readrandom").unwrap().check_supported(&wal).is_err());
    assert!(preset("append").unwrap().check_supported(&wal).is_ok());
}
