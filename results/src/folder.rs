//! One results folder read for a document: its cells, its probe, its
//! environment, and the label and date that name it. The report of one
//! run and the comparison of several read folders through
//! [`RunFolder::load`], so a run is named and its files are read the same
//! way in both.
//!
//! ## The label
//!
//! A run's label is the first non-blank of:
//!
//! 1. `label` in `environment.json`: what `--label` (or its default, the
//!    host name) recorded for the whole run;
//! 2. `label` in the rows, `runs.csv` then `probe.csv`: the same value,
//!    for folders whose `environment.json` is missing or unreadable;
//! 3. the folder's name: what the reader chose with `--out`, and what they
//!    typed to name the folder on the command line.
//!
//! The folder name comes before any other guess (such as the host name)
//! because it is the one name the reader is sure to recognise.

use std::path::{Path, PathBuf};

use crate::{read_csv, read_json, CeilingRow, Environment, ProbeRow, Result, ResultsDir, RunRow};

/// A results folder as the documents read it.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The folder and its file names.
    pub files: ResultsDir,
    /// The finished cells (`status` ok), in `runs.csv` order; empty without
    /// a `runs.csv` (a folder of probe, crash or recovery results alone).
    pub runs: Vec<RunRow>,
    /// The cells that failed or were skipped, in `runs.csv` order.
    pub not_ok: Vec<RunRow>,
    /// `probe.csv`; empty when the folder has none.
    pub probe: Vec<ProbeRow>,
    /// `environment.json`, or why it could not be read.
    pub env: std::result::Result<Environment, String>,
    /// The run's name (the module doc gives the rule).
    pub label: String,
    /// The day the run started (`2026-11-25`): from `environment.json`,
    /// else from the run id; empty when neither says.
    pub date: String,
}

impl RunFolder {
    /// Reads `dir`'s cells, probe and environment. A missing `runs.csv` or
    /// `probe.csv` reads as no rows; one that cannot be parsed is an error,
    /// and so is a folder of a newer format ([`ResultsDir::open`]).
    pub fn load(dir: &Path) -> Result<RunFolder> {
        let files = ResultsDir::open(dir)?;
        let all: Vec<RunRow> = read_if_present(&files.runs())?;
        let probe: Vec<ProbeRow> = read_if_present(&files.probe())?;
        let env: std::result::Result<Environment, String> = if files.environment().exists() {
            read_json(&files.environment()).map_err(|e| e.to_string())
        } else {
            Err("`environment.json` is missing".into())
        };
        let label = [
            env.as_ref().ok().map(|e| e.label.as_str()),
            all.first().map(|r| r.label.as_str()),
            probe.first().map(|p| p.label.as_str()),
        ]
        .into_iter()
        .flatten()
        .find(|l| !l.trim().is_empty())
        .map_or_else(|| folder_name(dir), str::to_string);
        let date = env
            .as_ref()
            .ok()
            .and_then(|e| e.started_utc.get(..10).map(str::to_string))
            .or_else(|| all.first().and_then(|r| date_of_run_id(&r.run_id)))
            .unwrap_or_default();
        let (runs, not_ok) = all.into_iter().partition(|r| r.status == "ok");
        Ok(RunFolder {
            files,
            runs,
            not_ok,
            probe,
            env,
            label,
            date,
        })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        self.files.root()
    }

    /// `environment.json`, when it was read.
    pub fn environment(&self) -> Option<&Environment> {
        self.env.as_ref().ok()
    }

    /// `ceilings.csv`; empty without one (`--repeat 1`, `--probe-once`, or
    /// a run from before it existed).
    pub fn ceilings(&self) -> Result<Vec<CeilingRow>> {
        read_if_present(&self.files.ceilings())
    }
}

/// The rows of a CSV file; none when the file does not exist.
fn read_if_present<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    if path.exists() {
        read_csv(path)
    } else {
        Ok(Vec::new())
    }
}

/// The folder's own name (of its full path for `.` and the like), or
/// `this machine` for a root.
fn folder_name(dir: &Path) -> String {
    let canonical: Option<PathBuf> = std::fs::canonicalize(dir).ok();
    dir.file_name()
        .or_else(|| canonical.as_deref().and_then(Path::file_name))
        .map_or_else(
            || "this machine".to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
}

/// `host-20261125-080442` -> `2026-11-25`.
fn date_of_run_id(id: &str) -> Option<String> {
    let d = id
        .split('-')
        .find(|p| p.len() == 8 && p.bytes().all(|b| b.is_ascii_digit()))?;
    Some(format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{write_csv, write_json};

    #[test]
    fn run_ids_carry_the_date() {
        assert_eq!(
            date_of_run_id("vm-20261125-080442").as_deref(),
            Some("2026-11-25")
        );
        assert_eq!(
            date_of_run_id("my-host-20260101-000000").as_deref(),
            Some("2026-01-01")
        );
        assert_eq!(date_of_run_id("nodate"), None);
    }

    fn run(label: &str, status: &str) -> RunRow {
        RunRow {
            label: label.into(),
            status: status.into(),
            run_id: "h-20260102-030405".into(),
            ..Default::default()
        }
    }

    #[test]
    fn the_label_comes_from_the_environment_then_the_rows_then_the_folder() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("laptop-ssd");
        std::fs::create_dir(&dir).unwrap();
        // Nothing recorded: the folder's name.
        let f = RunFolder::load(&dir).unwrap();
        assert_eq!((f.label.as_str(), f.date.as_str()), ("laptop-ssd", ""));
        assert!(f.env.is_err() && f.runs.is_empty());
        // The rows' label, for a folder without environment.json.
        write_csv(
            &dir.join("runs.csv"),
            &[run("rows", "ok"), run("rows", "failed")],
        )
        .unwrap();
        let f = RunFolder::load(&dir).unwrap();
        assert_eq!((f.label.as_str(), f.date.as_str()), ("rows", "2026-01-02"));
        assert_eq!((f.runs.len(), f.not_ok.len()), (1, 1));
        // environment.json's label before the rows'.
        let env = Environment {
            label: "env".into(),
            started_utc: "2026-11-25T08:04:42Z".into(),
            ..Default::default()
        };
        write_json(&dir.join("environment.json"), &env).unwrap();
        let f = RunFolder::load(&dir).unwrap();
        assert_eq!((f.label.as_str(), f.date.as_str()), ("env", "2026-11-25"));
        // A blank label counts as none.
        write_json(
            &dir.join("environment.json"),
            &Environment {
                label: " ".into(),
                ..env
            },
        )
        .unwrap();
        assert_eq!(RunFolder::load(&dir).unwrap().label, "rows");
    }
}
