//! The timeline against an engine whose stalls are known: it pauses every
//! N operations and reports each pause as an event. The detector must find
//! every pause as a stall named by its event, call periodic pauses steady
//! once the window covers several periods, and growing pauses not steady.
//! Margins hold on a loaded 2-core machine: 300 ms pauses against 100 ms
//! intervals, so each pause empties at least two whole intervals.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bench_runner::measure::cell::run_cell;
use bench_runner::measure::null::Hooked;
use engines::events::{EventKind, Events};
use engines::registry::EngineInfo;
use engines::{Capabilities, Engine, EngineConfig, SyncPolicy};
use results::RunRow;

mod common;

/// Operations between pauses (the periodic engine; the growing one works
/// three times as long, so that its pauses stay under half of the cell and
/// the median interval is one that works).
const EVERY: u64 = 10_000;
/// Time per operation, by the clock: EVERY x WORK is 0.2 s of work per
/// period, on a loaded machine too.
const WORK: Duration = Duration::from_micros(20);
/// The first pause.
const PAUSE: Duration = Duration::from_millis(300);

struct Pausing {
    ops: AtomicU64,
    pauses: AtomicU64,
    /// Operations between pauses.
    every: u64,
    /// Each pause is this much longer than the one before.
    growth: Duration,
    events: Events,
    /// When the current period of work began (the first put, or the end
    /// of the last pause).
    period_start: std::sync::Mutex<Option<Instant>>,
}

impl Pausing {
    fn open(
        config: EngineConfig,
        every: u64,
        growth: Duration,
    ) -> engines::Result<Box<dyn Engine>> {
        let state = Pausing {
            ops: AtomicU64::new(0),
            every,
            pauses: AtomicU64::new(0),
            growth,
            events: config.events,
            period_start: std::sync::Mutex::new(None),
        };
        Ok(Box::new(Hooked::new(
            "pausing",
            Capabilities::default(),
            move |_| state.put(),
        )))
    }

    /// One put: its share of the period's work, then the pause if it is
    /// the period's last.
    fn put(&self) -> engines::Result<()> {
        // Paced by the clock, not by CPU time: the k-th put of a period
        // returns at `period_start + k x WORK` at the earliest, and a put
        // delayed by the scheduler is caught up by the next ones. So every
        // working interval holds the same number of puts on a loaded
        // machine too, and only the pauses make intervals differ.
        let done = self.ops.fetch_add(1, Relaxed) + 1;
        let start = *self
            .period_start
            .lock()
            .unwrap()
            .get_or_insert_with(Instant::now);
        let due = start + WORK * ((done - 1) % self.every + 1) as u32;
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        if done % self.every == 0 {
            let n = self.pauses.fetch_add(1, Relaxed) as u32;
            let mut span = self.events.begin(EventKind::Checkpoint);
            span.detail(|| format!("test pause {n}"));
            std::thread::sleep(PAUSE + self.growth * n);
            drop(span);
            *self.period_start.lock().unwrap() = Some(Instant::now());
        }
        Ok(())
    }
}

static PERIODIC: EngineInfo = EngineInfo::custom(
    "pausing",
    "pauses 300 ms every 10,000 puts",
    Capabilities {
        point_reads: false,
        range_scans: false,
        deletes: false,
        replay: false,
    },
    |c| Pausing::open(c, EVERY, Duration::ZERO),
);

static GROWING: EngineInfo = EngineInfo::custom(
    "pausing-growing",
    "pauses 300 ms every 30,000 puts, 150 ms longer each time",
    Capabilities {
        point_reads: false,
        range_scans: false,
        deletes: false,
        replay: false,
    },
    |c| Pausing::open(c, 3 * EVERY, Duration::from_millis(150)),
);

