//! A background maintenance thread (merge, flush, compaction) woken on
//! request, shared by the engines that have one.
//!
//! Background work never dies silently: a job that fails, and a job that
//! panics, both leave their cause in the [`Signal`], and every later write
//! checks it ([`Signal::check`]) and fails with [`Error::Poisoned`]. A panic
//! is caught by a guard on the thread's stack ([`PoisonOnPanic`], after
//! fjall's `PoisonDart`): its `Drop` runs on every way out of the thread and
//! asks [`std::thread::panicking`]. [`Worker::stop`] reports a thread that
//! panicked instead of ignoring its join result.
//!
//! A worker asked for work at a steady, short cadence (the applier of
//! [`crate::deferred`], woken at every sync) is *eager*
//! ([`Signal::eager`]): between requests it yields the CPU instead of
//! sleeping, for up to twice the last gap between requests (at most
//! [`EAGER_WINDOW`]), so a request finds it awake and costs the requester
//! one atomic store instead of a cross-CPU wake-up (on this VM a futex
//! wake of a sleeping thread cost the writer ~12 µs per sync, 5.7% of its
//! samples). RocksDB's write thread yields the same way before it blocks
//! (`enable_write_thread_adaptive_yield`). When requests stop coming it
//! sleeps as any other worker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest an eager worker yields between requests before it sleeps.
pub const EAGER_WINDOW: Duration = Duration::from_micros(500);

use crate::{Error, Result};

#[derive(Debug, Default)]
struct State {
    requested: bool,
    stopping: bool,
    /// The worker sleeps on `wake` (only then does a request notify it).
    sleeping: bool,
}

/// Wakes a worker and carries its first error back to the writers.
#[derive(Debug, Default)]
pub struct Signal {
    state: Mutex<State>,
    wake: Condvar,
    error: Mutex<Option<String>>,
    /// `state.requested`, polled without the lock by an eager worker; on
    /// a cache line of its own, so the writers' [`Signal::check`] (a lock
    /// of `error`) does not take the line from under the polling worker.
    requested: CacheLine<AtomicBool>,
    /// Yield between requests instead of sleeping (module doc).
    eager: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Signal {
    /// A signal for a worker requested at a steady, short cadence: it
    /// yields between requests instead of sleeping (module doc).
    pub fn eager() -> Self {
        Signal {
            eager: true,
            ..Signal::default()
        }
    }

    /// Asks the worker to run its job (again).
    pub fn request(&self) {
        self.requested.store(true, Ordering::Release);
        let mut s = lock(&self.state);
        s.requested = true;
        if s.sleeping {
            drop(s);
            self.wake.notify_all();
        }
    }

    /// Asks the worker to stop after its current job.
    pub fn stop(&self) {
        let mut s = lock(&self.state);
        s.stopping = true;
        drop(s);
        self.wake.notify_all();
    }

    /// The error that stopped the worker, if any (reported once).
    pub fn check(&self) -> Result<()> {
        match lock(&self.error).as_ref() {
            Some(e) => Err(Error::Poisoned { cause: e.clone() }),
            None => Ok(()),
        }
    }

    fn set_error(&self, cause: String) {
        lock(&self.error).get_or_insert(cause);
    }

    /// Waits for a request; false when stopping. `cadence` is the worker's
    /// own record of when it was last requested (for an eager worker).
    fn wait(&self, cadence: &mut Cadence) -> bool {
        if self.eager {
            let window = cadence.window();
            let start = Instant::now();
            while !self.requested.load(Ordering::Acquire) && start.elapsed() < window {
                std::thread::yield_now();
            }
        }
        let mut s = lock(&self.state);
        while !s.requested && !s.stopping {
            s.sleeping = true;
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
            s.sleeping = false;
        }
        s.requested = false;
        self.requested.store(false, Ordering::Release);
        cadence.requested();
        !s.stopping
    }
}

/// A value alone on its cache line (128 bytes: two lines, for the
/// adjacent-line prefetcher).
#[derive(Debug, Default)]
#[repr(align(128))]
struct CacheLine<T>(T);

impl<T> std::ops::Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// When an eager worker was last requested, and the gap before that.
#[derive(Debug)]
struct Cadence {
    last: Option<Instant>,
    gap: Duration,
}

impl Cadence {
    fn new() -> Self {
        Cadence {
            last: None,
            gap: Duration::MAX,
        }
    }

