//! [`BlockCache`]: the tables' data blocks, checked and indexed once and
//! kept in memory for point reads and scans.
//!
//! Without it every read of a table paid a `pread` of its ~4 KiB block, a
//! CRC of the whole block and a walk through its entries: at 2M keys that
//! was most of a point read. A [`Block`] is a block whose checksum and
//! framing were checked when it was read, with the offset and the 8-byte
//! key [`prefix`] of each entry, so a lookup is a search of the prefixes
//! and one key comparison. Tables are immutable, so a cached block never
//! goes stale; a table deleted by a compaction has its blocks evicted like
//! any others. The cache holds `capacity` bytes of blocks (the engine's
//! `cache_bytes`), in 16 shards each evicting its least recently used
//! blocks (1/32 of the shard at a time), so concurrent readers rarely share
//! a lock. Compactions read their inputs without it (they would push out
//! the blocks readers use).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::search::{lower_bound, prefix};
use crate::{Error, Result};

const SHARDS: usize = 16;

/// A data block's entries, checked and located.
#[derive(Debug)]
pub struct Block {
    body: Vec<u8>,
    /// Start of each entry (its flags byte).
    offsets: Vec<u32>,
    /// [`prefix`] of each entry's key.
    hints: Vec<u64>,
}

fn u32_le(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

impl Block {
    /// Locates the entries of `body` (the block without its CRC, already
    /// checked), read from `file` at `offset` (named in errors). Entry:
    /// flags u8 (bit 0: tombstone), key len u32, value len u32, key, value.
    pub fn parse(body: Vec<u8>, file: &Path, offset: u64) -> Result<Block> {
        let mut offsets = Vec::new();
        let mut hints = Vec::new();
        let mut p = 0usize;
        while p < body.len() {
            if p + 9 > body.len() {
                return Err(Error::corrupt(file, offset, "truncated entry"));
            }
            let klen = u32_le(&body[p + 1..]);
            let end = (p + 9)
                .saturating_add(klen)
                .saturating_add(u32_le(&body[p + 5..]));
            let at = u32::try_from(p).ok().filter(|_| end <= body.len());
            let Some(at) = at else {
                return Err(Error::corrupt(file, offset, "entry past block end"));
            };
            offsets.push(at);
            hints.push(prefix(&body[p + 9..p + 9 + klen]));
            p = end;
        }
        Ok(Block {
            body,
            offsets,
            hints,
        })
    }

    /// Entries.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether the block has no entry.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    fn at(&self, i: usize) -> (usize, usize, usize) {
        let p = self.offsets[i] as usize;
        (p, u32_le(&self.body[p + 1..]), u32_le(&self.body[p + 5..]))
    }

    /// Where entry `i`'s key and value lie in [`Block::body`]: key start,
    /// key end, value end, and whether it is a tombstone.
    pub fn span(&self, i: usize) -> (usize, usize, usize, bool) {
        let (p, klen, vlen) = self.at(i);
        (
            p + 9,
            p + 9 + klen,
            p + 9 + klen + vlen,
            self.body[p] & 1 != 0,
        )
    }

    /// The entries' bytes, as located by [`Block::span`].
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Key of entry `i`.
    pub fn key(&self, i: usize) -> &[u8] {
        let (p, klen, _) = self.at(i);
        &self.body[p + 9..p + 9 + klen]
    }

    /// Value of entry `i`; `None` for a tombstone.
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        let (p, klen, vlen) = self.at(i);
        (self.body[p] & 1 == 0).then(|| &self.body[p + 9 + klen..p + 9 + klen + vlen])
    }

    /// Index of the first entry whose key is not less than `key`, and
    /// whether that key is `key`.
    pub fn lower_bound(&self, key: &[u8]) -> (usize, bool) {
        lower_bound(&self.hints, |i| self.key(i), key)
    }

    /// Memory held, in bytes.
    fn bytes(&self) -> usize {
        self.body.capacity() + self.offsets.len() * 4 + self.hints.len() * 8 + 64
    }
}

/// Blocks by (table id, block number).
type Key = (u64, u32);

#[derive(Debug, Default)]
struct Shard {
    /// Hashed with foldhash: SipHash was most of a lookup.
    blocks: HashMap<Key, (Arc<Block>, u64), foldhash::fast::RandomState>,
    bytes: usize,
    tick: u64,
}

/// Checked data blocks of the tables, up to a capacity in bytes.
#[derive(Debug)]
pub struct BlockCache {
    shards: Vec<Mutex<Shard>>,
    shard_bytes: usize,
}

