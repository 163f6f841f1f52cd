//! The fleet's percentiles: per cell, every machine's operations together
//! (`fleet.csv`, from the merged histograms), as a table and as latency
//! spectra drawn from the merged `hgrm/` files.

use std::fmt::Write as _;

use results::fleet::FleetRow;
use results::RunFolder;

use crate::cells::supported;
use crate::chart::{human, Curve, Lines};
use crate::figures::{ordered, slug, thread_word, FigureSet, Styles};
use crate::PlotError;

/// What every fleet spectrum caption says.
const MERGED: &str = "every machine's operations together: the machines' histograms merged (not their percentiles averaged)";

/// The fleet spectrum of each engine of each workload and thread count,
/// one line per policy; returns how many were drawn.
pub(super) fn draw(
    folder: &RunFolder,
    fleet: &[FleetRow],
    corner: &str,
    figs: &mut FigureSet,
) -> Result<usize, PlotError> {
    let all: Vec<&FleetRow> = fleet
        .iter()
        .filter(|r| r.operation == "all" && r.count.is_some())
        .collect();
    let mut styles = Styles::new(all.iter().map(|r| r.policy.as_str()));
    let mut drawn = 0;
    for (workload, threads) in ordered(all.iter().map(|r| (r.workload.clone(), r.threads))) {
        let group: Vec<&&FleetRow> = all
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .collect();
        let what = format!("{workload}, {}", thread_word(threads));
        for engine in ordered(group.iter().map(|r| r.engine.clone())) {
            let mut rows: Vec<&&&FleetRow> = group.iter().filter(|r| r.engine == engine).collect();
            rows.sort_by_cached_key(|r| results::PolicyKey::parse(&r.policy));
            let mut series = Vec::new();
            for r in rows {
                let stem = results::hgrm_stem(
                    &r.engine,
                    &r.policy,
                    &r.workload,
                    r.threads,
                    r.value_size_bytes,
                    "all",
                );
                let path = folder.files.hgrm(&stem);
                if !path.is_file() {
                    continue;
                }
                let n = r.count.unwrap_or(0);
                let points: Vec<(f64, f64)> = results::parse_hgrm(&path)?
                    .into_iter()
                    .filter(|(p, _)| supported(*p, n))
                    .collect();
                series.push(Curve {
                    name: r.policy.clone(),
                    style: styles.of(&r.policy),
                    points,
                });
            }
            if figs.lines(
                &format!("fleet_latency_{}_{}_t{threads}", slug(&engine), slug(&workload)),
                format!("Latency percentile spectrum of {engine} over {MERGED}; one line per policy ({what}). Each line stops at the highest percentile its operation count supports."),
                Lines {
                    title: format!("Fleet latency spectrum: {engine}, {what}"),
                    y_label: "latency (µs)".into(),
                    series,
                    corner: corner.to_string(),
                    legend_title: "policy".into(),
                },
            )? {
                drawn += 1;
            }
        }
    }
    Ok(drawn)
}

/// A percentile of the fleet, or `-` where none was merged.
fn us(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.1}"))
}

/// The fleet table: per cell, the machines, the median machine's ops/s
/// with the machines' range, and the fleet's percentiles.
pub(super) fn table_md(m: &mut String, fleet: &[FleetRow], ops: &dyn Fn(&FleetRow) -> Vec<f64>) {
    let _ = writeln!(
        m,
        "| engine | policy | workload | threads | value B | machines | ops/s (median machine, lowest..highest) | p50 µs | p99 µs | p99.9 µs | max µs | operations |\n|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut unmerged = 0;
    for r in fleet.iter().filter(|r| r.operation == "all") {
        let mut v = ops(r);
        v.sort_by(f64::total_cmp);
        let ops_text = match (results::median(&v), v.first(), v.last()) {
            (Some(med), Some(lo), Some(hi)) if v.len() > 1 => {
                format!("{} ({}..{})", human(med), human(*lo), human(*hi))
            }
            (Some(med), _, _) => human(med),
            _ => "-".into(),
        };
        if r.count.is_none() {
            unmerged += 1;
        }
        let _ = writeln!(
            m,
            "| {} | `{}` | {} | {} | {} | {} | {ops_text} | {} | {} | {} | {} | {} |",
            r.engine,
            r.policy,
            r.workload,
            r.threads,
            r.value_size_bytes,
            r.machines,
            us(r.p50_us),
            us(r.p99_us),
            us(r.p999_us),
            us(r.max_us),
            r.count.map_or("-".into(), |c| c.to_string()),
        );
    }
    let _ = writeln!(m);
    let _ = writeln!(m, "Latency percentiles are of {MERGED}; `-` where a percentile needs more operations than were timed (five above it), or where some machine has no serialized histogram of the cell.");
    if unmerged > 0 {
        let _ = write!(m, " {unmerged} cells could not be merged: their machines' folders predate `hist/` (results format 3); `notes.md` names them, and each machine's own percentiles are in *Machines side by side* and `runs.csv`.");
    }
    let _ = writeln!(m, "\n");
}
