//! Shared record framing for every log the engines write.
//!
//! ## Format
//!
//! ```text
//! offset size field
//! 0      4    crc32 (crc32fast, IEEE) of bytes 4..end of record
//! 4      1    flags: bit 0 tombstone (a deleted key, not an empty value),
//!                    bit 1 batch continues (more records of one atomic batch follow)
//! 5      8    sequence number, u64 little-endian
//! 13     4    key length, u32 little-endian
//! 17     4    value length, u32 little-endian (0 for a tombstone)
//! 21     k    key
//! 21+k   v    value
//! ```
//!
//! ## Torn tails and corruption
//!
//! [`scan_log`] walks a log from the start. The log ends at the first bytes
//! that do not decode (too short, lengths past the end of the file, or a
//! CRC mismatch), never at the file size: logs reserve space ahead of their
//! appends ([`crate::logfile`]), and zeros never decode (the CRC of an
//! all-zero record body is not zero). Trailing zeros are reserved space
//! (or an unsynced extension) and are reported in [`LogEnd::reserved_bytes`].
//! Non-zero bytes that do not decode are searched for a valid record after
//! them; if there is none, they are a torn tail (a write cut short by a
//! crash), reported in [`LogEnd::torn_bytes`], and the log ends before
//! them. If a valid record follows, the damage is in the
//! middle of the file and the scan fails with [`Error::Corrupt`] naming the
//! file and offset: mid-file corruption is never skipped silently. A batch
//! (records flagged "batch continues" up to one without the flag) is
//! delivered whole or, when torn, not at all.

use std::path::Path;

use crate::fs::{FileHandle, VFile};
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// Bytes before the key.
pub const HEADER_LEN: usize = 21;
/// Largest key a record can hold.
pub const MAX_KEY_LEN: usize = 64 * 1024;
/// Largest value a record can hold.
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

const FLAG_TOMBSTONE: u8 = 1;
const FLAG_BATCH_CONTINUES: u8 = 2;
const KNOWN_FLAGS: u8 = FLAG_TOMBSTONE | FLAG_BATCH_CONTINUES;

/// One decoded record, borrowing from the buffer it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Sequence number (engines that have none write 0).
    pub seq: u64,
    /// Key bytes.
    pub key: &'a [u8],
    /// Value bytes; `None` for a tombstone.
    pub value: Option<&'a [u8]>,
    /// More records of the same batch follow.
    pub batch_continues: bool,
}

impl Record<'_> {
    /// Encoded length of this record.
    pub fn encoded_len(&self) -> usize {
        encoded_len(self.key.len(), self.value.map_or(0, <[u8]>::len))
    }
}

/// Encoded length of a record with these key and value lengths.
pub fn encoded_len(key_len: usize, value_len: usize) -> usize {
    HEADER_LEN + key_len + value_len
}

/// Checks key and value sizes against the record limits.
pub fn check_sizes(key: &[u8], value: Option<&[u8]>) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::TooLarge {
            what: "key",
            size: key.len() as u64,
            limit: MAX_KEY_LEN as u64,
        });
    }
    let vlen = value.map_or(0, <[u8]>::len);
    if vlen > MAX_VALUE_LEN {
        return Err(Error::TooLarge {
            what: "value",
            size: vlen as u64,
            limit: MAX_VALUE_LEN as u64,
        });
    }
    Ok(())
}

/// Appends the encoding of one record to `buf`. Sizes must have passed
/// [`check_sizes`].
pub fn encode_into(buf: &mut Vec<u8>, record: &Record<'_>) {
    let start = buf.len();
    let value = record.value.unwrap_or(&[]);
    let mut flags = 0;
    if record.value.is_none() {
        flags |= FLAG_TOMBSTONE;
    }
    if record.batch_continues {
        flags |= FLAG_BATCH_CONTINUES;
    }
    buf.reserve(HEADER_LEN + record.key.len() + value.len());
    buf.extend_from_slice(&[0; 4]);
    buf.push(flags);
    buf.extend_from_slice(&record.seq.to_le_bytes());
    buf.extend_from_slice(&(record.key.len() as u32).to_le_bytes());
    buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
    buf.extend_from_slice(record.key);
    buf.extend_from_slice(value);
    let crc = crc32fast::hash(&buf[start + 4..]);
    buf[start..start + 4].copy_from_slice(&crc.to_le_bytes());
}

/// Encodes one record into a new buffer.
pub fn encode(record: &Record<'_>) -> Vec<u8> {
    let mut buf = Vec::with_capacity(record.encoded_len());
    encode_into(&mut buf, record);
    buf
}

/// Why bytes did not decode as a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the header or the payload it announces.
    Incomplete,
    /// The header is impossible (lengths over the limits, unknown flags).
    BadHeader,
    /// The CRC does not match.
    BadCrc,
}

