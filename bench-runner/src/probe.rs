//! The disk's own ceilings, measured without an engine, the way fio
//! (`ioengine=sync`) and pg_test_fsync do, for every record size, sync
//! cadence and writer count the run uses.
//!
//! Patterns (`probe.csv` `pattern`):
//!
//! | name | what each writer does |
//! |---|---|
//! | `append` | `write(2)` at the end of a new file, never synced |
//! | `append+fdatasync` / `+fsync` | the same, `fdatasync`/`fsync` after each write |
//! | `append+fdatasync/N` | a sync every N writes |
//! | `overwrite…` | the same cadences, writing into space already allocated: a file written and synced once (`prepared = written`), or reserved with `fallocate` (`prepared = fallocate`), wrapping around at its end |
//! | `create+dirsync` | create a file, fsync its directory |
//!
//! Overwriting allocated space changes no file size, so `fdatasync` has no
//! metadata to write (no journal commit; without a journal, no inode
//! write); appending commits the new size with every sync. Engines that
//! preallocate or recycle their logs (fjall's journal, SQLite's WAL,
//! RocksDB's recycled logs) see the overwrite ceiling, so a cell's ceiling is the best pattern for its
//! cadence, record size and writer count.
//!
//! Several writers run either each on its own file (`layout = per-file`)
//! or all on one file (`shared`, fio's `numjobs` on one file). Each pattern
//! runs `rounds` times, rounds interleaved (round 1 of every pattern, then
//! round 2, ...), so drift on a shared disk spreads over all patterns; the
//! figure is the median round, with the slowest and fastest kept.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use hdrhistogram::Histogram;
use results::{BlockDevice, ProbeRow, SyncDoubt, SyncEvidence};

/// Bytes each writer cycles through when overwriting.
const OVERWRITE_REGION: u64 = 4 << 20;
/// Appends start a new file past this size, so the probe stays bounded.
const APPEND_FILE_LIMIT: u64 = 256 << 20;

/// What to probe.
#[derive(Debug, Clone)]
pub struct ProbePlan {
    /// Bytes per write: the engine record sizes in use, probed at every
    /// writer count.
    pub record_sizes: Vec<u64>,
    /// Sizes probed with one writer only, for reference (4 KiB, fio's default).
    pub reference_sizes: Vec<u64>,
    /// Sync-every-N cadences to probe (from `batch:N` policies).
    pub batches: Vec<u64>,
    /// Whether any policy syncs with `fsync` instead of `fdatasync`.
    pub fsync: bool,
    /// Writer counts (the cells' thread counts; 1 is always probed).
    pub threads: Vec<usize>,
    /// Each round of a pattern runs at least this long...
    pub min_time: Duration,
    /// ...and makes at least this many sync calls (sync patterns).
    pub min_syncs: u64,
    /// Rounds per pattern (the figure is their median).
    pub rounds: u32,
    /// Counters of the device under test, for flushes per sync.
    pub device: Option<BlockDevice>,
    /// Whether the device reports itself rotational.
    pub rotational: Option<bool>,
    /// The device's write-cache mode.
    pub write_cache: Option<String>,
    /// Filesystem type of the disk under test (`tmpfs` syncs nothing).
    pub filesystem: String,
}

impl ProbePlan {
    /// The full run's plan: 1 s and 1,000 syncs per round, 3 rounds.
    pub fn full() -> ProbePlan {
        ProbePlan {
            record_sizes: Vec::new(),
            reference_sizes: vec![4096],
            batches: Vec::new(),
            fsync: false,
            threads: vec![1],
            min_time: Duration::from_secs(1),
            min_syncs: 1000,
            rounds: 3,
            device: None,
            rotational: None,
            write_cache: None,
            filesystem: String::new(),
        }
    }

    /// `--quick`: 0.3 s and 300 syncs per round, still 3 rounds.
    pub fn quick() -> ProbePlan {
        ProbePlan {
            min_time: Duration::from_millis(300),
            min_syncs: 300,
            ..ProbePlan::full()
        }
    }
}

