//! `bench-runner merge`: many machines' results folders as one fleet
//! folder (the layout and the percentiles are `results::fleet`'s), its
//! report drawn at the end.

use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::cli::plan::{check_out, check_out_is_not_read};
use crate::cli::MergeArgs;
use crate::output::folder::{fresh_results_dir, run_id, utc_now};
use crate::support::build_info;

/// The fleet's name without `--label`.
const DEFAULT_LABEL: &str = "fleet";

/// Merges the folders of `args` into a new results folder; returns it.
/// Everything is checked before anything is written: the folders (results
/// of runs, of one format), and `--out` (new, empty, or with `--force` a
/// results folder that is none of the inputs).
pub fn merge(args: &MergeArgs, command_line: &str) -> Result<PathBuf> {
    let out = check_out(args.out.as_deref(), args.force)?;
    check_out_is_not_read(&out, &args.results)?;
    let sources = results::fleet::sources(&args.results).context("merge")?;
    let mut env = build_info::environment(None);
    let dir = fresh_results_dir(&out, &env.host, "merge")?;
    let label = args
        .label
        .clone()
        .filter(|l| !l.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_LABEL.into());
    env.run_id = run_id(&label);
    env.label = label;
    env.command = command_line.to_string();
    env.started_utc = utc_now();
    // The merge's environment names the merge, not a measured machine:
    // each machine's is in machines/<name>/environment.json.
    let merge_env = results::Environment {
        run_id: env.run_id,
        label: env.label,
        host: env.host,
        tool_version: env.tool_version,
        git_commit: env.git_commit,
        started_utc: env.started_utc,
        command: env.command,
        ..results::Environment::default()
    };
    let opts = results::fleet::MergeOptions {
        environment: merge_env,
    };
    let summary = results::fleet::merge(&sources, &dir, &opts)
        .with_context(|| format!("merge into {}", dir.root().display()))?;
    for n in &summary.notes {
        eprintln!("note: {n}");
    }
    let names: Vec<&str> = summary.machines.iter().map(|m| m.name.as_str()).collect();
    eprintln!(
        "{} machines ({}), {} fleet percentile rows in fleet.csv{}",
        names.len(),
        names.join(", "),
        summary.fleet_rows,
        if summary.unmerged > 0 {
            format!(" ({} not merged: see notes.md)", summary.unmerged)
        } else {
            String::new()
        }
    );
    if !args.no_plots {
        match super::plot::plot(dir.root(), None, None) {
            Ok((_, warnings)) => super::plot::print_warnings(&warnings),
            Err(e) => eprintln!(
                "bench-runner: charts and report not drawn: {}",
                crate::error_chain(&e)
            ),
        }
    }
    Ok(dir.root().to_path_buf())
}
