//! Writing tables: a flush turns the immutable memtable into one level-0
//! table; compaction streams its merged output through the same
//! [`Inner::write_tables`].
//!
//! Each table is written under a temporary name, synced (unless `none`) and
//! renamed into place (directory sync under `+dir`, else an `fsync` of the
//! renamed table unless `none`, see [`crate::fs::ReplaceFile`]); then the manifest
//! naming it replaces the old one the same way. Only after that manifest
//! is durable are the WAL generations the flush covered removed (or kept
//! for recycling), so a crash at any point leaves either the WAL or a
//! table the manifest names holding every acknowledged write.

use std::sync::atomic::Ordering::{Relaxed, Release};
use std::sync::Arc;

use crate::events::EventKind;
use crate::fs::ReplaceFile;
use crate::Result;

use super::manifest::Manifest;
use super::sstable::{Table, TableWriter};
use super::{lock, sst_name, wal_name, Inner};

/// The table being written: its id, its temporary file and its writer.
type Pending = (u64, ReplaceFile, TableWriter);

impl Inner {
    /// Flushes both memtables (at close, with the flush thread stopped).
    pub(super) fn flush_for_close(&self) -> Result<()> {
        self.flush()?;
        let mut w = lock(&self.wal);
        self.apply_pending();
        if self.tree().mem.map.is_empty() {
            return Ok(());
        }
        self.rotate_memtable(&mut w)?;
        drop(w);
        self.flush()
    }

    /// Flushes the immutable memtable, if any, to a level-0 table.
    pub(super) fn flush(&self) -> Result<()> {
        let _one = lock(&self.maintenance);
        let Some(imm) = self.tree().imm.clone() else {
            return Ok(());
        };
        let mut span = self.dir.events().begin(EventKind::Flush);
        let (tables, bytes) = self.write_tables(
            imm.map
                .iter()
                .map(|(k, v)| Ok((k.as_slice(), v.as_deref()))),
            false,
        )?;
        self.counters.flush_bytes.fetch_add(bytes, Relaxed);
        span.detail(|| {
            let ids: Vec<String> = tables.iter().map(|t| sst_name(t.id)).collect();
            format!("memtable {} -> {} out={bytes}", imm.gen, ids.join(","))
        });
        let mut version = self.tree().version.clone();
        for t in tables {
            version.levels[0].insert(0, t);
        }
        {
            let mut m = lock(&self.manifest);
            m.levels = version.ids();
            m.flushed_gen = imm.gen;
            self.store_manifest(&m)?;
        }
        {
            let mut t = self.tree_mut();
            t.version = version;
            t.imm = None;
            self.has_imm.store(false, Release);
        }
        {
            let _g = lock(&self.flushed_lock);
            self.flushed.notify_all();
        }
        self.retire_wals(imm.gen)?;
        self.counters.flushes.fetch_add(1, Relaxed);
        Ok(())
    }

    /// The manifest naming the tables is durable: drops (or pools for
    /// recycling) the WAL generations up to `gen`.
    fn retire_wals(&self, gen: u64) -> Result<()> {
        let covered: Vec<String> = {
            let mut gens = lock(&self.wal_gens);
            let (old, keep): (Vec<u64>, Vec<u64>) = gens.iter().partition(|&&g| g <= gen);
            *gens = keep;
            old.into_iter().map(wal_name).collect()
        };
        lock(&self.wal_pool).retire(&covered)
    }

    /// Replaces the manifest, counting its bytes.
    pub(super) fn store_manifest(&self, m: &Manifest) -> Result<()> {
        let n = m.store(&self.dir)?;
        self.counters.manifest_bytes.fetch_add(n as u64, Relaxed);
        Ok(())
    }

    fn alloc_table(&self) -> u64 {
        let mut m = lock(&self.manifest);
        let id = m.next_table;
        m.next_table += 1;
        id
    }

    /// Streams sorted entries into new tables of about `memtable_bytes`
    /// each (a single table when `split` is false), each through a
    /// temporary file; returns the tables, in key order, and the bytes
    /// written. Writes nothing for no entries.
    pub(super) fn write_tables(
        &self,
        entries: impl Iterator<Item = Result<(impl AsRef<[u8]>, Option<impl AsRef<[u8]>>)>>,
        split: bool,
    ) -> Result<(Vec<Arc<Table>>, u64)> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let mut cur: Option<Pending> = None;
        let run = || -> Result<()> {
            for e in entries {
                let (k, v) = e?;
                let (_, _, w) = match &mut cur {
                    Some(c) => c,
                    None => cur.insert(self.begin_table()?),
                };
                w.add(k.as_ref(), v.as_ref().map(AsRef::as_ref))?;
                if split && w.bytes() >= self.memtable_bytes {
                    if let Some(c) = cur.take() {
                        bytes += self.finish_table(c, &mut out)?;
                    }
                }
            }
            if let Some(c) = cur.take() {
                bytes += self.finish_table(c, &mut out)?;
            }
            Ok(())
        };
        if let Err(e) = run() {
            // Tables already renamed into place are orphans the manifest
            // does not name: recovery removes them.
            if let Some((_, rf, _)) = cur.take() {
                let _ = rf.abort();
            }
            return Err(e);
        }
        Ok((out, bytes))
    }

    /// A new table under a temporary name.
    fn begin_table(&self) -> Result<Pending> {
        let id = self.alloc_table();
        let rf = self.dir.replace(&sst_name(id))?;
        let w = TableWriter::new(rf.file().clone());
        Ok((id, rf, w))
    }

    /// Finishes a table, renames it into place and opens it for reading;
    /// returns its size.
    fn finish_table(&self, (id, rf, w): Pending, out: &mut Vec<Arc<Table>>) -> Result<u64> {
        let size = w.finish()?;
        rf.commit()?;
        out.push(Table::open(
            id,
            self.dir.open_file(&sst_name(id))?,
            &self.cache,
        )?);
        Ok(size)
    }
}
