//! [`LogFile`]: the one writer every synced log goes through (wal
//! segments, hashlog data files, the lsm WAL, the btree redo WAL).
//!
//! ## Format
//!
//! A log file is a run of records in the shared framing of
//! [`crate::record`], from offset 0, followed by *reserved space*: zeros
//! that [`crate::fs::VFile::allocate`] wrote ahead of the appends, in steps
//! of [`reserve_step`] bytes (under every policy but `none`). The file's size is therefore not the end of
//! the log. The end is found by the records: [`crate::record::scan_log`]
//! stops at the first bytes that do not decode, and zeros never decode (a
//! record's CRC over an all-zero header is not zero), so reserved space
//! ends the log like a torn tail does, without being counted as torn.
//!
//! A log that stops taking appends (rotation, a new generation) gives its
//! unused reservation back ([`LogFile::trim`]), so immutable logs end at
//! their last record; a crash before that leaves zeros, which recovery
//! trims ([`crate::record::recover_log`]).
//!
//! A *recyclable* log ([`LogFile::generation`] is set; see
//! [`crate::recycle`]) writes its generation into every record's header
//! and keeps its reservation when it stops taking appends: its file may be
//! renamed to a later generation and overwritten from offset 0, and then
//! the old generation's records (not zeros) follow the new ones, ending
//! the log ([`crate::record::scan_generation`]).
//!
//! ## Durability
//!
//! Why reserve: an `fdatasync` after an append that grew the file must
//! commit the new size (metadata) through the filesystem journal; one after
//! an overwrite inside the file's size need not (ext4, xfs). Appends into
//! reserved space are such overwrites, so under `always`/`group`/`batch`
//! only the sync after a reservation step pays for a size change and for
//! the step's zeros: one in `reserve_step / record size` writes. The
//! zeros are written, not `fallocate`d ([`crate::fs::VFile::allocate`]):
//! an append into a `fallocate`d block converts an unwritten extent, which
//! the sync must commit too, and under `batch:32` (two new blocks per sync)
//! that cost 15% of the throughput. The price is that every log byte is
//! written twice, once as a zero (PostgreSQL's `wal_init_zero`); recycled
//! logs ([`crate::recycle`]) skip it. The reservation itself is made
//! durable by the next sync of the file, like the records written into it;
//! a crash before that sync loses it (the file is shorter), which loses
//! nothing acknowledged, since no acknowledged record is past an unsynced
//! size.
//!
//! Better still is a file whose blocks are already written: a recycled
//! log ([`crate::recycle`]) overwrites an older generation's bytes, so an
//! append into it changes neither the size nor an extent's state, and
//! needs no zeros written first. Its rename must be durable before
//! anything written into it is acknowledged; [`crate::recycle`] says how.
//!
//! A failed write or reservation is cut back off the file (`set_len` to the
//! end of the last whole record): the next record starts there, and no
//! partial record can sit between records. If even the cut fails, the
//! syncer is poisoned and no later write is acknowledged.

use crate::fs::FileHandle;
use crate::policy::SyncPolicy;
use crate::syncer::Syncer;
use crate::{Error, Result};

/// Largest reservation step (1 MiB): at 121-byte records, one size change
/// per ~8,600 appends, and at most 1 MiB of zeros for recovery to read.
pub const MAX_RESERVE_STEP: u64 = 1 << 20;

/// The reservation step for a log that grows to about `log_bytes` before
/// it rotates: a quarter of that, between 256 bytes and
/// [`MAX_RESERVE_STEP`] (small test segments get several steps each). 0 (no
/// reservation) under `none`: nothing syncs an append, so there is no size
/// change to save, and writing into reserved (unwritten) extents costs
/// more per buffered write than appending (measured on ext4 with the
/// criterion `put_none` bench).
pub fn reserve_step(policy: SyncPolicy, log_bytes: u64) -> u64 {
    if !policy.syncs_data() {
        return 0;
    }
    (log_bytes / 4).clamp(256, MAX_RESERVE_STEP)
}

/// An open log: the file, the end of its records, and how far the file is
/// reserved. Not synchronised: the engine holds it under its write lock.
#[derive(Debug)]
pub struct LogFile {
    file: FileHandle,
    /// End of the last whole record: where the next append goes.
    len: u64,
    /// File size as this writer left it (`>= len`).
    reserved: u64,
    step: u64,
    /// The generation written into every record (recyclable logs).
    generation: Option<u64>,
}

impl LogFile {
    /// Continues the log in `file`, whose records end at `len` (0 for a new
    /// file; `LogEnd::valid_len` after recovery), reserving in steps of
    /// `step` bytes (0: never reserve, every append grows the file).
    pub fn new(file: FileHandle, len: u64, step: u64) -> Result<Self> {
        Self::with_generation(file, len, step, None)
    }

    /// As [`LogFile::new`], for a log whose records carry `generation`
    /// (`Some`: a recyclable log). Everything in the file past `len` (zeros,
    /// or an older generation's records in a recycled file) is overwritten
    /// by the appends.
    pub fn with_generation(
        file: FileHandle,
        len: u64,
        step: u64,
        generation: Option<u64>,
    ) -> Result<Self> {
        let size = file.len()?;
        Ok(LogFile {
            file,
            len,
            reserved: size.max(len),
            step,
            generation,
        })
    }

