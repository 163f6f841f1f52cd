//! [`SimFs`]: an in-memory filesystem that models the page cache, so a
//! crash can lose exactly what a power loss can lose.
//!
//! Every file has a durable image and the operations (writes, truncates)
//! made since its last sync; every directory has durable entries and the
//! creates, renames and removes made since its last directory sync.
//! `sync_data`/`sync_all` make a file's pending data durable; `sync_dir`
//! makes a directory's pending entries durable. A [`Profile`] decides what
//! else is durable and what a failed sync does; the simulator asks its
//! [rules](super::profile::ProfileRules), never its name (the profiles and
//! their sources: [`super::profile`]). The two original ones:
//!
//! - [`Profile::Posix`]: only what POSIX promises. A new name survives only
//!   a sync of its directory; unsynced appends may leave the file longer,
//!   filled with zeros.
//! - [`Profile::Linux`] (ext4-ordered): name operations persist in the
//!   order they were made (a crash keeps a prefix of them), and any file or
//!   directory sync commits every name operation made before it (the
//!   journal commit). This is generous to `fdatasync`: on ext4 an
//!   `fdatasync` that has no size or allocation change to commit (an
//!   overwrite inside the file) commits no journal transaction, so a rename
//!   made before it is not durable by it. Code that needs such a rename
//!   durable without a directory sync `fsync`s the file first (recycled
//!   logs, [`crate::recycle`]).
//!
//! Reserved space ([`VFile::allocate`]) is a pending data operation like a
//! write or a truncate: it reads as zeros, becomes durable with the file's
//! next `sync_data` or `sync_all` under both profiles (the size is metadata
//! that fdatasync must commit, since the data cannot be read back without
//! it: POSIX, and ext4/xfs in practice), and before that a crash keeps it or
//! not, in order with the file's other unsynced operations. The model does
//! not charge fdatasync for the size change; only real disks show that cost.
//!
//! [`SimFs::crash`] builds the filesystem a power loss leaves, from a seed
//! and a [`CrashMode`]. Within one file, unsynced operations persist in
//! order (a prefix); across files and directories, [`CrashMode::Subset`]
//! keeps any combination.
//!
//! A rename is one operation: a crash keeps it whole or not at all (ext4
//! and xfs journal it as one transaction).
//!
//! Faults ([`Faults`]) inject a failing sync (what a failed file sync does
//! is the profile's [`FsyncFailure`]: on ext4-ordered the pending data is
//! dropped from the durable path and a later sync of the same file reports
//! success; a failed directory sync drops its name operations the same way
//! on every profile), a short write, and a full disk. [`SimFs::set_sync_delay`]
//! makes syncs take time, so writes racing with a sync are not covered by
//! it (for concurrent writers). [`SimFs::record_events`] logs every call for
//! traces.
//!
//! For exhaustive checks ([`image`]), every state-changing call (a write,
//! truncate, reservation, name operation or sync) is an operation
//! boundary: [`SimFs::capture_crash_points`] keeps a [`CrashImage`] at each
//! one, and [`CrashImage::build`] makes the filesystem of one explicit
//! [`CrashChoice`] of what survives.
//!
//! ## Files
//!
//! - [`state`]: the tables of files and directories, each with what the
//!   running system sees, what is durable and what is pending;
//! - [`file`](mod@file) and [`vfs`]: the [`VFile`] and [`Vfs`] calls, each
//!   recording a pending operation;
//! - [`sync`]: syncs, which make pending state durable;
//! - [`faults`]: which call fails and what a failed sync leaves;
//! - [`record`]: the operation log, operation boundaries, the frozen
//!   crash instant and the crash images kept at every boundary;
//! - [`crash`]: the seeded power loss, [`SimFs::crash`];
//! - [`report`]: what a crash destroyed, [`CrashReport`];
//! - [`image`] and [`space`]: the exhaustive counterpart, every state a
//!   crash at one boundary may leave.
//!
//! [`VFile`]: super::VFile
//! [`VFile::allocate`]: super::VFile::allocate
//! [`Vfs`]: super::Vfs
//! [`FsyncFailure`]: super::FsyncFailure

mod crash;
mod faults;
mod file;
mod image;
mod record;
mod report;
mod space;
mod state;
mod sync;
mod vfs;

pub use crash::{CrashMode, CrashRng};
pub use faults::Faults;
pub use image::{CrashChoice, CrashImage, FileChoice};
pub use report::CrashReport;
pub use space::StateSpace;

use std::sync::{Arc, Mutex, MutexGuard};

pub use super::profile::Profile;
use state::State;

/// The simulated filesystem. Cloning shares the same state.
#[derive(Debug, Clone)]
pub struct SimFs {
    profile: Profile,
    state: Arc<Mutex<State>>,
}

impl SimFs {
    /// An empty filesystem with `/` as its only directory.
    pub fn new(profile: Profile) -> Self {
        let mut st = State::default();
        st.dirs.insert("/".into(), Default::default());
        st.durable_dirs.insert("/".into(), Default::default());
        SimFs {
            profile,
            state: Arc::new(Mutex::new(st)),
        }
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests;
