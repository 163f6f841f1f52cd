//! `wal`: a standalone segmented write-ahead log (ported from the Python
//! prototype `write-ahead-log/wal.py` this project started from).
//!
//! `put` and `delete` append one record and return once the policy's promise
//! holds; [`Wal::append_batch`] appends several records that replay all or
//! nothing; [`Wal::replay`] returns the operations from a sequence number on;
//! [`Wal::checkpoint`] drops whole segments that hold only older operations;
//! `maintain` rotates the active segment now (its maintenance step, which the
//! crash checker forces).
//! There are no point reads or scans: the capabilities say so.
//!
//! ## Format
//!
//! The directory holds segments named `{first_seq:020}.wal`, where
//! `first_seq` is the sequence number of the first record the segment was
//! created for. Each segment is a sequence of records in the shared framing
//! of [`crate::record`] (crc32, flags, seq, key length, value length, key,
//! value); a batch is a run of records flagged "batch continues" ended by
//! one without the flag. Sequence numbers start at 1 and increase by one per
//! record. The active segment is rotated when the next append would take it
//! past `segment_bytes` (a single record larger than that gets a segment of
//! its own). Segments are written through [`LogFile`]: the active one is
//! followed by reserved zeros, and recovery finds its end by its records
//! (see [`crate::logfile`]); a rotated segment ends at its last record.
//!
//! ## Durability
//!
//! Every acknowledged write is one positional write (one `pwrite(2)`) of its
//! encoded record(s) into reserved space (under every policy but `none`),
//! so its sync changes no file size (except after a reservation step), then [`Syncer::commit`]: no sync under `none`; one
//! `fdatasync` (or `fsync` with `@fsync`) per write under `always`; one every
//! N writes under `batch:N`; one per commit group under `group`. Rotation
//! syncs the old segment first (unless `none`) and, under `+dir`, fsyncs the
//! directory after creating the new segment, before any write to it is
//! acknowledged. `checkpoint` removes segments and syncs the directory under
//! `+dir`. Recovery scans segments in order, truncates a torn tail (and syncs
//! the truncation unless `none`), and fails with `Corrupt` on damage in the
//! middle of a segment. An explicit `sync` also syncs, under `none`, the
//! segments sealed since the last one ([`Syncer::sync_everything`]). A
//! failed directory fsync poisons the log like a failed file sync.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use crate::combine::{Combiner, Log, WriteOp};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats, LoggedOp};
use crate::events::EventKind;
use crate::fs::{EngineDir, FileHandle};
use crate::logfile::{self, LogFile};
use crate::record::{self, Record};
use crate::syncer::{Syncer, Ticket};
use crate::{Error, Result};

const EXT: &str = ".wal";

/// The WAL's capabilities: writes and replay, no reads.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: false,
    range_scans: false,
    deletes: true,
    replay: true,
};

#[derive(Debug)]
struct Segment {
    first_seq: u64,
    name: String,
}

#[derive(Debug)]
struct Writer {
    active: LogFile,
    /// Closed segments followed by the active one, oldest first.
    segments: Vec<Segment>,
    next_seq: u64,
    buf: Vec<u8>,
}

/// The segmented write-ahead log engine.
#[derive(Debug)]
pub struct Wal {
    dir: EngineDir,
    segment_bytes: u64,
    reserve_step: u64,
    writer: Mutex<Writer>,
    syncer: Syncer,
    /// Under `group`, batches concurrent writes (see [`crate::combine`]).
    combiner: Combiner,
    closed: AtomicBool,
    user_bytes: AtomicU64,
    wal_bytes: AtomicU64,
    checkpoints: AtomicU64,
    torn_bytes: u64,
}

fn segment_name(first_seq: u64) -> String {
    format!("{first_seq:020}{EXT}")
}

fn parse_segment(name: &str) -> Option<u64> {
    name.strip_suffix(EXT)?.parse().ok()
}

