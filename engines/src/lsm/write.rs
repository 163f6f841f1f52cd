//! The write path: a put or delete is logged to the current WAL generation
//! and inserted into the memtable; a full memtable is frozen and a new WAL
//! generation started (rotation), its flush left to the maintenance thread
//! or run inline.
//!
//! Under `group` the combiner ([`crate::combine`]) lets one writer log the
//! operations of many with one append and one sync; every other policy
//! appends one operation at a time through the same [`Log`] implementation.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::Arc;

use crate::combine::{self, Log, WriteOp};
use crate::deferred::{self, Batch, Op};
use crate::events::EventKind;
use crate::fs::FileHandle;
use crate::record;
use crate::syncer::Ticket;
use crate::Result;

use super::{lock, wal_name, Inner, MemKey, Pending, Tree, Wal, ENTRY_OVERHEAD};

impl Tree {
    /// Inserts one logged write into the memtable.
    fn insert(&mut self, p: Pending) {
        self.mem.bytes +=
            (p.key.len() + p.value.as_ref().map_or(0, Vec::len)) as u64 + ENTRY_OVERHEAD;
        self.mem.map.insert(p.key, p.value);
    }

    /// Inserts a batch of deferred writes, oldest first: their keys and
    /// values are allocated here, by the applier, not by the writer.
    fn insert_ops(&mut self, batch: &Batch<Op>) {
        for (key, value) in batch.ops() {
            self.insert(Pending {
                key: MemKey::from_slice(key),
                value: value.map(<[u8]>::to_vec),
            });
        }
    }
}

impl Log for Inner {
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        self.append(ops)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        // The applier inserts what this write and the ones before it left
        // pending while this thread waits for the sync.
        self.syncer
            .commit_meanwhile(ticket, &|| self.wal_file(), self)
    }
}

impl Inner {
    /// The current WAL generation's file (what the syncer syncs).
    pub(super) fn wal_file(&self) -> FileHandle {
        lock(&self.wal).log.file().clone()
    }

    /// One put (`Some`) or delete (`None`), durable as the policy says when
    /// it returns; then the flush a rotation left, if any, is requested (or
    /// run inline).
    pub(super) fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        record::check_sizes(key, value)?;
        self.signal.check()?;
        if self.deferred.is_some() {
            self.apply_signal.check()?;
        }
        self.syncer.check()?;
        let _writing = self.deferred.as_ref().map(|d| d.writing());
        // Under `group`, one writer appends for many.
        self.combiner.write(self, key, value)?;
        if self.has_imm.load(Acquire) {
            if self.background {
                self.signal.request();
            } else {
                self.maintain(false)?;
            }
        }
        Ok(())
    }

    /// Logs `ops` with one append and inserts them into the memtable:
    /// their ticket, still to be committed.
    fn append<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        let mut w = lock(&self.wal);
        if w.mem_bytes >= self.memtable_bytes {
            self.rotate_memtable(&mut w)?;
        }
        let first = self.next_seq.fetch_add(ops.len() as u64, Relaxed);
        let mut buf = std::mem::take(&mut w.buf);
        combine::encode_ops(&mut buf, ops, first, w.log.generation());
        // A failed append is cut off the file (or poisons the syncer).
        let appended = w.log.append(&buf, &self.syncer);
        let len = buf.len() as u64;
        w.buf = buf;
        appended?;
        self.counters.wal_bytes.fetch_add(len, Relaxed);
        w.mem_bytes += ops
            .iter()
            .map(|op| op.user_bytes() + ENTRY_OVERHEAD)
            .sum::<u64>();
        self.insert(ops);
        Ok(self.syncer.appended_many(ops.len() as u64))
    }

    /// Inserts logged operations into the memtable, or leaves them to the
    /// applier when the policy defers them. Called under the WAL lock, so
    /// deferred inserts are pushed in log order.
    fn insert<W: WriteOp>(&self, ops: &[W]) {
        let user: u64 = ops.iter().map(|op| op.user_bytes()).sum();
        self.counters.user_bytes.fetch_add(user, Relaxed);
        let pending = |op: &W| Pending {
            key: MemKey::from_slice(op.key()),
            value: op.value().map(<[u8]>::to_vec),
        };
        let Some(deferred) = self.deferred.as_ref().filter(|d| d.alone()) else {
            let mut t = self.tree_mut();
            // After what earlier writes left pending, in log order.
            if let Some(d) = self.deferred.as_ref().filter(|d| d.pending() > 0) {
                d.apply_with(|batch| t.insert_ops(batch));
            }
            for op in ops {
                t.insert(pending(op));
            }
            return;
        };
        let mut waiting = 0;
        for op in ops {
            waiting = deferred.push_op(op.key(), op.value());
        }
        if waiting > deferred::MAX_PENDING {
            // The applier fell behind: bound the memory pending holds.
            self.apply_pending();
        }
    }

    /// Applies every deferred insert (see [`crate::deferred`]): by the
    /// applier, and by anything that reads the memtable first.
    pub(super) fn apply_pending(&self) {
        let Some(deferred) = &self.deferred else {
            return;
        };
        if deferred.pending() == 0 {
            return;
        }
        let mut t = self.tree_mut();
        deferred.apply_with(|batch| t.insert_ops(batch));
    }
}

impl crate::syncer::Meanwhile for Inner {
    fn due(&self) -> bool {
        self.deferred.as_ref().is_some_and(|d| d.due_at_sync())
    }
    /// Wakes the applier: the wake (~12 µs of this thread's time on the
    /// reference VM) overlaps the log's writeback, started just before.
    fn run(&self) {
        self.apply_signal.request();
    }
}

impl Inner {
    /// Under the WAL lock: freezes the memtable and starts a new WAL
    /// generation. Waits for (or, inline, runs) the previous flush first.
    pub(super) fn rotate_memtable(&self, w: &mut Wal) -> Result<()> {
        self.wait_for_flush()?;
        // The frozen memtable must hold every write of its generation.
        self.apply_pending();
        let mut span = self.dir.events().begin(EventKind::Rotation);
        w.log.trim()?;
        self.syncer.seal(w.log.file())?;
        let gen = w.gen + 1;
        span.detail(|| wal_name(gen));
        w.log = lock(&self.wal_pool).begin(&wal_name(gen), gen, w.reserve_step)?;
        lock(&self.wal_gens).push(gen);
        w.gen = gen;
        let mut t = self.tree_mut();
        let mem = std::mem::take(&mut t.mem);
        t.mem.gen = gen;
        t.imm = Some(Arc::new(mem));
        self.has_imm.store(true, Release);
        w.mem_bytes = 0;
        Ok(())
    }

    /// Returns once no immutable memtable is left: waits for the flush
    /// thread (recording the stall) or, inline, flushes.
    fn wait_for_flush(&self) -> Result<()> {
        let waited_since = std::time::Instant::now();
        let mut waited = false;
        loop {
            if self.tree().imm.is_none() {
                break;
            }
            waited = true;
            if self.background {
                self.signal.check()?;
                self.signal.request();
                let g = lock(&self.flushed_lock);
                if self.tree().imm.is_some() {
                    let _ = self
                        .flushed
                        .wait_timeout(g, std::time::Duration::from_millis(50))
                        .unwrap_or_else(|p| p.into_inner());
                }
            } else {
                self.flush()?;
            }
        }
        if waited && self.background {
            self.dir
                .events()
                .record_since(EventKind::WriteStall, waited_since, || {
                    "memtable full, waiting for the previous flush".into()
                });
        }
        Ok(())
    }
}
