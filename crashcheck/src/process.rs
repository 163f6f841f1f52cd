//! Trials on an engine in another process, spoken to over the
//! [line protocol](crate::protocol): our own engines (`bench-runner
//! crash-child`) and external programs (`crash --exec CMD`) alike.
//!
//! A trial starts the engine on its data directory, drives the same seeded
//! workload as in-process trials (puts, deletes, now and then a `sync`),
//! and at a seeded operation sends the request and kills the process with
//! SIGKILL a few microseconds later, so the kill may land in the middle of
//! the write. Then an optional [`PowerCut`] runs (the FUSE layer plugs in
//! here: it crashes the `SimFs` behind the mount with a profile and crash
//! mode and remounts the survivor); without one the trial is a process
//! crash only. A new process is started on the same directory, every key
//! is read back with `get`, and the history is checked as in
//! [`crate::trial`]:
//!
//! - process crash only: every acknowledged write survives, whatever the
//!   promise (a write acknowledged only in the program's own memory is
//!   lost to a process crash, which no policy allows);
//! - after a power cut: as the claimed promise says (all of them under
//!   `always`/`group`, all but the last N-1 under `batch:N`, none under
//!   `none`), and everything acknowledged before a successful `sync`.
//!
//! With a power cut that can freeze its image at a sync
//! ([`PowerCut::syncs`] is `Some`, as through FUSE), trials do what
//! in-process trials do, seeded apart from the first epoch's choices (so a
//! seed's kill point, workload and first power cut do not depend on them):
//!
//! - a quarter of recoveries are crashed themselves: a dry run on a copy of
//!   the image counts the syncs the recovery makes (open and read every
//!   key), the image is put back, the crash is armed right after one of
//!   those syncs, or at the recovery's end, the recovering process is
//!   killed with its whole tree once it has read every key, power is cut
//!   again from the frozen image, and a third process recovers;
//! - a third of trials have a second epoch: the checker keeps writing on
//!   the recovered process (new versions, same keys), kills it, cuts power
//!   again and recovers; the check then covers both epochs, and under every
//!   promise other than `none` the state the first recovery returned must
//!   survive the second crash.
//!
//! Process crashes only (`--kill`) stay one epoch with a plain recovery.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use engines::fs::CrashRng;
use engines::SyncPolicy;

use crate::history::{check_history, Op, Pin};
use crate::protocol::{EngineProcess, ProtocolError, Reply, Request};
use crate::trial::TrialOutcome;
use crate::workload::{key_bytes, rng_pad, value_bytes, KEYS};

/// How to start the engine process; it finds its data directory in
/// `BENCH_DIR`.
#[derive(Debug, Clone)]
pub struct Launch {
    /// Program.
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
}

impl Launch {
    /// `sh -c CMD`, as `crash --exec CMD` runs it.
    pub fn shell(cmd: &str) -> Self {
        Launch {
            program: "sh".into(),
            args: vec!["-c".into(), cmd.into()],
        }
    }

    /// The command for data directory `dir`.
    pub fn command(&self, dir: &Path) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args).env("BENCH_DIR", dir);
        c
    }
}

/// What happens to the storage between the kill and the recovery.
pub trait PowerCut {
    /// Cuts power to the storage under the killed process (for FUSE:
    /// crash the `SimFs` with `seed`, remount the survivor); returns a line
    /// for the trace. Called again for each later crash of the same trial
    /// (a crashed recovery, a second epoch), each time on what the last
    /// cut left and the processes since wrote.
    fn cut(&mut self, seed: u64) -> Result<String, ProtocolError>;

    /// Called once, when the engine has answered its first request (its
    /// start-up is over): a storage that injects faults into the workload
    /// arms them here, so that they never hit the engine's start-up.
    fn engine_ready(&mut self) {}

