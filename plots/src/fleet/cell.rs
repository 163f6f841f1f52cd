//! The cell of the machines-side-by-side chart: the one `--cell` names
//! (`ENGINE/POLICY/WORKLOAD[/THREADS]`), else the first cell, in matrix
//! order, that every machine ran under a policy that syncs every write
//! (`always`: where the disks differ most), else the first that every
//! machine ran, else the first of any.

use results::compare::Comparison;
use results::{CellKey, SyncCadence};

use crate::PlotError;

/// Every cell of the comparison's runs, in matrix order.
fn all_cells(cmp: &Comparison) -> Vec<CellKey> {
    let mut cells: Vec<CellKey> = Vec::new();
    for k in cmp.runs.iter().flat_map(|r| r.order.iter()) {
        if !cells.contains(k) {
            cells.push(k.clone());
        }
    }
    results::sort_in_matrix_order(&mut cells, CellKey::clone);
    cells
}

/// `wal/always/fillrandom/1`: how `--cell` names a cell.
pub(super) fn cell_spec(k: &CellKey) -> String {
    format!("{}/{}/{}/{}", k.engine, k.policy, k.workload, k.threads)
}

/// Whether `k` is the cell `spec` names.
fn matches(k: &CellKey, spec: &[&str]) -> bool {
    let threads = |t: &str| t.trim_start_matches('t').parse::<u32>().ok();
    match spec {
        [e, p, w] => k.engine == *e && k.policy == *p && k.workload == *w,
        [e, p, w, t] => {
            k.engine == *e && k.policy == *p && k.workload == *w && threads(t) == Some(k.threads)
        }
        _ => false,
    }
}

/// The cell of the chart: as the module says. `--cell` naming no cell of
/// the folder is an error that lists the cells it has.
pub(super) fn pick(
    cmp: &Comparison,
    spec: Option<&str>,
    folder: &std::path::Path,
) -> Result<Option<CellKey>, PlotError> {
    let cells = all_cells(cmp);
    if let Some(spec) = spec {
        let parts: Vec<&str> = spec.split('/').map(str::trim).collect();
        return match cells.iter().find(|k| matches(k, &parts)) {
            Some(k) => Ok(Some(k.clone())),
            None => {
                let some: Vec<String> = cells.iter().take(12).map(cell_spec).collect();
                Err(PlotError::NoResults {
                    path: folder.to_path_buf(),
                    reason: format!(
                        "--cell {spec}: no such cell (give ENGINE/POLICY/WORKLOAD or ENGINE/POLICY/WORKLOAD/THREADS); its cells are {}{}",
                        some.join(", "),
                        if cells.len() > some.len() {
                            format!(" and {} more", cells.len() - some.len())
                        } else {
                            String::new()
                        }
                    ),
                })
            }
        };
    }
    let everywhere: Vec<&CellKey> = cells
        .iter()
        .filter(|k| cmp.runs.iter().all(|r| r.cells.contains_key(*k)))
        .collect();
    let every_write = everywhere
        .iter()
        .find(|k| results::PolicyKey::parse(&k.policy).cadence() == SyncCadence::Always);
    Ok(every_write
        .or(everywhere.first())
        .map(|k| (*k).clone())
        .or_else(|| cells.first().cloned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(policy: &str, threads: u32) -> CellKey {
        CellKey {
            engine: "wal".into(),
            policy: policy.into(),
            workload: "fillrandom".into(),
            threads,
            value_size_bytes: 100,
        }
    }

    #[test]
    fn a_cell_is_named_with_or_without_its_threads() {
        assert!(matches(&key("always", 4), &["wal", "always", "fillrandom"]));
        assert!(matches(
            &key("always", 4),
            &["wal", "always", "fillrandom", "t4"]
        ));
        assert!(matches(
            &key("always", 4),
            &["wal", "always", "fillrandom", "4"]
        ));
        assert!(!matches(
            &key("always", 4),
            &["wal", "always", "fillrandom", "1"]
        ));
        assert!(!matches(&key("always", 4), &["wal", "always"]));
        assert_eq!(
            cell_spec(&key("batch:32+dir", 1)),
            "wal/batch:32+dir/fillrandom/1"
        );
    }
}
