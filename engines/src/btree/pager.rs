//! [`Pager`]: the page cache over `data.pages`, dirty tracking, page
//! allocation with a free list, and checkpoints through the doublewrite file
//! `data.dwb`.
//!
//! ## Cache
//!
//! Decoded pages are cached up to `cache_pages`. A clean page not in flight
//! (see below) equals its image in the data file, so it can be dropped at
//! any time (least recently used first, in batches of 1/32 of the cache).
//! A dirty page is never written back on its own: the data file must stay
//! exactly at the last checkpoint so that the WAL's logical redo applies to
//! it (no-steal). The engine checkpoints when dirty pages and the pages of
//! a checkpoint in flight together reach [`Pager::dirty_limit`], so the
//! cache exceeds `cache_pages` at most by the pages one write dirties
//! (plus the images kept for pages in flight that changed).
//!
//! ## Free list
//!
//! Freed pages form a chain through their `next` field starting at
//! `meta.free_head`, newest first; [`Pager::alloc`] takes the head before
//! growing the file. Only the pages whose link changes are dirtied.
//!
//! ## Checkpoint and torn pages
//!
//! Pages are overwritten in place, so a crash during a checkpoint can leave
//! the data file with some pages new, some old and some torn, which logical
//! redo cannot repair. A checkpoint writes only the pages dirtied since the
//! last one. [`Pager::begin_checkpoint`] takes them (and the meta page) as
//! they are, *in flight*, and [`Flight::write`] then, while writes go on:
//!
//! 1. writes the pages in flight numbered at or past the last checkpoint's
//!    page count ("fresh" pages, new at the end of the file: nothing on
//!    disk refers to them, so a torn write there loses nothing) in place
//!    and syncs `data.pages` (unless `none`); they get no doublewrite copy;
//! 2. writes every other page image in flight and the new meta page to
//!    `data.dwb` (in writes of about 1 MiB) and syncs it (unless `none`);
//! 3. writes those images in place, read back from `data.dwb` (from the
//!    page cache: a copy instead of a second encode under the engine's
//!    lock, and exactly the bytes recovery would restore from the copy),
//!    runs of adjacent pages coalesced into one write, up to about 1 MiB,
//!    and syncs `data.pages` (unless `none`);
//! 4. truncates `data.dwb` to zero (not synced: a stale copy that comes back
//!    holds exactly what the data file already has). When a data file is
//!    started again (lost, or never finished), the truncation of an old
//!    copy *is* synced first: that copy belongs to another file.
//!
//! [`Pager::finish_checkpoint`] then makes the pages in flight ordinary
//! cached pages. Until then they are never evicted (the data file does not
//! hold them), and one that a write changes first keeps its image as it
//! was ([`Pager::flight_entries`]), so the images are those of one
//! consistent tree.
//!
//! Pages taken from the free list are not fresh: the last checkpoint's free
//! list runs through them, so they go through the copy like any other.
//!
//! [`Pager::open`] first checks a complete `data.dwb` (valid CRC) whose
//! generation is not older than the data file's meta page: every image in
//! it that differs from the data file is written back and the data file
//! synced. After a crash in step 3 this finishes the checkpoint (the fresh
//! pages were durable before the copy); after a crash in step 1 or 2 the
//! copy is incomplete, nothing the previous checkpoint refers to was
//! written, and the data file still holds that checkpoint whole. A page that fails
//! its checksum anyway (damage outside a checkpoint) is reported as
//! `Error::Corrupt` with the file and the page's offset when it is read.
//!
//! ## Format of `data.dwb`
//!
//! ```text
//! magic u64 "BTREEDW2", checkpoint generation u64, page size u32, count u32,
//! count x (page id u32, page image), crc32 u32 of everything before it
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use super::cache::{PageTable, Slot, View};
use super::frame::{Frame, Frames};
use super::page::{self, Meta, Node, PageId};
use crate::fs::{EngineDir, FileHandle};
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// Name of the data file.
pub const DATA: &str = "data.pages";
/// Name of the doublewrite file.
pub const DWB: &str = "data.dwb";
const DWB_MAGIC: u64 = u64::from_le_bytes(*b"BTREEDW2");
const DWB_HEADER: usize = 24;

/// A checkpoint writes its page images in chunks of about this many bytes.
const CHUNK: usize = 1 << 20;