/// The probe a run needs: the record sizes of its workloads (and 4 KiB),
/// the cadences of its policies, its thread counts, and the disk's facts.
pub fn plan_for(
    policies: &[SyncPolicy],
    record_sizes: impl IntoIterator<Item = u64>,
    threads: &[usize],
    quick: bool,
    disk: Option<&results::DiskInfo>,
) -> ProbePlan {
    let mut sizes: Vec<u64> = record_sizes.into_iter().collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut batches: Vec<u64> = policies
        .iter()
        .filter_map(|p| match p.mode {
            SyncMode::Batch(n) => Some(u64::from(n)),
            _ => None,
        })
        .collect();
    batches.sort_unstable();
    batches.dedup();
    ProbePlan {
        record_sizes: sizes,
        batches,
        fsync: policies
            .iter()
            .any(|p| p.primitive == SyncPrimitive::Fsync && p.mode != SyncMode::None),
        threads: threads.to_vec(),
        device: disk
            .and_then(|d| BlockDevice::open(d.device.as_deref()?, d.disk_device.as_deref())),
        rotational: disk.and_then(|d| d.rotational),
        write_cache: disk.and_then(|d| d.write_cache.clone()),
        filesystem: disk.map(|d| d.filesystem.clone()).unwrap_or_default(),
        ..if quick {
            ProbePlan::quick()
        } else {
            ProbePlan::full()
        }
    }
}

/// How a writer gets its bytes onto the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placement {
    Append,
    /// Overwrite space written (and synced) once.
    OverWritten,
    /// Overwrite space reserved with `fallocate`.
    OverFallocated,
}

/// Several writers: each its own file, or all one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    PerFile,
    Shared,
}

/// One measured access pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pattern {
    placement: Placement,
    /// The sync call and how many writes (per writer) between syncs.
    sync: Option<(SyncPrimitive, u64)>,
    threads: usize,
    layout: Layout,
    size: u64,
}

impl Pattern {
    fn name(&self) -> String {
        let base = match self.placement {
            Placement::Append => "append",
            Placement::OverWritten | Placement::OverFallocated => "overwrite",
        };
        match self.sync {
            None => base.into(),
            Some((p, 1)) => format!("{base}+{}", primitive_name(p)),
            Some((p, n)) => format!("{base}+{}/{n}", primitive_name(p)),
        }
    }

    fn writes_per_sync(&self) -> u64 {
        self.sync.map_or(0, |(_, n)| n)
    }

    /// `probe.csv` `layout`: empty for one writer.
    fn layout_name(&self) -> &'static str {
        match (self.threads, self.layout) {
            (1, _) => "",
            (_, Layout::PerFile) => "per-file",
            (_, Layout::Shared) => "shared",
        }
    }

    /// `probe.csv` `prepared`: how overwritten space was laid out.
    fn prepared_name(&self) -> &'static str {
        match self.placement {
            Placement::Append => "",
            Placement::OverWritten => "written",
            Placement::OverFallocated => "fallocate",
        }
    }

    /// Whether `row` is this pattern's row.
    fn is_row(&self, row: &ProbeRow) -> bool {
        row.pattern == self.name()
            && row.record_bytes == self.size
            && row.threads.unwrap_or(1) == self.threads as u32
            && row.layout == self.layout_name()
            && row.prepared == self.prepared_name()
    }

    fn label(&self) -> String {
        format!(
            "{} {} B x{}{}",
            self.name(),
            self.size,
            self.threads,
            match self.layout {
                Layout::Shared if self.threads > 1 => " shared",
                _ => "",
            }
        )
    }
}

fn primitive_name(p: SyncPrimitive) -> &'static str {
    match p {
        SyncPrimitive::Fdatasync => "fdatasync",
        SyncPrimitive::Fsync => "fsync",
    }
}

/// Every pattern the plan needs, in a stable order.
fn patterns(plan: &ProbePlan) -> Vec<Pattern> {
    let mut threads = plan.threads.clone();
    threads.push(1);
    threads.sort_unstable();
    threads.dedup();
    let mut cadences: Vec<Option<(SyncPrimitive, u64)>> =
        vec![None, Some((SyncPrimitive::Fdatasync, 1))];
    for &n in plan.batches.iter().filter(|n| **n > 1) {
        cadences.push(Some((SyncPrimitive::Fdatasync, n)));
        if plan.fsync {
            cadences.push(Some((SyncPrimitive::Fsync, n)));
        }
    }
    let mut sizes: Vec<(u64, &[usize])> = plan
        .record_sizes
        .iter()
        .map(|&s| (s, &threads[..]))
        .collect();
    for &s in &plan.reference_sizes {
        if !plan.record_sizes.contains(&s) {
            sizes.push((s, &[1]));
        }
    }
    sizes.sort_unstable_by_key(|(s, _)| *s);
    let mut out = Vec::new();
    for (size, threads) in sizes {
        for &t in threads {
            let layouts: &[Layout] = if t > 1 {
                &[Layout::PerFile, Layout::Shared]
            } else {
                &[Layout::PerFile]
            };
            for &layout in layouts {
                let mut cad = cadences.clone();
                // fsync per write: always for one writer (the classic
                // figure), for several only when a policy uses it.
                if t == 1 || plan.fsync {
                    cad.insert(2, Some((SyncPrimitive::Fsync, 1)));
                }
                for &sync in &cad {
                    for placement in [Placement::Append, Placement::OverWritten] {
                        out.push(Pattern {
                            placement,
                            sync,
                            threads: t,
                            layout,
                            size,
                        });
                    }
                }
                if t == 1 {
                    out.push(Pattern {
                        placement: Placement::OverFallocated,
                        sync: Some((SyncPrimitive::Fdatasync, 1)),
                        threads: 1,
                        layout,
                        size,
                    });
                }
            }
        }
    }
    out
}

