//! The capacity search, without any measuring: given a probe (rate ->
//! measured percentile), find the highest rate whose percentile stays
//! within the budget, between a low rate and the closed-loop throughput.
//!
//! Latency is not always lowest at the lowest rate. On a VM an fsync issued
//! into an idle machine waits for a halted vCPU to wake on its completion:
//! `wal always`, 1 thread, measured p99 1,281 us at 120 ops/s and well under
//! 1 ms at thousands. A bisection that starts by asking "is the lowest rate
//! within?" reports such a cell as missing a 1 ms budget that it meets at
//! 5,000 ops/s. So the search first measures a geometric grid of
//! [`GRID`] rates from the low rate to the throughput, top down, and then
//! bisects between the highest grid rate within the budget and the grid
//! rate above it. Below the highest rate within, lower rates are not
//! measured: the answer is the highest rate within, whatever lies under it.
//!
//! The bisection is geometric (the next rate is `sqrt(low * high)`): the
//! bracket shrinks by the same factor at every step wherever the capacity
//! lies, so 6 steps over one grid interval of a 100x range (4.6x) leave a
//! bracket 4.6^(1/64) = 1.024 wide.
//!
//! A measurement without enough operations above the percentile (see
//! [`results::percentile_supported`]) cannot show the cell within the
//! budget, so it counts as over it.

/// What one open-loop measurement gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    /// The latency percentile searched for (µs), from intended start times.
    pub p_us: f64,
    /// Operations timed.
    pub ops: u64,
    /// Whether `ops` supports the percentile (>= 5 operations above it).
    pub enough_tail: bool,
}

/// One step of a search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The target rate (ops/s over all threads).
    pub rate: f64,
    /// What was measured.
    pub measured: Measured,
    /// Whether it was within the budget.
    pub within: bool,
}

/// How a search ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The capacity lies between the bracket's ends.
    Within,
    /// Within the budget even at the closed-loop throughput.
    AtClosedLoop,
    /// Over the budget at every grid rate, the lowest included: no capacity.
    MissesAtLowest,
}

impl Verdict {
    /// The `status` column of `capacity.csv`.
    pub fn status(self) -> &'static str {
        match self {
            Verdict::Within => results::capacity::STATUS_WITHIN,
            Verdict::AtClosedLoop => results::capacity::STATUS_AT_CLOSED_LOOP,
            Verdict::MissesAtLowest => results::capacity::STATUS_MISSES,
        }
    }
}

/// The result of a search.
#[derive(Debug, Clone, PartialEq)]
pub struct Capacity {
    /// How it ended.
    pub verdict: Verdict,
    /// Highest rate measured within the budget (None: missed at the lowest).
    pub low: Option<f64>,
    /// Lowest rate measured over the budget, or the closed-loop throughput.
    pub high: f64,
    /// Every measurement, in order.
    pub steps: Vec<Step>,
}

impl Capacity {
    /// The capacity: the highest rate measured within the budget.
    pub fn rate(&self) -> Option<f64> {
        self.low
    }

    /// The percentile measured at the capacity rate.
    pub fn p_at_capacity_us(&self) -> Option<f64> {
        let low = self.low?;
        self.steps
            .iter()
            .find(|s| s.rate == low && s.within)
            .map(|s| s.measured.p_us)
    }

    /// The step at the lowest rate measured (the grid stops going down at
    /// its first rate within the budget).
    pub fn lowest(&self) -> Option<&Step> {
        self.steps.iter().min_by(|a, b| a.rate.total_cmp(&b.rate))
    }
}

/// Where and how long to search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bounds {
    /// The lowest rate tried (> 0).
    pub low: f64,
    /// The closed-loop throughput (> low).
    pub high: f64,
    /// Bisection steps between the two (the ends are measured besides).
    pub steps: u32,
    /// The budget of the percentile (µs).
    pub budget_us: f64,
}

/// Rates of the grid measured before the bisection, both ends included.
pub const GRID: u32 = 4;

