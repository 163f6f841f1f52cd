//! The write path: a put or delete is appended to the active file and the
//! keydir pointed at it; a file that would pass `segment_bytes` is sealed
//! first and a new active file created (rotation).
//!
//! Under `group` the combiner ([`crate::combine`]) lets one writer append
//! the records of many with one write and one sync; every other policy
//! appends one record at a time through the same [`Log`] implementation.
//! Rotation happens under the writer lock, which keeps the invariant of
//! [`super`]: every record of the active file is newer than every record
//! elsewhere.

use std::sync::atomic::Ordering::Relaxed;

use crate::combine::{self, Log, WriteOp};
use crate::deferred::{self, Batch, Deferred};
use crate::events::EventKind;
use crate::fs::FileHandle;
use crate::logfile::LogFile;
use crate::record;
use crate::syncer::{Meanwhile, Ticket};
use crate::Result;

use super::keydir::{Change, Loc};
use super::{lock, Active, DataFile, Inner, Tables};

impl Log for Inner {
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        self.append(ops)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        self.syncer
            .commit_meanwhile(ticket, &|| self.active_file(), self)
    }
}

impl Meanwhile for Inner {
    fn due(&self) -> bool {
        self.deferred.as_ref().is_some_and(|d| d.due_at_sync())
    }
    fn run(&self) {
        self.apply_pending();
    }
}

impl Inner {
    /// The active file (what the syncer syncs).
    pub(super) fn active_file(&self) -> FileHandle {
        lock(&self.writer).log.file().clone()
    }

