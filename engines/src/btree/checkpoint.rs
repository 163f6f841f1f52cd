//! [`Checkpointer`]: writes a begun checkpoint's pages while writers go on
//! (InnoDB's page cleaners, PostgreSQL's checkpointer).
//!
//! A checkpoint is begun under the tree's and the WAL's locks ([`super::Btree`]): the
//! active WAL generation is sealed and the next one started, and the
//! pager takes the dirty pages and the meta page as they are
//! ([`Pager::begin_checkpoint`](super::pager::Pager::begin_checkpoint)).
//! That costs no I/O but the seal's sync. Then [`Checkpointer::run`]
//! writes the pages through the doublewrite file, taking the lock only to
//! encode a few dozen pages at a time, and finishes: the pages become
//! evictable, and the WAL generations the checkpoint covers are retired.
//!
//! Who runs it:
//! - with background threads, the `btree checkpoint` thread, woken when a
//!   write begins a checkpoint: the writer goes on at once;
//! - whoever needs the checkpoint finished first ([`Checkpointer::settle`]):
//!   the next checkpoint, an explicit sync, `maintain` and close. They run
//!   it themselves if no thread has claimed it yet, else wait. A writer
//!   that has to wait records a write stall.
//!
//! Without background threads (the crash simulator's trials, the
//! deterministic tests), a checkpoint begun by a write is written only when
//! the next one is due, or at a sync, `maintain` or close: the longest
//! interleaving the thread could produce, so the crash suite runs writes,
//! reads and crashes while a checkpoint is in flight.
//!
//! Recovery needs nothing new: until the meta page of the checkpoint is in
//! the data file, that file holds the previous checkpoint (or the
//! doublewrite copy completes the new one), and every generation newer
//! than the one its meta page records is still on disk and replayed.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::pager::{self, Flight};
use super::{lock, LogState, State};
use crate::events::EventKind;
use crate::fs::EngineDir;
use crate::syncer::Syncer;
use crate::worker::Signal;
use crate::{Error, Result};

/// A begun checkpoint, kept in the engine's state until it is finished.
#[derive(Debug)]
pub(super) struct InFlight {
    pub flight: Arc<Flight>,
    /// A thread is writing it.
    pub claimed: bool,
    /// Why writing it failed: the engine is poisoned, and the checkpoint
    /// is never finished (recovery on reopen repairs).
    pub failed: Option<String>,
}

impl InFlight {
    pub fn new(flight: Flight) -> Self {
        InFlight {
            flight: Arc::new(flight),
            claimed: false,
            failed: None,
        }
    }
}

/// What writing a checkpoint needs, shared with the checkpoint thread.
#[derive(Debug, Clone)]
pub(super) struct Checkpointer {
    pub state: Arc<Mutex<State>>,
    /// The redo log, whose covered generations a finished checkpoint
    /// retires (taken after `state`).
    pub log: Arc<Mutex<LogState>>,
    /// Notified when a checkpoint is finished or failed.
    pub done: Arc<Condvar>,
    pub syncer: Arc<Syncer>,
    pub dir: EngineDir,
    pub checkpoints: Arc<AtomicU64>,
    /// The checkpoint thread's signal, if there is one: a waiter gives up
    /// when it died.
    pub thread: Option<Arc<Signal>>,
}

enum Next {
    Done,
    Failed(String),
    Run,
    Wait,
}

/// Marks the claimed checkpoint failed if its writer unwinds from a panic,
/// so that no one waits for it for ever, and poisons the syncer, so that
/// writes fail (the data file may hold half a checkpoint).
struct ClaimGuard<'a>(&'a Checkpointer);

impl Drop for ClaimGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let cause = "the thread writing a checkpoint panicked";
            if let Some(f) = lock(&self.0.state).flight.as_mut() {
                f.failed = Some(cause.into());
            }
            self.0.syncer.poison(&Error::Poisoned {
                cause: cause.into(),
            });
            self.0.done.notify_all();
        }
    }
}