/// One round of one pattern.
#[derive(Debug)]
struct Round {
    ops: u64,
    secs: f64,
    syncs: u64,
    flushes: Option<u64>,
    hist: Histogram<u64>,
}

fn new_hist() -> Histogram<u64> {
    engines::fs::new_latency_histogram()
}

fn us(ns: u64) -> f64 {
    ns as f64 / 1000.0
}

/// Runs every pattern of `plan` in a fresh folder `work` (removed after).
/// `progress` gets one line per pattern and round.
pub fn run(work: &Path, plan: &ProbePlan, mut progress: impl FnMut(&str)) -> Result<Vec<ProbeRow>> {
    fs::create_dir_all(work).with_context(|| format!("create probe folder {}", work.display()))?;
    let result = run_in(work, plan, &mut progress);
    let cleanup = fs::remove_dir_all(work);
    let rows = result?;
    cleanup.with_context(|| format!("remove probe folder {}", work.display()))?;
    Ok(rows)
}

fn run_in(work: &Path, plan: &ProbePlan, progress: &mut dyn FnMut(&str)) -> Result<Vec<ProbeRow>> {
    let pats = patterns(plan);
    let rounds = plan.rounds.max(1);
    let mut measured: Vec<Vec<Round>> = pats.iter().map(|_| Vec::new()).collect();
    for round in 0..rounds {
        for (i, p) in pats.iter().enumerate() {
            progress(&format!(
                "probe {} (round {}/{rounds})",
                p.label(),
                round + 1
            ));
            measured[i].push(measure(work, p, plan)?);
        }
    }
    let mut rows: Vec<ProbeRow> = pats
        .iter()
        .zip(measured)
        .map(|(p, r)| summarize(p, r, plan))
        .collect();
    progress("probe create+dirsync");
    rows.push(create_dirsync(work, plan)?);
    Ok(rows)
}

/// Measures `rows` again, one round each, in a fresh folder `work`
/// (removed after): a run's ceilings at the start of a later round
/// ([`crate::ceilings`]). Rows that are no pattern of `plan`
/// (`create+dirsync`) are left out.
pub fn remeasure(work: &Path, plan: &ProbePlan, rows: &[&ProbeRow]) -> Result<Vec<ProbeRow>> {
    fs::create_dir_all(work).with_context(|| format!("create probe folder {}", work.display()))?;
    let result: Result<Vec<ProbeRow>> = patterns(plan)
        .iter()
        .filter(|p| rows.iter().any(|r| p.is_row(r)))
        .map(|p| Ok(summarize(p, vec![measure(work, p, plan)?], plan)))
        .collect();
    let cleanup = fs::remove_dir_all(work);
    let rows = result?;
    cleanup.with_context(|| format!("remove probe folder {}", work.display()))?;
    Ok(rows)
}

/// The row of one pattern: median round, min and max, merged latency, and
/// the lying-disk checks for per-write syncs.
fn summarize(p: &Pattern, rounds: Vec<Round>, plan: &ProbePlan) -> ProbeRow {
    let rates: Vec<f64> = rounds
        .iter()
        .map(|r| r.ops as f64 / r.secs.max(1e-9))
        .collect();
    let mut hist = new_hist();
    for r in &rounds {
        let _ = hist.add(&r.hist);
    }
    let ops: u64 = rounds.iter().map(|r| r.ops).sum();
    let syncs: u64 = rounds.iter().map(|r| r.syncs).sum();
    let flushes: Option<u64> = rounds.iter().map(|r| r.flushes).sum();
    // The lying-disk checks judge the classic figure: one writer appending
    // with fdatasync after each write.
    let classic = p.threads == 1
        && p.placement == Placement::Append
        && p.sync == Some((SyncPrimitive::Fdatasync, 1));
    let warnings = if classic {
        disk_warnings(plan, syncs, flushes, us(hist.value_at_quantile(0.5)))
    } else {
        Vec::new()
    };
    ProbeRow {
        pattern: p.name(),
        record_bytes: p.size,
        writes_per_sync: p.writes_per_sync(),
        threads: Some(p.threads as u32),
        layout: p.layout_name().into(),
        prepared: p.prepared_name().into(),
        ops,
        ops_per_sec: results::median(&rates).unwrap_or(0.0),
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        p999_us: us(hist.value_at_quantile(0.999)),
        max_us: us(hist.max()),
        mean_us: hist.mean() / 1000.0,
        rounds: Some(rounds.len() as u32),
        ops_per_sec_min: rates.iter().copied().reduce(f64::min),
        ops_per_sec_max: rates.iter().copied().reduce(f64::max),
        flushes_per_sync: flushes
            .filter(|_| syncs > 0)
            .map(|f| f as f64 / syncs as f64),
        warning: SyncDoubt::column(&warnings),
        ..ProbeRow::default()
    }
}

