//! The timeline of a measured phase: operations and latency per fixed
//! interval, syncs and device counters at the interval edges, and the
//! engine's maintenance events.
//!
//! The measured path takes no lock and allocates nothing per operation.
//! Each client thread owns a [`ThreadTimeline`]: an operation count and a
//! latency histogram for the interval it is in. When a thread sees that
//! its clock has passed the next edge (on every timed operation, and every
//! 16 operations otherwise), it adds them to the shared slot of that
//! interval under a lock and starts afresh: one lock per thread per
//! interval. A slot's histogram is reduced to its percentiles and handed
//! back for reuse once every thread has moved two intervals past it, so a
//! phase holds a handful of histograms whatever its length.
//!
//! One [`sampler`] thread reads the device and the counting Vfs at every
//! edge, and decides `--until-steady`.

pub mod rows;
mod sampler;
mod thread;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use engines::events::Event;
use hdrhistogram::Histogram;

pub use sampler::{EdgeSample, Sampler, Sources};
pub use thread::ThreadTimeline;

/// The shortest and longest `--interval`.
pub const INTERVAL_RANGE_MS: std::ops::RangeInclusive<u64> = 10..=10_000;
/// The default `--interval`.
pub const DEFAULT_INTERVAL_MS: u64 = 100;

/// The default interval length.
pub fn default_interval() -> Duration {
    Duration::from_millis(DEFAULT_INTERVAL_MS)
}

/// How a cell's timeline is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimelineSettings {
    /// Length of one interval.
    pub interval: Duration,
    /// `--until-steady`: end the measured phase once it is steady, or after
    /// this long.
    pub until_steady: Option<Duration>,
}

impl Default for TimelineSettings {
    fn default() -> Self {
        TimelineSettings {
            interval: default_interval(),
            until_steady: None,
        }
    }
}

/// One interval's figures, all threads together.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct IntervalFigures {
    /// Start, from the start of the measured phase.
    pub start: Duration,
    /// Length (the last interval also holds a tail under half an interval).
    pub len: Duration,
    /// Operations completed.
    pub ops: u64,
    /// Latency percentiles of the operations timed (ns): p50, p99, max;
    /// `None` when none was timed.
    pub latency_ns: Option<(u64, u64, u64)>,
    /// Syncs the counting Vfs saw.
    pub syncs: Option<u64>,
    /// Device bytes written.
    pub device_write_bytes: Option<u64>,
    /// Device flushes completed.
    pub device_flushes: Option<u64>,
}

/// Everything the timeline of one measured phase produced.
#[derive(Debug, Clone, Default)]
pub struct PhaseTimeline {
    /// The intervals, in order.
    pub intervals: Vec<IntervalFigures>,
    /// The engine's events that overlap the phase, with start and end
    /// relative to its start (ms; negative: began before it).
    pub events: Vec<(Event, f64, f64)>,
    /// The interval length.
    pub interval: Duration,
    /// `--until-steady` ended the phase because it was steady.
    pub ended_steady: bool,
}

#[derive(Debug, Default)]
struct Slot {
    ops: u64,
    hist: Option<Histogram<u64>>,
    /// (p50, p99, max) once reduced.
    reduced: Option<(u64, u64, u64)>,
}

#[derive(Debug, Default)]
struct Slots {
    slots: Vec<Slot>,
    /// Histograms handed back for reuse (reset).
    pool: Vec<Histogram<u64>>,
    /// Slots below this index are reduced.
    reduced_below: usize,
}

/// The shared part of a measured phase's timeline.
#[derive(Debug)]
pub struct Timeline {
    start: Instant,
    interval_ns: u64,
    slots: Mutex<Slots>,
    /// Per thread: the index of the interval it is in (all before it are
    /// reported).
    positions: Vec<AtomicUsize>,
}

fn reduce(h: &Histogram<u64>) -> Option<(u64, u64, u64)> {
    (!h.is_empty()).then(|| (h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()))
}

