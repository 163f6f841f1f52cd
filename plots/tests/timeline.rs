//! Charts over time from `timeline.csv` and `events.csv`: a synthetic
//! folder with two engines, three repetitions per cell, a stall and a
//! compaction in the median repetition, and events of another repetition
//! that must not be drawn.

use std::path::{Path, PathBuf};

use results::{EventRow, RunRow, TimelineRow};

const RUN: &str = "vm-20261206-120000";

fn cell(engine: &str, policy: &str, ops: f64, repetition: u32) -> RunRow {
    RunRow {
        run_id: RUN.into(),
        label: "disk-t".into(),
        engine: engine.into(),
        policy: policy.into(),
        workload: "fillrandom".into(),
        threads: 1,
        value_size_bytes: 100,
        repetition,
        status: "ok".into(),
        ops: 5000,
        ops_per_sec: ops,
        ops_per_sec_min: ops,
        ops_per_sec_max: ops,
        p50_us: 10.0,
        p99_us: 100.0,
        engine_bytes_written: 1000,
        engine_write_amp: 1.2,
        engine_bytes_source: "vfs".into(),
        ..Default::default()
    }
}

/// 50 intervals of 100 ms at `ops_per_sec`, with intervals `zero` empty.
fn intervals(
    engine: &str,
    policy: &str,
    rep: u32,
    ops_per_sec: f64,
    zero: &[usize],
) -> Vec<TimelineRow> {
    (0..50)
        .map(|i| {
            let rate = if zero.contains(&i) { 0.0 } else { ops_per_sec };
            let timed = rate > 0.0;
            TimelineRow {
                run_id: RUN.into(),
                label: "disk-t".into(),
                engine: engine.into(),
                policy: policy.into(),
                workload: "fillrandom".into(),
                threads: 1,
                value_size_bytes: 100,
                repetition: rep,
                t_ms: i as f64 * 100.0,
                interval_ms: 100.0,
                ops: (rate / 10.0) as u64,
                ops_per_sec: rate,
                p50_us: timed.then_some(20.0),
                p99_us: timed.then_some(80.0 + i as f64),
                max_us: timed.then_some(400.0),
                ..Default::default()
            }
        })
        .collect()
}

fn event(engine: &str, rep: u32, kind: &str, detail: &str, start_ms: f64, end_ms: f64) -> EventRow {
    EventRow {
        run_id: RUN.into(),
        label: "disk-t".into(),
        engine: engine.into(),
        policy: "none".into(),
        workload: "fillrandom".into(),
        threads: 1,
        value_size_bytes: 100,
        repetition: rep,
        start_ms,
        end_ms,
        kind: kind.into(),
        detail: detail.into(),
    }
}

/// lsm and wal under `none` and `always`; three repetitions each, whose
/// median by ops/s is repetition 2. lsm/none stalls (three empty
/// intervals) during a compaction and a write stall in repetition 2; its
/// repetition 0 has a merge, which must not be drawn.
fn folder(root: &Path, with_timeline: bool) -> PathBuf {
    let dir = root.join(if with_timeline { "with" } else { "without" });
    std::fs::create_dir_all(&dir).unwrap();
    let cells = [
        ("lsm", "none", 100_000.0),
        ("lsm", "always", 500.0),
        ("wal", "none", 200_000.0),
        ("wal", "always", 900.0),
    ];
    let runs: Vec<RunRow> = cells.iter().map(|(e, p, o)| cell(e, p, *o, 3)).collect();
    results::write_csv(&dir.join("runs.csv"), &runs).unwrap();
    let mut reps = Vec::new();
    for (e, p, o) in cells {
        // 0.5x, 1.5x, 1x: the median is repetition 2.
        for (rep, f) in [(0, 0.5), (1, 1.5), (2, 1.0)] {
            reps.push(cell(e, p, o * f, rep));
        }
    }
    results::write_csv(&dir.join("repetitions.csv"), &reps).unwrap();
    if !with_timeline {
        return dir;
    }
    let mut tl = Vec::new();
    for (e, p, o) in cells {
        for rep in 0..3 {
            let zero: &[usize] = if (e, p, rep) == ("lsm", "none", 2) {
                &[20, 21, 22]
            } else {
                &[]
            };
            tl.extend(intervals(e, p, rep, o, zero));
        }
    }
    results::write_csv(&dir.join("timeline.csv"), &tl).unwrap();
    let events = vec![
        event(
            "lsm",
            2,
            "compaction",
            "L0->L1 in=4 out=2",
            1_900.0,
            2_400.0,
        ),
        event("lsm", 2, "write-stall", "L0 full", 2_000.0, 2_300.0),
        event("lsm", 2, "flush", "memtable", -150.0, 30.0),
        event("wal", 2, "rotation", "segment 3", 3_000.0, 3_001.0),
        event("lsm", 0, "merge", "never drawn", 1_000.0, 3_000.0),
    ];
    results::write_csv(&dir.join("events.csv"), &events).unwrap();
    dir
}

fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let reader = decoder.read_info().unwrap();
    let info = reader.info();
    (info.width, info.height)
}

#[test]
fn timelines_are_drawn_listed_and_captioned() {
    let t = tempfile::tempdir().unwrap();
    let input = folder(t.path(), true);
    let out = t.path().join("out");
    let s = plots::render_report(&input, &out, &plots::ReportOptions::default()).unwrap();
    for name in [
        "throughput_over_time_fillrandom_t1",
        "p99_over_time_fillrandom_t1",
    ] {
        for ext in ["png", "svg"] {
            let path = out.join("charts").join(format!("{name}.{ext}"));
            assert!(path.exists(), "{} missing", path.display());
            assert!(
                s.charts.contains(&path),
                "{} not in the summary",
                path.display()
            );
        }
        let (w, h) = png_size(&out.join("charts").join(format!("{name}.png")));
        assert_eq!(w, 1200);
        assert!(h > 400, "{name} is {h} pixels high");
    }

    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(md.contains("### Over time: fillrandom, 1 thread"), "{md}");
    for (title, file, axis) in [
        (
            "Throughput over time: fillrandom, 1 thread",
            "throughput_over_time_fillrandom_t1",
            // 500 to 200,000 ops/s.
            "logarithmic because the values span more than 30x",
        ),
        (
            "p99 latency over time: fillrandom, 1 thread",
            "p99_over_time_fillrandom_t1",
            // 80 to 129 µs.
            "linear from 0",
        ),
    ] {
        let figure = format!("#### {title}\n\n![{title}](charts/{file}.svg)\n\n");
        let at = md
            .find(&figure)
            .unwrap_or_else(|| panic!("{figure} not in report.md"));
        let caption = md[at + figure.len()..].lines().next().unwrap();
        for words in [
            "one engine × policy cell",
            "median by ops/s",
            "Shaded bands",
            "compaction, write-stall",
            "below 10% of the cell's median interval",
            axis,
            &format!("([PNG](charts/{file}.png))"),
        ] {
            assert!(
                caption.contains(words),
                "{title}: caption lacks {words:?}: {caption}"
            );
        }
    }
    // Three empty intervals sit on the floor of the throughput axis: said so.
    assert!(
        md.contains("3 intervals that completed no operation"),
        "{md}"
    );

    let svg =
        std::fs::read_to_string(out.join("charts/throughput_over_time_fillrandom_t1.svg")).unwrap();
    roxmltree::Document::parse(&svg).unwrap();
    for label in [
        "lsm",
        "wal",
        "none",
        "always",
        "compaction",
        "write-stall",
        "flush",
        "rotation (tick)",
        "stall (measured)",
        "operations/s (log scale)",
        "rep 2, median of 3 · 1 stall",
        "rep 2, median of 3",
    ] {
        assert!(
            svg.contains(&format!("aria-label=\"{label}\"")),
            "{label} missing from the chart"
        );
    }
    // Repetition 0's merge is not the drawn repetition's: no band, no legend.
    assert!(
        !svg.contains("aria-label=\"merge\""),
        "a merge of repetition 0 was drawn"
    );
    assert!(!svg.contains("#9646C8"), "a merge band was drawn");
    // The compaction: a translucent band besides its legend swatch.
    let compaction = svg.matches("opacity=\"0.28\" fill=\"#F58714\"").count();
    assert_eq!(compaction, 2, "legend swatch and one band");

    let html = std::fs::read_to_string(&s.html).unwrap();
    assert!(html.contains("id=\"over-time-fillrandom-1-thread\""));
    assert!(
        html.contains("aria-label=\"rep 2, median of 3 · 1 stall\""),
        "chart not inlined"
    );
}

#[test]
fn a_folder_without_a_timeline_still_renders_without_charts_over_time() {
    let t = tempfile::tempdir().unwrap();
    let input = folder(t.path(), false);
    let out = t.path().join("out");
    let s = plots::render_report(&input, &out, &plots::ReportOptions::default()).unwrap();
    assert!(
        s.charts
            .iter()
            .all(|c| !c.to_string_lossy().contains("over_time")),
        "{:?}",
        s.charts
    );
    assert!(out.join("charts/throughput_fillrandom_t1.svg").exists());
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    assert!(
        md.contains("No charts over time: `timeline.csv` is missing"),
        "{md}"
    );
    assert!(!md.contains("### Over time"), "{md}");
    assert!(
        !md.contains("all cells"),
        "an overlay without a timeline: {md}"
    );
    assert!(s
        .notes
        .iter()
        .any(|n| n.contains("`timeline.csv` is missing")));
}