impl BlockCache {
    /// A cache of `capacity` bytes (0: blocks are read every time).
    pub fn new(capacity: u64) -> Arc<BlockCache> {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        Arc::new(BlockCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            shard_bytes: capacity / SHARDS,
        })
    }

    fn shard(&self, key: Key) -> &Mutex<Shard> {
        let h = (key.0 ^ u64::from(key.1).rotate_left(32)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        &self.shards[(h >> 60) as usize % SHARDS]
    }

    /// Block `block` of table `table`: cached, else `load`ed and cached.
    pub fn get_or_load(
        &self,
        table: u64,
        block: u32,
        load: impl FnOnce() -> Result<Block>,
    ) -> Result<Arc<Block>> {
        let key = (table, block);
        {
            let mut s = lock(self.shard(key));
            let tick = s.tick;
            if let Some((b, used)) = s.blocks.get_mut(&key) {
                *used = tick;
                return Ok(b.clone());
            }
        }
        let b = Arc::new(load()?);
        let size = b.bytes();
        if size <= self.shard_bytes {
            let mut s = lock(self.shard(key));
            let tick = s.tick;
            if s.blocks.insert(key, (b.clone(), tick)).is_none() {
                s.bytes += size;
            }
            if s.bytes > self.shard_bytes {
                evict(&mut s, self.shard_bytes);
            }
        }
        Ok(b)
    }

    /// Bytes of the cached blocks of `tables`.
    pub fn bytes_of_tables(&self, tables: &[u64]) -> usize {
        self.shards
            .iter()
            .map(|m| {
                let s = m.lock().unwrap_or_else(|p| p.into_inner());
                s.blocks
                    .iter()
                    .filter(|(k, _)| tables.contains(&k.0))
                    .map(|(_, (b, _))| b.bytes())
                    .sum::<usize>()
            })
            .sum()
    }

    /// Drops the blocks of `tables` (removed by a compaction: nothing
    /// will read them again, and their room goes to live tables now
    /// rather than when they would have aged out).
    ///
    /// The blocks are freed after each shard's lock is released: freeing
    /// a level's worth of blocks under it stalled readers for tens of
    /// milliseconds.
    pub fn forget_tables(&self, tables: &[u64]) {
        for m in &self.shards {
            let mut gone = Vec::new();
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            let mut freed = 0;
            s.blocks.retain(|k, (b, _)| {
                let keep = !tables.contains(&k.0);
                if !keep {
                    freed += b.bytes();
                    gone.push(b.clone());
                }
                keep
            });
            s.bytes -= freed;
            drop(s);
            drop(gone);
        }
    }

    /// Bytes the cache may hold.
    pub fn capacity(&self) -> usize {
        self.shard_bytes * SHARDS
    }

    /// Bytes of blocks held.
    pub fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()).bytes)
            .sum()
    }
}

/// Locks a shard and advances its clock.
fn lock(m: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
    s.tick += 1;
    s
}

/// Drops the least recently used blocks of a shard: at least 1/32 of
/// them, and enough to get back under `cap` bytes.
fn evict(s: &mut Shard, cap: usize) {
    let mut by_use: Vec<(u64, Key, usize)> = s
        .blocks
        .iter()
        .map(|(k, (b, used))| (*used, *k, b.bytes()))
        .collect();
    by_use.sort_unstable();
    let batch = (by_use.len() / 32).max(1);
    for (i, (_, k, size)) in by_use.into_iter().enumerate() {
        if i >= batch && s.bytes <= cap {
            break;
        }
        s.blocks.remove(&k);
        s.bytes -= size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(entries: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
        let mut b = Vec::new();
        for (k, v) in entries {
            b.push(u8::from(v.is_none()));
            b.extend_from_slice(&(k.len() as u32).to_le_bytes());
            b.extend_from_slice(&(v.map_or(0, <[u8]>::len) as u32).to_le_bytes());
            b.extend_from_slice(k);
            b.extend_from_slice(v.unwrap_or_default());
        }
        b
    }

    #[test]
    fn blocks_are_located_and_searched() {
        let body = block(&[(b"a", Some(b"1")), (b"b", None), (b"c", Some(b""))]);
        let b = Block::parse(body.clone(), Path::new("t"), 0).expect("parses");
        assert_eq!(
            (b.len(), b.key(1), b.value(0)),
            (3, &b"b"[..], Some(&b"1"[..]))
        );
        assert_eq!((b.value(1), b.value(2)), (None, Some(&b""[..])));
        assert_eq!(b.lower_bound(b"b"), (1, true));
        assert_eq!(b.lower_bound(b"bb"), (2, false));
        assert_eq!(b.lower_bound(b"z"), (3, false));
        for cut in 1..body.len() {
            let torn = Block::parse(body[..cut].to_vec(), Path::new("t"), 0);
            let whole_entries = [11, 21].contains(&cut);
            assert_eq!(torn.is_ok(), whole_entries, "cut at {cut}");
        }
    }

    #[test]
    fn the_cache_loads_once_and_stays_under_its_capacity() {
        let body = block(&[(&[7; 100], Some(&[1; 1000]))]);
        let size = Block::parse(body.clone(), Path::new("t"), 0)
            .expect("parses")
            .bytes();
        let cache = BlockCache::new((SHARDS * size * 4) as u64);
        let loads = std::cell::Cell::new(0);
        let load = || {
            loads.set(loads.get() + 1);
            Block::parse(body.clone(), Path::new("t"), 0)
        };
        for round in 0..2 {
            for block in 0..200 {
                cache.get_or_load(1, block, load).expect("loads");
            }
            assert!(cache.bytes() <= SHARDS * size * 4, "round {round}");
        }
        assert!(loads.get() > 200, "evicted blocks are read again");
        let before = loads.get();
        cache.get_or_load(1, 199, load).expect("cached");
        assert_eq!(loads.get(), before, "the last block read is still cached");
        let off = BlockCache::new(0);
        off.get_or_load(1, 1, load).expect("loads");
        off.get_or_load(1, 1, load).expect("loads");
        assert_eq!((loads.get(), off.bytes()), (before + 2, 0));
        assert!(cache.get_or_load(2, 0, || Err(Error::Closed)).is_err());
    }
}