/// Searches with `probe`, which measures the cell at a target rate. The
/// probe's error (a failed cell) ends the search.
pub fn search<E>(
    bounds: Bounds,
    mut probe: impl FnMut(f64) -> Result<Measured, E>,
) -> Result<Capacity, E> {
    let mut steps = Vec::new();
    let mut step = |rate: f64, steps: &mut Vec<Step>| -> Result<bool, E> {
        let measured = probe(rate)?;
        let within = measured.enough_tail && measured.p_us <= bounds.budget_us;
        steps.push(Step {
            rate,
            measured,
            within,
        });
        Ok(within)
    };
    // The grid, top down: the first rate within is the highest.
    let ratio = (bounds.high / bounds.low).powf(1.0 / f64::from(GRID - 1));
    let grid: Vec<f64> = (0..GRID)
        .map(|i| match i {
            0 => bounds.low,
            i if i == GRID - 1 => bounds.high,
            i => bounds.low * ratio.powi(i as i32),
        })
        .collect();
    let mut above = None;
    let mut within = None;
    for &rate in grid.iter().rev() {
        if step(rate, &mut steps)? {
            within = Some(rate);
            break;
        }
        above = Some(rate);
    }
    let Some(mut low) = within else {
        return Ok(Capacity {
            verdict: Verdict::MissesAtLowest,
            low: None,
            high: bounds.low,
            steps,
        });
    };
    let Some(mut high) = above else {
        return Ok(Capacity {
            verdict: Verdict::AtClosedLoop,
            low: Some(bounds.high),
            high: bounds.high,
            steps,
        });
    };
    for _ in 0..bounds.steps {
        let mid = (low * high).sqrt();
        if step(mid, &mut steps)? {
            low = mid;
        } else {
            high = mid;
        }
    }
    Ok(Capacity {
        verdict: Verdict::Within,
        low: Some(low),
        high,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;

    fn bounds(budget_us: f64) -> Bounds {
        Bounds {
            low: 100.0,
            high: 10_000.0,
            steps: 6,
            budget_us,
        }
    }

    fn at(p_us: f64) -> Result<Measured, Infallible> {
        Ok(Measured {
            p_us,
            ops: 1000,
            enough_tail: true,
        })
    }

    /// M/D/1-like: latency rises without bound as the rate nears 1/service.
    fn queue(service_us: f64) -> impl Fn(f64) -> Result<Measured, Infallible> {
        move |rate| {
            let rho = rate * service_us / 1e6;
            at(if rho >= 1.0 {
                1e9
            } else {
                service_us * (1.0 + rho / (2.0 * (1.0 - rho)) * 4.6)
            })
        }
    }

    fn crossing(model: impl Fn(f64) -> Result<Measured, Infallible>, budget: f64) -> f64 {
        // The true capacity by a fine scan of the model.
        let mut r = 100.0f64;
        while model(r * 1.0001).unwrap().p_us <= budget {
            r *= 1.0001;
        }
        r
    }

    #[test]
    fn a_monotone_model_is_bracketed_within_the_step_resolution() {
        let model = queue(200.0); // saturates at 5,000 ops/s
        let budget = 1000.0;
        let truth = crossing(queue(200.0), budget);
        let Ok(c) = search(bounds(budget), &model);
        assert_eq!(c.verdict, Verdict::Within);
        let (low, high) = (c.low.unwrap(), c.high);
        assert!(low <= truth && truth <= high, "{low} {truth} {high}");
        // 6 geometric steps over one grid interval (100^(1/3)).
        assert!(
            high / low <= 100f64.powf(1.0 / 3.0 / 64.0) + 1e-9,
            "{low} {high}"
        );
        // The grid from the top down to the first rate within, then 6.
        assert!(c.steps.len() <= GRID as usize + 6, "{}", c.steps.len());
        assert!(c.p_at_capacity_us().unwrap() <= budget);
        assert!((c.rate().unwrap() - truth).abs() / truth < 0.15);
    }

    #[test]
    fn more_steps_narrow_the_bracket() {
        let budget = 1000.0;
        let Ok(c) = search(
            Bounds {
                steps: 12,
                ..bounds(budget)
            },
            queue(200.0),
        );
        assert!(c.high / c.low.unwrap() < 1.002);
    }

    #[test]
    fn noise_moves_the_answer_by_no_more_than_the_noise() {
        // +-10% deterministic noise on the latency.
        let mut n = 0u64;
        let noisy = |rate: f64| {
            n = n
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let jitter = 0.9 + 0.2 * ((n >> 11) as f64 / (1u64 << 53) as f64);
            let clean = queue(200.0)(rate).unwrap();
            at(clean.p_us * jitter)
        };
        let budget = 1000.0;
        let Ok(c) = search(bounds(budget), noisy);
        // Within budget under the worst noise .. over it under the best.
        let lo = crossing(|r| at(queue(200.0)(r).unwrap().p_us * 1.1), budget);
        let hi = crossing(|r| at(queue(200.0)(r).unwrap().p_us * 0.9), budget);
        let rate = c.rate().unwrap();
        assert!(rate >= lo * 0.93 && rate <= hi * 1.0001, "{lo} {rate} {hi}");
    }

    #[test]
    fn never_within_budget_is_a_verdict_not_a_number() {
        let Ok(c) = search(bounds(10.0), queue(200.0));
        assert_eq!(c.verdict, Verdict::MissesAtLowest);
        assert_eq!(c.rate(), None);
        assert_eq!(c.p_at_capacity_us(), None);
        assert_eq!(c.steps.len(), GRID as usize, "the grid, nothing to bisect");
        assert_eq!(c.verdict.status(), "misses budget at lowest rate");
    }

    #[test]
    fn always_within_budget_stops_at_the_closed_loop_rate() {
        let Ok(c) = search(bounds(1e12), queue(200.0));
        assert_eq!(c.verdict, Verdict::AtClosedLoop);
        assert_eq!(c.rate(), Some(10_000.0));
        assert_eq!(c.steps.len(), 1, "the top of the grid is within");
    }

    /// What broke: on a VM, latency at the lowest rate was above the budget
    /// (an fsync into an idle machine waits for a halted vCPU) while
    /// thousands of ops/s were within it, and the search stopped at the
    /// lowest rate with "misses budget".
    #[test]
    fn slow_at_the_lowest_rate_does_not_hide_a_capacity_above_it() {
        let budget = 1000.0;
        let u_shaped = |rate: f64| {
            let idle_penalty = if rate < 500.0 { 1500.0 } else { 0.0 };
            at(queue(200.0)(rate).unwrap().p_us + idle_penalty)
        };
        let Ok(c) = search(bounds(budget), u_shaped);
        assert_eq!(c.verdict, Verdict::Within, "{c:?}");
        let truth = crossing(queue(200.0), budget);
        let (low, high) = (c.low.unwrap(), c.high);
        assert!(low <= truth && truth <= high, "{low} {truth} {high}");
        assert!(c.p_at_capacity_us().unwrap() <= budget);
    }

    #[test]
    fn a_percentile_without_tail_samples_does_not_count_as_within() {
        let thin = |_rate: f64| {
            Ok::<_, Infallible>(Measured {
                p_us: 1.0,
                ops: 10,
                enough_tail: false,
            })
        };
        let Ok(c) = search(bounds(1000.0), thin);
        assert_eq!(c.verdict, Verdict::MissesAtLowest);
    }

    #[test]
    fn a_failed_measurement_ends_the_search() {
        let mut calls = 0;
        let r = search(bounds(1000.0), |rate| {
            calls += 1;
            if rate > 100.0 {
                Err("disk full")
            } else {
                Ok(Measured {
                    p_us: 1.0,
                    ops: 1000,
                    enough_tail: true,
                })
            }
        });
        assert_eq!(r, Err("disk full"));
        assert_eq!(calls, 1, "the first step, at the top, failed");
    }
}
