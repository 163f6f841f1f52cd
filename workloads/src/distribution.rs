//! Key choosers: sequential, uniform, zipfian (YCSB's algorithm), scrambled
//! zipfian, latest and hotspot, over a key space that grows as keys are
//! inserted.

use crate::rng::{fnv1a64, Rng};
use crate::spec::KeyDistribution;

/// Terms of the zeta sum added one by one; beyond this the tail comes from
/// the Euler-Maclaurin formula (its error there is far below f64 rounding).
const ZETA_EXACT_TERMS: u64 = 1 << 16;

/// Items of the zipfian behind [`KeyDistribution::ScrambledZipfian`]
/// (YCSB's `ScrambledZipfianGenerator.ITEM_COUNT`).
pub const SCRAMBLED_ITEMS: u64 = 10_000_000_000;

/// The generalized harmonic number `H(n, theta) = sum_{i=1..=n} 1/i^theta`.
pub fn zeta(n: u64, theta: f64) -> f64 {
    let exact = n.min(ZETA_EXACT_TERMS);
    let mut sum = zeta_terms(0, exact, theta);
    if n > exact {
        sum += zeta_tail(exact, n, theta);
    }
    sum
}

/// `sum_{i=from+1..=to} 1/i^theta`, term by term.
fn zeta_terms(from: u64, to: u64, theta: f64) -> f64 {
    (from + 1..=to).map(|i| (i as f64).powf(-theta)).sum()
}

/// `sum_{i=m+1..=n} 1/i^theta` by Euler-Maclaurin: the integral, the end
/// corrections and two derivative terms (the next is below 1e-20 for
/// `m >= 2^16`).
fn zeta_tail(m: u64, n: u64, theta: f64) -> f64 {
    let (a, b) = (m as f64, n as f64);
    let f = |x: f64| x.powf(-theta);
    let d1 = |x: f64| -theta * x.powf(-theta - 1.0);
    let d3 = |x: f64| -theta * (theta + 1.0) * (theta + 2.0) * x.powf(-theta - 3.0);
    let integral = (b.powf(1.0 - theta) - a.powf(1.0 - theta)) / (1.0 - theta);
    // Euler-Maclaurin gives sum_{i=m..=n}; drop the i = m term.
    integral + (f(a) + f(b)) / 2.0 + (d1(b) - d1(a)) / 12.0 - (d3(b) - d3(a)) / 720.0 - f(a)
}

/// `sum_{i=from+1..=to} 1/i^theta`, for growing a zipfian.
fn zeta_between(from: u64, to: u64, theta: f64) -> f64 {
    if to - from <= ZETA_EXACT_TERMS {
        zeta_terms(from, to, theta)
    } else {
        zeta(to, theta) - zeta(from, theta)
    }
}

/// YCSB's `ZipfianGenerator` (Gray et al., "Quickly generating
/// billion-record synthetic databases", SIGMOD 1994): ranks `0..n`, rank 0
/// most popular, P(rank i) = 1/((i+1)^theta * H(n, theta)). Ranks 0 and 1
/// are exact; the rest come from a closed-form approximation of the inverse
/// CDF. The zeta sum grows incrementally when the item count grows.
#[derive(Debug, Clone)]
pub struct Zipfian {
    theta: f64,
    n: u64,
    zetan: f64,
    zeta2: f64,
    alpha: f64,
    eta: f64,
    /// `1 + 0.5^theta`: the CDF bound of rank 1.
    rank1_bound: f64,
}

impl Zipfian {
    /// Over `n >= 1` items (0 counts as 1) with skew `theta` in (0, 1).
    pub fn new(n: u64, theta: f64) -> Self {
        let n = n.max(1);
        let mut z = Zipfian {
            theta,
            n,
            zetan: zeta(n, theta),
            zeta2: zeta(2, theta),
            alpha: 1.0 / (1.0 - theta),
            eta: 0.0,
            rank1_bound: 1.0 + 0.5f64.powf(theta),
        };
        z.update_eta();
        z
    }

