//! The order cells run in: every cell once per round, each round in its own
//! shuffled order drawn from a seed, so drift on a shared disk (another
//! tenant, a warming SSD, a filling journal) spreads over every cell
//! instead of landing on one cell's repetitions.

use workloads::rng::Rng;

/// One measurement: cell `cell` (an index into the matrix), repetition `round`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    /// Index of the cell in the matrix.
    pub cell: usize,
    /// Repetition (0-based): every cell's repetition `r` runs in round `r`.
    pub round: u32,
}

/// `rounds` rounds over `cells` cells, each round a permutation of the
/// cells drawn from `seed` (Fisher-Yates). The same seed gives the same
/// order on every machine.
pub fn interleaved(cells: usize, rounds: u32, seed: u64) -> Vec<Slot> {
    let mut rng = Rng::new(seed, 0x005e_ed0f_0de2);
    let mut out = Vec::with_capacity(cells * rounds as usize);
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..cells).collect();
        for i in (1..cells).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            order.swap(i, j);
        }
        out.extend(order.into_iter().map(|cell| Slot { cell, round }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_is_a_permutation() {
        let slots = interleaved(10, 3, 42);
        assert_eq!(slots.len(), 30);
        for (r, chunk) in slots.chunks(10).enumerate() {
            let mut cells: Vec<usize> = chunk.iter().map(|s| s.cell).collect();
            assert!(chunk.iter().all(|s| s.round == r as u32));
            cells.sort_unstable();
            assert_eq!(cells, (0..10).collect::<Vec<_>>());
        }
    }

    #[test]
    fn same_seed_same_order_other_seed_other_order() {
        assert_eq!(interleaved(20, 2, 7), interleaved(20, 2, 7));
        assert_ne!(interleaved(20, 2, 7), interleaved(20, 2, 8));
        // Rounds differ from each other too (a fixed order would keep drift aligned).
        let s = interleaved(20, 2, 7);
        assert_ne!(
            s[..20].iter().map(|x| x.cell).collect::<Vec<_>>(),
            s[20..].iter().map(|x| x.cell).collect::<Vec<_>>()
        );
    }

    #[test]
    fn degenerate_sizes() {
        assert!(interleaved(0, 3, 1).is_empty());
        assert_eq!(
            interleaved(1, 2, 1),
            vec![Slot { cell: 0, round: 0 }, Slot { cell: 0, round: 1 }]
        );
        assert!(interleaved(5, 0, 1).is_empty());
    }
}