/// Pages a checkpoint encodes per hold of the engine's lock: short holds
/// (tens of microseconds), so writers and readers go on between them.
const PAGES_PER_LOCK: usize = 64;

/// Bytes written by the pager, by file.
#[derive(Debug, Clone, Copy, Default)]
pub struct PagerCounts {
    /// Bytes written to `data.pages`.
    pub pages: u64,
    /// Bytes written to `data.dwb`.
    pub dwb: u64,
    /// Pages read from the data file (cache misses).
    pub reads: u64,
    /// Pages repaired from the doublewrite file at the last open.
    pub repaired: u64,
}

/// Bytes a checkpoint wrote, by file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Written {
    /// To `data.pages`.
    pub pages: u64,
    /// To `data.dwb`.
    pub dwb: u64,
}

/// A checkpoint begun by [`Pager::begin_checkpoint`] and not finished
/// yet: the pages it writes and the meta page it ends with.
#[derive(Debug)]
pub struct Flight {
    /// The last WAL generation it covers (its meta page's
    /// `checkpoint_gen`).
    pub gen: u64,
    /// The pages dirty when it began, sorted.
    ids: Vec<PageId>,
    /// `ids[split..]` are fresh: numbered at or past the last checkpoint's
    /// page count.
    split: usize,
    /// The meta page's image.
    meta: Vec<u8>,
    /// The page count its meta page records.
    page_count: u32,
    page_bytes: usize,
}

impl Flight {
    /// Pages it writes (besides the meta page).
    pub fn pages(&self) -> usize {
        self.ids.len()
    }

    /// Writes the checkpoint through the doublewrite file (steps 1-4 of
    /// the module doc) to `data` and `dwb`, syncing as `policy` says.
    /// `entries` appends the `(id u32, image)` entries of the pages it is
    /// given, as they were when the checkpoint began: the caller takes the
    /// engine's lock for it ([`Pager::flight_entries`]), a few dozen pages
    /// at a time, so this runs beside writers. Both passes over the pages
    /// get the same images. On error the data file may hold a partial
    /// checkpoint that only recovery repairs: the engine must stop writing.
    pub fn write(
        &self,
        (data, dwb): (&FileHandle, &FileHandle),
        policy: SyncPolicy,
        mut entries: impl FnMut(&[PageId], &mut Vec<u8>) -> Result<()>,
    ) -> Result<Written> {
        let pb = self.page_bytes;
        let (old, fresh) = self.ids.split_at(self.split);
        let mut written = Written::default();
        let mut chunk = Vec::with_capacity(CHUNK + PAGES_PER_LOCK * (pb + 4) + pb + 64);

        // 1. Fresh pages in place, durable before the copy can be complete.
        stream(fresh, &mut chunk, &mut entries, |c| {
            written.pages += write_in_place(data, pb, c)?;
            Ok(())
        })?;
        written.pages += write_in_place(data, pb, &chunk)?;
        chunk.clear();
        if !fresh.is_empty() && policy.syncs_data() {
            policy.sync_file(&**data)?;
        }
        // 2. The doublewrite copy, durable before any page is overwritten:
        // the header, the meta page as page 0, the other dirty pages, and
        // the CRC of all of them.
        chunk.extend_from_slice(&DWB_MAGIC.to_le_bytes());
        chunk.extend_from_slice(&self.gen.to_le_bytes());
        chunk.extend_from_slice(&(pb as u32).to_le_bytes());
        chunk.extend_from_slice(&(old.len() as u32 + 1).to_le_bytes());
        chunk.extend_from_slice(&0u32.to_le_bytes());
        chunk.extend_from_slice(&self.meta);
        let mut crc = crc32fast::Hasher::new();
        let mut at = 0u64;
        stream(old, &mut chunk, &mut entries, |c| {
            crc.update(c);
            dwb.write_at(c, at)?;
            at += c.len() as u64;
            Ok(())
        })?;
        crc.update(&chunk);
        chunk.extend_from_slice(&crc.finalize().to_le_bytes());
        dwb.write_at(&chunk, at)?;
        written.dwb = at + chunk.len() as u64;
        if policy.syncs_data() {
            policy.sync_file(&**dwb)?;
        }
        // 3. In place: the meta page and the same images again, read back
        // from the copy (in the page cache: a copy, not an encode under
        // the engine's lock, and byte for byte what recovery would
        // restore from it).
        let entry = pb + 4;
        let total = old.len() + 1;
        let per_read = (CHUNK / entry).max(1);
        let mut done = 0;
        while done < total {
            let n = per_read.min(total - done);
            chunk.resize(n * entry, 0);
            dwb.read_at(&mut chunk, (DWB_HEADER + done * entry) as u64)?;
            written.pages += write_in_place(data, pb, &chunk)?;
            done += n;
        }
        if policy.syncs_data() {
            policy.sync_file(&**data)?;
        }
        // 4. The copy is no longer needed.
        dwb.set_len(0)?;
        Ok(written)
    }
}

