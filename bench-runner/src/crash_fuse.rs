//! `bench-runner crash --fs fuse`: power cuts through a real kernel path,
//! for every engine, the reference engines included.
//!
//! One trial: a [`SimFs`] is mounted through FUSE ([`simfuse`]); the
//! `crash-child` of `--kill` opens the engine on the mount with a plain
//! `RealFs` (so every byte goes through the kernel and the FUSE daemon,
//! whatever library the engine is) and announces each write before it
//! starts and acknowledges it when it returns. After a random number of
//! acknowledgements the parent cuts the power: SIGKILL to the child, the
//! simulator's image frozen at that instant, unmounted, then
//! [`SimFs::crash`] with the line's profile and the trial's crash mode
//! (trial `i` uses mode `i mod 4`: durable state only, a prefix in time, a
//! torn prefix, per-file subsets), exactly as in-process trials crash.
//! What survives is mounted again; a new child recovers the engine, reads
//! every key (and a full scan, where the engine has one) and prints them;
//! the parent checks them against the announced history with the same
//! rules as in-process trials: no value never written, no recovery
//! failure, and acknowledged writes kept as the policy promises.
//!
//! Rows carry profile `fuse-posix` or `fuse-linux`. Every mount is undone
//! on every path out of a trial ([`simfuse::Mounted`] unmounts on drop,
//! lazily if need be), the child is killed and reaped before its mount is
//! touched, and Ctrl-C (SIGINT) ends the run within 100 ms with exit code
//! 130 and the finished lines written.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use engines::crash::{self, CrashSummary, LossCause, TrialOutcome};
use engines::fs::{CrashMode, CrashRng, Profile, RealFs, SimFs};
use engines::{EngineConfig, EngineInfo, SyncPolicy};
use simfuse::Mounted;

use crate::crash_cmd::{CrashArgs, CrashChildArgs, ProfileArg};

/// Row label of a profile served through FUSE.
pub fn profile_label(profile: Profile) -> String {
    format!("fuse-{}", profile.name())
}

/// The child's engine configuration: the in-process trials' small sizes
/// (files rotate, flush, merge and checkpoint within a trial) on `dir`.
pub fn child_config(dir: &Path, policy: SyncPolicy) -> EngineConfig {
    let mut c = crash::trial_config(RealFs::shared(), policy);
    c.dir = dir.to_path_buf();
    c
}

/// Kills and reaps a child on every path out of a trial.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Reads a child's stderr on a thread, so a chatty child never blocks.
fn drain(r: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut s = String::new();
        let _ = BufReader::new(r).read_to_string(&mut s);
        s
    })
}

/// How long a child may print nothing before it is taken for hung.
const STALL: Duration = Duration::from_secs(60);

/// How a child's output ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChildEnd {
    /// It exited by itself.
    Exited,
    /// We killed it: the power cut, or an interruption.
    Cut,
    /// It printed nothing for [`STALL`] and was killed.
    Stalled,
}

