//! Turns a cell's measurement into result rows, and repetitions into medians.

use engines::SyncPolicy;
use hdrhistogram::Histogram;
use results::{EventRow, LatencyRow, ProbeRow, RunRow, Steadiness, TimelineRow, PERCENTILES};

use crate::measure::cell::CellMeasurement;
use crate::measure::probe;

/// Identity of a cell in every row.
#[derive(Debug, Clone)]
pub struct CellId {
    /// Run identifier.
    pub run_id: String,
    /// Host name.
    pub host: String,
    /// Machine/disk label.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: SyncPolicy,
    /// Workload name.
    pub workload: String,
    /// Threads.
    pub threads: u32,
    /// Key size.
    pub key_size: u64,
    /// Mean value size.
    pub value_size: u64,
    /// Workload seed.
    pub seed: u64,
}

impl CellId {
    /// A blank row carrying this identity.
    pub fn row(&self) -> RunRow {
        RunRow {
            run_id: self.run_id.clone(),
            host: self.host.clone(),
            label: self.label.clone(),
            engine: self.engine.clone(),
            policy: self.policy.to_string(),
            workload: self.workload.clone(),
            threads: self.threads,
            key_size_bytes: self.key_size,
            value_size_bytes: self.value_size,
            seed: self.seed,
            ..RunRow::default()
        }
    }

    /// File stem of this cell's hgrm file for `operation` (named by `results`).
    pub fn hgrm_stem(&self, operation: &str) -> String {
        results::hgrm_stem(
            &self.engine,
            &self.policy.to_string(),
            &self.workload,
            self.threads,
            self.value_size,
            operation,
        )
    }

    /// `engine policy workload tN`, for people.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} t{}",
            self.engine, self.policy, self.workload, self.threads
        )
    }

    /// Bytes of one engine record for this cell (shared framing header + key + value).
    pub fn record_bytes(&self) -> u64 {
        engines::record::HEADER_LEN as u64 + self.key_size + self.value_size
    }
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// The facts about the run a row needs beyond the cell's own measurement.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowContext<'a> {
    /// The probe's rows (ceilings).
    pub probe: &'a [ProbeRow],
    /// Device bytes per second written by others before the cell.
    pub background_bytes_per_sec: Option<f64>,
}

/// The `runs.csv` row of one measured repetition.
pub fn run_row(id: &CellId, m: &CellMeasurement, ctx: &RowContext<'_>) -> RunRow {
    let secs = m.elapsed.as_secs_f64().max(1e-9);
    let all = &m.latency.all;
    let q = |h: &Histogram<u64>, p: f64| us(h.value_at_quantile(p));
    let mut row = id.row();
    row.status = CellStatus::Ok.to_string();
    row.ops = m.ops;
    row.duration_s = secs;
    row.ops_per_sec = m.ops as f64 / secs;
    row.ops_per_sec_min = row.ops_per_sec;
    row.ops_per_sec_max = row.ops_per_sec;
    row.mb_per_sec = (m.user_bytes_written + m.user_bytes_read) as f64 / secs / 1e6;
    row.user_bytes_written = m.user_bytes_written;
    row.p50_us = q(all, 0.5);
    row.p90_us = q(all, 0.9);
    row.p99_us = q(all, 0.99);
    row.p99_us_min = row.p99_us;
    row.p99_us_max = row.p99_us;
    row.p999_us = q(all, 0.999);
    row.p9999_us = q(all, 0.9999);
    row.max_us = us(all.max());
    row.mean_us = all.mean() / 1000.0;
    row.latency_sample_every = Some(m.sample_every as u32);
    row.open_loop = m.open_loop;
    row.log_writes = m.log_writes;
    sync_figures(&mut row, m);
    byte_figures(&mut row, m);
    device_figures(&mut row, m, secs, ctx.background_bytes_per_sec);
    row.disk_bytes_end = m.disk_bytes_end;
    row.space_amp = m
        .stats
        .live_keys
        .map(|k| k * (id.key_size + id.value_size))
        .filter(|b| *b > 0)
        .map(|b| ratio(m.disk_bytes_end, b));
    row.cpu_user_s = m.cpu_user_s;
    row.cpu_sys_s = m.cpu_sys_s;
    // The probe's ceiling bounds acknowledged writes, so efficiency compares
    // the cell's write rate with it (reads in mixed workloads ride free).
    // A cell held to its target rate measures the target, not the engine:
    // only an open-loop cell that fell short of its target gets a figure.
    let ceiling = probe::cell_ceiling(ctx.probe, &id.policy, id.record_bytes(), id.threads);
    if let Some(c) = ceiling.filter(|_| m.write_ops > 0) {
        row.ceiling_ops_per_sec = Some(c.ops_per_sec);
        row.ceiling_pattern = c.pattern;
        row.ceiling_threads = c.threads;
        let held_to_target = m.target_rate.is_some_and(|t| row.ops_per_sec >= 0.95 * t);
        if !held_to_target {
            row.efficiency = Some(m.write_ops as f64 / secs / c.ops_per_sec);
        }
    }
    row
}

