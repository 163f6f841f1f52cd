//! `bench-runner`: measures what durability costs on a disk and proves what
//! it protects. The binary is a thin wrapper over [`main_with_args`].

/// `println!` for the data a command prints on stdout (rows, tables, the
/// results folder), returning the write's [`std::io::Result`] instead of
/// panicking when stdout is closed (`bench-runner list | head -1`). Callers
/// propagate the error with `?`; [`main_with_args`] turns a broken pipe
/// into a quiet exit, as ripgrep's main does.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

pub mod build_info;
pub mod capacity;
pub mod capacity_args;
pub mod ceilings;
pub mod cell;
pub mod cli;
pub mod crash_args;
pub mod crash_cmd;
pub mod drive;
pub mod faults;
pub mod list;
pub mod memory;
pub mod null;
pub mod numbers;
pub mod output;
pub mod output_args;
pub mod plan;
pub mod probe;
pub mod progress;
pub mod recovery_args;
pub mod recovery_cmd;
pub mod report;
pub mod reporter;
pub mod rows;
pub mod run;
pub mod schedule;
pub mod scratch;
pub mod signals;
pub mod sys;
pub mod table;
pub mod timeline;

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{CommandFactory, Parser};

use cli::{Cli, Command};
use plan::{OutputFormat, ProbeJob, RunPlan};

/// Exit code: the run finished but a check failed (e.g. a durability violation).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C (SIGTERM gives 143, SIGHUP 129).
pub const EXIT_INTERRUPTED: u8 = 130;
pub use build_info::{short_commit, GIT_COMMIT};

