//! Cursors for scans: each source of a scan (a memtable, a level-0 table,
//! a sorted level) stands on one entry and lends it, borrowed from the
//! memtable's map or from a cached block, so that merging them copies only
//! the entries the scan returns. The owned-entry merge ([`super::merge`])
//! copied every entry of every source into two allocations of their own,
//! shadowed ones included: at 2M keys, `malloc` and `free` were a third of
//! a short scan's time.

use std::cmp::Ordering;
use std::collections::btree_map;
use std::ops::Bound;
use std::sync::Arc;

use super::cache::Block;
use super::sstable::Table;
use super::MemKey;
use crate::Result;

/// An entry lent by a cursor: key, and value (`None`: tombstone).
pub type Lent<'c> = (&'c [u8], Option<&'c [u8]>);

/// A table's entries from a key on, block by block through the cache.
#[derive(Debug)]
pub struct TableCursor<'a> {
    table: &'a Table,
    /// The block being read; `None` once past the table's end.
    block: Option<Block>,
    /// Entry of `block` the cursor stands on.
    pos: usize,
    /// [`Block::span`] of that entry, so that the merge, which asks every
    /// cursor for its entry at every step, does not decode it again.
    span: (usize, usize, usize, bool),
    /// Block number of `block`.
    at: usize,
}

impl<'a> TableCursor<'a> {
    /// On the first entry of `table` not less than `start`.
    pub fn seek(table: &'a Table, start: &[u8]) -> Result<Self> {
        let at = table.block_for(start);
        let mut c = TableCursor {
            table,
            block: None,
            pos: 0,
            span: (0, 0, 0, true),
            at,
        };
        if at < table.block_count() {
            let b = table.block(at, true)?;
            c.pos = b.lower_bound(start).0;
            c.block = Some(b);
            c.settle()?;
        }
        Ok(c)
    }

    /// The entry the cursor stands on; `None` past the end.
    pub fn entry(&self) -> Option<Lent<'_>> {
        let body = self.block.as_ref()?.body();
        let (k, v, end, tombstone) = self.span;
        Some((&body[k..v], (!tombstone).then(|| &body[v..end])))
    }

    /// Steps to the next entry.
    pub fn advance(&mut self) -> Result<()> {
        self.pos += 1;
        self.settle()
    }

    /// Moves past the end of exhausted blocks and locates the entry.
    fn settle(&mut self) -> Result<()> {
        while let Some(b) = &self.block {
            if self.pos < b.len() {
                self.span = b.span(self.pos);
                return Ok(());
            }
            self.at += 1;
            self.pos = 0;
            self.block = if self.at < self.table.block_count() {
                Some(self.table.block(self.at, true)?)
            } else {
                None
            };
        }
        Ok(())
    }
}

/// A sorted level's entries from a key on: its tables one after another.
#[derive(Debug)]
pub struct LevelCursor<'a> {
    /// Tables not yet entered.
    rest: &'a [Arc<Table>],
    table: Option<TableCursor<'a>>,
}

impl<'a> LevelCursor<'a> {
    /// On the first entry of `tables` (disjoint, in key order) not less
    /// than `start`.
    pub fn seek(tables: &'a [Arc<Table>], start: &[u8]) -> Result<Self> {
        let first = tables.partition_point(|t| t.last_key() < start);
        let mut c = LevelCursor {
            rest: &tables[first..],
            table: None,
        };
        if let Some((t, rest)) = c.rest.split_first() {
            c.rest = rest;
            c.table = Some(TableCursor::seek(t, start)?);
            c.settle()?;
        }
        Ok(c)
    }

    /// The entry the cursor stands on; `None` past the end.
    pub fn entry(&self) -> Option<Lent<'_>> {
        self.table.as_ref()?.entry()
    }

    /// Steps to the next entry.
    pub fn advance(&mut self) -> Result<()> {
        if let Some(t) = &mut self.table {
            t.advance()?;
        }
        self.settle()
    }

    /// Enters the next table when the current one is exhausted.
    fn settle(&mut self) -> Result<()> {
        while self.table.as_ref().is_some_and(|t| t.entry().is_none()) {
            self.table = match self.rest.split_first() {
                Some((t, rest)) => {
                    self.rest = rest;
                    Some(TableCursor::seek(t, &[])?)
                }
                None => None,
            };
        }
        Ok(())
    }
}

/// A memtable's entries from a key on.
#[derive(Debug)]
pub struct MemCursor<'a> {
    iter: btree_map::Range<'a, MemKey, Option<Vec<u8>>>,
    head: Option<Lent<'a>>,
}

impl<'a> MemCursor<'a> {
    /// On the first entry of `map` not less than `start`.
    pub fn seek(
        map: &'a std::collections::BTreeMap<MemKey, Option<Vec<u8>>>,
        start: &[u8],
    ) -> Self {
        let mut c = MemCursor {
            iter: map.range::<[u8], _>((Bound::Included(start), Bound::Unbounded)),
            head: None,
        };
        c.advance();
        c
    }

    /// The entry the cursor stands on; `None` past the end.
    pub fn entry(&self) -> Option<Lent<'_>> {
        self.head
    }

    /// Steps to the next entry.
    pub fn advance(&mut self) {
        self.head = self.iter.next().map(|(k, v)| (k.as_slice(), v.as_deref()));
    }
}