    /// How long to yield for the next request: twice the last gap while
    /// that is within [`EAGER_WINDOW`], else nothing.
    fn window(&self) -> Duration {
        if self.gap > EAGER_WINDOW {
            Duration::ZERO
        } else {
            (self.gap * 2).min(EAGER_WINDOW)
        }
    }

    fn requested(&mut self) {
        let now = Instant::now();
        self.gap = self.last.map_or(Duration::MAX, |l| now - l);
        self.last = Some(now);
    }
}

/// Lives on a worker thread's stack; if the thread unwinds from a panic,
/// its `Drop` poisons the signal, so the engine refuses writes instead of
/// going on without its maintenance.
#[derive(Debug)]
pub struct PoisonOnPanic {
    name: String,
    signal: Arc<Signal>,
}

impl PoisonOnPanic {
    /// A guard for the thread `name` that poisons `signal`.
    pub fn new(name: String, signal: Arc<Signal>) -> Self {
        PoisonOnPanic { name, signal }
    }
}

impl Drop for PoisonOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.signal
                .set_error(format!("{} panicked (see stderr)", self.name));
        }
    }
}

/// Starts a thread that runs `job` on every request until stopped. A
/// failing or panicking job stops the thread; its cause is kept in the
/// signal and makes later writes fail (the engine's files may be in an
/// unknown state).
pub fn spawn(
    name: String,
    signal: Arc<Signal>,
    mut job: impl FnMut() -> Result<()> + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            let _guard = PoisonOnPanic::new(name.clone(), signal.clone());
            let mut cadence = Cadence::new();
            while signal.wait(&mut cadence) {
                if let Err(e) = job() {
                    signal.set_error(format!("{name} failed: {e}"));
                    return;
                }
            }
        })
}

/// A running worker and its signal; stops and joins on drop.
#[derive(Debug, Default)]
pub struct Worker {
    /// The signal the engine uses to request work.
    pub signal: Arc<Signal>,
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl Worker {
    /// Attaches a spawned thread.
    pub fn new(signal: Arc<Signal>, handle: Option<JoinHandle<()>>) -> Self {
        Worker {
            signal,
            handle: Mutex::new(handle),
        }
    }

    /// Stops the thread and waits for it. Fails with [`Error::Poisoned`]
    /// when the thread panicked (now or earlier) or its job failed.
    pub fn stop(&self) -> Result<()> {
        self.signal.stop();
        if let Some(h) = lock(&self.handle).take() {
            if let Err(payload) = h.join() {
                let what = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".to_string());
                self.signal
                    .set_error(format!("maintenance thread panicked: {what}"));
            }
        }
        self.signal.check()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // The outcome stays in the signal; a drop has no one to report to.
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_job_poisons_the_signal_and_stop_reports_it() {
        let signal = Arc::new(Signal::default());
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let r = ran.clone();
        let handle = spawn("test worker".into(), signal.clone(), move || {
            r.store(true, std::sync::atomic::Ordering::SeqCst);
            panic!("injected panic in a maintenance job")
        })
        .unwrap();
        let worker = Worker::new(signal.clone(), Some(handle));
        assert!(signal.check().is_ok());
        signal.request();
        // A stop requested before the job starts would win; wait for it.
        while !ran.load(std::sync::atomic::Ordering::SeqCst) {
            std::thread::yield_now();
        }
        let err = worker.stop().unwrap_err();
        assert!(matches!(err, Error::Poisoned { .. }), "{err}");
        assert!(matches!(signal.check(), Err(Error::Poisoned { .. })));
    }

    #[test]
    fn a_clean_stop_is_ok() {
        let signal = Arc::new(Signal::default());
        let handle = spawn("test worker".into(), signal.clone(), || Ok(())).unwrap();
        let worker = Worker::new(signal.clone(), Some(handle));
        signal.request();
        worker.stop().unwrap();
        assert!(signal.check().is_ok());
    }
}
