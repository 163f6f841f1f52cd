//! [`RedoLog`]: the B-tree's redo WAL, one file per checkpoint generation.
//!
//! ## Format
//!
//! `NNNNNN.wal` (the generation, zero-padded to at least six digits) holds
//! the put and delete records written since the checkpoint before it, in
//! the shared framing of [`crate::record`] (crc32, flags with the tombstone
//! bit, sequence number, key and value lengths, under every policy but
//! `none` the generation, key, value), then reserved zeros or, in a
//! recycled file, an older generation's leftovers: the active generation
//! is written through [`LogFile`] and its end is found by its records
//! ([`record::scan_generation`]). A checkpoint hands the generation it
//! covered to a [`LogPool`], which renames that file to the next
//! generation's name instead of removing it (see [`crate::recycle`] for the
//! order of rename, sync and writes, and what recovery finds). Redo is
//! logical: replaying a record is `put(key, value)` or `delete(key)` on the
//! tree, which is why the data file must hold a whole checkpoint when it is
//! replayed (see [`super::pager`]).
//!
//! Generation `g` is live while the data file's meta page says
//! `checkpoint_gen < g`; recovery removes generations `<= checkpoint_gen`
//! and replays the others in order.

use crate::fs::{EngineDir, FileHandle};
use crate::logfile::LogFile;
use crate::record::{self, Record};
use crate::recycle::LogPool;
use crate::syncer::Syncer;
use crate::Result;

const EXT: &str = ".wal";

/// File name of generation `gen`.
pub fn file_name(gen: u64) -> String {
    format!("{gen:06}{EXT}")
}

/// Whether any WAL generation is on disk in `dir`.
pub fn any_on_disk(dir: &EngineDir) -> Result<bool> {
    Ok(dir.list()?.iter().any(|n| parse(n).is_some()))
}

fn parse(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(EXT)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The live WAL generations; appends go to the newest.
#[derive(Debug)]
pub struct RedoLog {
    /// Live generations, oldest first; the last is the active one.
    gens: Vec<u64>,
    log: LogFile,
    /// Covered generations' files, recycled into the next generation.
    pool: LogPool,
    reserve_step: u64,
    /// Bytes appended since open.
    pub bytes_written: u64,
    /// Torn bytes dropped by recovery.
    pub torn_bytes: u64,
}

impl RedoLog {
    /// Removes generations `<= checkpoint_gen`, passes every record of the
    /// others to `apply` in order (torn tails truncated), and continues the
    /// newest one (beginning generation `checkpoint_gen + 1` if none is
    /// left); covered generations go to `pool` from then on.
    pub fn recover(
        dir: &EngineDir,
        mut pool: LogPool,
        checkpoint_gen: u64,
        reserve_step: u64,
        mut apply: impl FnMut(&Record<'_>) -> Result<()>,
    ) -> Result<RedoLog> {
        let mut gens: Vec<u64> = dir.list()?.iter().filter_map(|n| parse(n)).collect();
        gens.sort_unstable();
        let (covered, gens): (Vec<u64>, Vec<u64>) =
            gens.into_iter().partition(|&g| g <= checkpoint_gen);
        dir.remove_all(&covered.iter().map(|&g| file_name(g)).collect::<Vec<_>>())?;
        let mut torn_bytes = 0;
        let mut last = None;
        for &g in &gens {
            let file = dir.open_file(&file_name(g))?;
            let image = file.read_all()?;
            let end =
                record::recover_generation(&file, &image, dir.policy(), g, |_, rec| apply(&rec))?;
            torn_bytes += end.torn_bytes;
            last = Some((file, end.valid_len, g));
        }
        let log = match last {
            Some((file, len, g)) => pool.continue_log(file, len, reserve_step, g)?,
            None => pool.begin(
                &file_name(checkpoint_gen + 1),
                checkpoint_gen + 1,
                reserve_step,
            )?,
        };
        let mut log = RedoLog {
            gens,
            log,
            pool,
            reserve_step,
            bytes_written: 0,
            torn_bytes,
        };
        if log.gens.is_empty() {
            log.gens.push(checkpoint_gen + 1);
        }
        Ok(log)
    }

    /// The active generation.
    pub fn gen(&self) -> u64 {
        self.gens.last().copied().unwrap_or(0)
    }

    /// The active file (the sync target).
    pub fn file(&self) -> &FileHandle {
        self.log.file()
    }

    /// The generation the records of the active file carry
    /// ([`record::encode_into_generation`]): `None` under `none`.
    pub fn record_generation(&self) -> Option<u64> {
        self.log.generation()
    }

    /// Makes the recycler misbehave (tests that must catch it).
    #[cfg(test)]
    pub(crate) fn set_pool_fault(&mut self, fault: crate::recycle::PoolFault) {
        self.pool.fault = Some(fault);
    }

    /// For a closing engine: see [`LogPool::release`].
    pub fn release_space(&mut self) -> Result<()> {
        self.pool.release(&mut self.log)
    }

    /// Generations begun in a recycled file since open.
    pub fn recycled(&self) -> u64 {
        self.pool.recycled()
    }

    /// Bytes in the active generation.
    pub fn len(&self) -> u64 {
        self.log.len()
    }

    /// Whether the active generation is empty and nothing older is live.
    pub fn is_empty(&self) -> bool {
        self.log.is_empty() && self.gens.len() <= 1
    }

    /// Live generation files.
    pub fn files(&self) -> usize {
        self.gens.len()
    }

    /// Appends encoded records with one write. A failed append is cut back
    /// off the file; if even that fails, `syncer` is poisoned.
    pub fn append(&mut self, bytes: &[u8], syncer: &Syncer) -> Result<()> {
        self.log.append(bytes, syncer)?;
        self.bytes_written += bytes.len() as u64;
        Ok(())
    }

    /// Starts generation `gen() + 1` when a checkpoint begins (the caller
    /// has sealed the active file): in a pooled file, renamed, or a new one
    /// (its name made durable before anything is appended to it, see
    /// [`crate::recycle`]). The generations before it stay live until the
    /// checkpoint covering them is written ([`RedoLog::retire_through`]).
    pub fn begin_next(&mut self) -> Result<()> {
        let next = self.gen() + 1;
        self.log = self.pool.begin(&file_name(next), next, self.reserve_step)?;
        self.gens.push(next);
        Ok(())
    }

    /// Once a checkpoint covering generations up to `gen` is in the data
    /// file: hands their files to the pool (which keeps the one it may
    /// recycle and removes the others, directory sync under `+dir`).
    pub fn retire_through(&mut self, gen: u64) -> Result<()> {
        let covered: Vec<String> = self
            .gens
            .iter()
            .filter(|&&g| g <= gen && g != self.gen())
            .map(|&g| file_name(g))
            .collect();
        self.pool.retire(&covered)?;
        let active = self.gen();
        self.gens.retain(|&g| g > gen || g == active);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sort_and_parse() {
        assert_eq!(file_name(7), "000007.wal");
        assert_eq!(parse("000007.wal"), Some(7));
        assert_eq!(parse("1234567.wal"), Some(1_234_567));
        assert_eq!(parse("x.wal"), None);
        assert_eq!(parse("+1.wal"), None);
        assert_eq!(parse("000007.wal.tmp"), None);
    }
}
