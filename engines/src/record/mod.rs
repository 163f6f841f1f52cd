//! Shared record framing for every log the engines write.
//!
//! ## Format
//!
//! ```text
//! offset size field
//! 0      4    crc32 (crc32fast, IEEE) of bytes 4..end of record
//! 4      1    flags: bit 0 tombstone (a deleted key, not an empty value),
//!                    bit 1 batch continues (more records of one atomic batch follow),
//!                    bit 2 generation (the generation field below is present)
//! 5      8    sequence number, u64 little-endian
//! 13     4    key length, u32 little-endian
//! 17     4    value length, u32 little-endian (0 for a tombstone)
//! 21     8    generation, u64 little-endian: only with flag bit 2
//! 21|29  k    key
//! +k     v    value
//! ```
//!
//! Logs that are never recycled (wal segments, hashlog data files, the
//! manifest, and every log under `none`) write records without a
//! generation: a 21-byte header. A *recyclable* log (the lsm and btree
//! WALs under a policy that syncs, see [`crate::recycle`]) writes every
//! record with the log's generation (its file number) inside the
//! CRC-covered header, 29 bytes, so that recovery can tell this
//! generation's records from the leftovers of an older generation whose
//! file was renamed and is being overwritten from offset 0.
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
//!
//! [`scan_generation`] scans a recyclable log of a known generation. Its
//! records are those with that generation and those without one (a log
//! begun under `none` and continued under another policy; a recycled file
//! never holds them, see [`crate::recycle`]). A valid record of another
//! generation ends the log cleanly, like reserved zeros: it and everything
//! up to the last non-zero byte are an older generation's leftovers,
//! reported in [`LogEnd::recycled_bytes`]. Bytes that do not decode end
//! the log too; they are a torn tail when they start with a header of this
//! generation (a write of this generation cut short: truncated by
//! [`recover_generation`]), else leftovers (new records rarely end where an
//! old one did). Only records of this generation count as evidence of
//! mid-file corruption, so a torn tail followed by an older generation's
//! records is a torn tail, not corruption; since a crash keeps a prefix of
//! a file's writes and only the last kept write can be torn, a valid
//! record of this generation after damaged bytes is still corruption.
use std::path::Path;

use crate::fs::{FileHandle, VFile};
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// Bytes before the key in a record without a generation.
pub const HEADER_LEN: usize = 21;
/// Bytes before the key in a record with a generation (recyclable logs).
pub const GENERATION_HEADER_LEN: usize = HEADER_LEN + 8;
/// Largest key a record can hold.
pub use capabilities::MAX_KEY_LEN;
/// Largest value a record can hold.
pub const MAX_VALUE_LEN: usize = 256 * 1024 * 1024;

const FLAG_TOMBSTONE: u8 = 1;
const FLAG_BATCH_CONTINUES: u8 = 2;
const FLAG_GENERATION: u8 = 4;
const KNOWN_FLAGS: u8 = FLAG_TOMBSTONE | FLAG_BATCH_CONTINUES | FLAG_GENERATION;

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

/// Encoded length of a record with these key and value lengths (without
/// a generation).
pub fn encoded_len(key_len: usize, value_len: usize) -> usize {
    HEADER_LEN + key_len + value_len
}

