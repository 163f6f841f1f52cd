//! HdrHistogram percentile-distribution files (`.hgrm`), the text format of
//! HdrHistogram's `outputPercentileDistribution`, readable by its plotting
//! tools. Values are recorded in nanoseconds and written in microseconds.

use std::fmt::Write as _;
use std::path::Path;

use hdrhistogram::Histogram;

use crate::{files::write_durably, Error, Result};

/// Percentiles reported in the CSV files (100 = max).
pub const PERCENTILES: &[f64] = &[50.0, 90.0, 99.0, 99.9, 99.99, 99.999, 100.0];

/// Writes `hist` (nanoseconds) as an `.hgrm` file in microseconds.
pub fn write_hgrm(path: &Path, hist: &Histogram<u64>) -> Result<()> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>12} {:>14} {:>10} {:>14}\n",
        "Value", "Percentile", "TotalCount", "1/(1-Percentile)"
    );
    if hist.is_empty() {
        let _ = writeln!(
            out,
            "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
            0.0, 0.0
        );
        let _ = writeln!(
            out,
            "#[Max     = {:>12.3}, Total count    = {:>12}]",
            0.0, 0
        );
    } else {
        let mut cumulative = 0u64;
        for v in hist.iter_quantiles(5) {
            cumulative += v.count_since_last_iteration();
            let q = v.quantile_iterated_to();
            let value_us = v.value_iterated_to() as f64 / 1000.0;
            if q < 1.0 {
                let _ = writeln!(
                    out,
                    "{value_us:>12.3} {q:>14.12} {cumulative:>10} {:>14.2}",
                    1.0 / (1.0 - q)
                );
            } else {
                let _ = writeln!(out, "{value_us:>12.3} {q:>14.12} {cumulative:>10}");
            }
        }
        let _ = writeln!(
            out,
            "#[Mean    = {:>12.3}, StdDeviation   = {:>12.3}]",
            hist.mean() / 1000.0,
            hist.stdev() / 1000.0
        );
        let _ = writeln!(
            out,
            "#[Max     = {:>12.3}, Total count    = {:>12}]",
            hist.max() as f64 / 1000.0,
            hist.len()
        );
    }
    let _ = writeln!(
        out,
        "#[Buckets = {:>12}, SubBuckets     = {:>12}]",
        hist.buckets(),
        hist.distinct_values()
    );
    write_durably(path, out.as_bytes())
}

/// Parses an `.hgrm` file into (percentile 0-100, value in microseconds).
pub fn parse_hgrm(path: &Path) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        op: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    let mut points = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with("Value") {
            continue;
        }
        let mut cols = line.split_whitespace();
        let (Some(v), Some(q)) = (cols.next(), cols.next()) else {
            continue;
        };
        let (Ok(v), Ok(q)) = (v.parse::<f64>(), q.parse::<f64>()) else {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                reason: format!("line {}: not a percentile row: {line}", n + 1),
            });
        };
        points.push((q * 100.0, v));
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_reads_back_percentiles() {
        let t = tempfile::tempdir().unwrap();
        let mut h = Histogram::<u64>::new(3).unwrap();
        for i in 1..=10_000u64 {
            h.record(i * 1000).unwrap();
        }
        let p = t.path().join("x.hgrm");
        write_hgrm(&p, &h).unwrap();
        let pts = parse_hgrm(&p).unwrap();
        assert!(pts.len() > 20);
        let median = pts.iter().find(|(q, _)| *q >= 50.0).unwrap().1;
        assert!((median - 5000.0).abs() < 50.0, "{median}");
        assert_eq!(pts.last().unwrap().0, 100.0);
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("#[Max     ="));
    }
}
