//! `plot` and `compare`: drawn by the `plots` crate from saved results.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::OutputArgs;

/// Draws charts and the report of `results` into `out` (default: `results`).
pub fn plot(results: &Path, out: Option<&Path>) -> Result<PathBuf> {
    let _ = (results, out);
    anyhow::bail!("charts are not available in this build yet")
}

/// Compares result folders; returns the output folder.
pub fn compare(dirs: &[PathBuf], output: &OutputArgs) -> Result<PathBuf> {
    let _ = (dirs, output);
    anyhow::bail!("compare is not available in this build yet")
}
