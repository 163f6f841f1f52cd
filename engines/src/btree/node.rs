//! [`Tree`]: B+tree operations over the [`Pager`]'s pages.
//!
//! - **Search**: internal page `i` sends key `k` to child
//!   `#{separators <= k}`; leaves hold the entries in key order.
//! - **Insert**: a leaf that grows past the page size splits by bytes (the
//!   right half moves to a new page, linked as the left half's right
//!   sibling) and its first key goes up as a separator; internal pages split
//!   the same way by bytes, the middle key moving up; a split root adds a
//!   level. An entry may use at most a third of a page's body, which makes
//!   both halves of every split fit.
//! - **Delete** (the rebalancing done, exactly): the entry is removed from
//!   its leaf. A leaf left below a quarter of a page is merged with its
//!   right sibling under the same parent, else with its left sibling under
//!   the same parent, when the two fit in one page; the emptied page goes to
//!   the free list and its separator leaves the parent. A leaf left empty
//!   with no sibling under its parent is unlinked from its left neighbour
//!   (found through the ancestors) and freed. An internal page is freed when
//!   its last child goes, and a root with a single child is replaced by that
//!   child (the tree loses a level). Internal pages are not merged or
//!   redistributed otherwise, and entries are never moved between leaves
//!   except by a merge: pages may be under-full, never over-full.

use super::cache::View;
use super::page::{leaf_entry_size, Node, PageId, HEADER, INTERNAL_ENTRY_OVERHEAD};
use super::pager::Pager;
use crate::search::upper_bound;
use crate::{Error, Result};

/// Path from the root to a leaf: (internal page, index of the child taken).
type Path = Vec<(PageId, usize)>;

/// A leaf's entries, in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A page to check: id, lower and upper key bound, depth.
type Pending = (PageId, Option<Vec<u8>>, Option<Vec<u8>>, usize);

/// What [`Tree::validate`] saw of one page.
enum Seen {
    Leaf {
        fits: bool,
        ordered: bool,
        bounded: bool,
        n: usize,
    },
    Internal(Vec<Vec<u8>>, Vec<PageId>),
    Free,
}

/// A B+tree on a pager.
#[derive(Debug)]
pub struct Tree {
    /// The pages.
    pub pager: Pager,
    /// The data file's path, for errors.
    path: std::path::PathBuf,
}

fn corrupt_at(
    path: &std::path::Path,
    id: PageId,
    page_bytes: usize,
    why: impl Into<String>,
) -> Error {
    Error::corrupt(path, u64::from(id) * page_bytes as u64, why)
}

impl Tree {
    /// A tree on `pager`.
    pub fn new(pager: Pager) -> Tree {
        let path = pager.file().path().to_path_buf();
        Tree { pager, path }
    }

    /// Largest `leaf_entry_size(key, value)` a page accepts: a third of a
    /// page's body, so every split leaves both halves within a page.
    pub fn max_entry(page_bytes: usize) -> usize {
        (page_bytes - HEADER - 4) / 3
    }

    fn page_bytes(&self) -> usize {
        self.pager.page_bytes()
    }

    fn corrupt(&self, id: PageId, why: impl Into<String>) -> Error {
        corrupt_at(&self.path, id, self.page_bytes(), why)
    }

    /// Damage no single page is to blame for (counts, chains).
    fn corrupt_tree(&self, why: impl Into<String>) -> Error {
        Error::corrupt_file(&self.path, why)
    }

    /// Descends to the leaf that holds (or would hold) `key`.
    fn descend(&mut self, key: &[u8]) -> Result<(Path, PageId)> {
        let mut path = Vec::new();
        let leaf = self.walk(key, Some(&mut path))?;
        Ok((path, leaf))
    }

    /// The leaf that holds (or would hold) `key`, recording the internal
    /// pages passed in `path` (reads pass none and allocate nothing).
    fn walk(&mut self, key: &[u8], mut path: Option<&mut Path>) -> Result<PageId> {
        let mut id = self.pager.meta.root;
        for _ in 0..=64 {
            match self.pager.branch(id)? {
                None => return Ok(id),
                Some(View::Internal {
                    keys,
                    children,
                    hints,
                }) => {
                    let i = upper_bound(hints, |i| &keys[i], key);
                    let Some(&child) = children.get(i) else {
                        return Err(self.corrupt(id, "internal page with too few children"));
                    };
                    if let Some(path) = path.as_deref_mut() {
                        path.push((id, i));
                    }
                    id = child;
                }
                Some(View::Leaf(_)) => return Ok(id),
                Some(View::Free) => return Err(self.corrupt(id, "free page linked in the tree")),
            }
        }
        Err(self.corrupt(id, "tree deeper than 64 levels (a cycle)"))
    }

