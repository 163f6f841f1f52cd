//! The read path. A get checks the memtable, the immutable memtable, the
//! level-0 tables newest first, then in each deeper level the one table
//! whose key range holds the key; the first hit (a tombstone included)
//! wins. A scan merges cursors on the memtables, each level-0 table and
//! each deeper level, newest source first ([`super::cursor`]).
//!
//! Both hold the tree's read lock only: flushes and compactions swap the
//! table lists under the write lock briefly, so reads never wait for their
//! I/O.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use crate::Result;

use super::cursor::{merge, Cursor, LevelCursor, MemCursor, TableCursor};
use super::sstable::Table;
use super::{lock, Inner};

impl Inner {
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        self.apply_pending();
        let t = self.tree();
        if let Some(v) = t.mem.map.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = t.imm.as_ref().and_then(|m| m.map.get(key)) {
            return Ok(v.clone());
        }
        let v = &t.version;
        for table in &v.levels[0] {
            if let Some(v) = table.get(key)? {
                return Ok(v);
            }
        }
        for level in 1..v.levels.len() {
            if let Some(table) = v.find(level, key) {
                if let Some(v) = table.get(key)? {
                    return Ok(v);
                }
            }
        }
        Ok(None)
    }

    /// Loads the tables' blocks into the block cache, newest level first,
    /// until it is full (see [`crate::Engine::warm`]). Runs on a snapshot
    /// of the table lists, without holding the tree's lock.
    pub(super) fn warm(&self) -> Result<()> {
        let tables: Vec<Arc<Table>> = self.tree().version.tables().cloned().collect();
        let start = std::time::Instant::now();
        let (blocks, bytes) = self.fill_cache(&tables)?;
        *lock(&self.warmed) = Some(format!(
            "{blocks} blocks ({bytes} bytes) in {} ms",
            start.elapsed().as_millis()
        ));
        Ok(())
    }

    /// Loads the blocks of `tables`, in order, into the block cache until
    /// it is full; returns the blocks and bytes loaded. The room is taken
    /// once and counted down by file bytes, so loading stops before it
    /// would evict blocks readers already use.
    pub(super) fn fill_cache(&self, tables: &[Arc<Table>]) -> Result<(u64, u64)> {
        let (mut blocks, mut bytes) = (0u64, 0u64);
        let room = self.cache.capacity().saturating_sub(self.cache.bytes()) as u64;
        for t in tables {
            for i in 0..t.block_count() {
                if self.closed.load(Relaxed) || bytes >= room {
                    return Ok((blocks, bytes));
                }
                bytes += t.block_len(i);
                t.block(i, true)?;
                blocks += 1;
            }
        }
        Ok((blocks, bytes))
    }

    pub(super) fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        self.apply_pending();
        let t = self.tree();
        let mut cursors = vec![Cursor::Mem(MemCursor::seek(&t.mem.map, start))];
        if let Some(imm) = &t.imm {
            cursors.push(Cursor::Mem(MemCursor::seek(&imm.map, start)));
        }
        let v = &t.version;
        for table in &v.levels[0] {
            cursors.push(Cursor::Table(TableCursor::seek(table, start)?));
        }
        self.charge_l0_seeks(&v.levels[0]);
        for level in v.levels.iter().skip(1).filter(|l| !l.is_empty()) {
            cursors.push(Cursor::Level(LevelCursor::seek(level, start)?));
        }
        merge(&mut cursors, end, limit)
    }
}
