//! The headline: what each sync policy costs each engine, the first thing
//! the report says.

use std::fmt::Write as _;

use results::RunRow;

use crate::cells::{against_none, ops_text};
use crate::figures::{ordered, thread_word};

/// Engines down, policies across: ops/s with its interval, and how it
/// compares with the same engine under `none`.
pub(crate) fn headline_md(m: &mut String, runs: &[RunRow]) {
    for (workload, threads) in ordered(runs.iter().map(|r| (r.workload.clone(), r.threads))) {
        let rows: Vec<&RunRow> = runs
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .collect();
        let mut policies = ordered(rows.iter().map(|r| r.policy.clone()));
        policies.sort_by_cached_key(|p| results::compare::durability_rank(p));
        let engines = ordered(rows.iter().map(|r| r.engine.clone()));
        let _ = writeln!(
            m,
            "**{workload}, {}**: operations/s, and how each policy compares with the same engine under `none`\n",
            thread_word(threads)
        );
        let _ = writeln!(
            m,
            "| engine | {} |\n|---|{}",
            policies
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" | "),
            "---:|".repeat(policies.len())
        );
        for e in &engines {
            let none = rows
                .iter()
                .find(|r| &r.engine == e && r.policy == "none")
                .map(|r| r.ops_per_sec)
                .filter(|v| *v > 0.0);
            let cells: Vec<String> = policies
                .iter()
                .map(
                    |p| match rows.iter().find(|r| &r.engine == e && &r.policy == p) {
                        None => "-".into(),
                        Some(r) => match none {
                            Some(n) if p != "none" => {
                                format!("{}, {}", ops_text(r), against_none(r.ops_per_sec / n))
                            }
                            _ => ops_text(r),
                        },
                    },
                )
                .collect();
            let _ = writeln!(m, "| {e} | {} |", cells.join(" | "));
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "{}\n", INTERVAL_LEGEND);
}

/// What `±`, `a..b` and the flag next to ops/s mean.
const INTERVAL_LEGEND: &str = "Operations/s are medians over repetitions. `±` is half the 95% confidence interval of the median, relative to it; `(a..b)` is the interval where it is min..max: no interval was computed, or it ran past the observed range (as it does with 3 repetitions) and was narrowed to it; nothing follows a single repetition. ⚠ marks a cell whose repetitions spread more than 10% ((max - min) / median): rerun it, or read it as a range.";
