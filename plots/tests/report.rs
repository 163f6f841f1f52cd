//! Charts, report and comparison from checked-in fixture results
//! (run-a: ext4, with a crash table; run-b: tmpfs, with one engine more).

use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn check_png(path: &Path) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
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
    assert!(svg.contains("always+dir"));
    // 400 operations per cell: five lie above p98.75 at most, so the axis
    // ends at 99% and shows no p99.9 the data cannot support.
    assert!(svg.contains("aria-label=\"99%\"") && !svg.contains("aria-label=\"99.9%\""));
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
    // The answer first, right after the title; the environment and the
    // probe after the charts, as reference.
    let at = |what: &str| md.find(what).unwrap_or_else(|| panic!("no {what} in {md}"));
    let first_section = md.lines().find(|l| l.starts_with("## ")).unwrap_or("");
    assert!(first_section.starts_with("## Headline"), "{first_section}");
    assert!(at("## Headline") < at("## Charts"), "{md}");
    assert!(at("## Charts") < at("## Environment"), "{md}");
    assert!(at("## Charts") < at("## Device ceilings (probe)"), "{md}");
    let html = std::fs::read_to_string(&s.html).unwrap();
    let html_at = |what: &str| html.find(what).unwrap_or_else(|| panic!("no {what}"));
    // In the page too: the headline's table, then the contents, then the
    // charts, and only then the environment and the probe.
    assert!(html_at("<td>wal</td>") < html_at("<nav class=\"toc\">"));
    assert!(html_at("<nav class=\"toc\">") < html_at("id=\"charts\""));
    assert!(html_at("id=\"charts\"") < html_at("id=\"environment\""));
    assert!(html_at("id=\"charts\"") < html_at("id=\"device-ceilings-probe\""));
    assert!(!html.contains("<!-- contents -->"), "the marker is left in");
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
    // btree ran only on tmpfs: counted in one note, each cell listed in
    // compare.md.
    assert_eq!(
        s.notes,
        ["2 of 6 cells are not in every run: ext4-root lacks 2, tmpfs has them all; those cells are not compared, and compare.md lists them"]
    );
    // The answer first: how tmpfs differs from the baseline.
    assert_eq!(s.answer.len(), 1, "{:?}", s.answer);
    assert!(
        s.answer[0].starts_with("tmpfs: throughput faster in "),
        "{:?}",
        s.answer
    );
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(md.contains("## Cells missing from some runs"));
    assert_eq!(md.matches("only in tmpfs").count(), 2, "{md}");
    let at = |what: &str| md.find(what).unwrap_or_else(|| panic!("no {what} in {md}"));
    let first_section = md.lines().find(|l| l.starts_with("## ")).unwrap_or("");
    assert!(first_section.starts_with("## Headline"), "{first_section}");
    assert!(at("## Headline") < at("## Matched cells"));
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
        &plots::ReportOptions {
            svg_only: true,
            ..Default::default()
        },
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

