//! Progress on stderr: a bar with the measurement count, the current cell
//! and the ETA on a terminal (indicatif); plain lines when stderr is not a
//! terminal; nothing with `--quiet`. Warnings always reach stderr.

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use results::RunRow;

use crate::output::reporter::{Repetition, Report};
use crate::output::rows::CellId;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A live bar (stderr is a terminal).
    Bar,
    /// One line per step (stderr is a file or a pipe).
    Lines,
    /// Nothing but warnings.
    Quiet,
}

impl ProgressMode {
    /// The mode for this process: quiet if asked, else by what stderr is.
    pub fn detect(quiet: bool) -> ProgressMode {
        if quiet {
            ProgressMode::Quiet
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// The progress reporter shared by `run`, `probe` and `crash` (clones
/// share one bar).
#[derive(Debug, Clone)]
pub struct Progress {
    mode: ProgressMode,
    bar: ProgressBar,
    total: usize,
    done: usize,
    started: Instant,
}

impl Progress {
    /// Progress in `mode`.
    pub fn new(mode: ProgressMode) -> Progress {
        let bar = match mode {
            ProgressMode::Bar => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            _ => ProgressBar::hidden(),
        };
        let colour = std::env::var_os("NO_COLOR").is_none();
        let template = if colour {
            "{bar:24.cyan/blue} {pos}/{len} {wide_msg} ETA {eta}"
        } else {
            "{bar:24} {pos}/{len} {wide_msg} ETA {eta}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress {
            mode,
            bar,
            total: 0,
            done: 0,
            started: Instant::now(),
        }
    }

    /// Sets the number of steps (for `probe` and `crash`).
    pub fn set_total(&mut self, total: usize) {
        self.total = total;
        self.bar.set_length(total as u64);
    }

    /// Shows `msg` as the current step.
    pub fn step(&self, msg: &str) {
        match self.mode {
            ProgressMode::Bar => self.bar.set_message(msg.to_string()),
            ProgressMode::Lines => eprintln!("{msg}"),
            ProgressMode::Quiet => {}
        }
    }

    /// Marks one step done, with a result line for line mode.
    pub fn advance(&mut self, result: &str) {
        self.done += 1;
        self.bar.inc(1);
        if self.mode == ProgressMode::Lines {
            eprintln!("[{}/{}] {result}", self.done, self.total);
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn println(&self, msg: &str) {
        match self.mode {
            ProgressMode::Bar => self.bar.suspend(|| eprintln!("{msg}")),
            _ => eprintln!("{msg}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        self.bar.finish_and_clear();
        if self.mode == ProgressMode::Lines && self.total > 0 {
            eprintln!(
                "{} of {} steps in {:.0} s",
                self.done,
                self.total,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

impl Report for Progress {
    fn run_started(&mut self, measurements: usize) {
        self.set_total(measurements);
    }
    fn note(&mut self, msg: &str) {
        self.step(msg);
    }
    fn warn(&mut self, warning: &results::Warning) {
        self.println(&format!("bench-runner: warning: {warning}"));
    }
    fn cell_started(&mut self, _cell: usize, id: &CellId, round: u32, rounds: u32) {
        if self.mode != ProgressMode::Bar {
            return;
        }
        let rep = if rounds > 1 {
            format!(" (round {}/{rounds})", round + 1)
        } else {
            String::new()
        };
        self.step(&format!("{}{rep}", id.describe()));
    }
    fn repetition_measured(
        &mut self,
        _cell: usize,
        id: &CellId,
        rep: &Repetition,
    ) -> anyhow::Result<()> {
        self.advance(&format!(
            "{}: {:.0} ops/s, p99 {:.0} us",
            id.describe(),
            rep.row.ops_per_sec,
            rep.row.p99_us
        ));
        Ok(())
    }
    fn cell_failed(&mut self, _cell: usize, row: &RunRow) -> anyhow::Result<()> {
        self.advance(&format!(
            "{} {} {} t{}: FAILED: {}",
            row.engine, row.policy, row.workload, row.threads, row.error
        ));
        Ok(())
    }
    fn run_finished(&mut self, _rows: &[RunRow], _complete: bool) -> anyhow::Result<()> {
        self.finish();
        Ok(())
    }
}
