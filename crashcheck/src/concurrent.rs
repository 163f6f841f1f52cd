//! Concurrent trials: several writers at once on slow syncs, for group
//! commit's leader/follower path.

use engines::fs::{CrashRng, SimFs};
use engines::Error;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::history::Op;
use crate::trial::{engine_vfs, Trial, TrialOutcome, TrialSpec};
use crate::workload::{key_bytes, open_guarded, rng_pad, trial_config, value_bytes, KEYS};

/// Runs one trial with `threads` writers at once, so that group commit's
/// leader/follower path (and any race between rotation, maintenance and
/// acknowledgement) is exercised. Each thread writes its own keys, so every
/// key's history is in program order; the crash comes right after a random
/// sync or at the end, and the image is checked as in [`run_trial`]. An
/// acknowledgement counts only if `put` returned before the crash instant
/// (it may be missed, never invented). Thread interleaving is not seeded:
/// a failing seed may not fail again on replay. Meant for `always` and
/// `group` (`batch:N` has no single order of acknowledgements across
/// threads).
pub fn run_concurrent_trial(spec: &TrialSpec, threads: u64) -> TrialOutcome {
    let threads = threads.clamp(1, KEYS);
    let mut t = Trial::new(spec, false);
    let sim = SimFs::new(spec.profile);
    let vfs = engine_vfs(&sim, spec.broken_sync);
    let engine = match open_guarded(spec.engine, trial_config(vfs, spec.policy)) {
        Ok(e) => e,
        Err(e) => {
            t.out.recovery_failure = Some(format!("first open failed: {e}"));
            t.out.violation = t.out.recovery_failure.clone();
            return t.out;
        }
    };
    sim.set_faults(spec.faults);
    // Syncs that take a while: writes racing with a sync are not covered
    // by it, which is what a group-commit leader must get right.
    sim.set_sync_delay(std::time::Duration::from_micros(50 + t.rng.upto(150)));
    if t.rng.upto(3) != 0 {
        sim.freeze_after_sync(sim.syncs() + 1 + t.rng.upto(spec.ops.max(1)));
    }
    let per_thread = spec.ops.div_ceil(threads);
    let acks = std::sync::atomic::AtomicU64::new(0);
    let failed = std::sync::atomic::AtomicU64::new(0);
    let per_thread_ops: Vec<Vec<Op>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                let engine = &*engine;
                let sim = &sim;
                let acks = &acks;
                let failed = &failed;
                scope.spawn(move || {
                    let mut rng = CrashRng::new(spec.seed ^ (th + 1).wrapping_mul(0x9E37_79B9));
                    let keys = (KEYS - th).div_ceil(threads);
                    let mut ops = Vec::new();
                    for i in 0..per_thread {
                        if sim.frozen() {
                            break;
                        }
                        let key = th + threads * rng.upto(keys - 1);
                        let version = (rng.upto(3) != 0).then_some(i * threads + th);
                        let r = catch_unwind(AssertUnwindSafe(|| match version {
                            Some(v) => engine
                                .put(&key_bytes(key), &value_bytes(key, v, rng_pad(spec.seed, v))),
                            None => engine.delete(&key_bytes(key)),
                        }))
                        .unwrap_or_else(|_| Err(Error::InvalidConfig("write panicked".into())));
                        let ok = r.is_ok() && !sim.frozen();
                        if r.is_err() {
                            failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        let ack =
                            ok.then(|| acks.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                        ops.push(Op {
                            key,
                            version,
                            ack,
                            pin: None,
                        });
                    }
                    ops
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    t.ops = per_thread_ops.into_iter().flatten().collect();
    t.acked = acks.into_inner();
    t.out.failed_writes = failed.into_inner();
    let crashed = t.crash(&sim);
    drop(engine);
    if let Some((recovered, _)) = t.recover(crashed) {
        if t.check(&*recovered).is_some() {
            let _ = recovered.close();
        }
    }
    t.out.acked = t.acked;
    t.out
}
