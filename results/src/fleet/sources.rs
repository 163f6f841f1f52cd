//! What a merge reads: the folders given, checked before anything is
//! written (each a results folder of runs, all of one format), and taken
//! apart into machines (a fleet folder merged again gives its machines).

use std::path::{Path, PathBuf};

use super::{is_fleet, labels, machines};
use crate::{Error, Result, ResultsDir, RunFolder};

/// One machine to merge.
#[derive(Debug, Clone)]
pub struct Source {
    /// Its folder as read.
    pub folder: RunFolder,
    /// Where it came from, for `machines.csv` and the notes.
    pub source: String,
    /// Its own label.
    pub label: String,
    /// Its results format.
    pub format_version: u64,
}

/// Reads and checks the folders to merge: each must be a results folder
/// with `runs.csv` of a format this binary reads, all of one format, and
/// a folder with rows of several labels must be a fleet folder (so each
/// machine's environment and histograms are known). Returns the machines,
/// those of a fleet folder in its order.
pub fn sources(dirs: &[PathBuf]) -> Result<Vec<Source>> {
    let mut versions: Vec<(PathBuf, u64)> = Vec::new();
    for d in dirs {
        let rd = ResultsDir::open(d)?;
        if !rd.runs().is_file() {
            return Err(Error::Invalid {
                path: d.clone(),
                reason: "not a results folder of `bench-runner run`: it has no runs.csv (merge joins the cells of runs)".into(),
            });
        }
        versions.push((d.clone(), rd.format_version()));
    }
    if versions
        .iter()
        .any(|(_, v)| Some(v) != versions.first().map(|f| &f.1))
    {
        return Err(Error::FormatsDiffer { versions });
    }
    let mut out = Vec::new();
    for (d, version) in &versions {
        out.extend(of_folder(d, *version)?);
    }
    Ok(out)
}

/// The machines of one folder given to merge.
fn of_folder(dir: &Path, version: u64) -> Result<Vec<Source>> {
    let folder = RunFolder::load(dir)?;
    if is_fleet(dir) {
        return machines(&folder)?
            .into_iter()
            .map(|m| {
                let rd = &m.files;
                Ok(Source {
                    source: rd.root().display().to_string(),
                    label: m.label.clone(),
                    format_version: rd.format_version(),
                    folder: m,
                })
            })
            .collect();
    }
    let labels = labels(&folder.runs);
    if labels.len() > 1 {
        return Err(Error::Invalid {
            path: dir.to_path_buf(),
            reason: format!(
                "its runs.csv holds the rows of several machines ({}) but it is not a merged folder (no machines.csv), so their environments and histograms are unknown: merge the machines' own folders",
                labels.join(", ")
            ),
        });
    }
    Ok(vec![Source {
        source: dir.display().to_string(),
        label: folder.label.clone(),
        format_version: version,
        folder,
    }])
}
