//! The cells of a results folder over time: `timeline.csv`, `events.csv`
//! and `repetitions.csv` read, and one repetition of each cell kept (the
//! median by ops/s, see [`load`]).

use std::collections::BTreeMap;
use std::fmt;

use results::steady::{find_stalls, Stall};
use results::{EventRow, ResultsDir, RunRow, TimelineRow};

use crate::PlotError;

/// A cell as the timeline files name it (the run and machine are those
/// of the folder).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct CellId {
    pub engine: String,
    pub policy: String,
    pub workload: String,
    pub threads: u32,
    pub value_size_bytes: u64,
}

impl CellId {
    pub(super) fn new(
        engine: &str,
        policy: &str,
        workload: &str,
        threads: u32,
        value_size: u64,
    ) -> Self {
        CellId {
            engine: engine.to_string(),
            policy: policy.to_string(),
            workload: workload.to_string(),
            threads,
            value_size_bytes: value_size,
        }
    }

    fn of_interval(r: &TimelineRow) -> Self {
        CellId::new(
            &r.engine,
            &r.policy,
            &r.workload,
            r.threads,
            r.value_size_bytes,
        )
    }

    fn of_event(r: &EventRow) -> Self {
        CellId::new(
            &r.engine,
            &r.policy,
            &r.workload,
            r.threads,
            r.value_size_bytes,
        )
    }

    pub(super) fn of_run(r: &RunRow) -> Self {
        CellId::new(
            &r.engine,
            &r.policy,
            &r.workload,
            r.threads,
            r.value_size_bytes,
        )
    }
}

impl fmt::Display for CellId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} t{} v{}",
            self.engine, self.policy, self.workload, self.threads, self.value_size_bytes
        )
    }
}

/// Why a repetition was the one drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pick {
    /// The median by ops/s of this many repetitions in `repetitions.csv`.
    Median { of: usize },
    /// `repetitions.csv` has no usable row for the cell (or its median
    /// repetition has no timeline): repetition 0, else the first one.
    Fallback,
}

/// The drawn repetition of one cell.
#[derive(Debug, Clone)]
pub(crate) struct CellTimeline {
    pub id: CellId,
    pub repetition: u32,
    pub pick: Pick,
    /// In time order.
    pub intervals: Vec<TimelineRow>,
    pub events: Vec<EventRow>,
    pub stalls: Vec<Stall>,
}

impl CellTimeline {
    /// What the panel says above itself: `rep 2, median of 3 · 1 stall`,
    /// and the same without the number of repetitions.
    pub(super) fn notes(&self) -> (String, String) {
        let rep = format!("rep {}", self.repetition);
        let long = match self.pick {
            Pick::Median { of } if of > 1 => format!("{rep}, median of {of}"),
            _ => rep.clone(),
        };
        let stalls = match self.stalls.len() {
            0 => String::new(),
            1 => " · 1 stall".into(),
            n => format!(" · {n} stalls"),
        };
        (format!("{long}{stalls}"), format!("{rep}{stalls}"))
    }
}

/// What a results folder holds over time.
#[derive(Debug)]
pub(crate) enum Timelines {
    /// No `timeline.csv` (or an empty one): why, in one sentence.
    Missing(String),
    Cells(Vec<CellTimeline>),
}

/// The median repetition by ops/s of one cell's rows (`ok` only) and how
/// many there were.
pub(crate) fn median_repetition(reps: &[&RunRow]) -> Option<(u32, usize)> {
    let mut ok: Vec<&RunRow> = reps
        .iter()
        .copied()
        .filter(|r| r.status == "ok" && r.ops_per_sec.is_finite())
        .collect();
    ok.sort_by(|a, b| {
        a.ops_per_sec
            .total_cmp(&b.ops_per_sec)
            .then(a.repetition.cmp(&b.repetition))
    });
    let mid = ok.len().checked_sub(1)? / 2;
    Some((ok[mid].repetition, ok.len()))
}

fn read_optional<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<Vec<T>, PlotError> {
    if path.exists() {
        Ok(results::read_csv(path)?)
    } else {
        Ok(Vec::new())
    }
}

