//! A measured cell's timeline and events as result rows, and the
//! `runs.csv` columns drawn from them (stalls, steadiness, memory).

use results::{EventRow, RunRow, Steadiness, TimelineRow};

use crate::cell::CellMeasurement;
use crate::rows::CellId;

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// The `timeline.csv` and `events.csv` rows of repetition `repetition`.
pub fn of_cell(
    id: &CellId,
    repetition: u32,
    m: &CellMeasurement,
) -> (Vec<TimelineRow>, Vec<EventRow>) {
    let policy = id.policy.to_string();
    let timeline = m
        .timeline
        .intervals
        .iter()
        .map(|i| {
            let len_ms = i.len.as_secs_f64() * 1e3;
            TimelineRow {
                run_id: id.run_id.clone(),
                label: id.label.clone(),
                engine: id.engine.clone(),
                policy: policy.clone(),
                workload: id.workload.clone(),
                threads: id.threads,
                value_size_bytes: id.value_size,
                repetition,
                t_ms: i.start.as_secs_f64() * 1e3,
                interval_ms: len_ms,
                ops: i.ops,
                ops_per_sec: if len_ms > 0.0 {
                    i.ops as f64 * 1e3 / len_ms
                } else {
                    0.0
                },
                p50_us: i.latency_ns.map(|l| us(l.0)),
                p99_us: i.latency_ns.map(|l| us(l.1)),
                max_us: i.latency_ns.map(|l| us(l.2)),
                syncs: i.syncs,
                device_write_bytes: i.device_write_bytes,
                device_flushes: i.device_flushes,
            }
        })
        .collect();
    let events = m
        .timeline
        .events
        .iter()
        .map(|(e, start_ms, end_ms)| EventRow {
            run_id: id.run_id.clone(),
            label: id.label.clone(),
            engine: id.engine.clone(),
            policy: policy.clone(),
            workload: id.workload.clone(),
            threads: id.threads,
            value_size_bytes: id.value_size,
            repetition,
            start_ms: *start_ms,
            end_ms: *end_ms,
            kind: e.kind.name().to_string(),
            detail: e.detail.clone(),
        })
        .collect();
    (timeline, events)
}

/// Fills one repetition's stall, steadiness and memory columns.
pub fn fill_run_row(
    row: &mut RunRow,
    timeline: &[TimelineRow],
    events: &[EventRow],
    m: &CellMeasurement,
) {
    if !timeline.is_empty() {
        let s = Steadiness::of(timeline, events);
        row.stall_count = Some(s.stall_count());
        row.longest_stall_ms = Some(s.longest_stall_ms());
        row.stall_causes = s.causes_summary();
        row.interval_cv = s.interval_cv;
        // `--until-steady` ended the phase because it was steady: that is
        // the answer, whatever the tail interval adds.
        row.steady = if m.timeline.ended_steady {
            Some(true)
        } else {
            s.steady
        };
    }
    if let Some(mem) = m.memory {
        row.rss_start_bytes = Some(mem.start);
        row.peak_rss_bytes = Some(mem.peak);
        row.rss_end_bytes = Some(mem.end);
    }
}

/// The `runs.csv` value of these columns over a cell's repetitions: the
/// worst repetition's stalls (most stalls, longest stall), the causes
/// summed, the median CV, steady only if every judged repetition was,
/// and the highest memory.
pub fn aggregate(row: &mut RunRow, reps: &[RunRow]) {
    row.stall_count = reps.iter().filter_map(|r| r.stall_count).max();
    row.longest_stall_ms = reps
        .iter()
        .filter_map(|r| r.longest_stall_ms)
        .reduce(f64::max);
    row.stall_causes = sum_causes(reps.iter().map(|r| r.stall_causes.as_str()));
    let cvs: Vec<f64> = reps.iter().filter_map(|r| r.interval_cv).collect();
    row.interval_cv = results::median(&cvs);
    let judged: Vec<bool> = reps.iter().filter_map(|r| r.steady).collect();
    row.steady = (!judged.is_empty()).then(|| judged.iter().all(|&s| s));
    row.rss_start_bytes = reps.iter().filter_map(|r| r.rss_start_bytes).max();
    row.peak_rss_bytes = reps.iter().filter_map(|r| r.peak_rss_bytes).max();
    row.rss_end_bytes = reps.iter().filter_map(|r| r.rss_end_bytes).max();
}

/// Adds `cause=n;…` summaries cause by cause, most frequent first.
fn sum_causes<'a>(summaries: impl Iterator<Item = &'a str>) -> String {
    let mut counts: Vec<(String, u64)> = Vec::new();
    for part in summaries
        .flat_map(|s| s.split(';'))
        .filter(|p| !p.is_empty())
    {
        let (cause, n) = part
            .rsplit_once('=')
            .and_then(|(c, n)| Some((c, n.parse::<u64>().ok()?)))
            .unwrap_or((part, 1));
        match counts.iter_mut().find(|(c, _)| c == cause) {
            Some((_, k)) => *k += n,
            None => counts.push((cause.to_string(), n)),
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    counts
        .iter()
        .map(|(c, n)| format!("{c}={n}"))
        .collect::<Vec<_>>()
        .join(";")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_keeps_the_worst_stalls_and_sums_causes() {
        let rep = |stalls: u32, longest: f64, causes: &str, steady: Option<bool>| RunRow {
            stall_count: Some(stalls),
            longest_stall_ms: Some(longest),
            stall_causes: causes.into(),
            steady,
            peak_rss_bytes: Some(u64::from(stalls) * 10),
            ..RunRow::default()
        };
        let reps = [
            rep(1, 300.0, "flush=1", Some(true)),
            rep(3, 200.0, "compaction L0->L1=2;flush=1", Some(false)),
            rep(0, 0.0, "", None),
        ];
        let mut row = RunRow::default();
        aggregate(&mut row, &reps);
        assert_eq!(row.stall_count, Some(3));
        assert_eq!(row.longest_stall_ms, Some(300.0));
        assert_eq!(row.stall_causes, "compaction L0->L1=2;flush=2");
        assert_eq!(row.steady, Some(false));
        assert_eq!(row.peak_rss_bytes, Some(30));
    }

    #[test]
    fn without_timelines_the_columns_stay_empty() {
        let mut row = RunRow::default();
        aggregate(&mut row, &[RunRow::default()]);
        assert_eq!(row.stall_count, None);
        assert_eq!(row.steady, None);
        assert_eq!(row.interval_cv, None);
        assert_eq!(row.peak_rss_bytes, None);
    }
}
