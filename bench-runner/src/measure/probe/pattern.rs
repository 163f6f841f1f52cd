//! The probe's patterns: which placement, sync cadence, record size and
//! writer layout each measurement uses, and their `probe.csv` names.

use engines::SyncPrimitive;
use results::ProbeRow;

use super::ProbePlan;

/// How a writer gets its bytes onto the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    Append,
    /// Overwrite space written (and synced) once.
    OverWritten,
    /// Overwrite space reserved with `fallocate`.
    OverFallocated,
}

/// Several writers: each its own file, or all one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    PerFile,
    Shared,
}

/// One measured access pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Pattern {
    pub(super) placement: Placement,
    /// The sync call and how many writes (per writer) between syncs.
    pub(super) sync: Option<(SyncPrimitive, u64)>,
    pub(super) threads: usize,
    pub(super) layout: Layout,
    pub(super) size: u64,
}

impl Pattern {
    pub(super) fn name(&self) -> String {
        let base = match self.placement {
            Placement::Append => "append",
            Placement::OverWritten | Placement::OverFallocated => "overwrite",
        };
        match self.sync {
            None => base.into(),
            Some((p, 1)) => format!("{base}+{}", primitive_name(p)),
            Some((p, n)) => format!("{base}+{}/{n}", primitive_name(p)),
        }
    }

    pub(super) fn writes_per_sync(&self) -> u64 {
        self.sync.map_or(0, |(_, n)| n)
    }

    /// `probe.csv` `layout`: empty for one writer.
    pub(super) fn layout_name(&self) -> &'static str {
        match (self.threads, self.layout) {
            (1, _) => "",
            (_, Layout::PerFile) => "per-file",
            (_, Layout::Shared) => "shared",
        }
    }

    /// `probe.csv` `prepared`: how overwritten space was laid out.
    pub(super) fn prepared_name(&self) -> &'static str {
        match self.placement {
            Placement::Append => "",
            Placement::OverWritten => "written",
            Placement::OverFallocated => "fallocate",
        }
    }

    /// Whether `row` is this pattern's row.
    pub(super) fn is_row(&self, row: &ProbeRow) -> bool {
        row.pattern == self.name()
            && row.record_bytes == self.size
            && row.threads.unwrap_or(1) == self.threads as u32
            && row.layout == self.layout_name()
            && row.prepared == self.prepared_name()
    }

    pub(super) fn label(&self) -> String {
        format!(
            "{} {} B x{}{}",
            self.name(),
            self.size,
            self.threads,
            match self.layout {
                Layout::Shared if self.threads > 1 => " shared",
                _ => "",
            }
        )
    }
}

pub(super) fn primitive_name(p: SyncPrimitive) -> &'static str {
    match p {
        SyncPrimitive::Fdatasync => "fdatasync",
        SyncPrimitive::Fsync => "fsync",
    }
}

/// Every pattern the plan needs, in a stable order.
pub(super) fn patterns(plan: &ProbePlan) -> Vec<Pattern> {
    let mut threads = plan.threads.clone();
    threads.push(1);
    threads.sort_unstable();
    threads.dedup();
    let mut cadences: Vec<Option<(SyncPrimitive, u64)>> =
        vec![None, Some((SyncPrimitive::Fdatasync, 1))];
    for &n in plan.batches.iter().filter(|n| **n > 1) {
        cadences.push(Some((SyncPrimitive::Fdatasync, n)));
        if plan.fsync {
            cadences.push(Some((SyncPrimitive::Fsync, n)));
        }
    }
    let mut sizes: Vec<(u64, &[usize])> = plan
        .record_sizes
        .iter()
        .map(|&s| (s, &threads[..]))
        .collect();
    for &s in &plan.reference_sizes {
        if !plan.record_sizes.contains(&s) {
            sizes.push((s, &[1]));
        }
    }
    sizes.sort_unstable_by_key(|(s, _)| *s);
    let mut out = Vec::new();
    for (size, threads) in sizes {
        for &t in threads {
            let layouts: &[Layout] = if t > 1 {
                &[Layout::PerFile, Layout::Shared]
            } else {
                &[Layout::PerFile]
            };
            for &layout in layouts {
                let mut cad = cadences.clone();
                // fsync per write: always for one writer (the classic
                // figure), for several only when a policy uses it.
                if t == 1 || plan.fsync {
                    cad.insert(2, Some((SyncPrimitive::Fsync, 1)));
                }
                for &sync in &cad {
                    for placement in [Placement::Append, Placement::OverWritten] {
                        out.push(Pattern {
                            placement,
                            sync,
                            threads: t,
                            layout,
                            size,
                        });
                    }
                }
                if t == 1 {
                    out.push(Pattern {
                        placement: Placement::OverFallocated,
                        sync: Some((SyncPrimitive::Fdatasync, 1)),
                        threads: 1,
                        layout,
                        size,
                    });
                }
            }
        }
    }
    out
}
