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
    /// for the trace.
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
}

/// Moves the storage calls `cut` recorded into the trace, indented under
/// the line they belong to.
fn storage_trace(trace: &mut Vec<String>, cut: &mut Option<&mut dyn PowerCut>) {
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
    /// The promise the engine is held to after a power cut.
    pub promise: SyncPolicy,
    /// Seed of the workload and the kill point.
    pub seed: u64,
    /// Operations before the kill (at most).
    pub ops: u64,
}

/// Runs one trial; `power_cut` is `None` for a process crash only. An
/// error means the engine could not be driven at all (it did not start,
/// died before the kill, or broke the protocol), not a broken promise.
pub fn run_process_trial(
    t: &ProcessTrial<'_>,
    mut power_cut: Option<&mut dyn PowerCut>,
) -> Result<TrialOutcome, ProtocolError> {
    let mut rng = CrashRng::new(t.seed);
    let mut out = TrialOutcome::default();
    let mut ops: Vec<Op> = Vec::new();
    let mut acked = 0u64;
    let kill_at = rng.upto(t.ops.max(1) - 1);
    let mut engine = EngineProcess::spawn(t.launch.command(t.dir))?;
    // Calls made before the first request (opening the store) are traced
    // with the first request: a process may start writing at any time.
    for i in 0..t.ops.max(1) {
        let req = if rng.upto(23) == 0 {
            Request::Sync
        } else {
            let key = rng.upto(KEYS - 1);
            if rng.upto(3) == 0 {
                ops.push(Op {
                    key,
                    version: None,
                    ack: None,
                    pin: None,
                });
                Request::Delete(key_bytes(key))
            } else {
                ops.push(Op {
                    key,
                    version: Some(i),
                    ack: None,
                    pin: None,
                });
                Request::Put(key_bytes(key), value_bytes(key, i, rng_pad(t.seed, i)))
            }
        };
        engine.send(&req)?;
        if i == kill_at {
            // The kill lands before, during or after this request.
            std::thread::sleep(Duration::from_micros(rng.upto(300)));
            engine.kill()?;
            out.trace
                .push(format!("op {i}: {} -> killed", req.to_line()));
            storage_trace(&mut out.trace, &mut power_cut);
            break;
        }
        let reply = engine.reply()?;
        if i == 0 {
            if let Some(cut) = power_cut.as_deref_mut() {
                cut.engine_ready();
            }
        }
        out.trace
            .push(format!("op {i}: {} -> {}", req.to_line(), reply.to_line()));
        storage_trace(&mut out.trace, &mut power_cut);
        match (&req, reply) {
            (Request::Sync, Reply::Ok) => {
                for op in ops.iter_mut().filter(|o| o.ack.is_some()) {
                    op.pin.get_or_insert(Pin::ExplicitSync);
                }
            }
            (Request::Sync, Reply::Err(_)) => {}
            (Request::Put(..) | Request::Delete(_), Reply::Ok) => {
                if let Some(op) = ops.last_mut() {
                    op.ack = Some(acked);
                }
                acked += 1;
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
    drop(engine);
    out.acked = acked;
    let process_only = power_cut.is_none();
    let max_lost = match &mut power_cut {
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
            for op in &mut ops {
                op.pin = None;
            }
            Some(0)
        }
    };
    let state = match recover(t, &mut out.trace, &mut power_cut) {
        Ok(s) => s,
        Err(e) => {
            let e = e.to_string();
            out.trace.push(format!("recovery FAILED: {e}"));
            out.violation = Some(format!("recovery failed: {e}"));
            out.recovery_failure = Some(e);
            return Ok(out);
        }
    };
    let c = check_history(&ops, &state, acked, max_lost);
    out.trace.extend(c.trace);
    out.lost = c.lost;
    out.corrupt_reads = c.corrupt_reads;
    out.resurrected = c.resurrected;
    let promise = if process_only {
        "a process crash keeps what reached the kernel, and {policy}".to_string()
    } else {
        "{policy}".to_string()
    };
    out.violation = c.violation.map(|v| {
        v.replace("{policy}", &promise)
            .replace("{policy}", &t.promise.to_string())
    });
    Ok(out)
}

/// Starts the engine again on the same directory and reads every key;
/// the storage calls it makes are traced under `recovery:`.
fn recover(
    t: &ProcessTrial<'_>,
    trace: &mut Vec<String>,
    cut: &mut Option<&mut dyn PowerCut>,
) -> Result<BTreeMap<u64, Option<Vec<u8>>>, ProtocolError> {
    trace.push("recovery:".into());
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
    let closed = engine.close();
    storage_trace(trace, cut);
    closed?;
    Ok(state)
}
