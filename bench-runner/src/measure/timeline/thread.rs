//! One client thread's part of the timeline: a count and a histogram for
//! the interval it is in, handed to the shared slot at each edge.

use hdrhistogram::Histogram;

use super::Timeline;

/// A client thread's recorder. Per operation it costs an increment, a
/// histogram record (for timed operations) and a comparison with the next
/// edge; it takes the shared lock only when it crosses an edge.
#[derive(Debug)]
pub struct ThreadTimeline<'a> {
    shared: &'a Timeline,
    thread: usize,
    clock: quanta::Clock,
    /// Raw clock reading taken at `base_ns` from the phase's start.
    base_raw: u64,
    base_ns: u64,
    index: usize,
    next_edge_ns: u64,
    /// `next_edge_ns` as a raw clock reading, so that an operation costs a
    /// comparison of two integers, not a conversion to ns.
    next_edge_raw: u64,
    /// Raw clock ticks per ns.
    ticks_per_ns: f64,
    ops: u64,
    hist: Histogram<u64>,
    /// Every latency of the phase so far (the interval's join it at each edge).
    all: Histogram<u64>,
}

impl<'a> ThreadTimeline<'a> {
    pub(super) fn new(shared: &'a Timeline, thread: usize) -> Self {
        let clock = quanta::Clock::new();
        let base_raw = clock.raw();
        let base_ns = shared.start().elapsed().as_nanos() as u64;
        let index = (base_ns / shared.interval_ns()) as usize;
        let probe: u64 = 1 << 40;
        let ticks_per_ns = probe as f64 / clock.delta_as_nanos(0, probe).max(1) as f64;
        let mut t = ThreadTimeline {
            shared,
            thread,
            base_raw,
            base_ns,
            index,
            next_edge_ns: (index as u64 + 1) * shared.interval_ns(),
            next_edge_raw: 0,
            ticks_per_ns,
            clock,
            ops: 0,
            hist: shared.fresh_histogram(),
            all: engines::fs::new_latency_histogram(),
        };
        t.next_edge_raw = t.raw_at(t.next_edge_ns);
        t
    }

    /// The raw reading at `ns` from the phase's start (rounded up).
    fn raw_at(&self, ns: u64) -> u64 {
        let ticks = (ns.saturating_sub(self.base_ns) as f64 * self.ticks_per_ns).ceil();
        self.base_raw.saturating_add(ticks as u64)
    }

    /// The thread's clock (the one raw readings passed in must come from).
    pub fn clock(&self) -> &quanta::Clock {
        &self.clock
    }

    /// Ns from the phase's start at raw reading `raw`.
    #[inline]
    fn ns_at(&self, raw: u64) -> u64 {
        self.base_ns + self.clock.delta_as_nanos(self.base_raw, raw)
    }

    /// The clock read `raw`: crosses every edge before it.
    #[inline]
    pub fn at(&mut self, raw: u64) {
        if raw >= self.next_edge_raw {
            self.cross(raw);
        }
    }

    /// One operation completed (after [`ThreadTimeline::at`] with its end),
    /// timed at `latency_ns` when `Some`.
    #[inline]
    pub fn op(&mut self, latency_ns: Option<u64>) {
        self.ops += 1;
        if let Some(ns) = latency_ns {
            self.hist.saturating_record(ns.max(1));
        }
    }

    #[cold]
    fn cross(&mut self, raw: u64) {
        let ns = self.ns_at(raw);
        let interval = self.shared.interval_ns();
        while ns >= self.next_edge_ns {
            let _ = self.all.add(&self.hist);
            self.shared
                .report(self.thread, self.index, self.ops, &mut self.hist);
            self.ops = 0;
            self.index += 1;
            self.next_edge_ns += interval;
        }
        // Rounding may put the raw edge a tick early: never look back.
        self.next_edge_raw = self.raw_at(self.next_edge_ns).max(raw + 1);
    }

    /// Reports the interval in progress; the thread is done. Returns every
    /// latency it timed in the phase.
    pub fn finish(mut self) -> Histogram<u64> {
        let raw = self.clock.raw();
        self.at(raw);
        let _ = self.all.add(&self.hist);
        self.shared
            .report(self.thread, self.index, self.ops, &mut self.hist);
        // Past its last interval, this thread holds nobody back.
        self.shared.leave(self.thread);
        let ThreadTimeline {
            shared, hist, all, ..
        } = self;
        shared.give_back(hist);
        all
    }
}
