//! Key choosers: sequential, uniform, zipfian (YCSB's algorithm), scrambled
//! zipfian, latest and hotspot, over a key space that can grow.

use crate::rng::{fnv1a64, Rng};
use crate::spec::KeyDistribution;

/// YCSB's `ZipfianGenerator` (Gray et al., "Quickly generating
/// billion-record synthetic databases"): ranks 0..n, rank 0 most popular,
/// P(rank i) proportional to 1/(i+1)^theta. The zeta sum grows
/// incrementally when the item count grows.
#[derive(Debug, Clone)]
pub struct Zipfian {
    theta: f64,
    n: u64,
    zetan: f64,
    zeta2: f64,
    alpha: f64,
    eta: f64,
}

/// The generalized harmonic number sum_{i=from+1..=to} 1/i^theta.
fn zeta_range(from: u64, to: u64, theta: f64) -> f64 {
    (from + 1..=to).map(|i| 1.0 / (i as f64).powf(theta)).sum()
}

impl Zipfian {
    /// Over `n >= 1` items with skew `theta` in (0, 1).
    pub fn new(n: u64, theta: f64) -> Self {
        let n = n.max(1);
        let zeta2 = zeta_range(0, 2, theta);
        let zetan = zeta_range(0, n, theta);
        let mut z = Zipfian {
            theta,
            n,
            zetan,
            zeta2,
            alpha: 1.0 / (1.0 - theta),
            eta: 0.0,
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
            self.zetan += zeta_range(self.n, n, self.theta);
            self.n = n;
            self.update_eta();
        }
    }

    /// Items.
    pub fn items(&self) -> u64 {
        self.n
    }

    /// The zeta sum over the current items (for the analytic share of rank 0).
    pub fn zetan(&self) -> f64 {
        self.zetan
    }

    /// A rank in 0..n.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        let u = rng.next_f64();
        let uz = u * self.zetan;
        if uz < 1.0 {
            return 0;
        }
        if uz < 1.0 + 0.5f64.powf(self.theta) {
            return 1.min(self.n - 1);
        }
        let r = (self.n as f64 * (self.eta * u - self.eta + 1.0).powf(self.alpha)) as u64;
        r.min(self.n - 1)
    }
}

/// Chooses key numbers among the existing ones.
#[derive(Debug, Clone)]
pub enum KeyChooser {
    /// In turn.
    Sequential {
        /// Next key number.
        next: u64,
    },
    /// Uniform.
    Uniform,
    /// Zipfian by key number.
    Zipfian(Zipfian),
    /// Zipfian rank hashed onto the key space.
    Scrambled(Zipfian),
    /// Zipfian over age, newest first.
    Latest(Zipfian),
    /// Hot set and cold set.
    Hotspot {
        /// Fraction of keys that are hot.
        hot_keys: f64,
        /// Fraction of operations on hot keys.
        hot_ops: f64,
    },
}

impl KeyChooser {
    /// A chooser for `dist` over `n` existing keys.
    pub fn new(dist: &KeyDistribution, n: u64) -> Self {
        match *dist {
            KeyDistribution::Sequential => KeyChooser::Sequential { next: 0 },
            KeyDistribution::Uniform => KeyChooser::Uniform,
            KeyDistribution::Zipfian { constant } => KeyChooser::Zipfian(Zipfian::new(n, constant)),
            KeyDistribution::ScrambledZipfian { constant } => {
                KeyChooser::Scrambled(Zipfian::new(n, constant))
            }
            KeyDistribution::Latest { constant } => KeyChooser::Latest(Zipfian::new(n, constant)),
            KeyDistribution::Hotspot { hot_keys, hot_ops } => {
                KeyChooser::Hotspot { hot_keys, hot_ops }
            }
        }
    }