impl Wal {
    /// Opens (recovering) or creates a WAL in `config.dir`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?
            .with_events(config.events.clone());
        dir.remove_temporaries()?;
        let mut firsts: Vec<u64> = dir
            .list()?
            .iter()
            .filter_map(|n| parse_segment(n))
            .collect();
        firsts.sort_unstable();

        let mut segments = Vec::new();
        let mut next_seq = 1;
        let mut torn_bytes = 0;
        let mut active = None;
        for &first in &firsts {
            let name = segment_name(first);
            let file = dir.open_file(&name)?;
            let image = file.read_all()?;
            let end = record::recover_log(&file, &image, config.policy, |_, rec| {
                next_seq = next_seq.max(rec.seq + 1);
                Ok(())
            })?;
            torn_bytes += end.torn_bytes;
            next_seq = next_seq.max(first);
            segments.push(Segment {
                first_seq: first,
                name,
            });
            active = Some((file, end.valid_len));
        }
        let reserve_step = logfile::reserve_step(config.policy, config.segment_bytes);
        let (file, len) = match active {
            Some(a) => a,
            None => {
                let name = segment_name(next_seq);
                let file = dir.create(&name)?;
                segments.push(Segment {
                    first_seq: next_seq,
                    name,
                });
                (file, 0)
            }
        };
        let active = LogFile::new(file, len, reserve_step)?;
        let syncer = Syncer::for_dir(config.policy, &dir);
        Ok(Wal {
            dir,
            segment_bytes: config.segment_bytes,
            reserve_step,
            writer: Mutex::new(Writer {
                active,
                segments,
                next_seq,
                buf: Vec::with_capacity(4096),
            }),
            syncer,
            combiner: Combiner::new(config.policy.mode),
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
            wal_bytes: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            torn_bytes,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn active_file(&self) -> FileHandle {
        self.lock().active.file().clone()
    }

    /// Appends `ops` as one batch that replays all or nothing; returns the
    /// sequence number of its first operation. Acknowledged per policy.
    pub fn append_batch(&self, ops: &[(&[u8], Option<&[u8]>)]) -> Result<u64> {
        self.check_open()?;
        if ops.is_empty() {
            return Ok(self.lock().next_seq);
        }
        for (k, v) in ops {
            record::check_sizes(k, *v)?;
        }
        self.syncer.check()?;
        let (first, ticket) = self.append(ops, true)?;
        self.commit_ticket(ticket)?;
        Ok(first)
    }

    /// One put or delete: under `group`, combined with the other writers'
    /// ([`crate::combine`]).
    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        record::check_sizes(key, value)?;
        self.syncer.check()?;
        self.combiner.write(self, key, value)
    }

    /// Logs `ops` with one write (`linked`: as one batch that replays all
    /// or nothing, else as independent records): the first sequence number
    /// and the ticket, still to be committed.
    fn append<W: WriteOp>(&self, ops: &[W], linked: bool) -> Result<(u64, Ticket)> {
        let mut w = self.lock();
        let first = w.next_seq;
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        for (i, op) in ops.iter().enumerate() {
            record::encode_into(
                &mut buf,
                &Record {
                    seq: first + i as u64,
                    key: op.key(),
                    value: op.value(),
                    batch_continues: linked && i + 1 < ops.len(),
                },
            );
        }
        let result = self.append_locked(&mut w, &buf, first);
        w.buf = buf;
        result?;
        w.next_seq = first + ops.len() as u64;
        let user: usize = ops
            .iter()
            .map(|op| op.key().len() + op.value().map_or(0, <[u8]>::len))
            .sum();
        self.user_bytes.fetch_add(user as u64, Relaxed);
        Ok((first, self.syncer.appended_many(ops.len() as u64)))
    }

    /// Appends encoded bytes to the active segment, rotating first if they
    /// would take it past the size limit. A failed append is cut back off the
    /// file; if even that fails the log is poisoned.
    fn append_locked(&self, w: &mut Writer, bytes: &[u8], first_seq: u64) -> Result<()> {
        if !w.active.is_empty() && w.active.len() + bytes.len() as u64 > self.segment_bytes {
            self.rotate_locked(w, first_seq)?;
        }
        w.active.append(bytes, &self.syncer)?;
        self.wal_bytes.fetch_add(bytes.len() as u64, Relaxed);
        Ok(())
    }

    /// Seals the active segment (trimmed, synced unless `none`) and starts
    /// a new one for `first_seq` (its directory entry synced under `+dir`).
    fn rotate_locked(&self, w: &mut Writer, first_seq: u64) -> Result<()> {
        let mut span = self.dir.events().begin(EventKind::Rotation);
        w.active.trim()?;
        self.syncer.seal(w.active.file())?;
        let name = segment_name(first_seq);
        span.detail(|| name.clone());
        let file = self.dir.create(&name)?;
        w.segments.push(Segment { first_seq, name });
        w.active = LogFile::new(file, 0, self.reserve_step)?;
        Ok(())
    }

    /// Every logged operation with sequence number `>= from`, in order.
    pub fn replay_from(&self, from: u64) -> Result<Vec<LoggedOp>> {
        self.check_open()?;
        let w = self.lock();
        let mut ops = Vec::new();
        for (i, seg) in w.segments.iter().enumerate() {
            let next_first = w.segments.get(i + 1).map(|s| s.first_seq);
            if next_first.is_some_and(|n| n <= from) {
                continue;
            }
            let file = if i + 1 == w.segments.len() {
                w.active.file().clone()
            } else {
                self.dir.open_file(&seg.name)?
            };
            let image = file.read_all()?;
            record::scan_log(&image, file.path(), |_, rec| {
                if rec.seq >= from {
                    ops.push(LoggedOp {
                        seq: rec.seq,
                        key: rec.key.to_vec(),
                        value: rec.value.map(<[u8]>::to_vec),
                    });
                }
                Ok(())
            })?;
        }
        Ok(ops)
    }

    /// Drops every closed segment whose operations all have sequence numbers
    /// below `upto` (the caller has applied them elsewhere). The active
    /// segment is never dropped. Returns how many segments were removed.
    pub fn checkpoint(&self, upto: u64) -> Result<usize> {
        self.check_open()?;
        let mut w = self.lock();
        let mut span = self.dir.events().begin(EventKind::Checkpoint);
        let n = w.segments.len();
        let droppable = (0..n.saturating_sub(1))
            .take_while(|&i| w.segments[i + 1].first_seq <= upto)
            .count();
        let names: Vec<String> = w.segments[..droppable]
            .iter()
            .map(|s| s.name.clone())
            .collect();
        span.detail(|| format!("segments dropped={droppable} upto seq {upto}"));
        self.dir.remove_all(&names)?;
        w.segments.drain(..droppable);
        self.checkpoints.fetch_add(1, Relaxed);
        Ok(droppable)
    }

    /// The sequence number the next appended operation will get.
    pub fn next_seq(&self) -> u64 {
        self.lock().next_seq
    }
}

impl Log for Wal {
    /// Independent records, each replayed by itself.
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        Ok(self.append(ops, false)?.1)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        self.syncer.commit(ticket, &|| self.active_file())
    }
}

