//! Fault injection: which call fails ([`Faults`], counted over the whole
//! filesystem), and what a failed file sync leaves behind, as the
//! profile's [`FsyncFailure`] says. The calls themselves
//! ([`super::file`], [`super::sync`]) ask here and act on the answer.

use std::path::Path;

use super::state::{Inode, State};
use super::SimFs;
use crate::fs::FsyncFailure;
use crate::{Error, Result};

/// Injected faults. Counts are 1-based over the whole filesystem.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Faults {
    /// The n-th sync (file or directory, counted together) fails with EIO.
    /// A failed file sync does what the profile's [`FsyncFailure`] says
    /// (ext4-ordered: drops the file's pending data from the durable path,
    /// reports the error, and a later sync reports success); a failed
    /// directory sync drops the pending name operations it would have
    /// committed, and a later one reports success.
    pub fail_sync: Option<u64>,
    /// The n-th directory sync fails with EIO (as a failed `fail_sync`
    /// directory sync does).
    pub fail_dir_sync: Option<u64>,
    /// The n-th write writes half its bytes and fails with EIO.
    pub short_write: Option<u64>,
    /// Writes fail with ENOSPC once this many bytes were written.
    pub disk_bytes: Option<u64>,
}

/// What a file sync does once faults are accounted for.
pub(super) struct FileSyncOutcome {
    /// Its pending data becomes durable.
    pub(super) commits: bool,
    /// It returns EIO.
    pub(super) fails: bool,
    /// What the operation log adds after `fsync <path>`.
    pub(super) note: &'static str,
}

impl SimFs {
    /// Sets the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }
}

impl State {
    /// Counts a write starting: ENOSPC when it would pass
    /// [`Faults::disk_bytes`], otherwise whether it is the short write.
    pub(super) fn write_fault(&mut self, path: &Path, len: usize) -> Result<bool> {
        self.writes += 1;
        let n = self.writes;
        let faults = self.faults;
        if let Some(limit) = faults.disk_bytes {
            if self.bytes + len as u64 > limit {
                self.event(|| format!("write {} +{len} -> ENOSPC (injected)", path.display()));
                return Err(Error::io(
                    "write",
                    path,
                    std::io::Error::from_raw_os_error(28),
                ));
            }
        }
        Ok(faults.short_write == Some(n))
    }

    /// Counts a file sync starting; whether it is the one to fail.
    pub(super) fn file_sync_fault(&mut self) -> bool {
        self.syncs_started += 1;
        self.faults.fail_sync == Some(self.syncs_started)
    }

    /// Counts a directory sync starting; whether it is the one to fail.
    pub(super) fn dir_sync_fault(&mut self) -> bool {
        self.dir_syncs += 1;
        self.syncs_started += 1;
        self.faults.fail_sync == Some(self.syncs_started)
            || self.faults.fail_dir_sync == Some(self.dir_syncs)
    }
}

/// What a file sync does to `node`, given whether this sync is the
/// injected failure and what the profile does on one.
pub(super) fn file_sync_outcome(
    node: &mut Inode,
    injected: bool,
    failure: FsyncFailure,
) -> FileSyncOutcome {
    let outcome = |commits, fails, note| FileSyncOutcome {
        commits,
        fails,
        note,
    };
    // An error an earlier sync left for this one to report: it
    // reports it and commits nothing (ext4 data=journal).
    let deferred = std::mem::take(&mut node.sync_error_pending);
    match (deferred, injected, failure) {
        (true, _, _) => outcome(false, true, " -> EIO (of an earlier failed fsync)"),
        (false, false, _) => outcome(true, false, ""),
        // The pages are marked clean: their data never reaches the
        // durable image, reads still see it, the next sync succeeds.
        (false, true, FsyncFailure::MarkClean) => {
            node.pending.clear();
            outcome(false, true, " -> EIO (injected)")
        }
        // The file is its durable image again, in memory too.
        (false, true, FsyncFailure::Revert) => {
            node.pending.clear();
            node.data = node.durable.clone();
            outcome(
                false,
                true,
                " -> EIO (injected; the file reverts to its durable image)",
            )
        }
        // The data reached the journal: durable, and the error (of
        // the checkpoint) is reported by the next sync.
        (false, true, FsyncFailure::ReportNext) => {
            node.sync_error_pending = true;
            outcome(
                true,
                false,
                " -> ok (EIO injected: the next fsync reports it)",
            )
        }
    }
}

/// EIO from `op` on `path`.
pub(super) fn eio(op: &'static str, path: &Path) -> Error {
    Error::io(op, path, std::io::Error::from_raw_os_error(5))
}
