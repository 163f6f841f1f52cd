//! Merge (bitcask) / compaction (loghash): rewrite the live records of every
//! immutable file into new files and remove the old ones.
//!
//! ## Which records survive
//!
//! A merge always takes *every* immutable file (all but the active one) as
//! seen under one read of the tables. It keeps a record exactly when the
//! keydir points at it when its chunk is examined; everything else goes:
//! overwritten values, and all tombstones. Dropping a tombstone is safe only
//! because the merge is total: by the invariant in [`super`], every record
//! older than the tombstone sits in an immutable file, so every older value
//! of that key is dropped by the same merge (the keydir no longer points at
//! it), and the files holding them are removed together (the marker makes
//! that removal all-or-nothing across a crash). A merge that took only some
//! immutable files would have to keep the newest tombstone of each key.
//!
//! A record is judged against the keydir as it is now, not a snapshot, so a
//! newer write may already have made it garbage. That newer write may not be
//! durable yet; so before the merge is made complete (the marker), the
//! active file is synced (unless `none`; under `none` every unsynced file
//! is, once an explicit sync ran): nothing a merge drops can be lost
//! while the write that superseded it is lost too. Writes that land during
//! the merge win over the copies: the keydir is repointed to a copy only if
//! it still points at the original.
//!
//! ## Steps, in order
//!
//! 1. Copy the live records (sequence numbers and checksums unchanged) into
//!    output files of at most `segment_bytes`; each output is written under
//!    a temporary name, synced (unless `none`), renamed, directory synced
//!    (`+dir`); bitcask then writes its hint file the same way.
//! 2. Sync the active file (unless `none`), see above.
//! 3. Write the marker listing the input ids (temp, sync, rename, dir sync).
//! 4. Under the tables' write lock, add the outputs, repoint the keydir,
//!    drop the inputs: readers switch atomically.
//! 5. Remove the inputs and their hint files (dir sync under `+dir`), then
//!    the marker (dir sync under `+dir`).
//!
//! A crash before 3 leaves the inputs and some outputs: copies of the same
//! records with the same sequence numbers, which recovery reads as one. A
//! crash after 3 leaves a marker, and recovery finishes step 5.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::TryLockError;

use crate::events::EventKind;
use crate::fs::{FileHandle, ReplaceFile};
use crate::record::{self, Record};
use crate::{Error, Result};

use super::hint::{self, Hint};
use super::keydir::Loc;
use super::{hint_name, lock, marker_name, DataFile, Inner};

/// Records judged under one read lock (bounds how long writers wait).
const CHUNK: usize = 4096;

impl Inner {
    /// The automatic merge rule: at least `merge_trigger_files` immutable
    /// files, and at least half of their bytes garbage.
    pub(super) fn merge_due(&self) -> bool {
        let t = self.tables_read();
        t.immutable_files() >= self.trigger && t.garbage_bytes() * 2 >= t.immutable_bytes
    }

    /// Runs a merge when one is due: asks the merge thread for it, or runs
    /// it inline without background maintenance.
    pub(super) fn maybe_merge(&self) -> Result<()> {
        if !self.merge_due() {
            return Ok(());
        }
        if self.background {
            self.signal.request();
            Ok(())
        } else {
            self.merge(false)
        }
    }

