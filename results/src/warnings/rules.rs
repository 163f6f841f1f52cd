//! The rules that raise warnings from saved results: the disk
//! (`environment.json`), the probe (`probe.csv`), the cells (`runs.csv`)
//! and the ceilings measured again during the run (`ceilings.csv`).

use super::{CellName, Drift, ProbeSite, SyncDoubt, Warning, Warnings};
use crate::ceilings::{ceiling_spread, ceilings_by_pattern};
use crate::{CeilingRow, Environment, ProbeRow, RunRow};

/// ops/s spread over repetitions ((max - min) / median) above which a cell
/// is flagged, as hyperfine flags outliers.
pub const SPREAD_FLAG: f64 = 0.10;

/// Efficiency above this means the probe's ceiling is not the disk's best.
pub const EFFICIENCY_SUSPECT: f64 = 1.05;

/// A ceiling whose measurements over a run spread by more than this share
/// of the value cells were held to is reported as disk drift.
pub const CEILING_DRIFT: f64 = 0.25;

/// (max - min) / median of ops/s over repetitions: the recorded figure, else
/// computed from min and max; `None` for one repetition.
pub fn ops_spread(r: &RunRow) -> Option<f64> {
    r.ops_per_sec_spread.or_else(|| {
        (r.ops_per_sec_max > r.ops_per_sec_min && r.ops_per_sec > 0.0)
            .then(|| (r.ops_per_sec_max - r.ops_per_sec_min) / r.ops_per_sec)
    })
}

fn in_memory(filesystem: &str) -> bool {
    matches!(filesystem, "tmpfs" | "ramfs" | "devtmpfs")
}

impl Warnings {
    /// Everything the saved results of one run give reason to doubt: the
    /// warnings box of its report.
    pub fn of_results(
        env: Option<&Environment>,
        probe: &[ProbeRow],
        runs: &[RunRow],
        ceilings: &[CeilingRow],
    ) -> Warnings {
        let mut w = env.map(Warnings::of_disk).unwrap_or_default();
        w.extend(Warnings::of_probe(probe));
        w.extend(Warnings::of_cells(runs));
        w.extend(Warnings::of_ceilings(ceilings, CEILING_DRIFT));
        w
    }

    /// Why syncs on this disk may not reach stable storage (tmpfs, a write
    /// cache the kernel sends no flushes to, barriers off), or cost what a
    /// usual setup's do (ext4 without a journal).
    pub fn of_disk(env: &Environment) -> Warnings {
        let mut w = Warnings::new();
        let Some(d) = &env.disk else {
            return w;
        };
        let fs = d.filesystem.as_str();
        if in_memory(fs) {
            w.push(Warning::InMemory {
                filesystem: fs.to_string(),
                path: Some(d.path.clone()),
            });
        }
        if d.write_cache.as_deref() == Some("write through") && !in_memory(fs) {
            w.push(Warning::WriteThroughCache {
                path: d.path.clone(),
            });
        }
        if fs == "ext4" && d.journal.as_deref() == Some("none") {
            w.push(Warning::Ext4WithoutJournal {
                mount_point: d.mount_point.clone(),
            });
        }
        if d.mount_options
            .split(',')
            .any(|o| o == "nobarrier" || o == "barrier=0")
        {
            w.push(Warning::BarriersOff {
                mount_point: d.mount_point.clone(),
                mount_options: d.mount_options.clone(),
            });
        }
        w
    }

    /// The probe's doubts (its `warning` column): one lying-disk entry for
    /// every pattern and record size, and a filesystem in memory as such.
    pub fn of_probe(rows: &[ProbeRow]) -> Warnings {
        let mut w = Warnings::new();
        for p in rows {
            let (memory, doubts): (Vec<SyncDoubt>, Vec<SyncDoubt>) =
                SyncDoubt::parse_all(&p.warning)
                    .into_iter()
                    .partition(|d| matches!(d, SyncDoubt::InMemory { .. }));
            for m in memory {
                if let SyncDoubt::InMemory { filesystem } = m {
                    w.push(Warning::InMemory {
                        filesystem,
                        path: None,
                    });
                }
            }
            if !doubts.is_empty() {
                w.push(Warning::LyingDisk {
                    sites: vec![ProbeSite {
                        pattern: p.pattern.clone(),
                        record_bytes: p.record_bytes,
                        doubts,
                    }],
                });
            }
        }
        w
    }

    /// What the cells' own figures flag: syncs without any device flush,
    /// noisy device counters, repetitions that spread, efficiency above
    /// the ceiling.
    pub fn of_cells(runs: &[RunRow]) -> Warnings {
        let mut w = Warnings::new();
        let synced: Vec<&RunRow> = runs
            .iter()
            .filter(|r| r.file_syncs.is_some_and(|n| n > 0) && r.device_flushes.is_some())
            .collect();
        if !synced.is_empty() && synced.iter().filter_map(|r| r.device_flushes).sum::<u64>() == 0 {
            w.push(Warning::NoDeviceFlush {
                syncs: synced.iter().filter_map(|r| r.file_syncs).sum(),
                cells: synced.len(),
            });
        }
        let of = runs.len();
        let cells = |f: &dyn Fn(&RunRow) -> bool| -> Vec<CellName> {
            runs.iter().filter(|r| f(r)).map(CellName::from).collect()
        };
        let noisy = cells(&|r| r.noisy == Some(true));
        if !noisy.is_empty() {
            w.push(Warning::NoisyCells { cells: noisy, of });
        }
        let spread = cells(&|r| ops_spread(r).is_some_and(|s| s > SPREAD_FLAG));
        if !spread.is_empty() {
            w.push(Warning::SpreadCells { cells: spread, of });
        }
        let above =
            cells(&|r| !r.open_loop && r.efficiency.is_some_and(|e| e > EFFICIENCY_SUSPECT));
        if !above.is_empty() {
            w.push(Warning::AboveCeiling { cells: above });
        }
        w
    }