    /// The storage calls served since the last call (for FUSE: the
    /// requests and the simulator operations they made, with operation
    /// numbers), for the trace. The trial asks after every reply, so each
    /// request's calls print under it. None by default.
    fn take_events(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// What the last [`PowerCut::cut`] kept and dropped, one line each
    /// (`kept: #12 write ...`), printed under the power cut. None by default.
    fn cut_details(&mut self) -> Vec<String> {
        Vec::new()
    }

    /// File and directory syncs the storage has served so far, or `None`
    /// when it cannot freeze its image at a sync (the default): then no
    /// recovery is crashed and trials stay one epoch.
    fn syncs(&mut self) -> Option<u64> {
        None
    }

    /// Freezes the image the next [`PowerCut::cut`] starts from right
    /// after the storage's `n`-th sync from now (a later cut without that
    /// many syncs starts from the image at the cut).
    fn crash_after_syncs(&mut self, _n: u64) {}

    /// Remembers the current image (no process is running on it), for a
    /// dry run that [`PowerCut::restore_image`] undoes.
    fn save_image(&mut self) -> Result<(), ProtocolError> {
        Ok(())
    }

    /// Serves the image [`PowerCut::save_image`] remembered again, as it
    /// was (no process is running on the storage).
    fn restore_image(&mut self) -> Result<(), ProtocolError> {
        Ok(())
    }
}

/// Moves the storage calls `cut` recorded into the trace, indented under
/// the line they belong to.
pub(crate) fn storage_trace(trace: &mut Vec<String>, cut: &mut Option<&mut dyn PowerCut>) {
    if let Some(c) = cut {
        trace.extend(
            c.take_events()
                .into_iter()
                .map(|e| format!("      fs: {e}")),
        );
    }
}

/// One process trial's parameters.
#[derive(Debug, Clone)]
pub struct ProcessTrial<'a> {
    /// How to start the engine.
    pub launch: &'a Launch,
    /// Its data directory (created by the caller, empty).
    pub dir: &'a Path,
    /// The promise the engine is held to.
    pub promise: SyncPolicy,
    /// Seed of the workload and the kill point.
    pub seed: u64,
    /// Operations before the kill (at most).
    pub ops: u64,
}

/// What a recovery read back: each key's value, `None` when absent.
pub(crate) type State = BTreeMap<u64, Option<Vec<u8>>>;

/// The operations of a trial over all its epochs, and what was
/// acknowledged.
#[derive(Debug, Default)]
pub(crate) struct History {
    pub(crate) ops: Vec<Op>,
    /// Acknowledged writes so far (all epochs).
    pub(crate) acked: u64,
    /// Next version number (unique over the trial).
    pub(crate) next_version: u64,
}

impl History {
    /// Starts a new epoch from the state a recovery returned
    /// ([`crate::history::rebase`]).
    fn rebase(&mut self, state: &BTreeMap<u64, Option<Vec<u8>>>, promise: &SyncPolicy) {
        crate::history::rebase(&mut self.ops, state, promise.max_lost_writes().is_some());
    }
}

/// Seed of the choices made apart from the first epoch's: epochs and
/// recovery crashes.
fn plan_seed(seed: u64) -> u64 {
    seed ^ 0x5EC0_4D0E_70C5_A11E
}

/// Runs one trial; `power_cut` is `None` for a process crash only. An
/// error means the engine could not be driven at all (it did not start,
/// died before the kill, or broke the protocol), not a broken promise.
pub fn run_process_trial(
    t: &ProcessTrial<'_>,
    mut power_cut: Option<&mut dyn PowerCut>,
) -> Result<TrialOutcome, ProtocolError> {
    let mut rng = CrashRng::new(t.seed);
    let mut plan = CrashRng::new(plan_seed(t.seed));
    let mut out = TrialOutcome::default();
    let mut h = History::default();
    let kill_at = rng.upto(t.ops.max(1) - 1);
    let crashes_recoveries = power_cut.as_mut().is_some_and(|c| c.syncs().is_some());
    let epochs: u64 = if crashes_recoveries && plan.upto(2) == 0 {
        2
    } else {
        1
    };
    let mut engine = EngineProcess::spawn(t.launch.command(t.dir))?;
    for epoch in 1..=epochs {
        if epochs > 1 {
            out.trace.push(format!("epoch {epoch} of {epochs}"));
        }
        // The first epoch runs as a one-epoch trial would; the second
        // writes half as many operations.
        let (n, kill_at) = if epoch == 1 {
            (t.ops.max(1), kill_at)
        } else {
            let n = t.ops.div_ceil(2).max(1);
            (n, rng.upto(n - 1))
        };
        drive(
            t,
            &mut engine,
            &mut rng,
            &mut h,
            n,
            kill_at,
            &mut out,
            &mut power_cut,
        )?;
        drop(engine);
        let Some(state_and_engine) = after_kill(
            t,
            &mut rng,
            &mut plan,
            &mut h,
            &mut out,
            &mut power_cut,
            crashes_recoveries,
        )?
        else {
            break;
        };
        let (state, recovered) = state_and_engine;
        if out.violation.is_some() || epoch == epochs {
            let closed = recovered.close();
            storage_trace(&mut out.trace, &mut power_cut);
            if let Err(e) = closed {
                recovery_failed(&mut out, e);
            }
            break;
        }
        h.rebase(&state, &t.promise);
        engine = recovered;
    }
    out.acked = h.acked;
    Ok(out)
}

