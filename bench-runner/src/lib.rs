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

pub mod cli;
pub mod commands;
pub mod measure;
pub mod output;
pub mod support;

use std::process::ExitCode;

use clap::Parser;

use cli::Cli;

/// Exit code: the run finished but a check failed (e.g. a durability violation).
pub const EXIT_CHECK_FAILED: u8 = 1;
/// Exit code: usage or I/O error.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C (SIGTERM gives 143, SIGHUP 129).
pub const EXIT_INTERRUPTED: u8 = 130;
pub use support::build_info::{short_commit, GIT_COMMIT};

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
    match commands::dispatch(cli, &command_line) {
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
