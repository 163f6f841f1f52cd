//! Immutable sorted tables.
//!
//! ## Format
//!
//! ```text
//! data block*   entries, then crc32 (u32 LE) of the entries
//!   entry:      flags u8 (bit 0: tombstone), key len u32, value len u32, key, value
//! index         first key len u32, first key (the table's smallest key); then one
//!               entry per block: last key len u32, last key, offset u64, length u32;
//!               then crc32 of the index
//! bloom         see `bloom`; then crc32
//! footer (48)   index offset u64, index len u32, bloom offset u64, bloom len u32,
//!               entries u64, magic u64 "LSMTBL02", crc32 of the preceding 40 bytes, 4 zero bytes
//! ```
//!
//! Blocks hold ~4 KiB of entries in key order. Tables are written by
//! streaming ([`TableWriter`]): blocks are appended as they fill. The index
//! and bloom filter are loaded when the table is opened; data blocks are
//! read on demand and their CRC checked on every read.

use std::sync::Arc;

use super::bloom;
use super::cache::{Block, BlockCache, TableBlocks};
use crate::fs::{FileHandle, VFile};
use crate::search::{prefix, Fences};
use crate::{Error, Result};

const MAGIC: u64 = u64::from_le_bytes(*b"LSMTBL02");
const FOOTER_LEN: usize = 48;
const BLOCK_TARGET: usize = 4096;

/// A key's entry: `None` value is a tombstone.
pub type Entry = (Vec<u8>, Option<Vec<u8>>);

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u64_le(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[..8]);
    u64::from_le_bytes(a)
}

/// Appends are batched to about this many bytes.
const WRITE_CHUNK: usize = 256 << 10;

/// Writes a table by streaming: entries are added in key order, data
/// blocks are appended to the file in ~256 KiB writes as they fill, and
/// only the index and the bloom filter's key hashes stay in memory.
#[derive(Debug)]
pub struct TableWriter {
    file: FileHandle,
    /// Encoded bytes not yet appended; starts at file offset `written`.
    out: Vec<u8>,
    written: u64,
    block_start: usize,
    index: Vec<u8>,
    first_key: Option<Vec<u8>>,
    last_key: Vec<u8>,
    hashes: Vec<(u32, u32)>,
    count: u64,
}

impl TableWriter {
    /// A writer into `file` (empty, positioned at its start).
    pub fn new(file: FileHandle) -> Self {
        TableWriter {
            file,
            out: Vec::with_capacity(WRITE_CHUNK + BLOCK_TARGET * 2),
            written: 0,
            block_start: 0,
            index: Vec::new(),
            first_key: None,
            last_key: Vec::new(),
            hashes: Vec::new(),
            count: 0,
        }
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.count
    }

    /// Bytes of data so far (appended or buffered).
    pub fn bytes(&self) -> u64 {
        self.written + self.out.len() as u64
    }

    /// Adds the next entry; keys must come in strictly increasing order.
    pub fn add(&mut self, k: &[u8], v: Option<&[u8]>) -> Result<()> {
        let out = &mut self.out;
        out.push(u8::from(v.is_none()));
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.map_or(0, <[u8]>::len) as u32).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(v.unwrap_or(&[]));
        if self.first_key.is_none() {
            self.first_key = Some(k.to_vec());
        }
        self.last_key.clear();
        self.last_key.extend_from_slice(k);
        self.hashes.push(bloom::hash(k));
        self.count += 1;
        if self.out.len() - self.block_start >= BLOCK_TARGET {
            self.finish_block();
            if self.out.len() >= WRITE_CHUNK {
                self.file.append(&self.out)?;
                self.written += self.out.len() as u64;
                self.out.clear();
                self.block_start = 0;
            }
        }
        Ok(())
    }

    fn finish_block(&mut self) {
        let start = self.block_start;
        let crc = crc32fast::hash(&self.out[start..]);
        self.out.extend_from_slice(&crc.to_le_bytes());
        let index = &mut self.index;
        index.extend_from_slice(&(self.last_key.len() as u32).to_le_bytes());
        index.extend_from_slice(&self.last_key);
        index.extend_from_slice(&(self.written + start as u64).to_le_bytes());
        index.extend_from_slice(&((self.out.len() - start) as u32).to_le_bytes());
        self.block_start = self.out.len();
    }

    /// Writes the last block, the index, the bloom filter and the footer;
    /// returns the table's size. The caller syncs and renames the file.
    pub fn finish(mut self) -> Result<u64> {
        if self.out.len() > self.block_start {
            self.finish_block();
        }
        let first = self.first_key.take().unwrap_or_default();
        let mut index = Vec::with_capacity(4 + first.len() + self.index.len());
        index.extend_from_slice(&(first.len() as u32).to_le_bytes());
        index.extend_from_slice(&first);
        index.extend_from_slice(&self.index);
        let out = &mut self.out;
        let index_off = self.written + out.len() as u64;
        out.extend_from_slice(&index);
        out.extend_from_slice(&crc32fast::hash(&index).to_le_bytes());
        let bloom = bloom::build(&self.hashes);
        let bloom_off = self.written + out.len() as u64;
        out.extend_from_slice(&bloom);
        out.extend_from_slice(&crc32fast::hash(&bloom).to_le_bytes());
        let mut footer = Vec::with_capacity(FOOTER_LEN);
        footer.extend_from_slice(&index_off.to_le_bytes());
        footer.extend_from_slice(&((index.len() + 4) as u32).to_le_bytes());
        footer.extend_from_slice(&bloom_off.to_le_bytes());
        footer.extend_from_slice(&((bloom.len() + 4) as u32).to_le_bytes());
        footer.extend_from_slice(&self.count.to_le_bytes());
        footer.extend_from_slice(&MAGIC.to_le_bytes());
        let fcrc = crc32fast::hash(&footer);
        footer.extend_from_slice(&fcrc.to_le_bytes());
        footer.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&footer);
        self.file.append(out)?;
        Ok(self.written + out.len() as u64)
    }
}

