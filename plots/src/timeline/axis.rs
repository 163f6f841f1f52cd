//! The y axis every panel of a chart over time shares: logarithmic when
//! the values span more than [`LOG_SCALE_ABOVE`], with non-positive values
//! on its floor; linear from 0 otherwise.

use crate::chart::LOG_SCALE_ABOVE;

/// The shared y axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct YScale {
    pub log: bool,
    /// Bottom of the axis (on a log axis, the floor values at or below
    /// zero are drawn at).
    pub lo: f64,
    pub hi: f64,
    /// Values drawn at the floor of a log axis because they are not
    /// positive.
    pub floored: usize,
}

impl YScale {
    /// Log when the positive values span more than [`LOG_SCALE_ABOVE`]
    /// (smallest positive vs largest), linear from 0 otherwise.
    pub(crate) fn of(values: &[f64]) -> YScale {
        let finite = values.iter().copied().filter(|v| v.is_finite());
        let (min, max) = finite
            .clone()
            .filter(|v| *v > 0.0)
            .fold((f64::INFINITY, 0f64), |(a, b), v| (a.min(v), b.max(v)));
        if max <= 0.0 {
            return YScale {
                log: false,
                lo: 0.0,
                hi: 1.0,
                floored: 0,
            };
        }
        if max / min > LOG_SCALE_ABOVE {
            let lo = 10f64.powf(min.log10().floor());
            let hi = 10f64.powf((max * 1.05).log10().ceil());
            YScale {
                log: true,
                lo,
                hi,
                floored: finite.filter(|v| *v <= 0.0).count(),
            }
        } else {
            YScale {
                log: false,
                lo: 0.0,
                hi: nice_ceil(max * 1.08),
                floored: 0,
            }
        }
    }

    /// Height fraction (0 bottom, 1 top) of `v`, clamped to the axis.
    pub(super) fn frac(&self, v: f64) -> f64 {
        let f = if self.log {
            if v <= 0.0 {
                0.0
            } else {
                (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
            }
        } else {
            (v - self.lo) / (self.hi - self.lo)
        };
        f.clamp(0.0, 1.0)
    }

    /// Tick values for an axis `px` pixels high: decades on a log axis
    /// (with 2 and 5 when there is room for them), 1-2-5 steps on a
    /// linear one.
    pub(super) fn ticks(&self, px: i32) -> Vec<f64> {
        if self.log {
            let room = (px / 22).max(2) as usize;
            let (a, b) = (
                self.lo.log10().round() as i32,
                self.hi.log10().round() as i32,
            );
            let decades = (b - a).max(1) as usize;
            let mults: &[f64] = if decades * 3 <= room {
                &[1.0, 2.0, 5.0]
            } else {
                &[1.0]
            };
            let every = decades.div_ceil(room.max(1)).max(1) as i32;
            let mut t = Vec::new();
            for e in (a..=b).filter(|e| (e - a) % every == 0) {
                for m in mults {
                    let v = m * 10f64.powi(e);
                    if v <= self.hi * 1.0001 {
                        t.push(v);
                    }
                }
            }
            t
        } else {
            linear_ticks(self.lo, self.hi, (px / 36).max(2) as usize)
        }
    }
}

/// The smallest 1, 2 or 5 x 10^k at or above `v`.
fn nice_ceil(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|c| *c >= v * 0.9999)
        .unwrap_or(10.0 * e)
}

/// Ticks from `lo` to `hi` at a 1-2-5 step, at most `room` + 1 of them.
pub(super) fn linear_ticks(lo: f64, hi: f64, room: usize) -> Vec<f64> {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / room.max(1) as f64;
    let e = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * e)
        .find(|s| *s >= raw * 0.9999)
        .unwrap_or(10.0 * e);
    let mut t = Vec::new();
    let mut i = (lo / step).ceil() as i64;
    while (i as f64) * step <= hi + step * 1e-6 {
        t.push(i as f64 * step);
        i += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_turns_logarithmic_only_beyond_thirty_times() {
        let s = YScale::of(&[100.0, 200.0, 3000.0]);
        assert!(!s.log, "exactly 30x stays linear");
        assert_eq!(s.lo, 0.0);
        assert!(s.hi >= 3000.0);
        let s = YScale::of(&[100.0, 3001.0]);
        assert!(s.log);
        assert_eq!((s.lo, s.hi), (100.0, 10_000.0));
        // Zeros do not count towards the span and do not break a linear
        // axis, which starts at 0 anyway.
        let s = YScale::of(&[0.0, 100.0, 200.0]);
        assert!(!s.log);
        assert_eq!(s.floored, 0);
    }

    #[test]
    fn zeros_on_a_log_axis_sit_on_the_floor_and_are_counted() {
        let s = YScale::of(&[0.0, 0.0, 40.0, 50_000.0, f64::NAN]);
        assert!(s.log);
        assert_eq!(s.lo, 10.0);
        assert_eq!(s.floored, 2);
        assert_eq!(s.frac(0.0), 0.0);
        assert_eq!(s.frac(10.0), 0.0);
        assert!((s.frac(1000.0) - 0.5).abs() < 1e-9, "{}", s.frac(1000.0));
        // Nothing positive at all: a linear axis, nothing to floor.
        let s = YScale::of(&[0.0, 0.0]);
        assert!(!s.log);
        assert_eq!((s.lo, s.hi), (0.0, 1.0));
    }

    #[test]
    fn ticks_stay_on_the_axis_and_thin_out_on_small_panels() {
        let s = YScale::of(&[5.0, 200_000.0]);
        let t = s.ticks(70);
        assert!(t.iter().all(|v| *v >= s.lo && *v <= s.hi), "{t:?}");
        assert!(t.len() <= 4, "{t:?}");
        // Every decade once there is room for it.
        assert_eq!(s.ticks(140).len(), 7, "{:?}", s.ticks(140));
        let t = YScale::of(&[50.0, 2000.0]).ticks(240);
        assert!(t.contains(&200.0) && t.contains(&500.0), "{t:?}");
        let t = linear_ticks(0.0, 2.2, 5);
        assert_eq!(t, vec![0.0, 0.5, 1.0, 1.5, 2.0]);
    }
}
