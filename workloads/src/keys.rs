//! Keys: key numbers formatted as fixed-size byte strings.
//!
//! ## Format
//!
//! A key of `key_size` bytes is `k` followed by `key_size - 1` zero-padded
//! decimal digits (`k000000000000042`), so keys of one size sort like their
//! numbers. At most 19 digits carry the number; longer keys are padded with
//! leading zeros. With hashed order (the default, YCSB's
//! `insertorder=hashed`), key number `n` is first mapped through a fixed
//! pseudo-random permutation of the key space, so consecutive numbers land
//! far apart in key order while every number still has its own key.

/// Distinct key numbers a key of `key_size` bytes can hold: `10^(key_size - 1)`
/// (capped at `10^19`); 1 for a key of fewer than 2 bytes.
pub fn key_space(key_size: usize) -> u64 {
    let digits = key_size.saturating_sub(1).min(19) as u32;
    10u64.pow(digits)
}

/// Writes the key for key number `index` into `buf` (its length is the key
/// size), without allocating. `index` is taken modulo [`key_space`]; with
/// `ordered = false` it then goes through [`permute`].
pub fn write_key(buf: &mut [u8], index: u64, ordered: bool) {
    let Some((first, digits)) = buf.split_first_mut() else {
        return;
    };
    let space = key_space(digits.len() + 1);
    let n = if ordered {
        index % space
    } else {
        permute(index % space, space)
    };
    *first = b'k';
    let mut v = n;
    for b in digits.iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// The key for key number `index`, as a new vector (for tests and for
/// rebuilding keys outside a stream; streams use [`write_key`]).
pub fn key_for(index: u64, key_size: usize, ordered: bool) -> Vec<u8> {
    let mut k = vec![0u8; key_size];
    write_key(&mut k, index, ordered);
    k
}

/// A fixed pseudo-random bijection on `0..space`: a bijective mixer on the
/// smallest power of two holding `space`, applied again while the result
/// falls outside `0..space` (cycle walking; under two rounds on average,
/// since `space` is more than half of that power of two for powers of ten).
pub fn permute(n: u64, space: u64) -> u64 {
    if space <= 1 {
        return 0;
    }
    debug_assert!(n < space);
    let bits = 64 - (space - 1).leading_zeros();
    let mask = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let mut x = n;
    loop {
        x = mix(x, bits, mask);
        if x < space {
            return x;
        }
    }
}

/// A bijection on `0..2^bits`: each step (add a constant, multiply by an
/// odd constant, xor with a right shift of itself, all modulo `2^bits`) is
/// invertible.
fn mix(mut x: u64, bits: u32, mask: u64) -> u64 {
    let shift = (bits / 2).max(1);
    for (add, mul) in [
        (0x9E37_79B9_7F4A_7C15u64, 0xBF58_476D_1CE4_E5B9u64),
        (0x6A09_E667_F3BC_C909, 0x94D0_49BB_1331_11EB),
    ] {
        x = x.wrapping_add(add) & mask;
        x = x.wrapping_mul(mul) & mask;
        x ^= x >> shift;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn permutation_is_a_bijection_for_every_small_key_size() {
        for space in [10u64, 100, 1000, 100_000] {
            let seen: HashSet<u64> = (0..space).map(|n| permute(n, space)).collect();
            assert_eq!(seen.len() as u64, space, "space {space}");
            assert!(seen.iter().all(|&v| v < space));
        }
    }

    #[test]
    fn permutation_scatters_consecutive_numbers() {
        let space = key_space(16);
        let keys: Vec<u64> = (0..1000).map(|n| permute(n, space)).collect();
        // Not monotone, and spread over the whole space (each tenth hit).
        assert!(keys.windows(2).any(|w| w[0] > w[1]));
        let tenths: HashSet<u64> = keys.iter().map(|k| k / (space / 10)).collect();
        assert_eq!(tenths.len(), 10);
    }

    #[test]
    fn keys_have_the_requested_size_and_order() {
        assert_eq!(key_for(42, 8, true), b"k0000042");
        assert_eq!(key_for(42, 16, true).len(), 16);
        assert_ne!(key_for(1, 16, false), key_for(1, 16, true));
        assert!(key_for(1, 16, true) < key_for(2, 16, true));
        let long = key_for(7, 40, true);
        assert_eq!(long.len(), 40);
        assert!(long.ends_with(b"0007") && long[1..36].iter().all(|&b| b == b'0'));
        // Key numbers wrap at the key space.
        assert_eq!(key_for(1005, 4, true), key_for(5, 4, true));
        assert_eq!(key_space(4), 1000);
        assert_eq!(key_space(40), 10u64.pow(19));
    }
}
