//! The page cache, page allocation, and checkpoints through a doublewrite
//! file.
//!
//! ## Checkpoint and torn pages
//!
//! Pages are updated in place, so a crash while they are written can leave
//! a torn page that a logical redo log cannot repair. A checkpoint therefore
//! first writes every dirty page image (and the new meta page) to
//! `pages.dwb` (temp name, sync unless `none`, rename, directory sync under
//! `+dir`), then writes the pages in place and syncs the data file, then
//! removes `pages.dwb`. Recovery that finds a valid `pages.dwb` writes its
//! images again (the in-place writes may have been torn) before anything
//! else; an invalid one was never followed by in-place writes and is
//! dropped. A page that still fails its checksum is reported as
//! `Error::Corrupt` with the file and offset.
//!
//! ## Format of `pages.dwb`
//!
//! `count x (page id u32, page image)`, then a footer: count u32, page size
//! u32, magic u64 `BTREEDW1`, crc32 of everything before the crc.

use std::collections::{HashMap, HashSet};

use super::page::{self, Meta, Node};
use crate::fs::{EngineDir, FileHandle};
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// Name of the data file.
pub const DATA: &str = "data.pages";
/// Name of the doublewrite file.
pub const DWB: &str = "pages.dwb";
const DWB_MAGIC: u64 = u64::from_le_bytes(*b"BTREEDW1");

/// Pages in memory, dirty tracking, allocation.
#[derive(Debug)]
pub struct Pager {
    dir: EngineDir,
    file: FileHandle,
    page_bytes: usize,
    cache: HashMap<u32, Node>,
    dirty: HashSet<u32>,
    /// The meta page as it will be written at the next checkpoint.
    pub meta: Meta,
    free: Vec<u32>,
    cap: usize,
    /// Bytes written to the data file.
    pub page_bytes_written: u64,
    /// Bytes written to doublewrite files.
    pub dwb_bytes_written: u64,
}

impl Pager {
    /// Opens the data file (creating it with an empty root leaf), first
    /// re-applying a valid doublewrite file.
    pub fn open(dir: &EngineDir, page_bytes: usize, cap: usize, reset: &mut bool) -> Result<Pager> {
        let policy = dir.policy();
        let existing = if dir.exists(DATA)? {
            let file = dir.open_file(DATA)?;
            // A data file without even its first two pages never finished
            // being created (possible only when nothing is synced): start
            // it again; the WAL holds whatever survived.
            (file.len()? >= 2 * page_bytes as u64).then_some(file)
        } else {
            None
        };
        // Under a policy that never syncs, nothing was promised and torn
        // pages are expected after a power loss: a data file that fails
        // validation is started again (reported through `reset`) and the
        // WAL that survived is replayed onto it. Under every other policy
        // damage is an error.
        let existing = match existing {
            Some(file) if !policy.syncs_data() => {
                if dir.exists(DWB)? {
                    apply_doublewrite(dir, &file, page_bytes, policy)?;
                }
                match validate_all(&file, page_bytes) {
                    Ok(()) => Some(file),
                    Err(_) => {
                        file.set_len(0)?;
                        *reset = true;
                        None
                    }
                }
            }
            other => other,
        };
        let (file, meta) = if let Some(file) = existing {
            if dir.exists(DWB)? {
                apply_doublewrite(dir, &file, page_bytes, policy)?;
            }
            let mut b = vec![0u8; page_bytes];
            file.read_at(&mut b, 0)?;
            (file.clone(), page::decode_meta(&b, file.path())?)
        } else {
            if dir.exists(DWB)? {
                dir.remove_all(&[DWB])?;
            }
            let file = if dir.exists(DATA)? {
                dir.open_file(DATA)?
            } else {
                dir.create(DATA)?
            };
            let meta = Meta {
                root: 1,
                page_count: 2,
                free_head: 0,
                checkpoint_gen: 0,
            };
            let root = Node::Leaf {
                entries: Vec::new(),
                next: 0,
            };
            file.write_at(&page::encode_meta(&meta, page_bytes), 0)?;
            file.write_at(&page::encode(&root, page_bytes), page_bytes as u64)?;
            if policy.syncs_data() {
                policy.sync_file(&*file)?;
            }
            (file, meta)
        };
        let mut p = Pager {
            dir: dir.clone(),
            file,
            page_bytes,
            cache: HashMap::new(),
            dirty: HashSet::new(),
            meta,
            free: Vec::new(),
            cap,
            page_bytes_written: 0,
            dwb_bytes_written: 0,
        };
        // Load the free list.
        let mut next = meta.free_head;
        let mut seen = HashSet::new();
        while next != 0 {
            if next >= meta.page_count || !seen.insert(next) {
                return Err(Error::corrupt(p.file.path(), 0, "free list is broken"));
            }
            p.free.push(next);
            next = match p.node(next)? {
                Node::Free { next } => *next,
                _ => {
                    return Err(Error::corrupt(
                        p.file.path(),
                        u64::from(next) * page_bytes as u64,
                        "free list names a live page",
                    ))
                }
            };
        }
        p.free.reverse();
        Ok(p)
    }