fn header_len(generation: Option<u64>) -> usize {
    match generation {
        Some(_) => GENERATION_HEADER_LEN,
        None => HEADER_LEN,
    }
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

/// Appends the encoding of one record (without a generation) to `buf`.
/// Sizes must have passed [`check_sizes`].
pub fn encode_into(buf: &mut Vec<u8>, record: &Record<'_>) {
    encode_into_generation(buf, record, None);
}

/// Appends the encoding of one record to `buf`, with `generation` in its
/// header when given (the records of a recyclable log, see the module
/// doc). Sizes must have passed [`check_sizes`].
pub fn encode_into_generation(buf: &mut Vec<u8>, record: &Record<'_>, generation: Option<u64>) {
    let start = buf.len();
    let value = record.value.unwrap_or(&[]);
    let mut flags = 0;
    if record.value.is_none() {
        flags |= FLAG_TOMBSTONE;
    }
    if record.batch_continues {
        flags |= FLAG_BATCH_CONTINUES;
    }
    if generation.is_some() {
        flags |= FLAG_GENERATION;
    }
    buf.reserve(header_len(generation) + record.key.len() + value.len());
    buf.extend_from_slice(&[0; 4]);
    buf.push(flags);
    buf.extend_from_slice(&record.seq.to_le_bytes());
    buf.extend_from_slice(&(record.key.len() as u32).to_le_bytes());
    buf.extend_from_slice(&(value.len() as u32).to_le_bytes());
    if let Some(g) = generation {
        buf.extend_from_slice(&g.to_le_bytes());
    }
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

fn u64_at(buf: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[at..at + 8]);
    u64::from_le_bytes(b)
}

/// A record header whose fields are possible (the CRC is not checked).
#[derive(Debug, Clone, Copy)]
struct Header {
    flags: u8,
    /// Header length (21, or 29 with a generation).
    len: usize,
    klen: usize,
    vlen: usize,
    generation: Option<u64>,
}

impl Header {
    /// Length of the whole record it announces.
    fn record_len(&self) -> usize {
        self.len + self.klen + self.vlen
    }
}

/// Parses the header at the start of `buf`.
fn header(buf: &[u8]) -> Result<Header, DecodeError> {
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
    let generation = if flags & FLAG_GENERATION != 0 {
        if buf.len() < GENERATION_HEADER_LEN {
            return Err(DecodeError::Incomplete);
        }
        Some(u64_at(buf, HEADER_LEN))
    } else {
        None
    };
    Ok(Header {
        flags,
        len: header_len(generation),
        klen,
        vlen,
        generation,
    })
}

/// Decodes the record at the start of `buf`; returns it and its length.
/// A record's generation, if it has one, is not checked here (see
/// [`decode_generation`]).
pub fn decode(buf: &[u8]) -> Result<(Record<'_>, usize), DecodeError> {
    decode_generation(buf).map(|(r, _, len)| (r, len))
}

/// Decodes the record at the start of `buf`; returns it, the generation in
/// its header (`None` for a record without one) and its length.
pub fn decode_generation(buf: &[u8]) -> Result<(Record<'_>, Option<u64>, usize), DecodeError> {
    let h = header(buf)?;
    let total = h.record_len();
    if buf.len() < total {
        return Err(DecodeError::Incomplete);
    }
    if crc32fast::hash(&buf[4..total]) != u32_at(buf, 0) {
        return Err(DecodeError::BadCrc);
    }
    let key = &buf[h.len..h.len + h.klen];
    let value = (h.flags & FLAG_TOMBSTONE == 0).then(|| &buf[h.len + h.klen..total]);
    Ok((
        Record {
            seq: u64_at(buf, 5),
            key,
            value,
            batch_continues: h.flags & FLAG_BATCH_CONTINUES != 0,
        },
        h.generation,
        total,
    ))
}

/// How a scanned log ended. `valid_len + torn_bytes + recycled_bytes +
/// reserved_bytes` is the length of the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LogEnd {
    /// Length of the valid prefix: the offset after the last complete batch.
    pub valid_len: u64,
    /// Bytes after `valid_len` that belong to a torn tail: up to the last
    /// non-zero byte of the file, or, in a recyclable log, to the end of
    /// the torn record.
    pub torn_bytes: u64,
    /// Bytes an older generation left in a recycled file
    /// ([`scan_generation`]): from its first record (or the first bytes
    /// that are no header of this generation) to the last non-zero byte.
    /// Always 0 for [`scan_log`].
    pub recycled_bytes: u64,
    /// Zeros after the torn tail or the leftovers (or after `valid_len`):
    /// reserved space.
    pub reserved_bytes: u64,
    /// Records delivered.
    pub records: u64,
}

/// Scans an in-memory log image, calling `visit(offset, record)` for every
/// record of every complete batch, in order. See the module doc for how torn
/// tails differ from corruption; `path` names the file in errors. Records
/// with a generation are taken whatever it is (logs that are not recycled).
pub fn scan_log<'a>(
    buf: &'a [u8],
    path: &Path,
    visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    scan(buf, path, None, visit)
}

/// [`scan_log`] for a recyclable log of generation `generation`: a record
/// of another generation ends it cleanly, and only records of this
/// generation (or without one) are evidence of corruption (see the module
/// doc).
pub fn scan_generation<'a>(
    buf: &'a [u8],
    path: &Path,
    generation: u64,
    visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    scan(buf, path, Some(generation), visit)
}