impl DecodeError {
    /// A sentence for error messages.
    pub fn reason(self) -> &'static str {
        match self {
            DecodeError::Incomplete => "record extends past the end of the file",
            DecodeError::BadHeader => "impossible record header",
            DecodeError::BadCrc => "record checksum mismatch",
        }
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

/// Decodes the record at the start of `buf`; returns it and its length.
pub fn decode(buf: &[u8]) -> Result<(Record<'_>, usize), DecodeError> {
    if buf.len() < HEADER_LEN {
        return Err(DecodeError::Incomplete);
    }
    let flags = buf[4];
    let klen = u32_at(buf, 13) as usize;
    let vlen = u32_at(buf, 17) as usize;
    if flags & !KNOWN_FLAGS != 0
        || klen > MAX_KEY_LEN
        || vlen > MAX_VALUE_LEN
        || (flags & FLAG_TOMBSTONE != 0 && vlen != 0)
    {
        return Err(DecodeError::BadHeader);
    }
    let total = HEADER_LEN + klen + vlen;
    if buf.len() < total {
        return Err(DecodeError::Incomplete);
    }
    if crc32fast::hash(&buf[4..total]) != u32_at(buf, 0) {
        return Err(DecodeError::BadCrc);
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&buf[5..13]);
    let key = &buf[HEADER_LEN..HEADER_LEN + klen];
    let value = (flags & FLAG_TOMBSTONE == 0).then(|| &buf[HEADER_LEN + klen..total]);
    Ok((
        Record {
            seq: u64::from_le_bytes(seq),
            key,
            value,
            batch_continues: flags & FLAG_BATCH_CONTINUES != 0,
        },
        total,
    ))
}

/// How a scanned log ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogEnd {
    /// Length of the valid prefix: the offset after the last complete batch.
    pub valid_len: u64,
    /// Bytes after `valid_len` that belong to a torn tail: up to the last
    /// non-zero byte of the file.
    pub torn_bytes: u64,
    /// Zeros after the torn tail (or after `valid_len`): reserved space.
    pub reserved_bytes: u64,
    /// Records delivered.
    pub records: u64,
}

/// Scans an in-memory log image, calling `visit(offset, record)` for every
/// record of every complete batch, in order. See the module doc for how torn
/// tails differ from corruption; `path` names the file in errors.
pub fn scan_log<'a>(
    buf: &'a [u8],
    path: &Path,
    mut visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    let mut pos = 0usize;
    let mut batch_start = 0usize;
    let mut batch: Vec<(u64, Record<'a>)> = Vec::new();
    let mut records = 0u64;
    while pos < buf.len() {
        match decode(&buf[pos..]) {
            Ok((rec, len)) => {
                batch.push((pos as u64, rec));
                pos += len;
                if !rec.batch_continues {
                    for (off, r) in batch.drain(..) {
                        visit(off, r)?;
                        records += 1;
                    }
                    batch_start = pos;
                }
            }
            Err(e) => {
                // A valid record after the damage must start before the last
                // non-zero byte; past it there are only zeros (reserved).
                let nonzero_end = nonzero_end(buf);
                if let Some(next) = find_valid_record(buf, pos + 1, nonzero_end) {
                    return Err(Error::corrupt(
                        path,
                        pos as u64,
                        format!(
                            "{} (a valid record follows at offset {next}, so this is not a torn tail)",
                            e.reason()
                        ),
                    ));
                }
                break;
            }
        }
    }
    let torn = nonzero_end(buf).saturating_sub(batch_start);
    Ok(LogEnd {
        valid_len: batch_start as u64,
        torn_bytes: torn as u64,
        reserved_bytes: (buf.len() - batch_start - torn) as u64,
        records,
    })
}

/// Offset just after the last non-zero byte (0 for an all-zero buffer).
fn nonzero_end(buf: &[u8]) -> usize {
    buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Offset of the first position in `from..to` where a record decodes.
fn find_valid_record(buf: &[u8], from: usize, to: usize) -> Option<usize> {
    let last = buf.len().saturating_sub(HEADER_LEN - 1).min(to);
    (from..last).find(|&at| decode(&buf[at..]).is_ok())
}

/// Reads and scans a whole log file and truncates it to its valid prefix.
/// On a torn tail the truncation is synced (unless the policy is `none`) so
/// a second crash cannot bring the torn bytes back between valid records;
/// a tail of reserved zeros is trimmed without a sync (zeros that come back
/// end the log all the same).
pub fn recover_log<'a>(
    file: &FileHandle,
    image: &'a [u8],
    policy: SyncPolicy,
    visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    let end = scan_log(image, file.path(), visit)?;
    if end.torn_bytes > 0 {
        truncate_to(&**file, end.valid_len, policy)?;
    } else if end.reserved_bytes > 0 {
        file.set_len(end.valid_len)?;
    }
    Ok(end)
}