fn disk_warnings(
    plan: &ProbePlan,
    syncs: u64,
    flushes: Option<u64>,
    p50_us: f64,
) -> Vec<SyncDoubt> {
    if matches!(plan.filesystem.as_str(), "tmpfs" | "ramfs") {
        return vec![SyncDoubt::InMemory {
            filesystem: plan.filesystem.clone(),
        }];
    }
    results::lying_disk_doubts(&SyncEvidence {
        syncs,
        flushes,
        sync_p50_us: p50_us,
        rotational: plan.rotational,
        write_cache: match plan.write_cache.as_deref() {
            Some("write through") => Some("write through"),
            Some("write back") => Some("write back"),
            _ => None,
        },
    })
}

/// The files of one round: one per writer, or one shared.
fn prepare(work: &Path, p: &Pattern) -> Result<Vec<PathBuf>> {
    let n = match p.layout {
        Layout::PerFile => p.threads,
        Layout::Shared => 1,
    };
    let region = OVERWRITE_REGION * if n == 1 { p.threads as u64 } else { 1 };
    let mut paths = Vec::new();
    for i in 0..n {
        let path = work.join(format!("probe-{i}"));
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("create {}", path.display()))?;
        match p.placement {
            Placement::Append => {}
            Placement::OverWritten => {
                let chunk = vec![0xa5u8; 1 << 20];
                for off in (0..region).step_by(chunk.len()) {
                    f.write_all_at(&chunk, off)
                        .with_context(|| format!("lay out {}", path.display()))?;
                }
                f.sync_all()
                    .with_context(|| format!("sync {}", path.display()))?;
            }
            Placement::OverFallocated => {
                crate::sys::fallocate(&f, region)
                    .with_context(|| format!("fallocate {}", path.display()))?;
                f.sync_all()
                    .with_context(|| format!("sync {}", path.display()))?;
            }
        }
        paths.push(path);
    }
    if p.placement != Placement::Append {
        // The layout's own syncs must not count as the round's flushes.
        File::open(work)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync directory {}", work.display()))?;
    }
    Ok(paths)
}

/// What one writer did: writes, syncs, latency.
type WriterResult = (u64, u64, Histogram<u64>);

/// One writer's share of a round.
struct Writer<'a> {
    file: &'a File,
    path: &'a Path,
    /// Overwrite: the writer's region `[start, start + len)`.
    region: (u64, u64),
}

