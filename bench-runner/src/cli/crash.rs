//! The command-line options of `crash` and its hidden child. The command's
//! code is in [`crate::commands::crash`]; the command line depends on none
//! of it.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::cli::output::OutputArgs;

/// Which simulated filesystem profiles to run (`engines::fs::profile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ProfileArg {
    /// Only what POSIX promises.
    Posix,
    /// ext4 data=ordered (rows say `linux`); the same as ext4-ordered.
    Linux,
    /// ext4 data=ordered (rows say `linux`).
    Ext4Ordered,
    /// xfs: data not ordered with renames and creates.
    Xfs,
    /// btrfs: a file's fsync commits its own names, not its siblings'; a failed fsync reverts the file.
    Btrfs,
    /// ext4 data=journal: data and names persist in one order; a failed fsync is reported by the next.
    Ext4Journal,
    /// posix and linux.
    #[default]
    Both,
    /// Every profile.
    All,
}

/// Where the engines' files live during crash trials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FsArg {
    /// In process, on the simulated filesystem (our engines only).
    #[default]
    Sim,
    /// The simulated filesystem mounted through FUSE, each engine (or the
    /// --exec program) in a child process that is power-cut.
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
    /// Where trials run: `sim` (in process, our five engines) or `fuse` (the simulated filesystem mounted through FUSE, every engine or the --exec program in a child process, power-cut by SIGKILL plus a simulated crash; needs /dev/fuse and root; mounts under --disk, else the system temp folder; 20 trials per line unless --trials says).
    #[arg(long, value_enum, default_value_t = FsArg::Sim)]
    pub fs: FsArg,
    /// Simulated filesystem profile: posix, linux (= ext4-ordered), xfs, btrfs, ext4-journal, both (posix and linux) or all.
    #[arg(long, value_enum, default_value_t = ProfileArg::Both)]
    pub profile: ProfileArg,
    /// With --fs fuse: each trial answers one seeded fsync (file or directory, among the first ops/4 after the program's first reply) with EIO; the profile decides what the failure does to the data (ext4-ordered, xfs: dropped; btrfs: the file reverts; ext4-journal: reported by the next fsync).
    #[arg(long)]
    pub fsync_eio: bool,
    /// Trials per engine x policy x profile line (default: 500; with --kill or --exec, kills per line, default 10; with --fs fuse, power cuts per line, default 20).
    #[arg(long, value_name = "N")]
    pub trials: Option<u64>,
    /// Operations per trial before the crash.
    #[arg(long, default_value_t = 80, value_name = "N")]
    pub ops: u64,
    /// Base seed; each trial's seed derives from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Writers at once in the extra concurrent lines run for `always` and
    /// `group` policies (slow simulated syncs in process; through FUSE, that
    /// many requests at once in one crash-child process, our engines only),
    /// so group commit's leader/follower path is checked; 0 skips them.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub threads: u64,
    /// Trials per concurrent line (default: a fifth of --trials).
    #[arg(long, value_name = "N")]
    pub concurrent_trials: Option<u64>,
    /// Rerun one trial by its seed (a BROKEN line prints the exact command) and print its trace; uses the first engine, policy and profile given.
    #[arg(long, value_name = "SEED")]
    pub replay: Option<u64>,
    /// Process crashes on a real disk: SIGKILL a child process driving each engine (needs --disk).
    #[arg(long)]
    pub kill: bool,
    /// Test an external engine: a shell command speaking the line protocol on stdin/stdout (see docs/crash.md), started with `sh -c CMD` and BENCH_DIR set to its data directory; needs --exec-promise, and --disk unless --fs fuse.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// What the --exec program claims an `ok` means: none, always or batch:N.
    #[arg(long, value_name = "POLICY", requires = "exec")]
    pub exec_promise: Option<String>,
    /// Directory on the disk for --kill and --exec, and where --fs fuse mounts (default for --fs fuse: the system temp folder; a fresh subfolder is used and removed).
    #[arg(long, value_name = "DIR")]
    pub disk: Option<PathBuf>,
    /// Testing the checker only: syncs on the simulated filesystem report success without syncing (through FUSE: our engines' syncs in crash-child).
    #[arg(long, hide = true)]
    pub broken_sync: bool,
    /// Bounded exhaustive check instead of seeded trials: every workload of --depth steps over 2 keys (put, overwrite, delete, sync, maintenance, reopen, two racing puts), a power cut after every simulator operation, into every state the profile allows (at most 1,024 per crash instant, a seeded sample beyond); simulated filesystem only; `trials` then counts workloads.
    #[arg(long, conflicts_with_all = ["kill", "exec", "replay", "trials", "broken_sync"])]
    pub exhaustive: bool,
    /// Steps per workload of --exhaustive (default: 2; 3 takes about ten times as long).
    #[arg(long, value_name = "N", requires = "exhaustive")]
    pub depth: Option<usize>,
    /// The results store the finished folder is added to.
    #[command(flatten)]
    pub store: crate::cli::store::StoreTarget,
    /// Output options.
    #[command(flatten)]
    pub output: OutputArgs,
}

/// Hidden child of `crash --kill`: serves the line protocol for one engine.
#[derive(Debug, Args, Clone)]
pub struct CrashChildArgs {
    /// Engine.
    #[arg(long)]
    pub engine: String,
    /// Policy.
    #[arg(long)]
    pub policy: String,
    /// Engine directory (default: $BENCH_DIR).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Testing the checker only: the engine's syncs report success without
    /// syncing (engines that do their own I/O are not reached).
    #[arg(long)]
    pub broken_sync: bool,
}
