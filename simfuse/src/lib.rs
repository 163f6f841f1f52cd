//! `simfuse`: the crash simulator's [`engines::fs::SimFs`] served through
//! FUSE, so that any process (SQLite, redb, fjall, an external program, or
//! our own engines on a plain `RealFs`) writes through the kernel into the
//! same page-cache model the in-process crash trials use, and can be
//! power-cut: kill the process, then [`engines::fs::SimFs::crash`] the
//! served state and mount what survives.
//!
//! The mount is made with fuser's pure-Rust path: as root it opens
//! `/dev/fuse` and calls mount(2) itself, so neither libfuse nor
//! `fusermount` nor pkg-config is needed to build or run.
//!
//! ## Operations
//!
//! | FUSE request | modelled as |
//! |---|---|
//! | `create`, `mknod` (regular files) | `Vfs::create`: a pending name until a directory sync |
//! | `write` (also mmap writeback) | `VFile::write_at`: pending data until a file sync |
//! | `setattr` size (truncate, extend) | `VFile::set_len`: pending until a file sync |
//! | `fsync` (datasync flag: fdatasync), `msync` | `VFile::sync_data` / `sync_all` |
//! | `fsyncdir` | `Vfs::sync_dir` |
//! | `rename` of a file (also `RENAME_NOREPLACE`) | `Vfs::rename`, one atomic name operation |
//! | `unlink` | `Vfs::remove` |
//! | `fallocate` mode 0 (`posix_fallocate`) | `VFile::allocate(offset + length)`: grows the file with zeros, pending until a file sync |
//! | `fallocate` `FALLOC_FL_KEEP_SIZE` | accepted, nothing changes: the simulator has no blocks to reserve, and the size stays |
//! | `mkdir` | `Vfs::create_dir_all` (directories are durable once made) |
//! | `lookup`, `getattr`, `readdir`, `read`, `open`, `flush`, `release` | reads of the current (page-cache) state; `flush`/`release` make nothing durable |
//!
//! Refused: `rmdir` and renaming a directory (`EOPNOTSUPP`: SimFs has no
//! directory removal or directory rename), `RENAME_EXCHANGE` (`EINVAL`),
//! every other `fallocate` mode (punch hole, zero, collapse or insert
//! range, unshare: `EOPNOTSUPP`), symlinks and hard links
//! (`EPERM`), extended attributes (`ENOSYS`). Mode, owner and timestamps
//! are accepted and not stored. File locks are not sent to the daemon (the
//! kernel keeps them locally).
//!
//! ## Traces
//!
//! When the simulator records events ([`engines::fs::SimFs::record_events`]),
//! the daemon adds a `FUSE ...` line for requests whose name says more than
//! the simulator call that follows (`FUSE setattr size=0 -> set_len`,
//! `FUSE fsync datasync (fdatasync) -> sync_data`, `fallocate` modes) and
//! for refused requests; lookups, getattr, reads, opens and closes are not
//! listed, since they change nothing a crash could keep or drop.
//!
//! ## Durability
//!
//! No writeback cache is negotiated and files are not opened with
//! `direct_io`: every `write(2)` reaches the simulator before it returns
//! (the kernel page cache only serves reads), and dirty pages of a shared
//! mapping are written back by the kernel before it sends FSYNC, so
//! `msync(MS_SYNC)` and `fsync` cover them. Unsynced data therefore sits in
//! the simulator, where a crash can drop it, never hidden in the kernel.

mod fs;
mod mount;

pub use fs::SimFuse;
pub use mount::{fuse_available, is_mounted, mounts_under, sweep, Mounted, FS_NAME};

use std::path::PathBuf;

/// What can go wrong mounting or unmounting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// FUSE cannot be used on this machine.
    #[error("FUSE is not available: {0}")]
    Unavailable(String),
    /// The mount failed.
    #[error("cannot mount the simulated filesystem at {path} (FUSE mounts need root here, or fusermount3 for other users)")]
    Mount {
        /// The mount point.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The unmount failed, even lazily.
    #[error("cannot unmount {path}, not even lazily")]
    Unmount {
        /// The mount point.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}
