//! How one figure reads in a table cell: significant digits, intervals
//! (`±`), the spread flag, "x slower than `none`", and `-` for what was not
//! measured (a `0` in a table always means "counted zero").

use results::compare::{IntervalKind, NoiseInterval};
use results::RunRow;

use crate::chart::human;

pub(crate) use results::warnings::SPREAD_FLAG;

/// The flag written next to a figure that should not be trusted as is.
pub(crate) const FLAG: &str = "⚠";

/// `v` with `digits` significant digits, never in exponent form:
/// `sig(0.002634, 2)` = `0.0026`, `sig(835.1, 2)` = `840`, `sig(1.04, 3)` = `1.04`.
pub(crate) fn sig(v: f64, digits: u32) -> String {
    if !v.is_finite() {
        return "-".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let magnitude = v.abs().log10().floor() as i32;
    let decimals = (digits as i32 - 1 - magnitude).max(0) as usize;
    let rounded = if decimals == 0 {
        let unit = 10f64.powi(magnitude + 1 - digits as i32);
        (v / unit).round() * unit
    } else {
        v
    };
    format!("{rounded:.decimals$}")
}

/// An optional figure, or `-` when it was not measured.
pub(crate) fn or_dash<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

/// The interval of a cell's ops/s over repetitions and what it is (as
/// `compare` judges changes: the 95% CI of the median narrowed to the
/// observed min..max, else min..max); `None` for a single repetition.
pub(crate) fn ops_interval(r: &RunRow) -> Option<NoiseInterval> {
    let i = results::compare::ops_interval(r);
    (i.kind != IntervalKind::Single).then_some(i)
}

/// `±4.1%` (half the 95% interval of the median, relative to it), or
/// `(4.9k..5.4k)` where the interval is min..max (no CI, or a CI wider than
/// the observed range); empty for one repetition.
pub(crate) fn plus_minus(r: &RunRow) -> String {
    match ops_interval(r) {
        Some(i) if i.kind == IntervalKind::Ci95 && r.ops_per_sec > 0.0 => {
            format!("±{}%", sig(50.0 * (i.high - i.low) / r.ops_per_sec, 2))
        }
        Some(i) if human(i.low) != human(i.high) => {
            format!("({}..{})", human(i.low), human(i.high))
        }
        _ => String::new(),
    }
}

/// Whether the cell's repetitions spread more than [`SPREAD_FLAG`].
pub(crate) fn spread_flagged(r: &RunRow) -> bool {
    results::warnings::ops_spread(r).is_some_and(|s| s > SPREAD_FLAG)
}

/// ops/s with its interval and the spread flag: `5.2k ±4.1%`, `5.2k ±31% ⚠`.
pub(crate) fn ops_text(r: &RunRow) -> String {
    let mut s = human(r.ops_per_sec);
    let pm = plus_minus(r);
    if !pm.is_empty() {
        s.push(' ');
        s.push_str(&pm);
    }
    if spread_flagged(r) {
        s.push(' ');
        s.push_str(FLAG);
    }
    s
}

/// How a policy's throughput compares with `none` for the same engine:
/// `fraction` = ops/s / ops/s under `none`.
/// `0.0028` -> "about 360x slower than `none`".
pub(crate) fn against_none(fraction: f64) -> String {
    if !fraction.is_finite() || fraction <= 0.0 {
        return "-".into();
    }
    if (0.95..=1.05).contains(&fraction) {
        return "about as fast as `none`".into();
    }
    let (factor, word) = if fraction < 1.0 {
        (1.0 / fraction, "slower")
    } else {
        (fraction, "faster")
    };
    let f = if factor < 10.0 {
        format!("{factor:.1}")
    } else {
        sig(factor, 2)
    };
    format!("about {f}x {word} than `none`")
}

/// Timed operations behind a cell's latency percentiles.
pub(crate) fn timed_ops(r: &RunRow) -> u64 {
    r.ops / u64::from(r.latency_sample_every.unwrap_or(1).max(1))
}

/// Whether `count` timed operations support the percentile `p` (0-100) as
/// a point of a spectrum: the runner's rule ([`results::percentile_supported`]),
/// without the maximum (100), which is not a point of a spectrum.
pub(crate) fn supported(p: f64, count: u64) -> bool {
    p < 100.0 && results::percentile_supported(count, p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(0.002634, 2), "0.0026");
        assert_eq!(sig(835.1, 2), "840");
        assert_eq!(sig(357.14, 2), "360");
        assert_eq!(sig(1.04, 3), "1.04");
        assert_eq!(sig(0.0, 2), "0");
        assert_eq!(sig(12.0, 3), "12.0");
    }

    #[test]
    fn slowdown_words() {
        assert_eq!(against_none(0.0028), "about 360x slower than `none`");
        assert_eq!(against_none(0.5), "about 2.0x slower than `none`");
        assert_eq!(against_none(1.02), "about as fast as `none`");
        assert_eq!(against_none(1.5), "about 1.5x faster than `none`");
    }

    #[test]
    fn intervals_spread_and_flags() {
        let mut r = RunRow {
            ops_per_sec: 5000.0,
            ops_per_sec_min: 4000.0,
            ops_per_sec_max: 5200.0,
            ..Default::default()
        };
        // No CI recorded (an old folder): min..max, spread 0.24 flagged.
        assert_eq!(plus_minus(&r), "(4k..5.2k)");
        assert!(spread_flagged(&r));
        assert_eq!(ops_text(&r), "5k (4k..5.2k) ⚠");
        r.ops_per_sec_ci_low = Some(4900.0);
        r.ops_per_sec_ci_high = Some(5100.0);
        r.ops_per_sec_spread = Some(0.05);
        assert_eq!(ops_text(&r), "5k ±2.0%");
        // One repetition: nothing to add.
        let one = RunRow {
            ops_per_sec: 5000.0,
            ops_per_sec_min: 5000.0,
            ops_per_sec_max: 5000.0,
            ..Default::default()
        };
        assert_eq!(ops_text(&one), "5k");
        assert!(ops_interval(&one).is_none());
    }

    #[test]
    fn percentiles_need_enough_samples() {
        assert!(supported(99.0, 1200));
        assert!(!supported(99.9, 1200));
        assert!(supported(99.9, 5000));
        assert!(!supported(99.99, 10_000));
        assert!(!supported(100.0, 1_000_000));
    }
}