/// One cell at a time: the engine's work is CPU time, and cells running
/// side by side would slow each other unevenly (a trend no engine made).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs one cell of `engine` for `seconds` (with `--until-steady` when
/// `until_steady`) and returns its row, timeline and events.
fn run(
    engine: &'static EngineInfo,
    seconds: f64,
    until_steady: bool,
) -> (RunRow, Vec<results::TimelineRow>, Vec<results::EventRow>) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let tmp = tempfile::tempdir().unwrap();
    let mut workload = workloads::preset("fillrandom").unwrap();
    workload.threads = 1;
    workload.operation_count = None;
    workload.duration_secs = Some(seconds);
    let plan = common::none_cell(
        engine,
        workload,
        until_steady.then(|| Duration::from_secs_f64(seconds)),
    );
    let stop = AtomicBool::new(false);
    let m = run_cell(&tmp.path().join("cell"), &plan, &stop, None).unwrap();
    let id = bench_runner::output::rows::CellId {
        run_id: "r".into(),
        host: "h".into(),
        label: "l".into(),
        engine: engine.name.into(),
        policy: SyncPolicy::NONE,
        workload: "fillrandom".into(),
        threads: 1,
        key_size: 16,
        value_size: 100,
        seed: 0,
    };
    let mut row = bench_runner::output::rows::run_row(&id, &m, &Default::default());
    let (tl, ev) = bench_runner::output::rows::timeline_rows(&id, 0, &m);
    bench_runner::output::rows::fill_timeline_columns(&mut row, &tl, &ev, &m);
    (row, tl, ev)
}

/// Pauses that ended inside the measured phase (a pause cut by its end
/// may be too short to stall).
fn whole_pauses(events: &[results::EventRow], row: &RunRow) -> usize {
    events
        .iter()
        .filter(|e| e.start_ms >= 0.0 && e.end_ms <= row.duration_s * 1e3 - 100.0)
        .count()
}

#[test]
fn periodic_pauses_are_every_one_a_named_stall_and_the_cell_is_steady() {
    let (row, tl, events) = run(&PERIODIC, 8.0, false);
    let ops: u64 = tl.iter().map(|t| t.ops).sum();
    assert_eq!(ops, row.ops, "the intervals hold every operation");
    let expected = (row.duration_s * 10.0).round() as usize;
    assert_eq!(
        tl.len(),
        expected,
        "{} s of 100 ms intervals",
        row.duration_s
    );
    eprintln!(
        "{} ops in {} s, {} events",
        row.ops,
        row.duration_s,
        events.len()
    );
    let pauses = whole_pauses(&events, &row);
    assert!(pauses >= 8, "{pauses} pauses in 8 s");
    let stalls = row.stall_count.unwrap() as usize;
    assert!(
        stalls >= pauses && stalls <= events.len(),
        "{stalls} stalls for {pauses} whole pauses ({} events): {:?}",
        events.len(),
        tl.iter().map(|t| t.ops).collect::<Vec<_>>()
    );
    assert_eq!(row.stall_causes, format!("checkpoint={stalls}"));
    let longest = row.longest_stall_ms.unwrap();
    assert!(
        (200.0..=500.0).contains(&longest),
        "longest stall {longest} ms"
    );
    assert_eq!(
        row.steady,
        Some(true),
        "cv {:?} {:?}",
        row.interval_cv,
        tl.iter().map(|t| t.ops).collect::<Vec<_>>()
    );
}

#[test]
fn growing_pauses_are_not_steady_even_given_time() {
    let (row, tl, events) = run(&GROWING, 8.0, true);
    assert!(
        row.duration_s >= 7.9,
        "ran {} s: never steady",
        row.duration_s
    );
    let pauses = whole_pauses(&events, &row);
    assert!(pauses >= 4, "{pauses} pauses");
    assert!(row.stall_count.unwrap() as usize >= pauses);
    assert!(
        row.stall_causes.starts_with("checkpoint="),
        "{}",
        row.stall_causes
    );
    assert_eq!(
        row.steady,
        Some(false),
        "{:?}",
        tl.iter().map(|t| t.ops).collect::<Vec<_>>()
    );
}

#[test]
fn until_steady_ends_a_periodic_cell_once_steady() {
    let (row, tl, _) = run(&PERIODIC, 40.0, true);
    assert_eq!(row.steady, Some(true));
    assert!(
        row.duration_s < 30.0,
        "steady periodic pauses should end the cell well before 40 s, ran {} s",
        row.duration_s
    );
    let ops: u64 = tl.iter().map(|t| t.ops).sum();
    assert_eq!(ops, row.ops);
}