    /// Loads the tree's pages into the cache level by level from the
    /// root (leaves stay packed) until the cache is full; returns the pages
    /// visited. See [`crate::Engine::warm`].
    pub fn warm(&mut self) -> Result<u64> {
        let mut level = vec![self.pager.meta.root];
        let mut visited = 0u64;
        // A tree has at most 64 levels and `page_count` pages; the bounds
        // stop a damaged one with a cycle.
        let most = u64::from(self.pager.meta.page_count);
        for _ in 0..=64 {
            let mut next = Vec::new();
            for id in level {
                if visited >= most || self.pager.cached_pages() >= self.pager.capacity() {
                    return Ok(visited);
                }
                visited += 1;
                if let View::Internal { children, .. } = self.pager.searchable(id)? {
                    next.extend_from_slice(children);
                }
            }
            if next.is_empty() {
                break;
            }
            level = next;
        }
        Ok(visited)
    }

    /// The value of `key`.
    pub fn get(&mut self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let leaf = self.walk(key, None)?;
        match self.pager.searchable(leaf)? {
            View::Leaf(leaf) => {
                let (i, found) = leaf.lower_bound(key);
                Ok(found.then(|| leaf.value(i).to_vec()))
            }
            _ => Ok(None),
        }
    }

    fn leaf_mut(&mut self, id: PageId) -> Result<(&mut Entries, &mut PageId)> {
        let page_bytes = self.page_bytes();
        let Tree { pager, path } = self;
        match pager.node_mut(id)? {
            Node::Leaf { entries, next } => Ok((entries, next)),
            _ => Err(corrupt_at(path, id, page_bytes, "expected a leaf page")),
        }
    }

    fn internal_mut(&mut self, id: PageId) -> Result<(&mut Vec<Vec<u8>>, &mut Vec<PageId>)> {
        let page_bytes = self.page_bytes();
        let Tree { pager, path } = self;
        match pager.node_mut(id)? {
            Node::Internal { keys, children } => Ok((keys, children)),
            _ => Err(corrupt_at(
                path,
                id,
                page_bytes,
                "expected an internal page",
            )),
        }
    }

