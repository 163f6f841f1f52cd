//! The results folder a run writes to: new, empty, or a results folder
//! it may overwrite with `--force`.

use std::path::Path;

use anyhow::{bail, Context, Result};

use super::OutDir;

/// Files whose presence marks a folder as results of this tool (a
/// comparison's and a merge's included).
pub(super) const RESULTS_FILES: &[&str] = &[
    "environment.json",
    "config.json",
    "runs.csv",
    "probe.csv",
    "crash.csv",
    "compare.csv",
    "machines.csv",
];

/// `--out`: a new or empty folder is used as is; a non-empty one is
/// refused, unless `force` and it holds results of this tool, in which case
/// it is replaced whole (so no stale report, chart or hgrm file survives).
pub fn check_out(out: Option<&Path>, force: bool) -> Result<OutDir> {
    let Some(path) = out else {
        return Ok(OutDir {
            path: None,
            replace: false,
        });
    };
    let fresh = OutDir {
        path: Some(path.to_path_buf()),
        replace: false,
    };
    if path.is_file() {
        bail!("--out {} is a file, not a folder", path.display());
    }
    let mut entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh),
        Err(e) => return Err(e).with_context(|| format!("--out {}", path.display())),
    };
    if entries.next().is_none() {
        return Ok(fresh);
    }
    if !force {
        bail!(
            "--out {} is not empty: its files would be mixed with this run's; choose a new folder, or pass --force to replace it whole",
            path.display()
        );
    }
    if !RESULTS_FILES.iter().any(|f| path.join(f).exists()) {
        bail!(
            "--out {} is not empty and is not a results folder (it has none of {}); --force replaces only results folders",
            path.display(),
            RESULTS_FILES.join(", ")
        );
    }
    Ok(OutDir {
        path: Some(path.to_path_buf()),
        replace: true,
    })
}

/// Refuses an `--out` that is one of the folders a command reads, or holds
/// one (`--force` would remove it before it is read).
pub fn check_out_is_not_read(out: &OutDir, inputs: &[std::path::PathBuf]) -> Result<()> {
    let Some(out) = out
        .path
        .as_deref()
        .and_then(|p| std::fs::canonicalize(p).ok())
    else {
        return Ok(());
    };
    for input in inputs {
        if std::fs::canonicalize(input).is_ok_and(|i| i.starts_with(&out)) {
            bail!(
                "--out {} is (or holds) {}, a folder this command reads: choose another --out",
                out.display(),
                input.display()
            );
        }
    }
    Ok(())
}
