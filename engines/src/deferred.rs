//! Deferred index updates: under `batch:N` a writer leaves its index
//! update to an applier thread, which does it while the N-th writer waits
//! for the sync.
//!
//! A write is acknowledged once its log record is handed to the kernel
//! and, when the policy says so, synced. Its index update (the lsm's
//! memtable insert, the btree's leaf change) decides nothing about
//! durability: recovery rebuilds the index from the log. So an engine may
//! acknowledge a write whose index update is still pending, as long as
//! nothing reads the index before it is applied:
//!
//! - the writer pushes the update here in log order, under the lock that
//!   orders its appends;
//! - just before a sync starts, the syncing writer wakes an applier thread
//!   (a [`crate::worker`]; [`crate::syncer::Syncer::commit_meanwhile`]),
//!   which applies everything pending on the other core while the writer
//!   waits for the disk;
//! - every reader, and everything that needs the whole index (a memtable
//!   rotation, a checkpoint, a flush, close), applies what is still
//!   pending itself first, under the index's write lock. Updates are taken
//!   and applied under that one lock, so batches are applied in the order
//!   they were pushed, and a read sees every write acknowledged before it
//!   began (read-your-writes and linearizability are unchanged).
//!
//! Why: at `batch:32` one thread spends ~130 µs in each fdatasync, and
//! before this also made the 32 index updates serially with it (about
//! 30 µs for the lsm and 90 µs for the btree); the probe's
//! `overwrite+fdatasync/32` cadence has no index. With the updates skipped
//! (an experiment) both engines ran at 0.95 of that ceiling, against 0.69
//! and 0.60 with them (docs/measurements.md). RocksDB pipelines WAL and
//! memtable writes across writer threads (`enable_pipelined_write`) for
//! the same reason; here one writer pipelines with the applier.
//!
//! Only `batch:N` (N > 1) defers. Under `always` a writer's own update
//! (1-3 µs) is small against its sync, and waking the applier for every
//! write costs about as much (a futex wake of a sleeping thread on the
//! other CPU: ~12 µs of the writer's time per wake on the reference VM).
//! An applier that yielded between requests instead of sleeping, so that
//! no wake was needed, made `always` slower and tripled its CPU per write
//! (it kept a core busy), and gained nothing measurable under `batch:32`.
//! `none` has no sync to hide the work behind, and under `group` one
//! leader already applies many writers' updates while the others wait.
//! Under `batch:N` only a lone writer defers ([`Deferred::alone`]), and a
//! sync wakes the applier only for [`WAKE_AT`] or more pending updates.
//!
//! Bounds: once more than [`MAX_PENDING`] updates wait (an applier that
//! fell behind), the writer applies them itself, so memory stays bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::policy::{SyncMode, SyncPolicy};

/// Pending updates past which the writer applies them itself.
pub const MAX_PENDING: usize = 4096;

/// Pending updates below which a syncing writer does not wake the applier:
/// a wake costs the writer about 12 µs (a futex wake of a thread on the
/// other CPU, reference VM), more than applying a few updates saves. In a
/// mix of reads and writes the readers apply what is pending, so it stays
/// below this, and waking for it made ycsb-a under `batch:32` 10% slower.
pub const WAKE_AT: usize = 8;

/// Whether an engine with this policy defers its index updates: only under
/// `batch:N` with N > 1. Without background threads (the deterministic
/// tests and the crash simulator) the updates are deferred all the same
/// but no applier runs: reads, rotations, checkpoints, close and the
/// [`MAX_PENDING`] bound apply them, at points the workload decides, so
/// the crash suite exercises every one of those paths.
pub fn defers(policy: SyncPolicy) -> bool {
    matches!(policy.mode, SyncMode::Batch(n) if n > 1)
}

/// Index updates logged and acknowledged but not yet applied, in log order.
#[derive(Debug)]
pub struct Deferred<T> {
    queue: Mutex<Vec<T>>,
    /// `queue.len()`, readable without the lock (the readers' fast path).
    len: AtomicUsize,
    /// Writers inside the engine's write path now ([`Deferred::writing`]).
    writers: AtomicUsize,
}

impl<T> Default for Deferred<T> {
    fn default() -> Self {
        Deferred {
            queue: Mutex::new(Vec::new()),
            len: AtomicUsize::new(0),
            writers: AtomicUsize::new(0),
        }
    }
}

/// Counts a writer in [`Deferred::writing`] until dropped.
#[derive(Debug)]
pub struct Writing<'a>(&'a AtomicUsize);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<T> Deferred<T> {
    fn lock(&self) -> MutexGuard<'_, Vec<T>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts the calling writer in for the whole write, its sync included.
    pub fn writing(&self) -> Writing<'_> {
        self.writers.fetch_add(1, Ordering::Relaxed);
        Writing(&self.writers)
    }

    /// Whether the calling writer (counted by [`Deferred::writing`]) is the
    /// only one. Only a lone writer defers: with several, the others use
    /// the CPU while one waits for its sync, so there is no idle time to
    /// hide the updates in, and deferring only added work (btree ycsb-a at
    /// 4 threads under `batch:32`: 11% slower). The others apply inline,
    /// after what is pending.
    pub fn alone(&self) -> bool {
        self.writers.load(Ordering::Relaxed) <= 1
    }

    /// Adds an update whose record is in the log. Call in log order (under
    /// the lock that orders the appends) and before the write is
    /// acknowledged. Returns how many are pending now.
    pub fn push(&self, update: T) -> usize {
        let mut q = self.lock();
        q.push(update);
        let n = q.len();
        self.len.store(n, Ordering::Release);
        n
    }

    /// How many updates are pending. A reader that finds 0 may read the
    /// index: every update pushed before is applied, or is being applied
    /// under the index lock the reader is about to take.
    pub fn pending(&self) -> usize {
        self.len.load(Ordering::Acquire)
    }

    /// Takes every pending update, oldest first. Call under the index's
    /// write lock and apply them before releasing it, so that batches taken
    /// by different threads are applied in the order they were pushed.
    pub fn take(&self) -> Vec<T> {
        let mut q = self.lock();
        self.len.store(0, Ordering::Release);
        std::mem::take(&mut *q)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SyncPrimitive;

    fn policy(mode: SyncMode) -> SyncPolicy {
        SyncPolicy {
            mode,
            dir_sync: false,
            primitive: SyncPrimitive::Fdatasync,
        }
    }

    #[test]
    fn only_batch_policies_defer() {
        assert!(!defers(policy(SyncMode::Always)));
        assert!(!defers(policy(SyncMode::Batch(1))));
        assert!(defers(policy(SyncMode::Batch(32))));
        assert!(!defers(policy(SyncMode::None)));
        assert!(!defers(policy(SyncMode::Group)));
    }

    #[test]
    fn only_a_lone_writer_defers() {
        let d = Deferred::<u8>::default();
        let a = d.writing();
        assert!(d.alone());
        let b = d.writing();
        assert!(!d.alone());
        drop(a);
        assert!(d.alone());
        drop(b);
    }

    #[test]
    fn updates_come_out_in_push_order_and_once() {
        let d = Deferred::default();
        assert_eq!(d.pending(), 0);
        assert_eq!(d.push(1), 1);
        assert_eq!(d.push(2), 2);
        assert_eq!(d.pending(), 2);
        assert_eq!(d.take(), vec![1, 2]);
        assert_eq!(d.pending(), 0);
        assert!(d.take().is_empty());
        d.push(3);
        assert_eq!(d.take(), vec![3]);
    }
}
