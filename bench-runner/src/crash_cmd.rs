//! `bench-runner crash`: the durability verification table.
//!
//! On the simulated filesystem (profiles `posix` and `linux`), every engine
//! x policy line runs seeded crash trials (see `engines::crash`). With
//! `--kill --disk DIR`, a child process drives each engine on the real disk
//! and reports every acknowledgement over a pipe; the parent kills it with
//! SIGKILL at a random moment, reopens the engine and checks that every
//! acknowledged write survived (a process crash keeps everything that
//! reached the kernel, so this holds under every policy, `none` included).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use engines::crash::{self, CrashSummary, TrialSpec};
use engines::fs::{CrashRng, Faults, Profile};
use engines::{EngineConfig, SyncPolicy};
use results::CrashRow;

use crate::cli::OutputArgs;

/// Which simulated filesystem profiles to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProfileArg {
    /// Only what POSIX promises.
    Posix,
    /// ext4/xfs defaults.
    Linux,
    /// Both.
    #[default]
    Both,
}

/// Where the engines' files live during crash trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FsArg {
    /// In process, on the simulated filesystem (our engines only).
    #[default]
    Sim,
    /// The simulated filesystem mounted through FUSE, every engine in a
    /// child process (see `crash_fuse`).
    Fuse,
}