fn measure(work: &Path, p: &Pattern, plan: &ProbePlan) -> Result<Round> {
    let paths = prepare(work, p)?;
    let files: Vec<File> = paths
        .iter()
        .map(|path| {
            OpenOptions::new()
                .write(true)
                .append(p.placement == Placement::Append)
                .open(path)
                .with_context(|| format!("open {}", path.display()))
        })
        .collect::<Result<_>>()?;
    let writers: Vec<Writer<'_>> = (0..p.threads)
        .map(|t| {
            let (fi, slot) = match p.layout {
                Layout::PerFile => (t, 0),
                Layout::Shared => (0, t as u64),
            };
            Writer {
                file: &files[fi],
                path: &paths[fi],
                region: (slot * OVERWRITE_REGION, OVERWRITE_REGION),
            }
        })
        .collect();
    let min_syncs_each = if p.sync.is_some() {
        plan.min_syncs.div_ceil(p.threads as u64)
    } else {
        0
    };
    let barrier = Barrier::new(p.threads + 1);
    let results: Mutex<Vec<Result<WriterResult>>> = Mutex::new(Vec::new());
    let (secs, dev0, dev1) = std::thread::scope(|s| {
        for w in &writers {
            let (barrier, results) = (&barrier, &results);
            s.spawn(move || {
                let r = write_loop(w, p, plan.min_time, min_syncs_each, barrier);
                if let Ok(mut v) = results.lock() {
                    v.push(r);
                }
            });
        }
        // Writers warm up, then all start measuring together.
        barrier.wait();
        let dev0 = plan.device.as_ref().and_then(BlockDevice::read);
        let t0 = Instant::now();
        barrier.wait();
        let secs = t0.elapsed().as_secs_f64();
        (secs, dev0, plan.device.as_ref().and_then(BlockDevice::read))
    });
    let mut round = Round {
        ops: 0,
        secs,
        syncs: 0,
        flushes: dev0.zip(dev1).and_then(|(a, b)| b.since(&a).flushes),
        hist: new_hist(),
    };
    let results = results.into_inner().unwrap_or_default();
    for r in results {
        let (ops, syncs, h) = r?;
        round.ops += ops;
        round.syncs += syncs;
        let _ = round.hist.add(&h);
    }
    drop(writers);
    drop(files);
    for path in &paths {
        fs::remove_file(path).with_context(|| format!("remove {}", path.display()))?;
    }
    Ok(round)
}

/// One writer: warm up unrecorded (block allocation and the first journal
/// commits of a new file are slower than the steady state), meet the others
/// at the barrier twice (start, then end of measurement once all are done),
/// and write until both the time and the sync minimum are met.
fn write_loop(
    w: &Writer<'_>,
    p: &Pattern,
    min_time: Duration,
    min_syncs: u64,
    barrier: &Barrier,
) -> Result<WriterResult> {
    let buf = vec![0x5au8; p.size as usize];
    let every = p.writes_per_sync();
    let mut hist = new_hist();
    let (start, len) = w.region;
    let slots = (len / p.size.max(1)).max(1);
    let mut slot = 0u64;
    let mut written = 0u64;
    let mut n = 0u64;
    let mut syncs = 0u64;
    let mut step = |n: &mut u64, syncs: &mut u64| -> Result<()> {
        match p.placement {
            Placement::Append => {
                if written >= APPEND_FILE_LIMIT && p.layout == Layout::PerFile {
                    w.file
                        .set_len(0)
                        .with_context(|| format!("truncate {}", w.path.display()))?;
                    written = 0;
                }
                (&*w.file)
                    .write_all(&buf)
                    .with_context(|| format!("write {}", w.path.display()))?;
                written += p.size;
            }
            _ => {
                w.file
                    .write_all_at(&buf, start + slot * p.size)
                    .with_context(|| format!("write {}", w.path.display()))?;
                slot = (slot + 1) % slots;
            }
        }
        *n += 1;
        if let Some((prim, every)) = p.sync {
            if *n % every == 0 {
                match prim {
                    SyncPrimitive::Fdatasync => w.file.sync_data(),
                    SyncPrimitive::Fsync => w.file.sync_all(),
                }
                .with_context(|| format!("sync {}", w.path.display()))?;
                *syncs += 1;
            }
        }
        Ok(())
    };
    let warm_until = Instant::now() + min_time / 10;
    let mut warm = 0u64;
    let mut warm_syncs = 0u64;
    let mut failed = None;
    while failed.is_none()
        && (Instant::now() < warm_until || warm < 16 || (every > 0 && warm % every != 0))
    {
        failed = step(&mut warm, &mut warm_syncs).err();
    }
    barrier.wait();
    let started = Instant::now();
    while failed.is_none() {
        let t0 = Instant::now();
        if let Err(e) = step(&mut n, &mut syncs) {
            failed = Some(e);
            break;
        }
        let t1 = Instant::now();
        hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
        let cadence_done = every == 0 || n % every == 0;
        if cadence_done && t1 - started >= min_time && syncs >= min_syncs {
            break;
        }
        if t1 - started >= min_time * 10 && cadence_done {
            break;
        }
    }
    barrier.wait();
    match failed {
        Some(e) => Err(e),
        None => Ok((n, syncs, hist)),
    }
}