impl Timeline {
    /// A timeline for `threads` client threads of a phase that starts at
    /// `start`, in intervals of `interval`.
    pub fn new(start: Instant, interval: Duration, threads: usize) -> Timeline {
        Timeline {
            start,
            interval_ns: interval.as_nanos().max(1) as u64,
            slots: Mutex::new(Slots::default()),
            positions: (0..threads).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// When the phase started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The interval length in ns.
    pub fn interval_ns(&self) -> u64 {
        self.interval_ns
    }

    /// The recorder of client thread `thread`.
    pub fn thread(&self, thread: usize) -> ThreadTimeline<'_> {
        ThreadTimeline::new(self, thread)
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A reset histogram for a thread's next interval.
    fn fresh_histogram(&self) -> Histogram<u64> {
        self.lock()
            .pool
            .pop()
            .unwrap_or_else(engines::fs::new_latency_histogram)
    }

    /// Thread `thread` finished interval `index` with `ops` operations and
    /// the latencies in `hist` (reset on return). Called at interval edges only.
    fn report(&self, thread: usize, index: usize, ops: u64, hist: &mut Histogram<u64>) {
        let mut s = self.lock();
        if s.slots.len() <= index {
            s.slots.resize_with(index + 1, Slot::default);
        }
        if !hist.is_empty() {
            let spare = s.pool.pop();
            let slot = &mut s.slots[index];
            slot.ops += ops;
            match (&mut slot.reduced, &mut slot.hist) {
                // A thread that lagged two intervals behind reports into
                // a slot already reduced: its latencies widen only max.
                (Some(r), _) => r.2 = r.2.max(hist.max()),
                (None, Some(h)) => {
                    let _ = h.add(&*hist);
                }
                (None, None) => {
                    let mut h = spare.unwrap_or_else(engines::fs::new_latency_histogram);
                    let _ = h.add(&*hist);
                    slot.hist = Some(h);
                }
            }
            hist.reset();
        } else {
            s.slots[index].ops += ops;
        }
        if let Some(p) = self.positions.get(thread) {
            p.store(index + 1, Relaxed);
        }
        // Reduce the slots every thread has left two intervals behind.
        let frontier = self.frontier();
        while s.reduced_below + 2 <= frontier && s.reduced_below < s.slots.len() {
            let i = s.reduced_below;
            if let Some(mut h) = s.slots[i].hist.take() {
                s.slots[i].reduced = reduce(&h);
                h.reset();
                s.pool.push(h);
            }
            s.reduced_below += 1;
        }
    }

    /// Thread `thread` has finished the phase.
    fn leave(&self, thread: usize) {
        if let Some(p) = self.positions.get(thread) {
            p.store(usize::MAX, Relaxed);
        }
    }

    /// A thread's histogram, no longer needed, for reuse.
    fn give_back(&self, mut h: Histogram<u64>) {
        h.reset();
        self.lock().pool.push(h);
    }

    /// The first interval some thread has not finished.
    pub fn frontier(&self) -> usize {
        self.positions
            .iter()
            .map(|p| p.load(Relaxed))
            .min()
            .unwrap_or(0)
    }

    /// Operations of every interval all threads have finished, in order.
    pub fn finished_ops(&self) -> Vec<u64> {
        let frontier = self.frontier();
        let s = self.lock();
        s.slots.iter().take(frontier).map(|x| x.ops).collect()
    }

    /// The intervals of a phase that lasted `elapsed`, with the edge
    /// samples taken at `start + i x interval` (the first at the start).
    pub fn intervals(&self, elapsed: Duration, samples: &[EdgeSample]) -> Vec<IntervalFigures> {
        let mut s = self.lock();
        let interval = Duration::from_nanos(self.interval_ns);
        let full = (elapsed.as_nanos() / u128::from(self.interval_ns)) as usize;
        let tail = elapsed.saturating_sub(interval * full as u32);
        // A tail under half an interval joins the last full interval.
        let (count, fold) = if full > 0 && tail < interval / 2 {
            (full, true)
        } else {
            (full + 1, false)
        };
        if s.slots.len() < count + 1 {
            s.slots.resize_with(count + 1, Slot::default);
        }
        if fold {
            let extra = std::mem::take(&mut s.slots[count]);
            let last = &mut s.slots[count - 1];
            last.ops += extra.ops;
            match (&mut last.hist, extra.hist) {
                (Some(h), Some(e)) => {
                    let _ = h.add(&e);
                }
                (None, Some(e)) if last.reduced.is_none() => last.hist = Some(e),
                (_, Some(e)) => {
                    if let Some(r) = &mut last.reduced {
                        r.2 = r.2.max(e.max());
                    }
                }
                _ => {}
            }
        }
        // Ops reported past the end (a thread's last check) belong to the last.
        let late: u64 = s.slots[count..].iter().map(|x| x.ops).sum();
        if late > 0 && count > 0 {
            s.slots[count - 1].ops += late;
        }
        let sample = |i: usize| samples.get(i);
        (0..count)
            .map(|i| {
                let slot = &s.slots[i];
                let start = interval * i as u32;
                let end = if i + 1 == count {
                    elapsed
                } else {
                    interval * (i + 1) as u32
                };
                let edge_end = if i + 1 == count {
                    samples.len().saturating_sub(1)
                } else {
                    i + 1
                };
                let (a, b) = (sample(i), sample(edge_end).filter(|_| edge_end > i));
                let pair = a.zip(b);
                IntervalFigures {
                    start,
                    len: end.saturating_sub(start),
                    ops: slot.ops,
                    latency_ns: slot.reduced.or_else(|| slot.hist.as_ref().and_then(reduce)),
                    syncs: pair.and_then(|(a, b)| Some(b.syncs?.saturating_sub(a.syncs?))),
                    device_write_bytes: pair.and_then(|(a, b)| {
                        Some(b.device?.write_bytes.saturating_sub(a.device?.write_bytes))
                    }),
                    device_flushes: pair.and_then(|(a, b)| {
                        Some(b.device?.flushes?.saturating_sub(a.device?.flushes?))
                    }),
                }
            })
            .collect()
    }
}

/// The events of `events` that overlap a phase that started at `start`
/// and lasted `elapsed`, with their times relative to `start` (ms).
pub fn relative_events(
    events: Vec<Event>,
    start: Instant,
    elapsed: Duration,
) -> Vec<(Event, f64, f64)> {
    // Microsecond resolution: enough for a chart, short in a CSV.
    let ms = |t: Instant| {
        let ms = match t.checked_duration_since(start) {
            Some(d) => d.as_secs_f64() * 1e3,
            None => -(start.duration_since(t).as_secs_f64() * 1e3),
        };
        (ms * 1e3).round() / 1e3
    };
    let end_ms = elapsed.as_secs_f64() * 1e3;
    events
        .into_iter()
        .map(|e| {
            let (a, b) = (ms(e.start), ms(e.end));
            (e, a, b)
        })
        .filter(|(_, a, b)| *b >= 0.0 && *a <= end_ms)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_threads_fill_the_same_intervals_and_lose_no_operation() {
        let start = Instant::now();
        let tl = Timeline::new(start, Duration::from_millis(20), 2);
        let per_thread: Vec<u64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|t| {
                    let tl = &tl;
                    s.spawn(move || {
                        let mut rec = tl.thread(t);
                        let clock = rec.clock().clone();
                        let mut n = 0;
                        while start.elapsed() < Duration::from_millis(150) {
                            rec.at(clock.raw());
                            rec.op(Some(1_000 + n % 7));
                            n += 1;
                            std::thread::sleep(Duration::from_micros(200));
                        }
                        let all = rec.finish();
                        assert_eq!(all.len(), n, "every latency reaches the phase histogram");
                        n
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let elapsed = start.elapsed();
        let intervals = tl.intervals(elapsed, &[]);
        let expected = (elapsed.as_secs_f64() / 0.020).round() as usize;
        assert_eq!(intervals.len(), expected);
        let ops: u64 = intervals.iter().map(|i| i.ops).sum();
        assert_eq!(ops, per_thread.iter().sum::<u64>());
        assert!(intervals.iter().all(|i| i.latency_ns.is_some()));
        let total: Duration = intervals.iter().map(|i| i.len).sum();
        assert_eq!(total, elapsed, "the intervals cover the phase exactly");
        assert!(intervals
            .iter()
            .all(|i| i.syncs.is_none() && i.device_write_bytes.is_none()));
    }

    #[test]
    fn a_phase_shorter_than_half_an_interval_is_one_interval() {
        let start = Instant::now();
        let tl = Timeline::new(start, Duration::from_millis(100), 1);
        let mut rec = tl.thread(0);
        rec.op(None);
        let _ = rec.finish();
        let iv = tl.intervals(Duration::from_millis(30), &[]);
        assert_eq!(iv.len(), 1);
        assert_eq!(iv[0].ops, 1);
        assert_eq!(iv[0].latency_ns, None, "nothing timed: empty, not 0");
    }
}
