//! Stalls and steadiness of one cell repetition's timeline.
//!
//! - **Stall**: a run of consecutive intervals whose ops/s is below
//!   [`STALL_FRACTION`] of the median interval's. Its length is the sum of
//!   those intervals' lengths.
//! - **Cause**: every engine event that overlaps the stall by at least a
//!   quarter of the stall (or, if none does, the one that overlaps it most)
//!   names it; a stall no event overlaps is `unexplained`.
//! - **Interval CV**: standard deviation / mean of the per-interval ops/s.
//! - **Steady** (in the spirit of fio's `ss=iops_slope`): the last half of
//!   the cell is the window. The slope of its throughput against time
//!   must not drift by more than [`STEADY_DRIFT`] of its mean across the
//!   window: `|slope| x window / mean <= 0.10` (fio's `iops_slope:1%`
//!   over a 10 s window). The slope is Theil-Sen's, the median of the
//!   slopes between every pair of samples, where fio fits least squares:
//!   one odd sample cannot swing it. The samples are the intervals,
//!   except when the window holds stalls enough to cut it into
//!   [`MIN_CYCLES`] or more whole stall cycles (from the end of one stall
//!   to the end of the next): then each cycle's mean ops/s is one sample,
//!   so that stalls that recur at a fixed rate make a steady cell and
//!   stalls that grow do not. A cell that stalled (in the window or
//!   before it) is steady only when its window holds that many cycles:
//!   nothing shows before whether its stalls recur at a fixed rate, or
//!   whether a stall-free window is just shorter than their period. A window of fewer than [`MIN_WINDOW`] intervals cannot be
//!   judged (empty).

use crate::timeline::{EventRow, TimelineRow};

/// A stall is an interval below this fraction of the median interval.
pub const STALL_FRACTION: f64 = 0.10;
/// The largest drift of the fitted throughput across the window, as a
/// fraction of the window's mean, that still counts as steady.
pub const STEADY_DRIFT: f64 = 0.10;
/// Fewest intervals in the window (the last half) to judge steadiness.
pub const MIN_WINDOW: usize = 10;
/// Fewest whole stall cycles for the cycle-based test.
pub const MIN_CYCLES: usize = 3;

/// One stall: consecutive intervals below the stall threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Stall {
    /// Start, from the start of the measured phase.
    pub start_ms: f64,
    /// End.
    pub end_ms: f64,
    /// What overlapped it (`compaction L0->L1`), or empty.
    pub causes: Vec<String>,
}

impl Stall {
    /// Its length.
    pub fn len_ms(&self) -> f64 {
        self.end_ms - self.start_ms
    }
}

/// What the timeline of one repetition says beyond its averages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Steadiness {
    /// The stalls, in time order.
    pub stalls: Vec<Stall>,
    /// Standard deviation / mean of per-interval ops/s; empty for fewer
    /// than two intervals or a zero mean.
    pub interval_cv: Option<f64>,
    /// Whether the last half passes the steady-state test; empty when it
    /// is too short to judge.
    pub steady: Option<bool>,
}

impl Steadiness {
    /// Analyses one repetition's intervals (in time order) and the events
    /// its engine reported.
    pub fn of(intervals: &[TimelineRow], events: &[EventRow]) -> Steadiness {
        let rates: Vec<f64> = intervals.iter().map(|r| r.ops_per_sec).collect();
        let mut stalls = find_stalls(intervals);
        for s in &mut stalls {
            s.causes = causes(s, events);
        }
        let spans: Vec<(f64, f64)> = intervals
            .iter()
            .map(|r| (r.t_ms, r.t_ms + r.interval_ms))
            .collect();
        Steadiness {
            stalls,
            interval_cv: cv(&rates),
            steady: steady(&spans, &rates),
        }
    }

    /// Number of stalls.
    pub fn stall_count(&self) -> u32 {
        self.stalls.len() as u32
    }

    /// The longest stall (0 without stalls).
    pub fn longest_stall_ms(&self) -> f64 {
        self.stalls.iter().map(Stall::len_ms).fold(0.0, f64::max)
    }