    /// Merges every immutable file. `forced` (an explicit `maintain`) waits
    /// for a running merge and always merges; otherwise the merge is skipped
    /// when another one is running or the trigger no longer holds.
    pub(super) fn merge(&self, forced: bool) -> Result<()> {
        let _one_at_a_time = if forced {
            lock(&self.merging)
        } else {
            match self.merging.try_lock() {
                Ok(g) => g,
                Err(TryLockError::WouldBlock) => return Ok(()),
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
            }
        };
        if !forced && !self.merge_due() {
            return Ok(());
        }
        let inputs = self.immutable_files();
        if inputs.is_empty() {
            return Ok(());
        }
        let mut span = self.dir.events().begin(EventKind::Merge);
        let Copied { outputs, moves } = self.copy_live(&inputs)?;
        span.detail(|| {
            let bytes_in: u64 = inputs.iter().map(|(_, f)| f.len().unwrap_or(0)).sum();
            let bytes_out: u64 = outputs.iter().map(|(_, f)| f.len).sum();
            format!(
                "files={}->{} in={bytes_in} out={bytes_out}",
                inputs.len(),
                outputs.len()
            )
        });
        self.sync_superseding()?;
        let marker = self.write_marker(&inputs)?;
        let old = self.switch_readers(&inputs, outputs, &moves);
        // 5. Remove the inputs, then the marker.
        self.dir.remove_all(&old)?;
        self.dir.remove_all(&[marker])?;
        self.counters.merges.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Every file but the active one, as readers see them now.
    fn immutable_files(&self) -> Vec<(u32, FileHandle)> {
        let t = self.tables_read();
        t.files
            .iter()
            .filter(|(id, _)| **id != t.active)
            .map(|(id, f)| (*id, f.handle.clone()))
            .collect()
    }

    /// Step 1: copies the records the keydir points at into new files;
    /// returns the files and, per copied record, its key, old and new
    /// location.
    fn copy_live(&self, inputs: &[(u32, FileHandle)]) -> Result<Copied> {
        let mut out = MergeOutput::new(self);
        let mut moves: Vec<Move> = Vec::new();
        for (id, file) in inputs {
            let image = file.read_all()?;
            let mut records: Vec<(u64, Record<'_>)> = Vec::new();
            record::scan_log(&image, file.path(), |off, r| {
                records.push((off, r));
                Ok(())
            })?;
            for chunk in records.chunks(CHUNK) {
                let live: Vec<bool> = {
                    let t = self.tables_read();
                    chunk
                        .iter()
                        .map(|(off, r)| t.keydir.points_at(r.key, *id, *off))
                        .collect()
                };
                for ((off, r), live) in chunk.iter().zip(live) {
                    if !live {
                        continue;
                    }
                    let len = r.encoded_len();
                    let raw = image
                        .get(*off as usize..*off as usize + len)
                        .ok_or_else(|| Error::corrupt(file.path(), *off, "record past the end"))?;
                    let to = out.add(r, raw)?;
                    let from = Loc {
                        file: *id,
                        offset: *off,
                        len: len as u32,
                        seq: r.seq,
                    };
                    moves.push((r.key.to_vec(), from, to));
                }
            }
        }
        Ok(Copied {
            outputs: out.finish()?,
            moves,
        })
    }

    /// Step 2: whatever superseded a dropped record is durable. Under
    /// `none` too once an explicit sync ran: the dropped record may be one
    /// it made durable, and the newer write may sit in any unsynced file.
    fn sync_superseding(&self) -> Result<()> {
        if self.syncer.policy().syncs_data() {
            self.syncer.sync_now(&|| self.active_file())?;
        } else if self.dir.explicit_sync_ran() {
            self.syncer
                .sync_everything(&self.dir, &|| self.active_file())?;
        }
        Ok(())
    }

    /// Step 3: the merge is complete once its marker, listing the inputs,
    /// is durable. Returns the marker's name.
    fn write_marker(&self, inputs: &[(u32, FileHandle)]) -> Result<String> {
        let marker_id = self.next_file.fetch_add(1, Relaxed);
        let mut ids = Vec::with_capacity(inputs.len() * 4);
        for (id, _) in inputs {
            ids.extend_from_slice(&id.to_le_bytes());
        }
        let marker = record::encode(&Record {
            seq: 0,
            key: b"merged",
            value: Some(&ids),
            batch_continues: false,
        });
        self.dir.write_whole(&marker_name(marker_id), &marker)?;
        self.counters
            .marker_bytes
            .fetch_add(marker.len() as u64, Relaxed);
        Ok(marker_name(marker_id))
    }

    /// Step 4: under the tables' write lock, adds the outputs, repoints the
    /// keydir and drops the inputs. Returns the files to remove.
    fn switch_readers(
        &self,
        inputs: &[(u32, FileHandle)],
        outputs: Vec<(u32, DataFile)>,
        moves: &[Move],
    ) -> Vec<String> {
        let mut old: Vec<String> = Vec::new();
        let mut t = self.tables_write();
        for (id, f) in outputs {
            t.immutable_bytes += f.len;
            t.files.insert(id, f);
        }
        for (key, from, to) in moves {
            t.keydir.relocate(key, *from, *to);
        }
        for (id, _) in inputs {
            if let Some(f) = t.files.remove(id) {
                t.immutable_bytes = t.immutable_bytes.saturating_sub(f.len);
                if f.hint_len > 0 {
                    old.push(hint_name(*id));
                }
            }
            t.keydir.drop_file(*id);
            old.push((self.flavor.data_name)(*id));
        }
        old
    }
}

/// A copied record: its key, where it was, where it is now.
type Move = (Vec<u8>, Loc, Loc);

/// What step 1 wrote: the output files by id, and the records it moved.
struct Copied {
    outputs: Vec<(u32, DataFile)>,
    moves: Vec<Move>,
}

/// The output file being written.
struct Current {
    id: u32,
    file: ReplaceFile,
    len: u64,
    hints: Vec<u8>,
}

/// The data (and hint) files a merge writes, each at most `segment_bytes`.
struct MergeOutput<'a> {
    inner: &'a Inner,
    current: Option<Current>,
    /// Copied records not yet appended (one append per MiB).
    buf: Vec<u8>,
    done: Vec<(u32, u64, u64)>,
}

impl<'a> MergeOutput<'a> {
    fn new(inner: &'a Inner) -> Self {
        MergeOutput {
            inner,
            current: None,
            buf: Vec::with_capacity(1 << 20),
            done: Vec::new(),
        }
    }

