//! Why a figure should not be read at face value, as one enum: each cause
//! is a [`Warning`] variant carrying its data, with its own sentence
//! (`Display`) and a short title. A [`Warnings`] holds one entry per cause:
//! the same cause seen for several record sizes, cells, ceilings or
//! workloads becomes one entry that lists them all. The report, the
//! terminal of `run` and `probe`, and `compare` all print these (the habit
//! of hyperfine's `src/output/warnings.rs`).
//!
//! The rules that raise them from saved results are in `rules.rs`; the
//! probe's evidence against a disk, which `probe.csv` keeps as text, is a
//! [`SyncDoubt`].

mod doubt;
mod message;
mod rules;

use std::path::PathBuf;

use crate::ceilings::PatternId;
use crate::RunRow;

pub use doubt::SyncDoubt;
pub use rules::{ops_spread, CEILING_DRIFT, EFFICIENCY_SUSPECT, SPREAD_FLAG};

/// A cell a warning names, within one run.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CellName {
    /// Engine.
    pub engine: String,
    /// Policy text form.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Client threads.
    pub threads: u32,
}

impl From<&RunRow> for CellName {
    fn from(r: &RunRow) -> CellName {
        CellName {
            engine: r.engine.clone(),
            policy: r.policy.clone(),
            workload: r.workload.clone(),
            threads: r.threads,
        }
    }
}

/// A probe pattern whose syncs the probe doubts, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeSite {
    /// Pattern (`append+fdatasync`).
    pub pattern: String,
    /// Record size.
    pub record_bytes: u64,
    /// What it saw.
    pub doubts: Vec<SyncDoubt>,
}

/// A ceiling whose measurements over a run spread beyond the tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Drift {
    /// The ceiling's pattern.
    pub ceiling: PatternId,
    /// Slowest measurement, ops/s.
    pub low: f64,
    /// Fastest measurement, ops/s.
    pub high: f64,
    /// Measurements (the first probe's and one per later round).
    pub rounds: usize,
    /// The ceiling the last round's cells were held to, ops/s.
    pub held_to: f64,
}

/// A combination a run did not measure, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip {
    /// What (`lsm x group x fillseq`).
    pub what: String,
    /// Why.
    pub reason: String,
}

/// Two runs of a comparison that are one folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameFolder {
    /// The first run's label.
    pub first: String,
    /// The second run's label.
    pub second: String,
    /// The folder.
    pub path: PathBuf,
}

/// One workload's seeds in each run of a comparison.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeds {
    /// Workload.
    pub workload: String,
    /// (run label, seed), each pair once.
    pub by_run: Vec<(String, u64)>,
}

/// One cause to distrust figures, with its data. Each variant has its own
/// sentence (`Display`) and [`Warning::title`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Warning {
    /// The disk under test keeps files in memory (tmpfs, ramfs): a sync
    /// does nothing. From `environment.json` or the probe.
    InMemory {
        /// `tmpfs`, `ramfs`, `devtmpfs`.
        filesystem: String,
        /// The path measured, when known.
        path: Option<PathBuf>,
    },
    /// The device reports its write cache as "write through", so the kernel
    /// sends it no flushes.
    WriteThroughCache {
        /// The path measured.
        path: PathBuf,
    },
    /// ext4 formatted without a journal.
    Ext4WithoutJournal {
        /// Its mount point.
        mount_point: PathBuf,
    },
    /// Mounted with barriers off: fsync does not flush the device's cache.
    BarriersOff {
        /// Its mount point.
        mount_point: PathBuf,
        /// Its mount options.
        mount_options: String,
    },
    /// The probe suspects the disk acknowledges syncs it has not made
    /// durable: every pattern and record size where it did, with evidence.
    LyingDisk {
        /// Where, and what it saw.
        sites: Vec<ProbeSite>,
    },
    /// Cells that synced saw no device flush at all.
    NoDeviceFlush {
        /// File syncs those cells made.
        syncs: u64,
        /// How many cells.
        cells: usize,
    },
    /// Cells whose device counters include other processes' I/O.
    NoisyCells {
        /// The noisy cells.
        cells: Vec<CellName>,
        /// Cells in the run.
        of: usize,
    },
    /// Cells whose ops/s spread more than [`SPREAD_FLAG`] over repetitions.
    SpreadCells {
        /// The cells.
        cells: Vec<CellName>,
        /// Cells in the run.
        of: usize,
    },
    /// Cells faster than the probe's ceiling for their cadence
    /// (efficiency above [`EFFICIENCY_SUSPECT`]).
    AboveCeiling {
        /// The cells.
        cells: Vec<CellName>,
    },
    /// Ceilings measured again during the run spread beyond
    /// [`CEILING_DRIFT`]: the disk drifted.
    CeilingDrift {
        /// The ceilings.
        ceilings: Vec<Drift>,
    },
    /// Combinations the run did not measure.
    Skipped {
        /// Each one and why.
        skips: Vec<Skip>,
    },
    /// Measuring the ceilings again each round failed; those measured so far
    /// serve the rest of the run.
    RechecksStopped {
        /// The error.
        error: String,
    },
    /// The disk filled up and the run stopped.
    DiskFull {
        /// The error of the cell that hit it.
        error: String,
    },
    /// Runs of a comparison that are the same folder.
    SameFolder {
        /// Each pair.
        pairs: Vec<SameFolder>,
    },
    /// Runs of a comparison without a readable `environment.json`.
    NoEnvironment {
        /// Their labels.
        runs: Vec<String>,
    },
    /// Runs of a comparison made by different tool versions.
    ToolVersions {
        /// (run label, version and commit) of every run.
        by_run: Vec<(String, String)>,
    },
    /// Workloads whose seeds differ between the runs of a comparison.
    SeedsDiffer {
        /// Each such workload.
        workloads: Vec<Seeds>,
    },
    /// A warning about some runs of a comparison (the machines of a
    /// fleet): one cause, seen on each of them.
    InRun {
        /// The runs' labels, in the order they were seen.
        runs: Vec<String>,
        /// The warning, its data merged over the runs (cells and probe
        /// sites listed once, syncs without a flush summed; a disk path
        /// that differs between them is left out).
        warning: Box<Warning>,
    },
}

