//! [`PageTable`]: the page cache's slots, indexed directly by page id.
//!
//! Page ids are dense (0 is the meta page, then every page of the file), so
//! a vector indexed by id finds a cached page with one bounds check and one
//! load instead of hashing: a point read in a tree of a few levels looks up
//! a page per level, and at 2M keys with a warm cache those lookups were
//! the largest cost after the key comparisons. Slots hold the decoded page
//! in place (48 bytes each, empty or not: 24 MB for a 2 GB file of 4 KiB
//! pages); the vector grows with the highest id cached.

use super::page::{self, Node, PackedLeaf, PageId, ReadPage};
use crate::search::{lower_bound, prefix};

/// A cached page.
#[derive(Debug)]
pub struct Slot {
    /// The decoded page; a placeholder while `packed` holds the page.
    node: Node,
    /// A leaf as read from the file and not yet changed. Internal, free
    /// and changed pages are decoded in `node`.
    packed: Option<PackedLeaf>,
    /// Changed since the last checkpoint began.
    pub dirty: bool,
    /// Part of the checkpoint being written ([`super::pager::Flight`]):
    /// the data file does not hold this page's image yet, so it must not
    /// be evicted until the checkpoint finishes, even once clean.
    pub in_flight: bool,
    /// Tick of the last access, for least-recently-used eviction.
    pub last_use: u64,
    /// [`prefix`] of each key of the page, valid when `hints_fresh`.
    hints: Vec<u64>,
    hints_fresh: bool,
}

/// A cached page, to search without changing it.
#[derive(Debug)]
pub enum View<'a> {
    /// An internal page: separators, children and the separators' prefixes.
    Internal {
        /// Separators.
        keys: &'a [Vec<u8>],
        /// Children.
        children: &'a [PageId],
        /// [`prefix`] of each separator.
        hints: &'a [u64],
    },
    /// A leaf.
    Leaf(LeafView<'a>),
    /// A free page.
    Free,
}

/// A leaf, decoded or packed, to search.
#[derive(Debug)]
pub struct LeafView<'a> {
    entries: LeafEntries<'a>,
    hints: &'a [u64],
    /// Right sibling (0: none).
    pub next: PageId,
}

#[derive(Debug)]
enum LeafEntries<'a> {
    Decoded(&'a [(Vec<u8>, Vec<u8>)]),
    Packed(&'a PackedLeaf),
}

impl<'a> LeafView<'a> {
    /// Entries.
    pub fn len(&self) -> usize {
        self.hints.len()
    }

    /// Key of entry `i`.
    pub fn key(&self, i: usize) -> &'a [u8] {
        match self.entries {
            LeafEntries::Decoded(e) => &e[i].0,
            LeafEntries::Packed(p) => p.key(i),
        }
    }

    /// Value of entry `i`.
    pub fn value(&self, i: usize) -> &'a [u8] {
        match self.entries {
            LeafEntries::Decoded(e) => &e[i].1,
            LeafEntries::Packed(p) => p.value(i),
        }
    }

    /// Encoded size in bytes (header included), as [`Node::size`].
    pub fn size(&self) -> usize {
        let entries: usize = (0..self.len())
            .map(|i| page::leaf_entry_size(self.key(i), self.value(i)))
            .sum();
        page::HEADER + entries
    }

    /// Index of the first key not less than `key`, and whether it is `key`.
    pub fn lower_bound(&self, key: &[u8]) -> (usize, bool) {
        lower_bound(self.hints, |i| self.key(i), key)
    }
}

impl Slot {
    /// A slot for `node`; its search hints are built when first searched.
    pub fn new(node: Node, dirty: bool, last_use: u64) -> Slot {
        Slot::with(node, None, dirty, last_use)
    }

    /// A slot for a page just read from the file (clean).
    pub fn read(page: ReadPage, last_use: u64) -> Slot {
        match page {
            ReadPage::Leaf(leaf) => Slot::with(Node::Free { next: 0 }, Some(leaf), false, last_use),
            ReadPage::Node(node) => Slot::with(node, None, false, last_use),
        }
    }

    fn with(node: Node, packed: Option<PackedLeaf>, dirty: bool, last_use: u64) -> Slot {
        Slot {
            node,
            packed,
            dirty,
            in_flight: false,
            last_use,
            hints: Vec::new(),
            hints_fresh: false,
        }
    }

    /// The page, decoded (a packed leaf is decoded for good: it is about
    /// to be walked as a node or changed).
    pub fn node(&mut self) -> &Node {
        self.unpack()
    }

    fn unpack(&mut self) -> &mut Node {
        if let Some(leaf) = self.packed.take() {
            self.node = leaf.unpack();
        }
        &mut self.node
    }

    /// Whether the page is a leaf (its hints are not needed to know).
    pub fn is_leaf(&self) -> bool {
        self.packed.is_some() || matches!(self.node, Node::Leaf { .. })
    }

    /// The page, to change: its hints are rebuilt at the next search.
    pub fn node_mut(&mut self) -> &mut Node {
        self.hints_fresh = false;
        self.unpack()
    }

    /// The page's image in `out` (`page_bytes` long).
    pub fn encode_into(&self, page_bytes: usize, out: &mut Vec<u8>) {
        match &self.packed {
            None => page::encode_into(&self.node, page_bytes, out),
            Some(leaf) => {
                out.clear();
                out.extend_from_slice(leaf.image());
            }
        }
    }