/// Reads a child's stdout lines until it ends, killing it as soon as
/// `cut(line)` says so or `stop` is set (checked at least every 100 ms,
/// output or not), or after [`STALL`] without output.
fn collect(
    child: &mut ChildGuard,
    stop: &AtomicBool,
    mut cut: impl FnMut(&str) -> bool,
) -> Result<(Vec<String>, ChildEnd)> {
    let out = child.0.stdout.take().context("child stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut end = ChildEnd::Exited;
    let mut last = Instant::now();
    loop {
        let kill = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(line) => {
                last = Instant::now();
                let now = cut(&line);
                lines.push(line);
                if now || stop.load(Relaxed) {
                    Some(ChildEnd::Cut)
                } else {
                    None
                }
            }
            Err(RecvTimeoutError::Timeout) if stop.load(Relaxed) => Some(ChildEnd::Cut),
            Err(RecvTimeoutError::Timeout) if last.elapsed() > STALL => Some(ChildEnd::Stalled),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if let (Some(why), ChildEnd::Exited) = (kill, end) {
            child.0.kill().context("SIGKILL the child")?;
            end = why;
        }
    }
    Ok((lines, end))
}

/// One operation the writer announced.
#[derive(Debug, Clone)]
struct Op {
    key: u64,
    /// `None` for a delete.
    version: Option<u64>,
    /// Position among acknowledged writes, if acknowledged.
    ack: Option<u64>,
}

/// Parses the writer's announcements: every announced operation in order
/// (the last may be in flight) and how many were acknowledged.
fn history(lines: &[String]) -> (Vec<Op>, u64) {
    let mut ops: Vec<Op> = Vec::new();
    let mut acked = 0;
    let mut open = false;
    for l in lines {
        if l == "ok" {
            if open {
                if let Some(op) = ops.last_mut() {
                    op.ack = Some(acked);
                    acked += 1;
                }
                open = false;
            }
            continue;
        }
        let mut p = l.split(' ');
        let (Some("try"), Some(kind), Some(k), Some(v)) = (p.next(), p.next(), p.next(), p.next())
        else {
            continue;
        };
        let (Ok(key), Ok(v)) = (k.parse::<u64>(), v.parse::<u64>()) else {
            continue;
        };
        ops.push(Op {
            key,
            version: (kind == "put").then_some(v),
            ack: None,
        });
        open = true;
    }
    (ops, acked)
}

/// Checks the recovered state against the history: each key's value must
/// be explained by one of its operations (else a corrupt read); every
/// acknowledged operation after the latest one that explains it was lost,
/// which breaks the promise unless the policy allows that many losses.
fn check(
    ops: &[Op],
    acked: u64,
    state: &BTreeMap<u64, Option<Vec<u8>>>,
    policy: &SyncPolicy,
    o: &mut TrialOutcome,
) {
    let max_lost = policy.max_lost_writes();
    for (k, observed) in state {
        let key_ops: Vec<(usize, &Op)> = ops
            .iter()
            .enumerate()
            .filter(|(_, op)| op.key == *k)
            .collect();
        let candidate: Option<isize> = match observed {
            Some(v) => crash::parse_value(*k, v).and_then(|ver| {
                key_ops
                    .iter()
                    .rev()
                    .find(|(_, op)| op.version == Some(ver))
                    .map(|(i, _)| *i as isize)
            }),
            None => Some(
                key_ops
                    .iter()
                    .filter(|(_, op)| op.version.is_none())
                    .map(|(i, _)| *i as isize)
                    .max()
                    .unwrap_or(-1),
            ),
        };
        let Some(cand) = candidate else {
            o.corrupt_reads += 1;
            o.violation
                .get_or_insert(format!("k{k}: read a value never written"));
            continue;
        };
        for (_, op) in key_ops.iter().filter(|(i, _)| *i as isize > cand) {
            let Some(a) = op.ack else { continue };
            o.lost += 1;
            if op.version.is_none() && observed.is_some() {
                o.resurrected += 1;
            }
            let broken = match max_lost {
                None => false,
                Some(n) => a + n < acked,
            };
            if broken {
                let what = match op.version {
                    Some(v) => format!("put v{v}"),
                    None => "delete".into(),
                };
                o.violation.get_or_insert(format!(
                    "k{k}: {what} ack #{a} of {acked} lost after a power cut through FUSE; {policy} allows {} lost",
                    max_lost.unwrap_or(0)
                ));
            }
        }
    }
}

/// What one trial needs besides its seed.
#[derive(Debug, Clone, Copy)]
pub struct FuseLine<'a> {
    /// The bench-runner executable (it runs the children).
    pub exe: &'a Path,
    /// A scratch folder; the mount point is made inside it.
    pub work: &'a Path,
    /// The engine.
    pub engine: &'static EngineInfo,
    /// Its policy.
    pub policy: SyncPolicy,
    /// Simulated filesystem profile.
    pub profile: Profile,
    /// At most this many acknowledged writes before the power cut.
    pub ops: u64,
}

