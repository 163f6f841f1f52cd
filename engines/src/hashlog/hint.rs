//! Hint files: for each record of a merged data file, its key, offset,
//! length and sequence number, so recovery can skip reading values.
//!
//! ## Format
//!
//! A hint file `NNNNNNNN.hint` is a log in the shared record framing: one
//! record per data record, with the same key and sequence number, and as
//! value 13 bytes: the data record's offset (u64 LE), its encoded length
//! (u32 LE), and 1 if it is a tombstone else 0. A hint file that fails its
//! checks is ignored and the data file is scanned instead.

use crate::record::{self, Record};

/// One hint entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hint<'a> {
    /// Key.
    pub key: &'a [u8],
    /// Sequence number of the data record.
    pub seq: u64,
    /// Offset of the data record.
    pub offset: u64,
    /// Encoded length of the data record.
    pub len: u32,
    /// Whether the data record is a tombstone.
    pub tombstone: bool,
}

/// Appends the encoding of `h` to `buf`.
pub fn encode(buf: &mut Vec<u8>, h: &Hint<'_>) {
    let mut v = [0u8; 12];
    v[..8].copy_from_slice(&h.offset.to_le_bytes());
    v[8..].copy_from_slice(&h.len.to_le_bytes());
    let mut value = [0u8; 13];
    value[..12].copy_from_slice(&v);
    value[12] = u8::from(h.tombstone);
    record::encode_into(
        buf,
        &Record {
            seq: h.seq,
            key: h.key,
            value: Some(&value),
            batch_continues: false,
        },
    );
}

/// Decodes a hint record; `None` if its value is not a hint.
pub fn decode<'a>(r: &Record<'a>) -> Option<Hint<'a>> {
    let v = r.value?;
    if v.len() != 13 || v[12] > 1 {
        return None;
    }
    let mut off = [0u8; 8];
    off.copy_from_slice(&v[..8]);
    let mut len = [0u8; 4];
    len.copy_from_slice(&v[8..12]);
    Some(Hint {
        key: r.key,
        seq: r.seq,
        offset: u64::from_le_bytes(off),
        len: u32::from_le_bytes(len),
        tombstone: v[12] == 1,
    })
}