/// Appends the items of `more` that `into` lacks.
fn union<T: PartialEq>(into: &mut Vec<T>, more: Vec<T>) {
    for x in more {
        if !into.contains(&x) {
            into.push(x);
        }
    }
}

/// Keeps `into` when `other` names the same place; empties it otherwise
/// (the sentence then names no path: the runs' disks are at several).
fn same_path(into: &mut PathBuf, other: &PathBuf) {
    if into != other {
        *into = PathBuf::new();
    }
}

impl Warning {
    /// Folds `other`, the same cause seen on other runs, into `self`: as
    /// [`Warning::absorb`], but counts add up (each run's syncs are its
    /// own) and a path that differs is dropped.
    fn absorb_across(&mut self, other: Warning) -> Result<(), Warning> {
        use Warning as W;
        match (self, other) {
            (W::NoDeviceFlush { syncs, cells }, W::NoDeviceFlush { syncs: s, cells: c }) => {
                *syncs += s;
                *cells += c;
            }
            (W::InMemory { path, .. }, W::InMemory { path: p, .. }) => {
                if *path != p {
                    *path = None;
                }
            }
            (W::WriteThroughCache { path }, W::WriteThroughCache { path: p }) => {
                same_path(path, &p);
            }
            (W::Ext4WithoutJournal { mount_point }, W::Ext4WithoutJournal { mount_point: m }) => {
                same_path(mount_point, &m);
            }
            (
                W::BarriersOff {
                    mount_point,
                    mount_options,
                },
                W::BarriersOff {
                    mount_point: m,
                    mount_options: o,
                },
            ) => {
                same_path(mount_point, &m);
                if *mount_options != o {
                    mount_options.clear();
                }
            }
            (this, other) => return this.absorb(other),
        }
        Ok(())
    }