impl FuseLine<'_> {
    fn child(&self, dir: &Path, seed: u64, read_back: bool) -> Result<ChildGuard> {
        let mut cmd = Command::new(self.exe);
        cmd.args([
            "crash-child",
            "--trial-sizes",
            "--engine",
            self.engine.name,
            "--policy",
            &self.policy.to_string(),
            "--seed",
            &seed.to_string(),
            "--dir",
        ])
        .arg(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        if read_back {
            cmd.arg("--read-back");
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("start {} crash-child", self.exe.display()))?;
        Ok(ChildGuard(child))
    }

    /// Runs one trial; `None` when interrupted.
    pub fn trial(
        &self,
        seed: u64,
        mode: CrashMode,
        stop: &AtomicBool,
    ) -> Result<Option<TrialOutcome>> {
        let mnt = self.work.join("mnt");
        std::fs::create_dir_all(&mnt)
            .with_context(|| format!("create mount point {}", mnt.display()))?;
        let mut rng = CrashRng::new(seed);
        let cut_after = 1 + rng.upto(self.ops.max(1) - 1);

        // Write until the power cut.
        let sim = SimFs::new(self.profile);
        let m = Mounted::mount(sim.clone(), &mnt)?;
        let dir = m.path().join("db");
        let mut child = self.child(&dir, seed, false)?;
        let err = drain(child.0.stderr.take().context("child stderr")?);
        let mut acks = 0;
        let (lines, end) = collect(&mut child, stop, |line| {
            acks += u64::from(line == "ok");
            acks >= cut_after
        })?;
        let status = child.0.wait().context("reap the writer")?;
        sim.freeze_now();
        let stderr = err.join().unwrap_or_default();
        drop(child);
        m.unmount()?;
        if stop.load(Relaxed) {
            return Ok(None);
        }
        if end == ChildEnd::Stalled {
            bail!(
                "{} {} writer on the FUSE mount made no progress for {} s; killed",
                self.engine.name,
                self.policy,
                STALL.as_secs()
            );
        }
        if lines.first().map(String::as_str) != Some("ready") || end != ChildEnd::Cut {
            bail!(
                "{} {} writer on the FUSE mount failed before the power cut ({status}): {}",
                self.engine.name,
                self.policy,
                stderr.trim()
            );
        }
        let (ops, acked) = history(&lines[1..]);
        let mut o = TrialOutcome {
            acked,
            ..TrialOutcome::default()
        };

        // The power cut, then recovery in a new process on what survived.
        let (crashed, report) = sim.crash(rng.next_u64(), mode);
        o.files_lost = report.files_lost.len() as u64;
        let m = Mounted::mount(crashed, &mnt)?;
        let mut child = self.child(&m.path().join("db"), seed, true)?;
        let err = drain(child.0.stderr.take().context("child stderr")?);
        let (lines, end) = collect(&mut child, stop, |_| false)?;
        let status = child.0.wait().context("reap the recovery child")?;
        let stderr = err.join().unwrap_or_default();
        drop(child);
        m.unmount()?;
        match end {
            ChildEnd::Cut => return Ok(None), // interrupted
            ChildEnd::Stalled => bail!(
                "{} {} recovery on the FUSE mount made no progress for {} s; killed",
                self.engine.name,
                self.policy,
                STALL.as_secs()
            ),
            ChildEnd::Exited => {}
        }
        let mut state = BTreeMap::new();
        let mut scan = None;
        for l in &lines {
            let mut p = l.splitn(3, ' ');
            match (p.next(), p.next(), p.next()) {
                (Some("key"), Some(k), Some(v)) => {
                    let Ok(k) = k.parse::<u64>() else { continue };
                    // Malformed hex reads as an empty value: a corrupt read.
                    let value = (v != "none").then(|| unhex(v).unwrap_or_default());
                    state.insert(k, value);
                }
                (Some("scan"), Some(what), rest) => {
                    scan = Some(format!("{what} {}", rest.unwrap_or("")).trim().to_string())
                }
                _ => {}
            }
        }
        if !status.success() || lines.last().map(String::as_str) != Some("done") {
            let why = stderr
                .trim()
                .trim_start_matches("bench-runner: error: ")
                .to_string();
            let why = if why.is_empty() {
                format!("recovery child ended with {status}")
            } else {
                why
            };
            o.violation = Some(format!("recovery failed: {why}"));
            o.recovery_failure = Some(why);
            return Ok(Some(o));
        }
        if let Some(s) = scan.filter(|s| s != "ok") {
            o.corrupt_reads += 1;
            o.violation = Some(format!("scan after recovery: {s}"));
        }
        check(&ops, acked, &state, &self.policy, &mut o);
        if let (Some(v), false) = (&mut o.violation, report.files_lost.is_empty()) {
            let names: Vec<String> = report
                .files_lost
                .iter()
                .map(|p| p.display().to_string())
                .collect();
            v.push_str(&format!(
                " (files with synced data whose names the crash removed: {})",
                names.join(", ")
            ));
        }
        if o.lost > 0 {
            o.cause = Some(if o.files_lost > 0 {
                LossCause::DirEntryNeverSynced
            } else if report.truncates_reverted > 0 {
                LossCause::TruncateReverted
            } else {
                LossCause::DataNeverSynced
            });
        }
        Ok(Some(o))
    }

    /// Runs `trials` trials; `None` when interrupted.
    pub fn run(
        &self,
        trials: u64,
        base_seed: u64,
        stop: &AtomicBool,
    ) -> Result<Option<CrashSummary>> {
        let mut s = CrashSummary {
            engine: self.engine.name.into(),
            policy: self.policy.to_string(),
            profile: profile_label(self.profile),
            ..CrashSummary::default()
        };
        for i in 0..trials {
            let seed = crash::trial_seed(base_seed, self.engine, &self.policy, self.profile, i);
            let mode = CrashMode::ALL[(i % 4) as usize];
            match self.trial(seed, mode, stop)? {
                Some(o) => s.add(&o, seed),
                None => return Ok(None),
            }
        }
        Ok(Some(s))
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The recovery child: opens the engine (its recovery), prints every key
/// (`key K none` or `key K HEX`), whether a full scan agrees (`scan ok` or
/// `scan differs: ...`), closes it, and prints `done`.
pub fn read_back(args: &CrashChildArgs) -> Result<u8> {
    let policy: SyncPolicy = args.policy.parse()?;
    let info = engines::registry::info(&args.engine)?;
    let engine = info
        .open(child_config(&args.dir, policy))
        .context("recovery (engine open)")?;
    let state = crash::read_all(&*engine).context("read after recovery")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    for (k, v) in &state {
        match v {
            Some(v) => writeln!(out, "key {k} {}", hex(v))?,
            None => writeln!(out, "key {k} none")?,
        }
    }
    let caps = engine.capabilities();
    if caps.range_scans && caps.point_reads {
        let scanned = engine
            .scan(b"", None, usize::MAX)
            .context("scan after recovery")?;
        let want: Vec<(Vec<u8>, Vec<u8>)> = state
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| (crash::key_bytes(*k), v.clone())))
            .collect();
        if scanned == want {
            writeln!(out, "scan ok")?;
        } else {
            writeln!(
                out,
                "scan differs: {} entries scanned, {} live keys read",
                scanned.len(),
                want.len()
            )?;
        }
    }
    engine.close().context("close after recovery")?;
    writeln!(out, "done")?;
    out.flush()?;
    Ok(0)
}

