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

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::{Error, Result};

#[derive(Debug, Default)]
struct State {
    requested: bool,
    stopping: bool,
    /// The worker waits on `wake`: only then does a request notify it (a
    /// notify is a futex syscall, paid by the requester).
    sleeping: bool,
}

/// Wakes a worker and carries its first error back to the writers.
#[derive(Debug, Default)]
pub struct Signal {
    state: Mutex<State>,
    wake: Condvar,
    error: Mutex<Option<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Signal {
    /// Asks the worker to run its job (again).
    pub fn request(&self) {
        let mut s = lock(&self.state);
        s.requested = true;
        if s.sleeping {
            drop(s);
            self.wake.notify_all();
        }
    }

    /// Asks the worker to stop after its current job.
    pub fn stop(&self) {
        lock(&self.state).stopping = true;
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

    /// Waits for a request; false when stopping.
    fn wait(&self) -> bool {
        let mut s = lock(&self.state);
        while !s.requested && !s.stopping {
            s.sleeping = true;
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
            s.sleeping = false;
        }
        s.requested = false;
        !s.stopping
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
            while signal.wait() {
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
