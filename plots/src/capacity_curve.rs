//! Latency against offered load (`capacity_steps.csv`): every open-loop
//! step the capacity searches measured, one log-log chart per workload,
//! percentile and thread count, one line per engine x policy, the budgets
//! as dashed rules. It shows what `capacity.csv` cannot: where a cell's
//! tail bends up, and a tail that is higher at a low rate than at a higher
//! one (an idle machine's wake-ups).

use results::{CapacityStepRow, ResultsDir};

use crate::figures::{ordered, slug, thread_word, FigureSet};
use crate::loglog::{render, Line, LogLogChart};
use crate::PlotError;

/// Draws the charts into `figs`; nothing when the folder has no steps.
pub(crate) fn charts(rd: &ResultsDir, figs: &mut FigureSet, corner: &str) -> Result<(), PlotError> {
    if !rd.capacity_steps().exists() {
        return Ok(());
    }
    let steps: Vec<CapacityStepRow> = results::read_csv(&rd.capacity_steps())?;
    let groups = ordered(
        steps
            .iter()
            .map(|s| (s.workload.clone(), s.percentile.clone(), s.threads)),
    );
    for (workload, percentile, threads) in &groups {
        let mine: Vec<&CapacityStepRow> = steps
            .iter()
            .filter(|s| {
                &s.workload == workload && &s.percentile == percentile && s.threads == *threads
            })
            .collect();
        let pairs = ordered(mine.iter().map(|s| (s.engine.clone(), s.policy.clone())));
        let lines = pairs
            .iter()
            .enumerate()
            .map(|(i, (engine, policy))| {
                // Every budget's steps measured the same cell: one curve.
                let mut points: Vec<(f64, f64)> = mine
                    .iter()
                    .filter(|s| &s.engine == engine && &s.policy == policy && s.enough_tail)
                    .filter(|s| s.target_ops_per_sec > 0.0 && s.p_us > 0.0)
                    .map(|s| (s.target_ops_per_sec, s.p_us / 1000.0))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Line {
                    name: format!("{engine} {policy}"),
                    style: i,
                    dashed: false,
                    points,
                }
            })
            .collect();
        let pt = if percentile == "p999" {
            "p99.9"
        } else {
            percentile.as_str()
        };
        let budgets = ordered(mine.iter().map(|s| (s.budget_us * 1000.0).round() as u64));
        let rules = budgets
            .iter()
            .map(|&ns| (ns as f64 / 1e6, format!("budget {} ms", ns as f64 / 1e6)))
            .collect();
        let chart = LogLogChart {
            title: format!(
                "{pt} against offered load: {workload}, {}",
                thread_word(*threads)
            ),
            corner: corner.to_string(),
            x_desc: "target rate, operations/s (log scale)".into(),
            y_desc: format!("{pt} from intended start, ms (log scale)"),
            lines,
            rules,
        };
        if chart.lines.iter().all(|l| l.points.is_empty()) {
            continue;
        }
        figs.drawn(
            &format!("load_{}_{percentile}_t{threads}", slug(workload)),
            chart.title.clone(),
            format!("Every open-loop step of the capacity searches ({workload}, {}): the {pt} latency, timed from each operation's intended start, against the target rate, both axes logarithmic; dashed: the budgets. A curve that bends up is the cell nearing its capacity; one that is higher at the lowest rates than in the middle is the machine waking up from idle (see docs/methodology.md, Capacity).", thread_word(*threads)),
            |base, formats| render(base, &chart, formats),
        )?;
    }
    Ok(())
}