/// Drives `n` operations on `engine`, killing it at operation `kill_at`
/// (the request is sent, the kill lands before, during or after it).
#[allow(clippy::too_many_arguments)]
fn drive(
    t: &ProcessTrial<'_>,
    engine: &mut EngineProcess,
    rng: &mut CrashRng,
    h: &mut History,
    n: u64,
    kill_at: u64,
    out: &mut TrialOutcome,
    power_cut: &mut Option<&mut dyn PowerCut>,
) -> Result<(), ProtocolError> {
    // Calls made before the first request (opening the store) are traced
    // with the first request: a process may start writing at any time.
    for j in 0..n {
        let i = h.next_version;
        h.next_version += 1;
        let req = if rng.upto(23) == 0 {
            Request::Sync
        } else {
            let key = rng.upto(KEYS - 1);
            if rng.upto(3) == 0 {
                h.ops.push(Op {
                    key,
                    version: None,
                    ack: None,
                    pin: None,
                });
                Request::Delete(key_bytes(key))
            } else {
                h.ops.push(Op {
                    key,
                    version: Some(i),
                    ack: None,
                    pin: None,
                });
                Request::Put(key_bytes(key), value_bytes(key, i, rng_pad(t.seed, i)))
            }
        };
        engine.send(&req)?;
        if j == kill_at {
            std::thread::sleep(Duration::from_micros(rng.upto(300)));
            engine.kill()?;
            out.trace
                .push(format!("op {i}: {} -> killed", req.to_line()));
            storage_trace(&mut out.trace, power_cut);
            return Ok(());
        }
        let reply = engine.reply()?;
        if i == 0 {
            if let Some(cut) = power_cut.as_deref_mut() {
                cut.engine_ready();
            }
        }
        out.trace
            .push(format!("op {i}: {} -> {}", req.to_line(), reply.to_line()));
        storage_trace(&mut out.trace, power_cut);
        match (&req, reply) {
            (Request::Sync, Reply::Ok) => {
                for op in h.ops.iter_mut().filter(|o| o.ack.is_some()) {
                    op.pin.get_or_insert(Pin::ExplicitSync);
                }
            }
            (Request::Sync, Reply::Err(_)) => {}
            (Request::Put(..) | Request::Delete(_), Reply::Ok) => {
                if let Some(op) = h.ops.last_mut() {
                    op.ack = Some(h.acked);
                }
                h.acked += 1;
            }
            (Request::Put(..) | Request::Delete(_), Reply::Err(_)) => out.failed_writes += 1,
            (_, other) => {
                return Err(ProtocolError::Malformed {
                    line: other.to_line(),
                    reason: format!("not a reply to {}", req.to_line()),
                })
            }
        }
    }
    // The kill point is past the end: kill after the last reply.
    engine.kill()?;
    Ok(())
}

/// After the engine was killed: cuts power (if any), sometimes crashes the
/// recovery too, recovers, reads every key and checks the history into
/// `out`. Returns the state read and the recovered process, still running,
/// or `None` when recovery failed (recorded in `out`).
pub(crate) fn after_kill(
    t: &ProcessTrial<'_>,
    rng: &mut CrashRng,
    plan: &mut CrashRng,
    h: &mut History,
    out: &mut TrialOutcome,
    power_cut: &mut Option<&mut dyn PowerCut>,
    crashes_recoveries: bool,
) -> Result<Option<(State, EngineProcess)>, ProtocolError> {
    let process_only = power_cut.is_none();
    let max_lost = match power_cut {
        Some(cut) => {
            // Anything served between the last reply and the kill.
            out.trace.extend(
                cut.take_events()
                    .into_iter()
                    .map(|e| format!("      fs: {e}")),
            );
            let line = cut.cut(rng.next_u64())?;
            out.trace.push(format!("power cut: {line}"));
            out.trace.extend(cut.cut_details());
            t.promise.max_lost_writes()
        }
        None => {
            // A process crash keeps what reached the kernel, under every
            // promise, and explicit syncs add nothing to that.
            for op in &mut h.ops {
                op.pin = None;
            }
            Some(0)
        }
    };
    if crashes_recoveries && plan.upto(3) == 0 {
        if let Some(e) = crash_recovery(t, plan, h, out, power_cut)? {
            recovery_failed(out, e);
            return Ok(None);
        }
    }
    out.trace.push("recovery:".into());
    let (state, engine) = match read_back(t, &mut out.trace, power_cut) {
        Ok(r) => r,
        Err(e) => {
            recovery_failed(out, e);
            return Ok(None);
        }
    };
    let c = check_history(&h.ops, &state, h.acked, max_lost);
    out.trace.extend(c.trace);
    out.lost += c.lost;
    out.corrupt_reads += c.corrupt_reads;
    out.resurrected += c.resurrected;
    let promise = if process_only {
        "a process crash keeps what reached the kernel, and {policy}".to_string()
    } else {
        "{policy}".to_string()
    };
    if out.violation.is_none() {
        out.violation = c.violation.map(|v| {
            v.replace("{policy}", &promise)
                .replace("{policy}", &t.promise.to_string())
        });
    }
    Ok(Some((state, engine)))
}

