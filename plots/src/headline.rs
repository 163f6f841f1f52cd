//! The headline: what each sync policy costs each engine, the first thing
//! the report says, with each engine's stalls and memory beside it.

use std::fmt::Write as _;

use results::RunRow;

use crate::cells::{against_none, ops_text, sig};
use crate::figures::{ordered, thread_word};

/// Columns after the policies: each engine's cells of the table summed up.
const SUMMARY: [&str; 4] = ["stalls", "longest stall", "steady", "peak RSS"];
/// Their alignment: numbers right, the steady verdict left.
const SUMMARY_ALIGN: &str = "---:|---:|---|---:|";

/// Stalls, the longest stall, steadiness and peak memory of one engine's
/// cells; each empty (not 0) where no cell recorded it (folders from
/// before the columns existed).
fn summary(cells: &[&RunRow]) -> [String; 4] {
    let stalls = cells
        .iter()
        .filter_map(|r| r.stall_count)
        .reduce(|a, b| a + b)
        .map_or_else(String::new, |n| n.to_string());
    let longest = cells
        .iter()
        .filter_map(|r| r.longest_stall_ms)
        .reduce(f64::max)
        .map_or_else(String::new, |ms| format!("{} ms", sig(ms, 2)));
    let judged: Vec<&&RunRow> = cells.iter().filter(|r| r.steady.is_some()).collect();
    let unsteady: Vec<String> = judged
        .iter()
        .filter(|r| r.steady == Some(false))
        .map(|r| format!("`{}`", r.policy))
        .collect();
    let steady = match (judged.is_empty(), unsteady.is_empty()) {
        (true, _) => String::new(),
        (false, true) => "yes".into(),
        (false, false) => format!("no: {}", unsteady.join(", ")),
    };
    let rss = cells
        .iter()
        .filter_map(|r| r.peak_rss_bytes)
        .max()
        .map_or_else(String::new, |b| {
            format!("{} MiB", sig(b as f64 / f64::from(1u32 << 20), 3))
        });
    [stalls, longest, steady, rss]
}

/// Engines down, policies across: ops/s with its interval, and how it
/// compares with the same engine under `none`; then the engine's stalls,
/// steadiness and peak memory over those cells.
pub(crate) fn headline_md(m: &mut String, runs: &[RunRow]) {
    for (workload, threads) in ordered(runs.iter().map(|r| (r.workload.clone(), r.threads))) {
        let rows: Vec<&RunRow> = runs
            .iter()
            .filter(|r| r.workload == workload && r.threads == threads)
            .collect();
        let mut policies = ordered(rows.iter().map(|r| r.policy.clone()));
        policies.sort_by_cached_key(|p| results::PolicyKey::parse(p));
        let engines = ordered(rows.iter().map(|r| r.engine.clone()));
        let _ = writeln!(
            m,
            "**{workload}, {}**: operations/s, and how each policy compares with the same engine under `none`\n",
            thread_word(threads)
        );
        let _ = writeln!(
            m,
            "| engine | {} | {} |\n|---|{}{}",
            policies
                .iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(" | "),
            SUMMARY.join(" | "),
            "---:|".repeat(policies.len()),
            SUMMARY_ALIGN
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
            let own: Vec<&RunRow> = rows.iter().copied().filter(|r| &r.engine == e).collect();
            let _ = writeln!(
                m,
                "| {e} | {} | {} |",
                cells.join(" | "),
                summary(&own).join(" | ")
            );
        }
        let _ = writeln!(m);
    }
    let _ = writeln!(m, "{INTERVAL_LEGEND} {SUMMARY_LEGEND}\n");
}

/// What `±`, `a..b` and the flag next to ops/s mean.
const INTERVAL_LEGEND: &str = "Operations/s are medians over repetitions. `±` is half the 95% confidence interval of the median, relative to it; `(a..b)` is the interval where it is min..max: no interval was computed, or it ran past the observed range (as it does with 3 repetitions) and was narrowed to it; nothing follows a single repetition. ⚠ marks a cell whose repetitions spread more than 10% ((max - min) / median): rerun it, or read it as a range.";

/// What the columns after the policies mean.
const SUMMARY_LEGEND: &str = "The last columns cover each engine's cells in the row, all policies: *stalls* counts the runs of timeline intervals below 10% of the median interval's ops/s, *longest stall* is the longest of them, *steady* says whether the last half of every cell passed the steady-state test (naming the policies that did not), and *peak RSS* is the highest resident set of the process while any of them ran (MiB). Empty: not recorded by the run that wrote this folder.";

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(policy: &str) -> RunRow {
        RunRow {
            engine: "lsm".into(),
            policy: policy.into(),
            ..RunRow::default()
        }
    }

    #[test]
    fn summary_sums_stalls_keeps_the_worst_and_leaves_unrecorded_figures_empty() {
        let old = cell("none");
        assert_eq!(summary(&[&old, &old]), ["", "", "", ""].map(String::from));
        let mut none = cell("none");
        (none.stall_count, none.longest_stall_ms) = (Some(0), Some(0.0));
        (none.steady, none.peak_rss_bytes) = (Some(true), Some(10 << 20));
        let mut always = cell("always");
        (always.stall_count, always.longest_stall_ms) = (Some(3), Some(1234.0));
        (always.steady, always.peak_rss_bytes) = (Some(false), Some(3 << 19));
        assert_eq!(
            summary(&[&none, &always, &old]),
            ["3", "1200 ms", "no: `always`", "10.0 MiB"].map(String::from)
        );
        // Counted zeros are zeros, not blanks.
        assert_eq!(
            summary(&[&none]),
            ["0", "0 ms", "yes", "10.0 MiB"].map(String::from)
        );
    }
}
