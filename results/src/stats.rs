//! The median of repeated measurements and a 95% confidence interval for it.
//!
//! Method (stated in docs/methodology.md, *Repetitions and intervals*):
//!
//! - **6 or more repetitions**: the distribution-free interval from order
//!   statistics. With the values sorted, `[x(k), x(n+1-k)]` covers the true
//!   median with probability `1 - 2 P(B <= k-1)`, `B ~ Binomial(n, 1/2)`;
//!   `k` is the largest index for which that is at least 95%.
//! - **2 to 5 repetitions**: no order-statistic interval reaches 95% (with
//!   3 values, `[min, max]` covers the median only 75% of the time), so
//!   the interval is the normal approximation `median +- t(0.975, n-1) x
//!   1.2533 x s / sqrt(n)` (1.2533 = sqrt(pi/2): the standard error of a
//!   median relative to a mean's, for normal data), clamped at zero.
//! - **1 repetition**: no interval.

/// A latency percentile needs at least this many timed operations above it
/// to be reported (below that it only repeats the largest values).
pub const MIN_TAIL_SAMPLES: f64 = 5.0;

/// Whether `count` timed operations support percentile `p` (0-100): the
/// maximum (100) always, otherwise when at least [`MIN_TAIL_SAMPLES`] lie
/// above it. p99.99 needs 50,000 operations, p99 500.
pub fn percentile_supported(count: u64, p: f64) -> bool {
    p >= 100.0 || count as f64 * (1.0 - p / 100.0) >= MIN_TAIL_SAMPLES - 1e-9
}

/// A 95% confidence interval for the median of repeated measurements
/// ([`median_interval`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianInterval {
    /// Lower end.
    pub low: f64,
    /// Upper end.
    pub high: f64,
}

impl MedianInterval {
    /// Whether two intervals share any point.
    pub fn overlaps(&self, other: &MedianInterval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}

/// The median (mean of the two middle values for an even count); `None`
/// for no values.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Student's t at 0.975 for 1 to 4 degrees of freedom.
const T_975: [f64; 4] = [12.706, 4.303, 3.182, 2.776];

/// `P(B <= k)` for `B ~ Binomial(n, 1/2)`.
fn binomial_cdf_half(n: usize, k: usize) -> f64 {
    let mut c = 1.0f64; // C(n, 0)
    let mut sum = 0.0;
    for i in 0..=k.min(n) {
        if i > 0 {
            c = c * (n + 1 - i) as f64 / i as f64;
        }
        sum += c;
    }
    sum / 2f64.powi(n as i32)
}

/// A 95% confidence interval for the median of `values` (method in the
/// module doc); `None` for fewer than two values.
pub fn median_interval(values: &[f64]) -> Option<MedianInterval> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n < 2 {
        return None;
    }
    if n >= 6 {
        // Largest k with coverage 1 - 2 P(B <= k-1) >= 0.95.
        let mut k = 1;
        while k < n / 2 && 1.0 - 2.0 * binomial_cdf_half(n, k) >= 0.95 {
            k += 1;
        }
        return Some(MedianInterval {
            low: v[k - 1],
            high: v[n - k],
        });
    }
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = T_975[n - 2] * 1.2533 * var.sqrt() / (n as f64).sqrt();
    let m = median(&v)?;
    Some(MedianInterval {
        low: (m - half).max(0.0),
        high: m + half,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6 * b.abs().max(1.0)
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }

    #[test]
    fn binomial_tail() {
        // P(B <= 1), n = 6: (1 + 6) / 64.
        assert!(close(binomial_cdf_half(6, 1), 7.0 / 64.0));
        // P(B <= 0), n = 6: 1 / 64.
        assert!(close(binomial_cdf_half(6, 0), 1.0 / 64.0));
        assert!(close(binomial_cdf_half(5, 5), 1.0));
    }

    #[test]
    fn small_samples_use_t() {
        // 4000, 4200, 4400: mean 4200, s = 200, median 4200.
        // half = 4.303 * 1.2533 * 200 / sqrt(3) = 622.70...
        let i = median_interval(&[4400.0, 4000.0, 4200.0]).unwrap();
        let half = 4.303 * 1.2533 * 200.0 / 3f64.sqrt();
        assert!(close(i.low, 4200.0 - half), "{i:?}");
        assert!(close(i.high, 4200.0 + half), "{i:?}");
        // Two values: t = 12.706, s = |a - b| / sqrt(2).
        let i = median_interval(&[10.0, 12.0]).unwrap();
        let half = 12.706 * 1.2533 * (2f64.sqrt()) / 2f64.sqrt();
        assert!(close(i.high, 11.0 + half), "{i:?}");
        assert_eq!(i.low, 0.0, "clamped at zero: {i:?}");
        // Identical values: a zero-width interval.
        let i = median_interval(&[5.0, 5.0, 5.0]).unwrap();
        assert_eq!((i.low, i.high), (5.0, 5.0));
    }

    #[test]
    fn large_samples_use_order_statistics() {
        // n = 6: k = 1 (coverage 1 - 2/64 = 0.969; k = 2 would give 0.78).
        let v: Vec<f64> = (1..=6).map(f64::from).collect();
        let i = median_interval(&v).unwrap();
        assert_eq!((i.low, i.high), (1.0, 6.0));
        // n = 10: P(B <= 1) = 11/1024 -> k = 2 covers 0.979; P(B <= 2) = 56/1024 -> k = 3 covers 0.891.
        let v: Vec<f64> = (1..=10).map(f64::from).collect();
        let i = median_interval(&v).unwrap();
        assert_eq!((i.low, i.high), (2.0, 9.0));
        // n = 20: P(B <= 5) = 0.0207 -> k = 6 covers 0.9586; k = 7 would cover 0.885.
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        let i = median_interval(&v).unwrap();
        assert_eq!((i.low, i.high), (6.0, 15.0));
    }

    #[test]
    fn no_interval_for_one_value() {
        assert_eq!(median_interval(&[1.0]), None);
        assert_eq!(median_interval(&[]), None);
    }

    #[test]
    fn percentiles_need_tail_samples() {
        assert!(!percentile_supported(1200, 99.99));
        assert!(percentile_supported(1200, 100.0));
        assert!(percentile_supported(500, 99.0));
        assert!(!percentile_supported(499, 99.0));
        assert!(percentile_supported(50_000, 99.99));
        assert!(percentile_supported(10, 50.0));
    }

    #[test]
    fn overlap() {
        let a = MedianInterval {
            low: 1.0,
            high: 2.0,
        };
        assert!(a.overlaps(&MedianInterval {
            low: 2.0,
            high: 3.0
        }));
        assert!(!a.overlaps(&MedianInterval {
            low: 2.1,
            high: 3.0
        }));
    }
}
