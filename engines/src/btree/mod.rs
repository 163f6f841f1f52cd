//! `btree`: a B+tree of fixed-size checksummed pages with a redo WAL (the
//! seed's `b-tree-storage-engine/btree.py`).
//!
//! Leaves hold sorted entries and a link to their right sibling (range
//! scans walk the links); internal pages hold separator keys. An insert that
//! overflows a page splits it (and, up the tree, its parents; the root
//! grows a level). A delete removes the entry; a leaf left empty is removed
//! from its parent, unlinked from its left sibling and freed, and an
//! internal page left without children goes the same way; a root with a
//! single child is replaced by that child. No other rebalancing is done
//! (pages may be under-full; they are never over-full). Freed pages go to a
//! free list and are reused before the file grows.
//!
//! Entries larger than a third of a page's body are refused with
//! `Error::TooLarge`, so every split has room.
//!
//! ## Format
//!
//! - `data.pages`: pages of `page_bytes` (4 KiB by default), page 0 the meta
//!   page; see [`page`] for the byte layout of each page.
//! - `NNNNNNNNNNNN.wal`: the redo log of one checkpoint generation: put and
//!   delete records in the shared framing ([`crate::record`]).
//! - `pages.dwb`: present only during a checkpoint, see [`pager`].
//!
//! ## Durability
//!
//! A put or delete changes pages in the page cache and appends one redo
//! record to the current WAL generation, then goes through the shared
//! syncer: `always` costs one WAL sync per put (not one sync per page, as in
//! the seed), `batch:N` one per N, `group` one per group, `none` none.
//! When the WAL passes `checkpoint_bytes` (and on `maintain`), a checkpoint
//! seals the WAL, starts a new generation (directory fsync under `+dir`),
//! writes the dirty pages through the doublewrite file, syncs the data file
//! (unless `none`), and only then removes the WAL generations it covers.
//! Recovery re-applies a complete doublewrite file, then replays the WAL
//! generations newer than the meta page's checkpoint generation.

pub mod page;
pub mod pager;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};

use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::{EngineDir, FileHandle};
use crate::record::{self, Record};
use crate::syncer::Syncer;
use crate::{Error, Result};

use page::Node;
use pager::Pager;

/// Capabilities: everything but replay.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: true,
    deletes: true,
    replay: false,
};

fn wal_name(gen: u64) -> String {
    format!("{gen:012}.wal")
}

#[derive(Debug)]
struct Tree {
    pager: Pager,
    wal_gen: u64,
    wal: FileHandle,
    wal_len: u64,
    /// WAL generations on disk, oldest first.
    wal_gens: Vec<u64>,
    buf: Vec<u8>,
}

/// The B-tree engine.
#[derive(Debug)]
pub struct Btree {
    dir: EngineDir,
    tree: Mutex<Tree>,
    syncer: Syncer,
    page_bytes: usize,
    max_entry: usize,
    checkpoint_bytes: u64,
    next_seq: AtomicU64,
    closed: AtomicBool,
    user_bytes: AtomicU64,
    wal_bytes: AtomicU64,
    checkpoints: AtomicU64,
    torn_bytes: u64,
    /// Recovery found the data file damaged under `none` and started over.
    reset: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Tree {
    /// Descends to the leaf for `key`: the path of (internal page, child
    /// index) and the leaf id.
    fn descend(&mut self, key: &[u8]) -> Result<(Vec<(u32, usize)>, u32)> {
        let mut path = Vec::new();
        let mut id = self.pager.meta.root;
        loop {
            match self.pager.node(id)? {
                Node::Internal { keys, children } => {
                    let i = keys.partition_point(|k| k.as_slice() <= key);
                    path.push((id, i));
                    id = children[i.min(children.len() - 1)];
                }
                Node::Leaf { .. } => return Ok((path, id)),
                Node::Free { .. } => {
                    return Err(Error::InvalidConfig(format!(
                        "btree: page {id} is free but linked in the tree"
                    )))
                }
            }
        }
    }

    fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (_, leaf) = self.descend(key)?;
        match self.pager.node(leaf)? {
            Node::Leaf { entries, .. } => Ok(entries
                .binary_search_by(|(k, _)| k.as_slice().cmp(key))
                .ok()
                .map(|i| entries[i].1.clone())),
            _ => Ok(None),
        }
    }

