//! The results store from the commands' side: a finished results folder
//! added to it (`--store` on the commands that write one), and stored runs
//! written back as folders for `compare` and `plot`, which then read them
//! as they read any folder.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use results::store::{read_folder, Access, SelectedRun, Selection, Store};

/// Adds the finished results folder `dir` to `store` (when given), with a
/// line on stderr. On failure the error says where the results are and
/// how to add them later.
pub fn add_finished(store: Option<&Path>, dir: &Path) -> Result<()> {
    let Some(store) = store else {
        return Ok(());
    };
    let later = || {
        format!(
            "the results are in {dir}, but were not added to the store: add them with `bench-runner store add {dir} --store {store}`",
            dir = dir.display(),
            store = store.display()
        )
    };
    let content = read_folder(dir).with_context(later)?;
    let added = Store::open(store, Access::Write)
        .and_then(|mut s| s.add(&content))
        .with_context(later)?;
    eprintln!(
        "bench-runner: added {} to {} as run {} ({})",
        dir.display(),
        store.display(),
        added.run_id,
        added.label
    );
    Ok(())
}

/// The note for a run that stopped early: its folder is not added.
pub fn not_added(store: Option<&Path>, dir: &Path) {
    if let Some(store) = store {
        eprintln!(
            "bench-runner: the run did not finish, so it was not added to {store}; `bench-runner store add {dir} --store {store}` adds what it kept",
            store = store.display(),
            dir = dir.display()
        );
    }
}

/// `--where a=b --where c=d` / `--runs x,y`: the selection as typed.
fn describe(sel: &Selection) -> String {
    let mut parts: Vec<String> = sel.filters.iter().map(|f| format!("--where {f}")).collect();
    if !sel.runs.is_empty() {
        parts.push(format!("--runs {}", sel.runs.join(",")));
    }
    if parts.is_empty() {
        "every run".into()
    } else {
        parts.join(" ")
    }
}

/// The runs `sel` picks from `store`; an error when it picks none.
pub fn select(store: &Path, sel: &Selection) -> Result<(Store, Vec<SelectedRun>)> {
    let s =
        Store::open(store, Access::Read).with_context(|| format!("--store {}", store.display()))?;
    let picked = s.select(sel).with_context(|| describe(sel))?;
    if picked.is_empty() {
        let held = s.runs()?.len();
        bail!(
            "no run in {} matches {} ({held} run(s) stored; `bench-runner store list --store {}` lists them)",
            store.display(),
            describe(sel),
            store.display()
        );
    }
    Ok((s, picked))
}

/// `run_id (label)`.
fn named(run: &SelectedRun) -> String {
    format!("{} ({})", run.run_id, run.label)
}

/// Writes each run `sel` picks from `store` back as a results folder
/// under `parent` (`1-<label>`, `2-<label>`, ...), in the selection's
/// order; returns each run's name (`run_id (label)`) and folder.
pub fn materialize_all(
    store: &Path,
    sel: &Selection,
    parent: &Path,
) -> Result<Vec<(String, PathBuf)>> {
    let (s, picked) = select(store, sel)?;
    let mut dirs = Vec::new();
    for (n, run) in picked.iter().enumerate() {
        let name: String = run
            .label
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let dir = parent.join(format!("{}-{name}", n + 1));
        s.materialize(run, &dir)
            .with_context(|| format!("write run {} of {}", named(run), store.display()))?;
        dirs.push((named(run), dir));
    }
    Ok(dirs)
}

/// The one run `sel` picks from `store`, to be written into a folder: its
/// label and a writer of it. Refuses a selection of several runs, listing
/// them.
pub fn one_run(
    store: &Path,
    sel: &Selection,
) -> Result<(String, impl FnOnce(&Path) -> Result<()>)> {
    let (s, mut picked) = select(store, sel)?;
    if picked.len() > 1 {
        let names: Vec<String> = picked.iter().map(named).collect();
        let picks = if sel.runs.is_empty() && sel.filters.is_empty() {
            format!("{} holds {}", store.display(), names.len())
        } else {
            format!(
                "{} picks {} in {}",
                describe(sel),
                names.len(),
                store.display()
            )
        };
        bail!(
            "plot draws one run, and {picks}: {}; pick one with --runs ID",
            names.join(", ")
        );
    }
    let run = picked.remove(0);
    let label = run.label.clone();
    let store = store.to_path_buf();
    Ok((label, move |dir: &Path| -> Result<()> {
        s.materialize(&run, dir)
            .with_context(|| format!("write run {} of {}", named(&run), store.display()))?;
        Ok(())
    }))
}