/// Sync counts and latency, for engines whose syncs the counting Vfs sees;
/// left empty for the others (their syncs were not counted, not zero).
fn sync_figures(row: &mut RunRow, m: &CellMeasurement) {
    if !m.uses_vfs {
        return;
    }
    let file_syncs = m.io.file_syncs();
    row.file_syncs = Some(file_syncs);
    row.dir_syncs = Some(m.io.sync_dir);
    row.writes_per_sync = (file_syncs > 0).then(|| ratio(m.log_writes, file_syncs));
    let sync = &m.io.sync_latency_ns;
    if !sync.is_empty() {
        row.sync_p50_us = Some(us(sync.value_at_quantile(0.5)));
        row.sync_p99_us = Some(us(sync.value_at_quantile(0.99)));
        row.sync_max_us = Some(us(sync.max()));
    }
}

/// Engine bytes on one yardstick for every engine: bytes passed to write
/// calls, from the counting Vfs for ours and from `/proc/self/io` `wchar`
/// for engines that do their own I/O.
fn byte_figures(row: &mut RunRow, m: &CellMeasurement) {
    let (bytes, calls, source) = if m.uses_vfs {
        (Some(m.io.bytes_written), Some(m.io.write_calls), "vfs")
    } else {
        (
            m.proc_io.map(|p| p.wchar),
            m.proc_io.map(|p| p.syscw),
            "proc_wchar",
        )
    };
    row.engine_bytes_written = bytes.unwrap_or(0);
    row.engine_write_calls = calls;
    row.engine_write_amp = ratio(row.engine_bytes_written, m.user_bytes_written);
    row.engine_bytes_by_kind =
        m.io.bytes_by_kind
            .iter()
            .filter(|(_, b)| **b > 0)
            .map(|(k, b)| format!("{k}={b}"))
            .collect::<Vec<_>>()
            .join(";");
    row.engine_bytes_source = if bytes.is_some() {
        source.into()
    } else {
        String::new()
    };
    row.process_write_bytes = m.proc_io.map(|p| p.write_bytes);
}

/// The block device's view: bytes (with the writeback after the cell),
/// write I/Os and flushes (measured phase only), and whether background
/// I/O drowns the cell's own.
fn device_figures(row: &mut RunRow, m: &CellMeasurement, secs: f64, background: Option<f64>) {
    row.device_bytes_written = m.device_bytes;
    row.device_write_amp = m
        .device_bytes
        .filter(|_| m.user_bytes_written > 0)
        .map(|d| ratio(d, m.user_bytes_written));
    if let Some(d) = m.device {
        row.device_write_ios = Some(d.write_ios);
        row.device_flushes = d.flushes;
        row.device_flush_ms = d.flush_ms;
        row.flushes_per_write = d
            .flushes
            .filter(|_| m.write_ops > 0)
            .map(|f| f as f64 / m.write_ops as f64);
    }
    row.background_bytes_per_sec = background;
    row.noisy = m
        .device_bytes
        .zip(background)
        .map(|(bytes, bg)| results::is_noisy(bytes, secs, bg));
}

/// `latency.csv` rows of one cell: every operation type with samples, and
/// syncs. A percentile is left out when fewer than
/// [`results::MIN_TAIL_SAMPLES`] timed operations lie above it (p99.99 of
/// 1,200 operations would only repeat the maximum).
pub fn latency_rows(id: &CellId, m: &CellMeasurement) -> Vec<LatencyRow> {
    let mut rows = Vec::new();
    let named = m
        .latency
        .named()
        .chain(std::iter::once(("sync", &m.io.sync_latency_ns)));
    for (name, h) in named {
        if h.is_empty() {
            continue;
        }
        for &p in PERCENTILES {
            if !results::percentile_supported(h.len(), p) {
                continue;
            }
            let v = if p >= 100.0 {
                h.max()
            } else {
                h.value_at_percentile(p)
            };
            rows.push(LatencyRow {
                run_id: id.run_id.clone(),
                label: id.label.clone(),
                engine: id.engine.clone(),
                policy: id.policy.to_string(),
                workload: id.workload.clone(),
                threads: id.threads,
                value_size_bytes: id.value_size,
                operation: name.to_string(),
                percentile: p,
                latency_us: us(v),
                count: h.len(),
            });
        }
    }
    rows
}

fn median(v: Vec<f64>) -> f64 {
    results::median(&v).unwrap_or(0.0)
}

