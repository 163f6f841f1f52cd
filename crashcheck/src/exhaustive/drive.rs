//! One exhaustive workload run ([`drive`]): the steps on a fresh
//! simulated filesystem that keeps a crash image at every operation
//! boundary, with each write's start and return boundaries and the
//! boundaries at which explicit syncs returned, so the checker can tell
//! what was acknowledged at any crash instant. Two racing puts release the
//! second writer inside the first one's sync ([`crate::race`]).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};

use engines::fs::{CrashImage, SimFs, Vfs};
use engines::{Engine, Error};

use super::{ExhaustiveSpec, Step};
use crate::race::{Race, RaceFs};
use crate::workload::{key_bytes, open_guarded, trial_config, value_bytes};

/// Value padding: records of about 160 bytes, so the fourth record of a
/// log straddles a 512-byte sector (and can tear) while an entry still fits
/// a 512-byte btree page (at most 164 bytes with its overhead).
const PAD: usize = 130;

/// One write of a workload run.
#[derive(Debug)]
pub(super) struct Write {
    pub(super) key: u64,
    /// `None` for a delete.
    pub(super) version: Option<u64>,
    /// Boundaries before it started and when it returned.
    pub(super) begin: u64,
    pub(super) end: u64,
    pub(super) ok: bool,
}

/// A workload run: its writes, the boundaries at which explicit syncs
/// returned `Ok`, the crash images, and the first error.
#[derive(Debug, Default)]
pub(super) struct Run {
    pub(super) writes: Vec<Write>,
    pub(super) syncs: Vec<u64>,
    pub(super) images: Vec<CrashImage>,
    pub(super) error: Option<String>,
}

pub(super) fn guarded<T>(f: impl FnOnce() -> engines::Result<T>) -> engines::Result<T> {
    catch_unwind(AssertUnwindSafe(f))
        .unwrap_or_else(|_| Err(Error::InvalidConfig("the engine panicked".into())))
}

fn write(engine: &dyn Engine, key: u64, version: Option<u64>) -> engines::Result<()> {
    guarded(|| match version {
        Some(v) => engine.put(&key_bytes(key), &value_bytes(key, v, PAD)),
        None => engine.delete(&key_bytes(key)),
    })
}

/// Runs `steps` on a fresh simulated filesystem that keeps a crash image at
/// every operation boundary.
pub(super) fn drive(spec: &ExhaustiveSpec, steps: &[Step]) -> Run {
    let sim = SimFs::new(spec.profile);
    let race = Arc::new(Race::default());
    let base: Arc<dyn Vfs> = Arc::new(sim.clone());
    let base = spec.wrap.map_or(base.clone(), |w| w(base));
    let vfs: Arc<dyn Vfs> = Arc::new(RaceFs::new(base, race.clone()));
    let open = || open_guarded(spec.engine, trial_config(vfs.clone(), spec.policy));
    sim.capture_crash_points();
    let mut run = Run::default();
    let mut engine = match open() {
        Ok(e) => Some(e),
        Err(e) => {
            run.error = Some(format!("first open failed: {e}"));
            None
        }
    };
    let mut version = 0;
    for step in steps {
        if *step == Step::Reopen {
            let Some(old) = engine.take() else {
                break;
            };
            let closed = guarded(|| old.close());
            drop(old);
            let reopened = closed.and_then(|()| {
                open().map_err(|why| Error::InvalidConfig(format!("reopen failed: {why}")))
            });
            match reopened {
                Ok(e) => engine = Some(e),
                Err(why) => {
                    run.error = Some(format!("{step} failed: {why}"));
                    break;
                }
            }
            continue;
        }
        let Some(e) = engine.as_deref() else {
            break;
        };
        let begin = sim.boundaries();
        let result = match *step {
            Step::Put(k) | Step::Delete(k) => {
                version += 1;
                let v = matches!(step, Step::Put(_)).then_some(version);
                let r = write(e, k, v);
                run.writes.push(Write {
                    key: k,
                    version: v,
                    begin,
                    end: sim.boundaries(),
                    ok: r.is_ok(),
                });
                r
            }
            Step::Sync => {
                let r = guarded(|| e.sync());
                if r.is_ok() {
                    run.syncs.push(sim.boundaries());
                }
                r
            }
            Step::Maintain => guarded(|| e.maintain()),
            Step::Reopen => Ok(()), // done above: it replaces the engine
            Step::RacingPuts => {
                version += 2;
                let (first, second) = racing_puts(e, &sim, &race, version - 1, version);
                for (key, v, (r, end)) in [(0, version - 1, &first), (1, version, &second)] {
                    run.writes.push(Write {
                        key,
                        version: Some(v),
                        begin,
                        end: *end,
                        ok: r.is_ok(),
                    });
                }
                first.0.and(second.0)
            }
        };
        if let Err(why) = result {
            run.error = Some(format!("{step} failed: {why}"));
            break;
        }
    }
    run.images = sim.take_crash_points();
    drop(engine);
    run
}

/// A put of key 0 by this thread and of key 1 by a second writer released
/// by the first file sync (see [`crate::race`]); each result with the
/// boundary at which it returned.
fn racing_puts(
    engine: &dyn Engine,
    sim: &SimFs,
    race: &Race,
    v0: u64,
    v1: u64,
) -> ((engines::Result<()>, u64), (engines::Result<()>, u64)) {
    std::thread::scope(|s| {
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let second = s.spawn(move || {
            if go_rx.recv().is_err() {
                return (
                    Err(Error::InvalidConfig(
                        "the second writer never started".into(),
                    )),
                    sim.boundaries(),
                );
            }
            let _ = done_tx.send(()); // started
            let r = write(engine, 1, Some(v1));
            let end = sim.boundaries();
            let _ = done_tx.send(()); // returned
            (r, end)
        });
        race.arm(go_tx, done_rx);
        let r = write(engine, 0, Some(v0));
        let first = (r, sim.boundaries());
        race.disarm();
        let second = second.join().unwrap_or_else(|_| {
            (
                Err(Error::InvalidConfig("the second writer panicked".into())),
                sim.boundaries(),
            )
        });
        (first, second)
    })
}