/// Appends the entries of pages `ids` to `chunk` ([`Flight::write`]'s
/// `entries`, [`PAGES_PER_LOCK`] pages at a time), handing `flush` the
/// chunk whenever it reaches [`CHUNK`] bytes; the rest stays in `chunk`.
fn stream(
    ids: &[PageId],
    chunk: &mut Vec<u8>,
    entries: &mut impl FnMut(&[PageId], &mut Vec<u8>) -> Result<()>,
    mut flush: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    for ids in ids.chunks(PAGES_PER_LOCK) {
        entries(ids, chunk)?;
        if chunk.len() >= CHUNK {
            flush(chunk)?;
            chunk.clear();
        }
    }
    Ok(())
}

/// Writes `(page id u32, image)` entries, sorted by id, in place in
/// `file`: runs of adjacent pages in one write each. Returns the bytes
/// written.
fn write_in_place(file: &FileHandle, pb: usize, body: &[u8]) -> Result<u64> {
    let entry = pb + 4;
    let count = body.len() / entry;
    let mut buf = Vec::new();
    let mut written = 0;
    let mut i = 0;
    while i < count {
        let first = page::u32_at(body, i * entry);
        let mut run = 1;
        while i + run < count && page::u32_at(body, (i + run) * entry) == first + run as u32 {
            run += 1;
        }
        buf.clear();
        for j in i..i + run {
            buf.extend_from_slice(&body[j * entry + 4..(j + 1) * entry]);
        }
        file.write_at(&buf, u64::from(first) * pb as u64)?;
        written += buf.len() as u64;
        i += run;
    }
    Ok(written)
}

/// The page cache and allocator of one data file.
#[derive(Debug)]
pub struct Pager {
    file: FileHandle,
    dwb: FileHandle,
    page_bytes: usize,
    cap: usize,
    cache: PageTable,
    tick: u64,
    dirty: usize,
    /// Page count of the data file's meta page (the last checkpoint):
    /// pages at or past it are referenced by nothing on disk.
    durable_pages: u32,
    /// The meta page as the next checkpoint will write it.
    pub meta: Meta,
    /// Bytes written and pages read.
    pub counts: PagerCounts,
    scratch: Vec<u8>,
    /// Memory for the images of the pages read ([`Frames`]).
    frames: Arc<Frames>,
    /// A checkpoint is in flight ([`Pager::begin_checkpoint`]).
    flying: bool,
    /// Cached pages at which a load evicts ([`Pager::evict`]).
    evict_at: usize,
    /// Pages of the checkpoint in flight.
    flight_pages: usize,
    /// Images of pages in flight as they were when it began, kept when
    /// they changed since.
    captured: HashMap<PageId, Vec<u8>>,
    /// A deliberate bug for tests that must catch it: pages in flight are
    /// written as they are when written, not as they were.
    #[cfg(test)]
    pub(crate) skip_capture: bool,
}

fn new_meta() -> Meta {
    Meta {
        root: 1,
        page_count: 2,
        free_head: 0,
        free_count: 0,
        checkpoint_gen: 0,
        live_keys: 0,
        next_seq: 1,
    }
}

