//! The `runs.csv` columns drawn from the timeline (stalls, steadiness,
//! memory) over a cell's repetitions.

use results::RunRow;

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
    row.warm_ms = reps.iter().filter_map(|r| r.warm_ms).reduce(f64::max);
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