/// Records a failed recovery.
pub(crate) fn recovery_failed(out: &mut TrialOutcome, e: ProtocolError) {
    let e = e.to_string();
    out.trace.push(format!("recovery FAILED: {e}"));
    out.violation.get_or_insert(format!("recovery failed: {e}"));
    out.recovery_failure = Some(e);
}

/// Crashes a recovery: counts the syncs it makes in a dry run on a copy of
/// the image, arms the crash right after one of them (or at its end),
/// recovers on the image put back, kills the recovering process once it
/// has read every key, and cuts power again. `Ok(Some(e))` when the engine
/// failed to recover (in the dry run or the crashed run); `Err` when the
/// storage or the kill failed.
fn crash_recovery(
    t: &ProcessTrial<'_>,
    plan: &mut CrashRng,
    h: &mut History,
    out: &mut TrialOutcome,
    power_cut: &mut Option<&mut dyn PowerCut>,
) -> Result<Option<ProtocolError>, ProtocolError> {
    let Some(cut) = power_cut.as_deref_mut() else {
        return Ok(None);
    };
    cut.save_image()?;
    let before = cut.syncs().unwrap_or(0);
    let dry = read_back(t, &mut Vec::new(), &mut None);
    let syncs = cut.syncs().unwrap_or(0).saturating_sub(before);
    // The dry run's calls are not the trial's.
    let _ = cut.take_events();
    let mut dry = match dry {
        Ok((_, p)) => p,
        Err(e) => return Ok(Some(e)),
    };
    dry.kill()?;
    drop(dry);
    out.trace.push(format!(
        "recovery dry run on a copy of the image: {syncs} syncs"
    ));
    cut.restore_image()?;
    let k = 1 + plan.upto(syncs);
    if k <= syncs {
        cut.crash_after_syncs(k);
    }
    out.trace.push("recovery (to be crashed):".into());
    let mut engine = match read_back(t, &mut out.trace, power_cut) {
        Ok((_, p)) => p,
        Err(e) => return Ok(Some(e)),
    };
    engine.kill()?;
    drop(engine);
    storage_trace(&mut out.trace, power_cut);
    let at = if k <= syncs {
        format!("after its sync {k} of {syncs}")
    } else {
        format!("at its end ({syncs} syncs)")
    };
    out.trace
        .push(format!("second crash during recovery, {at}:"));
    let Some(cut) = power_cut.as_deref_mut() else {
        return Ok(None);
    };
    let line = cut.cut(plan.next_u64())?;
    out.trace.push(format!("power cut: {line}"));
    out.trace.extend(cut.cut_details());
    if !t.promise.syncs_data() {
        // Under `none` an explicit sync promised "durable now"; the
        // recovery's own unsynced rewrites may undo that, like any later
        // maintenance.
        for op in &mut h.ops {
            if op.pin == Some(Pin::ExplicitSync) {
                op.pin = None;
            }
        }
    }
    Ok(None)
}

/// Starts the engine again on the same directory and reads every key; the
/// storage calls it makes are traced into `trace`. The process is
/// returned still running.
pub(crate) fn read_back(
    t: &ProcessTrial<'_>,
    trace: &mut Vec<String>,
    cut: &mut Option<&mut dyn PowerCut>,
) -> Result<(State, EngineProcess), ProtocolError> {
    let mut engine = EngineProcess::spawn(t.launch.command(t.dir))?;
    let mut state = BTreeMap::new();
    for k in 0..KEYS {
        let reply = engine.request(&Request::Get(key_bytes(k)));
        storage_trace(trace, cut);
        let v = match reply? {
            Reply::Value(v) => Some(v),
            Reply::None => None,
            Reply::Err(m) => {
                return Err(ProtocolError::Malformed {
                    line: format!("err {m}"),
                    reason: format!("get of key{k:04} after recovery failed"),
                })
            }
            Reply::Ok => {
                return Err(ProtocolError::Malformed {
                    line: "ok".into(),
                    reason: "not a reply to get".into(),
                })
            }
        };
        state.insert(k, v);
    }
    Ok((state, engine))
}