    /// Stores `value` under `key`; returns whether the key was new. The
    /// entry must be at most [`Tree::max_entry`] bytes.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<bool> {
        let page_bytes = self.page_bytes();
        let (path, leaf) = self.descend(key)?;
        let new = self.pager.leaf_put(leaf, key, value)?;
        if new {
            self.pager.meta.live_keys += 1;
        }
        if self.pager.node(leaf)?.size() <= page_bytes {
            return Ok(new);
        }
        // Split by bytes: the left half keeps at least half of the bytes.
        let (entries, next) = self.leaf_mut(leaf)?;
        let total: usize = entries.iter().map(|(k, v)| leaf_entry_size(k, v)).sum();
        let mut acc = 0;
        let mut cut = entries.len() / 2;
        for (i, (k, v)) in entries.iter().enumerate() {
            acc += leaf_entry_size(k, v);
            if acc * 2 >= total {
                cut = i + 1;
                break;
            }
        }
        let cut = cut.clamp(1, entries.len() - 1);
        let right_entries = entries.split_off(cut);
        let old_next = *next;
        let sep = right_entries[0].0.clone();
        let right = self.pager.alloc(Node::Leaf {
            entries: right_entries,
            next: old_next,
        })?;
        let (_, next) = self.leaf_mut(leaf)?;
        *next = right;
        self.insert_up(path, leaf, sep, right)?;
        Ok(new)
    }

    /// Inserts separator `sep` with right child `right` after `left` in the
    /// parent at the end of `path`, splitting upwards as needed.
    fn insert_up(
        &mut self,
        mut path: Path,
        mut left: PageId,
        mut sep: Vec<u8>,
        mut right: PageId,
    ) -> Result<()> {
        let page_bytes = self.page_bytes();
        loop {
            let Some((parent, idx)) = path.pop() else {
                let root = self.pager.alloc(Node::Internal {
                    keys: vec![sep],
                    children: vec![left, right],
                })?;
                self.pager.meta.root = root;
                return Ok(());
            };
            let (keys, children) = self.internal_mut(parent)?;
            keys.insert(idx, sep);
            children.insert(idx + 1, right);
            if self.pager.node(parent)?.size() <= page_bytes {
                return Ok(());
            }
            // Split by bytes: key `m` moves up, keys after it go right.
            let (keys, children) = self.internal_mut(parent)?;
            let total: usize = keys.iter().map(|k| INTERNAL_ENTRY_OVERHEAD + k.len()).sum();
            let mut acc = 0;
            let mut m = keys.len() / 2;
            for (i, k) in keys.iter().enumerate() {
                acc += INTERNAL_ENTRY_OVERHEAD + k.len();
                if acc * 2 >= total {
                    m = i;
                    break;
                }
            }
            let m = m.clamp(1, keys.len().saturating_sub(2).max(1));
            let right_keys = keys.split_off(m + 1);
            let up = keys.pop().unwrap_or_default();
            let right_children = children.split_off(m + 1);
            let new_right = self.pager.alloc(Node::Internal {
                keys: right_keys,
                children: right_children,
            })?;
            left = parent;
            sep = up;
            right = new_right;
        }
    }

    /// Removes `key`; returns whether it was present.
    pub fn delete(&mut self, key: &[u8]) -> Result<bool> {
        let page_bytes = self.page_bytes();
        let (mut path, leaf) = self.descend(key)?;
        let found = match self.pager.node(leaf)? {
            Node::Leaf { entries, .. } => entries
                .binary_search_by(|(k, _)| k.as_slice().cmp(key))
                .ok(),
            _ => None,
        };
        let Some(i) = found else {
            return Ok(false);
        };
        let (entries, _) = self.leaf_mut(leaf)?;
        entries.remove(i);
        let empty = entries.is_empty();
        self.pager.meta.live_keys = self.pager.meta.live_keys.saturating_sub(1);
        let size = self.pager.node(leaf)?.size();
        let Some(&(parent, idx)) = path.last() else {
            return Ok(true); // the root leaf may be anything down to empty
        };
        if size >= page_bytes / 4 {
            return Ok(true);
        }
        let siblings = match self.pager.node(parent)? {
            Node::Internal { children, .. } => children.clone(),
            _ => return Err(self.corrupt(parent, "expected an internal page")),
        };
        // Merge with the right sibling, else the left one, under the same parent.
        let pair = if idx + 1 < siblings.len() {
            Some((leaf, siblings[idx + 1], idx + 1))
        } else if idx > 0 {
            Some((siblings[idx - 1], leaf, idx))
        } else {
            None
        };
        if let Some((left, right, right_idx)) = pair {
            let right_size = self.pager.node(right)?.size();
            let left_size = self.pager.node(left)?.size();
            if left_size + right_size - HEADER <= page_bytes {
                let (moved, right_next) = match self.pager.node_mut(right)? {
                    Node::Leaf { entries, next } => (std::mem::take(entries), *next),
                    _ => return Err(self.corrupt(right, "expected a leaf page")),
                };
                let (entries, next) = self.leaf_mut(left)?;
                entries.extend(moved);
                *next = right_next;
                if let Some(last) = path.last_mut() {
                    last.1 = right_idx;
                }
                self.remove_child(path, right)?;
                return Ok(true);
            }
        }
        if empty && pair.is_none() {
            // The only child of its parent: unlink it from the leaf on its
            // left (under another parent) and remove it.
            let next = match self.pager.node(leaf)? {
                Node::Leaf { next, .. } => *next,
                _ => 0,
            };
            if let Some(left) = self.left_neighbour(&path)? {
                let (_, n) = self.leaf_mut(left)?;
                *n = next;
            }
            self.remove_child(path, leaf)?;
        }
        Ok(true)
    }

    /// The leaf left of the one at the end of `path`, if any.
    fn left_neighbour(&mut self, path: &[(PageId, usize)]) -> Result<Option<PageId>> {
        let Some(level) = path.iter().rposition(|&(_, i)| i > 0) else {
            return Ok(None);
        };
        let (node, idx) = path[level];
        let mut id = match self.pager.node(node)? {
            Node::Internal { children, .. } => children[idx - 1],
            _ => return Err(self.corrupt(node, "expected an internal page")),
        };
        for _ in 0..64 {
            match self.pager.node(id)? {
                Node::Internal { children, .. } => match children.last() {
                    Some(&c) => id = c,
                    None => return Err(self.corrupt(id, "internal page without children")),
                },
                Node::Leaf { .. } => return Ok(Some(id)),
                Node::Free { .. } => return Err(self.corrupt(id, "free page linked in the tree")),
            }
        }
        Err(self.corrupt(id, "tree deeper than 64 levels (a cycle)"))
    }

    /// Frees `child` (the child at the end of `path`) and removes it from
    /// its parent, freeing parents left without children; then collapses a
    /// root with a single child.
    fn remove_child(&mut self, mut path: Path, mut child: PageId) -> Result<()> {
        while let Some((parent, idx)) = path.pop() {
            self.pager.free(child);
            let (keys, children) = self.internal_mut(parent)?;
            if idx < children.len() {
                children.remove(idx);
            }
            if !keys.is_empty() {
                keys.remove(idx.saturating_sub(1).min(keys.len() - 1));
            }
            if !children.is_empty() {
                break;
            }
            if path.is_empty() {
                // The root lost its last child: the tree is an empty leaf.
                let leaf = self.pager.alloc(Node::empty_leaf())?;
                self.pager.free(parent);
                self.pager.meta.root = leaf;
                return Ok(());
            }
            child = parent;
        }
        loop {
            let root = self.pager.meta.root;
            match self.pager.node(root)? {
                Node::Internal { children, .. } if children.len() == 1 => {
                    let only = children[0];
                    self.pager.meta.root = only;
                    self.pager.free(root);
                }
                _ => return Ok(()),
            }
        }
    }

    /// Up to `limit` pairs with `start <= key < end`, in key order, by
    /// walking the leaves' sibling links.
    pub fn scan(
        &mut self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        let mut leaf = self.walk(start, None)?;
        let mut hops = 0u64;
        while leaf != 0 {
            let View::Leaf(view) = self.pager.searchable(leaf)? else {
                return Err(self.corrupt(leaf, "sibling link to a non-leaf page"));
            };
            // Only the first leaf holds keys below `start`: every later
            // one lies past it in key order, so its search (a cache miss
            // on its prefixes, 13% of a ycsb-e scan) is skipped.
            let from = if hops == 0 {
                view.lower_bound(start).0
            } else {
                0
            };
            for i in from..view.len() {
                let k = view.key(i);
                if end.is_some_and(|e| k >= e) {
                    return Ok(out);
                }
                out.push((k.to_vec(), view.value(i).to_vec()));
                if out.len() >= limit {
                    return Ok(out);
                }
            }
            leaf = view.next;
            hops += 1;
            if hops > u64::from(self.pager.meta.page_count) {
                return Err(self.corrupt(leaf, "cycle in the leaf sibling links"));
            }
        }
        Ok(out)
    }

    /// Checks the whole structure: key order, separator bounds, equal leaf
    /// depth, no over-full page, sibling links visiting every leaf in order,
    /// the free list and the live-key count. The first violation is a
    /// [`Error::Corrupt`] naming the page where one page is at fault.
    pub fn validate(&mut self) -> Result<()> {
        let mut leaves = Vec::new();
        let mut keys_seen = 0u64;
        let mut stack: Vec<Pending> = vec![(self.pager.meta.root, None, None, 0)];
        let mut leaf_depth = None;
        let mut live = std::collections::HashSet::new();
        let page_bytes = self.page_bytes();
        while let Some((id, lo, hi, depth)) = stack.pop() {
            if !live.insert(id) {
                return Err(self.corrupt(id, format!("page {id} reachable twice")));
            }
            let in_range = |k: &[u8]| {
                lo.as_deref().is_none_or(|l| k >= l) && hi.as_deref().is_none_or(|h| k < h)
            };
            // Leaves are checked in place (a packed leaf stays packed);
            // internal pages, few, are copied out.
            let node = match self.pager.searchable(id)? {
                View::Leaf(leaf) => {
                    let n = leaf.len();
                    Seen::Leaf {
                        fits: leaf.size() <= page_bytes,
                        ordered: (1..n).all(|i| leaf.key(i - 1) < leaf.key(i)),
                        bounded: (0..n).all(|i| in_range(leaf.key(i))),
                        n,
                    }
                }
                View::Internal { keys, children, .. } => {
                    Seen::Internal(keys.to_vec(), children.to_vec())
                }
                View::Free => Seen::Free,
            };
            let (keys, children) = match node {
                Seen::Leaf {
                    fits,
                    ordered,
                    bounded,
                    n,
                } => {
                    if !fits {
                        return Err(self.corrupt(id, format!("page {id} over-full")));
                    }
                    if *leaf_depth.get_or_insert(depth) != depth {
                        return Err(self.corrupt(id, format!("leaf {id} at depth {depth}")));
                    }
                    if !ordered {
                        return Err(self.corrupt(id, format!("leaf {id} out of order")));
                    }
                    if !bounded {
                        return Err(
                            self.corrupt(id, format!("leaf {id} has a key outside its bounds"))
                        );
                    }
                    keys_seen += n as u64;
                    leaves.push((lo.clone(), id));
                    continue;
                }
                Seen::Internal(keys, children) => (keys, children),
                Seen::Free => return Err(self.corrupt(id, format!("free page {id} in the tree"))),
            };
            let size = HEADER
                + 4
                + keys
                    .iter()
                    .map(|k| INTERNAL_ENTRY_OVERHEAD + k.len())
                    .sum::<usize>();
            if size > page_bytes {
                return Err(self.corrupt(id, format!("page {id} over-full")));
            }
            if children.len() != keys.len() + 1 || children.is_empty() {
                return Err(self.corrupt(id, format!("internal {id}: keys/children mismatch")));
            }
            if !keys.windows(2).all(|w| w[0] < w[1]) || !keys.iter().all(|k| in_range(k)) {
                return Err(self.corrupt(id, format!("internal {id}: separators out of order")));
            }
            for (i, &c) in children.iter().enumerate() {
                let clo = if i == 0 {
                    lo.clone()
                } else {
                    Some(keys[i - 1].clone())
                };
                let chi = if i == keys.len() {
                    hi.clone()
                } else {
                    Some(keys[i].clone())
                };
                stack.push((c, clo, chi, depth + 1));
            }
        }
        // Leaves in key order (by lower bound; the leftmost has none).
        leaves.sort();
        let mut walk = Vec::new();
        let mut id = leaves.first().map_or(0, |l| l.1);
        while id != 0 && walk.len() <= leaves.len() {
            walk.push(id);
            id = match self.pager.searchable(id)? {
                View::Leaf(leaf) => leaf.next,
                _ => return Err(self.corrupt(id, format!("sibling link to non-leaf {id}"))),
            };
        }
        let order: Vec<PageId> = leaves.iter().map(|l| l.1).collect();
        if walk != order {
            return Err(self.corrupt_tree(format!("sibling chain {walk:?} != leaves {order:?}")));
        }
        if keys_seen != self.pager.meta.live_keys {
            return Err(self.corrupt_tree(format!(
                "{keys_seen} keys in leaves, meta says {}",
                self.pager.meta.live_keys
            )));
        }
        let mut free = 0u32;
        let mut f = self.pager.meta.free_head;
        while f != 0 {
            if live.contains(&f) || free > self.pager.meta.page_count {
                return Err(self.corrupt(f, format!("free page {f} is live or the list cycles")));
            }
            free += 1;
            f = match self.pager.node(f)? {
                Node::Free { next } => *next,
                _ => return Err(self.corrupt(f, format!("free list names live page {f}"))),
            };
        }
        if free != self.pager.meta.free_count {
            return Err(self.corrupt_tree(format!(
                "free list has {free} pages, meta says {}",
                self.pager.meta.free_count
            )));
        }
        if live.len() as u32 + free + 1 != self.pager.meta.page_count {
            return Err(self.corrupt_tree(format!(
                "{} live + {free} free + meta != {} pages (a leaked page)",
                live.len(),
                self.pager.meta.page_count
            )));
        }
        Ok(())
    }
}
