//! Page encoding: every page of `data.pages` is `page_bytes` long, starts
//! with a CRC32 of the rest of the page and a page type, and decodes into a
//! [`Node`] (or, for page 0, the [`Meta`] page).
//!
//! ## Format
//!
//! ```text
//! offset size field
//! 0      4    crc32 (crc32fast, IEEE) of bytes 4..page_bytes
//! 4      1    page type: 1 leaf, 2 internal, 3 free, 4 meta
//! 5      3    zero
//! 8      2    count u16 (leaf entries or internal separator keys)
//! 10     2    zero
//! 12     4    next u32 (leaf: right sibling page, free: next free page; 0 = none)
//! 16     ..   body, then zeros to the end of the page
//!   leaf:     count x (key len u16, value len u32, key, value), in key order
//!   internal: child 0 u32, then count x (key len u16, key, child u32):
//!             child i holds keys k with key[i-1] <= k < key[i]
//!   free:     empty
//!   meta:     magic u64 "BTREEMT2", root u32, page count u32,
//!             free list head u32, free pages u32, checkpoint generation u64,
//!             live keys u64, next record sequence number u64
//! ```
//!
//! All integers are little-endian. Page `n` starts at byte `n * page_bytes`.

use std::path::Path;

use super::frame::Frame;

use crate::{Error, Result};

/// Bytes before a page's body.
pub const HEADER: usize = 16;
/// Per-entry overhead in a leaf (key len u16 + value len u32).
pub const LEAF_ENTRY_OVERHEAD: usize = 6;
/// Per-key overhead in an internal page (key len u16 + child u32).
pub const INTERNAL_ENTRY_OVERHEAD: usize = 6;
const MAGIC: u64 = u64::from_le_bytes(*b"BTREEMT2");

const LEAF: u8 = 1;
const INTERNAL: u8 = 2;
const FREE: u8 = 3;
const META: u8 = 4;

/// Page id: the page's index in `data.pages` (0 is the meta page, so 0 also
/// means "none" in links).
pub type PageId = u32;

/// A decoded tree page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Sorted entries and the right sibling (0: none).
    Leaf {
        /// (key, value), in key order.
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        /// Right sibling page id.
        next: PageId,
    },
    /// Separator keys and children (`children.len() == keys.len() + 1`).
    Internal {
        /// Separators.
        keys: Vec<Vec<u8>>,
        /// Child page ids.
        children: Vec<PageId>,
    },
    /// A page on the free list.
    Free {
        /// Next free page (0: end of the list).
        next: PageId,
    },
}

/// Encoded size of one leaf entry.
pub fn leaf_entry_size(key: &[u8], value: &[u8]) -> usize {
    LEAF_ENTRY_OVERHEAD + key.len() + value.len()
}

impl Node {
    /// An empty leaf with no sibling.
    pub fn empty_leaf() -> Node {
        Node::Leaf {
            entries: Vec::new(),
            next: 0,
        }
    }

    /// Encoded size in bytes (header included).
    pub fn size(&self) -> usize {
        HEADER
            + match self {
                Node::Leaf { entries, .. } => {
                    entries.iter().map(|(k, v)| leaf_entry_size(k, v)).sum()
                }
                Node::Internal { keys, .. } => {
                    4 + keys
                        .iter()
                        .map(|k| INTERNAL_ENTRY_OVERHEAD + k.len())
                        .sum::<usize>()
                }
                Node::Free { .. } => 0,
            }
    }
}

/// The meta page (page 0): where the tree starts and which checkpoint the
/// data file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Root page id.
    pub root: PageId,
    /// Pages in the file (ids below this are live or free).
    pub page_count: u32,
    /// First page of the free list (0: empty).
    pub free_head: PageId,
    /// Pages on the free list.
    pub free_count: u32,
    /// Every WAL generation `<=` this is reflected in the pages.
    pub checkpoint_gen: u64,
    /// Keys with a value.
    pub live_keys: u64,
    /// Sequence number for the next WAL record.
    pub next_seq: u64,
}

fn seal(buf: &mut [u8]) {
    let crc = crc32fast::hash(&buf[4..]);
    buf[..4].copy_from_slice(&crc.to_le_bytes());
}