/// Reads `timeline.csv`, `events.csv` and `repetitions.csv` and keeps one
/// repetition of each cell.
pub(crate) fn load(rd: &ResultsDir) -> Result<Timelines, PlotError> {
    if !rd.timeline().exists() {
        return Ok(Timelines::Missing(
            "`timeline.csv` is missing (the run predates it), so there are no charts over time"
                .into(),
        ));
    }
    let rows: Vec<TimelineRow> = results::read_csv(&rd.timeline())?;
    if rows.is_empty() {
        return Ok(Timelines::Missing(
            "`timeline.csv` has no rows, so there are no charts over time".into(),
        ));
    }
    let events: Vec<EventRow> = read_optional(&rd.events())?;
    let reps: Vec<RunRow> = read_optional(&rd.repetitions())?;

    // Cell -> (its run, repetition -> intervals). A folder holds one run;
    // rows of another run under the same cell are left out, not mixed in.
    let mut by_cell: BTreeMap<CellId, (String, BTreeMap<u32, Vec<TimelineRow>>)> = BTreeMap::new();
    let mut order: Vec<CellId> = Vec::new();
    for r in rows {
        let id = CellId::of_interval(&r);
        let entry = by_cell.entry(id.clone()).or_insert_with(|| {
            order.push(id);
            (r.run_id.clone(), BTreeMap::new())
        });
        if entry.0 == r.run_id {
            entry.1.entry(r.repetition).or_default().push(r);
        }
    }
    let mut rep_rows: BTreeMap<CellId, Vec<&RunRow>> = BTreeMap::new();
    for r in &reps {
        rep_rows.entry(CellId::of_run(r)).or_default().push(r);
    }
    let mut event_rows: BTreeMap<(CellId, u32), Vec<EventRow>> = BTreeMap::new();
    for e in events {
        event_rows
            .entry((CellId::of_event(&e), e.repetition))
            .or_default()
            .push(e);
    }

    let mut cells = Vec::new();
    for id in order {
        let Some((run_id, mut by_rep)) = by_cell.remove(&id) else {
            continue;
        };
        let median = rep_rows
            .get(&id)
            .and_then(|r| median_repetition(r))
            .filter(|(rep, _)| by_rep.contains_key(rep));
        let (repetition, pick) = match median {
            Some((rep, of)) => (rep, Pick::Median { of }),
            None => match by_rep.keys().next() {
                Some(first) if !by_rep.contains_key(&0) => (*first, Pick::Fallback),
                _ => (0, Pick::Fallback),
            },
        };
        let Some(mut intervals) = by_rep.remove(&repetition) else {
            continue;
        };
        intervals.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        let events: Vec<EventRow> = event_rows
            .remove(&(id.clone(), repetition))
            .unwrap_or_default()
            .into_iter()
            .filter(|e| e.run_id == run_id)
            .collect();
        let stalls = find_stalls(&intervals);
        cells.push(CellTimeline {
            id,
            repetition,
            pick,
            intervals,
            events,
            stalls,
        });
    }
    Ok(Timelines::Cells(cells))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(n: u32, ops: f64, status: &str) -> RunRow {
        RunRow {
            engine: "lsm".into(),
            repetition: n,
            ops_per_sec: ops,
            status: status.into(),
            ..RunRow::default()
        }
    }

    #[test]
    fn the_median_repetition_is_the_middle_one_by_throughput() {
        let rows = [
            rep(0, 900.0, "ok"),
            rep(1, 100.0, "ok"),
            rep(2, 500.0, "ok"),
        ];
        let refs: Vec<&RunRow> = rows.iter().collect();
        assert_eq!(median_repetition(&refs), Some((2, 3)));
        // An even count takes the lower middle; failed repetitions do not count.
        let rows = [
            rep(0, 900.0, "ok"),
            rep(1, 100.0, "ok"),
            rep(2, 1.0, "failed"),
            rep(3, 500.0, "ok"),
            rep(4, 700.0, "ok"),
        ];
        let refs: Vec<&RunRow> = rows.iter().collect();
        assert_eq!(median_repetition(&refs), Some((3, 4)));
        assert_eq!(median_repetition(&[]), None);
    }
}