    /// Stalls by cause, `cause=stalls` joined by `;`, most frequent first
    /// (`compaction L0->L1=3;unexplained=1`); empty without stalls.
    pub fn causes_summary(&self) -> String {
        let mut counts: Vec<(String, u32)> = Vec::new();
        for s in &self.stalls {
            let names: Vec<String> = if s.causes.is_empty() {
                vec!["unexplained".into()]
            } else {
                s.causes.clone()
            };
            for n in names {
                match counts.iter_mut().find(|(c, _)| *c == n) {
                    Some((_, k)) => *k += 1,
                    None => counts.push((n, 1)),
                }
            }
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        counts
            .iter()
            .map(|(c, k)| format!("{c}={k}"))
            .collect::<Vec<_>>()
            .join(";")
    }
}

/// The median of `xs` (0 when empty).
fn median(xs: &[f64]) -> f64 {
    let mut v: Vec<f64> = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Runs of intervals below [`STALL_FRACTION`] of the median interval.
pub fn find_stalls(intervals: &[TimelineRow]) -> Vec<Stall> {
    let rates: Vec<f64> = intervals.iter().map(|r| r.ops_per_sec).collect();
    let threshold = STALL_FRACTION * median(&rates);
    let mut stalls: Vec<Stall> = Vec::new();
    let mut open: Option<Stall> = None;
    for r in intervals {
        if threshold > 0.0 && r.ops_per_sec < threshold {
            let end = r.t_ms + r.interval_ms;
            match &mut open {
                Some(s) => s.end_ms = end,
                None => {
                    open = Some(Stall {
                        start_ms: r.t_ms,
                        end_ms: end,
                        causes: Vec::new(),
                    })
                }
            }
        } else if let Some(s) = open.take() {
            stalls.push(s);
        }
    }
    stalls.extend(open);
    stalls
}

/// The events that overlap `stall` enough to name it (see the module doc).
fn causes(stall: &Stall, events: &[EventRow]) -> Vec<String> {
    let overlap =
        |e: &EventRow| (e.end_ms.min(stall.end_ms) - e.start_ms.max(stall.start_ms)).max(0.0);
    let mut hits: Vec<(f64, String)> = events
        .iter()
        .map(|e| (overlap(e), e.cause()))
        .filter(|(o, _)| *o > 0.0)
        .collect();
    hits.sort_by(|a, b| b.0.total_cmp(&a.0));
    let enough = 0.25 * stall.len_ms();
    let mut names: Vec<String> = Vec::new();
    for (i, (o, name)) in hits.iter().enumerate() {
        if (i == 0 || *o >= enough) && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Coefficient of variation of `rates`.
pub fn cv(rates: &[f64]) -> Option<f64> {
    if rates.len() < 2 {
        return None;
    }
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return None;
    }
    let var = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    Some(var.sqrt() / mean)
}

/// Samples above which the interval test merges neighbours first, so
/// the pairwise slopes stay cheap at short intervals and long cells.
const MAX_SAMPLES: usize = 200;

/// The Theil-Sen slope of `ys` against `xs`: the median of the slopes
/// between every pair of samples, which one odd sample cannot swing (a
/// least-squares fit over five stall cycles moved by 40% for one cycle
/// the machine slowed down in).
fn slope(xs: &[f64], ys: &[f64]) -> f64 {
    let mut slopes = Vec::with_capacity(xs.len() * xs.len() / 2);
    for i in 0..xs.len() {
        for j in i + 1..xs.len() {
            let dx = xs[j] - xs[i];
            if dx > 0.0 {
                slopes.push((ys[j] - ys[i]) / dx);
            }
        }
    }
    median(&slopes)
}

/// Merges neighbouring samples (time-weighted) down to at most `max`.
fn coarsen(spans: &[(f64, f64)], rates: &[f64], max: usize) -> (Vec<f64>, Vec<f64>) {
    let per = spans.len().div_ceil(max.max(1)).max(1);
    spans
        .chunks(per)
        .zip(rates.chunks(per))
        .map(|(s, r)| {
            let (t0, t1) = (s[0].0, s[s.len() - 1].1);
            let ops: f64 = s.iter().zip(r).map(|((a, b), r)| (b - a) * r).sum();
            ((t0 + t1) / 2.0, ops / (t1 - t0).max(f64::MIN_POSITIVE))
        })
        .unzip()
}

/// The steady-state test of the module doc over intervals `spans`
/// (`(start_ms, end_ms)`, in order) with throughputs `rates`.
pub fn steady(spans: &[(f64, f64)], rates: &[f64]) -> Option<bool> {
    let n = spans.len().min(rates.len());
    let from = n / 2;
    if n - from < MIN_WINDOW {
        return None;
    }
    // Stalls are judged against the whole cell's median, as in `find_stalls`.
    let threshold = STALL_FRACTION * median(&rates[..n]);
    let stalled_before = rates[..from]
        .iter()
        .any(|&r| threshold > 0.0 && r < threshold);
    let (spans, rates) = (&spans[from..n], &rates[from..n]);
    let window_ms = spans[spans.len() - 1].1 - spans[0].0;
    let weighted: f64 = spans.iter().zip(rates).map(|((a, b), r)| (b - a) * r).sum();
    let mean = weighted / window_ms.max(f64::MIN_POSITIVE);
    if mean <= 0.0 {
        return Some(false);
    }
    let (xs, ys) = match cycle_samples(spans, rates, threshold) {
        Cycles::Whole(xs, ys) => (xs, ys),
        // Stalls, but too few to tell whether they recur at a fixed rate.
        Cycles::TooFew => return Some(false),
        // A window without the stalls the cell had before it may just be
        // shorter than their period: not yet steady.
        Cycles::NoStalls if stalled_before => return Some(false),
        Cycles::NoStalls => coarsen(spans, rates, MAX_SAMPLES),
    };
    let drift = slope(&xs, &ys).abs() * window_ms / mean;
    Some(drift <= STEADY_DRIFT)
}

/// The stall cycles of a window.
enum Cycles {
    /// No stall in the window.
    NoStalls,
    /// Stalls, but fewer than [`MIN_CYCLES`] whole cycles between them.
    TooFew,
    /// One sample per whole cycle: (midpoints, mean ops/s).
    Whole(Vec<f64>, Vec<f64>),
}

/// One sample per whole stall cycle of the window (see the module doc).
fn cycle_samples(spans: &[(f64, f64)], rates: &[f64], threshold: f64) -> Cycles {
    // Index just past each stall's last interval (a stall still running at
    // the end of the window has not ended).
    let stalled = |j: usize| threshold > 0.0 && rates[j] < threshold;
    let ends: Vec<usize> = (0..rates.len().saturating_sub(1))
        .filter(|&i| stalled(i) && !stalled(i + 1))
        .map(|i| i + 1)
        .collect();
    if ends.len() < MIN_CYCLES + 1 {
        let any = (0..rates.len()).any(stalled);
        return if any {
            Cycles::TooFew
        } else {
            Cycles::NoStalls
        };
    }
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for w in ends.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (t0, t1) = (spans[a].0, spans[b - 1].1);
        let ops: f64 = (a..b).map(|i| rates[i] * (spans[i].1 - spans[i].0)).sum();
        xs.push((t0 + t1) / 2.0);
        ys.push(ops / (t1 - t0));
    }
    Cycles::Whole(xs, ys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(rates: &[f64]) -> Vec<TimelineRow> {
        rates
            .iter()
            .enumerate()
            .map(|(i, r)| TimelineRow {
                t_ms: i as f64 * 100.0,
                interval_ms: 100.0,
                ops_per_sec: *r,
                ..TimelineRow::default()
            })
            .collect()
    }

    fn event(kind: &str, detail: &str, start_ms: f64, end_ms: f64) -> EventRow {
        EventRow {
            kind: kind.into(),
            detail: detail.into(),
            start_ms,
            end_ms,
            ..EventRow::default()
        }
    }

    /// `period` intervals, the last `pause` of them near zero.
    fn periodic(n: usize, period: usize, pause: usize) -> Vec<f64> {
        (0..n)
            .map(|i| {
                if i % period >= period - pause {
                    50.0
                } else {
                    10_000.0
                }
            })
            .collect()
    }

    #[test]
    fn stalls_are_runs_below_a_tenth_of_the_median_and_named_by_their_events() {
        let mut r = vec![1000.0; 30];
        r[5] = 50.0;
        r[6] = 0.0;
        r[20] = 99.0;
        r[25] = 101.0; // just above the threshold of 100
        let events = [
            event("compaction", "L0->L1 in=1 out=1", 480.0, 720.0),
            event("rotation", "seg-2", 650.0, 651.0),
        ];
        let s = Steadiness::of(&rows(&r), &events);
        assert_eq!(s.stall_count(), 2);
        assert_eq!((s.stalls[0].start_ms, s.stalls[0].end_ms), (500.0, 700.0));
        assert_eq!(s.stalls[0].causes, vec!["compaction L0->L1".to_string()]);
        assert!(s.stalls[1].causes.is_empty());
        assert_eq!(s.longest_stall_ms(), 200.0);
        assert_eq!(s.causes_summary(), "compaction L0->L1=1;unexplained=1");
    }

    #[test]
    fn a_flat_timeline_is_steady_and_a_declining_one_is_not() {
        let flat: Vec<f64> = (0..40).map(|i| 1000.0 + (i % 3) as f64 * 10.0).collect();
        assert_eq!(Steadiness::of(&rows(&flat), &[]).steady, Some(true));
        let falling: Vec<f64> = (0..40).map(|i| 2000.0 - 30.0 * i as f64).collect();
        assert_eq!(Steadiness::of(&rows(&falling), &[]).steady, Some(false));
        assert_eq!(Steadiness::of(&rows(&flat[..15]), &[]).steady, None);
    }

    #[test]
    fn periodic_stalls_are_steady_whatever_their_phase_and_growing_ones_are_not() {
        for shift in 0..10 {
            let mut r = periodic(120, 10, 3);
            r.rotate_left(shift);
            assert_eq!(
                Steadiness::of(&rows(&r), &[]).steady,
                Some(true),
                "shift {shift}"
            );
        }
        // The pause grows by one interval every cycle.
        let mut growing = Vec::new();
        for pause in 1..9 {
            growing.extend(std::iter::repeat_n(10_000.0, 6));
            growing.extend(std::iter::repeat_n(0.0, pause));
        }
        assert_eq!(Steadiness::of(&rows(&growing), &[]).steady, Some(false));
        // Enough whole cycles in the window, each pause a little longer.
        let mut slow = Vec::new();
        for k in 0..16 {
            slow.extend(std::iter::repeat_n(10_000.0, 12));
            slow.extend(std::iter::repeat_n(0.0, 2 + k / 3));
        }
        let n = slow.len();
        let threshold = STALL_FRACTION * median(&slow);
        let spans: Vec<(f64, f64)> = (0..n).map(|i| (i as f64, i as f64 + 1.0)).collect();
        assert!(matches!(
            cycle_samples(&spans[n / 2..], &slow[n / 2..], threshold),
            Cycles::Whole(..)
        ));
        assert_eq!(Steadiness::of(&rows(&slow), &[]).steady, Some(false));
        // A stall in the first half and a flat second half: the window may
        // be shorter than the stalls' period.
        let mut early = vec![1000.0; 40];
        early[5] = 0.0;
        assert_eq!(Steadiness::of(&rows(&early), &[]).steady, Some(false));
        // One stall in an otherwise flat window: too few to call it steady.
        let mut one = vec![1000.0; 40];
        one[30] = 0.0;
        assert_eq!(Steadiness::of(&rows(&one), &[]).steady, Some(false));
    }

    #[test]
    fn cv_is_empty_for_too_few_intervals() {
        assert_eq!(cv(&[5.0]), None);
        assert!(cv(&[1.0, 1.0, 1.0]).unwrap().abs() < 1e-12);
    }
}
