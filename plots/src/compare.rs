//! The comparison of several results folders (machines or disks): charts of
//! the same cells side by side, ratios against the baseline, and
//! `compare.md` / `compare.html`.

use std::path::{Path, PathBuf};

use results::compare::{CompareRow, Comparison};

use crate::cells::sig;
use crate::chart::{BarPanel, BarSeries, Bars, Formats};
use crate::figures::{ordered, slug, thread_word, FigureSet};
use crate::{PlotError, ReportSummary};

mod document;
use document::compare_markdown;
pub(crate) use document::{differences_md, env_diff_md, probes_md};

/// A ratio with three significant digits (`0.00263`, `0.981`, `380`).
fn ratio_text(r: Option<f64>) -> String {
    r.map_or("-".into(), |v| sig(v, 3))
}

/// The capacity searches of every run, side by side (`capacity.csv`).
fn compare_capacity(
    cmp: &Comparison,
) -> Result<Vec<results::capacity::CapacityCompareRow>, PlotError> {
    let mut runs = Vec::new();
    for r in &cmp.runs {
        runs.push((
            r.label.clone(),
            results::capacity::load_capacity(r.folder.dir())?,
        ));
    }
    Ok(results::capacity::compare_capacity(&runs))
}

/// Options of a comparison.
#[derive(Debug, Clone, Default)]
pub struct CompareOptions {
    /// A name for the comparison (`--label`): the documents' title and the
    /// charts' corner; the run labels are listed either way.
    pub label: Option<String>,
}

/// Compares result folders (the first is the baseline; a merged folder
/// counts as its machines, so one of two machines or more will do): writes
/// `compare.csv`, charts (`out/charts/compare_*`), `compare.md` and
/// `compare.html` into `out`. The summary's answer says how each run
/// differs from the baseline; its notes count the cells some runs lack.
pub fn render_compare(
    dirs: &[PathBuf],
    out: &Path,
    opts: &CompareOptions,
) -> Result<ReportSummary, PlotError> {
    let cmp: Comparison = results::compare::compare(dirs)?;
    let mut figs = FigureSet::create(out, Formats::PngAndSvg)?;
    results::write_csv(&out.join("compare.csv"), &cmp.rows)?;
    let labels: Vec<String> = cmp.runs.iter().map(|r| r.label.clone()).collect();
    let (name, corner) = names(&cmp, &labels, opts);
    draw_groups(&cmp, &labels, &corner, ("compare", "run"), &mut figs)?;
    let mut md = compare_markdown(&cmp, &name, &labels, &figs);
    let capacity = compare_capacity(&cmp)?;
    if !capacity.is_empty() {
        results::write_csv(&out.join("compare_capacity.csv"), &capacity)?;
        md.push_str(&crate::capacity::compare_table(&capacity));
    }
    md.push_str(&crate::recovery::compare_section(dirs, &labels, out)?);
    let html = crate::html::to_html(&md, out, &format!("bench-runner comparison: {name}"));
    let markdown = out.join("compare.md");
    let html_path = out.join("compare.html");
    results::write_durably(&markdown, md.as_bytes())?;
    results::write_durably(&html_path, html.as_bytes())?;
    Ok(ReportSummary {
        charts: figs.files,
        markdown,
        html: html_path,
        answer: cmp.differences().iter().map(ToString::to_string).collect(),
        notes: cmp
            .missing_counts()
            .map(|m| format!("{m}; those cells are not compared, and compare.md lists them"))
            .into_iter()
            .collect(),
        warnings: cmp.warnings,
    })
}

/// The charts of every workload and thread count of `cmp`: throughput
/// and p99 side by side, and each run's throughput against the
/// baseline's, named `<prefix>_throughput_<id>`, ...; a run is called a
/// `noun` (`run`, `machine`) in titles and legends.
pub(crate) fn draw_groups(
    cmp: &Comparison,
    labels: &[String],
    corner: &str,
    (prefix, noun): (&str, &str),
    figs: &mut FigureSet,
) -> Result<(), PlotError> {
    for (workload, threads) in ordered(cmp.rows.iter().map(|r| (r.workload.clone(), r.threads))) {
        let rows: Vec<&CompareRow> = cmp
            .rows
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .collect();
        let group = Group {
            rows,
            labels,
            what: format!("{workload}, {}", thread_word(threads)),
            id: format!("{}_t{threads}", slug(&workload)),
            corner,
            prefix,
            noun,
        };
        group.draw(figs)?;
    }
    Ok(())
}

/// The comparison's name (`--label`, else the run labels joined by `vs`)
/// and the charts' corner (the name, the runs when named by `--label`, and
/// the days the runs started).
fn names(cmp: &Comparison, labels: &[String], opts: &CompareOptions) -> (String, String) {
    let dates = ordered(cmp.runs.iter().filter_map(|r| {
        r.folder
            .environment()
            .and_then(|e| e.started_utc.get(..10).map(str::to_string))
    }));
    let name = opts
        .label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| labels.join(" vs "));
    let corner = if opts.label.is_some() {
        format!("{name}: {} · {}", labels.join(" vs "), dates.join(", "))
    } else {
        format!("{name} · {}", dates.join(", "))
    };
    (name, corner)
}

