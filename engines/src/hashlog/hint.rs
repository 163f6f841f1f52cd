//! Hint files: for each record of a merged data file, its key, offset,
//! length and sequence number, so recovery can rebuild the keydir without
//! reading values.
//!
//! ## Format
//!
//! A hint file `NNNNNNNN.hint` is a log in the shared record framing (so
//! every entry carries a CRC32): one record per data record, in file order,
//! with the same key and sequence number, and as value 13 bytes: the data
//! record's offset (u64 LE), its encoded length (u32 LE), and 1 if it is a
//! tombstone else 0.
//!
//! A hint file is used only when every entry decodes and the entries tile
//! its data file exactly (the first at offset 0, each next one where the
//! previous ended, the last ending at the data file's length); anything
//! else (a torn or corrupt entry, a data file of another length) makes
//! recovery scan the data file instead.

use std::path::Path;

use crate::record::{self, Record};

use super::keydir::Loc;

/// Length of a hint record's value.
pub const VALUE_LEN: usize = 13;

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
    let mut value = [0u8; VALUE_LEN];
    value[..8].copy_from_slice(&h.offset.to_le_bytes());
    value[8..12].copy_from_slice(&h.len.to_le_bytes());
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
    if v.len() != VALUE_LEN || v[12] > 1 {
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

/// The entries of a hint file image for data file `file` of `data_len`
/// bytes as (key, location, tombstone), or `None` if the hint file cannot
/// be trusted (see the module doc).
pub fn load<'a>(
    image: &'a [u8],
    path: &Path,
    file: u32,
    data_len: u64,
) -> Option<Vec<(&'a [u8], Loc, bool)>> {
    let mut entries = Vec::new();
    let mut expected = 0u64;
    let mut tiles = true;
    let end = record::scan_log(image, path, |_, r| {
        match decode(&r) {
            Some(h) if h.offset == expected => {
                expected += u64::from(h.len);
                entries.push((
                    h.key,
                    Loc {
                        file,
                        offset: h.offset,
                        len: h.len,
                        seq: h.seq,
                    },
                    h.tombstone,
                ));
            }
            _ => tiles = false,
        }
        Ok(())
    })
    .ok()?;
    (tiles && end.torn_bytes == 0 && expected == data_len).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(entries: &[(&[u8], u64, u32, bool)]) -> Vec<u8> {
        let mut buf = Vec::new();
        for (i, (key, offset, len, tombstone)) in entries.iter().enumerate() {
            encode(
                &mut buf,
                &Hint {
                    key,
                    seq: i as u64 + 1,
                    offset: *offset,
                    len: *len,
                    tombstone: *tombstone,
                },
            );
        }
        buf
    }

    #[test]
    fn a_hint_file_that_tiles_its_data_file_loads() {
        let img = image(&[(b"a", 0, 30, false), (b"b", 30, 22, true)]);
        let got = load(&img, Path::new("h"), 7, 52).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!((got[1].0, got[1].1.offset, got[1].2), (&b"b"[..], 30, true));
        assert_eq!(got[0].1.file, 7);
    }

    #[test]
    fn gaps_wrong_lengths_torn_or_corrupt_entries_are_rejected() {
        let p = Path::new("h");
        let good = image(&[(b"a", 0, 30, false), (b"b", 30, 22, false)]);
        assert!(load(&good, p, 1, 60).is_none(), "data file longer");
        assert!(load(&good, p, 1, 40).is_none(), "data file shorter");
        let gap = image(&[(b"a", 0, 30, false), (b"b", 31, 21, false)]);
        assert!(load(&gap, p, 1, 52).is_none(), "gap");
        assert!(load(&good[..good.len() - 3], p, 1, 30).is_none(), "torn");
        let mut bad = good.clone();
        bad[10] ^= 1;
        assert!(load(&bad, p, 1, 52).is_none(), "corrupt");
    }
}
