//! [`Combiner`]: under `group`, one writer appends and syncs for many.
//!
//! Group commit shares a sync between the writers that wait on it, but
//! each writer still takes the engine's write lock to append its own
//! record. When the work under that lock is more than a few microseconds
//! (a B-tree descends and edits a page), the writers a sync released pass
//! the lock one by one, each handoff waking a sleeping thread, and on a
//! small machine that chain, not the disk, sets the pace: at 16 writers on
//! 2 cores the btree spent about 370 µs a group, four times its sync, with
//! the processors half idle.
//!
//! A combiner queues each writer's operation instead. The first writer to
//! find no leader becomes one: it appends what is queued, and goes on
//! appending what arrives until as many operations are in its batch as in
//! its predecessor's (the group the last sync released, coming back) or
//! one recent commit time has passed; then it commits the last ticket through
//! the [`crate::syncer::Syncer`] (one sync) and wakes the followers, which
//! sleep until their batch is done and return its result. Each append is
//! the engine's: under its lock, every record of the chunk in one write,
//! then applied. This is LevelDB's and RocksDB's write group
//! (`BuildBatchGroup`), with the gathering of [`crate::syncer`]'s group
//! commit.
//!
//! While it waits for the group, the leader yields the processor instead
//! of sleeping: the writers it waits for need the processor to come back,
//! and a leader that sleeps idles it, and on a virtual machine an idle
//! processor halts and takes tens of microseconds to wake (MySQL's redo
//! log writer spins for the same reason; the figures are in
//! docs/measurements.md).
//!
//! The wait is bounded by the recent commit time, as in the syncer's
//! gathering. A first version bounded it by the whole previous batch,
//! gathering included: in read-mostly mixes, where writers come back
//! slowly, each long gather lengthened the next one's deadline, and
//! read-mostly mixes ran below the uncombined engines
//! (docs/measurements.md).
//!
//! Every engine writes a put or delete this way under `group`; the wal's
//! explicit multi-record batches, which replay all or nothing, append
//! directly.
//!
//! An operation is acknowledged only when its batch's commit returned
//! `Ok`. A failed append fails the operations of its chunk (the engine
//! cut it off the log, or poisoned itself), and a failed commit every
//! operation appended in the batch, each with a copy of the error.
//!
//! Engines write through [`Combiner::write`], which owns the rule that
//! only `group` combines: `always` promises a sync per write, and `none`
//! and `batch:N` have no sync to share.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Acquire, Ordering::Release};
use std::sync::{Mutex, MutexGuard};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::record::{self, Record};
use crate::syncer::Ticket;
use crate::{Error, Result, SyncMode};

/// One queued write: an owned key, and the value (`None` deletes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// The key.
    pub key: Vec<u8>,
    /// The value, or `None` for a delete.
    pub value: Option<Vec<u8>>,
}

impl Op {
    /// Copies a write for the queue.
    pub fn new(key: &[u8], value: Option<&[u8]>) -> Self {
        Op {
            key: key.to_vec(),
            value: value.map(<[u8]>::to_vec),
        }
    }
}

/// A write an engine's batch path accepts: a queued [`Op`] or the caller's
/// own slices.
pub trait WriteOp {
    /// The key.
    fn key(&self) -> &[u8];
    /// The value, or `None` for a delete.
    fn value(&self) -> Option<&[u8]>;
    /// What the caller asked to store: key and value bytes.
    fn user_bytes(&self) -> u64 {
        (self.key().len() + self.value().map_or(0, <[u8]>::len)) as u64
    }
}

/// Replaces `buf`'s contents with `ops` encoded as one run of records
/// numbered from `first_seq`, each carrying `generation` when given (see
/// [`record::encode_into_generation`]): what an engine appends to its log
/// for one batch.
pub fn encode_ops<W: WriteOp>(
    buf: &mut Vec<u8>,
    ops: &[W],
    first_seq: u64,
    generation: Option<u64>,
) {
    buf.clear();
    for (seq, op) in (first_seq..).zip(ops) {
        record::encode_into_generation(
            buf,
            &Record {
                seq,
                key: op.key(),
                value: op.value(),
                batch_continues: false,
            },
            generation,
        );
    }
}

