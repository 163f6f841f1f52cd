//! The saved results of one folder as the report reads them: the finished
//! cells in matrix order, the optional files or why they are missing, the
//! label and date, and the warnings they raise.

use std::path::Path;

use results::{CeilingRow, CrashRow, Environment, LatencyRow, ProbeRow, ResultsDir, RunRow};

use crate::figures::ordered;
use crate::PlotError;

/// An optional input file: its rows, or why there are none.
pub(crate) enum Optional<T> {
    Rows(Vec<T>),
    Missing(String),
}

impl<T> Optional<T> {
    pub(crate) fn rows(&self) -> &[T] {
        match self {
            Optional::Rows(r) => r,
            Optional::Missing(_) => &[],
        }
    }
}

fn optional_csv<T: serde::de::DeserializeOwned>(
    path: &Path,
    missing: &str,
) -> Result<Optional<T>, PlotError> {
    if !path.exists() {
        return Ok(Optional::Missing(format!(
            "`{}` is missing: {missing}",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        )));
    }
    let rows: Vec<T> = results::read_csv(path)?;
    if rows.is_empty() {
        return Ok(Optional::Missing(format!(
            "`{}` has no rows: {missing}",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        )));
    }
    Ok(Optional::Rows(rows))
}

pub(crate) struct Loaded {
    pub(crate) rd: ResultsDir,
    pub(crate) runs: Vec<RunRow>,
    pub(crate) not_ok: Vec<RunRow>,
    pub(crate) probe: Optional<ProbeRow>,
    /// `ceilings.csv` (empty without one: `--repeat 1`, `--probe-once`,
    /// or a run from before it existed).
    pub(crate) ceilings: Vec<CeilingRow>,
    pub(crate) latency: Optional<LatencyRow>,
    pub(crate) crash: Optional<CrashRow>,
    pub(crate) env: Result<Environment, String>,
    /// What the saved results give reason to doubt.
    pub(crate) warnings: results::Warnings,
    pub(crate) label: String,
    pub(crate) date: String,
}

pub(crate) fn load(dir: &Path) -> Result<Loaded, PlotError> {
    let rd = ResultsDir::open(dir)?;
    let all: Vec<RunRow> = if rd.runs().exists() {
        results::read_csv(&rd.runs())?
    } else {
        Vec::new()
    };
    let (mut runs, not_ok): (Vec<RunRow>, Vec<RunRow>) =
        all.into_iter().partition(|r| r.status == "ok");
    // Matrix order (workloads, threads, engines as first seen), each
    // engine's policies from the least to the most durable.
    let workloads = ordered(runs.iter().map(|r| r.workload.clone()));
    let engines = ordered(runs.iter().map(|r| r.engine.clone()));
    let pos = |v: &[String], x: &str| v.iter().position(|y| y == x).unwrap_or(usize::MAX);
    runs.sort_by_cached_key(|r| {
        (
            pos(&workloads, &r.workload),
            r.threads,
            pos(&engines, &r.engine),
            results::PolicyKey::parse(&r.policy),
            r.value_size_bytes,
        )
    });
    let probe: Optional<ProbeRow> =
        optional_csv(&rd.probe(), "no device ceilings and no efficiency chart")?;
    let ceilings: Vec<CeilingRow> = if rd.ceilings().exists() {
        results::read_csv(&rd.ceilings())?
    } else {
        Vec::new()
    };
    let latency: Optional<LatencyRow> =
        optional_csv(&rd.latency(), "latency spectra come from `hgrm/` alone")?;
    let crash: Optional<CrashRow> = optional_csv(
        &rd.crash(),
        "run `bench-runner crash --out <this folder>` to add the crash-verification table",
    )?;
    if runs.is_empty()
        && crash.rows().is_empty()
        && probe.rows().is_empty()
        && !rd.recovery().exists()
    {
        return Err(PlotError::NoResults {
            path: dir.to_path_buf(),
            reason: "no runs.csv, probe.csv, crash.csv or recovery.csv with results in it".into(),
        });
    }
    let env: Result<Environment, String> = if rd.environment().exists() {
        results::read_json(&rd.environment()).map_err(|e| e.to_string())
    } else {
        Err("`environment.json` is missing".into())
    };
    // The first non-empty of: the runs' label, the environment's, the
    // probe's, the host name (a folder written by `crash` alone before it
    // recorded a label has only the host).
    let label = [
        runs.first().map(|r| r.label.clone()),
        env.as_ref().ok().map(|e| e.label.clone()),
        probe.rows().first().map(|p| p.label.clone()),
        env.as_ref().ok().map(|e| e.host.clone()),
    ]
    .into_iter()
    .flatten()
    .find(|l| !l.trim().is_empty())
    .unwrap_or_else(|| "this machine".into());
    let date = env
        .as_ref()
        .ok()
        .and_then(|e| e.started_utc.get(..10).map(str::to_string))
        .or_else(|| runs.first().and_then(|r| date_of_run_id(&r.run_id)))
        .unwrap_or_default();
    let warnings = results::Warnings::of_results(env.as_ref().ok(), probe.rows(), &runs, &ceilings);
    Ok(Loaded {
        rd,
        runs,
        not_ok,
        probe,
        ceilings,
        latency,
        crash,
        env,
        warnings,
        label,
        date,
    })
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
}