/// Options of `crash`.
#[derive(Debug, Args, Clone)]
pub struct CrashArgs {
    /// Engines, comma-separated (default: every registered engine).
    #[arg(long, value_delimiter = ',')]
    pub engines: Vec<String>,
    /// Policies, comma-separated (default: none,always,always+dir,batch:32+dir,group+dir).
    #[arg(long, value_delimiter = ',')]
    pub policies: Vec<String>,
    /// Where trials run: `sim` (in process, our five engines) or `fuse` (the simulated filesystem mounted through FUSE, every engine in a child process, power-cut by SIGKILL plus a simulated crash; needs /dev/fuse and root; mounts under --disk, default the system temp folder; default 20 trials per line).
    #[arg(long, value_enum, default_value_t = FsArg::Sim)]
    pub fs: FsArg,
    /// Simulated filesystem profile (default: both).
    #[arg(long, value_enum, default_value_t = ProfileArg::Both)]
    pub profile: ProfileArg,
    /// Trials per engine x policy x profile line (default: 500; with --kill, kills per engine x policy, default 10).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Operations per trial before the crash (default: 80).
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub ops: u64,
    /// Base seed; each trial's seed derives from it (default: 1).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Writers at once in the extra concurrent lines run for `always` and
    /// `group` policies (slow simulated syncs, so group commit's
    /// leader/follower path is checked); 0 skips them.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub threads: u64,
    /// Trials per concurrent line (default: a fifth of --trials).
    #[arg(long, value_name = "N")]
    pub concurrent_trials: Option<u64>,
    /// Rerun one trial by its seed (from the table's first failing seed) and print its trace; uses the first engine, policy and profile given.
    #[arg(long, value_name = "SEED")]
    pub replay: Option<u64>,
    /// Process crashes on a real disk: SIGKILL a child process driving each engine (needs --disk).
    #[arg(long)]
    pub kill: bool,
    /// Directory on the disk for --kill (a fresh subfolder is used and removed).
    #[arg(long, value_name = "DIR")]
    pub disk: Option<PathBuf>,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Hidden child of `crash --kill`.
#[derive(Debug, Args, Clone)]
pub struct CrashChildArgs {
    /// Engine.
    #[arg(long)]
    pub engine: String,
    /// Policy.
    #[arg(long)]
    pub policy: String,
    /// Engine directory.
    #[arg(long)]
    pub dir: PathBuf,
    /// Seed.
    #[arg(long)]
    pub seed: u64,
    /// Use the in-process crash trials' small file sizes (rotation, flush,
    /// merge and checkpoint within a few dozen writes).
    #[arg(long)]
    pub trial_sizes: bool,
    /// Recover, print every key and exit (the recovery half of `--fs fuse`).
    #[arg(long)]
    pub read_back: bool,
}

fn profiles(p: ProfileArg) -> Vec<Profile> {
    match p {
        ProfileArg::Posix => vec![Profile::Posix],
        ProfileArg::Linux => vec![Profile::Linux],
        ProfileArg::Both => vec![Profile::Posix, Profile::Linux],
    }
}

pub(crate) fn row(s: &CrashSummary) -> CrashRow {
    CrashRow {
        engine: s.engine.clone(),
        policy: s.policy.clone(),
        profile: s.profile.clone(),
        trials: s.trials,
        acked_writes: s.acked_writes,
        trials_with_loss: s.trials_with_loss,
        lost_writes: s.lost_writes,
        files_lost: s.files_lost,
        corrupt_reads: s.corrupt_reads,
        resurrected_deletes: s.resurrected_deletes,
        recovery_failures: s.recovery_failures,
        first_failing_seed: s.first_failing_seed,
        promise_kept: s.promise_kept(),
        loss_causes: s
            .causes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(";"),
    }
}

/// Prints the crash table.
pub fn print_table(rows: &[CrashRow]) {
    println!(
        "{:<8} {:<13} {:<15} {:>6} {:>7} {:>16} {:>6} {:>7} {:>7} {:>9} {:<8} first failing seed",
        "engine",
        "policy",
        "fs",
        "trials",
        "acked",
        "lost (trials/wr)",
        "files",
        "corrupt",
        "resurr",
        "rec.fail",
        "promise"
    );
    for r in rows {
        println!(
            "{:<8} {:<13} {:<15} {:>6} {:>7} {:>16} {:>6} {:>7} {:>7} {:>9} {:<8} {}",
            r.engine,
            r.policy,
            r.profile,
            r.trials,
            r.acked_writes,
            format!("{}/{}", r.trials_with_loss, r.lost_writes),
            r.files_lost,
            r.corrupt_reads,
            r.resurrected_deletes,
            r.recovery_failures,
            if r.promise_kept { "kept" } else { "BROKEN" },
            r.first_failing_seed
                .map(|s| s.to_string())
                .unwrap_or_default()
        );
    }
}

/// Runs `crash`; returns the exit code (1 when a promise was broken).
pub fn run(args: &CrashArgs, command_line: &str) -> Result<u8> {
    if args.fs == FsArg::Fuse {
        return crate::crash_fuse::run(args, command_line);
    }
    let engines = crate::run::resolve_engines(&args.engines)?;
    let policies = crate::run::resolve_policies(&args.policies)?;
    if args.ops == 0 {
        bail!("--ops must be at least 1");
    }
    if let Some(seed) = args.replay {
        let profile = profiles(args.profile)[0];
        let spec = TrialSpec {
            engine: engines[0],
            policy: policies[0],
            profile,
            seed,
            ops: args.ops,
            broken_sync: false,
            faults: Faults::default(),
        };
        let o = crash::run_trial(&spec, true);
        println!(
            "replay: engine {} policy {} profile {} seed {seed}",
            spec.engine.name,
            spec.policy,
            profile.name()
        );
        for line in &o.trace {
            println!("  {line}");
        }
        println!(
            "acknowledged {}, lost {}, files lost {}, corrupt reads {}, recovery: {}",
            o.acked,
            o.lost,
            o.files_lost,
            o.corrupt_reads,
            o.recovery_failure.as_deref().unwrap_or("ok")
        );
        println!(
            "verdict: {}",
            o.violation.as_deref().unwrap_or("promise kept")
        );
        return Ok(if o.violation.is_some() {
            crate::EXIT_CHECK_FAILED
        } else {
            0
        });
    }
    let quiet = args.output.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let env = results::Environment::capture(args.disk.as_deref());
    let out = crate::output::results_dir(args.output.out.as_deref(), &env.host, "crash")?;
    let mut rows = Vec::new();
    if args.kill {
        let Some(disk) = &args.disk else {
            bail!("--kill needs --disk DIR (process crashes are checked on a real disk)");
        };
        let run_id = crate::output::run_id(&env.host);
        let work = crate::run::prepare_disk(disk, &run_id)?;
        let result = kill_trials(
            &work,
            &engines,
            &policies,
            args.trials.unwrap_or(10),
            args.seed,
            quiet,
        );
        let _ = std::fs::remove_dir_all(&work);
        rows = result?;
    } else {
        let trials = args.trials.unwrap_or(500);
        for info in engines.iter().filter(|e| !e.uses_vfs) {
            eprintln!(
                "note: {} does its own I/O, which the simulated filesystem cannot reach; check it with --kill --disk DIR",
                info.name
            );
        }
        for &info in engines.iter().filter(|e| e.uses_vfs) {
            for &policy in &policies {
                for profile in profiles(args.profile) {
                    if !quiet {
                        eprint!("\r\x1b[2K{} {} {} ...", info.name, policy, profile.name());
                    }
                    let s = crash::run_line(info, policy, profile, trials, args.seed, args.ops);
                    rows.push(row(&s));
                }
            }
        }
        // Concurrent lines: only where an acknowledgement means durable, so
        // that acknowledgements from several threads need no common order.
        let concurrent = args.concurrent_trials.unwrap_or(trials / 5);
        if args.threads > 0 && concurrent > 0 {
            for &info in engines.iter().filter(|e| e.uses_vfs) {
                for &policy in policies.iter().filter(|p| p.max_lost_writes() == Some(0)) {
                    for profile in profiles(args.profile) {
                        if !quiet {
                            eprint!(
                                "\r\x1b[2K{} {} {} {} threads ...",
                                info.name,
                                policy,
                                profile.name(),
                                args.threads
                            );
                        }
                        let s = crash::run_concurrent_line(
                            info,
                            policy,
                            profile,
                            concurrent,
                            args.seed,
                            args.ops,
                            args.threads,
                        );
                        rows.push(row(&s));
                    }
                }
            }
        }
        if !quiet {
            eprint!("\r\x1b[2K");
        }
    }
    let mut env = env;
    env.command = command_line.to_string();
    env.started_utc = crate::output::utc_now();
    // Added to an existing run's folder, the run's own environment stays.
    if !out.environment().exists() {
        results::write_json(&out.environment(), &env)?;
    }
    results::write_csv(&out.crash(), &rows)?;
    print_table(&rows);
    let broken = rows.iter().filter(|r| !r.promise_kept).count();
    if broken > 0 {
        eprintln!(
            "bench-runner: {broken} line(s) broke their policy's promise; rerun one with --replay SEED (and that line's --engines/--policies/--profile) to see its trace"
        );
    }
    println!("{}", out.root().display());
    Ok(if broken > 0 {
        crate::EXIT_CHECK_FAILED
    } else {
        0
    })
}

/// The child of `--kill`: writes until killed, printing each acknowledgement.
pub fn child(args: &CrashChildArgs) -> Result<u8> {
    if args.read_back {
        return crate::crash_fuse::read_back(args);
    }
    let policy: SyncPolicy = args.policy.parse()?;
    let info = engines::registry::info(&args.engine)?;
    let mut cfg = EngineConfig::new(&args.dir, policy);
    cfg.segment_bytes = 64 * 1024;
    cfg.memtable_bytes = 64 * 1024;
    cfg.checkpoint_bytes = 128 * 1024;
    if args.trial_sizes {
        cfg = crate::crash_fuse::child_config(&args.dir, policy);
    }
    let engine = info.open(cfg)?;
    let mut rng = CrashRng::new(args.seed);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    writeln!(out, "ready")?;
    out.flush()?;
    // Each operation is announced before it starts ("try") and
    // acknowledged after it returns ("ok"), so the parent knows both what
    // was acknowledged and the one operation in flight when it killed us.
    for v in 0.. {
        let k = rng.upto(crash::KEYS - 1);
        let delete = rng.upto(4) == 0;
        writeln!(out, "try {} {k} {v}", if delete { "del" } else { "put" })?;
        out.flush()?;
        if delete {
            engine.delete(&crash::key_bytes(k))?;
        } else {
            engine.put(
                &crash::key_bytes(k),
                &crash::value_bytes(k, v, (v % 50) as usize),
            )?;
        }
        writeln!(out, "ok")?;
        out.flush()?;
    }
    Ok(0)
}

fn kill_trials(
    work: &Path,
    engines: &[&'static engines::EngineInfo],
    policies: &[SyncPolicy],
    trials: u64,
    seed: u64,
    quiet: bool,
) -> Result<Vec<CrashRow>> {
    let exe = std::env::current_exe().context("find bench-runner's own executable")?;
    let mut rows = Vec::new();
    for &info in engines {
        for &policy in policies.iter().filter(|p| (info.supports)(p).is_ok()) {
            let mut s = CrashSummary {
                engine: info.name.into(),
                policy: policy.to_string(),
                profile: "kill".into(),
                ..CrashSummary::default()
            };
            for t in 0..trials {
                let trial_seed = seed.wrapping_mul(1_000_003).wrapping_add(t);
                let dir = work.join(format!(
                    "{}-{}-{t}",
                    info.name,
                    s.policy.replace([':', '+', '@'], "_")
                ));
                if !quiet {
                    eprint!("\r\x1b[2K{} {} kill {}/{trials}", info.name, policy, t + 1);
                }
                let outcome = kill_one(&exe, info, policy, &dir, trial_seed)?;
                s.add(&outcome, trial_seed);
                let _ = std::fs::remove_dir_all(&dir);
            }
            rows.push(row(&s));
        }
    }
    if !quiet {
        eprint!("\r\x1b[2K");
    }
    Ok(rows)
}

fn kill_one(
    exe: &Path,
    info: &'static engines::EngineInfo,
    policy: SyncPolicy,
    dir: &Path,
    seed: u64,
) -> Result<crash::TrialOutcome> {
    let mut child = Command::new(exe)
        .args([
            "crash-child",
            "--engine",
            info.name,
            "--policy",
            &policy.to_string(),
            "--seed",
            &seed.to_string(),
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("start the crash child process")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) => lines.push(l),
                Err(_) => break,
            }
        }
        lines
    });
    let mut rng = CrashRng::new(seed);
    // Let it get going, then kill it at a random moment.
    std::thread::sleep(Duration::from_millis(150 + rng.upto(350)));
    child.kill().context("SIGKILL the child")?;
    let _ = child.wait();
    let lines = reader.join().unwrap_or_default();
    if lines.first().map(String::as_str) != Some("ready") {
        bail!("crash child for {} {policy} did not start", info.name);
    }
    // Last acknowledged operation per key (version, Some(version) for a put
    // or None for a delete), and the operation in flight at the kill.
    let mut last: BTreeMap<u64, (u64, Option<u64>)> = BTreeMap::new();
    let mut in_flight: Option<(u64, u64, Option<u64>)> = None;
    let mut acked = 0;
    for l in &lines[1..] {
        if l == "ok" {
            if let Some((k, v, w)) = in_flight.take() {
                acked += 1;
                last.insert(k, (v, w));
            }
            continue;
        }
        let mut p = l.split(' ');
        let (Some("try"), Some(kind), Some(k), Some(v)) = (p.next(), p.next(), p.next(), p.next())
        else {
            continue;
        };
        let (Ok(k), Ok(v)) = (k.parse::<u64>(), v.parse::<u64>()) else {
            continue;
        };
        in_flight = Some((k, v, (kind == "put").then_some(v)));
    }
    let mut o = crash::TrialOutcome {
        acked,
        ..crash::TrialOutcome::default()
    };
    let engine = match info.open(EngineConfig::new(dir, policy)) {
        Ok(e) => e,
        Err(e) => {
            o.recovery_failure = Some(e.to_string());
            o.violation = Some(format!("recovery failed: {e}"));
            return Ok(o);
        }
    };
    let state = match crash::read_all(&*engine) {
        Ok(s) => s,
        Err(e) => {
            o.recovery_failure = Some(e.to_string());
            o.violation = Some(format!("read after recovery failed: {e}"));
            return Ok(o);
        }
    };
    for (k, (at, want)) in &last {
        let got = state.get(k).cloned().flatten();
        let got_version = got.as_ref().and_then(|v| crash::parse_value(*k, v));
        if got.is_some() && got_version.is_none() {
            o.corrupt_reads += 1;
            o.violation
                .get_or_insert(format!("k{k}: read a value never written"));
            continue;
        }
        // The observed state is the last acknowledged one, or the one the
        // write in flight at the kill would leave; never older.
        let flight = in_flight.filter(|(fk, _, _)| fk == k).map(|(_, _, w)| w);
        let ok = got_version == *want || flight.is_some_and(|w| w == got_version);
        if !ok {
            o.lost += 1;
            o.violation.get_or_insert(format!(
                "k{k}: acknowledged op {at} lost after SIGKILL (observed version {got_version:?})"
            ));
        }
    }
    let _ = engine.close();
    Ok(o)
}
