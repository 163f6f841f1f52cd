//! When a difference between two runs' figures is a change and when it is
//! noise: each figure gets the interval its repetitions support, and two
//! figures differ only when their intervals do not overlap.

use std::fmt;

use crate::RunRow;

/// What a [`NoiseInterval`] is made of, from the best-founded to the
/// least. `Display` gives the name `compare.csv`'s `interval` column uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntervalKind {
    /// The 95% confidence interval of the median (`ci95`).
    Ci95,
    /// That interval narrowed to the observed min..max
    /// (`ci95 within min..max`).
    Ci95WithinRange,
    /// min..max over repetitions (`min..max`).
    Range,
    /// One repetition: the figure alone, a point (`none`).
    Single,
}

impl IntervalKind {
    /// The name in `compare.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            IntervalKind::Ci95 => "ci95",
            IntervalKind::Ci95WithinRange => "ci95 within min..max",
            IntervalKind::Range => "min..max",
            IntervalKind::Single => "none",
        }
    }
}

impl std::str::FromStr for IntervalKind {
    type Err = String;

    /// The kind a `compare.csv` name stands for.
    fn from_str(s: &str) -> Result<IntervalKind, String> {
        [
            IntervalKind::Ci95,
            IntervalKind::Ci95WithinRange,
            IntervalKind::Range,
            IntervalKind::Single,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| format!("`{s}` is not a kind of interval"))
    }
}

impl fmt::Display for IntervalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The range a figure of repeated measurements may take by chance alone:
/// a change against another figure counts only outside it. Not always a
/// confidence interval ([`crate::MedianInterval`] is one); `kind` says
/// what it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoiseInterval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
    /// What the interval is made of.
    pub kind: IntervalKind,
}

impl NoiseInterval {
    /// A point: the figure of a single repetition.
    pub fn point(v: f64) -> NoiseInterval {
        NoiseInterval {
            low: v,
            high: v,
            kind: IntervalKind::Single,
        }
    }

    /// Whether the two intervals share a point.
    pub fn overlaps(&self, other: &NoiseInterval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// The interval of a cell's ops/s: the 95% CI of the median, else
/// min..max, else the median alone.
pub fn ops_interval(r: &RunRow) -> NoiseInterval {
    interval(
        r.ops_per_sec,
        r.ops_per_sec_ci_low.zip(r.ops_per_sec_ci_high),
        (r.ops_per_sec_min, r.ops_per_sec_max),
    )
}

/// The interval of a cell's p99 latency, chosen as for ops/s.
pub fn p99_interval(r: &RunRow) -> NoiseInterval {
    interval(
        r.p99_us,
        r.p99_us_ci_low.zip(r.p99_us_ci_high),
        (r.p99_us_min, r.p99_us_max),
    )
}

/// The 95% CI of the median where recorded, narrowed to the observed
/// min..max: with 3 repetitions the normal-approximation CI (t = 4.3) runs
/// far past anything measured, often down to 0, and would call a 30x
/// difference noise. Else min..max, else the median alone.
fn interval(median: f64, ci: Option<(f64, f64)>, (min, max): (f64, f64)) -> NoiseInterval {
    let range = max > min && min <= median && median <= max;
    match ci {
        Some((low, high)) if low <= high && low.is_finite() && high.is_finite() => {
            if range && (low < min || high > max) {
                NoiseInterval {
                    low: low.max(min),
                    high: high.min(max),
                    kind: IntervalKind::Ci95WithinRange,
                }
            } else {
                NoiseInterval {
                    low,
                    high,
                    kind: IntervalKind::Ci95,
                }
            }
        }
        _ if range => NoiseInterval {
            low: min,
            high: max,
            kind: IntervalKind::Range,
        },
        _ => NoiseInterval::point(median),
    }
}

/// `up` / `down` when the intervals do not overlap, else `within noise`.
pub(crate) fn change(this: NoiseInterval, base: NoiseInterval, up: &str, down: &str) -> String {
    if this.overlaps(&base) {
        "within noise".into()
    } else if this.low > base.high {
        up.into()
    } else {
        down.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_from_their_compare_csv_names() {
        for k in [
            IntervalKind::Ci95,
            IntervalKind::Ci95WithinRange,
            IntervalKind::Range,
            IntervalKind::Single,
        ] {
            assert_eq!(k.to_string().parse::<IntervalKind>(), Ok(k));
        }
        assert_eq!(IntervalKind::Single.to_string(), "none");
        assert!("".parse::<IntervalKind>().is_err());
    }
}