impl Pager {
    /// Opens `data.pages` (creating it with an empty root leaf), after
    /// repairing it from a complete doublewrite file. With `start_over`,
    /// an existing data file is emptied and started again. `wal_exists`:
    /// a WAL generation is on disk, so the data file's creation finished.
    pub fn open(
        dir: &EngineDir,
        page_bytes: usize,
        cache_pages: usize,
        start_over: bool,
        wal_exists: bool,
    ) -> Result<Pager> {
        let policy = dir.policy();
        let mut counts = PagerCounts::default();
        let dwb = if dir.exists(DWB)? {
            dir.open_file(DWB)?
        } else {
            dir.create(DWB)?
        };
        let existing = if dir.exists(DATA)? && !start_over {
            let file = dir.open_file(DATA)?;
            // Shorter than two pages: its creation never finished (the WAL
            // is created only after it), so it is started again.
            (file.len()? >= 2 * page_bytes as u64).then_some(file)
        } else {
            None
        };
        let existing = match existing {
            Some(file) => {
                counts.repaired = repair_from_doublewrite(&file, &dwb, page_bytes, policy)?;
                counts.pages += counts.repaired * page_bytes as u64;
                let mut b = vec![0u8; page_bytes];
                file.read_at(&mut b, 0)?;
                match page::decode_meta(&b, file.path()) {
                    Ok(meta) => Some((file, meta)),
                    // No WAL yet: the file's creation never finished (its
                    // first pages are synced before the first WAL exists,
                    // and every later meta page goes through the
                    // doublewrite copy, repaired above). A crash kept its
                    // size but not its pages; it is started again, like a
                    // short file. Nothing was acknowledged.
                    Err(_) if !wal_exists => None,
                    Err(e) => return Err(other_page_size(&file, page_bytes).unwrap_or(e)),
                }
            }
            None => None,
        };
        let (file, meta) = match existing {
            Some(found) => found,
            None => {
                // A doublewrite copy left from an earlier data file must be
                // gone for good before a new data file exists: a crash would
                // otherwise bring the unsynced truncation back, and the next
                // open would write the old file's pages into the new one.
                if dwb.len()? > 0 {
                    dwb.set_len(0)?;
                    if policy.syncs_data() {
                        policy.sync_file(&*dwb)?;
                    }
                }
                let file = if dir.exists(DATA)? {
                    dir.open_file(DATA)?
                } else {
                    dir.create(DATA)?
                };
                let meta = new_meta();
                let mut image = page::encode_meta(&meta, page_bytes);
                image.extend_from_slice(&page::encode(&Node::empty_leaf(), page_bytes));
                file.set_len(0)?;
                file.write_at(&image, 0)?;
                counts.pages += image.len() as u64;
                if policy.syncs_data() {
                    policy.sync_file(&*file)?;
                }
                (file, meta)
            }
        };
        if dwb.len()? > 0 {
            dwb.set_len(0)?;
        }
        let flen = file.len()?;
        if u64::from(meta.page_count) * (page_bytes as u64) > flen {
            return Err(Error::corrupt(
                file.path(),
                flen,
                format!(
                    "meta page counts {} pages but the file holds {} bytes",
                    meta.page_count, flen
                ),
            ));
        }
        Ok(Pager {
            file,
            dwb,
            page_bytes,
            cap: cache_pages,
            cache: PageTable::with_capacity(meta.page_count as usize),
            tick: 0,
            dirty: 0,
            durable_pages: meta.page_count,
            meta,
            counts,
            scratch: Vec::with_capacity(page_bytes),
            frames: Frames::new(page_bytes),
            flying: false,
            evict_at: cache_pages,
            flight_pages: 0,
            captured: HashMap::new(),
            #[cfg(test)]
            skip_capture: false,
        })
    }

    /// Page size in bytes.
    pub fn page_bytes(&self) -> usize {
        self.page_bytes
    }

    /// The data file.
    pub fn file(&self) -> &FileHandle {
        &self.file
    }

    fn offset(&self, id: PageId) -> u64 {
        u64::from(id) * self.page_bytes as u64
    }

    fn load(&mut self, id: PageId) -> Result<&mut Slot> {
        self.tick += 1;
        let tick = self.tick;
        if !self.cache.contains(id) {
            if id == 0 || id >= self.meta.page_count {
                return Err(Error::corrupt(
                    self.file.path(),
                    self.offset(id),
                    format!(
                        "link to page {id}, outside the tree's {} pages",
                        self.meta.page_count
                    ),
                ));
            }
            let off = self.offset(id);
            let mut b = self
                .frames
                .take(self.page_bytes)
                .unwrap_or_else(|| Frame::heap(vec![0u8; self.page_bytes]));
            self.file.read_at(&mut b, off)?;
            let page = page::read(b, self.file.path(), off)?;
            self.counts.reads += 1;
            if self.cache.len() >= self.evict_at {
                self.evict();
            }
            self.cache.insert(id, Slot::read(page, tick));
        }
        let slot = self
            .cache
            .get_mut(id)
            .ok_or_else(|| Error::corrupt("data.pages", 0, "page missing from the cache"))?;
        slot.last_use = tick;
        Ok(slot)
    }