    fn load(&mut self, id: u32) -> Result<()> {
        if self.cache.contains_key(&id) {
            return Ok(());
        }
        if id == 0 || id >= self.meta.page_count {
            return Err(Error::corrupt(
                self.file.path(),
                u64::from(id) * self.page_bytes as u64,
                format!("page {id} out of range"),
            ));
        }
        let off = u64::from(id) * self.page_bytes as u64;
        let mut b = vec![0u8; self.page_bytes];
        self.file.read_at(&mut b, off)?;
        let node = page::decode(&b, self.file.path(), off)?;
        if self.cache.len() >= self.cap {
            self.evict();
        }
        self.cache.insert(id, node);
        Ok(())
    }

    /// Drops clean pages until the cache is at 3/4 of its capacity.
    fn evict(&mut self) {
        let target = self.cap * 3 / 4;
        let clean: Vec<u32> = self
            .cache
            .keys()
            .filter(|id| !self.dirty.contains(id) && **id != self.meta.root)
            .copied()
            .take(self.cache.len().saturating_sub(target))
            .collect();
        for id in clean {
            self.cache.remove(&id);
        }
    }

    /// A page, read.
    pub fn node(&mut self, id: u32) -> Result<&Node> {
        self.load(id)?;
        self.cache
            .get(&id)
            .ok_or_else(|| Error::corrupt(self.file.path(), 0, "page vanished from the cache"))
    }

    /// A page, to modify (marked dirty).
    pub fn node_mut(&mut self, id: u32) -> Result<&mut Node> {
        self.load(id)?;
        self.dirty.insert(id);
        self.cache
            .get_mut(&id)
            .ok_or_else(|| Error::corrupt(self.file.path(), 0, "page vanished from the cache"))
    }

    /// Allocates a page (reusing a free one first) holding `node`.
    pub fn alloc(&mut self, node: Node) -> u32 {
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.meta.page_count += 1;
                self.meta.page_count - 1
            }
        };
        self.cache.insert(id, node);
        self.dirty.insert(id);
        id
    }

    /// Returns a page to the free list.
    pub fn free_page(&mut self, id: u32) {
        self.cache.insert(id, Node::Free { next: 0 });
        self.dirty.insert(id);
        self.free.push(id);
    }

    /// Free pages.
    pub fn free_count(&self) -> usize {
        self.free.len()
    }

    /// Writes every dirty page and the meta page (recording that WAL
    /// generations up to `gen` are reflected), through the doublewrite file.
    pub fn checkpoint(&mut self, gen: u64, policy: SyncPolicy) -> Result<()> {
        // Rewrite the free chain so it matches the in-memory list.
        let chain: Vec<u32> = self.free.iter().rev().copied().collect();
        for (i, id) in chain.iter().enumerate() {
            let next = chain.get(i + 1).copied().unwrap_or(0);
            self.cache.insert(*id, Node::Free { next });
            self.dirty.insert(*id);
        }
        self.meta.free_head = chain.first().copied().unwrap_or(0);
        self.meta.checkpoint_gen = gen;
        let mut ids: Vec<u32> = self.dirty.iter().copied().collect();
        ids.sort_unstable();
        let mut images: Vec<(u32, Vec<u8>)> = Vec::with_capacity(ids.len() + 1);
        for id in ids {
            if let Some(n) = self.cache.get(&id) {
                images.push((id, page::encode(n, self.page_bytes)));
            }
        }
        images.push((0, page::encode_meta(&self.meta, self.page_bytes)));

        let mut dwb = Vec::with_capacity(images.len() * (self.page_bytes + 4) + 20);
        for (id, img) in &images {
            dwb.extend_from_slice(&id.to_le_bytes());
            dwb.extend_from_slice(img);
        }
        dwb.extend_from_slice(&(images.len() as u32).to_le_bytes());
        dwb.extend_from_slice(&(self.page_bytes as u32).to_le_bytes());
        dwb.extend_from_slice(&DWB_MAGIC.to_le_bytes());
        let crc = crc32fast::hash(&dwb);
        dwb.extend_from_slice(&crc.to_le_bytes());
        self.dir.write_whole(DWB, &dwb)?;
        self.dwb_bytes_written += dwb.len() as u64;

        for (id, img) in &images {
            self.file
                .write_at(img, u64::from(*id) * self.page_bytes as u64)?;
            self.page_bytes_written += img.len() as u64;
        }
        if policy.syncs_data() {
            policy.sync_file(&*self.file)?;
        }
        self.dir.remove_all(&[DWB])?;
        self.dirty.clear();
        if self.cache.len() > self.cap {
            self.evict();
        }
        Ok(())
    }

    /// Dirty pages waiting for the next checkpoint.
    pub fn dirty_pages(&self) -> usize {
        self.dirty.len()
    }

    /// Data file size.
    pub fn file_len(&self) -> u64 {
        self.file.len().unwrap_or(0)
    }
}