impl Checkpointer {
    /// Writes and finishes the checkpoint in flight, unless there is none
    /// or another thread is writing it. A failure poisons the engine.
    pub fn run(&self) -> Result<()> {
        let (flight, data, dwb) = {
            let mut s = lock(&self.state);
            let Some(f) = s
                .flight
                .as_mut()
                .filter(|f| !f.claimed && f.failed.is_none())
            else {
                return Ok(());
            };
            f.claimed = true;
            let flight = f.flight.clone();
            let (data, dwb) = s.tree.pager.flight_files();
            (flight, data, dwb)
        };
        let _unwinding = ClaimGuard(self);
        let policy = self.syncer.policy();
        let mut span = self.dir.events().begin(EventKind::Checkpoint);
        span.detail(|| format!("pages={} gen={}", flight.pages(), flight.gen));
        let written = flight.write((&data, &dwb), policy, |ids, out| {
            lock(&self.state).tree.pager.flight_entries(ids, out)
        });
        let mut s = lock(&self.state);
        let result = written.and_then(|w| {
            s.tree.pager.finish_checkpoint(&flight, w);
            // Under `none` the pages are unsynced: owed to an explicit
            // sync, and synced before the covered WAL is removed
            // (`EngineDir::remove_all`).
            self.dir.owe(pager::DATA);
            lock(&self.log).wal.retire_through(flight.gen)
        });
        match &result {
            Ok(()) => {
                s.flight = None;
                s.pages_unsynced |= !policy.syncs_data();
                self.checkpoints.fetch_add(1, Relaxed);
            }
            Err(e) => {
                self.syncer.poison(e);
                if let Some(f) = s.flight.as_mut() {
                    f.failed = Some(e.to_string());
                }
            }
        }
        drop(s);
        self.done.notify_all();
        result
    }

    /// What to do about the checkpoint in flight, if it is `current` (any
    /// one when `None`).
    fn next(&self, s: &State, current: Option<&Arc<Flight>>) -> Next {
        match &s.flight {
            None => Next::Done,
            Some(f) if current.is_some_and(|c| !Arc::ptr_eq(c, &f.flight)) => Next::Done,
            Some(f) => match &f.failed {
                Some(cause) => Next::Failed(cause.clone()),
                None if !f.claimed => Next::Run,
                None => Next::Wait,
            },
        }
    }

    fn wait<'a>(&'a self, s: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        if let Some(signal) = &self.thread {
            signal.check()?;
        }
        Ok(match self.done.wait_timeout(s, Duration::from_millis(50)) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        })
    }

    /// Returns `s` once no checkpoint is in flight: writes it in this
    /// thread if no other thread claimed it, else waits for that thread.
    /// For sync, `maintain` and close, which need it finished.
    pub fn settle<'a>(&'a self, mut s: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        loop {
            match self.next(&s, None) {
                Next::Done => return Ok(s),
                Next::Failed(cause) => return Err(Error::Poisoned { cause }),
                Next::Run => {
                    drop(s);
                    self.run()?;
                    s = lock(&self.state);
                }
                Next::Wait => s = self.wait(s)?,
            }
        }
    }

    /// For a writer that found the next checkpoint due while one is in
    /// flight: returns `s` once that one is finished (recording a write
    /// stall), so the writer can look again. With a checkpoint thread the
    /// writer leaves the writing to it; without one it writes it itself.
    pub fn wait_for_flight<'a>(
        &'a self,
        mut s: MutexGuard<'a, State>,
    ) -> Result<MutexGuard<'a, State>> {
        let Some(current) = s.flight.as_ref().map(|f| f.flight.clone()) else {
            return Ok(s);
        };
        let since = Instant::now();
        loop {
            match self.next(&s, Some(&current)) {
                Next::Done => break,
                Next::Failed(cause) => return Err(Error::Poisoned { cause }),
                Next::Run if self.thread.is_none() => {
                    drop(s);
                    self.run()?;
                    s = lock(&self.state);
                }
                Next::Run | Next::Wait => s = self.wait(s)?,
            }
        }
        if self.thread.is_some() {
            self.dir
                .events()
                .record_since(EventKind::WriteStall, since, || {
                    "the previous checkpoint is still being written".into()
                });
        }
        Ok(s)
    }
}
