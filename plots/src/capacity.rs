//! Capacity under a latency budget (`capacity.csv`): one chart per
//! workload and budget, "ops/s within p99 <= budget", engines along x,
//! one bar per policy, one panel per thread count; a table with the
//! brackets and the verdicts; and the side-by-side table of `compare`.

use std::fmt::Write as _;

use results::capacity::{CapacityCompareRow, CapacityRow, STATUS_FAILED};
use results::ResultsDir;

use crate::cells::sig;
use crate::chart::{BarPanel, BarSeries, Bars};
use crate::figures::{ordered, slug, thread_word, FigureSet, Styles};
use crate::PlotError;

/// `1000` -> `1ms`, `250` -> `250us`.
fn budget_text(us: f64) -> String {
    if us >= 1e6 && us % 1e6 == 0.0 {
        format!("{}s", us / 1e6)
    } else if us >= 1e3 && us % 1e3 == 0.0 {
        format!("{}ms", us / 1e3)
    } else {
        format!("{us}us")
    }
}

/// `p999` -> `p99.9`.
fn percentile_text(p: &str) -> &str {
    match p {
        "p999" => "p99.9",
        other => other,
    }
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| sig(x, 3))
}

/// The report's capacity section (empty when the folder has no
/// `capacity.csv`): charts, then the table.
pub(crate) fn section(
    rd: &ResultsDir,
    figs: &mut FigureSet,
    styles: &mut Styles,
    corner: &str,
) -> Result<String, PlotError> {
    let rows: Vec<CapacityRow> = results::capacity::load_capacity(rd.root())?;
    if rows.is_empty() {
        return Ok(String::new());
    }
    let mut md = String::from("### Capacity within a latency budget\n\n");
    md.push_str("The highest open-loop rate (operations/s over all client threads, arrivals evenly spaced) at which the percentile, timed from each operation's intended start, stayed within the budget: the low end of the bracket the bisection ended with (the high end was measured over the budget, or is the closed-loop throughput). No bar: the cell missed the budget even at the lowest rate searched (see the table).\n\n");
    let first = figs.figures.len();
    let groups = ordered(rows.iter().map(|r| {
        (
            r.workload.clone(),
            r.percentile.clone(),
            budget_text(r.budget_us),
        )
    }));
    for (workload, percentile, budget) in &groups {
        let group: Vec<&CapacityRow> = rows
            .iter()
            .filter(|r| {
                &r.workload == workload
                    && &r.percentile == percentile
                    && &budget_text(r.budget_us) == budget
            })
            .collect();
        let engines = ordered(group.iter().map(|r| r.engine.clone()));
        let mut policies = ordered(group.iter().map(|r| r.policy.clone()));
        policies.sort_by_cached_key(|p| results::PolicyKey::parse(p));
        let threads = ordered(group.iter().map(|r| r.threads));
        let panels = threads
            .iter()
            .map(|t| BarPanel {
                subtitle: thread_word(*t),
                series: policies
                    .iter()
                    .map(|p| BarSeries {
                        name: p.clone(),
                        intervals: Vec::new(),
                        style: styles.of(p),
                        values: engines
                            .iter()
                            .map(|e| {
                                group
                                    .iter()
                                    .find(|r| &r.engine == e && &r.policy == p && r.threads == *t)
                                    .and_then(|r| r.capacity_ops_per_sec)
                                    .filter(|v| v.is_finite() && *v > 0.0)
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        let pt = percentile_text(percentile);
        figs.bars(
            &format!("capacity_{}_{percentile}_{}", slug(workload), slug(budget)),
            format!("Operations per second each engine and policy sustains with {pt} latency <= {budget} ({workload}), one panel per client-thread count; no bar where the cell missed the budget even at the lowest rate."),
            Bars {
                title: format!("ops/s within {pt} <= {budget}: {workload}"),
                y_label: "operations/s within budget".into(),
                x_label: "engine".into(),
                categories: engines,
                panels,
                log: None,
                reference: None,
                diverging: false,
                corner: corner.to_string(),
                legend_title: "policy".into(),
            },
        )?;
    }
    crate::capacity_curve::charts(rd, figs, corner)?;
    md.push_str(&figs.markdown_since(first, "####"));
    md.push_str(&table(&rows));
    Ok(md)
}

/// The table of every search.
fn table(rows: &[CapacityRow]) -> String {
    let mut m = String::from("| engine | policy | workload | threads | budget | capacity (ops/s) | bracket (ops/s) | percentile at capacity (µs) | closed loop (ops/s) | steps | verdict |\n|---|---|---|---:|---|---:|---|---:|---:|---:|---|\n");
    for r in rows {
        let verdict = if r.status == STATUS_FAILED {
            format!("{}: {}", r.status, r.error.replace('|', "/"))
        } else if r.capacity_ops_per_sec.is_none() {
            format!(
                "{} ({} {} µs at {} ops/s)",
                r.status,
                percentile_text(&r.percentile),
                opt(r.p_at_lowest_us),
                sig(r.lowest_rate_ops_per_sec, 3)
            )
        } else {
            r.status.clone()
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} <= {} | {} | {}..{} | {} | {} | {} | {} |",
            r.engine,
            r.policy,
            r.workload,
            r.threads,
            percentile_text(&r.percentile),
            budget_text(r.budget_us),
            opt(r.capacity_ops_per_sec),
            opt(r.bracket_low_ops_per_sec),
            opt(r.bracket_high_ops_per_sec),
            opt(r.p_at_capacity_us),
            sig(r.closed_loop_ops_per_sec, 3),
            r.steps,
            verdict
        );
    }
    m.push('\n');
    m
}

/// The comparison's capacity table (empty without capacity rows in at
/// least two folders).
pub(crate) fn compare_table(rows: &[CapacityCompareRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut m = String::from("## Capacity within a latency budget\n\nThe same cell and budget in each folder; the first folder is the baseline. A change counts only when the two search brackets do not overlap (the rule ops/s follows with its intervals): overlapping brackets are *within noise*.\n\n| run | engine | policy | workload | threads | budget | capacity (ops/s) | bracket (ops/s) | ratio | change |\n|---|---|---|---|---:|---|---:|---|---:|---|\n");
    for r in rows {
        let capacity = match r.capacity_ops_per_sec {
            Some(c) => sig(c, 3),
            None => r.status.clone(),
        };
        let _ = writeln!(
            m,
            "| {} | {} | {} | {} | {} | {} <= {} | {} | {}..{} | {} | {} |",
            r.label,
            r.engine,
            r.policy,
            r.workload,
            r.threads,
            percentile_text(&r.percentile),
            budget_text(r.budget_us),
            capacity,
            opt(r.bracket_low_ops_per_sec),
            opt(r.bracket_high_ops_per_sec),
            opt(r.capacity_ratio),
            if r.capacity_change.is_empty() {
                "-"
            } else {
                &r.capacity_change
            }
        );
    }
    m.push('\n');
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_and_percentiles_read_as_typed() {
        assert_eq!(budget_text(1000.0), "1ms");
        assert_eq!(budget_text(250.0), "250us");
        assert_eq!(budget_text(2e6), "2s");
        assert_eq!(percentile_text("p999"), "p99.9");
    }

    #[test]
    fn a_missed_budget_is_a_verdict_in_the_table_not_a_number() {
        let r = CapacityRow {
            engine: "wal".into(),
            policy: "always".into(),
            workload: "fillrandom".into(),
            threads: 1,
            percentile: "p99".into(),
            budget_us: 1000.0,
            status: results::capacity::STATUS_MISSES.into(),
            lowest_rate_ops_per_sec: 159.0,
            p_at_lowest_us: Some(11067.0),
            closed_loop_ops_per_sec: 318.0,
            steps: 1,
            ..CapacityRow::default()
        };
        let t = table(&[r]);
        assert!(t.contains("| - | -..- |"), "{t}");
        assert!(
            t.contains("misses budget at lowest rate (p99 11100 µs at 159 ops/s)"),
            "{t}"
        );
    }
}
