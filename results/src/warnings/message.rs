//! Each warning's sentence and title.

use std::fmt;

use super::{
    CellName, Drift, ProbeSite, SameFolder, Seeds, Skip, SyncDoubt, Warning, EFFICIENCY_SUSPECT,
    SPREAD_FLAG,
};

/// Cells (or runs) named in one sentence before `and N more`.
const LISTED: usize = 6;

/// `a`, `a and b`, `a, b and c`; past [`LISTED`] items, `a, b, .. and N more`.
fn listed<T: fmt::Display>(items: &[T]) -> String {
    let shown: Vec<String> = items.iter().take(LISTED).map(ToString::to_string).collect();
    let rest = items.len().saturating_sub(LISTED);
    match (shown.split_last(), rest) {
        (None, _) => String::new(),
        (Some((last, [])), 0) => last.clone(),
        (Some((last, init)), 0) => format!("{} and {last}", init.join(", ")),
        (Some(_), n) => format!("{} and {n} more", shown.join(", ")),
    }
}

/// Every item as it reads, separated by `sep`.
fn joined<T: fmt::Display>(items: &[T], sep: &str) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<String>>()
        .join(sep)
}

/// `the ceiling .. measured 900 to 1200/s over 4 rounds (27% of the
/// 1100/s cells were held to)`.
impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the ceiling {} measured {:.0} to {:.0}/s over {} rounds ({:.0}% of the {:.0}/s cells were held to)",
            self.ceiling,
            self.low,
            self.high,
            self.rounds,
            100.0 * (self.high - self.low) / self.held_to.max(1e-9),
            self.held_to
        )
    }
}

/// `lsm x group x fillseq (unsupported)`.
impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.what, self.reason)
    }
}

/// `a and b are the same folder (/path)`.
impl fmt::Display for SameFolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} and {} are the same folder ({})",
            self.first,
            self.second,
            self.path.display()
        )
    }
}

/// `fillrandom (ssd 1, hdd 2)`.
impl fmt::Display for Seeds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let by: Vec<String> = self
            .by_run
            .iter()
            .map(|(r, x)| format!("{r} {x}"))
            .collect();
        write!(f, "{} ({})", self.workload, by.join(", "))
    }
}

impl fmt::Display for CellName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} t{}",
            self.engine, self.policy, self.workload, self.threads
        )
    }
}

/// `` `append+fdatasync` at 137 B and 4096 B ``: patterns in first-seen
/// order, each pattern's record sizes from the smallest.
fn sites_text(sites: &[ProbeSite]) -> String {
    let mut patterns: Vec<(&str, Vec<u64>)> = Vec::new();
    for s in sites {
        match patterns.iter_mut().find(|(p, _)| *p == s.pattern) {
            Some((_, sizes)) => sizes.push(s.record_bytes),
            None => patterns.push((&s.pattern, vec![s.record_bytes])),
        }
    }
    let each: Vec<String> = patterns
        .into_iter()
        .map(|(p, mut sizes)| {
            sizes.sort_unstable();
            sizes.dedup();
            let sizes: Vec<String> = sizes.iter().map(|b| format!("{b} B")).collect();
            format!("`{p}` at {}", listed(&sizes))
        })
        .collect();
    each.join("; ")
}