fn create_dirsync(work: &Path, plan: &ProbePlan) -> Result<ProbeRow> {
    let mut hist = new_hist();
    let dir = File::open(work).with_context(|| format!("open {}", work.display()))?;
    let started = Instant::now();
    let mut ops = 0u64;
    let result = (|| -> Result<()> {
        loop {
            let p = work.join(format!("create-{ops}"));
            File::create(&p).with_context(|| format!("create {}", p.display()))?;
            let t0 = Instant::now();
            dir.sync_all()
                .with_context(|| format!("fsync directory {}", work.display()))?;
            let t1 = Instant::now();
            hist.saturating_record(((t1 - t0).as_nanos() as u64).max(1));
            ops += 1;
            if t1 - started >= plan.min_time && ops >= plan.min_syncs.min(200) {
                return Ok(());
            }
        }
    })();
    for i in 0..ops {
        let _ = fs::remove_file(work.join(format!("create-{i}")));
    }
    result?;
    Ok(ProbeRow {
        pattern: "create+dirsync".into(),
        writes_per_sync: 1,
        ops,
        ops_per_sec: ops as f64 / started.elapsed().as_secs_f64().max(1e-9),
        p50_us: us(hist.value_at_quantile(0.5)),
        p99_us: us(hist.value_at_quantile(0.99)),
        p999_us: us(hist.value_at_quantile(0.999)),
        max_us: us(hist.max()),
        mean_us: hist.mean() / 1000.0,
        threads: Some(1),
        rounds: Some(1),
        ..ProbeRow::default()
    })
}

/// The sync cadence a policy asks of the disk: `None` for no sync, else the
/// primitive and the writes per sync (1 for `always` and `group`).
fn cadence(policy: &SyncPolicy) -> Option<(SyncPrimitive, u64)> {
    match policy.mode {
        SyncMode::None => None,
        SyncMode::Always | SyncMode::Group => Some((policy.primitive, 1)),
        SyncMode::Batch(n) => Some((policy.primitive, u64::from(n))),
    }
}

/// The probe row that bounds a cell: among the rows of the policy's cadence
/// (no sync, a sync per write for `always` and `group`, every N for
/// `batch:N`) and the writer count nearest the cell's threads (equal if
/// probed), those of the record size nearest `record_bytes`; of these the
/// fastest, whatever its placement (append or overwrite) and layout.
pub fn ceiling_for<'a>(
    rows: &'a [ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Option<&'a ProbeRow> {
    let (prefix_ok, every) = match cadence(policy) {
        None => (None, 0),
        Some((p, n)) => (Some(primitive_name(p)), n),
    };
    let matches_cadence = |r: &&ProbeRow| {
        r.writes_per_sync == every
            && r.pattern != "create+dirsync"
            && match prefix_ok {
                None => !r.pattern.contains('+'),
                Some(prim) => r
                    .pattern
                    .split('+')
                    .nth(1)
                    .is_some_and(|s| s.split('/').next() == Some(prim)),
            }
    };
    let candidates: Vec<&ProbeRow> = rows.iter().filter(matches_cadence).collect();
    let t_of = |r: &ProbeRow| r.threads.unwrap_or(1);
    let t = candidates
        .iter()
        .map(|r| t_of(r))
        .min_by_key(|&t| t.abs_diff(threads))?;
    let size = candidates
        .iter()
        .filter(|r| t_of(r) == t)
        .map(|r| r.record_bytes)
        .min_by_key(|s| s.abs_diff(record_bytes))?;
    candidates
        .into_iter()
        .filter(|r| t_of(r) == t && r.record_bytes == size)
        .max_by(|a, b| a.ops_per_sec.total_cmp(&b.ops_per_sec))
}

/// The probe rows [`cell_ceiling`] takes a cell's ceiling from: the best of
/// its cadence, record size and writer count, and for `group` at several
/// writers also the one-writer row its shared commits multiply.
pub fn ceiling_rows<'a>(
    rows: &'a [ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Vec<&'a ProbeRow> {
    let mut out: Vec<&ProbeRow> = ceiling_for(rows, policy, record_bytes, threads)
        .into_iter()
        .collect();
    if policy.mode == SyncMode::Group && threads > 1 {
        if let Some(one) = ceiling_for(rows, policy, record_bytes, 1) {
            if !out.iter().any(|r| std::ptr::eq(*r, one)) {
                out.push(one);
            }
        }
    }
    out
}

/// The ceiling a cell's efficiency is measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct Ceiling {
    /// Acknowledged writes per second.
    pub ops_per_sec: f64,
    /// How it reads in `ceiling_pattern`.
    pub pattern: String,
    /// Writers of the probe pattern (`None`: one).
    pub threads: Option<u32>,
}