    /// Drops the least recently used clean pages: a batch of 1/32 of the
    /// capacity (amortizing the selection), at least enough to get back
    /// under the capacity, never a dirty page.
    ///
    /// When too few pages are evictable (dirty, or in flight: see
    /// [`Pager::begin_checkpoint`]), the cache stays above its capacity and
    /// the next attempt waits until another batch of pages was loaded:
    /// retrying at every load scanned the whole cache each time (btree
    /// `put_none` went from 22 to 145 µs while checkpoints were in flight).
    fn evict(&mut self) {
        let over = (self.cache.len() + 1).saturating_sub(self.cap);
        let excess = over.max(self.cap / 32).max(1);
        let mut clean: Vec<(u64, PageId)> = self
            .cache
            .iter()
            .filter(|(_, s)| !s.dirty && !s.in_flight)
            .map(|(id, s)| (s.last_use, id))
            .collect();
        if clean.len() > excess {
            clean.select_nth_unstable(excess - 1);
            clean.truncate(excess);
        }
        for (_, id) in clean {
            self.cache.remove(id);
        }
        self.evict_at = self.cap.max(self.cache.len() + (self.cap / 32).max(1));
    }

    /// A page, to read.
    pub fn node(&mut self, id: PageId) -> Result<&Node> {
        Ok(self.load(id)?.node())
    }

