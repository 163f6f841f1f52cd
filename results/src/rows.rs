//! The rows of the CSV files. Column names carry their units.

use serde::{Deserialize, Serialize};

/// One cell of the matrix (engine x policy x workload x threads x value
/// size): `runs.csv` holds the median over repetitions, `repetitions.csv`
/// one row per repetition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunRow {
    /// Identifier of the whole run (host and start time).
    pub run_id: String,
    /// Host name.
    pub host: String,
    /// The `--label` given for this machine/disk (defaults to the host).
    pub label: String,
    /// Engine name.
    pub engine: String,
    /// Sync policy text form (`always+dir`, ...).
    pub policy: String,
    /// Workload name (preset or TOML file stem).
    pub workload: String,
    /// Client threads.
    pub threads: u32,
    /// Key size.
    pub key_size_bytes: u64,
    /// Value size (the mean for a value-size range).
    pub value_size_bytes: u64,
    /// Workload RNG seed.
    pub seed: u64,
    /// Repetition index (0-based) in `repetitions.csv`; repetitions done in `runs.csv`.
    pub repetition: u32,
    /// `ok`, `failed` or `skipped`.
    pub status: String,
    /// Why the cell failed or was skipped; empty when ok.
    pub error: String,
    /// Operations completed in the measured phase.
    pub ops: u64,
    /// Wall-clock length of the measured phase.
    pub duration_s: f64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Lowest ops/s over repetitions (`runs.csv`).
    pub ops_per_sec_min: f64,
    /// Highest ops/s over repetitions (`runs.csv`).
    pub ops_per_sec_max: f64,
    /// User payload (key + value bytes written and read) per second, in MB/s (10^6).
    pub mb_per_sec: f64,
    /// Key + value bytes the workload wrote.
    pub user_bytes_written: u64,
    /// Latency over all operations: median.
    pub p50_us: f64,
    /// 90th percentile latency.
    pub p90_us: f64,
    /// 99th percentile latency.
    pub p99_us: f64,
    /// Lowest p99 over repetitions.
    pub p99_us_min: f64,
    /// Highest p99 over repetitions.
    pub p99_us_max: f64,
    /// 99.9th percentile latency.
    pub p999_us: f64,
    /// 99.99th percentile latency.
    pub p9999_us: f64,
    /// Largest latency.
    pub max_us: f64,
    /// Mean latency.
    pub mean_us: f64,
    /// Whether latency is measured from the intended start (open loop).
    pub open_loop: bool,
    /// Writes the engine appended to its log (puts, deletes, batches).
    pub log_writes: u64,
    /// File syncs (fdatasync + fsync) seen by the counting Vfs; empty where
    /// the Vfs cannot see them (reference engines), 0 when counted zero.
    pub file_syncs: Option<u64>,
    /// Directory fsyncs seen by the counting Vfs; empty where not counted.
    pub dir_syncs: Option<u64>,
    /// Log writes per file sync (group-commit effectiveness); empty without
    /// syncs or where the Vfs cannot count them (reference engines).
    pub writes_per_sync: Option<f64>,
    /// Median file/dir sync latency; empty where syncs were not counted.
    pub sync_p50_us: Option<f64>,
    /// 99th percentile sync latency.
    pub sync_p99_us: Option<f64>,
    /// Largest sync latency.
    pub sync_max_us: Option<f64>,
    /// Bytes the engine wrote through the Vfs (all file kinds).
    pub engine_bytes_written: u64,
    /// engine_bytes_written / user_bytes_written.
    pub engine_write_amp: f64,
    /// Engine bytes written per file kind, `kind=bytes` joined by `;`.
    pub engine_bytes_by_kind: String,
    /// Where engine_bytes_written came from: `vfs` (counting wrapper) or `proc_io`.
    pub engine_bytes_source: String,
    /// Bytes the block device behind `--disk` wrote during the cell (sectors x 512); empty where there is no block device (tmpfs).
    pub device_bytes_written: Option<u64>,
    /// device_bytes_written / user_bytes_written; empty without a device.
    pub device_write_amp: Option<f64>,
    /// The process's `write_bytes` from /proc/self/io during the cell.
    pub process_write_bytes: Option<u64>,
    /// Bytes of the engine's files at the end of the cell.
    pub disk_bytes_end: u64,
    /// disk_bytes_end / live user bytes at the end (key + value of the live keys).
    pub space_amp: Option<f64>,
    /// User CPU time of the process during the cell.
    pub cpu_user_s: f64,
    /// System CPU time of the process during the cell.
    pub cpu_sys_s: f64,
    /// The probe's ops/s for the same sync primitive/cadence and record size.
    pub ceiling_ops_per_sec: Option<f64>,
    /// Which probe pattern the ceiling comes from.
    pub ceiling_pattern: String,
    /// Write operations per second / ceiling_ops_per_sec (the probe's
    /// ceiling bounds writes; reads in mixed workloads do not count).
    pub efficiency: Option<f64>,
    /// Threads the ceiling was probed with (one writer per file or a shared file).
    #[serde(default)]
    pub ceiling_threads: Option<u32>,
    /// Write I/Os the block device completed during the cell (`/sys/block/*/stat` field 5).
    #[serde(default)]
    pub device_write_ios: Option<u64>,
    /// Flush requests the block device completed during the cell (field 16);
    /// empty where the kernel reports no flush fields.
    #[serde(default)]
    pub device_flushes: Option<u64>,
    /// Time the device spent on flushes during the cell (field 17), in ms.
    #[serde(default)]
    pub device_flush_ms: Option<u64>,
    /// device_flushes per acknowledged write operation.
    #[serde(default)]
    pub flushes_per_write: Option<f64>,
    /// Device bytes per second written by others, sampled in an idle window before the cell.
    #[serde(default)]
    pub background_bytes_per_sec: Option<f64>,
    /// True when the cell's device bytes are under 20x the background
    /// expected over its duration: its device figures are not trustworthy.
    #[serde(default)]
    pub noisy: Option<bool>,
    /// Write system calls (`/proc/self/io` `syscw` for reference engines,
    /// Vfs write calls for ours).
    #[serde(default)]
    pub engine_write_calls: Option<u64>,
    /// Lower end of the 95% confidence interval of the median ops/s (`runs.csv`).
    #[serde(default)]
    pub ops_per_sec_ci_low: Option<f64>,
    /// Upper end of the 95% confidence interval of the median ops/s.
    #[serde(default)]
    pub ops_per_sec_ci_high: Option<f64>,
    /// Lower end of the 95% confidence interval of the median p99.
    #[serde(default)]
    pub p99_us_ci_low: Option<f64>,
    /// Upper end of the 95% confidence interval of the median p99.
    #[serde(default)]
    pub p99_us_ci_high: Option<f64>,
    /// (max - min) / median of ops/s over repetitions; above 0.10 the cell is flagged.
    #[serde(default)]
    pub ops_per_sec_spread: Option<f64>,
    /// Latency was timed for one operation in this many (1 = every operation).
    #[serde(default)]
    pub latency_sample_every: Option<u32>,
    /// Stalls in the timeline: runs of intervals below 10% of the median
    /// interval's ops/s (`runs.csv`: the repetition with the most); empty
    /// without a timeline.
    #[serde(default)]
    pub stall_count: Option<u32>,
    /// The longest stall (`runs.csv`: over every repetition); 0 without stalls.
    #[serde(default)]
    pub longest_stall_ms: Option<f64>,
    /// Stalls by the engine event that overlapped them, `cause=stalls`
    /// joined by `;` (`compaction L0->L1=2;unexplained=1`; `runs.csv`:
    /// summed over repetitions); empty without stalls.
    #[serde(default)]
    pub stall_causes: String,
    /// Standard deviation / mean of per-interval ops/s (`runs.csv`: the
    /// median over repetitions).
    #[serde(default)]
    pub interval_cv: Option<f64>,
    /// Whether the last half of the measured phase passed the steady-state
    /// test (`runs.csv`: every repetition did); empty when too short to judge.
    #[serde(default)]
    pub steady: Option<bool>,
    /// The process's resident set when the cell's high-water mark was reset,
    /// before its engine opened.
    #[serde(default)]
    pub rss_start_bytes: Option<u64>,
    /// Highest resident set of the whole process from the engine's open to
    /// the end of the measured phase (`VmHWM`; `runs.csv`: the highest).
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
    /// Resident set at the end of the measured phase, before close (`VmRSS`).
    #[serde(default)]
    pub rss_end_bytes: Option<u64>,
    /// Milliseconds the engine took to fill its own cache from its files
    /// after the cell's open, before the warm-up (`Engine::warm`; the
    /// reference engines read through the page cache and keep none, so
    /// theirs is empty; `runs.csv`: the longest).
    #[serde(default)]
    pub warm_ms: Option<f64>,
}