fn scan<'a>(
    buf: &'a [u8],
    path: &Path,
    expected: Option<u64>,
    mut visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    // Whether a record with generation `g` belongs to this log.
    let ours = |g: Option<u64>| match (expected, g) {
        (Some(e), Some(g)) => g == e,
        _ => true,
    };
    let mut pos = 0usize;
    let mut batch_start = 0usize;
    let mut batch: Vec<(u64, Record<'a>)> = Vec::new();
    let mut records = 0u64;
    // In a generation scan: where an older generation's bytes begin.
    let mut leftovers_at: Option<usize> = None;
    // Whether a record with a generation was seen (the log is recyclable).
    let mut seen_generation = false;
    while pos < buf.len() {
        match decode_generation(&buf[pos..]) {
            Ok((rec, g, len)) if ours(g) => {
                seen_generation |= g.is_some();
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
            Ok(_) => {
                // An older generation's record: the end of this log.
                leftovers_at = Some(pos);
                break;
            }
            Err(e) => {
                // A valid record after the damage must start before the last
                // non-zero byte; past it there are only zeros (reserved).
                let nonzero_end = nonzero_end(buf);
                let (next_ours, next_other) = find_valid_records(buf, pos + 1, nonzero_end, ours);
                if let Some(next) = next_ours {
                    return Err(Error::corrupt(
                        path,
                        pos as u64,
                        format!(
                            "{} (a valid record follows at offset {next}, so this is not a torn tail)",
                            e.reason()
                        ),
                    ));
                }
                let h = header(&buf[pos..]);
                // Leftovers are told from a torn tail only in a log that
                // shows it is recyclable; without generations the bytes
                // are a torn tail, as in `scan_log`.
                let recyclable = seen_generation
                    || next_other.is_some()
                    || matches!(h, Ok(h) if !ours(h.generation));
                if expected.is_some() && recyclable {
                    leftovers_at = Some(match h {
                        // A record of this log cut short: torn up to its end.
                        Ok(h) if ours(h.generation) => pos.saturating_add(h.record_len()),
                        // A header cut by the end of the file: torn.
                        Err(DecodeError::Incomplete) => buf.len(),
                        // No header of this generation: an older one's bytes.
                        _ => pos,
                    });
                }
                break;
            }
        }
    }
    let nz = nonzero_end(buf);
    let (torn, recycled) = match leftovers_at {
        Some(at) => {
            let at = at.min(nz).max(batch_start);
            (at - batch_start, nz.saturating_sub(at))
        }
        None => (nz.saturating_sub(batch_start), 0),
    };
    Ok(LogEnd {
        valid_len: batch_start as u64,
        torn_bytes: torn as u64,
        recycled_bytes: recycled as u64,
        reserved_bytes: (buf.len() - batch_start - torn - recycled) as u64,
        records,
    })
}

/// Offset just after the last non-zero byte (0 for an all-zero buffer).
fn nonzero_end(buf: &[u8]) -> usize {
    buf.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Offsets of the first positions in `from..to` where a record that
/// belongs to the log (`ours` of its generation) decodes, and where one of
/// another generation decodes before that.
fn find_valid_records(
    buf: &[u8],
    from: usize,
    to: usize,
    ours: impl Fn(Option<u64>) -> bool,
) -> (Option<usize>, Option<usize>) {
    let last = buf.len().saturating_sub(HEADER_LEN - 1).min(to);
    let mut other = None;
    for at in from..last {
        if let Ok((_, g, _)) = decode_generation(&buf[at..]) {
            if ours(g) {
                return (Some(at), other);
            }
            other.get_or_insert(at);
        }
    }
    (None, other)
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

/// [`recover_log`] for a recyclable log of generation `generation`
/// ([`scan_generation`]): a torn tail is truncated and the truncation
/// synced (unless `none`), and reserved zeros after the records are
/// trimmed, as there. An older generation's leftovers are left in place:
/// they end the log whenever it is read, and the writer that continues the
/// log overwrites them.
pub fn recover_generation<'a>(
    file: &FileHandle,
    image: &'a [u8],
    policy: SyncPolicy,
    generation: u64,
    visit: impl FnMut(u64, Record<'a>) -> Result<()>,
) -> Result<LogEnd> {
    let end = scan_generation(image, file.path(), generation, visit)?;
    if end.torn_bytes > 0 {
        truncate_to(&**file, end.valid_len, policy)?;
    } else if end.recycled_bytes == 0 && end.reserved_bytes > 0 {
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
mod tests;