    /// A key number in 0..n, where `n >= 1` keys exist now.
    pub fn next(&mut self, rng: &mut Rng, n: u64) -> u64 {
        let n = n.max(1);
        match self {
            KeyChooser::Sequential { next } => {
                let k = *next % n;
                *next = next.wrapping_add(1);
                k
            }
            KeyChooser::Uniform => rng.below(n),
            KeyChooser::Zipfian(z) => {
                z.grow(n);
                z.sample(rng) % n
            }
            KeyChooser::Scrambled(z) => {
                z.grow(n);
                fnv1a64(z.sample(rng)) % n
            }
            KeyChooser::Latest(z) => {
                z.grow(n);
                n - 1 - z.sample(rng) % n
            }
            KeyChooser::Hotspot { hot_keys, hot_ops } => {
                let hot = ((n as f64 * *hot_keys) as u64).clamp(1, n);
                if rng.next_f64() < *hot_ops || hot == n {
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
    fn zipfian_top_key_share_matches_the_analytic_value() {
        let n = 1000;
        let theta = 0.99;
        let z = Zipfian::new(n, theta);
        let mut rng = Rng::new(7, 0);
        let samples = 200_000;
        let top = (0..samples).filter(|_| z.sample(&mut rng) == 0).count();
        let expected = 1.0 / z.zetan();
        let got = top as f64 / samples as f64;
        assert!(
            (got - expected).abs() < 0.01,
            "rank 0 share {got:.4}, analytic {expected:.4}"
        );
        // Rank 1's share is 1/2^theta of rank 0's.
        let mut rng = Rng::new(8, 0);
        let second =
            (0..samples).filter(|_| z.sample(&mut rng) == 1).count() as f64 / samples as f64;
        let expected1 = expected / 2f64.powf(theta);
        assert!(
            (second - expected1).abs() < 0.01,
            "rank 1 share {second:.4}, analytic {expected1:.4}"
        );
    }

    #[test]
    fn growing_matches_building_at_the_final_size() {
        let mut a = Zipfian::new(100, 0.9);
        a.grow(5000);
        let b = Zipfian::new(5000, 0.9);
        assert!((a.zetan() - b.zetan()).abs() < 1e-9);
    }

    #[test]
    fn uniform_is_even() {
        let mut c = KeyChooser::new(&KeyDistribution::Uniform, 100);
        let mut rng = Rng::new(1, 0);
        let mut counts = vec![0u32; 100];
        for _ in 0..200_000 {
            counts[c.next(&mut rng, 100) as usize] += 1;
        }
        let (lo, hi) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        // Expected 2000 per key; binomial sd ~ 44.
        assert!(*lo > 1800 && *hi < 2200, "min {lo} max {hi}");
    }

    #[test]
    fn latest_favours_the_newest_keys() {
        let mut c = KeyChooser::new(&KeyDistribution::Latest { constant: 0.99 }, 10_000);
        let mut rng = Rng::new(3, 0);
        let newest_decile = (0..50_000)
            .filter(|_| c.next(&mut rng, 10_000) >= 9_000)
            .count();
        assert!(newest_decile > 50_000 * 7 / 10, "{newest_decile}");
    }

    #[test]
    fn hotspot_sends_the_hot_share_to_the_hot_set() {
        let d = KeyDistribution::Hotspot {
            hot_keys: 0.1,
            hot_ops: 0.9,
        };
        let mut c = KeyChooser::new(&d, 1000);
        let mut rng = Rng::new(4, 0);
        let hot = (0..100_000)
            .filter(|_| c.next(&mut rng, 1000) < 100)
            .count();
        assert!((hot as f64 / 100_000.0 - 0.9).abs() < 0.01, "{hot}");
    }

    #[test]
    fn scrambled_spreads_popular_keys() {
        let mut c = KeyChooser::new(&KeyDistribution::ScrambledZipfian { constant: 0.99 }, 1000);
        let mut rng = Rng::new(5, 0);
        let mut counts = vec![0u32; 1000];
        for _ in 0..100_000 {
            counts[c.next(&mut rng, 1000) as usize] += 1;
        }
        let top = counts
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .unwrap()
            .0;
        assert_ne!(top, 0, "the most popular key should not be key 0");
        let max = *counts.iter().max().unwrap() as f64 / 100_000.0;
        assert!(max > 0.05, "still skewed: top share {max}");
    }
}