    /// Folds `other` into `self` when both have the same cause (for
    /// [`Warning::InRun`]: the same cause, on the same runs or others);
    /// gives it back otherwise.
    fn absorb(&mut self, other: Warning) -> Result<(), Warning> {
        use Warning as W;
        match (self, other) {
            (W::InMemory { path, .. }, W::InMemory { path: p, .. }) => {
                if path.is_none() {
                    *path = p;
                }
            }
            (W::LyingDisk { sites }, W::LyingDisk { sites: more }) => {
                for s in more {
                    match sites
                        .iter_mut()
                        .find(|x| x.pattern == s.pattern && x.record_bytes == s.record_bytes)
                    {
                        Some(x) => union(&mut x.doubts, s.doubts),
                        None => sites.push(s),
                    }
                }
            }
            (W::NoisyCells { cells, of }, W::NoisyCells { cells: c, of: o })
            | (W::SpreadCells { cells, of }, W::SpreadCells { cells: c, of: o }) => {
                union(cells, c);
                *of = (*of).max(o);
            }
            (W::AboveCeiling { cells }, W::AboveCeiling { cells: c }) => union(cells, c),
            (W::CeilingDrift { ceilings }, W::CeilingDrift { ceilings: c }) => {
                for d in c {
                    match ceilings.iter_mut().find(|x| x.ceiling == d.ceiling) {
                        Some(x) => *x = d,
                        None => ceilings.push(d),
                    }
                }
            }
            (W::Skipped { skips }, W::Skipped { skips: s }) => union(skips, s),
            (W::SameFolder { pairs }, W::SameFolder { pairs: p }) => union(pairs, p),
            (W::NoEnvironment { runs }, W::NoEnvironment { runs: r }) => union(runs, r),
            (W::SeedsDiffer { workloads }, W::SeedsDiffer { workloads: w }) => union(workloads, w),
            (
                W::InRun { runs, warning },
                W::InRun {
                    runs: r,
                    warning: w,
                },
            ) if std::mem::discriminant(&**warning) == std::mem::discriminant(&*w) => {
                // One run's facts seen twice merge as they do outside a
                // comparison; facts of runs already merged over several
                // are there (counts included); other runs' join these.
                let again = r.iter().all(|x| runs.contains(x));
                let merged = match (again, runs.len()) {
                    (true, 1) => warning.absorb(*w),
                    (true, _) => Ok(()),
                    (false, _) => warning.absorb_across(*w),
                };
                merged.map_err(|w| W::InRun {
                    runs: r.clone(),
                    warning: Box::new(w),
                })?;
                union(runs, r);
            }
            (W::InRun { .. }, other @ W::InRun { .. }) => return Err(other),
            // The same fact about the same disk or run, seen twice: the
            // first says it.
            (this, other) => {
                if std::mem::discriminant(&*this) != std::mem::discriminant(&other) {
                    return Err(other);
                }
            }
        }
        Ok(())
    }
}

/// Warnings merged by cause, in the order their causes were first seen.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Warnings(Vec<Warning>);

impl Warnings {
    /// No warnings.
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// Adds `w`, merged into the entry of the same cause if there is one.
    pub fn push(&mut self, w: Warning) {
        let mut w = w;
        for e in &mut self.0 {
            match e.absorb(w) {
                Ok(()) => return,
                Err(back) => w = back,
            }
        }
        self.0.push(w);
    }

    /// One entry per cause.
    pub fn iter(&self) -> std::slice::Iter<'_, Warning> {
        self.0.iter()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many causes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The same warnings, each about the run labelled `run`. Pushed into
    /// one [`Warnings`], those of several runs merge by cause, naming the
    /// runs each applies to.
    pub fn in_run(self, run: &str) -> Warnings {
        self.0
            .into_iter()
            .map(|w| Warning::InRun {
                runs: vec![run.to_string()],
                warning: Box::new(w),
            })
            .collect()
    }
}

impl Extend<Warning> for Warnings {
    fn extend<I: IntoIterator<Item = Warning>>(&mut self, iter: I) {
        iter.into_iter().for_each(|w| self.push(w));
    }
}

impl FromIterator<Warning> for Warnings {
    fn from_iter<I: IntoIterator<Item = Warning>>(iter: I) -> Warnings {
        let mut w = Warnings::new();
        w.extend(iter);
        w
    }
}

impl IntoIterator for Warnings {
    type Item = Warning;
    type IntoIter = std::vec::IntoIter<Warning>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a Warnings {
    type Item = &'a Warning;
    type IntoIter = std::slice::Iter<'a, Warning>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn few_flushes(flushes: u64, syncs: u64) -> SyncDoubt {
        SyncDoubt::FewFlushes {
            flushes,
            syncs,
            write_through: false,
        }
    }

    fn site(bytes: u64, doubt: SyncDoubt) -> Warning {
        Warning::LyingDisk {
            sites: vec![ProbeSite {
                pattern: "append+fdatasync".into(),
                record_bytes: bytes,
                doubts: vec![doubt],
            }],
        }
    }

    fn cell(engine: &str) -> CellName {
        CellName {
            engine: engine.into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
        }
    }