    /// A page and the prefixes of its keys, to search (see
    /// [`super::cache::upper_bound`]).
    pub fn searchable(&mut self, id: PageId) -> Result<View<'_>> {
        Ok(self.load(id)?.searchable())
    }

    /// Page `id` to search on the way down, or `None` for a leaf, whose
    /// search hints are then not built: a walk down to a leaf that is
    /// about to change would rebuild them for nothing (every put into a
    /// leaf made its hints stale).
    pub fn branch(&mut self, id: PageId) -> Result<Option<View<'_>>> {
        let slot = self.load(id)?;
        Ok(if slot.is_leaf() {
            None
        } else {
            Some(slot.searchable())
        })
    }

    /// A page, to modify (marked dirty).
    pub fn node_mut(&mut self, id: PageId) -> Result<&mut Node> {
        Ok(self.dirty_slot(id)?.node_mut())
    }

    /// Stores `key` = `value` in leaf `id` (marked dirty), keeping its
    /// search hints ([`Slot::leaf_put`]); returns whether the key was new.
    pub fn leaf_put(&mut self, id: PageId, key: &[u8], value: &[u8]) -> Result<bool> {
        match self.dirty_slot(id)?.leaf_put(key, value) {
            Some(new) => Ok(new),
            None => Err(Error::corrupt(
                self.file.path(),
                self.offset(id),
                "expected a leaf page",
            )),
        }
    }

    fn dirty_slot(&mut self, id: PageId) -> Result<&mut Slot> {
        self.load(id)?;
        self.capture(id);
        if let Some(slot) = self.cache.get_mut(id) {
            if !slot.dirty {
                slot.dirty = true;
                self.dirty += 1;
            }
        }
        self.cache
            .get_mut(id)
            .ok_or_else(|| Error::corrupt("data.pages", 0, "page missing from the cache"))
    }

    /// Allocates a page for `node`: the head of the free list, else a new
    /// page at the end of the file.
    pub fn alloc(&mut self, node: Node) -> Result<PageId> {
        let id = if self.meta.free_head != 0 {
            let id = self.meta.free_head;
            let next = match self.node(id)? {
                Node::Free { next } => *next,
                _ => {
                    return Err(Error::corrupt(
                        self.file.path(),
                        self.offset(id),
                        "the free list names a live page",
                    ))
                }
            };
            self.meta.free_head = next;
            self.meta.free_count = self.meta.free_count.saturating_sub(1);
            id
        } else {
            let id = self.meta.page_count;
            self.meta.page_count = id.checked_add(1).ok_or_else(|| Error::TooLarge {
                what: "data file (pages)",
                size: u64::from(id) + 1,
                limit: u64::from(u32::MAX),
            })?;
            id
        };
        self.put_dirty(id, node);
        Ok(id)
    }

    /// Puts `id` on the free list.
    pub fn free(&mut self, id: PageId) {
        let next = self.meta.free_head;
        self.put_dirty(id, Node::Free { next });
        self.meta.free_head = id;
        self.meta.free_count += 1;
    }

    fn put_dirty(&mut self, id: PageId, node: Node) {
        self.tick += 1;
        self.capture(id);
        let mut slot = Slot::new(node, true, self.tick);
        slot.in_flight = self.cache.get(id).is_some_and(|s| s.in_flight);
        match self.cache.insert(id, slot) {
            Some(old) if old.dirty => {}
            _ => self.dirty += 1,
        }
    }

    /// Dirty pages waiting for the next checkpoint.
    pub fn dirty_pages(&self) -> usize {
        self.dirty
    }

    /// Dirty pages at which the engine checkpoints: 15/16 of the cache (the
    /// rest keeps the hot clean pages, such as the upper levels).
    pub fn dirty_limit(&self) -> usize {
        self.cap - (self.cap / 16).max(1)
    }

    /// Pages the cache holds before it evicts.
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Pages in the cache.
    pub fn cached_pages(&self) -> usize {
        self.cache.len()
    }

    /// Begins a checkpoint covering WAL generations up to `gen`: takes
    /// the dirty pages and the meta page as they are now (the meta page
    /// records `gen`), marks those pages in flight and clean, and returns
    /// what [`Flight::write`] writes. Until [`Pager::finish_checkpoint`],
    /// the pages in flight stay cached (the data file does not hold them
    /// yet), and a page in flight that changes first leaves its image as
    /// it was here ([`Pager::flight_entries`]), so writes go on while the
    /// checkpoint is written. One checkpoint at a time.
    pub fn begin_checkpoint(&mut self, gen: u64) -> Flight {
        debug_assert!(!self.flying, "one checkpoint at a time");
        self.meta.checkpoint_gen = gen;
        let mut ids: Vec<PageId> = self
            .cache
            .iter()
            .filter(|(_, s)| s.dirty)
            .map(|(id, _)| id)
            .collect();
        ids.sort_unstable();
        for &id in &ids {
            if let Some(slot) = self.cache.get_mut(id) {
                slot.dirty = false;
                slot.in_flight = true;
            }
        }
        self.dirty = 0;
        self.flying = true;
        self.flight_pages = ids.len();
        // Pages past the last checkpoint's page count hold nothing the
        // data file's tree or free list refers to: a torn write there
        // loses nothing, so they skip the doublewrite copy.
        let split = ids.partition_point(|&id| id < self.durable_pages);
        Flight {
            gen,
            ids,
            split,
            meta: page::encode_meta(&self.meta, self.page_bytes),
            page_count: self.meta.page_count,
            page_bytes: self.page_bytes,
        }
    }

    /// Appends the `(id u32, image)` entries of `ids`, pages of the
    /// checkpoint in flight, to `out`: each as it was when the checkpoint
    /// began (its image kept when it changed since, else its cached page).
    pub fn flight_entries(&mut self, ids: &[PageId], out: &mut Vec<u8>) -> Result<()> {
        let mut image = std::mem::take(&mut self.scratch);
        for &id in ids {
            let bytes: &[u8] = match self.captured.get(&id) {
                Some(kept) => kept,
                None => match self.cache.get(id) {
                    Some(slot) if slot.in_flight && (!slot.dirty || self.skips_capture()) => {
                        slot.encode_into(self.page_bytes, &mut image);
                        &image
                    }
                    _ => {
                        self.scratch = image;
                        return Err(Error::corrupt(
                            self.file.path(),
                            self.offset(id),
                            "a page of the checkpoint in flight is neither cached nor kept",
                        ));
                    }
                },
            };
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(bytes);
        }
        self.scratch = image;
        Ok(())
    }

    /// Before page `id` changes: if the checkpoint in flight has to write
    /// it and it has not changed since that began, keeps its image.
    fn capture(&mut self, id: PageId) {
        if !self.flying {
            return;
        }
        #[cfg(test)]
        if self.skip_capture {
            return;
        }
        if let Some(slot) = self.cache.get(id) {
            if slot.in_flight && !slot.dirty && !self.captured.contains_key(&id) {
                let mut image = Vec::with_capacity(self.page_bytes);
                slot.encode_into(self.page_bytes, &mut image);
                self.captured.insert(id, image);
            }
        }
    }

    #[cfg(test)]
    fn skips_capture(&self) -> bool {
        self.skip_capture
    }

    #[cfg(not(test))]
    fn skips_capture(&self) -> bool {
        false
    }

    /// Ends the checkpoint `flight` once it is written and synced: its
    /// pages are ordinary cached pages again (evictable when clean) and
    /// its page count is the data file's.
    pub fn finish_checkpoint(&mut self, flight: &Flight, written: Written) {
        for &id in &flight.ids {
            if let Some(slot) = self.cache.get_mut(id) {
                slot.in_flight = false;
            }
        }
        self.captured = HashMap::new();
        self.flying = false;
        self.flight_pages = 0;
        self.durable_pages = flight.page_count;
        self.counts.pages += written.pages;
        self.counts.dwb += written.dwb;
        self.evict_at = self.cap;
        if self.cache.len() > self.cap {
            self.evict();
        }
    }

    /// The data file and the doublewrite file, for [`Flight::write`].
    pub fn flight_files(&self) -> (FileHandle, FileHandle) {
        (self.file.clone(), self.dwb.clone())
    }

    /// Pages of the checkpoint in flight (0 when none is).
    pub fn in_flight_pages(&self) -> usize {
        self.flight_pages
    }

    /// Size of the data file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file.len().unwrap_or(0)
    }
}