/// The compared cells of one workload and thread count.
struct Group<'a> {
    rows: Vec<&'a CompareRow>,
    /// Every run's label, the baseline first.
    labels: &'a [String],
    /// `fillrandom, 1 thread`.
    what: String,
    /// `fillrandom_t1`.
    id: String,
    corner: &'a str,
    /// The charts' file names start with it (`compare`, `machines`).
    prefix: &'a str,
    /// What a run is called (`run`, `machine`).
    noun: &'a str,
}

impl Group<'_> {
    /// The cells in the comparison's order (the baseline's matrix, by
    /// durability) and their names on the x axis: engine and policy, and
    /// the value size when the group has several.
    fn cells(&self) -> (Vec<(String, String, u64)>, Vec<String>) {
        let cells = ordered(
            self.rows
                .iter()
                .map(|r| (r.engine.clone(), r.policy.clone(), r.value_size_bytes)),
        );
        let sizes = ordered(cells.iter().map(|c| c.2));
        let names = cells
            .iter()
            .map(|(e, p, v)| {
                if sizes.len() > 1 {
                    format!("{e} {p} {v} B")
                } else {
                    format!("{e} {p}")
                }
            })
            .collect();
        (cells, names)
    }

    /// Throughput and p99 of every run side by side, and each run's
    /// throughput against the baseline's.
    fn draw(&self, figs: &mut FigureSet) -> Result<(), PlotError> {
        let (cells, names) = self.cells();
        let (what, id) = (&self.what, &self.id);
        let base = self.labels.first().cloned().unwrap_or_default();
        let others = self.labels.get(1..).unwrap_or_default();
        let per_run =
            |f: &dyn Fn(&CompareRow) -> Option<f64>, runs: &[String]| self.per_run(&cells, f, runs);
        figs.bars(
            &format!("{}_throughput_{id}", self.prefix),
            format!(
                "Throughput of the same cells on each {}, side by side ({what}).",
                self.noun
            ),
            self.bars(
                &names,
                format!("Throughput by {}: {what}", self.noun),
                "operations/s",
                per_run(&|r| Some(r.ops_per_sec), self.labels),
                None,
            ),
        )?;
        figs.bars(
            &format!("{}_p99_{id}", self.prefix),
            format!("99th percentile latency of the same cells on each {}, side by side ({what}); lower is better.", self.noun),
            self.bars(
                &names,
                format!("p99 latency by {}: {what}", self.noun),
                "p99 latency (µs)",
                per_run(&|r| (r.p99_us > 0.0).then_some(r.p99_us), self.labels),
                None,
            ),
        )?;
        figs.bars(
            &format!("{}_ratio_{id}", self.prefix),
            format!("Throughput of each {} divided by the baseline's ({base}) for the same cell ({what}); above 1 is faster than the baseline.", self.noun),
            self.bars(
                &names,
                format!("Throughput ratio vs {base}: {what}"),
                "ops/s ÷ baseline ops/s",
                per_run(&|r| r.ops_ratio, others),
                Some((1.0, format!("baseline ({base})"))),
            )
            .with_log(true)
            .diverging(),
        )?;
        Ok(())
    }

    /// A bar per run in `runs` (styled by its place among all runs), a
    /// value `f` per cell.
    fn per_run(
        &self,
        cells: &[(String, String, u64)],
        f: &dyn Fn(&CompareRow) -> Option<f64>,
        runs: &[String],
    ) -> Vec<BarSeries> {
        runs.iter()
            .map(|l| BarSeries {
                name: l.clone(),
                intervals: Vec::new(),
                style: self.labels.iter().position(|x| x == l).unwrap_or(0),
                values: cells
                    .iter()
                    .map(|(e, p, v)| {
                        self.rows
                            .iter()
                            .find(|r| {
                                &r.run == l
                                    && &r.engine == e
                                    && &r.policy == p
                                    && r.value_size_bytes == *v
                            })
                            .and_then(|r| f(r))
                            .filter(|x| x.is_finite())
                    })
                    .collect(),
            })
            .collect()
    }

    /// A one-panel bar chart of this group: cells along x, a bar per run.
    fn bars(
        &self,
        names: &[String],
        title: String,
        y_label: &str,
        series: Vec<BarSeries>,
        reference: Option<(f64, String)>,
    ) -> Bars {
        Bars {
            title,
            y_label: y_label.into(),
            x_label: "engine and policy".into(),
            categories: names.to_vec(),
            panels: vec![BarPanel {
                subtitle: String::new(),
                series,
            }],
            log: None,
            reference,
            diverging: false,
            corner: self.corner.to_string(),
            legend_title: self.noun.into(),
        }
    }
}