impl Engine for Wal {
    fn name(&self) -> &'static str {
        "wal"
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, Some(value))
    }

    fn get(&self, _key: &[u8]) -> Result<Option<Vec<u8>>> {
        Err(Error::Unsupported {
            engine: "wal",
            operation: "get",
        })
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.write(key, None)
    }

    fn scan(
        &self,
        _start: &[u8],
        _end: Option<&[u8]>,
        _limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Err(Error::Unsupported {
            engine: "wal",
            operation: "scan",
        })
    }

    fn replay(&self, from: u64) -> Result<Vec<LoggedOp>> {
        self.replay_from(from)
    }

    fn sync(&self) -> Result<()> {
        self.check_open()?;
        self.syncer
            .sync_everything(&self.dir, &|| self.active_file())
    }

    /// The WAL's maintenance is rotation: the active segment, if it holds
    /// anything, is sealed and a new one started, as when it fills up.
    /// (A checkpoint needs the sequence number a caller applied up to, so
    /// it stays [`Wal::checkpoint`].)
    fn maintain(&self) -> Result<()> {
        self.check_open()?;
        self.syncer.check()?;
        let mut w = self.lock();
        if w.active.is_empty() {
            return Ok(());
        }
        let next = w.next_seq;
        self.rotate_locked(&mut w, next)
    }

    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        self.syncer.close(&|| self.active_file())
    }

    fn stats(&self) -> EngineStats {
        let w = self.lock();
        let mut disk_bytes = 0;
        for (i, seg) in w.segments.iter().enumerate() {
            disk_bytes += if i + 1 == w.segments.len() {
                w.active.len()
            } else {
                self.dir
                    .open_file(&seg.name)
                    .and_then(|f| f.len())
                    .unwrap_or(0)
            };
        }
        let s = self.syncer.stats();
        let mut stats = EngineStats {
            live_keys: None,
            files: w.segments.len() as u64,
            disk_bytes,
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: s.writes,
            log_syncs: s.syncs,
            recovered_torn_bytes: self.torn_bytes,
            ..EngineStats::default()
        };
        stats
            .bytes_written_by_kind
            .insert("wal".into(), self.wal_bytes.load(Relaxed));
        stats
            .maintenance_runs
            .insert("checkpoints".into(), self.checkpoints.load(Relaxed));
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::SyncPolicy;

    fn open(dir: &std::path::Path, segment_bytes: u64) -> Wal {
        let mut c = EngineConfig::new(dir, SyncPolicy::NONE);
        c.segment_bytes = segment_bytes;
        Wal::open(c).unwrap()
    }

    #[test]
    fn sequence_numbers_continue_after_reopen() {
        let t = tempfile::tempdir().unwrap();
        let w = open(t.path(), 1 << 20);
        assert_eq!(w.append_batch(&[(b"a", Some(b"1"))]).unwrap(), 1);
        assert_eq!(
            w.append_batch(&[(b"b", Some(b"2")), (b"c", None)]).unwrap(),
            2
        );
        w.close().unwrap();
        let w = open(t.path(), 1 << 20);
        assert_eq!(w.next_seq(), 4);
        let ops = w.replay_from(2).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[1].value, None);
    }

    #[test]
    fn checkpoint_drops_only_whole_old_segments() {
        let t = tempfile::tempdir().unwrap();
        let w = open(t.path(), 200);
        for i in 0..50u32 {
            w.put(format!("key{i:04}").as_bytes(), &[7u8; 40]).unwrap();
        }
        let before = w.stats().files;
        assert!(before > 5, "expected rotation, got {before} segments");
        w.checkpoint(25).unwrap();
        let ops = w.replay_from(1).unwrap();
        // Nothing at or after 25 was dropped, and older whole segments were.
        assert!(ops.iter().any(|o| o.seq == 25));
        assert!(ops.first().unwrap().seq > 1);
        assert!(w.stats().files < before);
        assert_eq!(ops.last().unwrap().seq, 50);
    }

    #[test]
    fn record_larger_than_a_segment_gets_its_own() {
        let t = tempfile::tempdir().unwrap();
        let w = open(t.path(), 100);
        w.put(b"small", b"x").unwrap();
        w.put(b"big", &[1u8; 1000]).unwrap();
        w.put(b"small2", b"y").unwrap();
        assert_eq!(w.replay_from(0).unwrap().len(), 3);
    }
}