    fn put(&mut self, key: &[u8], value: &[u8], page_bytes: usize) -> Result<()> {
        let (mut path, leaf) = self.descend(key)?;
        let overflow = {
            let Node::Leaf { entries, .. } = self.pager.node_mut(leaf)? else {
                return Ok(());
            };
            match entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)) {
                Ok(i) => entries[i].1 = value.to_vec(),
                Err(i) => entries.insert(i, (key.to_vec(), value.to_vec())),
            }
            self.pager.node(leaf)?.size() > page_bytes
        };
        if !overflow {
            return Ok(());
        }
        // Split the leaf by bytes; the right half gets a new page.
        let (sep, right) = {
            let Node::Leaf { entries, next } = self.pager.node_mut(leaf)? else {
                return Ok(());
            };
            let total: usize = entries.iter().map(|(k, v)| 6 + k.len() + v.len()).sum();
            let mut acc = 0;
            let mut cut = entries.len() / 2;
            for (i, (k, v)) in entries.iter().enumerate() {
                acc += 6 + k.len() + v.len();
                if acc * 2 >= total {
                    cut = (i + 1).clamp(1, entries.len() - 1);
                    break;
                }
            }
            let right_entries = entries.split_off(cut);
            let old_next = *next;
            let sep = right_entries[0].0.clone();
            (sep, (right_entries, old_next))
        };
        let right_id = self.pager.alloc(Node::Leaf {
            entries: right.0,
            next: right.1,
        });
        if let Node::Leaf { next, .. } = self.pager.node_mut(leaf)? {
            *next = right_id;
        }
        self.insert_up(&mut path, leaf, sep, right_id, page_bytes)
    }

    /// Inserts separator `sep` with right child `right` next to `left` in
    /// the parent at the end of `path`, splitting upwards as needed.
    fn insert_up(
        &mut self,
        path: &mut Vec<(u32, usize)>,
        mut left: u32,
        mut sep: Vec<u8>,
        mut right: u32,
        page_bytes: usize,
    ) -> Result<()> {
        loop {
            let Some((parent, idx)) = path.pop() else {
                let root = self.pager.alloc(Node::Internal {
                    keys: vec![sep],
                    children: vec![left, right],
                });
                self.pager.meta.root = root;
                return Ok(());
            };
            let overflow = {
                let Node::Internal { keys, children } = self.pager.node_mut(parent)? else {
                    return Ok(());
                };
                keys.insert(idx, sep);
                children.insert(idx + 1, right);
                self.pager.node(parent)?.size() > page_bytes
            };
            if !overflow {
                return Ok(());
            }
            let (up, rk, rc) = {
                let Node::Internal { keys, children } = self.pager.node_mut(parent)? else {
                    return Ok(());
                };
                let m = keys.len() / 2;
                let rk = keys.split_off(m + 1);
                let up = keys.pop().unwrap_or_default();
                let rc = children.split_off(m + 1);
                (up, rk, rc)
            };
            let new_right = self.pager.alloc(Node::Internal {
                keys: rk,
                children: rc,
            });
            left = parent;
            sep = up;
            right = new_right;
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        let (path, leaf) = self.descend(key)?;
        let (now_empty, next) = {
            let Node::Leaf { entries, next } = self.pager.node(leaf)? else {
                return Ok(());
            };
            let Ok(i) = entries.binary_search_by(|(k, _)| k.as_slice().cmp(key)) else {
                return Ok(());
            };
            let next = *next;
            let Node::Leaf { entries, .. } = self.pager.node_mut(leaf)? else {
                return Ok(());
            };
            entries.remove(i);
            (entries.is_empty(), next)
        };
        if !now_empty || path.is_empty() {
            return Ok(());
        }
        // Unlink the empty leaf from its left sibling, then remove it.
        if let Some(left) = self.left_sibling(&path)? {
            if let Node::Leaf { next: n, .. } = self.pager.node_mut(left)? {
                *n = next;
            }
        }
        self.remove_child(path, leaf)
    }

    /// The leaf to the left of the one at the end of `path`, if any.
    fn left_sibling(&mut self, path: &[(u32, usize)]) -> Result<Option<u32>> {
        let Some(level) = path.iter().rposition(|&(_, i)| i > 0) else {
            return Ok(None);
        };
        let (node, idx) = path[level];
        let mut id = match self.pager.node(node)? {
            Node::Internal { children, .. } => children[idx - 1],
            _ => return Ok(None),
        };
        loop {
            match self.pager.node(id)? {
                Node::Internal { children, .. } => id = children[children.len() - 1],
                Node::Leaf { .. } => return Ok(Some(id)),
                Node::Free { .. } => return Ok(None),
            }
        }
    }

    /// Removes child `child` (at the end of `path`) from its parent and
    /// frees it, removing parents left without children, and collapses a
    /// root with a single child.
    fn remove_child(&mut self, mut path: Vec<(u32, usize)>, mut child: u32) -> Result<()> {
        while let Some((parent, idx)) = path.pop() {
            self.pager.free_page(child);
            let empty = {
                let Node::Internal { keys, children } = self.pager.node_mut(parent)? else {
                    return Ok(());
                };
                children.remove(idx);
                if !keys.is_empty() {
                    keys.remove(idx.saturating_sub(1).min(keys.len() - 1));
                }
                children.is_empty()
            };
            if !empty || path.is_empty() {
                break;
            }
            child = parent;
        }
        // A root with one child and no keys is replaced by the child.
        loop {
            let root = self.pager.meta.root;
            match self.pager.node(root)? {
                Node::Internal { keys, children } if keys.is_empty() && children.len() == 1 => {
                    let only = children[0];
                    self.pager.meta.root = only;
                    self.pager.free_page(root);
                }
                Node::Internal { children, .. } if children.is_empty() => {
                    let leaf = self.pager.alloc(Node::Leaf {
                        entries: Vec::new(),
                        next: 0,
                    });
                    self.pager.meta.root = leaf;
                    self.pager.free_page(root);
                }
                _ => return Ok(()),
            }
        }
    }

    fn scan(
        &mut self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let (_, mut leaf) = self.descend(start)?;
        let mut out = Vec::new();
        while leaf != 0 && out.len() < limit {
            let Node::Leaf { entries, next } = self.pager.node(leaf)? else {
                break;
            };
            for (k, v) in entries {
                if k.as_slice() < start {
                    continue;
                }
                if end.is_some_and(|e| k.as_slice() >= e) || out.len() >= limit {
                    return Ok(out);
                }
                out.push((k.clone(), v.clone()));
            }
            leaf = *next;
        }
        Ok(out)
    }
}

