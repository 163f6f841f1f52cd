//! A cell's identity across runs (engine, policy, workload, threads, value
//! size), and the matrix order reports list cells in.
//!
//! Two runs measured the same cell when these five agree, whatever their
//! seeds, repetitions or machines: `compare` matches cells by this key, and
//! the report and the comparison sort them the same way, so a reader finds
//! a cell at the same place in both.

use std::fmt;

use crate::{PolicyKey, RunRow};

/// Which cell of the matrix a row measured.
///
/// `Ord` is by field, in the order declared (engine, policy text, ...):
/// a stable order for maps, not the order reports show; that is
/// [`sort_in_matrix_order`]. `Display` reads `wal always fillrandom t4
/// v100`, as the comparison lists the cells a run lacks.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CellKey {
    /// Engine.
    pub engine: String,
    /// Policy, as the rows spell it.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Client threads.
    pub threads: u32,
    /// Value size in bytes.
    pub value_size_bytes: u64,
}

impl From<&RunRow> for CellKey {
    fn from(r: &RunRow) -> CellKey {
        CellKey {
            engine: r.engine.clone(),
            policy: r.policy.clone(),
            workload: r.workload.clone(),
            threads: r.threads,
            value_size_bytes: r.value_size_bytes,
        }
    }
}

impl fmt::Display for CellKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} t{} v{}",
            self.engine, self.policy, self.workload, self.threads, self.value_size_bytes
        )
    }
}

/// Sorts `items` (each naming a cell through `key`) as a run's matrix
/// reads: by workload and by engine in the order they first appear in
/// `items`, by thread count, and each engine's policies from the least to
/// the most durable ([`PolicyKey`]), then by value size. The sort is
/// stable, so rows of one cell keep their order.
pub fn sort_in_matrix_order<T>(items: &mut [T], key: impl Fn(&T) -> CellKey) {
    let keys: Vec<CellKey> = items.iter().map(&key).collect();
    let first_seen = |field: fn(&CellKey) -> &str| -> Vec<String> {
        let mut seen: Vec<String> = Vec::new();
        for k in &keys {
            if !seen.iter().any(|s| s == field(k)) {
                seen.push(field(k).to_string());
            }
        }
        seen
    };
    let workloads = first_seen(|k| &k.workload);
    let engines = first_seen(|k| &k.engine);
    let pos = |v: &[String], x: &str| v.iter().position(|y| y == x).unwrap_or(usize::MAX);
    items.sort_by_cached_key(|item| {
        let k = &key(item);
        (
            pos(&workloads, &k.workload),
            k.threads,
            pos(&engines, &k.engine),
            PolicyKey::parse(&k.policy),
            k.value_size_bytes,
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(workload: &str, threads: u32, engine: &str, policy: &str) -> CellKey {
        CellKey {
            engine: engine.into(),
            policy: policy.into(),
            workload: workload.into(),
            threads,
            value_size_bytes: 100,
        }
    }

    #[test]
    fn cells_sort_by_first_seen_workload_and_engine_then_durability() {
        let mut cells = vec![
            cell("fillrandom", 4, "wal", "none"),
            cell("readrandom", 1, "lsm", "always"),
            cell("fillrandom", 1, "lsm", "always"),
            cell("fillrandom", 1, "wal", "always"),
            cell("fillrandom", 1, "wal", "none"),
        ];
        sort_in_matrix_order(&mut cells, CellKey::clone);
        let names: Vec<String> = cells.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "wal none fillrandom t1 v100",
                "wal always fillrandom t1 v100",
                "lsm always fillrandom t1 v100",
                "wal none fillrandom t4 v100",
                "lsm always readrandom t1 v100",
            ]
        );
    }
}
