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
//! `cache_bytes`): each table keeps its blocks in a slot per block
//! ([`TableBlocks`]), so a read locks only its block's slot, and the cache
//! evicts the blocks least recently read, approximately (CLOCK).
//! Compactions read their inputs without it (they would push out the
//! blocks readers use).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::search::{lower_bound, prefix};
use crate::{Error, Result};

/// A data block's entries, checked and located: one shared allocation
/// holding the entry count, each entry's key [`prefix`], each entry's
/// offset, then the entries' bytes. A seek into a cached block reaches all
/// of them from the block's reference count, one line apart, without
/// following a pointer: three vectors of their own cost a scan, which
/// seeks into a cold block in every level, a dependent cache miss each.
/// Cloning a `Block` shares it.
#[derive(Debug, Clone)]
pub struct Block {
    /// `len | body_len << 32`, then `len` hints, then `len` u32 offsets
    /// (the start of each entry, its flags byte) padded to whole words,
    /// then the body's bytes padded to whole words.
    words: Arc<[u64]>,
}

fn u32_le(b: &[u8]) -> usize {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
}

impl Block {
    /// Locates the entries of `body` (the block without its CRC, already
    /// checked), read from `file` at `offset` (named in errors). Entry:
    /// flags u8 (bit 0: tombstone), key len u32, value len u32, key, value.
    pub fn parse(body: &[u8], file: &Path, offset: u64) -> Result<Block> {
        let mut offsets: Vec<u32> = Vec::new();
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
        let n = hints.len();
        let Ok(body_len) = u32::try_from(body.len()) else {
            return Err(Error::corrupt(file, offset, "block over 4 GiB"));
        };
        let offset_words = n.div_ceil(2);
        let mut words = vec![0u64; 1 + n + offset_words + body.len().div_ceil(8)];
        words[0] = n as u64 | u64::from(body_len) << 32;
        words[1..1 + n].copy_from_slice(&hints);
        let rest = &mut words[1 + n..];
        bytemuck::cast_slice_mut::<u64, u32>(&mut rest[..offset_words])[..n]
            .copy_from_slice(&offsets);
        bytemuck::cast_slice_mut::<u64, u8>(&mut rest[offset_words..])[..body.len()]
            .copy_from_slice(body);
        Ok(Block {
            words: Arc::from(words),
        })
    }

    /// Entries.
    pub fn len(&self) -> usize {
        (self.words[0] & u64::from(u32::MAX)) as usize
    }

    /// Whether the block has no entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// [`prefix`] of each entry's key.
    fn hints(&self) -> &[u64] {
        &self.words[1..1 + self.len()]
    }

    /// Start of each entry (its flags byte) in [`Block::body`].
    fn offsets(&self) -> &[u32] {
        let n = self.len();
        &bytemuck::cast_slice::<u64, u32>(&self.words[1 + n..1 + n + n.div_ceil(2)])[..n]
    }

    fn at(&self, i: usize) -> (usize, usize, usize) {
        let p = self.offsets()[i] as usize;
        let body = self.body();
        (p, u32_le(&body[p + 1..]), u32_le(&body[p + 5..]))
    }

    /// Where entry `i`'s key and value lie in [`Block::body`]: key start,
    /// key end, value end, and whether it is a tombstone.
    pub fn span(&self, i: usize) -> (usize, usize, usize, bool) {
        let (p, klen, vlen) = self.at(i);
        (
            p + 9,
            p + 9 + klen,
            p + 9 + klen + vlen,
            self.body()[p] & 1 != 0,
        )
    }

    /// The entries' bytes, as located by [`Block::span`].
    pub fn body(&self) -> &[u8] {
        let n = self.len();
        let body_len = (self.words[0] >> 32) as usize;
        &bytemuck::cast_slice::<u64, u8>(&self.words[1 + n + n.div_ceil(2)..])[..body_len]
    }

    /// Key of entry `i`.
    pub fn key(&self, i: usize) -> &[u8] {
        let (p, klen, _) = self.at(i);
        &self.body()[p + 9..p + 9 + klen]
    }

    /// Value of entry `i`; `None` for a tombstone.
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        let (p, klen, vlen) = self.at(i);
        let body = self.body();
        (body[p] & 1 == 0).then(|| &body[p + 9 + klen..p + 9 + klen + vlen])
    }

    /// Index of the first entry whose key is not less than `key`, and
    /// whether that key is `key`.
    pub fn lower_bound(&self, key: &[u8]) -> (usize, bool) {
        lower_bound(self.hints(), |i| self.key(i), key)
    }

    /// Memory held, in bytes.
    fn bytes(&self) -> usize {
        self.words.len() * 8 + 16
    }
}

