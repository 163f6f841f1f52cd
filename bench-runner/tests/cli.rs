//! End-to-end CLI tests: a quick run on a temp dir, the files it leaves,
//! plausible values, and every bad-input case with its exit code.

use std::path::Path;

use predicates::str::contains;
use results::{read_csv, RunRow};

mod common;
use common::bench;

/// A tiny but complete matrix: every engine, three policies, two threads.
fn tiny_run(disk: &Path, out: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut c = bench();
    c.args(["run", "--disk"])
        .arg(disk)
        .arg("--out")
        .arg(out)
        .args([
            "--quick",
            "--ops",
            "300",
            "--record-count",
            "500",
            "--policies",
            "none,always,batch:8+dir",
            "--threads",
            "1,2",
            "--no-plots",
            "--probe-budget-ms",
            "20",
        ])
        .args(extra);
    c.assert()
}

#[test]
fn quick_run_writes_every_file_with_plausible_values() {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let out = t.path().join("out");
    let a = tiny_run(&disk, &out, &[]).success();
    let stdout = String::from_utf8_lossy(&a.get_output().stdout).to_string();
    assert!(
        stdout.trim_end().ends_with(&out.display().to_string()),
        "{stdout}"
    );
    for f in [
        "environment.json",
        "config.json",
        "probe.csv",
        "runs.csv",
        "repetitions.csv",
        "latency.csv",
        "skipped.csv",
        "timeline.csv",
        "events.csv",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let rows: Vec<RunRow> = read_csv(&out.join("runs.csv")).unwrap();
    // Every repetition's intervals hold exactly its operations, and memory
    // was measured (Linux).
    let timeline: Vec<results::TimelineRow> = read_csv(&out.join("timeline.csv")).unwrap();
    let reps: Vec<RunRow> = read_csv(&out.join("repetitions.csv")).unwrap();
    for r in &reps {
        let mine: Vec<&results::TimelineRow> = timeline
            .iter()
            .filter(|t| {
                (
                    t.engine.as_str(),
                    t.policy.as_str(),
                    t.workload.as_str(),
                    t.threads,
                    t.repetition,
                ) == (
                    r.engine.as_str(),
                    r.policy.as_str(),
                    r.workload.as_str(),
                    r.threads,
                    r.repetition,
                )
            })
            .collect();
        assert!(!mine.is_empty(), "no timeline for {r:?}");
        assert_eq!(mine.iter().map(|t| t.ops).sum::<u64>(), r.ops, "{r:?}");
        assert!(
            r.peak_rss_bytes >= r.rss_end_bytes && r.peak_rss_bytes > Some(0),
            "{r:?}"
        );
        // The engines with a cache of their own warmed it after the open;
        // the others have no warm-up time, not a zero one.
        let own_cache = ["lsm", "btree"].contains(&r.engine.as_str());
        assert_eq!(r.warm_ms.is_some(), own_cache, "{r:?}");
    }
    // fillrandom + (ycsb-a or append) per engine, each policy it can
    // express, 2 thread counts.
    let policies: Vec<engines::SyncPolicy> = ["none", "always", "batch:8+dir"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    let cells: usize = engines::registry::all()
        .iter()
        .map(|e| policies.iter().filter(|p| (e.supports)(p).is_ok()).count() * 2 * 2)
        .sum();
    assert_eq!(rows.len(), cells, "one row per cell");
    for r in &rows {
        assert_eq!(
            r.status, "ok",
            "{} {} {}: {}",
            r.engine, r.policy, r.workload, r.error
        );
        assert!(r.ops > 0 && r.ops_per_sec > 0.0, "{r:?}");
        assert!(r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
        assert!(r.efficiency.is_some_and(|e| e > 0.0), "{r:?}");
        match r.policy.as_str() {
            // Counted zero for our engines; not counted (empty) for engines
            // doing their own I/O.
            "none" if r.engine_bytes_source == "vfs" => assert_eq!(r.file_syncs, Some(0), "{r:?}"),
            "none" => assert_eq!(r.file_syncs, None, "{r:?}"),
            "always"
                if r.threads == 1 && r.workload != "ycsb-a" && r.engine_bytes_source == "vfs" =>
            {
                // One sync per acknowledged write (the log's own; flushes add theirs).
                assert!(
                    r.file_syncs >= Some(r.log_writes) && r.log_writes >= r.ops,
                    "{r:?}"
                )
            }
            _ => {}
        }
    }
    let hgrm = std::fs::read_dir(out.join("hgrm")).unwrap().count();
    assert!(hgrm >= rows.len(), "{hgrm} hgrm files");
    // The disk folder is left as it was found.
    assert_eq!(
        std::fs::read_dir(&disk).unwrap().count(),
        0,
        "runner left files on --disk"
    );
}

/// With `--repeat 3`, rounds 2 and 3 start by measuring the ceiling
/// again, and each repetition's ceiling is the median of the measurements
/// so far: the first probe's alone in round 1. `--probe-once` keeps the
/// first probe's.
#[test]
fn ceilings_are_measured_again_each_round() {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().join("disk");
    std::fs::create_dir(&disk).unwrap();
    let run = |out: &Path, extra: &[&str]| {
        let a = bench()
            .args(["run", "--disk"])
            .arg(&disk)
            .arg("--out")
            .arg(out)
            .args([
                "--quick",
                "--ops",
                "200",
                "--engines",
                "wal",
                "--policies",
                "always",
                "--workloads",
                "fillrandom",
                "--threads",
                "1",
                "--repeat",
                "3",
                "--no-plots",
                "--probe-budget-ms",
                "20",
            ])
            .args(extra)
            .assert()
            .success();
        String::from_utf8_lossy(&a.get_output().stderr).to_string()
    };
    let out = t.path().join("out");
    let stderr = run(&out, &[]);
    // One line per recheck; a drift warning may name the ceiling too.
    let again = stderr
        .lines()
        .filter(|l| l.starts_with("ceiling ") && l.contains(" again: "))
        .count();
    assert_eq!(again, 2, "{stderr}");
    assert!(stderr.contains("(median of 3 rounds"), "{stderr}");
    let history: Vec<results::CeilingRow> = read_csv(&out.join("ceilings.csv")).unwrap();
    let rounds: Vec<u32> = history.iter().map(|c| c.round).collect();
    assert_eq!(rounds, [0, 1, 2], "{history:?}");
    assert!(history
        .iter()
        .all(|c| c.ops_per_sec > 0.0 && c.pooled_ops_per_sec > 0.0));
    let reps: Vec<RunRow> = read_csv(&out.join("repetitions.csv")).unwrap();
    assert_eq!(reps.len(), 3);
    for r in &reps {
        assert_eq!(r.ceiling_pattern, reps[0].ceiling_pattern);
        assert!(r.ceiling_ops_per_sec.is_some_and(|c| c > 0.0), "{r:?}");
        assert!(r.efficiency.is_some(), "{r:?}");
        if r.repetition == 0 {
            assert_eq!(r.ceiling_ops_per_sec, Some(probe_rate(&out, r)), "{r:?}");
        }
        // Each repetition is held to the pooled ceiling of its round.
        let round = &history[r.repetition as usize];
        assert_eq!(
            r.ceiling_ops_per_sec,
            Some(round.pooled_ops_per_sec),
            "{r:?}"
        );
    }

    let once = t.path().join("once");
    let stderr = run(&once, &["--probe-once"]);
    assert!(!stderr.contains("again"), "{stderr}");
    assert!(!once.join("ceilings.csv").exists());
    let reps: Vec<RunRow> = read_csv(&once.join("repetitions.csv")).unwrap();
    for r in &reps {
        assert_eq!(r.ceiling_ops_per_sec, Some(probe_rate(&once, r)), "{r:?}");
    }
}

/// The `probe.csv` rate of the pattern a repetition's ceiling names
/// (`overwrite+fdatasync 137 B (fallocate)`).
fn probe_rate(out: &Path, r: &RunRow) -> f64 {
    let probe: Vec<results::ProbeRow> = read_csv(&out.join("probe.csv")).unwrap();
    let named = |p: &results::ProbeRow| {
        let mut name = format!("{} {} B", p.pattern, p.record_bytes);
        if !p.prepared.is_empty() {
            name.push_str(&format!(" ({})", p.prepared));
        }
        name == r.ceiling_pattern
    };
    let rows: Vec<_> = probe.iter().filter(|p| named(p)).collect();
    assert_eq!(
        rows.len(),
        1,
        "{} in probe.csv: {rows:?}",
        r.ceiling_pattern
    );
    rows[0].ops_per_sec
}

#[test]
fn bad_names_list_the_valid_ones() {
    let t = tempfile::tempdir().unwrap();
    for (flag, value, expect) in [
        ("--engines", "leveldb", "valid engines"),
        ("--policies", "sometimes", "valid forms"),
        ("--workloads", "ycsb-z", "ycsb-a"),
    ] {
        bench()
            .args(["run", "--disk"])
            .arg(t.path())
            .arg("--out")
            .arg(t.path().join("o"))
            .args([flag, value])
            .assert()
            .code(2)
            .stderr(contains(value))
            .stderr(contains(expect));
    }
}

#[test]
fn bad_disk_paths_fail_before_measuring() {
    let t = tempfile::tempdir().unwrap();
    let file = t.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    for disk in [t.path().join("missing"), file.clone()] {
        bench()
            .args(["run", "--quick", "--disk"])
            .arg(&disk)
            .arg("--out")
            .arg(t.path().join("o"))
            .assert()
            .code(2)
            .stderr(contains(disk.display().to_string()));
    }
    // --out below a regular file cannot be created.
    bench()
        .args(["run", "--quick", "--disk"])
        .arg(t.path())
        .arg("--out")
        .arg(file.join("out"))
        .assert()
        .code(2)
        .stderr(contains("--out"));
}

#[test]
fn workload_toml_errors_name_file_and_line() {
    let t = tempfile::tempdir().unwrap();
    let w = t.path().join("bad.toml");
    std::fs::write(&w, "name = \"x\"\nrecord_count = 10\nno_such_field = 3\n").unwrap();
    bench()
        .args(["run", "--quick", "--disk"])
        .arg(t.path())
        .arg("--out")
        .arg(t.path().join("o"))
        .arg("--workloads")
        .arg(&w)
        .assert()
        .code(2)
        .stderr(contains("bad.toml"))
        .stderr(contains("no_such_field"));
}

/// A full disk is simulated by a Vfs that fails writes with ENOSPC after a
/// byte budget (hidden flag), so the test needs neither root nor a mount.
#[test]
fn full_disk_marks_the_cell_failed_and_keeps_finished_cells() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    bench()
        .args(["run", "--disk"])
        .arg(t.path())
        .arg("--out")
        .arg(&out)
        .args([
            "--quick",
            "--no-probe",
            "--no-plots",
            "--engines",
            "wal",
            "--policies",
            "none",
            "--threads",
            "1",
            "--workloads",
            "fillrandom",
            "--duration",
            "0.2",
            "--inject-enospc-after-bytes",
            "20000",
        ])
        .assert()
        .code(2)
        .stderr(contains("disk is full"));
    let rows: Vec<RunRow> = read_csv(&out.join("runs.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].status, "failed");
    assert!(
        rows[0].error.contains("No space left") || rows[0].error.contains("os error 28"),
        "{}",
        rows[0].error
    );
}

#[test]
fn drop_caches_needs_root() {
    if bench_runner::measure::sys::is_root() {
        return; // As root the flag is valid; nothing to check here.
    }
    let t = tempfile::tempdir().unwrap();
    bench()
        .args(["run", "--quick", "--drop-caches", "--disk"])
        .arg(t.path())
        .assert()
        .code(2)
        .stderr(contains("root"));
}

#[test]
fn list_names_engines_policies_and_presets() {
    bench()
        .arg("list")
        .assert()
        .success()
        .stdout(contains("wal"))
        .stdout(contains("batch:N"))
        .stdout(contains("ycsb-a"));
}

#[test]
fn probe_writes_probe_csv() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("p");
    bench()
        .args([
            "probe",
            "--duration",
            "0.05",
            "--record-sizes",
            "137",
            "--disk",
        ])
        .arg(t.path())
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("append+fdatasync"));
    let rows: Vec<results::ProbeRow> = read_csv(&out.join("probe.csv")).unwrap();
    assert!(rows
        .iter()
        .any(|r| r.pattern == "create+dirsync" && r.ops > 0));
}

#[test]
fn a_probe_on_tmpfs_warns_once_whatever_the_record_sizes() {
    // The disk and each record size's probe once warned separately about
    // the same memory-backed disk.
    let tmpfs = std::fs::read_to_string("/proc/mounts").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.get(1) == Some(&"/dev/shm") && f.get(2) == Some(&"tmpfs")
        })
    });
    if !tmpfs {
        eprintln!("skipped: /dev/shm is not a tmpfs here");
        return;
    }
    let disk = tempfile::tempdir_in("/dev/shm").unwrap();
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("p");
    let a = bench()
        .args([
            "probe",
            "--duration",
            "0.01",
            "--record-sizes",
            "137,4096",
            "--disk",
        ])
        .arg(disk.path())
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&a.get_output().stderr).to_string();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("bench-runner: warning:"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains(&format!(
            "`{}` is on tmpfs: memory, not a disk",
            disk.path().display()
        )),
        "{stderr}"
    );
    // probe.csv keeps the reason on each record size's row.
    let rows: Vec<results::ProbeRow> = read_csv(&out.join("probe.csv")).unwrap();
    let flagged: Vec<u64> = rows
        .iter()
        .filter(|r| r.warning.contains("tmpfs keeps files in memory"))
        .map(|r| r.record_bytes)
        .collect();
    assert_eq!(flagged, [137, 4096], "{rows:?}");
}