fn header(buf: &mut [u8], kind: u8, count: usize, next: PageId) {
    buf[4] = kind;
    buf[8..10].copy_from_slice(&(count as u16).to_le_bytes());
    buf[12..16].copy_from_slice(&next.to_le_bytes());
}

/// Encodes a node into `out` (cleared and filled to `page_bytes`). The node
/// must fit: the tree never lets a page grow past `page_bytes`.
pub fn encode_into(node: &Node, page_bytes: usize, out: &mut Vec<u8>) {
    out.clear();
    out.resize(page_bytes, 0);
    let b = &mut out[..];
    let mut p = HEADER;
    match node {
        Node::Leaf { entries, next } => {
            header(b, LEAF, entries.len(), *next);
            for (k, v) in entries {
                b[p..p + 2].copy_from_slice(&(k.len() as u16).to_le_bytes());
                b[p + 2..p + 6].copy_from_slice(&(v.len() as u32).to_le_bytes());
                p += 6;
                b[p..p + k.len()].copy_from_slice(k);
                p += k.len();
                b[p..p + v.len()].copy_from_slice(v);
                p += v.len();
            }
        }
        Node::Internal { keys, children } => {
            header(b, INTERNAL, keys.len(), 0);
            b[p..p + 4].copy_from_slice(&children[0].to_le_bytes());
            p += 4;
            for (k, c) in keys.iter().zip(&children[1..]) {
                b[p..p + 2].copy_from_slice(&(k.len() as u16).to_le_bytes());
                p += 2;
                b[p..p + k.len()].copy_from_slice(k);
                p += k.len();
                b[p..p + 4].copy_from_slice(&c.to_le_bytes());
                p += 4;
            }
        }
        Node::Free { next } => header(b, FREE, 0, *next),
    }
    seal(b);
}

/// Encodes a node into a new page image.
pub fn encode(node: &Node, page_bytes: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(page_bytes);
    encode_into(node, page_bytes, &mut out);
    out
}

/// Encodes the meta page.
pub fn encode_meta(m: &Meta, page_bytes: usize) -> Vec<u8> {
    let mut b = vec![0u8; page_bytes];
    header(&mut b, META, 0, 0);
    b[16..24].copy_from_slice(&MAGIC.to_le_bytes());
    b[24..28].copy_from_slice(&m.root.to_le_bytes());
    b[28..32].copy_from_slice(&m.page_count.to_le_bytes());
    b[32..36].copy_from_slice(&m.free_head.to_le_bytes());
    b[36..40].copy_from_slice(&m.free_count.to_le_bytes());
    b[40..48].copy_from_slice(&m.checkpoint_gen.to_le_bytes());
    b[48..56].copy_from_slice(&m.live_keys.to_le_bytes());
    b[56..64].copy_from_slice(&m.next_seq.to_le_bytes());
    seal(&mut b);
    b
}

fn u16_at(b: &[u8], p: usize) -> usize {
    u16::from_le_bytes([b[p], b[p + 1]]) as usize
}

/// Little-endian u32 at `p` (caller checks bounds).
pub fn u32_at(b: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

/// Little-endian u64 at `p` (caller checks bounds).
pub fn u64_at(b: &[u8], p: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[p..p + 8]);
    u64::from_le_bytes(a)
}

/// Whether a page image's checksum matches.
pub fn checksum_ok(b: &[u8]) -> bool {
    b.len() >= HEADER && crc32fast::hash(&b[4..]) == u32_at(b, 0)
}

fn verify(b: &[u8], file: &Path, offset: u64) -> Result<()> {
    if !checksum_ok(b) {
        return Err(Error::corrupt(
            file,
            offset,
            "page checksum mismatch (a torn or damaged page that no doublewrite copy repairs)",
        ));
    }
    Ok(())
}