/// A cached block and its CLOCK bit.
#[derive(Debug, Default)]
struct Slot {
    block: Option<Block>,
    /// Read since the eviction hand last passed: spared once.
    used: bool,
}

/// One table's cached blocks, a slot per data block, found by the block's
/// number: a read locks one slot and clones its block. A hash map of
/// (table, block) keys cost a read two cache misses (its control bytes and
/// its entry) before the block's own, and a shard lock: at 10M keys that
/// was a tenth of a scan's time (docs/measurements.md).
#[derive(Debug)]
pub struct TableBlocks {
    slots: Box<[Mutex<Slot>]>,
    /// Bytes of this table's cached blocks.
    bytes: AtomicUsize,
    /// The table was removed: its blocks are dropped and none is cached
    /// again.
    forgotten: AtomicBool,
}

impl TableBlocks {
    /// Bytes of this table's cached blocks.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }
}

/// The cached blocks, oldest first, for the eviction hand.
#[derive(Debug, Default)]
struct Ring {
    entries: VecDeque<(Arc<TableBlocks>, u32)>,
    /// Entries of forgotten tables still in `entries`.
    dead: usize,
}

/// Checked data blocks of the tables, up to a capacity in bytes.
///
/// Blocks live in their table's [`TableBlocks`]; the cache counts their
/// bytes and evicts with CLOCK (second chance): a ring of the cached
/// blocks in load order, whose hand drops the first block not read since
/// it last passed. Only loads take the ring's lock; a read of a cached
/// block touches its slot alone.
#[derive(Debug)]
pub struct BlockCache {
    capacity: usize,
    bytes: AtomicUsize,
    ring: Mutex<Ring>,
}