/// A cell's ceiling: [`ceiling_for`], except for `group` at T > 1 writers,
/// where one sync acknowledges a whole commit group. T writers each
/// syncing per write bound `always`, but a shared commit beats them (no
/// writer can finish more than one write per sync it waits for, and no
/// sync is faster than a lone writer's): the bound is T times the
/// one-writer per-write ceiling, or the T-writer pattern if that is
/// faster. Read as "the disk's best, had every sync covered every
/// writer's write".
pub fn cell_ceiling(
    rows: &[ProbeRow],
    policy: &SyncPolicy,
    record_bytes: u64,
    threads: u32,
) -> Option<Ceiling> {
    let own = ceiling_for(rows, policy, record_bytes, threads).map(|r| Ceiling {
        ops_per_sec: r.ops_per_sec,
        pattern: describe(r),
        threads: r.threads,
    });
    if policy.mode != SyncMode::Group || threads <= 1 {
        return own;
    }
    let shared = ceiling_for(rows, policy, record_bytes, 1).map(|r| Ceiling {
        ops_per_sec: r.ops_per_sec * f64::from(threads),
        pattern: format!("{} x{threads} shared commits", describe(r)),
        threads: Some(threads),
    });
    match (own, shared) {
        (Some(o), Some(s)) => Some(if s.ops_per_sec > o.ops_per_sec { s } else { o }),
        (o, s) => o.or(s),
    }
}

