//! A bloom filter over a table's keys: 10 bits per key and 7 probes by
//! double hashing (about 1% false positives).
//!
//! ## Format
//!
//! `probes: u8`, then the bit array (little-endian bit order within bytes).

const BITS_PER_KEY: usize = 10;
const PROBES: u8 = 7;

/// The two hashes a key is probed with.
pub fn hash(key: &[u8]) -> (u32, u32) {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for &b in key {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    (h as u32, ((h >> 32) as u32) | 1)
}

/// Builds the encoded filter for keys given by their [`hash`]es.
pub fn build(hashes: &[(u32, u32)]) -> Vec<u8> {
    let bits = (hashes.len() * BITS_PER_KEY).max(64);
    let bytes = bits.div_ceil(8);
    let bits = bytes * 8;
    let mut out = vec![0u8; 1 + bytes];
    out[0] = PROBES;
    for &(h1, h2) in hashes {
        for i in 0..u32::from(PROBES) {
            let bit = (h1.wrapping_add(i.wrapping_mul(h2)) as usize) % bits;
            out[1 + bit / 8] |= 1 << (bit % 8);
        }
    }
    out
}

/// Whether `key` may be in the set the filter was built from (never false
/// for a key that is). A malformed filter answers "maybe".
pub fn may_contain(filter: &[u8], key: &[u8]) -> bool {
    if filter.len() < 2 {
        return true;
    }
    let bits = (filter.len() - 1) * 8;
    let (h1, h2) = hash(key);
    (0..u32::from(filter[0])).all(|i| {
        let bit = (h1.wrapping_add(i.wrapping_mul(h2)) as usize) % bits;
        filter[1 + bit / 8] & (1 << (bit % 8)) != 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_false_negatives_and_few_false_positives() {
        let keys: Vec<Vec<u8>> = (0..10_000u32)
            .map(|i| format!("key{i}").into_bytes())
            .collect();
        let hashes: Vec<(u32, u32)> = keys.iter().map(|k| hash(k)).collect();
        let f = build(&hashes);
        assert!(keys.iter().all(|k| may_contain(&f, k)));
        let fp = (0..10_000u32)
            .filter(|i| may_contain(&f, format!("other{i}").as_bytes()))
            .count();
        assert!(fp < 300, "{fp} false positives in 10000");
    }
}
