//! The in-memory keydir: key -> where its newest record lives.

use std::collections::HashMap;

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

/// Key -> newest live record; tombstone sequence numbers are kept only
/// during recovery, so an older value found later cannot come back.
#[derive(Debug, Default, Clone)]
pub struct Keydir {
    live: HashMap<Vec<u8>, Loc>,
}

impl Keydir {
    /// The location of `key`'s value.
    pub fn get(&self, key: &[u8]) -> Option<&Loc> {
        self.live.get(key)
    }

    /// Records a new value written at runtime.
    pub fn put(&mut self, key: &[u8], loc: Loc) {
        self.live.insert(key.to_vec(), loc);
    }

    /// Records a delete written at runtime.
    pub fn remove(&mut self, key: &[u8]) {
        self.live.remove(key);
    }

    /// Repoints `key` from `from` to `to` if it still points at `from`
    /// (a merge moved the record; a newer write meanwhile wins).
    pub fn relocate(&mut self, key: &[u8], from: Loc, to: Loc) {
        if let Some(l) = self.live.get_mut(key) {
            if *l == from {
                *l = to;
            }
        }
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
/// number wins, tombstones included.
#[derive(Debug, Default)]
pub struct RecoveringKeydir {
    newest: HashMap<Vec<u8>, (u64, Option<Loc>)>,
    /// Highest sequence number seen.
    pub max_seq: u64,
}

impl RecoveringKeydir {
    /// A value record.
    pub fn value(&mut self, key: &[u8], loc: Loc) {
        self.see(key, loc.seq, Some(loc));
    }

    /// A tombstone.
    pub fn tombstone(&mut self, key: &[u8], seq: u64) {
        self.see(key, seq, None);
    }

    fn see(&mut self, key: &[u8], seq: u64, loc: Option<Loc>) {
        self.max_seq = self.max_seq.max(seq);
        match self.newest.get_mut(key) {
            Some(e) if e.0 >= seq => {}
            Some(e) => *e = (seq, loc),
            None => {
                self.newest.insert(key.to_vec(), (seq, loc));
            }
        }
    }

    /// The keydir of live keys.
    pub fn finish(self) -> Keydir {
        Keydir {
            live: self
                .newest
                .into_iter()
                .filter_map(|(k, (_, l))| l.map(|l| (k, l)))
                .collect(),
        }
    }
}
