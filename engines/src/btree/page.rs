//! Page encoding: every page is `page_bytes` long and checksummed.
//!
//! ## Format
//!
//! ```text
//! 0   crc32 of bytes 4..page_bytes
//! 4   type u8: 1 leaf, 2 internal, 3 free, 4 meta
//! 5   3 bytes zero
//! 8   count u16 (entries or keys)
//! 10  2 bytes zero
//! 12  next u32 (leaf: right sibling page, free: next free page; 0 = none)
//! 16  body
//!     leaf:     count x (key len u16, value len u32, key, value), in key order
//!     internal: first child u32, then count x (key len u16, key, child u32):
//!               child i holds keys >= key i and < key i+1
//!     meta:     magic u64 "BTREEMT1", root u32, page count u32,
//!               free list head u32, checkpoint generation u64
//! rest zero
//! ```

use crate::{Error, Result};

/// Bytes before a page's body.
pub const HEADER: usize = 16;
const MAGIC: u64 = u64::from_le_bytes(*b"BTREEMT1");

const LEAF: u8 = 1;
const INTERNAL: u8 = 2;
const FREE: u8 = 3;
const META: u8 = 4;

/// A decoded page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Sorted entries and the right sibling (0: none).
    Leaf {
        /// (key, value), in key order.
        entries: Vec<(Vec<u8>, Vec<u8>)>,
        /// Right sibling page id.
        next: u32,
    },
    /// Separator keys and children (`children.len() == keys.len() + 1`).
    Internal {
        /// Separators.
        keys: Vec<Vec<u8>>,
        /// Child page ids.
        children: Vec<u32>,
    },
    /// A page on the free list.
    Free {
        /// Next free page (0: end).
        next: u32,
    },
}

impl Node {
    /// Encoded size in bytes.
    pub fn size(&self) -> usize {
        HEADER
            + match self {
                Node::Leaf { entries, .. } => {
                    entries.iter().map(|(k, v)| 6 + k.len() + v.len()).sum()
                }
                Node::Internal { keys, .. } => 4 + keys.iter().map(|k| 6 + k.len()).sum::<usize>(),
                Node::Free { .. } => 0,
            }
    }
}

/// The meta page (page 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// Root page id.
    pub root: u32,
    /// Pages in the file (ids below this are allocated or free).
    pub page_count: u32,
    /// First free page (0: none).
    pub free_head: u32,
    /// Every WAL generation <= this is reflected in the pages.
    pub checkpoint_gen: u64,
}

fn seal(buf: &mut [u8]) {
    let crc = crc32fast::hash(&buf[4..]);
    buf[..4].copy_from_slice(&crc.to_le_bytes());
}

fn header(buf: &mut [u8], kind: u8, count: usize, next: u32) {
    buf[4] = kind;
    buf[8..10].copy_from_slice(&(count as u16).to_le_bytes());
    buf[12..16].copy_from_slice(&next.to_le_bytes());
}

/// Encodes a node into a page image of `page_bytes` (the node must fit).
pub fn encode(node: &Node, page_bytes: usize) -> Vec<u8> {
    let mut b = vec![0u8; page_bytes];
    let mut p = HEADER;
    match node {
        Node::Leaf { entries, next } => {
            header(&mut b, LEAF, entries.len(), *next);
            for (k, v) in entries {
                b[p..p + 2].copy_from_slice(&(k.len() as u16).to_le_bytes());
                b[p + 2..p + 6].copy_from_slice(&(v.len() as u32).to_le_bytes());
                b[p + 6..p + 6 + k.len()].copy_from_slice(k);
                b[p + 6 + k.len()..p + 6 + k.len() + v.len()].copy_from_slice(v);
                p += 6 + k.len() + v.len();
            }
        }
        Node::Internal { keys, children } => {
            header(&mut b, INTERNAL, keys.len(), 0);
            b[p..p + 4].copy_from_slice(&children[0].to_le_bytes());
            p += 4;
            for (k, c) in keys.iter().zip(&children[1..]) {
                b[p..p + 2].copy_from_slice(&(k.len() as u16).to_le_bytes());
                b[p + 2..p + 2 + k.len()].copy_from_slice(k);
                b[p + 2 + k.len()..p + 6 + k.len()].copy_from_slice(&c.to_le_bytes());
                p += 6 + k.len();
            }
        }
        Node::Free { next } => header(&mut b, FREE, 0, *next),
    }
    seal(&mut b);
    b
}

