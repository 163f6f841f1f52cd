//! `bench-runner`: measures what durability costs on a disk and proves what
//! it protects. The binary is a thin wrapper over [`main_with_args`].

pub mod cell;
pub mod cli;
pub mod crash_cmd;
pub mod crash_fuse;
pub mod faults;
pub mod list;
pub mod null;
pub mod output;
pub mod probe;
pub mod report;
pub mod rows;
pub mod run;
pub mod sys;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command, ProbeArgs};

/// Exit code: the run finished but a check failed (e.g. a durability violation).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Parses the command line, runs the command, prints errors with their
/// whole chain, and maps the outcome to an exit code.
pub fn main_with_args(args: Vec<String>) -> ExitCode {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    let command_line = args.join(" ");
    match dispatch(cli, &command_line) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("bench-runner: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn dispatch(cli: Cli, command_line: &str) -> Result<u8> {
    match cli.command {
        None => run_command(&cli.run, command_line),
        Some(Command::Run(args)) => run_command(&args, command_line),
        Some(Command::Probe(args)) => probe_command(&args, command_line),
        Some(Command::List) => {
            list::print();
            Ok(0)
        }
        Some(Command::Plot(args)) => {
            let out = report::plot(&args.results, args.out.as_deref())?;
            println!("{}", out.display());
            Ok(0)
        }
        Some(Command::Crash(args)) => crash_cmd::run(&args, command_line),
        Some(Command::CrashChild(args)) => crash_cmd::child(&args),
        Some(Command::Compare(args)) => {
            let out = report::compare(&args.results, &args.output)?;
            println!("{}", out.display());
            Ok(0)
        }
    }
}

fn run_command(args: &cli::RunArgs, command_line: &str) -> Result<u8> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        // A second Ctrl-C while the first is being honoured is ignored.
        let _ = ctrlc::set_handler(move || stop.store(true, Relaxed));
    }
    let (end, out) = run::run(args, command_line, &stop)?;
    match end {
        run::RunEnd::Finished => {
            if !args.no_plots {
                if let Err(e) = report::plot(&out, None) {
                    eprintln!("bench-runner: charts and report not drawn: {e:#}");
                }
            }
            println!("{}", out.display());
            Ok(0)
        }
        run::RunEnd::Interrupted => {
            eprintln!("bench-runner: interrupted; the running cell was abandoned and its data removed; finished cells are in {}", out.display());
            println!("{}", out.display());
            Ok(EXIT_INTERRUPTED)
        }
        run::RunEnd::DiskFull => {
            println!("{}", out.display());
            Ok(EXIT_ERROR)
        }
    }
}

fn probe_command(args: &ProbeArgs, command_line: &str) -> Result<u8> {
    if args.duration <= 0.0 || !args.duration.is_finite() {
        anyhow::bail!("--duration must be a positive number of seconds");
    }
    if args.record_sizes.contains(&0) {
        anyhow::bail!("--record-sizes: 0 is not a record size");
    }
    let mut env = results::Environment::capture(None);
    let out = output::results_dir(args.output.out.as_deref(), &env.host, "probe")?;
    let run_id = output::run_id(&env.host);
    let work = run::prepare_disk(&args.disk, &run_id)?;
    let label = args
        .output
        .label
        .clone()
        .unwrap_or_else(|| env.host.clone());
    env = results::Environment::capture(Some(&args.disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = command_line.to_string();
    env.started_utc = output::utc_now();
    results::write_json(&out.environment(), &env)?;
    let plan = probe::ProbePlan {
        record_sizes: args.record_sizes.clone(),
        batches: vec![32],
        per_pattern: Duration::from_secs_f64(args.duration),
    };
    let quiet = args.output.quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr());
    let rows = probe::run(&work.join("probe"), &plan, |m| {
        if !quiet {
            eprintln!("{m}");
        }
    });
    let _ = std::fs::remove_dir_all(&work);
    let mut rows = rows?;
    for r in &mut rows {
        r.run_id = run_id.clone();
        r.label = label.clone();
    }
    results::write_csv(&out.probe(), &rows).context("write probe.csv")?;
    println!(
        "{:<22} {:>7} {:>11} {:>9} {:>9} {:>9}",
        "pattern", "bytes", "ops/s", "p50 us", "p99 us", "max us"
    );
    for r in &rows {
        println!(
            "{:<22} {:>7} {:>11.0} {:>9.1} {:>9.1} {:>9.1}",
            r.pattern, r.record_bytes, r.ops_per_sec, r.p50_us, r.p99_us, r.max_us
        );
    }
    println!("{}", out.root().display());
    Ok(0)
}
