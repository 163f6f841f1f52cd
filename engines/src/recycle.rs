//! [`LogPool`]: covered log files kept for the next generation to write
//! into (RocksDB's `recycle_log_file_num`), shared by the lsm WAL and the
//! btree redo WAL.
//!
//! An engine whose log is numbered by generation (the lsm WAL by memtable,
//! the btree WAL by checkpoint) drops a generation once something durable
//! covers its records (a manifest naming the flushed table; a checkpoint).
//! Instead of removing that file, the pool keeps it (at most
//! [`POOL_FILES`]), and the next generation renames it to its own name and
//! writes its records from offset 0 over the old bytes. The file keeps its
//! size and its written extents, so an `fdatasync` after an append into it
//! changes no metadata at all: better than appending (a size change per
//! sync, a journal commit on ext4/xfs) and better than reserved space
//! ([`crate::logfile`]: zeros written once before the records, so every
//! byte twice). Files beyond the pool are removed as before. The cost is space:
//! a recycled file keeps the size its largest generation reached. A
//! closing engine removes its pooled files and cuts its active log back to
//! its records ([`LogPool::release`]).
//!
//! Only under policies that sync data: under `none` the pool is empty,
//! files are created and removed exactly as without it, and records carry
//! no generation (nothing syncs an append there, so there is nothing to
//! save).
//!
//! ## Format
//!
//! A recyclable log's records carry its generation in the CRC-covered
//! header ([`crate::record`], flag bit 2 and a u64 after the lengths), from
//! the file's first record on; the generation is the number in the file's
//! name. A recycled file therefore holds, in order: this generation's
//! records, then whatever the older generations left (their records, torn
//! pieces of them where the new records end mid-record, their reserved
//! zeros). Recovery reads a log with [`crate::record::scan_generation`]: a
//! record of another generation, or bytes that are no header of this one,
//! end the log cleanly (`recycled_bytes`), and only records of this
//! generation count as evidence of mid-file corruption. Only files this
//! pool began (records with a generation from offset 0) are recycled, so a
//! recycled file never holds records without one, which a generation scan
//! would take as its own; a file found at recovery (possibly begun under
//! `none`, without generations) is removed once covered, never recycled.
//!
//! ## Durability
//!
//! Beginning generation `g` from a pooled file `f` (covered, so none of its
//! records is needed any more):
//!
//! 1. rename `f` to `g`'s name (one name operation: a crash keeps it whole
//!    or not at all);
//! 2. make the rename durable before anything is written under the new
//!    name: under `+dir`, `fsync` the directory (as after creating a file);
//!    without `+dir`, `fsync` (never `fdatasync`) the file itself. The
//!    rename changed the file's ctime, which `fsync` commits and
//!    `fdatasync` need not: on ext4, an `fdatasync` after an overwrite
//!    that changes no size commits no journal transaction (that is the
//!    point of recycling), so without this step the rename would wait for
//!    the next periodic journal commit (5 s by default), while a new file
//!    created without `+dir` gets its name committed by the first
//!    `fdatasync` that grows it. With it, a policy without `+dir` keeps
//!    today's exposure: POSIX promises nothing for the name (the `posix`
//!    profile loses it: "lost (no dir sync: expected)"), ext4 and xfs keep
//!    it (the `linux` profile, where a file sync commits the names before
//!    it);
//! 3. append the new generation's records from offset 0, synced as the
//!    policy says; past the old size, [`crate::logfile::LogFile`] reserves
//!    as for any log.
//!
//! What recovery finds, and does:
//!
//! - **The rename was lost** (a crash between 1 and 2): the file still has
//!   its old, covered name and is removed like any covered generation
//!   (`<= flushed_gen` in the lsm manifest, `<= checkpoint_gen` in the
//!   btree meta page). Nothing acknowledged was in it: no write is
//!   acknowledged before step 2 (under `+dir`; without it only on `posix`
//!   may the name still be lost, with every write in the file, the loss
//!   `+dir` exists to prevent).
//! - **The rename was kept, none of the new records reached the disk**:
//!   the file starts with an older generation's record (or pieces of one):
//!   the log is empty, nothing is replayed. Replaying those records would
//!   bring back values that newer, flushed or checkpointed writes replaced.
//! - **New records, then old ones**: the new ones are replayed, the first
//!   old one ends the log.
//! - **A torn new record, then old ones**: a torn tail (truncated, and the
//!   truncation synced), not corruption, because the old records after it
//!   are not of this generation.
//!
//! The pool lives in memory: after a crash, the covered files on disk are
//! removed by recovery, and the pool fills again as generations are
//! covered.

use std::collections::BTreeSet;

use crate::events::EventKind;
use crate::fs::{EngineDir, FileHandle};
use crate::logfile::LogFile;
use crate::Result;

/// Covered log files kept for reuse (per log). One suffices: the lsm
/// flushes a generation before it starts the one after next, and the
/// btree recycles the generation a checkpoint just covered into the next.
pub const POOL_FILES: usize = 1;

/// A deliberate bug, for tests that must catch it (set only by tests).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PoolFault {
    /// Records carry no generation, yet files are recycled: recovery
    /// cannot tell an older generation's leftovers from new records.
    OmitGeneration,
    /// The rename is not made durable before writes into the file.
    SkipRenameSync,
}