/// One latency percentile of one operation type in one cell (`latency.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// Workload.
    pub workload: String,
    /// Threads.
    pub threads: u32,
    /// Value size.
    pub value_size_bytes: u64,
    /// `all`, an operation (`read`, `update`, `insert`, `delete`, `scan`,
    /// `rmw`, `append`) or `sync` (file and directory syncs).
    pub operation: String,
    /// Percentile, 0-100 (100 = max).
    pub percentile: f64,
    /// Latency at that percentile.
    pub latency_us: f64,
    /// Operations recorded for this operation type.
    pub count: u64,
}

/// A cell ceiling's measurement during a run (`ceilings.csv`): the first
/// probe's (round 0), then one at the start of each later repetition round.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CeilingRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// The repetition round it was measured before (0: the first probe).
    pub round: u32,
    /// The probe pattern, as in `probe.csv`.
    pub pattern: String,
    /// Bytes per write.
    pub record_bytes: u64,
    /// Writes per sync (0 for none).
    pub writes_per_sync: u64,
    /// Concurrent writers.
    pub threads: u32,
    /// `per-file` or `shared`; empty for one writer.
    pub layout: String,
    /// `written` or `fallocate` for overwrites; empty for appends.
    pub prepared: String,
    /// This measurement (round 0: the first probe's median round).
    pub ops_per_sec: f64,
    /// Median sync or write latency of this measurement.
    pub p50_us: f64,
    /// The ceiling cells used from this round on: the median of every
    /// measurement so far (the first probe's rounds each count).
    pub pooled_ops_per_sec: f64,
}