impl Btree {
    /// Opens (recovering) or creates a B-tree in `config.dir`.
    pub fn open(config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let policy = config.policy;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, policy)?;
        dir.remove_temporaries()?;
        let page_bytes = config.page_bytes;
        let mut reset = false;
        let pager = Pager::open(&dir, page_bytes, config.cache_pages, &mut reset)?;
        // After a reset every surviving WAL generation is replayed.
        let checkpoint_gen = if reset { 0 } else { pager.meta.checkpoint_gen };
        let mut gens: Vec<u64> = dir
            .list()?
            .iter()
            .filter_map(|n| n.strip_suffix(".wal")?.parse().ok())
            .collect();
        gens.sort_unstable();
        let (old, gens): (Vec<u64>, Vec<u64>) =
            gens.into_iter().partition(|&g| g <= checkpoint_gen);
        dir.remove_all(&old.into_iter().map(wal_name).collect::<Vec<_>>())?;
        let gen = gens.last().copied().unwrap_or(0).max(checkpoint_gen) + 1;
        let wal = dir.create(&wal_name(gen))?;
        let mut tree = Tree {
            pager,
            wal_gen: gen,
            wal,
            wal_len: 0,
            wal_gens: gens.clone(),
            buf: Vec::with_capacity(4096),
        };
        tree.wal_gens.push(gen);
        let mut max_seq = 0;
        let mut torn_bytes = 0;
        for g in gens {
            let f = dir.open_file(&wal_name(g))?;
            let image = f.read_all()?;
            let mut ops: Vec<(Vec<u8>, Option<Vec<u8>>)> = Vec::new();
            let end = record::recover_log(&f, &image, policy, |_, r| {
                max_seq = max_seq.max(r.seq);
                ops.push((r.key.to_vec(), r.value.map(<[u8]>::to_vec)));
                Ok(())
            })?;
            torn_bytes += end.torn_bytes;
            for (k, v) in ops {
                match v {
                    Some(v) => tree.put(&k, &v, page_bytes)?,
                    None => tree.delete(&k)?,
                }
            }
        }
        let body = page_bytes - page::HEADER;
        Ok(Btree {
            dir,
            tree: Mutex::new(tree),
            syncer: Syncer::new(policy),
            page_bytes,
            max_entry: body / 3,
            checkpoint_bytes: config.checkpoint_bytes,
            next_seq: AtomicU64::new(max_seq + 1),
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
            wal_bytes: AtomicU64::new(0),
            checkpoints: AtomicU64::new(0),
            torn_bytes,
            reset,
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn wal_file(&self) -> FileHandle {
        lock(&self.tree).wal.clone()
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        let size = 6 + key.len() + value.map_or(0, <[u8]>::len);
        if size > self.max_entry {
            return Err(Error::TooLarge {
                what: "entry (key + value + 6 bytes)",
                size: size as u64,
                limit: self.max_entry as u64,
            });
        }
        self.syncer.check()?;
        let (ticket, wal_len) = {
            let mut t = lock(&self.tree);
            let seq = self.next_seq.fetch_add(1, Relaxed);
            let mut buf = std::mem::take(&mut t.buf);
            buf.clear();
            record::encode_into(
                &mut buf,
                &Record {
                    seq,
                    key,
                    value,
                    batch_continues: false,
                },
            );
            let appended = t.wal.append(&buf);
            let len = buf.len() as u64;
            t.buf = buf;
            if let Err(e) = appended {
                let wal_len = t.wal_len;
                if t.wal.set_len(wal_len).is_err() {
                    self.syncer.poison(&e);
                }
                return Err(e);
            }
            t.wal_len += len;
            self.wal_bytes.fetch_add(len, Relaxed);
            let applied = match value {
                Some(v) => t.put(key, v, self.page_bytes),
                None => t.delete(key),
            };
            if let Err(e) = applied {
                // The pages no longer match the log: refuse further writes.
                self.syncer.poison(&e);
                return Err(e);
            }
            (self.syncer.appended(), t.wal_len)
        };
        self.user_bytes
            .fetch_add((key.len() + value.map_or(0, <[u8]>::len)) as u64, Relaxed);
        self.syncer.commit(ticket, &|| self.wal_file())?;
        if wal_len >= self.checkpoint_bytes {
            self.checkpoint()?;
        }
        Ok(())
    }

    /// Writes dirty pages (see the module doc) and drops the WAL
    /// generations they cover.
    pub fn checkpoint(&self) -> Result<()> {
        let mut t = lock(&self.tree);
        if t.wal_len == 0 && t.pager.dirty_pages() == 0 {
            return Ok(());
        }
        self.syncer.seal(&t.wal)?;
        let sealed = t.wal_gen;
        let gen = sealed + 1;
        let wal = self.dir.create(&wal_name(gen))?;
        t.wal = wal;
        t.wal_gen = gen;
        t.wal_len = 0;
        t.wal_gens.push(gen);
        t.pager.checkpoint(sealed, self.syncer.policy())?;
        let (old, keep): (Vec<u64>, Vec<u64>) = t.wal_gens.iter().partition(|&&g| g <= sealed);
        t.wal_gens = keep;
        self.dir
            .remove_all(&old.into_iter().map(wal_name).collect::<Vec<_>>())?;
        self.checkpoints.fetch_add(1, Relaxed);
        Ok(())
    }
}

impl Engine for Btree {
    fn name(&self) -> &'static str {
        "btree"
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, Some(value))
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        lock(&self.tree).get(key)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.write(key, None)
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        lock(&self.tree).scan(start, end, limit)
    }
    fn sync(&self) -> Result<()> {
        self.check_open()?;
        self.syncer.sync_now(&|| self.wal_file())
    }
    fn maintain(&self) -> Result<()> {
        self.check_open()?;
        self.checkpoint()
    }
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        self.syncer.close(&|| self.wal_file())
    }
    fn stats(&self) -> EngineStats {
        let t = lock(&self.tree);
        let s = self.syncer.stats();
        let mut stats = EngineStats {
            live_keys: None,
            files: 1 + t.wal_gens.len() as u64,
            disk_bytes: t.pager.file_len() + t.wal_len,
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: s.writes,
            log_syncs: s.syncs,
            recovered_torn_bytes: self.torn_bytes,
            ..EngineStats::default()
        };
        let k = &mut stats.bytes_written_by_kind;
        k.insert("wal".into(), self.wal_bytes.load(Relaxed));
        k.insert("pages".into(), t.pager.page_bytes_written);
        k.insert("dwb".into(), t.pager.dwb_bytes_written);
        stats
            .maintenance_runs
            .insert("checkpoints".into(), self.checkpoints.load(Relaxed));
        stats
            .notes
            .insert("free_pages".into(), t.pager.free_count().to_string());
        stats
            .notes
            .insert("checkpoint".into(), "inline in the writing thread".into());
        if self.reset {
            stats.notes.insert(
                "recovery".into(),
                "data file damaged (nothing was synced): rebuilt from the WAL".into(),
            );
        }
        stats
    }
}
