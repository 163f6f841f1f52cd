//! A background maintenance thread (merge, flush, compaction) woken on
//! request, shared by the engines that have one.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::{Error, Result};

#[derive(Debug, Default)]
struct State {
    requested: bool,
    stopping: bool,
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
        lock(&self.state).requested = true;
        self.wake.notify_all();
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

    /// Waits for a request; false when stopping.
    fn wait(&self) -> bool {
        let mut s = lock(&self.state);
        while !s.requested && !s.stopping {
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        s.requested = false;
        !s.stopping
    }
}

/// Starts a thread that runs `job` on every request until stopped. A
/// failing job stops the thread; its error is kept in the signal and makes
/// later writes fail (the engine's files may be in an unknown state).
pub fn spawn(
    name: String,
    signal: Arc<Signal>,
    mut job: impl FnMut() -> Result<()> + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(move || {
            while signal.wait() {
                if let Err(e) = job() {
                    *lock(&signal.error) = Some(format!("{name} failed: {e}"));
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

    /// Stops the thread and waits for it.
    pub fn stop(&self) {
        self.signal.stop();
        if let Some(h) = lock(&self.handle).take() {
            let _ = h.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}
