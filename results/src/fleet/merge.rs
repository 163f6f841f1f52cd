//! Writing a fleet folder: each machine's folder copied whole under
//! `machines/`, every machine's rows concatenated at the top, the merged
//! histograms and their percentiles, the list of machines, the notes, and
//! the fleet's own `environment.json` last (a folder without it was not
//! finished).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::copy::copy_machine;
use super::percentiles::{fleet_rows, FleetPercentiles};
use super::{MachineRow, Source};
use crate::capacity::{CapacityRow, CapacityStepRow};
use crate::names::distinct_names;
use crate::{
    read_csv, write_csv_with_header, write_durably, write_hgrm, write_hist, write_json, CeilingRow,
    Environment, EventRow, LatencyRow, ProbeRow, RecoveryRow, Result, ResultsDir, RunFolder,
    RunRow, TimelineRow,
};

/// Options of a merge.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// The fleet folder's own `environment.json`: its label, the command,
    /// the tool (its `format_version` is set by the merge).
    pub environment: Environment,
}

/// What a merge did.
#[derive(Debug, Clone, Default)]
pub struct MergeSummary {
    /// The machines, as `machines.csv` lists them.
    pub machines: Vec<MachineRow>,
    /// What a person should know (renamed machines, percentiles not
    /// merged), a sentence each; `notes.md` has the details.
    pub notes: Vec<String>,
    /// Rows of `fleet.csv`.
    pub fleet_rows: usize,
    /// Of them, those whose percentiles could not be merged.
    pub unmerged: usize,
}

/// A folder name for the machine `name`: letters, digits, `.`, `_` and
/// `-` kept, any run of other characters one `-` (`vm (fleet-a)` is
/// `vm-fleet-a`).
fn folder_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    if out.is_empty() {
        "machine".into()
    } else {
        out
    }
}

/// Folder names for `names`, made unique with `-2`, `-3`.
fn folder_names(names: &[String]) -> Vec<String> {
    let mut used: Vec<String> = Vec::new();
    for n in names {
        let base = folder_name(n);
        let mut name = base.clone();
        let mut k = 1;
        while used.contains(&name) {
            k += 1;
            name = format!("{base}-{k}");
        }
        used.push(name);
    }
    used
}

/// Concatenates `file` of every machine folder into the fleet folder's
/// (when some machine has it).
fn concat<T: DeserializeOwned + Serialize + Default>(
    machines: &[PathBuf],
    out: &Path,
    file: &str,
) -> Result<()> {
    let mut rows: Vec<T> = Vec::new();
    let mut any = false;
    for m in machines {
        let path = m.join(file);
        if path.is_file() {
            any = true;
            rows.extend(read_csv::<T>(&path)?);
        }
    }
    if any {
        write_csv_with_header(&out.join(file), &rows)?;
    }
    Ok(())
}

/// Every labelled CSV file of the machines, concatenated at the top.
fn concat_all(machines: &[PathBuf], out: &Path) -> Result<()> {
    concat::<RunRow>(machines, out, "runs.csv")?;
    concat::<RunRow>(machines, out, "repetitions.csv")?;
    concat::<LatencyRow>(machines, out, "latency.csv")?;
    concat::<ProbeRow>(machines, out, "probe.csv")?;
    concat::<CeilingRow>(machines, out, "ceilings.csv")?;
    concat::<TimelineRow>(machines, out, "timeline.csv")?;
    concat::<EventRow>(machines, out, "events.csv")?;
    concat::<CapacityRow>(machines, out, "capacity.csv")?;
    concat::<CapacityStepRow>(machines, out, "capacity_steps.csv")?;
    concat::<RecoveryRow>(machines, out, "recovery.csv")
}