    /// Ceilings measured again during a run whose measurements (the first
    /// probe's median and each round's) spread by more than `tolerance` of
    /// the ceiling cells ended with: the disk drifted.
    pub fn of_ceilings(rows: &[CeilingRow], tolerance: f64) -> Warnings {
        let ceilings: Vec<Drift> = ceilings_by_pattern(rows)
            .into_iter()
            .filter_map(|(id, v)| {
                let (low, high, held_to) = ceiling_spread(&v)?;
                let spread = (high - low) / held_to.max(1e-9);
                (v.len() > 1 && spread > tolerance).then_some(Drift {
                    ceiling: id,
                    low,
                    high,
                    rounds: v.len(),
                    held_to,
                })
            })
            .collect();
        let mut w = Warnings::new();
        if !ceilings.is_empty() {
            w.push(Warning::CeilingDrift { ceilings });
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::DiskInfo;

    fn env(fs: &str) -> Environment {
        Environment {
            disk: Some(DiskInfo {
                path: "/mnt/x".into(),
                mount_point: "/mnt".into(),
                filesystem: fs.into(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn ext4_without_a_journal_is_named() {
        let mut e = env("ext4");
        assert!(Warnings::of_disk(&e).is_empty());
        if let Some(d) = e.disk.as_mut() {
            d.journal = Some("jbd2".into());
        }
        assert!(Warnings::of_disk(&e).is_empty());
        if let Some(d) = e.disk.as_mut() {
            d.journal = Some("none".into());
        }
        let w: Vec<Warning> = Warnings::of_disk(&e).into_iter().collect();
        assert_eq!(
            w,
            [Warning::Ext4WithoutJournal {
                mount_point: "/mnt".into()
            }]
        );
    }

    #[test]
    fn tmpfs_from_the_environment_and_the_probe_is_one_warning() {
        let probe = |bytes| ProbeRow {
            pattern: "append+fdatasync".into(),
            record_bytes: bytes,
            warning: SyncDoubt::InMemory {
                filesystem: "tmpfs".into(),
            }
            .to_string(),
            ..Default::default()
        };
        let w = Warnings::of_results(Some(&env("tmpfs")), &[probe(137), probe(4096)], &[], &[]);
        let texts: Vec<String> = w.iter().map(ToString::to_string).collect();
        assert_eq!(texts.len(), 1, "{texts:?}");
        assert!(texts[0].starts_with("`/mnt/x` is on tmpfs"), "{texts:?}");
    }

    #[test]
    fn cells_are_flagged_by_their_own_figures() {
        let row = |engine: &str| RunRow {
            engine: engine.into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
            ops_per_sec: 100.0,
            file_syncs: Some(100),
            device_flushes: Some(0),
            ..Default::default()
        };
        let mut noisy = row("wal");
        noisy.noisy = Some(true);
        let mut spread = row("lsm");
        (spread.ops_per_sec_min, spread.ops_per_sec_max) = (80.0, 120.0);
        let mut above = row("btree");
        above.efficiency = Some(1.2);
        let mut open = row("bitcask");
        (open.efficiency, open.open_loop) = (Some(1.2), true);
        let w: Vec<Warning> = Warnings::of_cells(&[noisy, spread, above, open])
            .into_iter()
            .collect();
        let titles: Vec<&str> = w.iter().map(Warning::title).collect();
        assert_eq!(
            titles,
            [
                "No device flush",
                "Noisy cells",
                "Unsteady repetitions",
                "Above the ceiling"
            ]
        );
        assert_eq!(
            w[0],
            Warning::NoDeviceFlush {
                syncs: 400,
                cells: 4
            }
        );
        // An open-loop cell is held to a rate: its efficiency says nothing.
        assert!(matches!(&w[3], Warning::AboveCeiling { cells } if cells.len() == 1));
    }

    #[test]
    fn ceiling_drift_beyond_the_tolerance_is_reported() {
        let row = |round: u32, threads: u32, rate: f64, pooled: f64| CeilingRow {
            round,
            pattern: "overwrite+fdatasync".into(),
            record_bytes: 137,
            writes_per_sync: 1,
            threads,
            layout: if threads > 1 {
                "per-file".into()
            } else {
                String::new()
            },
            prepared: "fallocate".into(),
            ops_per_sec: rate,
            pooled_ops_per_sec: pooled,
            ..CeilingRow::default()
        };
        let rows = [
            row(0, 1, 10_000.0, 10_000.0),
            row(0, 4, 20_000.0, 20_000.0),
            row(1, 4, 19_000.0, 19_500.0),
            row(2, 1, 7_000.0, 9_000.0),
            row(1, 1, 9_000.0, 9_500.0),
        ];
        let drifted = |tolerance| -> Vec<Drift> {
            match Warnings::of_ceilings(&rows, tolerance).into_iter().next() {
                Some(Warning::CeilingDrift { ceilings }) => ceilings,
                _ => Vec::new(),
            }
        };
        // One writer: 7,000..10,000 against the last pooled 9,000 (33%);
        // four writers: 19,000..20,000 (5%).
        let one = drifted(0.25);
        assert_eq!(one.len(), 1, "{one:?}");
        let text = Warning::CeilingDrift { ceilings: one }.to_string();
        assert!(
            text.contains("137 B (fallocate) measured 7000 to 10000/s over 3 rounds (33%"),
            "{text}"
        );
        assert_eq!(drifted(0.04).len(), 2);
        assert!(drifted(0.5).is_empty());
        // The first probe alone is no drift.
        assert!(Warnings::of_ceilings(&rows[..2], 0.0).is_empty());
    }
}
