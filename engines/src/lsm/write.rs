//! The write path: a put or delete is logged to the current WAL generation
//! and inserted into the memtable; a full memtable is frozen and a new WAL
//! generation started (rotation), its flush left to the maintenance thread
//! or run inline.
//!
//! Under `group` the combiner ([`crate::combine`]) lets one writer log the
//! operations of many with one append and one sync; every other policy
//! appends one operation at a time through the same [`Log`] implementation.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::combine::{self, Log, WriteOp};
use crate::events::EventKind;
use crate::fs::FileHandle;
use crate::record;
use crate::syncer::Ticket;
use crate::Result;

use super::{lock, wal_name, Inner, MemKey, Wal, ENTRY_OVERHEAD};

impl Log for Inner {
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        self.append(ops)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        self.syncer.commit(ticket, &|| self.wal_file())
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
        self.syncer.check()?;
        // Under `group`, one writer appends for many.
        self.combiner.write(self, key, value)?;
        if self.tree().imm.is_some() {
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
        if self.tree().mem.bytes >= self.memtable_bytes {
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
        self.insert(ops);
        Ok(self.syncer.appended_many(ops.len() as u64))
    }

    /// Inserts logged operations into the memtable.
    fn insert<W: WriteOp>(&self, ops: &[W]) {
        let mut t = self.tree_mut();
        let mut user = 0;
        for op in ops {
            t.mem.bytes += op.user_bytes() + ENTRY_OVERHEAD;
            t.mem
                .map
                .insert(MemKey::from_slice(op.key()), op.value().map(<[u8]>::to_vec));
            user += op.user_bytes();
        }
        drop(t);
        self.counters.user_bytes.fetch_add(user, Relaxed);
    }

    /// Under the WAL lock: freezes the memtable and starts a new WAL
    /// generation. Waits for (or, inline, runs) the previous flush first.
    pub(super) fn rotate_memtable(&self, w: &mut Wal) -> Result<()> {
        self.wait_for_flush()?;
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