    fn update_eta(&mut self) {
        self.eta =
            (1.0 - (2.0 / self.n as f64).powf(1.0 - self.theta)) / (1.0 - self.zeta2 / self.zetan);
    }

    /// Grows the item count to `n` (no-op if not larger).
    pub fn grow(&mut self, n: u64) {
        if n > self.n {
            self.zetan += zeta_between(self.n, n, self.theta);
            self.n = n;
            self.update_eta();
        }
    }

    /// Items.
    pub fn items(&self) -> u64 {
        self.n
    }

    /// `H(n, theta)` over the current items: rank 0's share is `1 / zetan`.
    pub fn zetan(&self) -> f64 {
        self.zetan
    }

    /// A rank in `0..n`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.next_f64();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < self.rank1_bound {
            return 1.min(self.n - 1);
        }
        let r = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        r.min(self.n - 1)
    }
}

/// Chooses key numbers among the keys that exist.
#[derive(Debug, Clone)]
pub struct KeyChooser {
    kind: Chooser,
}

#[derive(Debug, Clone)]
enum Chooser {
    Sequential {
        next: u64,
    },
    Uniform,
    Zipfian(Zipfian),
    Scrambled {
        ranks: Zipfian,
        /// Key numbers the hashed ranks are spread over; draws at or above
        /// the existing keys are redrawn, as YCSB's `nextKeynum` does.
        space: u64,
    },
    Latest(Zipfian),
    Hotspot {
        hot_fraction_keys: f64,
        hot_fraction_ops: f64,
    },
}

