//! One interface through which `run` and `probe` report: progress on
//! stderr, the table on stdout, the durable results files, JSON lines. The
//! run loop calls hooks and prints nothing itself (criterion's `Report`).

use anyhow::Result;
use hdrhistogram::Histogram;
use results::{CeilingRow, EventRow, LatencyRow, ProbeRow, RunRow, TimelineRow};

use crate::output::rows::CellId;

/// One measured repetition of a cell.
#[derive(Debug)]
pub struct Repetition {
    /// Its `repetitions.csv` row.
    pub row: RunRow,
    /// Its `latency.csv` rows.
    pub latency: Vec<LatencyRow>,
    /// Its histograms by operation name (and `sync`).
    pub hists: Vec<(String, Histogram<u64>)>,
    /// Its `timeline.csv` rows.
    pub timeline: Vec<TimelineRow>,
    /// Its `events.csv` rows.
    pub events: Vec<EventRow>,
}

/// Hooks of a run, all optional. Results writers return errors (a full
/// disk must stop the run); display hooks cannot fail.
pub trait Report {
    /// The run is about to make `measurements` cell measurements.
    fn run_started(&mut self, _measurements: usize) {}
    /// A step worth showing a person (probe patterns, cleanup).
    fn note(&mut self, _msg: &str) {}
    /// Something the person must see, even when progress is hidden.
    fn warn(&mut self, _warning: &results::Warning) {}
    /// The probe finished.
    fn probe_measured(&mut self, _rows: &[ProbeRow]) -> Result<()> {
        Ok(())
    }
    /// The ceilings were measured again (every measurement so far).
    fn ceilings_measured(&mut self, _rows: &[CeilingRow]) -> Result<()> {
        Ok(())
    }
    /// A measurement of cell `cell` starts.
    fn cell_started(&mut self, _cell: usize, _id: &CellId, _round: u32, _rounds: u32) {}
    /// A repetition of cell `cell` was measured.
    fn repetition_measured(&mut self, _cell: usize, _id: &CellId, _rep: &Repetition) -> Result<()> {
        Ok(())
    }
    /// Cell `cell` failed; `row` says why. It is not measured again.
    fn cell_failed(&mut self, _cell: usize, _row: &RunRow) -> Result<()> {
        Ok(())
    }
    /// Cell `cell` has all its repetitions: `row` is final.
    fn cell_finished(&mut self, _cell: usize, _row: &RunRow) -> Result<()> {
        Ok(())
    }
    /// The run ended; `rows` are the final rows in matrix order,
    /// `complete` is false after an interruption or a full disk.
    fn run_finished(&mut self, _rows: &[RunRow], _complete: bool) -> Result<()> {
        Ok(())
    }
}

/// Forwards every hook to each reporter it holds, in order.
#[derive(Default)]
pub struct Reports(Vec<Box<dyn Report>>);

impl std::fmt::Debug for Reports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reports({} reporters)", self.0.len())
    }
}

impl Reports {
    /// Adds a reporter.
    pub fn push(&mut self, r: impl Report + 'static) {
        self.0.push(Box::new(r));
    }
}

impl Report for Reports {
    fn run_started(&mut self, n: usize) {
        self.0.iter_mut().for_each(|r| r.run_started(n));
    }
    fn note(&mut self, msg: &str) {
        self.0.iter_mut().for_each(|r| r.note(msg));
    }
    fn warn(&mut self, warning: &results::Warning) {
        self.0.iter_mut().for_each(|r| r.warn(warning));
    }
    fn probe_measured(&mut self, rows: &[ProbeRow]) -> Result<()> {
        self.0.iter_mut().try_for_each(|r| r.probe_measured(rows))
    }
    fn ceilings_measured(&mut self, rows: &[CeilingRow]) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|r| r.ceilings_measured(rows))
    }
    fn cell_started(&mut self, cell: usize, id: &CellId, round: u32, rounds: u32) {
        self.0
            .iter_mut()
            .for_each(|r| r.cell_started(cell, id, round, rounds));
    }
    fn repetition_measured(&mut self, cell: usize, id: &CellId, rep: &Repetition) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|r| r.repetition_measured(cell, id, rep))
    }
    fn cell_failed(&mut self, cell: usize, row: &RunRow) -> Result<()> {
        self.0.iter_mut().try_for_each(|r| r.cell_failed(cell, row))
    }
    fn cell_finished(&mut self, cell: usize, row: &RunRow) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|r| r.cell_finished(cell, row))
    }
    fn run_finished(&mut self, rows: &[RunRow], complete: bool) -> Result<()> {
        self.0
            .iter_mut()
            .try_for_each(|r| r.run_finished(rows, complete))
    }
}

/// `--format json`: each finished cell's row as one JSON object per line on
/// stdout, as soon as the cell is final.
#[derive(Debug, Default)]
pub struct JsonLines;

impl Report for JsonLines {
    fn cell_finished(&mut self, _cell: usize, row: &RunRow) -> Result<()> {
        outln!("{}", serde_json::to_string(row)?)?;
        Ok(())
    }
    fn cell_failed(&mut self, cell: usize, row: &RunRow) -> Result<()> {
        self.cell_finished(cell, row)
    }
}