/// Parses the command line, runs the command, prints errors with their
/// whole chain, and maps the outcome to an exit code.
pub fn main_with_args(args: Vec<String>) -> ExitCode {
    if args.len() <= 1 {
        // Not the full matrix on the current directory: say what to type.
        eprintln!("{}", cli::SHORT_USAGE);
        return ExitCode::from(EXIT_ERROR);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            if e.kind() == clap::error::ErrorKind::MissingRequiredArgument
                && e.to_string().contains("--disk")
            {
                let example = if args.get(1).is_some_and(|a| a == "probe") {
                    "probe --disk /mnt/nvme/tmp"
                } else {
                    "--disk /mnt/nvme/tmp --quick"
                };
                eprintln!(
                    "\nExample: bench-runner {example}\n  (--disk names a folder on the disk to measure; a scratch folder is made and removed there)"
                );
            }
            return ExitCode::from(if e.use_stderr() { EXIT_ERROR } else { 0 });
        }
    };
    let command_line = args.join(" ");
    match dispatch(cli, &command_line) {
        Ok(code) => ExitCode::from(code),
        // The reader of stdout went away (`| head -1`): what it wanted is
        // printed, the results files are written, and the scratch folder
        // was removed as the error unwound. Nothing to report.
        Err(e) if is_broken_pipe(&e) => ExitCode::from(0),
        Err(e) => {
            eprintln!("bench-runner: error: {}", error_chain(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Whether a broken pipe (stdout closed by its reader) is anywhere in the
/// error's chain.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes, `: `-separated, leaving out a cause whose text
/// the message before it already contains (an error that prints its source
/// and also returns it from `source()` would otherwise repeat it).
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn dispatch(cli: Cli, command_line: &str) -> Result<u8> {
    match cli.command {
        None => run_command(&RunPlan::from_args(&cli.run, command_line)?),
        Some(Command::Run(args)) => run_command(&RunPlan::from_args(&args, command_line)?),
        Some(Command::Probe(args)) => probe_command(&ProbeJob::from_args(&args, command_line)?),
        Some(Command::List) => {
            list::print()?;
            Ok(0)
        }
        Some(Command::Plot(args)) => {
            let (out, warnings) = report::plot(&args.results, args.out.as_deref())?;
            report::print_warnings(&warnings);
            outln!("{}", out.display())?;
            Ok(0)
        }
        Some(Command::Crash(args)) => {
            crash_cmd::run(&crash_cmd::CrashPlan::from_args(&args, command_line)?)
        }
        Some(Command::CrashChild(args)) => crash_cmd::child(&args),
        Some(Command::Capacity(args)) => {
            capacity::command(&capacity::CapacityPlan::from_args(&args, command_line)?)
        }
        Some(Command::Recovery(args)) => {
            recovery_cmd::run(&recovery_cmd::RecoveryPlan::from_args(&args, command_line)?)
        }
        Some(Command::RecoveryChild(args)) => recovery_cmd::child(&args),
        Some(Command::Compare(args)) => {
            let out = report::compare(
                &args.results,
                args.output.out.as_deref(),
                args.output.label.as_deref(),
            )?;
            outln!("{}", out.display())?;
            Ok(0)
        }
        Some(Command::Completions(args)) => {
            // Into memory first: clap_complete panics when its writer fails.
            let mut script = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "bench-runner", &mut script);
            output::write_stdout(format_args!("{}", String::from_utf8_lossy(&script)))
                .context("write the completion script to stdout")?;
            Ok(0)
        }
        Some(Command::Man) => {
            clap_mangen::Man::new(Cli::command())
                .render(&mut std::io::stdout().lock())
                .context("write the man page to stdout")?;
            Ok(0)
        }
    }
}

fn run_command(plan: &RunPlan) -> Result<u8> {
    for n in &plan.notes {
        eprintln!("note: {n}");
    }
    let signals = signals::Signals::install()?;
    let (end, out) = run::run(plan, signals.stop_flag())?;
    let show_path = |out: &std::path::Path| -> std::io::Result<()> {
        match plan.format {
            OutputFormat::Table => outln!("{}", out.display()),
            OutputFormat::Json => {
                eprintln!("results: {}", out.display());
                Ok(())
            }
        }
    };
    match end {
        run::RunEnd::Finished => {
            if plan.plots {
                if let Err(e) = report::plot(&out, None) {
                    eprintln!(
                        "bench-runner: charts and report not drawn: {}",
                        error_chain(&e)
                    );
                }
            }
            show_path(&out)?;
            Ok(0)
        }
        run::RunEnd::Interrupted => {
            let sig = signals.received().unwrap_or(signals::StopSignal::Int);
            eprintln!(
                "bench-runner: stopped by {}; the running cell was abandoned and its files removed from --disk; finished cells are in {}",
                sig.name(),
                out.display()
            );
            show_path(&out)?;
            Ok(sig.exit_code())
        }
        run::RunEnd::DiskFull => {
            show_path(&out)?;
            Ok(EXIT_ERROR)
        }
    }
}

fn probe_command(job: &ProbeJob) -> Result<u8> {
    let mut env = results::Environment::capture(None);
    let out = output::fresh_results_dir(&job.out, &env.host, "probe")?;
    let run_id = output::run_id(&env.host);
    let work = scratch::ScratchDir::create(&job.disk, &run_id)?;
    let label = job.label.clone().unwrap_or_else(|| env.host.clone());
    env = build_info::environment(Some(&job.disk));
    env.run_id = run_id.clone();
    env.label = label.clone();
    env.command = job.command_line.clone();
    env.started_utc = output::utc_now();
    results::write_json(&out.environment(), &env)?;
    let policies: Vec<engines::SyncPolicy> = ["none", "always", "batch:32", "always@fsync"]
        .iter()
        .filter_map(|p| p.parse().ok())
        .collect();
    let mut plan = probe::plan_for(
        &policies,
        job.record_sizes.iter().copied(),
        &job.threads,
        false,
        env.disk.as_ref(),
    );
    plan.min_time = job.per_pattern;
    let mut progress = progress::Progress::new(progress::ProgressMode::detect(job.quiet));
    let rows = probe::run(&work.path().join("probe"), &plan, |m| progress.step(m));
    progress.finish();
    drop(work);
    let mut rows = rows?;
    for r in &mut rows {
        r.run_id = run_id.clone();
        r.label = label.clone();
    }
    results::write_csv(&out.probe(), &rows).context("write probe.csv")?;
    let mut warnings = results::Warnings::of_disk(&env);
    warnings.extend(results::Warnings::of_probe(&rows));
    report::print_warnings(&warnings);
    outln!("{}", table::probe_table(&rows))?;
    outln!("{}", out.root().display())?;
    Ok(0)
}