impl KeyChooser {
    /// A chooser for `dist` over `existing` keys now and about `expected`
    /// keys by the end of the run (the scrambled zipfian spreads its hot
    /// keys over that many). `start` is where a sequential chooser begins.
    pub fn new(dist: &KeyDistribution, existing: u64, expected: u64, start: u64) -> Self {
        let kind = match *dist {
            KeyDistribution::Sequential => Chooser::Sequential { next: start },
            KeyDistribution::Uniform => Chooser::Uniform,
            KeyDistribution::Zipfian { constant } => {
                Chooser::Zipfian(Zipfian::new(existing, constant))
            }
            KeyDistribution::ScrambledZipfian { constant } => Chooser::Scrambled {
                ranks: Zipfian::new(SCRAMBLED_ITEMS, constant),
                space: expected.max(existing).max(1),
            },
            KeyDistribution::Latest { constant } => {
                Chooser::Latest(Zipfian::new(existing, constant))
            }
            KeyDistribution::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            } => Chooser::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            },
        };
        KeyChooser { kind }
    }

    /// A key number in `0..n`, where key numbers `0..n` (`n >= 1`) exist now.
    pub fn next(&mut self, rng: &mut Rng, n: u64) -> u64 {
        let n = n.max(1);
        match &mut self.kind {
            Chooser::Sequential { next } => {
                let k = *next % n;
                *next = k + 1;
                k
            }
            Chooser::Uniform => rng.below(n),
            Chooser::Zipfian(z) => {
                z.grow(n);
                z.sample(rng)
            }
            Chooser::Scrambled { ranks, space } => {
                // More keys than expected (duration mode): widen the space,
                // which moves the hot keys once per doubling.
                while *space < n {
                    *space = space.saturating_mul(2);
                }
                for _ in 0..64 {
                    let k = fnv1a64(ranks.sample(rng)) % *space;
                    if k < n {
                        return k;
                    }
                }
                fnv1a64(ranks.sample(rng)) % n
            }
            Chooser::Latest(z) => {
                z.grow(n);
                n - 1 - z.sample(rng)
            }
            Chooser::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            } => {
                let hot = ((n as f64 * *hot_fraction_keys) as u64).clamp(1, n);
                if hot == n || rng.next_f64() < *hot_fraction_ops {
                    rng.below(hot)
                } else {
                    hot + rng.below(n - hot)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeta_tail_matches_the_exact_sum_and_ycsb_constant() {
        for theta in [0.5, 0.9, 0.99] {
            let n = 3 * ZETA_EXACT_TERMS + 17;
            let exact = zeta_terms(0, n, theta);
            let approx = zeta(n, theta);
            assert!(
                ((exact - approx) / exact).abs() < 1e-12,
                "{theta}: {exact} vs {approx}"
            );
        }
        // YCSB's ScrambledZipfianGenerator.ZETAN: zeta(10^10, 0.99).
        let z = zeta(SCRAMBLED_ITEMS, 0.99);
        assert!((z - 26.469_028_201_783_02).abs() < 1e-9, "{z}");
    }

    #[test]
    fn zipfian_top_ranks_take_their_analytic_shares() {
        let n = 1000;
        let theta = 0.99;
        let z = Zipfian::new(n, theta);
        let mut rng = Rng::new(7, 0);
        let samples = 200_000;
        let mut counts = [0u32; 2];
        for _ in 0..samples {
            let r = z.sample(&mut rng);
            assert!(r < n);
            if r < 2 {
                counts[r as usize] += 1;
            }
        }
        // P(rank 0) = 1/H(n, theta); P(rank 1) = that / 2^theta.
        let p0 = 1.0 / zeta(n, theta);
        let p1 = p0 / 2f64.powf(theta);
        for (got, want) in [(counts[0], p0), (counts[1], p1)] {
            let got = f64::from(got) / f64::from(samples);
            // Binomial sd is under 0.001 here.
            assert!((got - want).abs() < 0.004, "{got:.4} vs analytic {want:.4}");
        }
    }

    #[test]
    fn growing_matches_building_at_the_final_size() {
        let mut a = Zipfian::new(100, 0.9);
        a.grow(5000);
        a.grow(5001);
        a.grow(1_000_000);
        let b = Zipfian::new(1_000_000, 0.9);
        assert!((a.zetan() - b.zetan()).abs() < 1e-9);
        assert_eq!(a.items(), 1_000_000);
    }

    #[test]
    fn sequential_walks_from_its_start_and_wraps() {
        let mut c = KeyChooser::new(&KeyDistribution::Sequential, 10, 10, 8);
        let mut rng = Rng::new(1, 0);
        let got: Vec<u64> = (0..4).map(|_| c.next(&mut rng, 10)).collect();
        assert_eq!(got, [8, 9, 0, 1]);
    }

    #[test]
    fn hotspot_sends_the_hot_share_to_the_hot_set() {
        let d = KeyDistribution::Hotspot {
            hot_fraction_keys: 0.1,
            hot_fraction_ops: 0.9,
        };
        let mut c = KeyChooser::new(&d, 1000, 1000, 0);
        let mut rng = Rng::new(4, 0);
        let hot = (0..100_000)
            .filter(|_| c.next(&mut rng, 1000) < 100)
            .count();
        assert!((hot as f64 / 100_000.0 - 0.9).abs() < 0.01, "{hot}");
    }

    #[test]
    fn scrambled_scatters_popular_keys_and_keeps_them_as_keys_grow() {
        let d = KeyDistribution::ScrambledZipfian { constant: 0.99 };
        let mut c = KeyChooser::new(&d, 1000, 1100, 0);
        let mut rng = Rng::new(5, 0);
        let mut counts = vec![0u32; 1100];
        for i in 0..100_000u64 {
            // Keys are being inserted: 1000 grows to 1100.
            let n = 1000 + i / 1000;
            let k = c.next(&mut rng, n);
            assert!(k < n);
            counts[k as usize] += 1;
        }
        let top = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap_or(0);
        // The hottest key is rank 0's hash, wherever that lands, not key 0.
        assert_eq!(top as u64, fnv1a64(0) % 1100);
        let share = f64::from(counts[top]) / 100_000.0;
        // Rank 0 of 10^10 items takes 1/26.47 = 3.8% (uniform would be 0.09%).
        assert!((share - 1.0 / 26.47).abs() < 0.004, "top share {share}");
    }
}
