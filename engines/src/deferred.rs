//! Deferred index updates: under `batch:N` a writer leaves its index
//! update pending, and the N-th writer's sync applies the batch while the
//! disk writes the log.
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
//! - when a sync is due, the syncing writer first starts the log's
//!   writeback ([`crate::fs::VFile::start_writeback`],
//!   `sync_file_range(SYNC_FILE_RANGE_WRITE)`), then does the work
//!   ([`crate::syncer::Meanwhile`]), then calls `fdatasync`, which waits
//!   for the writes already under way and flushes the device cache. The
//!   work overlaps the device's writes:
//!   - bitcask and loghash apply their keydir changes on this thread
//!     (a hash-table insert each, ~0.6 µs at millions of keys: one batch
//!     is ~20 µs, inside the ~40-50 µs the writeback leaves);
//!   - the lsm and the btree wake an applier thread (a [`crate::worker`]),
//!     which applies their larger updates (30-90 µs a batch) on the other
//!     core while the writer waits; the wake itself (~12 µs of the
//!     writer's time) now overlaps the writeback too;
//! - every reader, and everything that needs the whole index (a memtable
//!   rotation, a checkpoint, a flush, close), applies what is still
//!   pending itself first, under the index's write lock. Updates are taken
//!   and applied under that one lock, so batches are applied in the order
//!   they were pushed, and a read sees every write acknowledged before it
//!   began (read-your-writes and linearizability are unchanged).
//!
//! Why: at `batch:32` one thread spends ~130 µs in each fdatasync, and
//! before this also made the 32 index updates serially with it (about
//! 20 µs for the hash engines, 30 µs for the lsm and 90 µs for the
//! btree); the probe's `overwrite+fdatasync/32` cadence has no index.
//! With the updates skipped (an experiment) the lsm and the btree ran at
//! 0.95 of that ceiling, against 0.69 and 0.60 with them, and bitcask at
//! the wal's throughput against 0.85 of it (docs/measurements.md).
//! RocksDB pipelines WAL and memtable writes across writer threads
//! (`enable_pipelined_write`) for the same reason; here one writer
//! pipelines with its own sync.
//!
//! Why the writeback is started first: without it, the hash engines'
//! deferral lost (waking an applier cost more than the insert it saved),
//! and an inline apply would only add to the writer's time. With it, a
//! `sync_file_range(WRITE)` submits the dirty pages (on the reference VM
//! ~24 µs of the ~130 µs a sync takes), the device writes them while the
//! writer works, and the `fdatasync` after waits only for the rest:
//! 20 µs of work between the two cost nothing measurable (a probe on the
//! same disk). It makes nothing durable and consumes no error: without
//! a `WAIT` flag the kernel neither waits for the writeback nor reports
//! its errors, so the `fdatasync` still sees them. A failure to start it
//! is ignored for the same reason: the `fdatasync` writes what is still
//! dirty and reports its own failure, which poisons the syncer as always.
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
//! sync starts the writeback and applies (or wakes the applier) only for
//! [`WAKE_AT`] or more pending updates; fewer wait for a read, a rotation,
//! a checkpoint or the [`MAX_PENDING`] bound.
//!
//! What the writer does per deferred update is a copy: the lsm's and the
//! btree's key and value go into the pending [`Batch`]'s bytes
//! ([`Deferred::push_op`]), and whoever applies the batch allocates what
//! the index keeps (the lsm's memtable entries, on the applier thread).
//! An applied batch's buffers are given back ([`Deferred::recycle`]) and
//! become the next queue, so once they have grown a writer allocates
//! nothing. Before, the queue regrew from empty every batch and each lsm
//! value was allocated on the writer: ~13% of the lsm writer's samples at
//! `batch:32`, most of it growing its heap. And the btree's redo WAL has a
//! lock of its own, so its lone writer appends the next batch while the
//! applier holds the tree's lock (with one lock it waited for the applier
//! ~10% of the time).
//!
//! The hash engines' automatic merge rule counts a pending change once it
//! is applied; every pending change points into the active file (a
//! rotation applies them first), which no merge takes.
//!
//! Bounds: once more than [`MAX_PENDING`] updates wait (an applier that
//! fell behind), the writer applies them itself, so memory stays bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::policy::{SyncMode, SyncPolicy};

