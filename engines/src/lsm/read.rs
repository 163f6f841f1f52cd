//! The read path. A get checks the memtable, the immutable memtable, the
//! level-0 tables newest first, then in each deeper level the one table
//! whose key range holds the key; the first hit (a tombstone included)
//! wins. A scan merges the memtables, each level-0 table and one
//! concatenating iterator per deeper level, newest source first.
//!
//! Both hold the tree's read lock only: flushes and compactions swap the
//! table lists under the write lock briefly, so reads never wait for their
//! I/O.

use std::sync::Arc;

use crate::Result;

use super::merge::{MergeIter, Source};
use super::sstable::Table;
use super::{Inner, Memtable};

impl Inner {
    pub(super) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
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

    pub(super) fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        let t = self.tree();
        let mut sources: Vec<Source<'_>> = vec![mem_source(&t.mem, start)];
        if let Some(imm) = &t.imm {
            sources.push(mem_source(imm, start));
        }
        let v = &t.version;
        for table in &v.levels[0] {
            sources.push(Box::new(table.iter_from(start)));
        }
        for level in v.levels.iter().skip(1).filter(|l| !l.is_empty()) {
            sources.push(level_source(level, start));
        }
        let mut out = Vec::new();
        for e in MergeIter::new(sources) {
            let (k, v) = e?;
            if end.is_some_and(|end| k.as_slice() >= end) || out.len() >= limit {
                break;
            }
            if let Some(v) = v {
                out.push((k, v));
            }
        }
        Ok(out)
    }
}

/// Entries of a sorted level's tables (in key order) from `start` on.
pub(super) fn level_source<'a>(tables: &'a [Arc<Table>], start: &[u8]) -> Source<'a> {
    let first = tables.partition_point(|t| t.last_key() < start);
    let start = start.to_vec();
    Box::new(
        tables[first..]
            .iter()
            .flat_map(move |t| t.iter_from(&start)),
    )
}

/// Entries of a memtable from `start` on.
fn mem_source<'a>(m: &'a Memtable, start: &'a [u8]) -> Source<'a> {
    Box::new(
        m.map
            .range::<[u8], _>((std::ops::Bound::Included(start), std::ops::Bound::Unbounded))
            .map(|(k, v)| Ok((k.to_vec(), v.clone()))),
    )
}
