//! The in-memory keydir: key -> where its newest record lives, plus the
//! live bytes of each data file (what a merge would keep), so the merge
//! trigger can tell garbage from live data without reading anything.

use std::collections::HashMap;

/// Key -> value map hashed with foldhash (seeded per process): SipHash,
/// std's default, dominated a large reopen (docs/measurements.md).
type KeyMap<V> = HashMap<Key, V, foldhash::fast::RandomState>;

/// Longest key stored inside the map's own entry.
const INLINE: usize = 22;

/// A key of the keydir: inside the map's entry when it is at most
/// [`INLINE`] bytes (16-byte keys are the common case), else on the heap.
/// An inline key is compared where the lookup already is, instead of
/// following a pointer to a separate allocation: one cache miss per point
/// read instead of two in a keydir far larger than the CPU's caches.
/// Equality and hashing are those of the bytes, so the map is looked up
/// with a plain `&[u8]`.
#[derive(Clone)]
enum Key {
    Inline { len: u8, bytes: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl Key {
    fn new(key: &[u8]) -> Key {
        if key.len() <= INLINE {
            let mut bytes = [0u8; INLINE];
            bytes[..key.len()].copy_from_slice(key);
            Key::Inline {
                len: key.len() as u8,
                bytes,
            }
        } else {
            Key::Heap(key.into())
        }
    }
}

impl std::borrow::Borrow<[u8]> for Key {
    fn borrow(&self) -> &[u8] {
        match self {
            Key::Inline { len, bytes } => &bytes[..usize::from(*len)],
            Key::Heap(b) => b,
        }
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        std::borrow::Borrow::<[u8]>::borrow(self) == std::borrow::Borrow::<[u8]>::borrow(other)
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::borrow::Borrow::<[u8]>::borrow(self).hash(state);
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: &[u8] = std::borrow::Borrow::borrow(self);
        write!(f, "{bytes:02x?}")
    }
}

/// Location of a key's newest record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Data file id.
    pub file: u32,
    /// Byte offset of the record in that file.
    pub offset: u64,
    /// Encoded record length.
    pub len: u32,
    /// The record's sequence number (newest wins during recovery).
    pub seq: u64,
}

/// A put (`Some` location) or delete (`None`) for the keydir, with its key
/// copied: what a write leaves pending when its update is deferred
/// ([`crate::deferred`]), and what it applies otherwise.
#[derive(Debug, Clone)]
pub struct Change {
    key: Key,
    loc: Option<Loc>,
}

impl Change {
    /// The change for `key`: a record at `loc`, or a delete.
    pub fn new(key: &[u8], loc: Option<Loc>) -> Change {
        Change {
            key: Key::new(key),
            loc,
        }
    }
}

/// Key -> newest live record. Deleted keys are absent: at runtime a
/// tombstone only has to hide older records, which the keydir never points
/// at again.
#[derive(Debug, Default)]
pub struct Keydir {
    live: KeyMap<Loc>,
    /// Encoded bytes of the records the keydir points at, per file.
    live_bytes: HashMap<u32, u64>,
    /// Sum of `live_bytes`.
    total_live: u64,
}

impl Keydir {
    /// The location of `key`'s value.
    pub fn get(&self, key: &[u8]) -> Option<&Loc> {
        self.live.get(key)
    }

    /// Whether the keydir points at exactly this record.
    pub fn points_at(&self, key: &[u8], file: u32, offset: u64) -> bool {
        self.live
            .get(key)
            .is_some_and(|l| l.file == file && l.offset == offset)
    }

    fn add_live(&mut self, loc: Loc) {
        *self.live_bytes.entry(loc.file).or_insert(0) += u64::from(loc.len);
        self.total_live += u64::from(loc.len);
    }

    fn sub_live(&mut self, loc: Loc) {
        if let Some(b) = self.live_bytes.get_mut(&loc.file) {
            *b = b.saturating_sub(u64::from(loc.len));
        }
        self.total_live = self.total_live.saturating_sub(u64::from(loc.len));
    }

    /// Keys the index holds before its table must grow.
    pub fn capacity(&self) -> usize {
        self.live.capacity()
    }

    /// Records a new value.
    pub fn put(&mut self, key: &[u8], loc: Loc) {
        self.insert(Key::new(key), loc);
    }

    fn insert(&mut self, key: Key, loc: Loc) {
        self.add_live(loc);
        if let Some(old) = self.live.insert(key, loc) {
            self.sub_live(old);
        }
    }

    /// Applies a logged change: a new value, or a delete.
    pub fn apply(&mut self, change: Change) {
        match change.loc {
            Some(loc) => self.insert(change.key, loc),
            None => self.remove(std::borrow::Borrow::borrow(&change.key)),
        }
    }

    /// Records a delete.
    pub fn remove(&mut self, key: &[u8]) {
        if let Some(old) = self.live.remove(key) {
            self.sub_live(old);
        }
    }

    /// Repoints `key` from `from` to `to` if it still points at `from`
    /// (a merge moved the record; a newer write meanwhile wins).
    pub fn relocate(&mut self, key: &[u8], from: Loc, to: Loc) {
        let Some(l) = self.live.get_mut(key) else {
            return;
        };
        if *l != from {
            return;
        }
        *l = to;
        self.sub_live(from);
        self.add_live(to);
    }

    /// Encoded bytes of live records in `file`.
    pub fn live_bytes(&self, file: u32) -> u64 {
        self.live_bytes.get(&file).copied().unwrap_or(0)
    }