/// Encodes the meta page.
pub fn encode_meta(m: &Meta, page_bytes: usize) -> Vec<u8> {
    let mut b = vec![0u8; page_bytes];
    header(&mut b, META, 0, 0);
    b[16..24].copy_from_slice(&MAGIC.to_le_bytes());
    b[24..28].copy_from_slice(&m.root.to_le_bytes());
    b[28..32].copy_from_slice(&m.page_count.to_le_bytes());
    b[32..36].copy_from_slice(&m.free_head.to_le_bytes());
    b[36..44].copy_from_slice(&m.checkpoint_gen.to_le_bytes());
    seal(&mut b);
    b
}

fn u16_at(b: &[u8], p: usize) -> usize {
    u16::from_le_bytes([b[p], b[p + 1]]) as usize
}

fn u32_at(b: &[u8], p: usize) -> u32 {
    u32::from_le_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]])
}

fn u64_at(b: &[u8], p: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[p..p + 8]);
    u64::from_le_bytes(a)
}

/// Checks a page's checksum; `file`/`offset` name it in errors.
pub fn verify(b: &[u8], file: &std::path::Path, offset: u64) -> Result<()> {
    if b.len() < HEADER || crc32fast::hash(&b[4..]) != u32_at(b, 0) {
        return Err(Error::corrupt(
            file,
            offset,
            "page checksum mismatch (a torn or damaged page the WAL cannot repair)",
        ));
    }
    Ok(())
}

/// Decodes a verified node page.
pub fn decode(b: &[u8], file: &std::path::Path, offset: u64) -> Result<Node> {
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
                    return Err(bad("leaf entry past page end"));
                }
                let kl = u16_at(b, p);
                let vl = u32_at(b, p + 2) as usize;
                if p + 6 + kl + vl > b.len() {
                    return Err(bad("leaf entry past page end"));
                }
                entries.push((
                    b[p + 6..p + 6 + kl].to_vec(),
                    b[p + 6 + kl..p + 6 + kl + vl].to_vec(),
                ));
                p += 6 + kl + vl;
            }
            Ok(Node::Leaf { entries, next })
        }
        INTERNAL => {
            if p + 4 > b.len() {
                return Err(bad("internal page too short"));
            }
            let mut children = vec![u32_at(b, p)];
            let mut keys = Vec::with_capacity(count);
            p += 4;
            for _ in 0..count {
                if p + 2 > b.len() {
                    return Err(bad("internal entry past page end"));
                }
                let kl = u16_at(b, p);
                if p + 6 + kl > b.len() {
                    return Err(bad("internal entry past page end"));
                }
                keys.push(b[p + 2..p + 2 + kl].to_vec());
                children.push(u32_at(b, p + 2 + kl));
                p += 6 + kl;
            }
            Ok(Node::Internal { keys, children })
        }
        FREE => Ok(Node::Free { next }),
        t => Err(bad(&format!("unknown page type {t}"))),
    }
}

/// Decodes a verified meta page.
pub fn decode_meta(b: &[u8], file: &std::path::Path) -> Result<Meta> {
    verify(b, file, 0)?;
    if b[4] != META || u64_at(b, 16) != MAGIC {
        return Err(Error::corrupt(file, 0, "not a btree meta page"));
    }
    Ok(Meta {
        root: u32_at(b, 24),
        page_count: u32_at(b, 28),
        free_head: u32_at(b, 32),
        checkpoint_gen: u64_at(b, 36),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn nodes_round_trip_and_flips_are_caught() {
        let nodes = [
            Node::Leaf {
                entries: vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), vec![])],
                next: 7,
            },
            Node::Internal {
                keys: vec![b"m".to_vec()],
                children: vec![3, 4],
            },
            Node::Free { next: 9 },
        ];
        for n in nodes {
            let mut b = encode(&n, 512);
            assert_eq!(decode(&b, Path::new("p"), 0).unwrap(), n);
            b[100] ^= 1;
            assert!(decode(&b, Path::new("p"), 0).is_err());
        }
        let m = Meta {
            root: 1,
            page_count: 5,
            free_head: 0,
            checkpoint_gen: 3,
        };
        assert_eq!(
            decode_meta(&encode_meta(&m, 512), Path::new("p")).unwrap(),
            m
        );
    }
}
