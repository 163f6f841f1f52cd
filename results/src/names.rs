//! The names of runs set side by side (`compare`) or merged into one
//! folder (`merge`): each run's label, told apart from the others'.
//!
//! ## The rule
//!
//! 1. A run whose label no other run has is named by its label.
//! 2. Runs that share a label (two disks of one host, two runs of one
//!    machine) are told apart by their folders: a folder whose name
//!    contains the label names the run alone (`vm-run-20260101-120000`);
//!    otherwise the folder's name follows the label (`vm (fleet-a)`). When
//!    the folders' names are the same too, as many of the folders' trailing
//!    path components as it takes (`vm (x/results)`, `vm (y/results)`).
//! 3. A name still taken (the same folder given twice) gets ` (2)`,
//!    ` (3)`, .. after its later uses.

use std::collections::BTreeMap;
use std::path::{Component, Path};

/// A folder's path components, the last first (of its canonical path when
/// it has one, so `a/../a` is `a`).
fn components_last_first(dir: &Path) -> Vec<String> {
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mut parts: Vec<String> = canonical
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect();
    parts.reverse();
    parts
}

/// The last `depth` components of a path, `/`-joined in path order.
fn suffix(parts_last_first: &[String], depth: usize) -> String {
    let mut shown: Vec<&str> = parts_last_first
        .iter()
        .take(depth)
        .map(String::as_str)
        .collect();
    shown.reverse();
    shown.join("/")
}

/// The name of each run of `runs` (label, folder), by the module's rule,
/// in the same order.
pub fn distinct_names(runs: &[(&str, &Path)]) -> Vec<String> {
    let mut names: Vec<String> = runs.iter().map(|(l, _)| l.to_string()).collect();
    let parts: Vec<Vec<String>> = runs.iter().map(|(_, d)| components_last_first(d)).collect();
    let mut by_label: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, (label, _)) in runs.iter().enumerate() {
        by_label.entry(label).or_default().push(i);
    }
    for (label, idx) in by_label.into_iter().filter(|(_, i)| i.len() > 1) {
        // Distinct folders need distinct suffixes; one folder given twice
        // never gets one (rule 3 numbers it).
        let mut folders: Vec<&Vec<String>> = idx.iter().map(|&i| &parts[i]).collect();
        folders.sort();
        folders.dedup();
        if folders.len() < 2 {
            continue;
        }
        let longest = folders.iter().map(|p| p.len()).max().unwrap_or(1);
        let depth = (1..=longest.max(1))
            .find(|&d| {
                let mut s: Vec<String> = folders.iter().map(|p| suffix(p, d)).collect();
                s.sort();
                s.windows(2).all(|w| w[0] != w[1])
            })
            .unwrap_or(longest.max(1));
        for &i in &idx {
            let folder = suffix(&parts[i], depth);
            names[i] = if folder.is_empty() {
                label.to_string()
            } else if depth == 1 && folder.contains(label) {
                folder
            } else {
                format!("{label} ({folder})")
            };
        }
    }
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for n in &mut names {
        let count = seen.entry(n.clone()).or_default();
        *count += 1;
        if *count > 1 {
            *n = format!("{n} ({count})");
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(runs: &[(&str, &str)]) -> Vec<String> {
        let runs: Vec<(&str, &Path)> = runs.iter().map(|(l, d)| (*l, Path::new(*d))).collect();
        distinct_names(&runs)
    }

    #[test]
    fn distinct_labels_are_kept() {
        assert_eq!(
            names(&[("ssd", "/r/a"), ("hdd", "/r/b")]),
            ["ssd", "hdd"].map(String::from)
        );
    }

    #[test]
    fn a_shared_label_is_told_apart_by_the_folders() {
        assert_eq!(
            names(&[("vm", "/r/fleet-a"), ("vm", "/r/fleet-b"), ("x", "/r/c")]),
            ["vm (fleet-a)", "vm (fleet-b)", "x"].map(String::from)
        );
        // A folder named after the label names the run alone.
        assert_eq!(
            names(&[
                ("vm", "/r/vm-run-20260101-120000"),
                ("vm", "/r/vm-run-20260102-120000")
            ]),
            ["vm-run-20260101-120000", "vm-run-20260102-120000"].map(String::from)
        );
        // The same folder name in two places: the parents tell them apart.
        assert_eq!(
            names(&[("vm", "/x/results"), ("vm", "/y/results")]),
            ["vm (x/results)", "vm (y/results)"].map(String::from)
        );
    }

    #[test]
    fn the_same_folder_twice_is_numbered() {
        assert_eq!(
            names(&[("vm", "/r/a"), ("vm", "/r/a"), ("vm", "/r/b")]),
            ["vm (a)", "vm (a) (2)", "vm (b)"].map(String::from)
        );
        assert_eq!(
            names(&[("vm", "/r/a"), ("vm", "/r/a")]),
            ["vm", "vm (2)"].map(String::from)
        );
    }
}