    /// Forgets the accounting of a file that no longer exists.
    pub fn drop_file(&mut self, file: u32) {
        if let Some(b) = self.live_bytes.remove(&file) {
            self.total_live = self.total_live.saturating_sub(b);
        }
    }

    /// Encoded bytes of all live records.
    pub fn total_live(&self) -> u64 {
        self.total_live
    }

    /// Live keys.
    pub fn len(&self) -> usize {
        self.live.len()
    }

    /// Whether there are no live keys.
    pub fn is_empty(&self) -> bool {
        self.live.is_empty()
    }
}

/// Builds a keydir from records seen in any order: the highest sequence
/// number wins, tombstones included (so an older value found in a later
/// file cannot come back). Equal sequence numbers are copies of one record
/// (a merge output next to its input after a crash): the first seen stays.
///
/// A tombstone is kept as a `Loc` of length 0 (every record has a header,
/// so no value record is that short); [`Self::finish`] drops them in place,
/// so the map becomes the keydir without hashing any key again.
#[derive(Debug, Default)]
pub struct RecoveringKeydir {
    newest: KeyMap<Loc>,
    /// Highest sequence number seen.
    pub max_seq: u64,
}

impl RecoveringKeydir {
    /// A value record.
    pub fn value(&mut self, key: &[u8], loc: Loc) {
        debug_assert!(loc.len > 0, "a value record has a header");
        self.see(key, loc);
    }

    /// A tombstone.
    pub fn tombstone(&mut self, key: &[u8], seq: u64) {
        self.see(
            key,
            Loc {
                file: 0,
                offset: 0,
                len: 0,
                seq,
            },
        );
    }

    /// Keys seen so far, tombstones included.
    pub fn len(&self) -> usize {
        self.newest.len()
    }

    /// Whether no key was seen.
    pub fn is_empty(&self) -> bool {
        self.newest.is_empty()
    }

    /// Makes room for `total` keys in all.
    pub fn reserve_total(&mut self, total: usize) {
        self.newest.reserve(total.saturating_sub(self.newest.len()));
    }

    fn see(&mut self, key: &[u8], loc: Loc) {
        self.max_seq = self.max_seq.max(loc.seq);
        match self.newest.get_mut(key) {
            Some(e) if e.seq >= loc.seq => {}
            Some(e) => *e = loc,
            None => {
                self.newest.insert(Key::new(key), loc);
            }
        }
    }

    /// The keydir of live keys.
    pub fn finish(mut self) -> Keydir {
        self.newest.retain(|_, l| l.len > 0);
        let mut live_bytes: HashMap<u32, u64> = HashMap::new();
        for l in self.newest.values() {
            *live_bytes.entry(l.file).or_insert(0) += u64::from(l.len);
        }
        Keydir {
            total_live: live_bytes.values().sum(),
            live: self.newest,
            live_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(file: u32, offset: u64, seq: u64) -> Loc {
        Loc {
            file,
            offset,
            len: 10,
            seq,
        }
    }

    #[test]
    fn live_bytes_follow_puts_deletes_and_relocations() {
        let mut k = Keydir::default();
        k.put(b"a", loc(1, 0, 1));
        k.put(b"b", loc(1, 10, 2));
        k.put(b"a", loc(2, 0, 3));
        assert_eq!((k.live_bytes(1), k.live_bytes(2)), (10, 10));
        k.relocate(b"b", loc(1, 10, 2), loc(3, 0, 2));
        // A stale relocation (the key moved on) changes nothing.
        k.relocate(b"a", loc(1, 0, 1), loc(3, 10, 1));
        assert_eq!((k.live_bytes(1), k.live_bytes(3)), (0, 10));
        assert_eq!(k.get(b"a"), Some(&loc(2, 0, 3)));
        k.remove(b"a");
        assert_eq!((k.live_bytes(2), k.len(), k.total_live()), (0, 1, 10));
    }

    #[test]
    fn recovery_keeps_the_newest_record_whatever_the_order() {
        let mut r = RecoveringKeydir::default();
        r.tombstone(b"gone", 9);
        r.value(b"gone", loc(1, 0, 4));
        r.value(b"kept", loc(1, 10, 5));
        r.value(b"kept", loc(4, 0, 5));
        r.value(b"new", loc(1, 20, 2));
        r.value(b"new", loc(2, 0, 7));
        assert_eq!(r.max_seq, 9);
        let k = r.finish();
        assert_eq!(k.get(b"gone"), None);
        assert_eq!(k.get(b"kept"), Some(&loc(1, 10, 5)));
        assert_eq!(k.get(b"new"), Some(&loc(2, 0, 7)));
        assert_eq!((k.live_bytes(1), k.live_bytes(2)), (10, 10));
    }

    #[test]
    fn inline_and_heap_keys_are_found_by_their_bytes() {
        let mut k = Keydir::default();
        let short = [7u8; INLINE];
        let long = [7u8; INLINE + 1];
        k.put(&short, loc(1, 0, 1));
        k.put(&long, loc(1, 10, 2));
        k.put(b"", loc(1, 20, 3));
        assert_eq!(k.get(&short), Some(&loc(1, 0, 1)));
        assert_eq!(k.get(&long), Some(&loc(1, 10, 2)));
        assert_eq!(k.get(b""), Some(&loc(1, 20, 3)));
        // A prefix of an inline key, and the inline key padded with its
        // zero fill, are other keys.
        assert_eq!(k.get(&short[..INLINE - 1]), None);
        let mut padded = short.to_vec();
        padded.push(0);
        assert_eq!(k.get(&padded), None);
        assert_eq!(Key::new(&short), Key::new(&short));
        assert_ne!(Key::new(&short), Key::new(&long));
    }
}