#[test]
fn without_events_the_lines_are_drawn_and_the_caption_says_there_are_no_bands() {
    let t = tempfile::tempdir().unwrap();
    let input = folder(t.path(), true);
    std::fs::remove_file(input.join("events.csv")).unwrap();
    std::fs::remove_file(input.join("repetitions.csv")).unwrap();
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
    assert!(md.contains("so there are no bands"), "{md}");
    // Without repetitions.csv every cell falls back to repetition 0,
    // which has no stall.
    let svg =
        std::fs::read_to_string(out.join("charts/throughput_over_time_fillrandom_t1.svg")).unwrap();
    assert!(
        svg.contains("aria-label=\"rep 0\""),
        "fallback repetition not named"
    );
    assert!(!svg.contains("stall"), "repetition 0 has no stall");
    assert!(!out
        .join("charts/throughput_over_time_fillrandom_t1.png")
        .exists());
}

#[test]
fn a_malformed_timeline_or_event_file_is_an_error_naming_it() {
    let t = tempfile::tempdir().unwrap();
    let input = folder(t.path(), true);
    let good = std::fs::read_to_string(input.join("events.csv")).unwrap();
    std::fs::write(
        input.join("events.csv"),
        good.replacen(",1900.0,", ",soon,", 1),
    )
    .unwrap();
    let err = plots::render_report(
        &input,
        &t.path().join("o1"),
        &plots::ReportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("events.csv"), "{err}");

    std::fs::write(input.join("events.csv"), good).unwrap();
    std::fs::write(
        input.join("timeline.csv"),
        "run_id,label,engine\nnot,a,timeline,at all\n",
    )
    .unwrap();
    let err = plots::render_report(
        &input,
        &t.path().join("o2"),
        &plots::ReportOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("timeline.csv"), "{err}");
}

/// The `#### title` figure's caption line in `md`, and where it starts.
fn figure_caption<'a>(md: &'a str, title: &str, file: &str) -> (usize, &'a str) {
    let figure = format!("#### {title}\n\n![{title}](charts/{file}.svg)\n\n");
    let at = md
        .find(&figure)
        .unwrap_or_else(|| panic!("{figure} not in report.md"));
    let caption = md[at + figure.len()..].lines().next().unwrap_or_default();
    (at, caption)
}

#[test]
fn overlays_put_every_cell_on_one_panel_before_the_grids() {
    let t = tempfile::tempdir().unwrap();
    let input = folder(t.path(), true);
    let out = t.path().join("out");
    let s = plots::render_report(&input, &out, &plots::ReportOptions::default()).unwrap();
    let md = std::fs::read_to_string(&s.markdown).unwrap();
    let group = md
        .find("### Over time: fillrandom, 1 thread")
        .expect("no group heading");
    let (grid, _) = figure_caption(
        &md,
        "Throughput over time: fillrandom, 1 thread",
        "throughput_over_time_fillrandom_t1",
    );
    for (title, file, axis, y_label) in [
        (
            "Throughput over time, all cells: fillrandom, 1 thread",
            "throughput_over_time_all_fillrandom_t1",
            // 500 to 200,000 ops/s, and three empty intervals on the floor.
            "logarithmic because the values span more than 30x",
            "operations/s (log scale)",
        ),
        (
            "p99 latency over time, all cells: fillrandom, 1 thread",
            "p99_over_time_all_fillrandom_t1",
            // 80 to 129 µs.
            "linear from 0",
            "p99 latency (µs)",
        ),
    ] {
        for ext in ["png", "svg"] {
            let path = out.join("charts").join(format!("{file}.{ext}"));
            assert!(path.exists(), "{} missing", path.display());
            assert!(s.charts.contains(&path), "{} not listed", path.display());
        }
        let (w, h) = png_size(&out.join("charts").join(format!("{file}.png")));
        assert_eq!(w, 1200);
        assert!(h > 500, "{file} is {h} pixels high");

        let (at, caption) = figure_caption(&md, title, file);
        assert!(
            group < at && at < grid,
            "{title} is not between its group heading and the grids"
        );
        for words in [
            "One line per engine × policy cell",
            "median by ops/s",
            "lane",
            "compaction, write-stall",
            "ticks across the lane",
            "below 10% of the cell's median interval",
            "more than 16 cells",
            axis,
            &format!("([PNG](charts/{file}.png))"),
        ] {
            assert!(
                caption.contains(words),
                "{title}: caption lacks {words:?}: {caption}"
            );
        }

        let svg = std::fs::read_to_string(out.join("charts").join(format!("{file}.svg"))).unwrap();
        roxmltree::Document::parse(&svg).unwrap();
        for label in [
            "lsm · none",
            "lsm · always",
            "wal · none",
            "wal · always",
            "compaction",
            "write-stall",
            "flush",
            "rotation (tick)",
            "stall (measured)",
            y_label,
        ] {
            assert!(
                svg.contains(&format!("aria-label=\"{label}\"")),
                "{file}: {label} missing"
            );
        }
        assert!(
            !svg.contains("(log scale)") || y_label.contains("log"),
            "{file}: a log axis for values within 30x"
        );
        assert!(
            !svg.contains("aria-label=\"merge\""),
            "{file}: repetition 0's merge was drawn"
        );
        // Four lines, four colours.
        for colour in ["#1F77B4", "#FF7F0E", "#2CA02C", "#D62728"] {
            assert!(
                svg.contains(&format!("stroke=\"{colour}\"")),
                "{file}: no line in {colour}"
            );
        }
    }
    // The empty intervals of the throughput overlay are on the floor: said.
    let (_, caption) = figure_caption(
        &md,
        "Throughput over time, all cells: fillrandom, 1 thread",
        "throughput_over_time_all_fillrandom_t1",
    );
    assert!(
        caption.contains("3 intervals that completed no operation"),
        "{caption}"
    );
    let html = std::fs::read_to_string(&s.html).unwrap();
    assert!(
        html.contains("aria-label=\"wal · always\""),
        "overlay not inlined"
    );
}