#[derive(Debug)]
struct BlockRef {
    last_key: Vec<u8>,
    offset: u64,
    len: u32,
}

/// An open table: index and bloom filter in memory.
#[derive(Debug)]
pub struct Table {
    /// Table id (file `NNNNNN.sst`).
    pub id: u64,
    file: FileHandle,
    blocks: Vec<BlockRef>,
    bloom: Vec<u8>,
    /// Entries (values and tombstones).
    pub entries: u64,
    /// File size.
    pub size: u64,
    /// Smallest key.
    pub first_key: Vec<u8>,
    /// Checked blocks, shared by the engine's tables.
    cache: Arc<BlockCache>,
    /// This table's blocks in it.
    cached: Arc<TableBlocks>,
    /// [`prefix`] of each block's last key, to find a block.
    index_hints: Fences,
}

fn checked<'a>(file: &dyn VFile, section: &'a [u8], offset: u64, what: &str) -> Result<&'a [u8]> {
    if section.len() < 4 {
        return Err(Error::corrupt(
            file.path(),
            offset,
            format!("{what} too short"),
        ));
    }
    let (body, crc) = section.split_at(section.len() - 4);
    if crc32fast::hash(body) != u32_le(crc) {
        return Err(Error::corrupt(
            file.path(),
            offset,
            format!("{what} checksum mismatch"),
        ));
    }
    Ok(body)
}

impl Table {
    /// Opens and validates the footer, index and bloom filter.
    pub fn open(id: u64, file: FileHandle, cache: &Arc<BlockCache>) -> Result<Arc<Self>> {
        let size = file.len()?;
        let bad = |off: u64, why: &str| Error::corrupt(file.path(), off, why.to_string());
        if size < FOOTER_LEN as u64 {
            return Err(bad(0, "table shorter than its footer"));
        }
        let mut footer = [0u8; FOOTER_LEN];
        file.read_at(&mut footer, size - FOOTER_LEN as u64)?;
        let foot_off = size - FOOTER_LEN as u64;
        if u64_le(&footer[32..40]) != MAGIC {
            return Err(bad(foot_off, "bad table magic number"));
        }
        if crc32fast::hash(&footer[..40]) != u32_le(&footer[40..44]) {
            return Err(bad(foot_off, "table footer checksum mismatch"));
        }
        let index_off = u64_le(&footer[0..8]);
        let index_len = u32_le(&footer[8..12]) as u64;
        let bloom_off = u64_le(&footer[12..20]);
        let bloom_len = u32_le(&footer[20..24]) as u64;
        let entries = u64_le(&footer[24..32]);
        if index_off + index_len > foot_off || bloom_off + bloom_len > foot_off {
            return Err(bad(foot_off, "footer points outside the table"));
        }
        let mut raw = vec![0u8; index_len as usize];
        file.read_at(&mut raw, index_off)?;
        let index = checked(&*file, &raw, index_off, "table index")?;
        if index.len() < 4 || 4 + u32_le(index) as usize > index.len() {
            return Err(bad(index_off, "truncated first key"));
        }
        let first_key = index[4..4 + u32_le(index) as usize].to_vec();
        let mut blocks = Vec::new();
        let mut p = 4 + first_key.len();
        while p < index.len() {
            if p + 4 > index.len() {
                return Err(bad(index_off, "truncated index entry"));
            }
            let klen = u32_le(&index[p..]) as usize;
            if p + 4 + klen + 12 > index.len() {
                return Err(bad(index_off, "truncated index entry"));
            }
            let last_key = index[p + 4..p + 4 + klen].to_vec();
            let offset = u64_le(&index[p + 4 + klen..]);
            let len = u32_le(&index[p + 12 + klen..]);
            if offset + u64::from(len) > index_off {
                return Err(bad(index_off, "index points outside the data blocks"));
            }
            blocks.push(BlockRef {
                last_key,
                offset,
                len,
            });
            p += 4 + klen + 12;
        }
        let mut braw = vec![0u8; bloom_len as usize];
        file.read_at(&mut braw, bloom_off)?;
        let bloom = checked(&*file, &braw, bloom_off, "bloom filter")?.to_vec();
        if blocks.is_empty() {
            return Err(bad(index_off, "table has no data blocks"));
        }
        Ok(Arc::new(Table {
            first_key,
            id,
            file,
            bloom,
            entries,
            size,
            cache: cache.clone(),
            cached: cache.table(blocks.len()),
            index_hints: Fences::new(blocks.iter().map(|b| prefix(&b.last_key)).collect()),
            blocks,
        }))
    }

