//! The one thread that samples at interval edges: the block device's
//! counters and the counting Vfs's syncs, and, under `--until-steady`, the
//! steady-state test over the intervals every client has finished.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

use engines::fs::IoCounters;
use results::{BlockDevice, DeviceStat};

use super::Timeline;

/// The counters read at one interval edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EdgeSample {
    /// File and directory syncs so far (counting Vfs).
    pub syncs: Option<u64>,
    /// The device's counters.
    pub device: Option<DeviceStat>,
}

/// What the sampler reads.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The block device behind `--disk`.
    pub device: Option<&'a BlockDevice>,
    /// The counting Vfs of the engine, where it writes through it.
    pub syncs: Option<&'a IoCounters>,
}

impl Sources<'_> {
    /// One reading now.
    pub fn read(&self) -> EdgeSample {
        EdgeSample {
            syncs: self.syncs.map(IoCounters::syncs),
            device: self.device.and_then(BlockDevice::read),
        }
    }
}

#[derive(Debug, Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

/// The running sampler of one measured phase.
#[derive(Debug)]
pub struct Sampler<'scope> {
    stop: Arc<Stop>,
    handle: ScopedJoinHandle<'scope, (Vec<EdgeSample>, bool)>,
}

impl<'scope> Sampler<'scope> {
    /// Starts sampling in `scope`. `first` is the reading taken at the
    /// phase's start. With `until_steady`, sets `finish` once the intervals
    /// finished so far pass the steady-state test.
    pub fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        timeline: &'env Timeline,
        sources: Sources<'env>,
        first: EdgeSample,
        until_steady: bool,
        finish: &'env AtomicBool,
    ) -> Sampler<'scope> {
        let stop = Arc::new(Stop::default());
        let stop2 = stop.clone();
        let handle = scope.spawn(move || {
            run(
                timeline,
                sources,
                first,
                until_steady.then_some(finish),
                &stop2,
            )
        });
        Sampler { stop, handle }
    }

    /// Stops after one last reading (the phase's end). Returns the
    /// readings, one per edge from the start then the last, and whether
    /// `--until-steady` found the phase steady.
    pub fn stop(self) -> (Vec<EdgeSample>, bool) {
        *self.stop.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.stop.wake.notify_all();
        self.handle.join().unwrap_or_default()
    }
}

fn run(
    timeline: &Timeline,
    sources: Sources<'_>,
    first: EdgeSample,
    finish: Option<&AtomicBool>,
    stop: &Stop,
) -> (Vec<EdgeSample>, bool) {
    let start = timeline.start();
    let interval = Duration::from_nanos(timeline.interval_ns());
    let mut samples = vec![first];
    let mut steady = false;
    loop {
        let edge = start + interval * samples.len() as u32;
        {
            let mut stopped = stop.stopped.lock().unwrap_or_else(|p| p.into_inner());
            loop {
                if *stopped {
                    drop(stopped);
                    samples.push(sources.read());
                    return (samples, steady);
                }
                let now = Instant::now();
                if now >= edge {
                    break;
                }
                stopped = stop
                    .wake
                    .wait_timeout(stopped, edge - now)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        }
        // One reading per edge passed; a late wake repeats it for the
        // edges it missed, so the readings stay one per edge.
        let reading = sources.read();
        let due = (start.elapsed().as_nanos() / interval.as_nanos().max(1)) as usize;
        while samples.len() <= due {
            samples.push(reading);
        }
        if let Some(finish) = finish {
            if !steady && is_steady(timeline, interval) {
                steady = true;
                finish.store(true, Relaxed);
            }
        }
    }
}

/// The steady-state test over the intervals every thread has finished,
/// once there are two windows' worth.
fn is_steady(timeline: &Timeline, interval: Duration) -> bool {
    let ops = timeline.finished_ops();
    if ops.len() < 2 * results::steady::MIN_WINDOW {
        return false;
    }
    let ms = interval.as_secs_f64() * 1e3;
    let spans: Vec<(f64, f64)> = (0..ops.len())
        .map(|i| (i as f64 * ms, (i + 1) as f64 * ms))
        .collect();
    let rates: Vec<f64> = ops.iter().map(|&n| n as f64 * 1e3 / ms).collect();
    results::steady::steady(&spans, &rates) == Some(true)
}