    /// Copies one record (its raw bytes) and returns its new location.
    fn add(&mut self, r: &Record<'_>, raw: &[u8]) -> Result<Loc> {
        let full = self
            .current
            .as_ref()
            .is_some_and(|c| c.len > 0 && c.len + raw.len() as u64 > self.inner.segment_bytes);
        if full {
            self.close_current()?;
        }
        let c = match self.current.take() {
            Some(c) => self.current.insert(c),
            None => {
                let id = self.inner.next_file.fetch_add(1, Relaxed);
                let file = self.inner.dir.replace(&(self.inner.flavor.data_name)(id))?;
                self.current.insert(Current {
                    id,
                    file,
                    len: 0,
                    hints: Vec::new(),
                })
            }
        };
        let offset = c.len;
        c.len += raw.len() as u64;
        if self.inner.flavor.hints {
            hint::encode(
                &mut c.hints,
                &Hint {
                    key: r.key,
                    seq: r.seq,
                    offset,
                    len: raw.len() as u32,
                    tombstone: r.value.is_none(),
                },
            );
        }
        let id = c.id;
        self.buf.extend_from_slice(raw);
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(Loc {
            file: id,
            offset,
            len: raw.len() as u32,
            seq: r.seq,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if let Some(c) = &self.current {
            if !self.buf.is_empty() {
                c.file.file().append(&self.buf)?;
                self.inner
                    .counters
                    .merge_bytes
                    .fetch_add(self.buf.len() as u64, Relaxed);
                self.buf.clear();
            }
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        self.flush()?;
        if let Some(c) = self.current.take() {
            c.file.commit()?;
            let mut hint_len = 0;
            if self.inner.flavor.hints {
                self.inner.dir.write_whole(&hint_name(c.id), &c.hints)?;
                hint_len = c.hints.len() as u64;
                self.inner.counters.hint_bytes.fetch_add(hint_len, Relaxed);
            }
            self.done.push((c.id, c.len, hint_len));
        }
        Ok(())
    }

    /// Commits the last output and opens every output for reading.
    fn finish(mut self) -> Result<Vec<(u32, DataFile)>> {
        self.close_current()?;
        self.done
            .iter()
            .map(|&(id, len, hint_len)| {
                let handle = self
                    .inner
                    .dir
                    .open_file(&(self.inner.flavor.data_name)(id))?;
                Ok((id, DataFile::sealed(handle, len, hint_len)))
            })
            .collect()
    }
}