/// The headline row of `engine`, split into trimmed cells (`| a | b |` ->
/// `["a", "b"]`).
fn headline_row<'a>(md: &'a str, engine: &str) -> Vec<&'a str> {
    let start = md.find("## Headline").expect(md);
    let line = md[start..]
        .lines()
        .find(|l| l.starts_with(&format!("| {engine} |")))
        .unwrap_or_else(|| panic!("no headline row for {engine} in {md}"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    cells[1..cells.len() - 1].to_vec()
}

#[test]
fn the_headline_has_stall_and_memory_columns_left_empty_in_an_older_folder() {
    // run-a's runs.csv predates stall_count, longest_stall_ms, steady and
    // peak_rss_bytes.
    let t = tempfile::tempdir().unwrap();
    let s = plots::render_report(
        &fixture("run-a"),
        t.path(),
        &plots::ReportOptions {
            svg_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    let header = headline_row(&md, "engine");
    assert_eq!(
        header[header.len() - 4..],
        ["stalls", "longest stall", "steady", "peak RSS"],
        "{header:?}"
    );
    for engine in ["wal", "lsm"] {
        let row = headline_row(&md, engine);
        assert_eq!(row.len(), header.len(), "{row:?}");
        // Not recorded: empty, never 0.
        assert_eq!(row[row.len() - 4..], ["", "", "", ""], "{engine}: {row:?}");
    }
}

#[test]
fn one_policy_keeps_its_look_in_every_chart() {
    // The sync charts leave `none` out; `always+dir` must still be drawn in
    // the colour it has in the throughput chart (it once took `none`'s).
    let t = tempfile::tempdir().unwrap();
    plots::render_report(
        &fixture("run-a"),
        t.path(),
        &plots::ReportOptions {
            svg_only: true,
            ..Default::default()
        },
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
    assert!(
        err.to_string().contains("needs two results folders"),
        "{err}"
    );
}

fn cell(engine: &str, policy: &str, ops: f64) -> results::RunRow {
    results::RunRow {
        run_id: "vm-20261127-120000".into(),
        label: "disk-x".into(),
        engine: engine.into(),
        policy: policy.into(),
        workload: "fillrandom".into(),
        threads: 1,
        value_size_bytes: 100,
        status: "ok".into(),
        ops: 1200,
        ops_per_sec: ops,
        ops_per_sec_min: ops * 0.98,
        ops_per_sec_max: ops * 1.02,
        ops_per_sec_ci_low: Some(ops * 0.99),
        ops_per_sec_ci_high: Some(ops * 1.01),
        ops_per_sec_spread: Some(0.04),
        p50_us: 10.0,
        p99_us: 100.0,
        p999_us: 300.0,
        engine_bytes_written: 1000,
        engine_write_amp: 1.2,
        engine_bytes_source: "vfs".into(),
        ..Default::default()
    }
}

/// A results folder in the new format: intervals, a noisy cell, an
/// open-loop cell, a reference engine without sync counts, a lying probe.
fn new_format_folder(root: &Path, name: &str, scale: f64) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let mut always = cell("wal", "always", 5000.0 * scale);
    always.file_syncs = Some(1200);
    always.dir_syncs = Some(0);
    always.device_write_amp = Some(70.0);
    always.flushes_per_write = Some(1.0);
    always.noisy = Some(true);
    always.efficiency = Some(0.9);
    (always.stall_count, always.longest_stall_ms) = (Some(2), Some(120.0));
    (always.steady, always.peak_rss_bytes) = (Some(false), Some(50 << 20));
    let mut wal_none = cell("wal", "none", 5000.0 * 360.0);
    (wal_none.stall_count, wal_none.longest_stall_ms) = (Some(0), Some(0.0));
    (wal_none.steady, wal_none.peak_rss_bytes) = (Some(true), Some(30 << 20));
    let mut spread = cell("wal", "batch:32", 60_000.0);
    spread.ops_per_sec_spread = Some(0.31);
    let mut open = cell("lsm", "always", 2000.0);
    open.open_loop = true;
    open.efficiency = Some(0.38);
    let mut sqlite = cell("sqlite", "always", 5300.0);
    sqlite.engine_bytes_source = "proc_io".into();
    results::write_csv(
        &dir.join("runs.csv"),
        &[
            wal_none,
            always,
            spread,
            open,
            cell("lsm", "none", 100_000.0),
            sqlite,
            cell("sqlite", "none", 90_000.0),
        ],
    )
    .unwrap();
    let probe = results::ProbeRow {
        label: "disk-x".into(),
        pattern: "overwrite+fdatasync".into(),
        record_bytes: 4096,
        writes_per_sync: 1,
        ops: 3000,
        ops_per_sec: 90_000.0,
        threads: Some(4),
        layout: "shared".into(),
        prepared: "fallocate".into(),
        rounds: Some(3),
        ops_per_sec_min: Some(85_000.0),
        ops_per_sec_max: Some(95_000.0),
        flushes_per_sync: Some(0.0),
        warning: "syncs produced no device flush".into(),
        ..Default::default()
    };
    // The classic pattern at two record sizes, both without device
    // flushes: one cause, so one warning.
    let lying = |record_bytes: u64, syncs: u64| results::ProbeRow {
        label: "disk-x".into(),
        pattern: "append+fdatasync".into(),
        record_bytes,
        writes_per_sync: 1,
        ops: syncs,
        ops_per_sec: 800.0,
        threads: Some(1),
        flushes_per_sync: Some(0.0),
        warning: results::SyncDoubt::FewFlushes {
            flushes: 0,
            syncs,
            write_through: false,
        }
        .to_string(),
        ..Default::default()
    };
    results::write_csv(
        &dir.join("probe.csv"),
        &[lying(4096, 4000), probe, lying(137, 5000)],
    )
    .unwrap();
    let lat: Vec<results::LatencyRow> = [50.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0]
        .iter()
        .map(|p| results::LatencyRow {
            label: "disk-x".into(),
            engine: "wal".into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
            value_size_bytes: 100,
            operation: "all".into(),
            percentile: *p,
            latency_us: 100.0 + p,
            count: 6000,
            ..Default::default()
        })
        .collect();
    results::write_csv(&dir.join("latency.csv"), &lat).unwrap();
    dir
}

#[test]
fn new_columns_are_shown_with_intervals_flags_and_dashes() {
    let t = tempfile::tempdir().unwrap();
    let input = new_format_folder(t.path(), "in", 1.0);
    let out = t.path().join("out");
    let s = plots::render_report(
        &input,
        &out,
        &plots::ReportOptions {
            svg_only: true,
            ..Default::default()
        },
    )
    .unwrap();
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    // The warnings come right after the headline, before the charts.
    let warn = md.find("syncs produced no device flush").expect(&md);
    assert!(md.find("## Headline").unwrap() < warn, "{md}");
    assert!(warn < md.find("## Charts").unwrap(), "{md}");
    // The same lying disk seen at 137 B and 4096 B (and in another
    // pattern) is one line of the one box, its evidence summed.
    let lying: Vec<&str> = md
        .lines()
        .filter(|l| l.contains("acknowledges syncs it has not made durable"))
        .collect();
    assert_eq!(lying.len(), 1, "{lying:#?}");
    assert!(
        lying[0].starts_with("> - **Lying disk.** ")
            && lying[0].contains("`append+fdatasync` at 137 B and 4096 B")
            && lying[0].contains("0 device flushes for 9000 syncs")
            && lying[0].contains("syncs produced no device flush"),
        "{}",
        lying[0]
    );
    assert_eq!(md.matches("device flushes for").count(), 1, "{md}");
    // The causes are named above the headline, the box follows it.
    let lead = md
        .lines()
        .find(|l| l.contains("Warnings below the headline"))
        .expect(&md);
    assert!(lead.contains("*Lying disk*; *Noisy cells*"), "{lead}");
    assert!(md.find(lead) < md.find("## Headline"), "{md}");
    let boxes = md.lines().filter(|l| l.starts_with("> ⚠")).count();
    assert_eq!(boxes, 1, "one box of warnings: {md}");
    // Stalls and memory beside the throughput, blank where not recorded.
    let wal = headline_row(&md, "wal");
    assert_eq!(
        wal[wal.len() - 4..],
        ["2", "120 ms", "no: `always`", "50.0 MiB"],
        "{wal:?}"
    );
    let lsm = headline_row(&md, "lsm");
    assert_eq!(lsm[lsm.len() - 4..], ["", "", "", ""], "{lsm:?}");
    assert!(md.contains("about 360x slower than `none`"), "{md}");
    assert!(md.contains("5k ±1.0%"), "{md}");
    // Spread 31%: flagged after ops/s, and counted in the warnings.
    assert!(md.contains("60k ±1.0% ⚠"), "{md}");
    assert!(md.contains("1 of 7 cells spread more than 10%"), "{md}");
    assert!(md.contains("70.0 ⚠ noisy"), "{md}");
    assert!(md.contains("- (open loop)") && !md.contains("0.38"), "{md}");
    // Probe columns: threads, layout, min..max, flushes/sync, warning.
    assert!(
        md.contains(
            "| `overwrite+fdatasync` | fallocate | 4096 | 1 | 4 | shared | 90000 | 85k..95k |"
        ),
        "{md}"
    );
    // sqlite's syncs were not counted: `-`, never 0.
    let sqlite = md
        .lines()
        .find(|l| l.starts_with("| sqlite | `always`"))
        .unwrap();
    let cols: Vec<&str> = sqlite.split('|').map(str::trim).collect();
    assert_eq!(&cols[11..14], &["-", "-", "-"], "{sqlite}");
    // 6,000 operations support p99.9 (six above it) but not p99.99.
    let svg = std::fs::read_to_string(out.join("charts/latency_wal_fillrandom_t1.svg")).unwrap();
    assert!(
        svg.contains("aria-label=\"99.9%\""),
        "axis ends before p99.9"
    );
    assert!(
        !svg.contains("aria-label=\"99.99%\""),
        "axis runs past the data"
    );
    // Charts carry their text as outlines of the bundled font.
    assert!(!svg.contains("<text") && !svg.contains("font-family"));
    assert!(svg.len() < 150_000, "{} bytes", svg.len());
    let html = std::fs::read_to_string(&s.html).unwrap();
    assert!(html.contains("<nav class=\"toc\">") && html.contains("href=\"#all-cells\""));
    assert_eq!(
        html.matches("<blockquote>").count(),
        1,
        "one box of warnings"
    );
    assert!(!html.contains("<th></th>"), "an empty header cell");
}

#[test]
fn captions_render_as_links_in_html() {
    let t = tempfile::tempdir().unwrap();
    let s = plots::render_report(
        &fixture("run-a"),
        t.path(),
        &plots::ReportOptions::default(),
    )
    .unwrap();
    let html = std::fs::read_to_string(&s.html).unwrap();
    assert!(html.contains("<a href=\"charts/throughput_fillrandom_t1.png\">PNG</a>"));
    assert!(!html.contains("([PNG]("), "raw Markdown in a caption");
    assert!(!html.contains("<th></th>"), "an empty header cell");
}

#[test]
fn a_zero_on_a_log_axis_is_drawn_and_labelled() {
    let t = tempfile::tempdir().unwrap();
    let chart = plots::chart::Bars {
        title: "t".into(),
        y_label: "y".into(),
        x_label: "x".into(),
        categories: vec!["a".into(), "b".into()],
        panels: vec![plots::chart::BarPanel {
            subtitle: String::new(),
            series: vec![plots::chart::BarSeries {
                name: "s".into(),
                intervals: Vec::new(),
                style: 0,
                values: vec![Some(0.0), Some(1000.0)],
            }],
        }],
        log: Some(true),
        reference: None,
        diverging: false,
        corner: String::new(),
        legend_title: "p".into(),
    };
    let files =
        plots::chart::render_bars(&t.path().join("z"), &chart, plots::chart::Formats::SvgOnly)
            .unwrap();
    let svg = std::fs::read_to_string(&files[0]).unwrap();
    assert!(svg.contains("aria-label=\"0\""), "no label on the zero");
}

#[test]
fn compare_calls_overlapping_intervals_noise_and_shows_label_and_ceilings() {
    let t = tempfile::tempdir().unwrap();
    let a = new_format_folder(t.path(), "a", 1.0);
    // b: wal always 1.005x (inside both 95% intervals), the rest the same.
    let b = new_format_folder(t.path(), "b", 1.005);
    let out = t.path().join("cmp");
    std::fs::create_dir_all(&out).unwrap();
    let s = plots::render_compare(
        &[a.clone(), b],
        &out,
        &plots::CompareOptions {
            label: Some("ssd vs ssd".into()),
        },
    )
    .unwrap();
    let rows: Vec<results::compare::CompareRow> =
        results::read_csv(&out.join("compare.csv")).unwrap();
    let wal = rows
        .iter()
        .find(|r| !r.baseline && r.engine == "wal" && r.policy == "always")
        .unwrap();
    assert_eq!(wal.ops_change, "within noise");
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(
        md.starts_with("# bench-runner comparison: ssd vs ssd"),
        "{md}"
    );
    assert!(
        md.contains("within noise") && md.contains("stayed within noise in 7"),
        "{md}"
    );
    assert!(md.contains("## Device ceilings side by side"), "{md}");
    assert!(md.contains("syncs produced no device flush"), "{md}");
    // Cells in durability order: none before batch before always.
    let wal_lines: Vec<&str> = md.lines().filter(|l| l.starts_with("| wal |")).collect();
    assert!(wal_lines[0].contains("`none`") && wal_lines[2].contains("`always`"));
    // The same folder twice is flagged.
    let out2 = t.path().join("cmp2");
    let s =
        plots::render_compare(&[a.clone(), a], &out2, &plots::CompareOptions::default()).unwrap();
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(md.contains("are the same folder"), "{md}");
}
