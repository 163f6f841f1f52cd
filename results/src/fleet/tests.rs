use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;

use super::*;
use crate::{hgrm_stem, write_csv, write_hist, write_json, Environment, Error, ProbeRow};

fn cell(label: &str, policy: &str) -> RunRow {
    RunRow {
        run_id: format!("{label}-20260101-000000"),
        label: label.into(),
        engine: "wal".into(),
        policy: policy.into(),
        workload: "fillrandom".into(),
        threads: 1,
        value_size_bytes: 100,
        status: "ok".into(),
        ops_per_sec: 1000.0,
        ..Default::default()
    }
}

fn hist(from_us: u64, n: u64) -> Histogram<u64> {
    let mut h = Histogram::<u64>::new(3).unwrap();
    for i in 0..n {
        h.record((from_us + i % 1000) * 1000).unwrap();
    }
    h
}

/// A results folder `name` of the machine `label`, format `version`, with
/// the cells of `policies` and (from format 3 on) their `all` histograms
/// starting at `from_us`.
fn machine(root: &Path, name: &str, label: &str, version: u32, from_us: u64) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(dir.join("hist")).unwrap();
    let rows = vec![cell(label, "none"), cell(label, "always")];
    write_csv(&dir.join("runs.csv"), &rows).unwrap();
    let probe = ProbeRow {
        label: label.into(),
        pattern: "append+fdatasync".into(),
        ..Default::default()
    };
    write_csv(&dir.join("probe.csv"), &[probe]).unwrap();
    let env = Environment {
        format_version: version,
        label: label.into(),
        host: label.into(),
        ..Default::default()
    };
    write_json(&dir.join("environment.json"), &env).unwrap();
    if version >= 3 {
        for (i, r) in rows.iter().enumerate() {
            let stem = hgrm_stem(&r.engine, &r.policy, &r.workload, 1, 100, "all");
            let h = hist(from_us * (i as u64 + 1), 2000 + 500 * i as u64);
            write_hist(&dir.join("hist").join(format!("{stem}.hdr")), &h).unwrap();
        }
    }
    dir
}

fn merged(root: &Path, dirs: &[PathBuf]) -> (PathBuf, MergeSummary) {
    let out = root.join("fleet");
    let rd = ResultsDir::create(&out).unwrap();
    let s = sources(dirs).unwrap();
    let opts = MergeOptions {
        environment: Environment {
            label: "fleet".into(),
            command: "bench-runner merge".into(),
            ..Default::default()
        },
    };
    let summary = merge(&s, &rd, &opts).unwrap();
    (out, summary)
}

#[test]
fn a_merged_p99_is_the_p99_of_the_histograms_merged() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "fleet-a", "vm", 3, 100);
    let b = machine(t.path(), "fleet-b", "vm", 3, 5000);
    let (out, summary) = merged(t.path(), &[a.clone(), b.clone()]);
    // Same label twice: named after the folders, rows renamed.
    let names: Vec<&str> = summary.machines.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["vm (fleet-a)", "vm (fleet-b)"]);
    assert_eq!(summary.machines[0].folder, "machines/vm-fleet-a");
    assert_eq!(summary.unmerged, 0);
    let runs: Vec<RunRow> = read_csv(&out.join("runs.csv")).unwrap();
    assert_eq!(labels(&runs), ["vm (fleet-a)", "vm (fleet-b)"]);
    let copy: Environment =
        crate::read_json(&out.join("machines/vm-fleet-b/environment.json")).unwrap();
    assert_eq!(
        (copy.label.as_str(), copy.host.as_str()),
        ("vm (fleet-b)", "vm")
    );
    // The fleet p99 is that of the two files' histograms together.
    let stem = hgrm_stem("wal", "always", "fillrandom", 1, 100, "all");
    let file = |d: &Path| crate::read_hist(&d.join("hist").join(format!("{stem}.hdr"))).unwrap();
    let mut both = file(&a);
    both.auto(true);
    both.add(file(&b)).unwrap();
    let rows: Vec<FleetRow> = read_csv(&out.join("fleet.csv")).unwrap();
    let r = rows
        .iter()
        .find(|r| r.policy == "always" && r.operation == "all")
        .unwrap();
    assert_eq!(r.p99_us, Some(both.value_at_quantile(0.99) as f64 / 1000.0));
    assert_eq!((r.machines, r.merged, r.count), (2, 2, Some(both.len())));
    assert_eq!(
        crate::read_hist(&out.join("hist").join(format!("{stem}.hdr"))).unwrap(),
        both
    );
    // Taken apart again: one folder per machine, with its environment.
    let split = machines(&RunFolder::load(&out).unwrap()).unwrap();
    assert_eq!(split.len(), 2);
    assert_eq!(split[1].label, "vm (fleet-b)");
    assert!(split[1].environment().is_some() && split[1].probe.len() == 1);
}

#[test]
fn folders_without_serialized_histograms_keep_their_rows_and_say_so() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "old-a", 2, 100);
    let b = machine(t.path(), "b", "old-b", 2, 100);
    let (out, summary) = merged(t.path(), &[a, b]);
    let runs: Vec<RunRow> = read_csv(&out.join("runs.csv")).unwrap();
    assert_eq!(runs.len(), 4);
    let rows: Vec<FleetRow> = read_csv(&out.join("fleet.csv")).unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r.p99_us.is_none() && r.not_merged == "old-a;old-b"));
    assert_eq!(summary.unmerged, 2);
    assert!(
        summary
            .notes
            .iter()
            .any(|n| n.contains("not merged") && n.contains("old-a (2)")),
        "{:?}",
        summary.notes
    );
    let notes = std::fs::read_to_string(out.join("notes.md")).unwrap();
    assert!(
        notes.contains("wal always fillrandom t1 v100 all: old-a, old-b"),
        "{notes}"
    );
}

#[test]
fn a_fleet_merged_again_gives_its_machines() {
    let t = tempfile::tempdir().unwrap();
    let a = machine(t.path(), "a", "one", 3, 100);
    let b = machine(t.path(), "b", "two", 3, 100);
    let (fleet, _) = merged(t.path(), &[a, b]);
    let c = machine(t.path(), "c", "three", 3, 100);
    let s = sources(&[fleet, c]).unwrap();
    let labels: Vec<&str> = s.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(labels, ["one", "two", "three"]);
}

#[test]
fn what_cannot_be_merged_is_refused_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let old = machine(t.path(), "old", "a", 2, 100);
    let new = machine(t.path(), "new", "b", 3, 100);
    let e = sources(&[old.clone(), new.clone()]).unwrap_err();
    assert!(matches!(e, Error::FormatsDiffer { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("is version 2") && text.contains("is version 3"),
        "{text}"
    );
    // A folder that is not results of a run.
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = sources(&[new.clone(), empty]).unwrap_err().to_string();
    assert!(e.contains("empty") && e.contains("no runs.csv"), "{e}");
    let e = sources(&[new.clone(), t.path().join("nowhere")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("nowhere"), "{e}");
    // Several labels without machines.csv: environments unknown.
    let mixed = machine(t.path(), "mixed", "x", 3, 100);
    let rows = vec![cell("x", "none"), cell("y", "none")];
    write_csv(&mixed.join("runs.csv"), &rows).unwrap();
    let e = sources(&[new, mixed]).unwrap_err().to_string();
    assert!(e.contains("several machines (x, y)"), "{e}");
}