    /// Stores `key` = `value` in this leaf, decoding it if packed, and
    /// keeps its hints fresh: the insert position is found through them,
    /// and the new key's prefix goes in beside it. Rebuilding the hints at
    /// the next search instead touched every key of the leaf on every put
    /// (10% of a fillrandom put). Returns whether the key was new, or
    /// `None` if the page is not a leaf.
    pub fn leaf_put(&mut self, key: &[u8], value: &[u8]) -> Option<bool> {
        self.unpack();
        self.refresh_hints();
        let Node::Leaf { entries, .. } = &mut self.node else {
            return None;
        };
        let (i, found) = lower_bound(&self.hints, |i| &entries[i].0, key);
        if found {
            entries[i].1.clear();
            entries[i].1.extend_from_slice(value);
        } else {
            entries.insert(i, (key.to_vec(), value.to_vec()));
            self.hints.insert(i, prefix(key));
        }
        Some(!found)
    }

    /// The page with the prefixes of its keys, to search.
    pub fn searchable(&mut self) -> View<'_> {
        self.refresh_hints();
        let hints = &self.hints[..];
        match (&self.packed, &self.node) {
            (Some(leaf), _) => View::Leaf(LeafView {
                entries: LeafEntries::Packed(leaf),
                hints,
                next: leaf.next(),
            }),
            (None, Node::Internal { keys, children }) => View::Internal {
                keys,
                children,
                hints,
            },
            (None, Node::Leaf { entries, next }) => View::Leaf(LeafView {
                entries: LeafEntries::Decoded(entries),
                hints,
                next: *next,
            }),
            (None, Node::Free { .. }) => View::Free,
        }
    }

    fn refresh_hints(&mut self) {
        if !self.hints_fresh {
            self.hints.clear();
            match (&self.packed, &self.node) {
                (Some(leaf), _) => self
                    .hints
                    .extend((0..leaf.len()).map(|i| prefix(leaf.key(i)))),
                (None, Node::Leaf { entries, .. }) => {
                    self.hints.extend(entries.iter().map(|(k, _)| prefix(k)));
                }
                (None, Node::Internal { keys, .. }) => {
                    self.hints.extend(keys.iter().map(|k| prefix(k)));
                }
                (None, Node::Free { .. }) => {}
            }
            self.hints.shrink_to_fit();
            self.hints_fresh = true;
        }
    }
}

/// Cached pages by id.
#[derive(Debug, Default)]
pub struct PageTable {
    slots: Vec<Option<Slot>>,
    len: usize,
}

impl PageTable {
    /// An empty table with room for ids below `ids`.
    pub fn with_capacity(ids: usize) -> PageTable {
        let slots: Vec<Option<Slot>> = Vec::with_capacity(ids);
        // A read indexes this table once per level: on huge pages, as the
        // page images are ([`super::frame`]), here and when it grows.
        super::frame::advise_huge(
            slots.as_ptr().cast(),
            slots.capacity() * std::mem::size_of::<Option<Slot>>(),
        );
        PageTable { slots, len: 0 }
    }

    /// Pages cached.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether `id` is cached.
    pub fn contains(&self, id: PageId) -> bool {
        self.get(id).is_some()
    }

    /// The cached page `id`.
    pub fn get(&self, id: PageId) -> Option<&Slot> {
        self.slots.get(id as usize)?.as_ref()
    }

    /// The cached page `id`, to change.
    pub fn get_mut(&mut self, id: PageId) -> Option<&mut Slot> {
        self.slots.get_mut(id as usize)?.as_mut()
    }

    /// Caches `slot` as page `id`: the slot it replaces, if any.
    pub fn insert(&mut self, id: PageId, slot: Slot) -> Option<Slot> {
        let i = id as usize;
        if i >= self.slots.len() {
            if i >= self.slots.capacity() {
                // Grow by half (at least to `i`, and not by one slot at a
                // time while small), advised before use.
                let want = (i + 1).max(self.slots.capacity() * 3 / 2).max(64);
                let mut grown: Vec<Option<Slot>> = Vec::with_capacity(want);
                super::frame::advise_huge(
                    grown.as_ptr().cast(),
                    grown.capacity() * std::mem::size_of::<Option<Slot>>(),
                );
                grown.append(&mut self.slots);
                self.slots = grown;
            }
            self.slots.resize_with(i + 1, || None);
        }
        let old = self.slots[i].replace(slot);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Drops page `id` from the cache.
    pub fn remove(&mut self, id: PageId) {
        if let Some(s) = self.slots.get_mut(id as usize) {
            if s.take().is_some() {
                self.len -= 1;
            }
        }
    }

    /// Cached pages with their ids, in id order.
    pub fn iter(&self) -> impl Iterator<Item = (PageId, &Slot)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i as PageId, s.as_ref()?)))
    }

    /// Cached pages, to change.
    #[cfg(test)]
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Slot> {
        self.slots.iter_mut().filter_map(|s| s.as_mut())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(next: PageId) -> Slot {
        Slot::new(Node::Free { next }, false, 0)
    }

    #[test]
    fn counts_inserts_replacements_and_removals() {
        let mut t = PageTable::with_capacity(4);
        assert!(t.insert(7, slot(1)).is_none());
        assert!(t.insert(2, slot(2)).is_none());
        assert_eq!(t.len(), 2);
        let mut old = t.insert(7, slot(3)).expect("replaced");
        assert_eq!(old.node(), &Node::Free { next: 1 });
        assert_eq!(t.len(), 2);
        assert!(t.contains(7) && t.contains(2) && !t.contains(3) && !t.contains(99));
        t.remove(7);
        t.remove(7);
        t.remove(1000);
        assert_eq!(t.len(), 1);
        let ids: Vec<PageId> = t.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, vec![2]);
        t.values_mut().for_each(|s| s.dirty = true);
        assert!(t.get(2).is_some_and(|s| s.dirty));
    }
}