fn profiles(p: ProfileArg) -> Vec<Profile> {
    match p {
        ProfileArg::Posix => vec![Profile::Posix],
        ProfileArg::Linux => vec![Profile::Linux],
        ProfileArg::Both => vec![Profile::Posix, Profile::Linux],
    }
}

/// The flag Ctrl-C sets (checked at least every 100 ms during a trial).
fn install_stop() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    // A second Ctrl-C while the first is being honoured is ignored.
    let _ = ctrlc::set_handler(move || flag.store(true, Relaxed));
    stop
}

/// Removes the scratch folder on every path out of the run.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `crash --fs fuse`; returns the exit code (1 when a promise was
/// broken, 130 when interrupted).
pub fn run(args: &CrashArgs, command_line: &str) -> Result<u8> {
    if args.kill || args.replay.is_some() {
        bail!("--fs fuse cannot be combined with --kill or --replay");
    }
    if args.ops == 0 {
        bail!("--ops must be at least 1");
    }
    let engines = crate::run::resolve_engines(&args.engines)?;
    let policies = crate::run::resolve_policies(&args.policies)?;
    simfuse::fuse_available().context(
        "--fs fuse mounts the simulated filesystem through FUSE, which needs /dev/fuse and root",
    )?;
    let stop = install_stop();
    let quiet = args.output.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let mut env = results::Environment::capture(args.disk.as_deref());
    let out = crate::output::results_dir(args.output.out.as_deref(), &env.host, "crash")?;
    let run_id = crate::output::run_id(&env.host);
    let disk = args.disk.clone().unwrap_or_else(std::env::temp_dir);
    let scratch = Scratch(crate::run::prepare_disk(&disk, &run_id)?);
    let exe = std::env::current_exe().context("find bench-runner's own executable")?;
    let trials = args.trials.unwrap_or(20);
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    let mut interrupted = false;
    'lines: for &info in &engines {
        for &policy in &policies {
            if let Err(why) = (info.supports)(&policy) {
                if !args.policies.is_empty() {
                    eprintln!("note: {} {policy} skipped: {why}", info.name);
                }
                continue;
            }
            for profile in profiles(args.profile) {
                if !quiet {
                    eprint!(
                        "\r\x1b[2K{} {} {} ...",
                        info.name,
                        policy,
                        profile_label(profile)
                    );
                }
                let line = FuseLine {
                    exe: &exe,
                    work: &scratch.0,
                    engine: info,
                    policy,
                    profile,
                    ops: args.ops,
                };
                match line.run(trials, args.seed, &stop)? {
                    Some(s) => {
                        if let Some(v) = &s.first_violation {
                            broken.push(format!("{} {} {}: {v}", s.engine, s.policy, s.profile));
                        }
                        rows.push(crate::crash_cmd::row(&s));
                    }
                    None => {
                        interrupted = true;
                        break 'lines;
                    }
                }
            }
        }
    }
    if !quiet {
        eprint!("\r\x1b[2K");
    }
    drop(scratch);
    env.command = command_line.to_string();
    env.started_utc = crate::output::utc_now();
    if !out.environment().exists() {
        results::write_json(&out.environment(), &env)?;
    }
    results::write_csv(&out.crash(), &rows)?;
    crate::crash_cmd::print_table(&rows);
    println!("{}", out.root().display());
    if interrupted {
        eprintln!("bench-runner: interrupted; every mount was undone; the finished lines are in the table above");
        return Ok(crate::EXIT_INTERRUPTED);
    }
    if !broken.is_empty() {
        for b in &broken {
            eprintln!("broken: {b}");
        }
        eprintln!(
            "bench-runner: {} line(s) broke their policy's promise through FUSE (first failure of each above)",
            broken.len()
        );
        return Ok(crate::EXIT_CHECK_FAILED);
    }
    Ok(0)
}