/// `n` cells (engines `e0`, `e1`, ... under `none`), one repetition each,
/// with a timeline and no events.
fn many_cells(root: &Path, n: usize) -> PathBuf {
    let dir = root.join(format!("cells{n}"));
    std::fs::create_dir_all(&dir).unwrap();
    let engines: Vec<String> = (0..n).map(|i| format!("e{i}")).collect();
    let runs: Vec<RunRow> = engines.iter().map(|e| cell(e, "none", 1000.0, 0)).collect();
    results::write_csv(&dir.join("runs.csv"), &runs).unwrap();
    let tl: Vec<TimelineRow> = engines
        .iter()
        .enumerate()
        .flat_map(|(i, e)| intervals(e, "none", 0, 1000.0 + i as f64, &[]))
        .collect();
    results::write_csv(&dir.join("timeline.csv"), &tl).unwrap();
    dir
}

#[test]
fn too_many_or_too_few_cells_draw_no_overlay_and_the_report_says_why() {
    let t = tempfile::tempdir().unwrap();
    for (n, drawn) in [(1, false), (16, true), (17, false)] {
        let input = many_cells(t.path(), n);
        let out = t.path().join(format!("out{n}"));
        let s = plots::render_report(
            &input,
            &out,
            &plots::ReportOptions {
                svg_only: true,
                ..Default::default()
            },
        )
        .unwrap();
        let overlay = out.join("charts/throughput_over_time_all_fillrandom_t1.svg");
        assert_eq!(overlay.exists(), drawn, "{n} cells");
        // The grid is drawn whatever the count.
        assert!(out
            .join("charts/throughput_over_time_fillrandom_t1.svg")
            .exists());
        let md = std::fs::read_to_string(&s.markdown).unwrap();
        let why = match n {
            1 => "one cell, so no overlaid chart of throughput",
            17 => "17 cells: more than 16 lines would tangle on one panel, so no overlaid charts",
            _ => "",
        };
        if drawn {
            assert!(!md.contains("no overlaid chart"), "{n} cells: {md}");
            // 1000 to 1015 ops/s: well within 30x, so linear.
            let svg = std::fs::read_to_string(&overlay).unwrap();
            assert!(svg.contains("aria-label=\"e15 · none\""));
            assert!(svg.contains("aria-label=\"operations/s\""));
            assert!(svg.contains("aria-label=\"lanes under the plot: empty\""));
        } else {
            assert!(md.contains(why), "{n} cells: {md}");
        }
        // Only a cap worth a warning reaches the notes.
        assert_eq!(
            s.notes
                .iter()
                .any(|w| w.contains("no overlaid charts over time")),
            n == 17,
            "{n} cells: {:?}",
            s.notes
        );
    }
}
