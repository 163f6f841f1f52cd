//! Fleet-wide percentiles: for every cell and operation, the machines'
//! serialized histograms (`hist/*.hdr`) merged, and the percentiles of the
//! merged histogram. Percentiles are never averaged: a cell some machine
//! has no serialized histogram of (a folder written before format 3) gets
//! none, and says which machines.

use hdrhistogram::Histogram;

use super::FleetRow;
use crate::{
    hgrm_stem, merge_hists, percentile_supported, read_hist, sort_in_matrix_order, CellKey, Result,
    RunFolder, OPERATIONS,
};

/// The merged histograms of a fleet and their percentiles.
#[derive(Debug, Clone, Default)]
pub struct FleetPercentiles {
    /// One row per cell and operation some machine recorded, in matrix
    /// order.
    pub rows: Vec<FleetRow>,
    /// The merged histograms, by file stem ([`hgrm_stem`]).
    pub hists: Vec<(String, Histogram<u64>)>,
    /// The cells and operations whose percentiles could not be merged
    /// (`wal always fillrandom t1 v100 all`), with the machines that lack
    /// a serialized histogram of them (and why, for an unreadable one).
    pub unmerged: Vec<(String, Vec<String>)>,
}

/// What one machine holds of one cell and operation.
enum Held {
    /// Its serialized histogram.
    Hist(Histogram<u64>),
    /// Nothing: it has other histograms of the cell, so it did not do this
    /// operation.
    NotDone,
    /// No serialized histogram of the cell at all, or an unreadable one.
    Unmergeable(String),
}

/// What `machine` holds of `cell`'s operation `op`.
fn held(machine: &RunFolder, cell: &CellKey, op: &str) -> Held {
    let stem = |op: &str| {
        hgrm_stem(
            &cell.engine,
            &cell.policy,
            &cell.workload,
            cell.threads,
            cell.value_size_bytes,
            op,
        )
    };
    let path = machine.files.hist(&stem(op));
    if path.is_file() {
        return match read_hist(&path) {
            Ok(h) => Held::Hist(h),
            Err(e) => Held::Unmergeable(format!("{}: {e}", machine.label)),
        };
    }
    if machine.files.hist(&stem("all")).is_file() {
        Held::NotDone
    } else {
        Held::Unmergeable(machine.label.clone())
    }
}

/// Microseconds from nanoseconds.
fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// The row of one cell and operation, from the histograms merged (`None`:
/// some machine's could not be).
fn row(cell: &CellKey, op: &str, machines: usize, merged: Option<&Histogram<u64>>) -> FleetRow {
    let mut r = FleetRow {
        engine: cell.engine.clone(),
        policy: cell.policy.clone(),
        workload: cell.workload.clone(),
        threads: cell.threads,
        value_size_bytes: cell.value_size_bytes,
        operation: op.to_string(),
        machines,
        ..FleetRow::default()
    };
    if let Some(h) = merged.filter(|h| !h.is_empty()) {
        let n = h.len();
        let at = |p: f64| percentile_supported(n, p).then(|| us(h.value_at_quantile(p / 100.0)));
        r.count = Some(n);
        (r.p50_us, r.p90_us, r.p99_us) = (at(50.0), at(90.0), at(99.0));
        (r.p999_us, r.p9999_us) = (at(99.9), at(99.99));
        r.max_us = Some(us(h.max()));
        r.mean_us = Some(h.mean() / 1000.0);
    }
    r
}

/// The fleet percentiles of `machines` (each a results folder named by
/// its label): every cell any of them finished, every operation any of
/// them recorded.
pub fn fleet_rows(machines: &[RunFolder]) -> Result<FleetPercentiles> {
    let mut cells: Vec<CellKey> = Vec::new();
    for k in machines
        .iter()
        .flat_map(|m| m.runs.iter().map(CellKey::from))
    {
        if !cells.contains(&k) {
            cells.push(k);
        }
    }
    sort_in_matrix_order(&mut cells, CellKey::clone);
    let mut out = FleetPercentiles::default();
    for cell in &cells {
        let with: Vec<&RunFolder> = machines
            .iter()
            .filter(|m| m.runs.iter().any(|r| CellKey::from(r) == *cell))
            .collect();
        for op in OPERATIONS {
            let mut hists = Vec::new();
            let mut missing: Vec<String> = Vec::new();
            for m in &with {
                match held(m, cell, op) {
                    Held::Hist(h) => hists.push(h),
                    Held::NotDone => {}
                    Held::Unmergeable(why) => missing.push(why),
                }
            }
            if hists.is_empty() && (*op != "all" || missing.is_empty()) {
                continue;
            }
            let merged = if missing.is_empty() {
                merge_hists(&hists)
            } else {
                out.unmerged.push((format!("{cell} {op}"), missing.clone()));
                None
            };
            let mut r = row(cell, op, with.len(), merged.as_ref());
            r.merged = if merged.is_some() { hists.len() } else { 0 };
            r.not_merged = missing.join(";");
            if let Some(h) = merged {
                let stem = hgrm_stem(
                    &cell.engine,
                    &cell.policy,
                    &cell.workload,
                    cell.threads,
                    cell.value_size_bytes,
                    op,
                );
                out.hists.push((stem, h));
            }
            out.rows.push(r);
        }
    }
    Ok(out)
}
