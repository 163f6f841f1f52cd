//! The ceiling history of `ceilings.csv`: each pattern's identity, its
//! measurements over a run's rounds, and how far they spread. Read by the
//! warnings, the reports and the runner alike.
//!
//! A pattern is named by a [`PatternId`], made from a `probe.csv` row (the
//! runner, choosing and re-measuring ceilings) or a `ceilings.csv` row (the
//! reports, reading them back): the two must agree for a history to be
//! matched to the probe row it re-measured, so there is one type for both,
//! compared by value, with one way to print it.

use std::fmt;

use crate::{CeilingRow, ProbeRow};

/// Which probe pattern a ceiling is: what was written, how large, how it
/// was prepared, by how many writers and in which layout.
///
/// `Display` reads `overwrite+fdatasync 137 B (fallocate) x4 per-file`:
/// the preparation only for overwrites, the writers and layout only for
/// more than one writer. Equal ids print equally and the other way round:
/// a lone writer's layout does not count, and a row of 0 writers is read
/// as one.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PatternId {
    /// The probe pattern (`append+fdatasync`, `overwrite+fdatasync/8`).
    pub pattern: String,
    /// Bytes per write.
    pub record_bytes: u64,
    /// What was overwritten (`written`, `fallocate`); empty for appends.
    pub prepared: String,
    /// Concurrent writers, at least 1.
    pub writers: u32,
    /// `per-file` or `shared` for several writers; empty for one.
    pub layout: String,
}

impl PatternId {
    fn new(pattern: &str, record_bytes: u64, prepared: &str, writers: u32, layout: &str) -> Self {
        let writers = writers.max(1);
        PatternId {
            pattern: pattern.to_string(),
            record_bytes,
            prepared: prepared.to_string(),
            writers,
            layout: if writers > 1 {
                layout.to_string()
            } else {
                String::new()
            },
        }
    }
}

impl From<&ProbeRow> for PatternId {
    fn from(r: &ProbeRow) -> PatternId {
        PatternId::new(
            &r.pattern,
            r.record_bytes,
            &r.prepared,
            r.threads.unwrap_or(1),
            &r.layout,
        )
    }
}

impl From<&CeilingRow> for PatternId {
    fn from(c: &CeilingRow) -> PatternId {
        PatternId::new(
            &c.pattern,
            c.record_bytes,
            &c.prepared,
            c.threads,
            &c.layout,
        )
    }
}

impl fmt::Display for PatternId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} B", self.pattern, self.record_bytes)?;
        if !self.prepared.is_empty() {
            write!(f, " ({})", self.prepared)?;
        }
        if self.writers > 1 {
            write!(f, " x{} {}", self.writers, self.layout)?;
        }
        Ok(())
    }
}

/// The patterns of `ceilings.csv` in first-seen order, each with its
/// measurements in round order.
pub fn ceilings_by_pattern(rows: &[CeilingRow]) -> Vec<(PatternId, Vec<&CeilingRow>)> {
    let mut out: Vec<(PatternId, Vec<&CeilingRow>)> = Vec::new();
    for r in rows {
        let id = PatternId::from(r);
        match out.iter_mut().find(|(n, _)| *n == id) {
            Some((_, v)) => v.push(r),
            None => out.push((id, vec![r])),
        }
    }
    for (_, v) in &mut out {
        v.sort_by_key(|r| r.round);
    }
    out
}

/// The slowest and fastest measurements of one ceiling (`ceilings_by_pattern`)
/// and the value cells were last held to.
pub fn ceiling_spread(v: &[&CeilingRow]) -> Option<(f64, f64, f64)> {
    let lo = v.iter().map(|r| r.ops_per_sec).reduce(f64::min)?;
    let hi = v.iter().map(|r| r.ops_per_sec).reduce(f64::max)?;
    Some((lo, hi, v.last()?.pooled_ops_per_sec))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(threads: Option<u32>, layout: &str, prepared: &str) -> ProbeRow {
        ProbeRow {
            pattern: "overwrite+fdatasync".into(),
            record_bytes: 137,
            writes_per_sync: 1,
            threads,
            layout: layout.into(),
            prepared: prepared.into(),
            ops_per_sec: 900.0,
            ..ProbeRow::default()
        }
    }

    /// The `ceilings.csv` row the runner writes for a probe row.
    fn history(p: &ProbeRow) -> CeilingRow {
        CeilingRow {
            round: 1,
            pattern: p.pattern.clone(),
            record_bytes: p.record_bytes,
            writes_per_sync: p.writes_per_sync,
            threads: p.threads.unwrap_or(1),
            layout: p.layout.clone(),
            prepared: p.prepared.clone(),
            ops_per_sec: p.ops_per_sec,
            ..CeilingRow::default()
        }
    }

    #[test]
    fn a_probe_row_and_its_ceiling_row_are_one_pattern() {
        for p in [
            probe(Some(4), "per-file", "fallocate"),
            probe(Some(1), "", ""),
            probe(None, "", "written"),
            probe(Some(2), "shared", ""),
        ] {
            let (a, b) = (PatternId::from(&p), PatternId::from(&history(&p)));
            assert_eq!(a, b);
            assert_eq!(a.to_string(), b.to_string());
        }
        assert_eq!(
            PatternId::from(&probe(Some(4), "per-file", "fallocate")).to_string(),
            "overwrite+fdatasync 137 B (fallocate) x4 per-file"
        );
        assert_eq!(
            PatternId::from(&probe(None, "", "")).to_string(),
            "overwrite+fdatasync 137 B"
        );
    }

    #[test]
    fn ids_that_print_alike_are_equal() {
        // One writer: the layout is not part of the name, nor of the id.
        let mut c = history(&probe(Some(1), "", ""));
        c.layout = "per-file".into();
        assert_eq!(PatternId::from(&c), PatternId::from(&probe(None, "", "")));
        c.threads = 0;
        assert_eq!(PatternId::from(&c), PatternId::from(&probe(None, "", "")));
        // Another writer count or layout is another pattern.
        assert_ne!(
            PatternId::from(&probe(Some(2), "shared", "")),
            PatternId::from(&probe(Some(2), "per-file", ""))
        );
    }
}