/// The files of one generation-numbered log that may be, or are kept to
/// be, recycled. Not synchronised: the engine holds it under a lock.
#[derive(Debug)]
pub struct LogPool {
    dir: EngineDir,
    capacity: usize,
    /// Files this pool began with generation records from offset 0: the
    /// only ones that may be recycled.
    begun: BTreeSet<String>,
    /// Covered files kept under their old names, oldest first.
    free: Vec<String>,
    /// Generations begun in a recycled file.
    recycled: u64,
    #[cfg(test)]
    pub(crate) fault: Option<PoolFault>,
}

impl LogPool {
    /// A pool of up to [`POOL_FILES`] files for logs in `dir`; empty under
    /// a policy that never syncs data.
    pub fn new(dir: &EngineDir) -> Self {
        Self::with_capacity(dir, POOL_FILES)
    }

    /// A pool of up to `capacity` files (0: never recycle); empty under a
    /// policy that never syncs data.
    pub fn with_capacity(dir: &EngineDir, capacity: usize) -> Self {
        LogPool {
            dir: dir.clone(),
            capacity: if dir.policy().syncs_data() {
                capacity
            } else {
                0
            },
            begun: BTreeSet::new(),
            free: Vec::new(),
            recycled: 0,
            #[cfg(test)]
            fault: None,
        }
    }

    /// Whether logs are recycled (and their records carry a generation).
    pub fn recycles(&self) -> bool {
        self.capacity > 0
    }

    /// The generation the records of generation `generation`'s log carry:
    /// `Some` when the pool recycles.
    fn record_generation(&self, generation: u64) -> Option<u64> {
        #[cfg(test)]
        if self.fault == Some(PoolFault::OmitGeneration) {
            return None;
        }
        self.recycles().then_some(generation)
    }

    /// Starts the log of `generation` in file `name`: a pooled file renamed
    /// to it (the rename made durable first, see the module doc), else a
    /// new file (directory sync under `+dir`). Appends reserve in steps of
    /// `step` bytes past the file's size.
    pub fn begin(&mut self, name: &str, generation: u64, step: u64) -> Result<LogFile> {
        let file = match self.free.pop() {
            Some(old) => {
                let mut span = self.dir.events().begin(EventKind::Recycle);
                span.detail(|| format!("{old} -> {name}"));
                self.rename(&old, name)?;
                self.recycled += 1;
                let file = self.dir.open_file(name)?;
                if !self.dir.policy().dir_sync && !self.faulty(PoolFault::SkipRenameSync) {
                    self.dir.sync_file_metadata(&file)?;
                }
                file
            }
            None => self.dir.create(name)?,
        };
        if self.recycles() {
            self.begun.insert(name.to_string());
        }
        LogFile::with_generation(file, 0, step, self.record_generation(generation))
    }

    fn rename(&self, from: &str, to: &str) -> Result<()> {
        if self.faulty(PoolFault::SkipRenameSync) {
            return self
                .dir
                .vfs()
                .rename(&self.dir.join(from), &self.dir.join(to));
        }
        self.dir.rename(from, to)
    }

    #[cfg(test)]
    fn faulty(&self, fault: PoolFault) -> bool {
        self.fault == Some(fault)
    }

    #[cfg(not(test))]
    fn faulty(&self, _: PoolFault) -> bool {
        false
    }

    /// Continues a log found at recovery, whose records end at `len`: its
    /// new records carry `generation` when the pool recycles, but the file
    /// itself is never recycled (it may hold records without one).
    pub fn continue_log(
        &self,
        file: FileHandle,
        len: u64,
        step: u64,
        generation: u64,
    ) -> Result<LogFile> {
        LogFile::with_generation(file, len, step, self.record_generation(generation))
    }

    /// The logs in files `names` are covered (nothing in them is needed any
    /// more): keeps those this pool began, up to its capacity, for
    /// [`LogPool::begin`], and removes the others (one directory sync under
    /// `+dir`).
    pub fn retire<S: AsRef<str>>(&mut self, names: &[S]) -> Result<()> {
        let mut remove = Vec::new();
        for n in names {
            let n = n.as_ref();
            if self.begun.remove(n) && self.free.len() < self.capacity {
                self.free.push(n.to_string());
            } else {
                remove.push(n);
            }
        }
        self.dir.remove_all(&remove)
    }

    /// Starts the log of `generation` in file `name` in place of the logs
    /// in `covered` (a checkpoint covered them): when the pool recycles,
    /// retires them first so that one can become the new log; otherwise
    /// creates the new file first and then removes them, as without a
    /// pool.
    pub fn replace<S: AsRef<str>>(
        &mut self,
        covered: &[S],
        name: &str,
        generation: u64,
        step: u64,
    ) -> Result<LogFile> {
        if self.recycles() {
            self.retire(covered)?;
            self.begin(name, generation, step)
        } else {
            let log = self.begin(name, generation, step)?;
            self.retire(covered)?;
            Ok(log)
        }
    }

    /// For a closing engine: removes the pooled files (covered: recovery
    /// would remove them too; one directory sync under `+dir`) and gives
    /// back `active`'s space past its last record, so that a closed
    /// engine's directory holds its data, not spare log space. Not synced:
    /// space that comes back after a crash ends the log all the same. Does
    /// nothing when the pool does not recycle.
    pub fn release(&mut self, active: &mut LogFile) -> Result<()> {
        if !self.recycles() {
            return Ok(());
        }
        let free = std::mem::take(&mut self.free);
        self.dir.remove_all(&free)?;
        active.trim_all()
    }

    /// Generations begun in a recycled file so far.
    pub fn recycled(&self) -> u64 {
        self.recycled
    }

    /// Covered files kept for reuse now.
    pub fn pooled(&self) -> usize {
        self.free.len()
    }
}

#[cfg(test)]
pub(crate) mod tests;