    /// Reads block `i` from the file, checks its CRC and locates its
    /// entries.
    fn read_block(&self, i: usize) -> Result<Block> {
        let b = &self.blocks[i];
        let mut raw = vec![0u8; b.len as usize];
        self.file.read_at(&mut raw, b.offset)?;
        checked(&*self.file, &raw, b.offset, "data block")?;
        Block::parse(&raw[..raw.len() - 4], self.file.path(), b.offset)
    }

    /// Data blocks.
    pub(super) fn block_count(&self) -> usize {
        self.blocks.len()
    }

    /// Bytes of block `i` in the file (its CRC included).
    pub(super) fn block_len(&self, i: usize) -> u64 {
        u64::from(self.blocks[i].len)
    }

    /// Block `i`, through the cache (reads) or not (compactions).
    pub(super) fn block(&self, i: usize, cached: bool) -> Result<Block> {
        if !cached {
            return self.read_block(i);
        }
        self.cache
            .get_or_load(&self.cached, i, || self.read_block(i))
    }

    /// Bytes of this table's blocks in the block cache.
    pub fn cached_bytes(&self) -> usize {
        self.cached.bytes()
    }

    /// Drops this table's blocks from the block cache, for good (the
    /// table was removed).
    pub(super) fn forget_cached(&self) {
        self.cache.forget(&self.cached);
    }

    /// Largest key.
    pub fn last_key(&self) -> &[u8] {
        self.blocks.last().map_or(&[], |b| b.last_key.as_slice())
    }

    /// Whether the table's key range overlaps `[lo, hi]`.
    pub fn overlaps(&self, lo: &[u8], hi: &[u8]) -> bool {
        self.first_key.as_slice() <= hi && self.last_key() >= lo
    }

    /// Index of the first block that can hold `key` (its last key >= key).
    pub(super) fn block_for(&self, key: &[u8]) -> usize {
        self.index_hints
            .lower_bound(|i| &self.blocks[i].last_key, key)
            .0
    }

    /// `Some(Some(v))` value, `Some(None)` tombstone, `None` not in this table.
    pub fn get(&self, key: &[u8]) -> Result<Option<Option<Vec<u8>>>> {
        if !bloom::may_contain(&self.bloom, key) {
            return Ok(None);
        }
        let i = self.block_for(key);
        if i >= self.blocks.len() {
            return Ok(None);
        }
        let block = self.block(i, true)?;
        let (at, found) = block.lower_bound(key);
        Ok(found.then(|| block.value(at).map(<[u8]>::to_vec)))
    }

    /// Every entry, in order, read without the cache (compactions; scans
    /// use [`super::cursor::TableCursor`]).
    pub fn all(self: &Arc<Self>) -> TableIter {
        TableIter {
            table: self.clone(),
            next_block: 0,
            block: None,
            pos: 0,
        }
    }
}

/// Iterator over a table's entries, owned, read without the cache.
#[derive(Debug)]
pub struct TableIter {
    table: Arc<Table>,
    next_block: usize,
    /// The block being read.
    block: Option<Block>,
    /// Next entry of `block`.
    pos: usize,
}

impl Iterator for TableIter {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(b) = self.block.as_ref().filter(|b| self.pos < b.len()) {
                let i = self.pos;
                self.pos += 1;
                return Some(Ok((b.key(i).to_vec(), b.value(i).map(<[u8]>::to_vec))));
            }
            if self.next_block >= self.table.blocks.len() {
                self.block = None;
                return None;
            }
            match self.table.block(self.next_block, false) {
                Ok(b) => {
                    self.pos = 0;
                    self.block = Some(b);
                    self.next_block += 1;
                }
                Err(e) => {
                    self.block = None;
                    self.next_block = usize::MAX;
                    return Some(Err(e));
                }
            }
        }
    }
}