/// Truncates `file` to `len` and syncs the change unless the policy is `none`.
pub fn truncate_to(file: &dyn VFile, len: u64, policy: SyncPolicy) -> Result<()> {
    file.set_len(len)?;
    if policy.syncs_data() {
        policy.sync_file(file)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec<'a>(seq: u64, key: &'a [u8], value: Option<&'a [u8]>) -> Record<'a> {
        Record {
            seq,
            key,
            value,
            batch_continues: false,
        }
    }

    #[test]
    fn round_trip_value_empty_and_tombstone() {
        for r in [
            rec(7, b"k", Some(b"value")),
            rec(8, b"k", Some(b"")),
            rec(9, b"k", None),
            rec(0, b"", Some(b"x")),
        ] {
            let buf = encode(&r);
            assert_eq!(buf.len(), r.encoded_len());
            let (d, n) = decode(&buf).unwrap();
            assert_eq!(d, r);
            assert_eq!(n, buf.len());
        }
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let buf = encode(&rec(3, b"key", Some(b"some value")));
        for byte in 0..buf.len() {
            for bit in 0..8 {
                let mut b = buf.clone();
                b[byte] ^= 1 << bit;
                assert!(decode(&b).is_err(), "flip at byte {byte} bit {bit}");
            }
        }
    }

    fn log(n: u64) -> Vec<u8> {
        let mut buf = Vec::new();
        for i in 0..n {
            encode_into(&mut buf, &rec(i, format!("k{i}").as_bytes(), Some(b"v")));
        }
        buf
    }

    #[test]
    fn torn_tail_of_every_length_is_dropped() {
        let full = log(5);
        let last_start = log(4).len();
        for cut in last_start + 1..full.len() {
            let end = scan_log(&full[..cut], Path::new("t"), |_, _| Ok(())).unwrap();
            assert_eq!(end.records, 4);
            assert_eq!(end.valid_len, last_start as u64);
            // Torn up to its last non-zero byte; zeros after that (a cut
            // inside a length field, say) count as reserved.
            assert_eq!(
                end.torn_bytes + end.reserved_bytes,
                (cut - last_start) as u64
            );
            assert!(full[last_start + end.torn_bytes as usize..cut]
                .iter()
                .all(|&b| b == 0));
        }
    }

    #[test]
    fn zero_filled_tail_is_reserved_not_torn_or_corrupt() {
        let mut buf = log(3);
        let good = buf.len() as u64;
        buf.extend_from_slice(&[0u8; 4096]);
        let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
        assert_eq!(
            (
                end.records,
                end.valid_len,
                end.torn_bytes,
                end.reserved_bytes
            ),
            (3, good, 0, 4096)
        );
    }

    #[test]
    fn a_torn_record_in_reserved_space_is_torn_and_the_zeros_reserved() {
        let mut buf = log(3);
        let good = buf.len();
        let next = encode(&rec(9, b"k9", Some(b"value")));
        buf.extend_from_slice(&next[..10]);
        buf.extend_from_slice(&[0u8; 1000]);
        let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
        assert_eq!(end.records, 3);
        assert_eq!(end.valid_len, good as u64);
        // The torn part ends at its last non-zero byte.
        assert!(end.torn_bytes > 0 && end.torn_bytes <= 10);
        assert_eq!(end.torn_bytes + end.reserved_bytes, 1010);
    }

    #[test]
    fn middle_corruption_is_an_error_with_offset() {
        let mut buf = log(5);
        let second = log(1).len();
        buf[second + HEADER_LEN] ^= 0xff;
        let err = scan_log(&buf, Path::new("seg"), |_, _| Ok(())).unwrap_err();
        match err {
            Error::Corrupt {
                offset, ref file, ..
            } => {
                assert_eq!(offset, second as u64);
                assert_eq!(file, Path::new("seg"));
            }
            other => panic!("expected Corrupt, got {other}"),
        }
    }

    #[test]
    fn torn_batch_is_dropped_whole() {
        let mut buf = log(1);
        let good = buf.len();
        for i in 0..3u64 {
            encode_into(
                &mut buf,
                &Record {
                    seq: 10 + i,
                    key: b"b",
                    value: Some(b"v"),
                    batch_continues: i < 2,
                },
            );
        }
        let cut = buf.len() - 1;
        let end = scan_log(&buf[..cut], Path::new("t"), |_, _| Ok(())).unwrap();
        assert_eq!((end.records, end.valid_len), (1, good as u64));
        let end = scan_log(&buf, Path::new("t"), |_, _| Ok(())).unwrap();
        assert_eq!(end.records, 4);
    }
}
