//! `bench-runner merge`: two machines' runs become one fleet folder whose
//! percentiles are those of the machines' serialized histograms merged
//! (the test merges the two files itself and compares), which `plot` and
//! `compare` read; and what cannot be merged is refused with exit 2
//! before anything is written.

mod common;

use common::{copy_dir, fixture, output, stderr};

use std::path::Path;

use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

/// A run of two small cells on `disk` into `out`, labelled `vm`.
fn run(disk: &Path, out: &Path) {
    let o = output(
        &[
            "run",
            "--engines",
            "wal",
            "--policies",
            "none,always",
            "--workloads",
            "fillrandom",
            "--threads",
            "1",
            "--ops",
            "1500",
            "--repeat",
            "1",
            "--warmup",
            "0",
            "--no-probe",
            "--no-plots",
            "--quiet",
            "--label",
            "vm",
            "--disk",
        ],
        &[disk, Path::new("--out"), out],
    );
    assert!(o.status.success(), "run: {}", stderr(&o));
}

fn read_hist(path: &Path) -> Histogram<u64> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .unwrap()
}

#[test]
fn the_fleet_p99_is_the_p99_of_both_serialized_histograms_merged() {
    let (t, disk) = common::setup();
    let (a, b) = (t.path().join("fleet-a"), t.path().join("fleet-b"));
    run(&disk, &a);
    run(&disk, &b);
    let fleet = t.path().join("fleet");
    let o = output(&["merge"], &[&a, &b, Path::new("--out"), &fleet]);
    let err = stderr(&o);
    assert!(o.status.success(), "merge: {err}");
    assert!(String::from_utf8_lossy(&o.stdout)
        .trim_end()
        .ends_with("fleet"));
    // Same label twice: named after their folders, and told so.
    assert!(err.contains("is named `vm (fleet-b)`"), "{err}");
    let machines: Vec<results::fleet::MachineRow> =
        results::read_csv(&fleet.join("machines.csv")).unwrap();
    let names: Vec<&str> = machines.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["vm (fleet-a)", "vm (fleet-b)"]);
    let runs: Vec<results::RunRow> = results::read_csv(&fleet.join("runs.csv")).unwrap();
    assert_eq!(results::fleet::labels(&runs), names);
    for m in &machines {
        assert!(fleet.join(&m.folder).join("environment.json").is_file());
    }

    // The merge, computed here from the machines' own files.
    let stem = results::hgrm_stem("wal", "always", "fillrandom", 1, 100, "all");
    let file = format!("hist/{stem}.hdr");
    let mut both = read_hist(&a.join(&file));
    let from_b = read_hist(&b.join(&file));
    assert!(both.len() >= 1500 && from_b.len() >= 1500);
    both.auto(true);
    both.add(&from_b).unwrap();
    let rows: Vec<results::fleet::FleetRow> = results::read_csv(&fleet.join("fleet.csv")).unwrap();
    let row = rows
        .iter()
        .find(|r| r.engine == "wal" && r.policy == "always" && r.operation == "all")
        .expect("a fleet row of wal always");
    let p99_us = both.value_at_quantile(0.99) as f64 / 1000.0;
    assert_eq!(row.p99_us, Some(p99_us), "{row:?}");
    assert_eq!((row.machines, row.merged), (2, 2));
    assert_eq!(row.count, Some(both.len()));
    assert_eq!(read_hist(&fleet.join(&file)), both);
    // Not the average of the two machines' p99s (unless they agree).
    let own: Vec<f64> = runs
        .iter()
        .filter(|r| r.policy == "always")
        .map(|r| r.p99_us)
        .collect();
    if own[0] != own[1] {
        assert_ne!(row.p99_us, Some((own[0] + own[1]) / 2.0));
    }

    // The report of the fleet: the fleet's percentiles first, one cell by
    // machine with its intervals.
    let md = std::fs::read_to_string(fleet.join("report.md")).unwrap();
    assert!(md.starts_with("# bench-runner fleet report: fleet"), "{md}");
    assert!(md.contains("## Machines side by side"), "{md}");
    assert!(md.contains(&format!("| {p99_us:.1} |")), "{md}");
    assert!(fleet
        .join("charts/cell_by_machine_throughput.svg")
        .is_file());
    // compare takes it apart into its machines.
    let cmp = t.path().join("cmp");
    let o = output(&["compare"], &[&fleet, Path::new("--out"), &cmp]);
    let err = stderr(&o);
    assert!(o.status.success(), "compare: {err}");
    assert!(
        err.starts_with("vm (fleet-b): throughput faster in "),
        "the answer first: {err}"
    );
    // A cell no machine ran is refused with the cells it has.
    let o = output(&["plot", "--cell", "lsm/always/fillrandom"], &[&fleet]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("wal/always/fillrandom/1"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn what_cannot_be_merged_is_refused_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("fleet");
    let refused = |paths: &[&Path], why: &str| {
        let o = output(&["merge"], paths);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{why}: {err}");
        assert!(err.contains(why), "{why}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    let (v2, v3) = (fixture(2), fixture(3));
    refused(
        &[&v2, &v3, Path::new("--out"), &out],
        "different results formats",
    );
    assert!(!out.exists(), "merge made its folder first");
    let empty = t.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    refused(&[&v3, &empty, Path::new("--out"), &out], "no runs.csv");
    assert!(!out.exists());

    // Two of one format: merged; again into the same folder needs --force.
    let copy = t.path().join("copy");
    copy_dir(&v3, &copy);
    let args = [&v3, copy.as_path(), Path::new("--out"), &out];
    let o = output(&["merge", "--no-plots"], &args);
    assert!(o.status.success(), "{}", stderr(&o));
    refused(&args, "not empty");
    let o = output(&["merge", "--no-plots", "--force"], &args);
    assert!(o.status.success(), "{}", stderr(&o));
    // Never into a folder it reads.
    refused(
        &[
            &v3,
            copy.as_path(),
            Path::new("--out"),
            &copy,
            Path::new("--force"),
        ],
        "a folder this command reads",
    );
    assert!(copy.join("runs.csv").is_file());
}

#[test]
fn folders_before_format_3_keep_their_rows_and_say_which_percentiles_are_not_merged() {
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("copy");
    copy_dir(&fixture(2), &copy);
    let out = t.path().join("fleet");
    let o = output(
        &["merge", "--no-plots"],
        &[&fixture(2), &copy, Path::new("--out"), &out],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("not merged"), "{err}");
    let runs: Vec<results::RunRow> = results::read_csv(&out.join("runs.csv")).unwrap();
    assert_eq!(runs.len(), 4);
    let rows: Vec<results::fleet::FleetRow> = results::read_csv(&out.join("fleet.csv")).unwrap();
    assert!(!rows.is_empty() && rows.iter().all(|r| r.p99_us.is_none()));
    let notes = std::fs::read_to_string(out.join("notes.md")).unwrap();
    assert!(
        notes.contains("wal always fillrandom t1 v100 all"),
        "{notes}"
    );
    // Its report still draws, and says what is missing.
    let o = output(&["plot"], &[&out]);
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("## Percentiles not merged"), "{md}");
}

#[test]
fn every_operation_a_workload_records_has_a_histogram_name() {
    for op in workloads::OpKind::ALL {
        assert!(results::OPERATIONS.contains(&op.name()), "{}", op.name());
    }
    assert!(results::OPERATIONS.contains(&"all") && results::OPERATIONS.contains(&"sync"));
}