/// Decodes a tree page read from `file` at `offset` (named in errors).
pub fn decode(b: &[u8], file: &Path, offset: u64) -> Result<Node> {
    verify(b, file, offset)?;
    let bad = |why: &str| Error::corrupt(file, offset, why.to_string());
    let count = u16_at(b, 8);
    let next = u32_at(b, 12);
    let mut p = HEADER;
    match b[4] {
        LEAF => {
            let mut entries = Vec::with_capacity(count);
            for _ in 0..count {
                if p + 6 > b.len() {
                    return Err(bad("leaf entry past the page end"));
                }
                let kl = u16_at(b, p);
                let vl = u32_at(b, p + 2) as usize;
                p += 6;
                if p + kl + vl > b.len() {
                    return Err(bad("leaf entry past the page end"));
                }
                entries.push((b[p..p + kl].to_vec(), b[p + kl..p + kl + vl].to_vec()));
                p += kl + vl;
            }
            Ok(Node::Leaf { entries, next })
        }
        INTERNAL => {
            let mut children = Vec::with_capacity(count + 1);
            children.push(u32_at(b, p));
            let mut keys = Vec::with_capacity(count);
            p += 4;
            for _ in 0..count {
                if p + 2 > b.len() {
                    return Err(bad("internal entry past the page end"));
                }
                let kl = u16_at(b, p);
                p += 2;
                if p + kl + 4 > b.len() {
                    return Err(bad("internal entry past the page end"));
                }
                keys.push(b[p..p + kl].to_vec());
                children.push(u32_at(b, p + kl));
                p += kl + 4;
            }
            Ok(Node::Internal { keys, children })
        }
        FREE => Ok(Node::Free { next }),
        META => Err(bad("a meta page where a tree page should be")),
        t => Err(bad(&format!("unknown page type {t}"))),
    }
}

/// A leaf page as read from the file, kept as its image: a point read or a
/// scan finds its entries in place instead of decoding every key and value
/// into allocations of their own. [`PackedLeaf::unpack`] gives the
/// [`Node`] when the leaf is about to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedLeaf {
    /// The page as read, in a frame of the cache's pool ([`Frame`]).
    image: Frame,
    /// Where each entry's header starts, in key order.
    offsets: Vec<u16>,
    next: PageId,
}

impl PackedLeaf {
    /// Entries.
    pub fn len(&self) -> usize {
        self.offsets.len()
    }

    /// Whether the leaf has no entry.
    pub fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// Right sibling (0: none).
    pub fn next(&self) -> PageId {
        self.next
    }

    fn lens(&self, i: usize) -> (usize, usize, usize) {
        let p = self.offsets[i] as usize;
        (
            p + 6,
            u16_at(&self.image, p),
            u32_at(&self.image, p + 2) as usize,
        )
    }

    /// Key of entry `i`.
    pub fn key(&self, i: usize) -> &[u8] {
        let (p, kl, _) = self.lens(i);
        &self.image[p..p + kl]
    }

    /// Value of entry `i`.
    pub fn value(&self, i: usize) -> &[u8] {
        let (p, kl, vl) = self.lens(i);
        &self.image[p + kl..p + kl + vl]
    }

    /// The leaf as a node, to change.
    pub fn unpack(&self) -> Node {
        Node::Leaf {
            entries: (0..self.len())
                .map(|i| (self.key(i).to_vec(), self.value(i).to_vec()))
                .collect(),
            next: self.next,
        }
    }

    /// The page image (as in the file).
    pub fn image(&self) -> &[u8] {
        &self.image
    }
}

/// A tree page read from the file: leaves stay packed, other pages are
/// decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadPage {
    /// A leaf, in place.
    Leaf(PackedLeaf),
    /// An internal or free page.
    Node(Node),
}

/// Checks a tree page read from `file` at `offset` (named in errors) and
/// locates a leaf's entries, keeping the image; other pages are
/// [`decode`]d. The checks are those of [`decode`].
pub fn read(b: Frame, file: &Path, offset: u64) -> Result<ReadPage> {
    if b.len() < HEADER || b[4] != LEAF {
        return decode(&b, file, offset).map(ReadPage::Node);
    }
    verify(&b, file, offset)?;
    let count = u16_at(&b, 8);
    let mut offsets = Vec::with_capacity(count);
    let mut p = HEADER;
    for _ in 0..count {
        let fits =
            p + 6 <= b.len() && p + 6 + u16_at(&b, p) + u32_at(&b, p + 2) as usize <= b.len();
        let at = u16::try_from(p).ok().filter(|_| fits).ok_or_else(|| {
            Error::corrupt(file, offset, "leaf entry past the page end".to_string())
        })?;
        offsets.push(at);
        p += 6 + u16_at(&b, p) + u32_at(&b, p + 2) as usize;
    }
    Ok(ReadPage::Leaf(PackedLeaf {
        next: u32_at(&b, 12),
        image: b,
        offsets,
    }))
}

