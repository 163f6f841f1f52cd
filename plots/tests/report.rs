//! Charts, report and comparison from checked-in fixture results
//! (run-a: ext4, with a crash table; run-b: tmpfs, with one engine more).

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn check_png(path: &Path) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.width, info.height),
        plots::chart::SIZE,
        "{}",
        path.display()
    );
    let px = &buf[..info.buffer_size()];
    let first = &px[..3];
    let distinct = px.chunks(3).filter(|p| *p != first).count();
    assert!(
        distinct > 1000,
        "{} is (nearly) a single colour",
        path.display()
    );
}

fn check_svg(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

#[test]
fn report_draws_every_chart_from_saved_results() {
    let t = tempfile::tempdir().unwrap();
    let s = plots::render_report(
        &fixture("run-a"),
        t.path(),
        &plots::ReportOptions::default(),
    )
    .unwrap();
    let names: Vec<String> = s
        .charts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for expected in [
        "throughput_fillrandom_t1",
        "tax_fillrandom_t1",
        "sync_latency_wal_fillrandom_t1",
        "sync_latency_lsm_fillrandom_t1",
        "sync_p99_fillrandom_t1",
        "writes_per_sync_fillrandom_t1",
        "write_amp_fillrandom_t1",
        "efficiency_fillrandom_t1",
        "latency_wal_fillrandom_t1",
        "latency_lsm_fillrandom_t1",
        "crash_posix",
        "crash_linux",
    ] {
        for ext in ["png", "svg"] {
            let n = format!("{expected}.{ext}");
            assert!(names.contains(&n), "{n} missing from {names:?}");
        }
    }
    for c in &s.charts {
        match c.extension().and_then(|e| e.to_str()) {
            Some("png") => check_png(c),
            _ => {
                check_svg(c);
            }
        }
    }
    let svg = check_svg(&t.path().join("charts/throughput_fillrandom_t1.svg"));
    assert!(
        svg.contains("Throughput: fillrandom, 1 thread"),
        "title missing"
    );
    assert!(svg.contains("ext4-root"), "machine label missing");
    let svg = check_svg(&t.path().join("charts/latency_wal_fillrandom_t1.svg"));
    assert!(svg.contains("99.9%") && svg.contains("always+dir"));
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    for section in [
        "## Environment",
        "## Device ceilings (probe)",
        "## Headline",
        "## Charts",
        "## Crash verification",
        "## All cells",
        "## Command",
        "write back",
        "--label ext4-root --no-plots",
    ] {
        assert!(md.contains(section), "report.md lacks {section}");
    }
    let html = std::fs::read_to_string(&s.html).unwrap();
    assert!(html.matches("<svg").count() >= 10, "charts are not inlined");
    assert!(
        !html.contains("http://") || html.contains("xmlns=\"http://www.w3.org/2000/svg\""),
        "no network references"
    );
}

#[test]
fn compare_matches_cells_computes_ratios_and_lists_missing_ones() {
    let t = tempfile::tempdir().unwrap();
    let a = fixture("run-a");
    let b = fixture("run-b");
    let s = plots::render_compare(
        &[a.clone(), b.clone()],
        t.path(),
        &plots::CompareOptions::default(),
    )
    .unwrap();
    let rows: Vec<results::compare::CompareRow> =
        results::read_csv(&t.path().join("compare.csv")).unwrap();
    let runs_a: Vec<results::RunRow> = results::read_csv(&a.join("runs.csv")).unwrap();
    let runs_b: Vec<results::RunRow> = results::read_csv(&b.join("runs.csv")).unwrap();
    // wal and lsm under two policies are in both runs: 4 cells x 2 runs.
    assert_eq!(rows.len(), 8);
    for r in rows.iter().filter(|r| !r.baseline) {
        let base = runs_a
            .iter()
            .find(|x| x.engine == r.engine && x.policy == r.policy)
            .unwrap();
        let other = runs_b
            .iter()
            .find(|x| x.engine == r.engine && x.policy == r.policy)
            .unwrap();
        let want = other.ops_per_sec / base.ops_per_sec;
        assert!((r.ops_ratio.unwrap() - want).abs() < 1e-9, "{r:?}");
        assert!((r.p99_ratio.unwrap() - other.p99_us / base.p99_us).abs() < 1e-9);
    }
    assert!(rows
        .iter()
        .filter(|r| r.baseline)
        .all(|r| r.ops_ratio == Some(1.0)));
    // btree ran only on tmpfs.
    assert_eq!(s.notes.len(), 2, "{:?}", s.notes);
    assert!(s
        .notes
        .iter()
        .all(|n| n.starts_with("btree") && n.contains("only in tmpfs")));
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(md.contains("## Cells missing from some runs"));
    assert!(
        md.contains("## What differs between the machines") && md.contains("filesystem"),
        "{md}"
    );
    for c in &s.charts {
        if c.extension().is_some_and(|e| e == "png") {
            check_png(c);
        } else {
            check_svg(c);
        }
    }
}

#[test]
fn a_folder_without_results_is_a_clear_error() {
    let t = tempfile::tempdir().unwrap();
    let err =
        plots::render_report(t.path(), t.path(), &plots::ReportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("no runs.csv"), "{err}");
    let err = plots::render_report(
        &t.path().join("missing"),
        t.path(),
        &plots::ReportOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

/// Copies `run-a` without the files named in `drop`.
fn fixture_without(drop: &[&str]) -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(fixture("run-a")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && !drop.contains(&name.as_str()) {
            std::fs::copy(entry.path(), t.path().join(&name)).unwrap();
        }
    }
    t
}

#[test]
fn missing_optional_files_are_named_in_their_sections() {
    // No crash.csv, latency.csv, hgrm/ or environment.json: the report is
    // still written, and each section says what is missing.
    let input = fixture_without(&["crash.csv", "latency.csv", "environment.json"]);
    let t = tempfile::tempdir().unwrap();
    let s = plots::render_report(
        input.path(),
        t.path(),
        &plots::ReportOptions { svg_only: true },
    )
    .unwrap();
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(md.contains("`crash.csv` is missing"), "{md}");
    assert!(md.contains("no latency distributions"), "{md}");
    assert!(md.contains("`environment.json` is missing"), "{md}");
    assert!(md.contains("## Headline") && md.contains("## Device ceilings (probe)"));
    assert!(s
        .charts
        .iter()
        .all(|c| c.extension().is_some_and(|e| e == "svg")));
    let names: Vec<String> = s
        .charts
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.contains(&"throughput_fillrandom_t1.svg".to_string()));
    assert!(!names
        .iter()
        .any(|n| n.starts_with("latency_") || n.starts_with("crash_")));
    assert!(s.notes.iter().any(|n| n.contains("crash.csv")));
}

#[test]
fn one_policy_keeps_its_look_in_every_chart() {
    // The sync charts leave `none` out; `always+dir` must still be drawn in
    // the colour it has in the throughput chart (it once took `none`'s).
    let t = tempfile::tempdir().unwrap();
    plots::render_report(
        &fixture("run-a"),
        t.path(),
        &plots::ReportOptions { svg_only: true },
    )
    .unwrap();
    let colour = plots::style::color(1);
    let hex = format!("#{:02X}{:02X}{:02X}", colour.0, colour.1, colour.2);
    for chart in ["throughput_fillrandom_t1.svg", "sync_p99_fillrandom_t1.svg"] {
        let svg = std::fs::read_to_string(t.path().join("charts").join(chart)).unwrap();
        assert!(
            svg.contains(&hex),
            "{chart} does not draw always+dir in {hex}"
        );
    }
    let sync = std::fs::read_to_string(t.path().join("charts/sync_p99_fillrandom_t1.svg")).unwrap();
    let none = plots::style::color(0);
    let none_hex = format!("#{:02X}{:02X}{:02X}", none.0, none.1, none.2);
    assert!(
        !sync.contains(&none_hex),
        "the sync chart reuses none's colour"
    );
}

#[test]
fn compare_needs_two_folders() {
    let t = tempfile::tempdir().unwrap();
    let err = plots::render_compare(
        &[fixture("run-a")],
        t.path(),
        &plots::CompareOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("at least two"), "{err}");
}
