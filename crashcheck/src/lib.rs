//! The crash checker: drive an engine on [`SimFs`](engines::fs::SimFs),
//! crash, recover through the same engine code, and check what the policy
//! promised. Rows come out as [`results::CrashRow`], one per table line.
//!
//! A trial writes a seeded workload of puts, deletes and now and then an
//! explicit [`Engine::sync`](engines::Engine::sync) over a small key space; every value names its
//! key and version (`k7:v42:....`), so a read tells exactly which write it
//! returns. The crash happens either after the workload or right after a
//! random sync point (the image is frozen at that sync: a two-pass crash
//! without running twice), with a random [`CrashMode`](engines::fs::CrashMode) (durable state only,
//! a prefix in time, a prefix with a torn sector, per-file subsets).
//! Recovery is the engine's own `open`; a quarter of the recoveries are
//! crashed themselves, right after one of their own syncs (counted in a
//! dry run) or at their end, and recovered again. A third of the trials
//! then keep writing on the recovered engine, crash and recover a second
//! time. After each recovery every key is read back (by `get`, or by
//! folding [`Engine::replay`](engines::Engine::replay) for engines without point reads; a full
//! `scan` must agree with `get`) and checked:
//!
//! - recovery succeeds (no error, no panic);
//! - no read returns a value never written for that key (corrupt read);
//! - acknowledged writes survive as the policy promises: all of them under
//!   `always` and `group`; all but at most the last N-1 under `batch:N`;
//!   under `none` losses are counted, not failed;
//! - every write acknowledged before a successful `Engine::sync` survives,
//!   whatever the policy, wherever file names are durable (`+dir`, or the
//!   `linux` profile); under `none` this is checked by crashing right after
//!   the sync, since later unsynced maintenance may legitimately rewrite it;
//! - the state a recovery returned survives the next crash (policies other
//!   than `none`);
//! - a deleted key whose delete was acknowledged does not come back
//!   (counted separately as a resurrected delete);
//! - with an injected sync failure (file or directory), nothing is
//!   acknowledged after it, and no later `Engine::sync` succeeds.
//!
//! Each trial with losses is labelled by cause: a directory entry never
//! synced (a file with synced data vanished), a removal never synced (a
//! removed file came back), a truncate reverted, or data
//! never synced; [`classify()`] tells losses a policy allows (no `+dir`)
//! from broken promises. [`run_concurrent_trial`] runs several writers at once on
//! slow syncs, for group commit. Traces ([`run_trial`] with `want_trace`)
//! list every operation with the filesystem calls it made.
//!
//! ## Modules
//!
//! - [`workload`]: keys, self-describing values, engine sizes, read-back;
//! - [`trial`]: the trial driver (workload, power cut, recovery, check);
//! - [`history`]: the history checker;
//! - [`concurrent`]: several writers at once;
//! - [`classify`](mod@classify): expected losses and the line verdict;
//! - [`line`]: table lines as [`results::CrashRow`];
//! - [`nosync`]: [`NoSyncFs`], the broken policy the checker must catch;
//! - [`protocol`]: the line protocol spoken by crash children and external
//!   engines (`crash --exec`);
//! - [`process`]: trials on a child process killed with SIGKILL (the
//!   `--kill` and `--exec` paths), with a hook for a power cut;
//! - [`process_concurrent`]: several writers at once in one engine
//!   process (tagged requests), for group commit through FUSE;
//! - [`kill`](mod@kill): the kill itself, which reaches the whole process tree;
//! - [`exhaustive`]: bounded exhaustive checks (`crash --exhaustive`):
//!   every small workload, every crash instant, every post-crash state;
//! - [`race`]: a second writer released inside a sync, for group commit;
//! - [`recovery`]: the check of `bench-runner recovery`'s many-key reopens.

pub mod classify;
pub mod concurrent;
pub mod exhaustive;
pub mod history;
pub mod kill;
pub mod line;
pub mod nosync;
pub mod process;
pub mod process_concurrent;
pub mod protocol;
pub mod race;
pub mod recovery;
pub mod trial;
pub mod workload;

pub use classify::{classify, classify_with, Verdict};
pub use concurrent::run_concurrent_trial;
pub use exhaustive::{run_exhaustive, ExhaustiveLine, ExhaustiveSpec, Step};
pub use line::{run_concurrent_line, run_line, trial_seed, LineSpec, LineTally};
pub use nosync::NoSyncFs;
pub use trial::{run_trial, ExpectedLoss, LossCause, TrialOutcome, TrialSpec};
pub use workload::{key_bytes, parse_value, read_all, trial_config, value_bytes, KEYS};