/// Combines repetitions: each figure is the median over repetitions; ops/s
/// and p99 also get min, max and a 95% confidence interval of the median
/// (method: `results::median_interval`), and ops/s its relative spread.
pub fn aggregate(reps: &[RunRow]) -> RunRow {
    let Some(first) = reps.first() else {
        return RunRow::default();
    };
    let mut row = first.clone();
    row.repetition = reps.len() as u32;
    macro_rules! med_f {
        ($($f:ident),*) => { $( row.$f = median(reps.iter().map(|r| r.$f).collect()); )* };
    }
    macro_rules! med_u {
        ($($f:ident),*) => { $( row.$f = median(reps.iter().map(|r| r.$f as f64).collect()).round() as u64; )* };
    }
    macro_rules! med_opt {
        ($($f:ident),*) => { $(
            let vals: Vec<f64> = reps.iter().filter_map(|r| r.$f).collect();
            row.$f = results::median(&vals);
        )* };
    }
    macro_rules! med_opt_u {
        ($($f:ident),*) => { $(
            let vals: Vec<f64> = reps.iter().filter_map(|r| r.$f.map(|v| v as f64)).collect();
            row.$f = results::median(&vals).map(|v| v.round() as u64);
        )* };
    }
    med_f!(
        duration_s,
        ops_per_sec,
        mb_per_sec,
        p50_us,
        p90_us,
        p99_us,
        p999_us,
        p9999_us,
        max_us,
        mean_us,
        engine_write_amp,
        cpu_user_s,
        cpu_sys_s
    );
    med_u!(
        ops,
        user_bytes_written,
        log_writes,
        engine_bytes_written,
        disk_bytes_end
    );
    med_opt!(
        writes_per_sync,
        sync_p50_us,
        sync_p99_us,
        sync_max_us,
        device_write_amp,
        space_amp,
        efficiency,
        ceiling_ops_per_sec,
        flushes_per_write,
        background_bytes_per_sec
    );
    med_opt_u!(
        file_syncs,
        dir_syncs,
        device_bytes_written,
        process_write_bytes,
        device_write_ios,
        device_flushes,
        device_flush_ms,
        engine_write_calls
    );
    // A cell is noisy when any of its repetitions was.
    row.noisy = reps.iter().filter_map(|r| r.noisy).reduce(|a, b| a || b);
    let ops: Vec<f64> = reps.iter().map(|r| r.ops_per_sec).collect();
    let p99: Vec<f64> = reps.iter().map(|r| r.p99_us).collect();
    let lo_hi = |v: &[f64]| {
        (
            v.iter().copied().fold(f64::INFINITY, f64::min),
            v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        )
    };
    (row.ops_per_sec_min, row.ops_per_sec_max) = lo_hi(&ops);
    (row.p99_us_min, row.p99_us_max) = lo_hi(&p99);
    let ci = results::median_interval(&ops);
    row.ops_per_sec_ci_low = ci.map(|i| i.low);
    row.ops_per_sec_ci_high = ci.map(|i| i.high);
    let ci = results::median_interval(&p99);
    row.p99_us_ci_low = ci.map(|i| i.low);
    row.p99_us_ci_high = ci.map(|i| i.high);
    row.ops_per_sec_spread = (reps.len() > 1 && row.ops_per_sec > 0.0)
        .then(|| (row.ops_per_sec_max - row.ops_per_sec_min) / row.ops_per_sec);
    crate::measure::timeline::rows::aggregate(&mut row, reps);
    row
}

/// A row's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellStatus {
    /// Measured.
    Ok,
    /// The engine or the disk failed; `error` says how.
    Failed,
}

impl std::fmt::Display for CellStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CellStatus::Ok => "ok",
            CellStatus::Failed => "failed",
        })
    }
}

/// The `timeline.csv` and `events.csv` rows of repetition `repetition`.
pub fn timeline_rows(
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
pub fn fill_timeline_columns(
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
    row.warm_ms = m.warm.map(|d| d.as_secs_f64() * 1e3);
    if let Some(mem) = m.memory {
        row.rss_start_bytes = Some(mem.start);
        row.peak_rss_bytes = Some(mem.peak);
        row.rss_end_bytes = Some(mem.end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_takes_medians_and_ranges() {
        let reps: Vec<RunRow> = [3.0, 1.0, 2.0]
            .iter()
            .map(|&x| RunRow {
                ops_per_sec: x * 100.0,
                p99_us: x,
                efficiency: Some(x / 10.0),
                ops: x as u64,
                ..RunRow::default()
            })
            .collect();
        let a = aggregate(&reps);
        assert_eq!(a.ops_per_sec, 200.0);
        assert_eq!((a.ops_per_sec_min, a.ops_per_sec_max), (100.0, 300.0));
        assert_eq!((a.p99_us_min, a.p99_us_max), (1.0, 3.0));
        assert_eq!(a.efficiency, Some(0.2));
        assert_eq!(a.ops, 2);
        assert_eq!(a.repetition, 3);
    }

    #[test]
    fn file_stem_is_safe() {
        let id = CellId {
            run_id: String::new(),
            host: String::new(),
            label: String::new(),
            engine: "wal".into(),
            policy: "batch:32+dir@fsync".parse().unwrap(),
            workload: "ycsb-a".into(),
            threads: 4,
            key_size: 16,
            value_size: 100,
            seed: 1,
        };
        assert_eq!(
            id.hgrm_stem("all"),
            "wal_batch_32-dir_at_fsync_ycsb-a_t4_v100_all"
        );
    }
}
