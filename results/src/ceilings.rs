//! The ceiling history of `ceilings.csv`: each pattern's name, its
//! measurements over a run's rounds, and how far they spread. Read by the
//! warnings, the reports and the runner alike.

use crate::CeilingRow;

/// How a `ceilings.csv` pattern reads: `overwrite+fdatasync 137 B (fallocate) x4 per-file`.
pub fn ceiling_name(c: &CeilingRow) -> String {
    let mut s = format!("{} {} B", c.pattern, c.record_bytes);
    if !c.prepared.is_empty() {
        s.push_str(&format!(" ({})", c.prepared));
    }
    if c.threads > 1 {
        s.push_str(&format!(" x{} {}", c.threads, c.layout));
    }
    s
}

/// The patterns of `ceilings.csv` in first-seen order, each with its
/// measurements in round order.
pub fn ceilings_by_pattern(rows: &[CeilingRow]) -> Vec<(String, Vec<&CeilingRow>)> {
    let mut out: Vec<(String, Vec<&CeilingRow>)> = Vec::new();
    for r in rows {
        let name = ceiling_name(r);
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(r),
            None => out.push((name, vec![r])),
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