/// One source of a scan.
#[derive(Debug)]
pub enum Cursor<'a> {
    /// The memtable or the immutable memtable.
    Mem(MemCursor<'a>),
    /// A level-0 table.
    Table(TableCursor<'a>),
    /// A sorted level.
    Level(LevelCursor<'a>),
}

impl Cursor<'_> {
    /// The entry the cursor stands on; `None` past the end.
    pub fn entry(&self) -> Option<Lent<'_>> {
        match self {
            Cursor::Mem(c) => c.entry(),
            Cursor::Table(c) => c.entry(),
            Cursor::Level(c) => c.entry(),
        }
    }

    /// Steps to the next entry.
    pub fn advance(&mut self) -> Result<()> {
        match self {
            Cursor::Mem(c) => {
                c.advance();
                Ok(())
            }
            Cursor::Table(c) => c.advance(),
            Cursor::Level(c) => c.advance(),
        }
    }
}

/// Up to `limit` live entries of `cursors` (given newest first) below
/// `end`, in key order: the newest entry of each key wins, and a winning
/// tombstone hides the key. Only the entries returned are copied.
///
/// Each round finds the smallest key and the next smallest among the other
/// cursors; when one cursor alone holds the smallest, its entries are taken
/// without looking at the others until it reaches that next key. A short
/// scan mostly reads runs of one source (the deepest level holds nine
/// tenths of the data), so most entries cost one comparison, not one per
/// source.
pub fn merge(
    cursors: &mut [Cursor<'_>],
    end: Option<&[u8]>,
    limit: usize,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    // Grown by doubling, as a caller collecting entries would: one
    // allocation sized to `limit` up front is a large request, which made
    // glibc sort its unsorted chunks and consolidate on every scan (13% of
    // ycsb-e at 2M keys).
    let mut out = Vec::new();
    // Cursors standing on the smallest key, newest first.
    let mut at_min: smallvec::SmallVec<[usize; 8]> = smallvec::SmallVec::new();
    // The smallest key of the other cursors, when one cursor leads.
    let mut bound: Vec<u8> = Vec::new();
    while out.len() < limit {
        at_min.clear();
        let mut min: Option<Lent<'_>> = None;
        let mut second: Option<&[u8]> = None;
        for (i, c) in cursors.iter().enumerate() {
            let Some(e) = c.entry() else { continue };
            match min.map(|(k, _)| e.0.cmp(k)) {
                Some(Ordering::Greater) => {
                    if second.is_none_or(|s| e.0 < s) {
                        second = Some(e.0);
                    }
                }
                Some(Ordering::Equal) => at_min.push(i),
                None | Some(Ordering::Less) => {
                    second = min.map(|(k, _)| k);
                    min = Some(e);
                    at_min.clear();
                    at_min.push(i);
                }
            }
        }
        let Some((k, v)) = min else { break };
        if end.is_some_and(|end| k >= end) {
            break;
        }
        if let Some(v) = v {
            out.push((k.to_vec(), v.to_vec()));
        }
        let bounded = second.is_some();
        bound.clear();
        bound.extend_from_slice(second.unwrap_or_default());
        // The winner and every older entry of the same key.
        for &i in &at_min {
            cursors[i].advance()?;
        }
        let [lead] = at_min[..] else { continue };
        let c = &mut cursors[lead];
        while out.len() < limit {
            let Some((k, v)) = c.entry() else { break };
            if bounded && k >= bound.as_slice() {
                break;
            }
            if end.is_some_and(|end| k >= end) {
                return Ok(out);
            }
            if let Some(v) = v {
                out.push((k.to_vec(), v.to_vec()));
            }
            c.advance()?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    type Map = BTreeMap<MemKey, Option<Vec<u8>>>;

    /// Three sources with runs, ties and tombstones, merged from every
    /// start, end and limit, against applying them oldest first to a map.
    #[test]
    fn merging_matches_the_newest_entry_of_each_key() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rnd = |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let key = |i: u64| MemKey::from_slice(format!("k{i:03}").as_bytes());
        let maps: Vec<Map> = (0..3)
            .map(|m| {
                // The oldest source is dense, the newer ones sparse.
                let n = [12, 40, 150][m];
                (0..n)
                    .map(|_| {
                        let k = key(rnd(200));
                        let v = (rnd(4) != 0).then(|| format!("v{m}").into_bytes());
                        (k, v)
                    })
                    .collect()
            })
            .collect();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for m in maps.iter().rev() {
            for (k, v) in m {
                match v {
                    Some(v) => model.insert(k.to_vec(), v.clone()),
                    None => model.remove(k.as_slice()),
                };
            }
        }
        for start in (0..210).step_by(7) {
            for (end, limit) in [(None, usize::MAX), (Some(start + 30), 1000), (None, 9)] {
                let s = key(start);
                let e = end.map(key);
                let mut cursors: Vec<Cursor<'_>> = maps
                    .iter()
                    .map(|m| Cursor::Mem(MemCursor::seek(m, &s)))
                    .collect();
                let got = merge(&mut cursors, e.as_deref(), limit).unwrap();
                let want: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range(s.to_vec()..)
                    .filter(|(k, _)| e.as_ref().is_none_or(|e| k.as_slice() < e.as_slice()))
                    .take(limit)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(got, want, "start {start}, end {end:?}, limit {limit}");
            }
        }
    }
}