impl WriteOp for Op {
    fn key(&self) -> &[u8] {
        &self.key
    }
    fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
}

impl WriteOp for (&[u8], Option<&[u8]>) {
    fn key(&self) -> &[u8] {
        self.0
    }
    fn value(&self) -> Option<&[u8]> {
        self.1
    }
}

/// An engine's write path, as [`Combiner::write`] drives it.
pub trait Log {
    /// Appends `ops` with one write under the engine's lock and applies
    /// them: their ticket, still to be committed. On an error none of them
    /// is acknowledged (the engine cut them off its log, or poisoned
    /// itself).
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket>;
    /// Makes everything up to `ticket` as durable as the policy asks: the
    /// engine's [`crate::syncer::Syncer`] with the file to sync.
    fn commit_ticket(&self, ticket: Ticket) -> Result<()>;
}

/// The error of a failed batch, kept for the followers in it.
#[derive(Debug)]
struct Failure {
    /// Operation ids `start..end` were in the batch.
    start: u64,
    end: u64,
    error: Error,
    /// Followers that have not read it yet.
    unread: usize,
}

#[derive(Debug)]
struct State {
    queue: Vec<Op>,
    /// The thread that queued each operation of `queue`.
    threads: Vec<Thread>,
    /// The id the next queued operation gets.
    next_id: u64,
    /// A leader is gathering or running a batch.
    leader: bool,
    /// Operations the previous batch took.
    want: usize,
    /// Moving average of a batch's commit (its sync): the longest a leader
    /// waits for its group. Not the whole batch: a wait counted in its own
    /// deadline would grow with every slow group.
    commit_time: Duration,
    failures: Vec<Failure>,
}

/// Combines concurrent writes into batches (see the module doc).
#[derive(Debug)]
pub struct Combiner {
    state: Mutex<State>,
    /// Every operation with an id below this one is done.
    done: AtomicU64,
    /// Operations queued so far (`State::next_id`), watched by a leader
    /// that waits for more.
    queued: AtomicU64,
    /// Some batch failed and not all its followers have read the error:
    /// a woken follower whose batch is done returns `Ok` without the lock
    /// unless this is set.
    failed: AtomicBool,
    /// The policy is `group`: the only one that combines.
    combines: bool,
}

impl Combiner {
    /// A combiner for an engine under `mode`. Only `group` combines:
    /// `always` promises a sync per write, and `none` and `batch:N` have no
    /// sync to share, so under them [`Combiner::write`] appends and commits
    /// in the calling thread.
    pub fn new(mode: SyncMode) -> Self {
        Combiner {
            combines: mode == SyncMode::Group,
            state: Mutex::new(State {
                queue: Vec::new(),
                threads: Vec::new(),
                next_id: 0,
                leader: false,
                want: 1,
                commit_time: Duration::ZERO,
                failures: Vec::new(),
            }),
            done: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            failed: AtomicBool::new(false),
        }
    }
}

/// A leader's batch: the operations it took so far (ids `first..end`), the
/// threads that queued them, and the chunks that failed. Dropped without
/// [`Batch::finish`] (the engine panicked), it fails every operation it
/// took, so that followers never wait for a leader that is gone.
struct Batch<'a> {
    combiner: &'a Combiner,
    first: u64,
    end: u64,
    threads: Vec<Thread>,
    /// Ranges of ids `(start, end)` whose append succeeded.
    appended: Vec<(u64, u64)>,
    failures: Vec<Failure>,
    leader_id: u64,
    finished: bool,
}