/// Decodes the meta page (page 0 of `file`).
pub fn decode_meta(b: &[u8], file: &Path) -> Result<Meta> {
    if !checksum_ok(b) {
        return Err(Error::corrupt(
            file,
            0,
            "meta page checksum mismatch (torn or damaged, and no doublewrite copy repairs it)",
        ));
    }
    if b[4] != META || b.len() < 64 || u64_at(b, 16) != MAGIC {
        return Err(Error::corrupt(file, 0, "not a btree meta page"));
    }
    Ok(Meta {
        root: u32_at(b, 24),
        page_count: u32_at(b, 28),
        free_head: u32_at(b, 32),
        free_count: u32_at(b, 36),
        checkpoint_gen: u64_at(b, 40),
        live_keys: u64_at(b, 48),
        next_seq: u64_at(b, 56),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nodes_round_trip_and_every_flip_is_caught() {
        let nodes = [
            Node::Leaf {
                entries: vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), vec![])],
                next: 7,
            },
            Node::Internal {
                keys: vec![b"m".to_vec(), b"t".to_vec()],
                children: vec![3, 4, 9],
            },
            Node::Free { next: 9 },
        ];
        for n in nodes {
            let b = encode(&n, 512);
            assert_eq!(b.len(), 512);
            assert_eq!(decode(&b, Path::new("p"), 0).unwrap(), n);
            for at in [0, 4, 8, 12, 20, 100, 511] {
                let mut d = b.clone();
                d[at] ^= 0x10;
                assert!(decode(&d, Path::new("p"), 0).is_err(), "flip at {at}");
            }
        }
        let m = Meta {
            root: 1,
            page_count: 5,
            free_head: 3,
            free_count: 1,
            checkpoint_gen: 3,
            live_keys: 42,
            next_seq: 77,
        };
        let b = encode_meta(&m, 512);
        assert_eq!(decode_meta(&b, Path::new("p")).unwrap(), m);
        // A meta page is never mistaken for a tree page, nor the reverse.
        assert!(decode(&b, Path::new("p"), 0).is_err());
        assert!(decode_meta(&encode(&Node::empty_leaf(), 512), Path::new("p")).is_err());
    }

    /// A leaf read packed gives the same entries as one decoded, and every
    /// damage `decode` catches is caught.
    #[test]
    fn packed_leaves_match_decoded_ones() {
        let leaf = Node::Leaf {
            entries: vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), vec![]),
                (vec![], vec![9; 40]),
            ],
            next: 7,
        };
        let b = encode(&leaf, 512);
        let Ok(ReadPage::Leaf(packed)) = read(Frame::heap(b.clone()), Path::new("p"), 0) else {
            panic!("a leaf reads packed");
        };
        assert_eq!(packed.unpack(), leaf);
        assert_eq!((packed.len(), packed.next()), (3, 7));
        assert_eq!((packed.key(1), packed.value(2)), (&b"b"[..], &[9; 40][..]));
        assert_eq!(packed.image(), &b[..]);
        for at in [0, 4, 8, 12, 20, 100, 511] {
            let mut d = b.clone();
            d[at] ^= 0x10;
            assert!(
                read(Frame::heap(d), Path::new("p"), 0).is_err(),
                "flip at {at}"
            );
        }
        // An entry running past the end, with a valid checksum.
        let mut d = b.clone();
        d[HEADER + 2] = 0xff;
        d[HEADER + 3] = 0xff;
        seal(&mut d);
        assert!(read(Frame::heap(d), Path::new("p"), 0).is_err());
        let internal = Node::Internal {
            keys: vec![b"m".to_vec()],
            children: vec![3, 4],
        };
        let b = encode(&internal, 512);
        assert_eq!(
            read(Frame::heap(b), Path::new("p"), 0).unwrap(),
            ReadPage::Node(internal)
        );
    }

    #[test]
    fn size_matches_the_encoding() {
        let n = Node::Leaf {
            entries: vec![(vec![1; 10], vec![2; 30]), (vec![3; 5], vec![])],
            next: 0,
        };
        assert_eq!(n.size(), HEADER + 6 + 40 + 6 + 5);
        let i = Node::Internal {
            keys: vec![vec![1; 10]],
            children: vec![1, 2],
        };
        assert_eq!(i.size(), HEADER + 4 + 6 + 10);
    }
}