/// One access pattern measured by `bench-runner probe` (`probe.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProbeRow {
    /// Run identifier.
    pub run_id: String,
    /// Machine/disk label.
    pub label: String,
    /// `append`, `append+fdatasync`, `append+fsync`, `append+fdatasync/N`,
    /// `create+dirsync`.
    pub pattern: String,
    /// Bytes per write.
    pub record_bytes: u64,
    /// Writes per sync (1 for per-write sync, N for every-N, 0 for none).
    pub writes_per_sync: u64,
    /// Operations timed.
    pub ops: u64,
    /// Operations per second.
    pub ops_per_sec: f64,
    /// Median latency per operation.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Largest.
    pub max_us: f64,
    /// Mean.
    pub mean_us: f64,
    /// Concurrent writers (1 for older files).
    #[serde(default)]
    pub threads: Option<u32>,
    /// `per-file` (each writer its own file) or `shared` (one file, fio's
    /// numjobs on one file); empty for one writer.
    #[serde(default)]
    pub layout: String,
    /// What was overwritten: `written` (a file written and synced once) or
    /// `fallocate` (space reserved with fallocate); empty for appends.
    #[serde(default)]
    pub prepared: String,
    /// Rounds measured (interleaved); ops_per_sec is their median.
    #[serde(default)]
    pub rounds: Option<u32>,
    /// Slowest round.
    #[serde(default)]
    pub ops_per_sec_min: Option<f64>,
    /// Fastest round.
    #[serde(default)]
    pub ops_per_sec_max: Option<f64>,
    /// Device flush requests per sync call; empty without flush counters.
    #[serde(default)]
    pub flushes_per_sync: Option<f64>,
    /// Why these figures may not be durable-write figures, ` | `-separated;
    /// empty when none.
    #[serde(default)]
    pub warning: String,
}

/// One engine x policy x profile line of the crash-verification table
/// (`crash.csv`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CrashRow {
    /// Engine.
    pub engine: String,
    /// Policy.
    pub policy: String,
    /// `posix`, `linux` (simulated power cuts), `process-kill` (real disk,
    /// SIGKILL), with ` N threads` for concurrent lines.
    pub profile: String,
    /// Crash trials run.
    pub trials: u64,
    /// Writes acknowledged before the crashes, summed over trials.
    pub acked_writes: u64,
    /// Trials in which an acknowledged write was lost.
    pub trials_with_loss: u64,
    /// Acknowledged writes lost, summed over trials.
    pub lost_writes: u64,
    /// Files lost (a name that was created but is gone after the crash).
    pub files_lost: u64,
    /// Reads that returned a value never written.
    pub corrupt_reads: u64,
    /// Deleted keys that came back.
    pub resurrected_deletes: u64,
    /// Recoveries that failed (error or panic).
    pub recovery_failures: u64,
    /// Seed of the first trial that broke the policy's promise; empty if none.
    pub first_failing_seed: Option<u64>,
    /// Whether the policy's promise held in every trial.
    pub promise_kept: bool,
    /// Trials with loss by cause, `cause=trials` joined by `;`.
    pub loss_causes: String,
    /// Trials whose losses the policy allows: a policy without `+dir` lost
    /// a never-synced directory entry, or `none` lost unsynced data.
    #[serde(default)]
    pub expected_loss_trials: u64,
    /// Acknowledged writes lost in those trials (the rest of `lost_writes`
    /// broke a promise).
    #[serde(default)]
    pub expected_lost_writes: u64,
    /// `kept`, `lost (no dir sync: expected)`, `lost (no sync: expected)`
    /// or `BROKEN`; empty in files written before this column existed.
    #[serde(default)]
    pub verdict: String,
    /// The first broken promise, described; empty if none.
    #[serde(default)]
    pub first_violation: String,
    /// Exhaustive lines (`crash --exhaustive`): post-crash states checked
    /// (`trials` then counts workloads, and the loss columns count
    /// states); empty for seeded lines.
    #[serde(default)]
    pub states_checked: Option<u64>,
    /// Exhaustive lines: states that broke a promise; empty for seeded lines.
    #[serde(default)]
    pub violations: Option<u64>,
}

/// One combination of the matrix that was not run, and why (`skipped.csv`).
/// An empty `policy` means the skip holds under every policy (the engine
/// cannot run the workload); an empty `workload` means every workload (the
/// engine cannot express the policy).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedRow {
    /// Engine name.
    pub engine: String,
    /// Sync policy text form, or empty for every policy.
    pub policy: String,
    /// Workload name, or empty for every workload.
    pub workload: String,
    /// Why it was not run.
    pub reason: String,
}