/// Checks the meta page and every page's checksum.
fn validate_all(file: &FileHandle, page_bytes: usize) -> Result<()> {
    let image = file.read_all()?;
    let meta = page::decode_meta(image.get(..page_bytes).unwrap_or(&[]), file.path())?;
    if (image.len() as u64) < u64::from(meta.page_count) * page_bytes as u64 {
        return Err(Error::corrupt(
            file.path(),
            0,
            "data file shorter than its page count",
        ));
    }
    let node = |id: u32| -> Result<Node> {
        if id == 0 || id >= meta.page_count {
            return Err(Error::corrupt(
                file.path(),
                0,
                format!("page {id} out of range"),
            ));
        }
        let off = id as usize * page_bytes;
        page::decode(&image[off..off + page_bytes], file.path(), off as u64)
    };
    // Every page checks out, and the tree reachable from the root is whole.
    for id in 1..meta.page_count {
        node(id)?;
    }
    let mut stack = vec![meta.root];
    let mut seen = HashSet::new();
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            return Err(Error::corrupt(
                file.path(),
                0,
                format!("page {id} linked twice"),
            ));
        }
        match node(id)? {
            Node::Internal { children, .. } => stack.extend(children),
            Node::Leaf { next, .. } => {
                if next != 0 {
                    node(next)?;
                }
            }
            Node::Free { .. } => {
                return Err(Error::corrupt(
                    file.path(),
                    0,
                    format!("free page {id} in the tree"),
                ))
            }
        }
    }
    Ok(())
}

/// Re-applies a complete doublewrite file; drops an incomplete one.
fn apply_doublewrite(
    dir: &EngineDir,
    file: &FileHandle,
    page_bytes: usize,
    policy: SyncPolicy,
) -> Result<()> {
    let f = dir.open_file(DWB)?;
    let b = f.read_all()?;
    let valid = b.len() >= 20 && {
        let body = &b[..b.len() - 4];
        let crc = u32::from_le_bytes([
            b[b.len() - 4],
            b[b.len() - 3],
            b[b.len() - 2],
            b[b.len() - 1],
        ]);
        let f0 = b.len() - 20;
        let count = u32::from_le_bytes([b[f0], b[f0 + 1], b[f0 + 2], b[f0 + 3]]) as usize;
        let ps = u32::from_le_bytes([b[f0 + 4], b[f0 + 5], b[f0 + 6], b[f0 + 7]]) as usize;
        let mut m = [0u8; 8];
        m.copy_from_slice(&b[f0 + 8..f0 + 16]);
        crc32fast::hash(body) == crc
            && u64::from_le_bytes(m) == DWB_MAGIC
            && ps == page_bytes
            && count * (page_bytes + 4) == f0
    };
    if valid {
        let n = (b.len() - 20) / (page_bytes + 4);
        for i in 0..n {
            let at = i * (page_bytes + 4);
            let id = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            file.write_at(
                &b[at + 4..at + 4 + page_bytes],
                u64::from(id) * page_bytes as u64,
            )?;
        }
        if policy.syncs_data() {
            policy.sync_file(&**file)?;
        }
    }
    dir.remove_all(&[DWB])
}
