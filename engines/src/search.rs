//! Searches of sorted keys that compare 8-byte key prefixes first: the
//! btree's pages and the lsm's data blocks keep each key's [`prefix`] in
//! one array beside the keys.

/// The first 8 bytes of `key` as a big-endian number, zero padded: keys in
/// order have prefixes in order (`prefix(a) < prefix(b)` implies `a < b`),
/// so a search compares these numbers, which lie next to each other in
/// memory, and dereferences a key only among those sharing its prefix. A
/// binary search over keys in allocations of their own (or scattered
/// through a page) misses the CPU cache at nearly every step: in the
/// btree at 2M keys `memcmp` was 40% of a point read's time.
pub fn prefix(key: &[u8]) -> u64 {
    // A fixed-size load for the common case: a copy of variable length is
    // a `memmove` call, and rebuilding a page's prefixes made one per key.
    if let Some(first) = key.first_chunk::<8>() {
        return u64::from_be_bytes(*first);
    }
    let mut b = [0u8; 8];
    b[..key.len()].copy_from_slice(key);
    u64::from_be_bytes(b)
}

/// Index of the first key greater than `key` (the count of keys `<= key`),
/// in sorted `keys` with prefixes `hints`.
pub fn upper_bound<'a>(hints: &[u64], key_at: impl Fn(usize) -> &'a [u8], key: &[u8]) -> usize {
    let p = prefix(key);
    let lo = hints.partition_point(|&h| h < p);
    let hi = lo + run_of(&hints[lo..], p);
    lo + partition(hi - lo, |i| key_at(lo + i) <= key)
}

/// How many of `hints` (none below `p`) equal `p`: a galloping search from
/// the start, since the run is nearly always 0 or 1 long and a binary
/// search of the rest would touch memory far from it.
fn run_of(hints: &[u64], p: u64) -> usize {
    let mut hi = 1;
    while hi <= hints.len() && hints[hi - 1] <= p {
        hi *= 2;
    }
    let lo = hi / 2;
    let hi = hi.min(hints.len());
    lo + hints[lo..hi].partition_point(|&h| h <= p)
}

/// The first index in `0..n` where `pred` is false (`pred` true, then
/// false): a binary search, for the keys sharing one prefix (all of them
/// where every key starts with the same 8 bytes).
fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Index of the first key not less than `key`, and whether it equals `key`.
pub fn lower_bound<'a>(
    hints: &[u64],
    key_at: impl Fn(usize) -> &'a [u8],
    key: &[u8],
) -> (usize, bool) {
    let p = prefix(key);
    let lo = hints.partition_point(|&h| h < p);
    finish_lower_bound(hints, lo, key_at, key)
}

/// [`lower_bound`] given `lo`, the first index whose hint is not below
/// `prefix(key)`.
fn finish_lower_bound<'a>(
    hints: &[u64],
    lo: usize,
    key_at: impl Fn(usize) -> &'a [u8],
    key: &[u8],
) -> (usize, bool) {
    let hi = lo + run_of(&hints[lo..], prefix(key));
    let i = lo + partition(hi - lo, |i| key_at(lo + i) < key);
    (i, i < hi && key_at(i) == key)
}

/// Prefixes of many sorted keys (an lsm table's block index), with every
/// [`Fences::STRIDE`]-th kept apart: a search finds its group among those
/// few, which stay in the CPU cache, then searches one group. A plain
/// binary search of 20,000 prefixes missed the cache at nearly every step,
/// on every seek of every scan.
#[derive(Debug, Default)]
pub struct Fences {
    /// The last prefix of each group.
    top: Vec<u64>,
    hints: Vec<u64>,
    stride: usize,
}

impl Fences {
    /// Keys per group.
    pub const STRIDE: usize = 64;

    /// Fences over `hints` (the [`prefix`]es of sorted keys).
    pub fn new(hints: Vec<u64>) -> Fences {
        Fences::with_stride(hints, Fences::STRIDE)
    }

    fn with_stride(hints: Vec<u64>, stride: usize) -> Fences {
        Fences {
            top: hints
                .chunks(stride)
                .filter_map(|c| c.last().copied())
                .collect(),
            hints,
            stride,
        }
    }

    /// As [`lower_bound`] over the keys.
    pub fn lower_bound<'a>(&self, key_at: impl Fn(usize) -> &'a [u8], key: &[u8]) -> (usize, bool) {
        let p = prefix(key);
        let base = (self.top.partition_point(|&h| h < p) * self.stride).min(self.hints.len());
        let group = &self.hints[base..(base + self.stride).min(self.hints.len())];
        let lo = base + group.partition_point(|&h| h < p);
        finish_lower_bound(&self.hints, lo, key_at, key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every search of every key (and of keys between and around them)
    /// against a plain search, over keys that share prefixes, are prefixes
    /// of each other, end in zero bytes or are empty.
    #[test]
    fn hinted_searches_agree_with_plain_ones() {
        let mut keys: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"a".to_vec(),
            b"a\0".to_vec(),
            b"a\0\0".to_vec(),
            b"abcdefgh".to_vec(),
            b"abcdefgh\0".to_vec(),
            b"abcdefgha".to_vec(),
            b"abcdefghb".to_vec(),
            b"abcdefghbb".to_vec(),
            b"abcdefgi".to_vec(),
            b"k000000000000042".to_vec(),
            b"k000000000000043".to_vec(),
            vec![0xff; 9],
        ];
        keys.extend((0..40).map(|i| format!("user0000{i:04}").into_bytes()));
        keys.sort();
        let hints: Vec<u64> = keys.iter().map(|k| prefix(k)).collect();
        let hints = &hints[..];
        let mut probes = keys.clone();
        probes.extend(keys.iter().map(|k| [k.as_slice(), b"\0"].concat()));
        probes.extend(keys.iter().map(|k| [k.as_slice(), b"\xff"].concat()));
        probes.extend(
            keys.iter()
                .filter_map(|k| k.split_last().map(|(_, h)| h.to_vec())),
        );
        for p in &probes {
            let at = |i: usize| keys[i].as_slice();
            let upper = keys.partition_point(|k| k.as_slice() <= p.as_slice());
            assert_eq!(upper_bound(hints, at, p), upper, "upper bound of {p:?}");
            let lower = keys.partition_point(|k| k.as_slice() < p.as_slice());
            let found = keys.get(lower).is_some_and(|k| k == p);
            assert_eq!(
                lower_bound(hints, at, p),
                (lower, found),
                "lower bound of {p:?}"
            );
            for stride in [1, 2, 3, 7, 64] {
                let f = Fences::with_stride(hints.to_vec(), stride);
                assert_eq!(
                    f.lower_bound(at, p),
                    (lower, found),
                    "lower bound of {p:?}, stride {stride}"
                );
            }
        }
    }
}
