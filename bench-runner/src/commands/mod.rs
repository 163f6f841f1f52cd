//! The commands: one module per subcommand, and the dispatch from the
//! parsed command line to them.

pub mod capacity;
pub mod crash;
pub mod list;
pub mod merge;
pub mod plot;
pub mod probe;
pub mod recovery;
pub mod run;
pub mod store;

use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::cli::plan::{OutputFormat, ProbeJob, RunPlan};
use crate::cli::store::StoreCommand;
use crate::cli::{Cli, Command};
use crate::output;
use crate::support::signals;

/// Runs the parsed command; the exit code on success.
pub(crate) fn dispatch(cli: Cli, command_line: &str) -> Result<u8> {
    match cli.command {
        None => run_command(&RunPlan::from_args(&cli.run, command_line)?),
        Some(Command::Run(args)) => run_command(&RunPlan::from_args(&args, command_line)?),
        Some(Command::Probe(args)) => probe::command(&ProbeJob::from_args(&args, command_line)?),
        Some(Command::List) => {
            list::print()?;
            Ok(0)
        }
        Some(Command::Plot(args)) => {
            let cell = args.cell.as_deref();
            let (out, warnings) = match (&args.results, args.from.selection()) {
                (Some(dir), _) => plot::plot(dir, args.out.as_deref(), cell)?,
                (None, Some((store, sel))) => {
                    plot::plot_stored(store, &sel, args.out.as_deref(), cell)?
                }
                (None, None) => anyhow::bail!("plot needs a results folder, or --store FILE"),
            };
            plot::print_warnings(&warnings);
            outln!("{}", out.display())?;
            Ok(0)
        }
        Some(Command::Crash(args)) => {
            crash::run(&crash::CrashPlan::from_args(&args, command_line)?)
        }
        Some(Command::CrashChild(args)) => crash::child(&args),
        Some(Command::Capacity(args)) => {
            capacity::command(&capacity::CapacityPlan::from_args(&args, command_line)?)
        }
        Some(Command::Recovery(args)) => {
            recovery::run(&recovery::RecoveryPlan::from_args(&args, command_line)?)
        }
        Some(Command::RecoveryChild(args)) => recovery::child(&args),
        Some(Command::Store(args)) => match &args.command {
            StoreCommand::Add(a) => store::add(&a.results, &a.store),
            StoreCommand::List(a) => store::list(&a.store),
        },
        Some(Command::Compare(args)) => {
            let out = plot::compare(
                &args.results,
                args.from.selection(),
                args.output.out.as_deref(),
                args.force,
                args.output.label.as_deref(),
            )?;
            outln!("{}", out.display())?;
            Ok(0)
        }
        Some(Command::Merge(args)) => {
            let out = merge::merge(&args, command_line)?;
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
                if let Err(e) = plot::plot(&out, None, None) {
                    eprintln!(
                        "bench-runner: charts and report not drawn: {}",
                        crate::error_chain(&e)
                    );
                }
            }
            output::store::add_finished(plan.store.as_deref(), &out)?;
            show_path(&out)?;
            Ok(0)
        }
        run::RunEnd::Interrupted => {
            output::store::not_added(plan.store.as_deref(), &out);
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
            output::store::not_added(plan.store.as_deref(), &out);
            show_path(&out)?;
            Ok(crate::EXIT_ERROR)
        }
    }
}
