//! Turns a cell's measurement into result rows, and repetitions into medians.

use engines::SyncPolicy;
use hdrhistogram::Histogram;
use results::{LatencyRow, ProbeRow, RunRow, PERCENTILES};

use crate::cell::{CellMeasurement, OP_NAMES};
use crate::probe;

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

    /// File stem for this cell's hgrm files (policy characters made safe).
    pub fn file_stem(&self) -> String {
        let policy = self
            .policy
            .to_string()
            .replace('+', "-")
            .replace('@', "_at_")
            .replace(':', "_");
        format!(
            "{}_{}_{}_t{}_v{}",
            self.engine, policy, self.workload, self.threads, self.value_size
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

/// The `runs.csv` row of one measured repetition.
pub fn run_row(id: &CellId, m: &CellMeasurement, probe_rows: &[ProbeRow]) -> RunRow {
    let secs = m.elapsed.as_secs_f64().max(1e-9);
    let all = &m.latency[0];
    let sync = &m.io.sync_latency_ns;
    let q = |h: &Histogram<u64>, p: f64| us(h.value_at_quantile(p));
    let engine_bytes = m.io.bytes_written;
    let file_syncs = m.io.file_syncs();
    let ceiling = probe::ceiling_for(probe_rows, &id.policy, id.record_bytes());
    let ops_per_sec = m.ops as f64 / secs;
    let live_user = m.stats.live_keys.map(|k| k * (id.key_size + id.value_size));
    let mut row = id.row();
    row.status = "ok".into();
    row.repetition = 0;
    row.ops = m.ops;
    row.duration_s = secs;
    row.ops_per_sec = ops_per_sec;
    row.ops_per_sec_min = ops_per_sec;
    row.ops_per_sec_max = ops_per_sec;
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
    row.open_loop = m.open_loop;
    row.log_writes = m.log_writes;
    if m.uses_vfs {
        row.file_syncs = Some(file_syncs);
        row.dir_syncs = Some(m.io.sync_dir);
        row.writes_per_sync = (file_syncs > 0).then(|| ratio(m.log_writes, file_syncs));
        if !sync.is_empty() {
            row.sync_p50_us = Some(q(sync, 0.5));
            row.sync_p99_us = Some(q(sync, 0.99));
            row.sync_max_us = Some(us(sync.max()));
        }
    }
    // Engines that do their own I/O are not seen by the counting Vfs: their
    // bytes come from the process's /proc/self/io counter instead.
    let (engine_bytes, source) = if m.uses_vfs {
        (engine_bytes, "vfs")
    } else {
        (m.process_write_bytes.unwrap_or(0), "proc_io")
    };
    row.engine_bytes_written = engine_bytes;
    row.engine_write_amp = ratio(engine_bytes, m.user_bytes_written);
    row.engine_bytes_by_kind =
        m.io.bytes_by_kind
            .iter()
            .filter(|(_, b)| **b > 0)
            .map(|(k, b)| format!("{k}={b}"))
            .collect::<Vec<_>>()
            .join(";");
    row.engine_bytes_source = source.into();
    row.device_bytes_written = m.device_bytes;
    row.device_write_amp = m
        .device_bytes
        .filter(|_| m.user_bytes_written > 0)
        .map(|d| ratio(d, m.user_bytes_written));
    row.process_write_bytes = m.process_write_bytes;
    row.disk_bytes_end = m.disk_bytes_end;
    row.space_amp = live_user
        .filter(|b| *b > 0)
        .map(|b| ratio(m.disk_bytes_end, b));
    row.cpu_user_s = m.cpu_user_s;
    row.cpu_sys_s = m.cpu_sys_s;
    // The probe's ceiling bounds writes (appends and their syncs), so
    // efficiency compares the cell's write rate with it; reads are free
    // riders in mixed workloads.
    let writes: u64 = [2usize, 3, 4, 6, 7]
        .iter()
        .map(|&i| m.latency.get(i).map_or(0, |h| h.len()))
        .sum();
    if let Some(c) = ceiling.filter(|_| writes > 0) {
        row.ceiling_ops_per_sec = Some(c.ops_per_sec);
        row.ceiling_pattern = format!("{} {} B", c.pattern, c.record_bytes);
        row.efficiency = Some(writes as f64 / secs / c.ops_per_sec);
    }
    row
}

/// `latency.csv` rows of one cell: every operation type with samples, and syncs.
pub fn latency_rows(id: &CellId, m: &CellMeasurement) -> Vec<LatencyRow> {
    let mut rows = Vec::new();
    let named = OP_NAMES
        .iter()
        .zip(&m.latency)
        .map(|(n, h)| (*n, h))
        .chain(std::iter::once(("sync", &m.io.sync_latency_ns)));
    for (name, h) in named {
        if h.is_empty() {
            continue;
        }
        for &p in PERCENTILES {
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Combines repetitions: each figure is the median over repetitions, with
/// the min and max of ops/s and p99 kept in their own columns.
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
            row.$f = (!vals.is_empty()).then(|| median(vals));
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
        ceiling_ops_per_sec
    );
    let dev: Vec<f64> = reps
        .iter()
        .filter_map(|r| r.device_bytes_written.map(|b| b as f64))
        .collect();
    row.device_bytes_written = (!dev.is_empty()).then(|| median(dev).round() as u64);
    let proc_io: Vec<f64> = reps
        .iter()
        .filter_map(|r| r.process_write_bytes.map(|b| b as f64))
        .collect();
    row.process_write_bytes = (!proc_io.is_empty()).then(|| median(proc_io).round() as u64);
    let med_count = |f: fn(&RunRow) -> Option<u64>| {
        let vals: Vec<f64> = reps.iter().filter_map(|r| f(r).map(|v| v as f64)).collect();
        (!vals.is_empty()).then(|| median(vals).round() as u64)
    };
    row.file_syncs = med_count(|r| r.file_syncs);
    row.dir_syncs = med_count(|r| r.dir_syncs);
    let fold = |f: fn(&RunRow) -> f64, min: bool| {
        reps.iter().map(f).fold(
            if min {
                f64::INFINITY
            } else {
                f64::NEG_INFINITY
            },
            |a, b| if min { a.min(b) } else { a.max(b) },
        )
    };
    row.ops_per_sec_min = fold(|r| r.ops_per_sec, true);
    row.ops_per_sec_max = fold(|r| r.ops_per_sec, false);
    row.p99_us_min = fold(|r| r.p99_us, true);
    row.p99_us_max = fold(|r| r.p99_us, false);
    row
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
        assert_eq!(id.file_stem(), "wal_batch_32-dir_at_fsync_ycsb-a_t4_v100");
    }
}