    /// The generation its records must carry
    /// ([`crate::record::encode_into_generation`]); `None` for a log that
    /// is never recycled.
    pub fn generation(&self) -> Option<u64> {
        self.generation
    }

    /// The file (the sync target).
    pub fn file(&self) -> &FileHandle {
        &self.file
    }

    /// End of the last whole record.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no record was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes `bytes` (whole records) at the end of the log with one
    /// positional write, reserving the next step first when they would not
    /// fit. Returns the offset they were written at. On failure the file is
    /// cut back to the last whole record; if that fails too, `syncer` is
    /// poisoned.
    pub fn append(&mut self, bytes: &[u8], syncer: &Syncer) -> Result<u64> {
        let at = self.len;
        let end = at + bytes.len() as u64;
        if end > self.reserved && self.step > 0 {
            let target = end.div_ceil(self.step) * self.step;
            if let Err(e) = self.file.allocate(target) {
                return Err(self.cut_back(e, syncer));
            }
            self.reserved = target;
        }
        if let Err(e) = self.file.write_at(bytes, at) {
            return Err(self.cut_back(e, syncer));
        }
        self.len = end;
        self.reserved = self.reserved.max(end);
        Ok(at)
    }

    fn cut_back(&mut self, e: Error, syncer: &Syncer) -> Error {
        match self.file.set_len(self.len) {
            Ok(()) => self.reserved = self.len,
            Err(_) => syncer.poison(&e),
        }
        e
    }

    /// Gives the unused reservation back (the file ends at its last record);
    /// call before the log stops taking appends. Not synced here: the seal
    /// that follows syncs it (unless `none`), and zeros that come back after
    /// a crash end the log all the same. A recyclable log keeps its size:
    /// its next generation writes into it.
    pub fn trim(&mut self) -> Result<()> {
        if self.generation.is_none() {
            self.trim_all()?;
        }
        Ok(())
    }

    /// As [`LogFile::trim`], also for a recyclable log (whose space past
    /// its records may be an older generation's leftovers): the file ends
    /// at its last record. For a closing engine.
    pub fn trim_all(&mut self) -> Result<()> {
        if self.reserved > self.len {
            self.file.set_len(self.len)?;
            self.reserved = self.len;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{CrashMode, Profile, SimFs, Vfs};
    use crate::record::{self, Record};
    use std::path::Path;

    fn rec(seq: u64) -> Vec<u8> {
        record::encode(&Record {
            seq,
            key: b"key",
            value: Some(&[7u8; 40]),
            batch_continues: false,
        })
    }

    #[test]
    fn appends_fill_reserved_space_and_the_records_end_the_log() {
        let fs = SimFs::new(Profile::Posix);
        fs.create_dir_all(Path::new("/d")).unwrap();
        let f = fs.create(Path::new("/d/a.wal")).unwrap();
        let syncer = Syncer::new(SyncPolicy::ALWAYS);
        let mut log = LogFile::new(f.clone(), 0, 256).unwrap();
        let one = rec(1).len() as u64;
        assert_eq!(log.append(&rec(1), &syncer).unwrap(), 0);
        assert_eq!(f.len().unwrap(), 256, "a whole step reserved");
        assert_eq!(log.append(&rec(2), &syncer).unwrap(), one);
        f.sync_data().unwrap();
        let image = f.read_all().unwrap();
        let end = record::scan_log(&image, f.path(), |_, _| Ok(())).unwrap();
        assert_eq!((end.records, end.valid_len), (2, 2 * one));
        assert_eq!(end.torn_bytes, 0, "reserved zeros are not torn bytes");
        assert_eq!(end.reserved_bytes, 256 - 2 * one);
        log.trim().unwrap();
        assert_eq!(f.len().unwrap(), 2 * one);
    }

    /// A crash at any point of a log that reserves as it goes keeps a
    /// prefix of the records that scans cleanly, and every synced record.
    #[test]
    fn a_crash_during_reservation_keeps_every_synced_record() {
        for profile in [Profile::Posix, Profile::Linux] {
            let fs = SimFs::new(profile);
            fs.create_dir_all(Path::new("/d")).unwrap();
            let f = fs.create(Path::new("/d/a.wal")).unwrap();
            fs.sync_dir(Path::new("/d")).unwrap();
            let syncer = Syncer::new(SyncPolicy::ALWAYS);
            let mut log = LogFile::new(f.clone(), 0, 256).unwrap();
            for seq in 1..=20u64 {
                log.append(&rec(seq), &syncer).unwrap();
                // Every other record synced: the ones between, and the
                // reservations they caused, are pending at the crash.
                if seq % 2 == 0 {
                    f.sync_data().unwrap();
                }
                for seed in 0..8 {
                    for mode in CrashMode::ALL {
                        let (c, _) = fs.crash(seed * 31 + seq, mode);
                        let g = c.open(Path::new("/d/a.wal")).unwrap();
                        let image = g.read_all().unwrap();
                        let end = record::scan_log(&image, g.path(), |_, _| Ok(()))
                            .unwrap_or_else(|e| panic!("{profile:?} {mode:?} {seq}: {e}"));
                        assert!(
                            end.records >= seq - seq % 2,
                            "{profile:?} {mode:?} after {seq}: {} records",
                            end.records
                        );
                    }
                }
            }
        }
    }
}