/// Pending updates past which the writer applies them itself.
pub const MAX_PENDING: usize = 4096;

/// Pending updates below which a syncing writer neither starts the
/// writeback early nor applies them (or wakes the applier): a wake costs
/// the writer about 12 µs (a futex wake of a thread on the other CPU,
/// reference VM) and `sync_file_range` is one more system call, more than
/// applying a few updates saves. In a mix of reads and writes the readers
/// apply what is pending, so it stays below this, and waking for it made
/// ycsb-a under `batch:32` 10% slower.
pub const WAKE_AT: usize = 8;

/// Bytes of keys and values a recycled batch keeps room for (1 MiB).
pub const MAX_KEPT_BYTES: usize = 1 << 20;

/// Whether an engine with this policy defers its index updates: only under
/// `batch:N` with N > 1. Without background threads (the deterministic
/// tests and the crash simulator) the updates are deferred all the same
/// but no applier runs: reads, rotations, checkpoints, close and the
/// [`MAX_PENDING`] bound apply them, at points the workload decides, so
/// the crash suite exercises every one of those paths.
pub fn defers(policy: SyncPolicy) -> bool {
    matches!(policy.mode, SyncMode::Batch(n) if n > 1)
}

/// Pending updates, oldest first, and the bytes they refer to: an
/// update's key and value are copied into `bytes` ([`Deferred::push_op`]),
/// so that a writer allocates nothing per write once the batch's buffers
/// have grown (a value allocated per write cost the lsm's writer ~6% of
/// its time at `batch:32`, most of it growing its heap).
#[derive(Debug)]
pub struct Batch<T> {
    pub updates: Vec<T>,
    pub bytes: Vec<u8>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            updates: Vec::new(),
            bytes: Vec::new(),
        }
    }
}

impl<T> Batch<T> {
    fn capacity(&self) -> usize {
        self.updates.capacity() + self.bytes.capacity()
    }
}

/// A put (`value_len` is `Some`) or delete pending in a [`Batch`]: its key
/// at `at` in the batch's bytes, its value right after.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    at: usize,
    key_len: usize,
    value_len: Option<usize>,
}

impl Batch<Op> {
    /// The pending puts (`Some` value) and deletes, oldest first.
    pub fn ops(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.updates.iter().map(|op| {
            let (key, rest) = self.bytes[op.at..].split_at(op.key_len);
            (key, op.value_len.map(|n| &rest[..n]))
        })
    }
}

/// Index updates logged and acknowledged but not yet applied, in log order.
#[derive(Debug)]
pub struct Deferred<T> {
    queue: Mutex<Batch<T>>,
    /// An emptied batch given back ([`Deferred::recycle`]): the next
    /// [`Deferred::take`] leaves it as the queue, so the writer pushes
    /// into its capacity.
    spare: Mutex<Batch<T>>,
    /// `queue.len()`, readable without the lock (the readers' fast path).
    len: AtomicUsize,
    /// Writers inside the engine's write path now ([`Deferred::writing`]).
    writers: AtomicUsize,
}