impl Batch<'_> {
    /// Records that ids `start..end` failed with `error`.
    fn fail(&mut self, start: u64, end: u64, error: Error) {
        let unread = (end - start) as usize - usize::from((start..end).contains(&self.leader_id));
        self.failures.push(Failure {
            start,
            end,
            error,
            unread,
        });
    }

    /// Publishes the outcome: failures for the followers, the done mark,
    /// the leadership given up; then wakes the followers and the thread
    /// heading the queue (the next leader).
    fn finish(mut self, took: Option<Duration>) {
        self.finished = true;
        self.publish(took);
    }

    fn publish(&mut self, took: Option<Duration>) {
        let combiner = self.combiner;
        let mut st = combiner.lock();
        let failures = std::mem::take(&mut self.failures);
        st.failures
            .extend(failures.into_iter().filter(|f| f.unread > 0));
        combiner.failed.store(!st.failures.is_empty(), Release);
        if let Some(time) = took {
            st.want = ((self.end - self.first) as usize).max(1);
            st.commit_time = (st.commit_time * 7 + time) / 8;
        }
        combiner.done.fetch_max(self.end, Release);
        st.leader = false;
        let next = st.threads.first().cloned();
        drop(st);
        let me = thread::current().id();
        for t in self.threads.iter().chain(&next) {
            if t.id() != me {
                t.unpark();
            }
        }
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        if !self.finished {
            let error = Error::Poisoned {
                cause: "a writer panicked while appending a group of writes".into(),
            };
            self.failures.clear();
            self.fail(self.first, self.end, error);
            self.publish(None);
        }
    }
}

impl Combiner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// One put (`Some` value) or delete through `log`: under `group`
    /// queued and combined with the other writers' ([`Combiner::submit`]),
    /// under any other policy appended and committed by this thread.
    pub fn write<L: Log>(&self, log: &L, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        if !self.combines {
            return log.commit_ticket(log.append_ops(&[(key, value)])?);
        }
        self.submit(Op::new(key, value), &|ops| log.append_ops(ops), &|ticket| {
            log.commit_ticket(ticket)
        })
    }

    /// Queues `op` and returns once it is appended and committed, or has
    /// failed: as a follower, or as the leader (module doc). The leader
    /// calls `append` on each chunk of the queue it takes (the engine
    /// appends and applies the chunk, or fails it whole, and returns the
    /// chunk's ticket), then `commit` once with the last ticket.
    pub fn submit(
        &self,
        op: Op,
        append: &dyn Fn(&[Op]) -> Result<Ticket>,
        commit: &dyn Fn(Ticket) -> Result<()>,
    ) -> Result<()> {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        st.queue.push(op);
        st.threads.push(thread::current());
        self.queued.store(st.next_id, Release);
        while st.leader {
            // Followers sleep until the leader that finishes their batch,
            // or the one before it (when this operation heads the queue),
            // wakes them: each by itself, so that they need not all pass
            // through the lock on the way out.
            drop(st);
            thread::park();
            if self.done.load(Acquire) > id {
                if !self.failed.load(Acquire) {
                    return Ok(());
                }
                return self.outcome(id);
            }
            st = self.lock();
        }
        if self.done.load(Acquire) > id {
            drop(st);
            return self.outcome(id);
        }
        // Lead: this thread's own operation is still queued (a leader
        // takes the whole queue, and none was taken since it was pushed).
        st.leader = true;
        let started = Instant::now();
        let deadline = started + st.commit_time;
        let want = st.want as u64;
        let first = st.next_id - st.queue.len() as u64;
        let mut batch = Batch {
            combiner: self,
            first,
            end: first,
            threads: Vec::new(),
            appended: Vec::new(),
            failures: Vec::new(),
            leader_id: id,
            finished: false,
        };
        let mut ticket = None;
        loop {
            if !st.queue.is_empty() {
                // Append what has arrived while the rest gathers.
                let chunk = std::mem::take(&mut st.queue);
                batch.threads.append(&mut st.threads);
                let (start, end) = (batch.end, st.next_id);
                batch.end = end;
                drop(st);
                match append(&chunk) {
                    Ok(t) => {
                        ticket = Some(t);
                        batch.appended.push((start, end));
                    }
                    Err(e) => batch.fail(start, end, e),
                }
                st = self.lock();
                continue;
            }
            let now = Instant::now();
            if batch.end - first >= want || now >= deadline {
                break;
            }
            // Wait for the group the previous batch released to come back,
            // yielding the processor to it rather than sleeping (module doc).
            let seen = st.next_id;
            drop(st);
            while self.queued.load(Acquire) == seen && Instant::now() < deadline {
                thread::yield_now();
            }
            st = self.lock();
        }
        drop(st);
        let committing = Instant::now();
        if let Err(e) = ticket.map_or(Ok(()), commit) {
            for (start, end) in std::mem::take(&mut batch.appended) {
                batch.fail(start, end, duplicate(&e));
            }
        }
        #[cfg(any(test, feature = "broken-variants"))]
        if broken::leader_counts_after_commit() {
            // Broken on purpose (see `broken`): everything queued by now,
            // not what this batch appended, is marked done.
            batch.end = self.lock().next_id;
        }
        // The leader's own result: its chunk's failure, else the commit's.
        let mine = match batch
            .failures
            .iter()
            .position(|f| (f.start..f.end).contains(&id))
        {
            Some(i) if batch.failures[i].unread == 0 => Err(batch.failures.swap_remove(i).error),
            Some(i) => Err(duplicate(&batch.failures[i].error)),
            None => Ok(()),
        };
        batch.finish(Some(committing.elapsed()));
        mine
    }

    /// A follower's result: the error of its batch, if that failed.
    fn outcome(&self, id: u64) -> Result<()> {
        let mut st = self.lock();
        let Some(i) = st
            .failures
            .iter()
            .position(|f| (f.start..f.end).contains(&id))
        else {
            return Ok(());
        };
        let failure = &mut st.failures[i];
        failure.unread -= 1;
        if failure.unread == 0 {
            let error = st.failures.swap_remove(i).error;
            self.failed.store(!st.failures.is_empty(), Release);
            Err(error)
        } else {
            Err(duplicate(&failure.error))
        }
    }
}