impl Warning {
    /// The cause in a few words, to lead its line in the report.
    pub fn title(&self) -> &'static str {
        match self {
            Warning::InMemory { .. } => "Memory, not a disk",
            Warning::WriteThroughCache { .. } => "Write-through cache",
            Warning::Ext4WithoutJournal { .. } => "ext4 without a journal",
            Warning::BarriersOff { .. } => "Barriers off",
            Warning::LyingDisk { .. } => "Lying disk",
            Warning::NoDeviceFlush { .. } => "No device flush",
            Warning::NoisyCells { .. } => "Noisy cells",
            Warning::SpreadCells { .. } => "Unsteady repetitions",
            Warning::AboveCeiling { .. } => "Above the ceiling",
            Warning::CeilingDrift { .. } => "Disk drift",
            Warning::Skipped { .. } => "Skipped",
            Warning::RechecksStopped { .. } => "Ceilings not rechecked",
            Warning::DiskFull { .. } => "Disk full",
            Warning::SameFolder { .. } => "Same folder twice",
            Warning::NoEnvironment { .. } => "No environment",
            Warning::ToolVersions { .. } => "Different tool versions",
            Warning::SeedsDiffer { .. } => "Different seeds",
            Warning::InRun { warning, .. } => warning.title(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Warning as W;
        match self {
            W::InMemory { .. }
            | W::WriteThroughCache { .. }
            | W::Ext4WithoutJournal { .. }
            | W::BarriersOff { .. } => disk_sentence(self, f),
            W::LyingDisk { .. } | W::NoDeviceFlush { .. } => sync_sentence(self, f),
            W::NoisyCells { .. } | W::SpreadCells { .. } | W::AboveCeiling { .. } => {
                cells_sentence(self, f)
            }
            W::CeilingDrift { .. }
            | W::Skipped { .. }
            | W::RechecksStopped { .. }
            | W::DiskFull { .. } => run_sentence(self, f),
            W::SameFolder { .. }
            | W::NoEnvironment { .. }
            | W::ToolVersions { .. }
            | W::SeedsDiffer { .. } => comparison_sentence(self, f),
            W::InRun { runs, warning } => write!(f, "{}: {warning}", listed(runs)),
        }
    }
}

/// `` `/mnt/x` ``, or `otherwise` for an empty path (the disks of several
/// runs, at different paths).
fn place(path: &std::path::Path, otherwise: &str) -> String {
    if path.as_os_str().is_empty() {
        otherwise.to_string()
    } else {
        format!("`{}`", path.display())
    }
}

/// The disk under test, from `environment.json`: memory, a write-through
/// cache, ext4 without a journal, barriers off.
fn disk_sentence(w: &Warning, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match w {
        Warning::InMemory { filesystem, path } => {
            match path {
                Some(p) if !p.as_os_str().is_empty() => {
                    write!(f, "`{}` is on {filesystem}", p.display())?;
                }
                _ => write!(f, "The disk under test is {filesystem}")?,
            }
            write!(f, ": memory, not a disk. fsync returns at once and nothing survives a power cut, so sync costs here are not disk costs.")
        }
        Warning::WriteThroughCache { path } => write!(
            f,
            "The device behind {} reports its write cache as \"write through\", so the kernel sends it no flushes: a sync is durable only if the device really has no volatile cache.",
            place(path, "the disk under test")
        ),
        Warning::Ext4WithoutJournal { mount_point } => write!(
            f,
            "{} is ext4 without a journal: a sync writes the inode in place instead of committing a journal, so its costs differ from a journaled ext4's, and a power cut can leave metadata that spans several blocks (a rename, a new directory entry) half written until fsck.",
            place(mount_point, "The disk under test")
        ),
        Warning::BarriersOff {
            mount_point,
            mount_options,
        } => {
            write!(
                f,
                "{} is mounted with barriers off",
                place(mount_point, "The disk under test")
            )?;
            if !mount_options.is_empty() {
                write!(f, " (`{mount_options}`)")?;
            }
            write!(f, ": fsync does not flush the device's cache.")
        }
        other => unreachable!("not a disk warning: {other:?}"),
    }
}

/// Syncs that may not reach stable storage: the probe's doubts, cells
/// that saw no device flush.
fn sync_sentence(w: &Warning, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match w {
        Warning::LyingDisk { sites } => {
            let doubts: Vec<&SyncDoubt> = sites.iter().flat_map(|s| &s.doubts).collect();
            write!(
                f,
                "The probe suspects this disk acknowledges syncs it has not made durable ({}): {}.",
                sites_text(sites),
                SyncDoubt::merged(&doubts).join("; ")
            )
        }
        Warning::NoDeviceFlush { syncs, cells } => write!(
            f,
            "{syncs} file syncs in {cells} cells produced no device flush: either the device has no volatile write cache, or syncs do not reach stable storage here. Sync costs measured here are not the costs of durable writes."
        ),
        other => unreachable!("not a sync warning: {other:?}"),
    }
}

/// Cells whose figures need care: noisy device counters, unsteady
/// repetitions, efficiency above the ceiling.
fn cells_sentence(w: &Warning, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match w {
        Warning::NoisyCells { cells, of } => write!(
            f,
            "{} of {of} cells are noisy ({}): other processes wrote to the device at more than 1/{:.0} of the cell's own rate, so their device figures (device write amplification, flushes per write) may include others' I/O.",
            cells.len(),
            listed(cells),
            crate::NOISE_FACTOR
        ),
        Warning::SpreadCells { cells, of } => write!(
            f,
            "{} of {of} cells spread more than {:.0}% between repetitions ({}): the disk or machine was not steady; read those figures as ranges.",
            cells.len(),
            SPREAD_FLAG * 100.0,
            listed(cells)
        ),
        Warning::AboveCeiling { cells } => write!(
            f,
            "{} cells beat the probe's ceiling (efficiency above {EFFICIENCY_SUSPECT}: {}): the probe did not find the disk's best pattern for them, or the disk ran faster during those cells than while the ceiling was measured (its drift over the run is in `repetitions.csv`, `ceiling_ops_per_sec`), so their efficiency overstates the engine.",
            cells.len(),
            listed(cells)
        ),
        other => unreachable!("not a cells warning: {other:?}"),
    }
}

/// The run as a whole: the disk drifted, combinations were skipped, the
/// ceilings stopped being rechecked, the disk filled up.
fn run_sentence(w: &Warning, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match w {
        Warning::CeilingDrift { ceilings } => write!(
            f,
            "The disk drifted during the run: {}. Read efficiencies near 1 as ranges and compare cells by their confidence intervals.",
            joined(ceilings, "; ")
        ),
        Warning::Skipped { skips } => write!(
            f,
            "{} combinations not run: {}.",
            skips.len(),
            joined(skips, "; ")
        ),
        Warning::RechecksStopped { error } => write!(
            f,
            "The ceilings are no longer measured again each round ({error}); those measured so far serve the rest of the run."
        ),
        Warning::DiskFull { error } => write!(
            f,
            "The disk is full ({error}); stopping. Finished cells are kept."
        ),
        other => unreachable!("not a run warning: {other:?}"),
    }
}

/// Why the runs of a comparison are not comparable: one folder twice, no
/// environment, different tool versions or seeds.
fn comparison_sentence(w: &Warning, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match w {
        Warning::SameFolder { pairs } => write!(
            f,
            "{}: every figure is compared with itself.",
            joined(pairs, "; ")
        ),
        Warning::NoEnvironment { runs } => write!(
            f,
            "{}: environment.json is missing or unreadable, so machine, disk and tool version are unknown.",
            listed(runs)
        ),
        Warning::ToolVersions { by_run } => {
            let each: Vec<String> = by_run.iter().map(|(r, v)| format!("{r} {v}")).collect();
            write!(
                f,
                "The runs come from different tool versions: {}.",
                each.join(", ")
            )
        }
        Warning::SeedsDiffer { workloads } => write!(
            f,
            "Workload seeds differ between runs, so the runs did not execute the same operations: {}.",
            joined(workloads, "; ")
        ),
        other => unreachable!("not a comparison warning: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One of every variant: each is routed to its family's sentence and
    /// says something.
    #[test]
    fn every_warning_has_a_sentence() {
        let cell = CellName {
            engine: "wal".into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
        };
        let all = [
            Warning::InMemory {
                filesystem: "tmpfs".into(),
                path: None,
            },
            Warning::WriteThroughCache { path: "/d".into() },
            Warning::Ext4WithoutJournal {
                mount_point: "/m".into(),
            },
            Warning::BarriersOff {
                mount_point: "/m".into(),
                mount_options: "nobarrier".into(),
            },
            Warning::LyingDisk {
                sites: vec![ProbeSite {
                    pattern: "append+fdatasync".into(),
                    record_bytes: 137,
                    doubts: Vec::new(),
                }],
            },
            Warning::NoDeviceFlush { syncs: 3, cells: 1 },
            Warning::NoisyCells {
                cells: vec![cell.clone()],
                of: 2,
            },
            Warning::SpreadCells {
                cells: vec![cell.clone()],
                of: 2,
            },
            Warning::AboveCeiling { cells: vec![cell] },
            Warning::CeilingDrift {
                ceilings: vec![Drift {
                    ceiling: crate::ceilings::PatternId::from(&crate::ProbeRow::default()),
                    low: 1.0,
                    high: 2.0,
                    rounds: 2,
                    held_to: 1.5,
                }],
            },
            Warning::Skipped {
                skips: vec![Skip {
                    what: "lsm x group".into(),
                    reason: "unsupported".into(),
                }],
            },
            Warning::RechecksStopped { error: "e".into() },
            Warning::DiskFull { error: "e".into() },
            Warning::SameFolder {
                pairs: vec![SameFolder {
                    first: "a".into(),
                    second: "b".into(),
                    path: "/r".into(),
                }],
            },
            Warning::NoEnvironment {
                runs: vec!["a".into()],
            },
            Warning::ToolVersions {
                by_run: vec![("a".into(), "0.1".into())],
            },
            Warning::SeedsDiffer {
                workloads: vec![Seeds {
                    workload: "fillrandom".into(),
                    by_run: vec![("a".into(), 1)],
                }],
            },
        ];
        for w in all {
            let inner = w.to_string();
            assert!(inner.len() > 20, "{w:?}: {inner}");
            let title = w.title();
            let w = Warning::InRun {
                runs: vec!["ssd".into()],
                warning: Box::new(w),
            };
            assert_eq!(w.to_string(), format!("ssd: {inner}"));
            assert_eq!(w.title(), title);
        }
    }

    #[test]
    fn lists_say_how_many_they_leave_out() {
        assert_eq!(listed::<u32>(&[]), "");
        assert_eq!(listed(&[1]), "1");
        assert_eq!(listed(&[1, 2, 3]), "1, 2 and 3");
        assert_eq!(
            listed(&[1, 2, 3, 4, 5, 6, 7, 8]),
            "1, 2, 3, 4, 5, 6 and 2 more"
        );
    }
}