impl BlockCache {
    /// A cache of `capacity` bytes (0: blocks are read every time).
    pub fn new(capacity: u64) -> Arc<BlockCache> {
        Arc::new(BlockCache {
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX),
            bytes: AtomicUsize::new(0),
            ring: Mutex::default(),
        })
    }

    /// Empty slots for a table of `blocks` data blocks.
    pub fn table(&self, blocks: usize) -> Arc<TableBlocks> {
        Arc::new(TableBlocks {
            slots: (0..blocks).map(|_| Mutex::default()).collect(),
            bytes: AtomicUsize::new(0),
            forgotten: AtomicBool::new(false),
        })
    }

    /// Block `block` of `table`: cached, else `load`ed and cached.
    pub fn get_or_load(
        &self,
        table: &Arc<TableBlocks>,
        block: usize,
        load: impl FnOnce() -> Result<Block>,
    ) -> Result<Block> {
        let Some(slot) = table.slots.get(block) else {
            return load();
        };
        {
            let mut s = lock(slot);
            if let Some(b) = &s.block {
                let b = b.clone();
                s.used = true;
                return Ok(b);
            }
        }
        let b = load()?;
        let size = b.bytes();
        if size > self.capacity {
            return Ok(b);
        }
        let total = {
            let mut s = lock(slot);
            if let Some(cached) = &s.block {
                // Another reader loaded it meanwhile.
                return Ok(cached.clone());
            }
            // Checked under the slot's lock, which `forget` takes after
            // setting the flag: no block is cached after it has passed.
            if table.forgotten.load(Acquire) {
                return Ok(b);
            }
            s.block = Some(b.clone());
            // Counted before the slot is unlocked: `forget` or the hand,
            // taking the block under the same lock, subtract it after.
            table.bytes.fetch_add(size, Relaxed);
            self.bytes.fetch_add(size, Relaxed) + size
        };
        let mut ring = lock(&self.ring);
        ring.entries.push_back((table.clone(), block as u32));
        if total > self.capacity {
            let gone = self.evict(&mut ring);
            drop(ring);
            // Freed outside the lock: loads wait on it.
            drop(gone);
        }
        Ok(b)
    }

    /// Moves the hand until the cache is back under its capacity; returns
    /// the evicted blocks, to be freed after the ring's lock is released.
    fn evict(&self, ring: &mut Ring) -> Vec<Block> {
        let mut gone = Vec::new();
        while self.bytes.load(Relaxed) > self.capacity {
            let Some((t, i)) = ring.entries.pop_front() else {
                break;
            };
            if t.forgotten.load(Acquire) {
                ring.dead = ring.dead.saturating_sub(1);
                continue;
            }
            let mut s = lock(&t.slots[i as usize]);
            if s.used {
                s.used = false;
                drop(s);
                ring.entries.push_back((t, i));
                continue;
            }
            if let Some(b) = s.block.take() {
                drop(s);
                let size = b.bytes();
                t.bytes.fetch_sub(size, Relaxed);
                self.bytes.fetch_sub(size, Relaxed);
                gone.push(b);
            }
        }
        gone
    }

    /// Drops the blocks of a table removed by a compaction: nothing will
    /// read them again, and their room goes to live tables now rather
    /// than when they would have aged out. The blocks are freed outside
    /// every lock: freeing a level's worth of blocks under one stalled
    /// readers for tens of milliseconds.
    pub fn forget(&self, table: &TableBlocks) {
        table.forgotten.store(true, Release);
        let mut gone = Vec::new();
        for slot in &table.slots {
            if let Some(b) = lock(slot).block.take() {
                gone.push(b);
            }
        }
        let freed: usize = gone.iter().map(|b| b.bytes()).sum();
        table.bytes.fetch_sub(freed, Relaxed);
        self.bytes.fetch_sub(freed, Relaxed);
        {
            // The ring's entries for these blocks are skipped when the
            // hand reaches them, or all at once when they are half of it
            // (a cache that never fills never moves its hand).
            let mut ring = lock(&self.ring);
            ring.dead += gone.len();
            if ring.dead * 2 > ring.entries.len() {
                ring.entries.retain(|(t, _)| !t.forgotten.load(Acquire));
                ring.dead = 0;
            }
        }
        drop(gone);
    }

    /// Bytes the cache may hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Bytes of blocks held.
    pub fn bytes(&self) -> usize {
        self.bytes.load(Relaxed)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
        let b = Block::parse(&body, Path::new("t"), 0).expect("parses");
        assert_eq!(
            (b.len(), b.key(1), b.value(0)),
            (3, &b"b"[..], Some(&b"1"[..]))
        );
        assert_eq!((b.value(1), b.value(2)), (None, Some(&b""[..])));
        assert_eq!(b.lower_bound(b"b"), (1, true));
        assert_eq!(b.lower_bound(b"bb"), (2, false));
        assert_eq!(b.lower_bound(b"z"), (3, false));
        for cut in 1..body.len() {
            let torn = Block::parse(&body[..cut], Path::new("t"), 0);
            let whole_entries = [11, 21].contains(&cut);
            assert_eq!(torn.is_ok(), whole_entries, "cut at {cut}");
        }
    }

    #[test]
    fn the_cache_loads_once_and_stays_under_its_capacity() {
        let body = block(&[(&[7; 100], Some(&[1; 1000]))]);
        let size = Block::parse(&body, Path::new("t"), 0)
            .expect("parses")
            .bytes();
        let cache = BlockCache::new((size * 64) as u64);
        let table = cache.table(200);
        let loads = std::cell::Cell::new(0);
        let load = || {
            loads.set(loads.get() + 1);
            Block::parse(&body, Path::new("t"), 0)
        };
        for round in 0..2 {
            for block in 0..200 {
                cache.get_or_load(&table, block, load).expect("loads");
            }
            assert!(cache.bytes() <= size * 64, "round {round}");
            assert_eq!(cache.bytes(), table.bytes(), "round {round}");
        }
        assert!(loads.get() > 200, "evicted blocks are read again");
        let before = loads.get();
        cache.get_or_load(&table, 199, load).expect("cached");
        assert_eq!(loads.get(), before, "the last block read is still cached");
        // A block read often survives a sweep of blocks read once.
        for block in 0..200 {
            cache.get_or_load(&table, 7, load).expect("loads");
            cache.get_or_load(&table, block, load).expect("loads");
        }
        let before = loads.get();
        cache.get_or_load(&table, 7, load).expect("cached");
        assert_eq!(loads.get(), before, "the block read every time is cached");
        let off = BlockCache::new(0);
        let t = off.table(2);
        off.get_or_load(&t, 1, load).expect("loads");
        off.get_or_load(&t, 1, load).expect("loads");
        assert_eq!((loads.get(), off.bytes()), (before + 2, 0));
        let t2 = cache.table(1);
        assert!(cache.get_or_load(&t2, 0, || Err(Error::Closed)).is_err());
        // A forgotten table gives its room back and caches nothing more.
        cache.forget(&table);
        assert_eq!((cache.bytes(), table.bytes()), (0, 0));
        cache.get_or_load(&table, 3, load).expect("loads");
        assert_eq!(cache.bytes(), 0, "nothing is cached for a forgotten table");
    }
}