/// How a ceiling row reads in `ceiling_pattern`.
pub fn describe(r: &ProbeRow) -> String {
    let mut s = format!("{} {} B", r.pattern, r.record_bytes);
    if !r.prepared.is_empty() {
        s.push_str(&format!(" ({})", r.prepared));
    }
    let t = r.threads.unwrap_or(1);
    if t > 1 {
        s.push_str(&format!(" x{t} {}", r.layout));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(threads: Vec<usize>) -> ProbePlan {
        ProbePlan {
            record_sizes: vec![137],
            reference_sizes: Vec::new(),
            batches: vec![32],
            threads,
            min_time: Duration::from_millis(20),
            min_syncs: 4,
            rounds: 2,
            ..ProbePlan::full()
        }
    }

    #[test]
    fn probe_measures_every_pattern_and_cleans_up() {
        let t = tempfile::tempdir().unwrap();
        let rows = run(&t.path().join("p"), &tiny(vec![1]), |_| {}).unwrap();
        let names: Vec<_> = rows
            .iter()
            .map(|r| {
                format!(
                    "{}{}",
                    r.pattern,
                    if r.prepared == "fallocate" {
                        " (fallocate)"
                    } else {
                        ""
                    }
                )
            })
            .collect();
        assert_eq!(
            names,
            [
                "append",
                "overwrite",
                "append+fdatasync",
                "overwrite+fdatasync",
                "append+fsync",
                "overwrite+fsync",
                "append+fdatasync/32",
                "overwrite+fdatasync/32",
                "overwrite+fdatasync (fallocate)",
                "create+dirsync"
            ]
        );
        for r in &rows {
            assert!(r.ops > 0 && r.ops_per_sec > 0.0, "{r:?}");
            assert!(r.p50_us <= r.p99_us && r.p99_us <= r.max_us, "{r:?}");
            if r.pattern != "create+dirsync" {
                assert_eq!(r.rounds, Some(2), "{r:?}");
                let (lo, hi) = (r.ops_per_sec_min.unwrap(), r.ops_per_sec_max.unwrap());
                assert!(lo <= r.ops_per_sec && r.ops_per_sec <= hi, "{r:?}");
            }
            if r.writes_per_sync == 32 {
                // Whole cadences only: at least the sync minimum of 4.
                assert!(r.ops >= 2 * 4 * 32 && r.ops % 32 == 0, "{r:?}");
            }
        }
        assert!(!t.path().join("p").exists(), "probe folder left behind");
    }

    #[test]
    fn several_writers_per_file_and_shared() {
        let t = tempfile::tempdir().unwrap();
        let mut plan = tiny(vec![3]);
        plan.batches.clear();
        plan.rounds = 1;
        let rows = run(&t.path().join("p"), &plan, |_| {}).unwrap();
        let three: Vec<_> = rows.iter().filter(|r| r.threads == Some(3)).collect();
        // none and fdatasync, append and overwrite, per-file and shared.
        assert_eq!(three.len(), 8, "{three:#?}");
        for r in &three {
            assert!(r.layout == "per-file" || r.layout == "shared", "{r:?}");
            if r.writes_per_sync == 1 {
                assert!(r.ops >= 4, "every writer made its syncs: {r:?}");
            }
        }
    }

    fn row(
        pattern: &str,
        size: u64,
        every: u64,
        threads: u32,
        ops: f64,
        prepared: &str,
    ) -> ProbeRow {
        ProbeRow {
            pattern: pattern.into(),
            record_bytes: size,
            writes_per_sync: every,
            threads: Some(threads),
            ops_per_sec: ops,
            prepared: prepared.into(),
            layout: if threads > 1 {
                "per-file".into()
            } else {
                String::new()
            },
            ..ProbeRow::default()
        }
    }

    /// A group commit at T writers can beat T writers that each sync per
    /// write (one sync acknowledges the group): its ceiling is T times the
    /// one-writer per-write rate; at one writer, and for `always`, nothing
    /// changes.
    #[test]
    fn group_cells_are_bounded_by_shared_commits() {
        let rows = vec![
            row("overwrite+fdatasync", 140, 1, 1, 8_000.0, "written"),
            row("append+fdatasync", 140, 1, 16, 30_000.0, ""),
            row("append+fdatasync", 140, 1, 4, 40_000.0, ""),
        ];
        let p = |s: &str| s.parse::<SyncPolicy>().unwrap();
        let g16 = cell_ceiling(&rows, &p("group"), 137, 16).unwrap();
        assert_eq!(g16.ops_per_sec, 128_000.0);
        assert_eq!(
            g16.pattern,
            "overwrite+fdatasync 140 B (written) x16 shared commits"
        );
        assert_eq!(g16.threads, Some(16));
        // Where the T-writer pattern is faster, it stays the bound.
        assert_eq!(
            cell_ceiling(&rows, &p("group"), 137, 4)
                .unwrap()
                .ops_per_sec,
            40_000.0
        );
        assert_eq!(
            cell_ceiling(&rows, &p("group"), 137, 1)
                .unwrap()
                .ops_per_sec,
            8_000.0
        );
        assert_eq!(
            cell_ceiling(&rows, &p("always"), 137, 16)
                .unwrap()
                .ops_per_sec,
            30_000.0
        );
    }

    #[test]
    fn ceiling_is_the_best_pattern_for_cadence_size_and_writers() {
        let rows = vec![
            row("append", 140, 0, 1, 900_000.0, ""),
            row("overwrite", 140, 0, 1, 1_200_000.0, "written"),
            row("append+fdatasync", 140, 1, 1, 5_000.0, ""),
            row("overwrite+fdatasync", 140, 1, 1, 8_000.0, "written"),
            row("overwrite+fdatasync", 140, 1, 1, 7_000.0, "fallocate"),
            row("append+fsync", 140, 1, 1, 4_000.0, ""),
            row("append+fdatasync", 4096, 1, 1, 4_500.0, ""),
            row("overwrite+fdatasync", 4096, 1, 1, 9_000.0, "written"),
            row("append+fdatasync/32", 140, 32, 1, 40_000.0, ""),
            row("overwrite+fdatasync/32", 140, 32, 1, 60_000.0, "written"),
            row("append+fdatasync", 140, 1, 16, 30_000.0, ""),
            row("overwrite+fdatasync", 140, 1, 16, 25_000.0, "written"),
        ];
        let p = |s: &str| s.parse::<SyncPolicy>().unwrap();
        let c = ceiling_for(&rows, &p("always+dir"), 137, 1).unwrap();
        assert_eq!(
            (c.pattern.as_str(), c.prepared.as_str(), c.record_bytes),
            ("overwrite+fdatasync", "written", 140)
        );
        assert_eq!(
            ceiling_for(&rows, &p("none"), 137, 1).unwrap().ops_per_sec,
            1_200_000.0
        );
        assert_eq!(
            ceiling_for(&rows, &p("batch:32"), 137, 1)
                .unwrap()
                .ops_per_sec,
            60_000.0
        );
        assert_eq!(
            ceiling_for(&rows, &p("always@fsync"), 137, 1)
                .unwrap()
                .pattern,
            "append+fsync"
        );
        // 16 writers use the 16-writer rows, even when slower per pattern.
        let c = ceiling_for(&rows, &p("group"), 137, 16).unwrap();
        assert_eq!(
            (c.pattern.as_str(), c.threads),
            ("append+fdatasync", Some(16))
        );
        // No 4-writer rows: the nearest writer count (1) bounds the cell.
        assert_eq!(
            ceiling_for(&rows, &p("always"), 137, 4).unwrap().threads,
            Some(1)
        );
        // A cadence never probed has no ceiling.
        assert!(ceiling_for(&rows, &p("batch:8"), 137, 1).is_none());
        assert_eq!(describe(&rows[3]), "overwrite+fdatasync 140 B (written)");
        assert_eq!(describe(&rows[10]), "append+fdatasync 140 B x16 per-file");
    }
}
