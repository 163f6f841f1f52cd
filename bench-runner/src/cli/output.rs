//! The output options every command that writes files shares (`--out`,
//! `--label`, `--force`, `--quiet`).

use std::path::PathBuf;

use clap::Args;

/// Options shared by every command that writes files.
#[derive(Debug, Args, Clone, Default)]
pub struct OutputArgs {
    /// Results folder (default: a new folder ./bench-results/<host>-<command>-<time>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Name for this machine/disk in results and charts (default: the host name).
    #[arg(long)]
    pub label: Option<String>,
    /// No progress output on stderr (it is also hidden when stderr is not a terminal).
    #[arg(long, short)]
    pub quiet: bool,
}
