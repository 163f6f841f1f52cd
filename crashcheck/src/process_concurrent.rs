//! Concurrent process trials: several writers at once in one engine
//! process, for group commit's leader/follower path through a real kernel
//! (`crash --fs fuse`, lines `fuse-posix N threads`).
//!
//! The checker sends each writer's requests with a [writer
//! tag](crate::protocol#writer-tags-our-crash-child-only), keeping one
//! request per writer in flight, so `crash-child` runs up to N puts and
//! deletes at once and a group-commit leader can gather them. Each writer
//! writes its own keys (every key's history is in program order), as in
//! [`crate::concurrent`]. After a seeded number of replies (at least one
//! per writer) the process is killed with the other writers' requests in
//! flight (unacknowledged: they may or may not survive), power is cut,
//! and recovery and the check run as in [`crate::process`] (a quarter of
//! recoveries crashed too). An acknowledgement counts once its reply was
//! read, before the kill: it is never invented, only possibly missed.
//! Meant for promises whose acknowledgement means durable (`always`,
//! `group`): acknowledgements from several writers have no single order
//! that `batch:N` could count in. The syncs are not slowed down (the
//! FUSE daemon serves one request at a time); the overlap comes from the
//! writers themselves, and thread interleaving is not seeded, so a
//! failing seed may not fail again.

use engines::fs::CrashRng;

use crate::history::Op;
use crate::process::{after_kill, recovery_failed, storage_trace, History, PowerCut, ProcessTrial};
use crate::protocol::{EngineProcess, ProtocolError, Reply, Request};
use crate::trial::TrialOutcome;
use crate::workload::{key_bytes, rng_pad, value_bytes, KEYS};

/// One writer of a concurrent trial.
struct Writer {
    rng: CrashRng,
    /// Requests sent.
    sent: u64,
    /// Index in the history of the request in flight.
    in_flight: Option<usize>,
}

/// Runs one trial with `threads` writers at once in the engine process;
/// an error means the engine could not be driven at all.
pub fn run_concurrent_process_trial(
    t: &ProcessTrial<'_>,
    threads: u64,
    cut: &mut dyn PowerCut,
) -> Result<TrialOutcome, ProtocolError> {
    let threads = threads.clamp(1, KEYS);
    let mut rng = CrashRng::new(t.seed);
    let mut plan = CrashRng::new(t.seed ^ 0xC0C0_2E27_0A11_57A7);
    let per_writer = t.ops.div_ceil(threads).max(1);
    // At least one reply per writer before the kill (when there are that
    // many), so that every trial has had all its writers in flight: a
    // trial killed after its first reply checks one write, which is
    // invisible when it deletes a key never written.
    let total = per_writer * threads;
    let least = threads.min(total - 1);
    let kill_after = least + rng.upto(total - 1 - least);
    let mut out = TrialOutcome::default();
    let mut h = History::default();
    let mut writers: Vec<Writer> = (0..threads)
        .map(|w| Writer {
            rng: CrashRng::new(t.seed ^ (w + 1).wrapping_mul(0x9E37_79B9)),
            sent: 0,
            in_flight: None,
        })
        .collect();
    let mut power_cut = Some(cut);
    let mut engine = EngineProcess::spawn(t.launch.command(t.dir))?;
    for w in 0..threads {
        send_next(
            &mut engine,
            &mut writers,
            w,
            threads,
            per_writer,
            t.seed,
            &mut h,
            &mut out,
        )?;
    }
    let mut replies = 0;
    while replies < kill_after && writers.iter().any(|w| w.in_flight.is_some()) {
        let (w, reply) = engine.tagged_reply()?;
        let Some(idx) = writers
            .get_mut(w as usize)
            .and_then(|wr| wr.in_flight.take())
        else {
            return Err(ProtocolError::Malformed {
                line: format!("@{w} {}", reply.to_line()),
                reason: "a reply for a writer with no request in flight".into(),
            });
        };
        match reply {
            Reply::Ok => {
                if let Some(op) = h.ops.get_mut(idx) {
                    op.ack = Some(h.acked);
                }
                out.trace
                    .push(format!("writer {w}: op #{idx} -> ok (ack #{})", h.acked));
                h.acked += 1;
            }
            Reply::Err(m) => {
                out.failed_writes += 1;
                out.trace.push(format!("writer {w}: op #{idx} -> err {m}"));
            }
            other => {
                return Err(ProtocolError::Malformed {
                    line: other.to_line(),
                    reason: "not a reply to put or delete".into(),
                })
            }
        }
        replies += 1;
        storage_trace(&mut out.trace, &mut power_cut);
        send_next(
            &mut engine,
            &mut writers,
            w,
            threads,
            per_writer,
            t.seed,
            &mut h,
            &mut out,
        )?;
    }
    engine.kill()?;
    let in_flight = writers.iter().filter(|w| w.in_flight.is_some()).count();
    out.trace.push(format!(
        "killed after {replies} replies, {in_flight} requests in flight"
    ));
    drop(engine);
    if let Some((_, recovered)) = after_kill(
        t,
        &mut rng,
        &mut plan,
        &mut h,
        &mut out,
        &mut power_cut,
        true,
    )? {
        let closed = recovered.close();
        storage_trace(&mut out.trace, &mut power_cut);
        if let Err(e) = closed {
            recovery_failed(&mut out, e);
        }
    }
    out.acked = h.acked;
    Ok(out)
}

/// Sends writer `w`'s next request, if it has one left.
#[allow(clippy::too_many_arguments)]
fn send_next(
    engine: &mut EngineProcess,
    writers: &mut [Writer],
    w: u64,
    threads: u64,
    per_writer: u64,
    seed: u64,
    h: &mut History,
    out: &mut TrialOutcome,
) -> Result<(), ProtocolError> {
    let Some(wr) = writers
        .get_mut(w as usize)
        .filter(|wr| wr.sent < per_writer)
    else {
        return Ok(());
    };
    let keys = (KEYS - w).div_ceil(threads);
    let key = w + threads * wr.rng.upto(keys - 1);
    let i = wr.sent;
    wr.sent += 1;
    let version = (wr.rng.upto(3) != 0).then_some(i * threads + w);
    let req = match version {
        Some(v) => Request::Put(key_bytes(key), value_bytes(key, v, rng_pad(seed, v))),
        None => Request::Delete(key_bytes(key)),
    };
    wr.in_flight = Some(h.ops.len());
    out.trace.push(format!(
        "writer {w}: op #{}: {}",
        h.ops.len(),
        req.to_line()
    ));
    h.ops.push(Op {
        key,
        version,
        ack: None,
        pin: None,
    });
    engine.send_tagged(w, &req)
}