    #[test]
    fn one_cause_seen_at_two_record_sizes_is_one_entry_listing_both() {
        let mut w = Warnings::new();
        w.push(site(4096, few_flushes(2, 4000)));
        w.push(Warning::NoDeviceFlush { syncs: 9, cells: 1 });
        w.push(site(137, few_flushes(0, 5000)));
        assert_eq!(w.len(), 2, "{w:?}");
        let text = w.iter().next().map(ToString::to_string).unwrap_or_default();
        // Sizes from the smallest, whatever order the probe wrote them in.
        assert!(
            text.contains("`append+fdatasync` at 137 B and 4096 B)"),
            "{text}"
        );
        // The evidence is summed, not repeated per size.
        assert!(text.contains("2 device flushes for 9000 syncs"), "{text}");
        assert_eq!(text.matches("device flushes").count(), 1, "{text}");
    }

    #[test]
    fn cells_are_merged_and_runs_kept_apart() {
        let mut w = Warnings::new();
        w.push(Warning::NoisyCells {
            cells: vec![cell("wal")],
            of: 4,
        });
        w.push(Warning::NoisyCells {
            cells: vec![cell("lsm"), cell("wal")],
            of: 4,
        });
        let mut a = Warnings::new();
        a.push(site(137, few_flushes(0, 100)));
        let mut b = Warnings::new();
        b.push(site(137, few_flushes(0, 100)));
        w.extend(a.clone().in_run("ssd"));
        w.extend(b.in_run("hdd"));
        w.extend(a.in_run("ssd"));
        let texts: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 2, "{texts:?}");
        assert!(
            texts[0].starts_with(
                "2 of 4 cells are noisy (wal always fillrandom t1 and lsm always fillrandom t1)"
            ),
            "{texts:?}"
        );
        // One cause on two runs: one line naming both, its evidence once.
        assert!(texts[1].starts_with("ssd and hdd: "), "{texts:?}");
        assert_eq!(texts[1].matches("device flushes").count(), 1, "{texts:?}");
        assert_eq!(w.iter().next().map(Warning::title), Some("Noisy cells"));
    }

    #[test]
    fn twenty_machines_with_the_same_three_doubts_make_three_lines() {
        let mut w = Warnings::new();
        for i in 0..20 {
            let mut own = Warnings::new();
            own.push(Warning::InMemory {
                filesystem: "tmpfs".into(),
                path: Some(format!("/dev/shm/m{i}").into()),
            });
            own.push(Warning::NoDeviceFlush {
                syncs: 100,
                cells: 2,
            });
            own.push(site(137, few_flushes(0, 100)));
            w.extend(own.in_run(&format!("m{i}")));
        }
        // The first machine again: nothing is counted twice.
        let mut again = Warnings::new();
        again.push(Warning::NoDeviceFlush {
            syncs: 100,
            cells: 2,
        });
        w.extend(again.in_run("m0"));
        let texts: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 3, "{texts:?}");
        for t in &texts {
            assert!(t.starts_with("m0, m1, m2, m3, m4, m5 and 14 more: "), "{t}");
        }
        // Paths differ between the machines: named by none.
        assert!(
            texts[0].contains("The disk under test is tmpfs"),
            "{}",
            texts[0]
        );
        assert!(
            texts[1].contains("2000 file syncs in 40 cells"),
            "{}",
            texts[1]
        );
        // Different causes of one run stay apart; one cause on one run is
        // named by that run alone.
        let mut one = Warnings::new();
        one.push(Warning::DiskFull { error: "e".into() });
        let mut w2 = one.clone().in_run("a");
        w2.extend(
            [Warning::RechecksStopped { error: "e".into() }]
                .into_iter()
                .collect::<Warnings>()
                .in_run("a"),
        );
        assert_eq!(w2.len(), 2);
        assert!(w2.iter().all(|x| x.to_string().starts_with("a: ")));
    }

    #[test]
    fn a_known_path_survives_the_merge_of_one_fact_seen_twice() {
        let mut w = Warnings::new();
        w.push(Warning::InMemory {
            filesystem: "tmpfs".into(),
            path: None,
        });
        w.push(Warning::InMemory {
            filesystem: "tmpfs".into(),
            path: Some("/dev/shm/x".into()),
        });
        w.push(Warning::DiskFull {
            error: "one".into(),
        });
        w.push(Warning::DiskFull {
            error: "two".into(),
        });
        assert_eq!(w.len(), 2);
        let texts: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert!(
            texts[0].starts_with("`/dev/shm/x` is on tmpfs"),
            "{texts:?}"
        );
        assert!(texts[1].contains("one") && !texts[1].contains("two"));
    }
}