/// Merges the machines `sources` (checked by [`super::sources`]) into the
/// new results folder `out`.
pub fn merge(sources: &[Source], out: &ResultsDir, opts: &MergeOptions) -> Result<MergeSummary> {
    let runs: Vec<(&str, &Path)> = sources
        .iter()
        .map(|s| (s.label.as_str(), s.folder.dir()))
        .collect();
    let names = distinct_names(&runs);
    let dirs = folder_names(&names);
    let mut machines = Vec::new();
    let mut copies: Vec<PathBuf> = Vec::new();
    for ((s, name), dir) in sources.iter().zip(&names).zip(&dirs) {
        let folder = format!("machines/{dir}");
        let to = out.root().join(&folder);
        let hist_files = copy_machine(s.folder.dir(), &to, name)?;
        let env = s.folder.environment();
        machines.push(MachineRow {
            name: name.clone(),
            folder,
            source: s.source.clone(),
            label: s.label.clone(),
            host: env.map(|e| e.host.clone()).unwrap_or_default(),
            run_id: env
                .map(|e| e.run_id.clone())
                .or_else(|| s.folder.runs.first().map(|r| r.run_id.clone()))
                .unwrap_or_default(),
            format_version: s.format_version,
            cells: s.folder.runs.len(),
            hist_files,
        });
        copies.push(to);
    }
    write_csv_with_header(&out.machines(), &machines)?;
    concat_all(&copies, out.root())?;
    let loaded: Vec<RunFolder> = copies
        .iter()
        .zip(&names)
        .map(|(c, n)| {
            let mut f = RunFolder::load(c)?;
            f.label.clone_from(n);
            Ok(f)
        })
        .collect::<Result<_>>()?;
    let fleet = fleet_rows(&loaded)?;
    write_csv_with_header(&out.fleet(), &fleet.rows)?;
    for (stem, h) in &fleet.hists {
        write_hist(&out.hist(stem), h)?;
        write_hgrm(&out.hgrm(stem), h)?;
    }
    let notes = summary_notes(sources, &machines, &fleet);
    let md = notes_md(&machines, &fleet, &notes, &opts.environment);
    write_durably(&out.notes(), md.as_bytes())?;
    let env = Environment {
        format_version: crate::FORMAT_VERSION,
        ..opts.environment.clone()
    };
    write_json(&out.environment(), &env)?;
    Ok(MergeSummary {
        fleet_rows: fleet.rows.len(),
        unmerged: fleet.unmerged.len(),
        machines,
        notes,
    })
}

/// The sentences a person must read: machines renamed, and the
/// percentiles not merged, counted by machine.
fn summary_notes(
    sources: &[Source],
    machines: &[MachineRow],
    fleet: &FleetPercentiles,
) -> Vec<String> {
    let mut notes = Vec::new();
    for (s, m) in sources
        .iter()
        .zip(machines)
        .filter(|(s, m)| s.label != m.name)
    {
        notes.push(format!(
            "{} (label `{}`) is named `{}`: another folder has the same label",
            s.source, s.label, m.name
        ));
    }
    if !fleet.unmerged.is_empty() {
        let mut by_machine: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, who) in &fleet.unmerged {
            for w in who {
                *by_machine.entry(w.as_str()).or_default() += 1;
            }
        }
        let each: Vec<String> = by_machine
            .iter()
            .map(|(m, n)| format!("{m} ({n})"))
            .collect();
        notes.push(format!(
            "fleet percentiles of {} cells and operations are not merged: no serialized histogram (`hist/*.hdr`, written from results format 3 on) from {}; fleet.csv leaves them empty and notes.md lists them",
            fleet.unmerged.len(),
            each.join(", ")
        ));
    }
    notes
}

/// `notes.md`: the machines, where they came from, and what was not merged.
fn notes_md(
    machines: &[MachineRow],
    fleet: &FleetPercentiles,
    notes: &[String],
    env: &Environment,
) -> String {
    let mut m = String::new();
    let _ = writeln!(m, "# Merge notes: {}\n", env.label);
    let _ = writeln!(
        m,
        "{} machines merged on {} by `{}`.\n",
        machines.len(),
        env.started_utc,
        env.command
    );
    let _ = writeln!(
        m,
        "| machine | folder | merged from | own label | host | cells | serialized histograms |\n|---|---|---|---|---|---:|---:|"
    );
    for r in machines {
        let _ = writeln!(
            m,
            "| {} | `{}` | `{}` | {} | {} | {} | {} |",
            r.name, r.folder, r.source, r.label, r.host, r.cells, r.hist_files
        );
    }
    let _ = writeln!(m);
    for n in notes {
        let _ = writeln!(m, "- {n}");
    }
    if !notes.is_empty() {
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "## Percentiles not merged\n");
    if fleet.unmerged.is_empty() {
        let _ = writeln!(
            m,
            "None: every fleet percentile in `fleet.csv` comes from the machines' histograms merged.\n"
        );
        return m;
    }
    let _ = writeln!(m, "Fleet percentiles come from the machines' serialized histograms merged, never from their percentiles averaged. These cells and operations lack one on the machines named, so `fleet.csv` leaves their percentiles empty (each machine's own percentiles are in its rows):\n");
    for (what, who) in &fleet.unmerged {
        let _ = writeln!(m, "- {what}: {}", who.join(", "));
    }
    let _ = writeln!(m);
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_plain_and_unique() {
        assert_eq!(folder_name("vm (fleet-a)"), "vm-fleet-a");
        assert_eq!(folder_name("../x"), "x");
        assert_eq!(folder_name("()"), "machine");
        assert_eq!(
            folder_names(&["a b".into(), "a-b".into(), "a/b".into()]),
            ["a-b", "a-b-2", "a-b-3"].map(String::from)
        );
    }
}
