//! The machines side by side for one cell: a bar per machine, with the
//! interval `compare` judges changes by drawn over it, for throughput and
//! for p99 latency.

use results::compare::{ops_interval, p99_interval, Comparison, IntervalKind, NoiseInterval};
use results::{CellKey, RunRow};

use crate::chart::{BarPanel, BarSeries, Bars};
use crate::figures::FigureSet;
use crate::PlotError;

/// `wal always fillrandom, 1 thread`.
pub(super) fn cell_words(k: &CellKey) -> String {
    format!(
        "{} {} {}, {}",
        k.engine,
        k.policy,
        k.workload,
        crate::figures::thread_word(k.threads)
    )
}

/// An interval as a whisker: none for a single repetition (a point).
fn whisker(i: NoiseInterval) -> Option<(f64, f64)> {
    (i.kind != IntervalKind::Single).then_some((i.low, i.high))
}

/// One chart: a bar per machine (`None` where it lacks the cell).
fn chart(
    cmp: &Comparison,
    cell: &CellKey,
    corner: &str,
    (title, y_label): (String, &str),
    value: &dyn Fn(&RunRow) -> (Option<f64>, NoiseInterval),
) -> Bars {
    let figures: Vec<Option<(Option<f64>, NoiseInterval)>> = cmp
        .runs
        .iter()
        .map(|r| r.cells.get(cell).map(value))
        .collect();
    Bars {
        title,
        y_label: y_label.into(),
        x_label: "machine".into(),
        categories: cmp.runs.iter().map(|r| r.label.clone()).collect(),
        panels: vec![BarPanel {
            subtitle: String::new(),
            series: vec![BarSeries {
                name: format!("{} {}", cell.engine, cell.policy),
                style: 0,
                intervals: figures
                    .iter()
                    .map(|f| f.and_then(|(v, i)| v.and(whisker(i))))
                    .collect(),
                values: figures.iter().map(|f| f.and_then(|(v, _)| v)).collect(),
            }],
        }],
        log: None,
        reference: None,
        diverging: false,
        corner: corner.to_string(),
        legend_title: "cell".into(),
    }
}

/// The two charts of `cell`: throughput and p99, a bar per machine.
pub(super) fn draw(
    cmp: &Comparison,
    cell: &CellKey,
    corner: &str,
    figs: &mut FigureSet,
) -> Result<(), PlotError> {
    let what = cell_words(cell);
    let intervals = "the whisker over each bar is that machine's interval over its repetitions (the 95% confidence interval of the median, narrowed to min..max; min..max without one; none after a single repetition): machines whose whiskers do not overlap differ beyond noise";
    figs.bars(
        "cell_by_machine_throughput",
        format!("Throughput of {what} on each machine; {intervals}. `bench-runner plot DIR --cell ENGINE/POLICY/WORKLOAD[/THREADS]` draws another cell."),
        chart(
            cmp,
            cell,
            corner,
            (format!("Throughput by machine: {what}"), "operations/s"),
            &|r| (Some(r.ops_per_sec), ops_interval(r)),
        ),
    )?;
    figs.bars(
        "cell_by_machine_p99",
        format!("99th percentile latency of {what} on each machine (each machine's own operations; lower is better); {intervals}."),
        chart(
            cmp,
            cell,
            corner,
            (format!("p99 latency by machine: {what}"), "p99 latency (µs)"),
            &|r| ((r.p99_us > 0.0).then_some(r.p99_us), p99_interval(r)),
        ),
    )?;
    Ok(())
}