    /// One put (`Some`) or delete (`None`), durable as the policy says when
    /// it returns; then a merge if one is due.
    pub(super) fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        record::check_sizes(key, value)?;
        self.signal.check()?;
        self.syncer.check()?;
        let _writing = self.deferred.as_ref().map(Deferred::writing);
        // Under `group`, one writer appends for many.
        self.combiner.write(self, key, value)?;
        self.maybe_merge()
    }

    /// Appends `ops` with one write and points the keydir at them: their
    /// ticket, still to be committed.
    fn append<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        let mut w = lock(&self.writer);
        let first = self.next_seq.fetch_add(ops.len() as u64, Relaxed);
        let mut buf = std::mem::take(&mut w.buf);
        combine::encode_ops(&mut buf, ops, first, None);
        let result = self.append_locked(&mut w, &buf);
        w.buf = buf;
        let offset = result?;
        let end = self.index(ops, first, w.id, offset);
        debug_assert_eq!(end - offset, w.buf.len() as u64);
        Ok(self.syncer.appended_many(ops.len() as u64))
    }

    /// Points the keydir at `ops`, appended to file `file` from `offset`
    /// on with sequence numbers from `first`; returns where they end. A
    /// lone writer under `batch:N` leaves the changes pending instead
    /// ([`crate::deferred`]); its sync applies them while the disk writes.
    fn index<W: WriteOp>(&self, ops: &[W], first: u64, file: u32, offset: u64) -> u64 {
        let (end, user) = match self.deferred.as_ref().filter(|d| d.alone()) {
            Some(deferred) => {
                let mut waiting = 0;
                let done = locate(ops, first, file, offset, |key, loc| {
                    waiting = deferred.push(Change::new(key, loc));
                });
                if waiting > deferred::MAX_PENDING {
                    self.apply_pending();
                }
                done
            }
            None => {
                let mut t = self.tables_write();
                // After what earlier writes left pending, in log order.
                if let Some(d) = self.deferred.as_ref().filter(|d| d.pending() > 0) {
                    d.apply_with(|earlier| self.apply_changes(&mut t, earlier));
                }
                let resize = self.resize_watch(&t, ops.len());
                let done = locate(ops, first, file, offset, |key, loc| match loc {
                    Some(loc) => t.keydir.put(key, loc),
                    None => t.keydir.remove(key),
                });
                self.record_resize(&t, resize);
                done
            }
        };
        self.counters.user_bytes.fetch_add(user, Relaxed);
        end
    }

    /// Applies every deferred keydir change: at a sync, and before anything
    /// reads the keydir.
    pub(super) fn apply_pending(&self) {
        let Some(deferred) = self.deferred.as_ref().filter(|d| d.pending() > 0) else {
            return;
        };
        let mut t = self.tables_write();
        deferred.apply_with(|changes| self.apply_changes(&mut t, changes));
    }

    /// Applies `changes` in order under the tables' write lock.
    fn apply_changes(&self, t: &mut Tables, changes: &mut Batch<Change>) {
        let resize = self.resize_watch(t, changes.updates.len());
        for change in changes.updates.drain(..) {
            t.keydir.apply(change);
        }
        self.record_resize(t, resize);
    }

    /// Records a rehash of the keydir that [`Inner::resize_watch`] was
    /// watching for, if it happened.
    fn record_resize(&self, t: &Tables, watch: Option<(std::time::Instant, usize)>) {
        if let Some((start, before)) = watch {
            let after = t.keydir.capacity();
            if after != before {
                let keys = t.keydir.len();
                self.dir
                    .events()
                    .record_since(EventKind::IndexResize, start, || {
                        format!("keydir {before}->{after} keys={keys}")
                    });
            }
        }
    }

    /// A batch of `adding` keys that may fill the keydir's table may rehash
    /// it: when events are on, the time and capacity before, to time it (a
    /// clock read only then, once per doubling).
    fn resize_watch(&self, t: &Tables, adding: usize) -> Option<(std::time::Instant, usize)> {
        (t.keydir.len() + adding > t.keydir.capacity() && self.dir.events().is_on())
            .then(|| (std::time::Instant::now(), t.keydir.capacity()))
    }

    /// Appends to the active file, rotating first when the record would take
    /// it past the size limit. Returns the record's offset.
    fn append_locked(&self, w: &mut Active, bytes: &[u8]) -> Result<u64> {
        if !w.log.is_empty() && w.log.len() + bytes.len() as u64 > self.segment_bytes {
            self.rotate_locked(w)?;
        }
        // A failed append is cut off the file (or poisons the syncer).
        let offset = w.log.append(bytes, &self.syncer)?;
        self.counters
            .data_bytes
            .fetch_add(bytes.len() as u64, Relaxed);
        Ok(offset)
    }

    /// Under the writer lock: seals the active file (it becomes immutable)
    /// and creates the next.
    fn rotate_locked(&self, w: &mut Active) -> Result<()> {
        // Pending changes point into the active file only, never into a
        // file a merge may take.
        self.apply_pending();
        let mut span = self.dir.events().begin(EventKind::Rotation);
        w.log.trim()?;
        self.syncer.seal(w.log.file())?;
        let id = self.next_file.fetch_add(1, Relaxed);
        span.detail(|| (self.flavor.data_name)(id));
        let file = self.dir.create(&(self.flavor.data_name)(id))?;
        let mut t = self.tables_write();
        if let Some(old) = t.files.get_mut(&w.id) {
            old.seal(w.log.len());
        }
        t.immutable_bytes += w.log.len();
        t.files.insert(id, DataFile::active(file.clone()));
        t.active = id;
        drop(t);
        w.id = id;
        w.log = LogFile::new(file, 0, self.reserve_step)?;
        Ok(())
    }

    /// Rotates unless the active file is empty, so a merge takes every
    /// record written so far.
    pub(super) fn rotate_now(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        if !w.log.is_empty() {
            self.rotate_locked(&mut w)?;
        }
        Ok(())
    }
}

/// Calls `each` with the key and location (`None`: a delete) of every op
/// of `ops`, appended to file `file` from `offset` on with sequence numbers
/// from `first`; returns where they end and the user bytes they carry.
fn locate<W: WriteOp>(
    ops: &[W],
    first: u64,
    file: u32,
    offset: u64,
    mut each: impl FnMut(&[u8], Option<Loc>),
) -> (u64, u64) {
    let mut at = offset;
    let mut user = 0;
    for (seq, op) in (first..).zip(ops) {
        let (key, value) = (op.key(), op.value());
        let len = record::encoded_len(key.len(), value.map_or(0, <[u8]>::len));
        let loc = value.map(|_| Loc {
            file,
            offset: at,
            len: len as u32,
            seq,
        });
        each(key, loc);
        at += len as u64;
        user += op.user_bytes();
    }
    (at, user)
}