impl<T> Default for Deferred<T> {
    fn default() -> Self {
        Deferred {
            queue: Mutex::new(Batch::default()),
            spare: Mutex::new(Batch::default()),
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
    fn lock(&self) -> MutexGuard<'_, Batch<T>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn spare(&self) -> MutexGuard<'_, Batch<T>> {
        self.spare.lock().unwrap_or_else(|p| p.into_inner())
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
        q.updates.push(update);
        let n = q.updates.len();
        self.len.store(n, Ordering::Release);
        n
    }

    /// Whether a sync should start the writeback and apply (or wake the
    /// applier) now: [`WAKE_AT`] or more updates pending. What every
    /// engine's [`crate::syncer::Meanwhile::due`] asks.
    pub fn due_at_sync(&self) -> bool {
        self.pending() >= WAKE_AT
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
    /// Give the emptied batch back with [`Deferred::recycle`].
    pub fn take(&self) -> Batch<T> {
        let spare = std::mem::take(&mut *self.spare());
        let mut q = self.lock();
        self.len.store(0, Ordering::Release);
        std::mem::replace(&mut *q, spare)
    }

    /// Takes every pending update ([`Deferred::take`]), hands the batch to
    /// `apply`, and keeps its buffers for the next ([`Deferred::recycle`]).
    /// The same rule as `take`: call under the index's write lock.
    pub fn apply_with<R>(&self, apply: impl FnOnce(&mut Batch<T>) -> R) -> R {
        let mut batch = self.take();
        let result = apply(&mut batch);
        self.recycle(batch);
        result
    }

    /// Keeps a batch's buffers, emptied, for the queue after the next
    /// [`Deferred::take`]. Without it every batch regrew its queue from
    /// nothing, a `realloc` at 1, 2, 4, ... updates: ~7% of the lsm
    /// writer's time at `batch:32`, and under a sync, since the writer's
    /// heap grew and shrank with it (`sysmalloc`, `mprotect`). A batch
    /// whose bytes grew past [`MAX_KEPT_BYTES`] (large values) is dropped.
    pub fn recycle(&self, mut batch: Batch<T>) {
        batch.updates.clear();
        batch.bytes.clear();
        if batch.updates.capacity() <= MAX_PENDING + 1 && batch.bytes.capacity() <= MAX_KEPT_BYTES {
            let mut spare = self.spare();
            if spare.capacity() < batch.capacity() {
                *spare = batch;
            }
        }
    }
}

impl Deferred<Op> {
    /// [`Deferred::push`] of a put (`Some` value) or delete, its key and
    /// value copied into the batch's bytes.
    pub fn push_op(&self, key: &[u8], value: Option<&[u8]>) -> usize {
        let mut q = self.lock();
        let at = q.bytes.len();
        q.bytes.extend_from_slice(key);
        q.bytes.extend_from_slice(value.unwrap_or(&[]));
        q.updates.push(Op {
            at,
            key_len: key.len(),
            value_len: value.map(<[u8]>::len),
        });
        let n = q.updates.len();
        self.len.store(n, Ordering::Release);
        n
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
        let batch = d.take();
        assert_eq!(batch.updates, vec![1, 2]);
        assert_eq!(d.pending(), 0);
        let capacity = batch.updates.capacity();
        d.recycle(batch);
        assert!(d.take().updates.is_empty());
        d.push(3);
        let batch = d.take();
        assert_eq!(batch.updates, vec![3]);
        assert!(
            batch.updates.capacity() >= capacity,
            "the recycled vector is the queue again"
        );
    }

    #[test]
    fn ops_keep_their_keys_values_and_deletes_across_recycling() {
        let d = Deferred::<Op>::default();
        for round in 0..3u8 {
            assert_eq!(d.push_op(b"a", Some(&[round; 3])), 1);
            assert_eq!(d.push_op(b"bb", None), 2);
            assert_eq!(d.push_op(b"c", Some(b"")), 3);
            let batch = d.take();
            let ops: Vec<_> = batch.ops().collect();
            let value = [round; 3];
            let want: Vec<(&[u8], Option<&[u8]>)> =
                vec![(b"a", Some(&value[..])), (b"bb", None), (b"c", Some(b""))];
            assert_eq!(ops, want, "round {round}");
            d.recycle(batch);
        }
    }
}