/// Deliberately broken variants, for tests of the crash checker only: a
/// checker that cannot catch them proves nothing. Each is off unless a test
/// switches it on, and only for the thread that switched it on.
#[cfg(any(test, feature = "broken-variants"))]
pub mod broken {
    use std::cell::Cell;

    thread_local! {
        static LEADER_COUNTS_AFTER_COMMIT: Cell<bool> = const { Cell::new(false) };
    }

    /// While on, a group leader running on this thread reads how many
    /// operations were queued *after* its commit (its sync) returned, and
    /// marks all of them done: a write queued while the sync ran is
    /// acknowledged though that sync did not cover it (it was not even
    /// appended yet). The correct leader counts only what it appended
    /// before committing.
    pub fn set_leader_counts_after_commit(on: bool) {
        LEADER_COUNTS_AFTER_COMMIT.with(|c| c.set(on));
    }

    pub(super) fn leader_counts_after_commit() -> bool {
        LEADER_COUNTS_AFTER_COMMIT.with(Cell::get)
    }
}

/// A copy of `e` for another writer of the same batch: the same variant
/// and message (an I/O error keeps its OS code, so a full disk is still
/// recognised as one).
fn duplicate(e: &Error) -> Error {
    match e {
        Error::Io { op, path, source } => Error::Io {
            op,
            path: path.clone(),
            source: match source.raw_os_error() {
                Some(code) => io::Error::from_raw_os_error(code),
                None => io::Error::new(source.kind(), source.to_string()),
            },
        },
        Error::Corrupt {
            file,
            offset,
            reason,
        } => Error::Corrupt {
            file: file.clone(),
            offset: *offset,
            reason: reason.clone(),
        },
        Error::TooLarge { what, size, limit } => Error::TooLarge {
            what,
            size: *size,
            limit: *limit,
        },
        Error::Closed => Error::Closed,
        Error::Poisoned { cause } => Error::Poisoned {
            cause: cause.clone(),
        },
        other => Error::Poisoned {
            cause: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{SyncMode, SyncPolicy};
    use crate::syncer::Syncer;
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

    fn disk_full() -> Error {
        Error::io("write", "/d/log", io::Error::from_raw_os_error(28))
    }

    /// 8 writers whose commits take 2 ms: every operation is appended
    /// exactly once, and a failed append or
    /// commit fails exactly the operations it covered, each with its error
    /// (a full disk stays one).
    #[test]
    fn writers_share_commits_and_their_errors() {
        let combiner = Combiner::new(SyncMode::Group);
        let syncer = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        let appended = AtomicUsize::new(0);
        let appends = AtomicUsize::new(0);
        let commits = AtomicUsize::new(0);
        // Operations appended since the last commit, and how many of
        // them each failure should fail.
        let pending = AtomicUsize::new(0);
        let expected_failures = AtomicUsize::new(0);
        let append_failed = AtomicUsize::new(0);
        let append = |ops: &[Op]| -> Result<Ticket> {
            if appends.fetch_add(1, Relaxed) == 30 {
                expected_failures.fetch_add(ops.len(), Relaxed);
                append_failed.fetch_add(ops.len(), Relaxed);
                return Err(disk_full());
            }
            appended.fetch_add(ops.len(), Relaxed);
            pending.fetch_add(ops.len(), Relaxed);
            Ok(syncer.appended_many(ops.len() as u64))
        };
        let commit = |_last: Ticket| -> Result<()> {
            std::thread::sleep(Duration::from_millis(2));
            let covered = pending.swap(0, Relaxed);
            if commits.fetch_add(1, Relaxed) == 20 {
                expected_failures.fetch_add(covered, Relaxed);
                return Err(disk_full());
            }
            Ok(())
        };
        let failed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let (combiner, append, commit, failed) = (&combiner, &append, &commit, &failed);
                s.spawn(move || {
                    for i in 0..40u8 {
                        if let Err(e) =
                            combiner.submit(Op::new(&[t, i], Some(b"v")), append, commit)
                        {
                            assert!(e.is_disk_full(), "{e}");
                            failed.fetch_add(1, Relaxed);
                        }
                    }
                });
            }
        });
        let failed = failed.load(Relaxed);
        assert_eq!(appended.load(Relaxed) + append_failed.load(Relaxed), 320);
        assert_eq!(failed, expected_failures.load(Relaxed));
        assert!(failed >= 2, "one append and one commit failed");
        // How many commits the writers shared depends on the schedule
        // (`a_batch_takes_every_writer_queued_behind_a_commit` pins it
        // down); on any schedule a commit follows at least one append.
        let commits = commits.load(Relaxed);
        assert!(
            (1..=appends.load(Relaxed)).contains(&commits),
            "{commits} commits for {} appends",
            appends.load(Relaxed)
        );
        assert!(combiner.lock().failures.is_empty());
        assert!(!combiner.failed.load(Relaxed));
        // A lone writer never waits for a group: a commit per write.
        let alone = Combiner::new(SyncMode::Group);
        let lone_commits = AtomicUsize::new(0);
        for _ in 0..20 {
            alone
                .submit(
                    Op::new(b"k", None),
                    &|ops| Ok(syncer.appended_many(ops.len() as u64)),
                    &|_| {
                        lone_commits.fetch_add(1, Relaxed);
                        Ok(())
                    },
                )
                .unwrap();
        }
        assert_eq!(lone_commits.load(Relaxed), 20);
    }

    /// Commits are shared on any schedule: each round's first commit is
    /// held until all 8 writers have queued their operation, so the next
    /// leader takes the other 7 in one batch and the round commits at most
    /// twice. A commit per write would commit 8 times a round.
    #[test]
    fn a_batch_takes_every_writer_queued_behind_a_commit() {
        let combiner = Combiner::new(SyncMode::Group);
        let syncer = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        let commits = AtomicUsize::new(0);
        let appended = AtomicUsize::new(0);
        let append = |ops: &[Op]| -> Result<Ticket> {
            appended.fetch_add(ops.len(), Relaxed);
            Ok(syncer.appended_many(ops.len() as u64))
        };
        let commit = |_last: Ticket| -> Result<()> {
            // The round of this batch is the one its operations were in.
            let round_end = appended.load(Relaxed).div_ceil(8) * 8;
            while (combiner.queued.load(Acquire) as usize) < round_end {
                thread::yield_now();
            }
            commits.fetch_add(1, Relaxed);
            Ok(())
        };
        let rounds = 5;
        let round = std::sync::Barrier::new(8);
        thread::scope(|s| {
            for t in 0..8u8 {
                let (combiner, append, commit, round) = (&combiner, &append, &commit, &round);
                s.spawn(move || {
                    for i in 0..rounds {
                        round.wait();
                        combiner
                            .submit(Op::new(&[t, i], Some(b"v")), append, commit)
                            .unwrap();
                    }
                });
            }
        });
        assert_eq!(appended.load(Relaxed), 8 * usize::from(rounds));
        let commits = commits.load(Relaxed);
        assert!(
            commits <= 2 * usize::from(rounds),
            "{commits} commits for {rounds} rounds of 8 writers"
        );
    }
}