/// If the data file's meta page decodes with another page size, the error
/// that says so (the page size is fixed when the file is created).
fn other_page_size(file: &FileHandle, page_bytes: usize) -> Option<Error> {
    let len = file.len().ok()?;
    let mut size = 512;
    while size <= 65536 {
        if size != page_bytes && size as u64 <= len {
            let mut b = vec![0u8; size];
            if file.read_at(&mut b, 0).is_ok() && page::decode_meta(&b, file.path()).is_ok() {
                return Some(Error::InvalidConfig(format!(
                    "{} has {size}-byte pages but page_bytes = {page_bytes}",
                    file.path().display()
                )));
            }
        }
        size *= 2;
    }
    None
}

/// Writes back every page image of a complete doublewrite file that differs
/// from the data file (skipping a copy older than the data file's meta
/// page) and syncs the data file if anything changed. Returns the pages
/// written back.
fn repair_from_doublewrite(
    file: &FileHandle,
    dwb: &FileHandle,
    page_bytes: usize,
    policy: SyncPolicy,
) -> Result<u64> {
    let b = dwb.read_all()?;
    let entry = page_bytes + 4;
    if b.len() < DWB_HEADER + 4 {
        return Ok(0);
    }
    // Bytes after the announced length (left by an unsynced truncation of
    // a longer, older copy) are not part of it.
    let count = page::u32_at(&b, 20) as usize;
    let len = count
        .checked_mul(entry)
        .and_then(|n| n.checked_add(DWB_HEADER + 4))
        .unwrap_or(usize::MAX);
    let complete = page::u64_at(&b, 0) == DWB_MAGIC
        && page::u32_at(&b, 16) as usize == page_bytes
        && len <= b.len()
        && crc32fast::hash(&b[..len - 4]) == page::u32_at(&b, len - 4);
    let body = &b[..len.min(b.len())];
    if !complete {
        // Torn while being written: nothing was written in place after it.
        return Ok(0);
    }
    let gen = page::u64_at(body, 8);
    let mut current = vec![0u8; page_bytes];
    let flen = file.len()?;
    if flen >= page_bytes as u64 {
        file.read_at(&mut current, 0)?;
        if let Ok(meta) = page::decode_meta(&current, file.path()) {
            if meta.checkpoint_gen > gen {
                return Ok(0);
            }
        }
    }
    let mut repaired = 0;
    for i in 0..count {
        let at = DWB_HEADER + i * entry;
        let id = page::u32_at(body, at);
        let image = &body[at + 4..at + entry];
        let off = u64::from(id) * page_bytes as u64;
        let same = off + page_bytes as u64 <= flen && {
            file.read_at(&mut current, off)?;
            current == image
        };
        if !same {
            file.write_at(image, off)?;
            repaired += 1;
        }
    }
    if repaired > 0 && policy.syncs_data() {
        policy.sync_file(&**file)?;
    }
    Ok(repaired)
}
