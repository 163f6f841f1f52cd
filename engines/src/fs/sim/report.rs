//! [`CrashReport`]: what a crash destroyed, counted for labelling losses
//! and listed operation by operation for traces. The seeded crash
//! ([`super::crash`]) and the exhaustive one ([`super::image`]) both fill
//! it through the helpers here, so the two label losses alike.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::state::{DataOp, Dirs, NameOp};

/// What a crash destroyed, for labelling losses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrashReport {
    /// Files that had synced data but whose name did not survive.
    pub files_lost: Vec<PathBuf>,
    /// Truncations that did not survive (the old, longer content is back).
    pub truncates_reverted: u64,
    /// Removals of a file that did not survive (not the old name of a
    /// rename): the removed file is back under its name, as SQLite's
    /// journal is when its unlink, the commit, was never synced.
    pub removes_reverted: u64,
    /// Unsynced data operations dropped.
    pub writes_dropped: u64,
    /// The pending (unsynced) operations the crash kept, in operation
    /// order, each as `#N what` (`#12 write /db/x @0 +137`, `#13 create
    /// /db/y`), for traces.
    pub kept: Vec<String>,
    /// The pending operations the crash dropped, in the same form; a write
    /// torn at a sector says how much of it was kept.
    pub dropped: Vec<String>,
}

/// One pending operation's fate: (op number, kept, `#N what`).
pub(super) type Fate = (u64, bool, String);

impl CrashReport {
    /// Fills [`CrashReport::kept`] and [`CrashReport::dropped`] from the
    /// fates, in operation order.
    pub(super) fn list_fates(&mut self, mut fates: Vec<Fate>) {
        fates.sort_by_key(|f| f.0);
        for (_, keep, text) in fates {
            if keep {
                self.kept.push(text);
            } else {
                self.dropped.push(text);
            }
        }
    }
}

/// Files with synced data whose name is gone: each name in the running
/// system's `dirs` whose inode is not in `surviving` and `had_synced_data`
/// (temporaries of a replace in progress do not count: nothing depends on
/// them).
pub(super) fn files_lost(
    dirs: &Dirs,
    surviving: &HashSet<u64>,
    had_synced_data: impl Fn(u64) -> bool,
) -> Vec<PathBuf> {
    let mut lost = Vec::new();
    for (dir, entries) in dirs {
        for (name, ino) in entries.iter().filter(|(n, _)| !n.ends_with(".tmp")) {
            if !surviving.contains(ino) && had_synced_data(*ino) {
                lost.push(dir.join(name));
            }
        }
    }
    lost
}

/// `#N what` of a pending data operation on the file at `path`.
pub(super) fn data_op_text(opn: u64, path: &str, op: &DataOp) -> String {
    match op {
        DataOp::Write { off, bytes } => format!("#{opn} write {path} @{off} +{}", bytes.len()),
        DataOp::SetLen(n) => format!("#{opn} set_len {path} {n}"),
        DataOp::Allocate(n) => format!("#{opn} allocate {path} {n}"),
    }
}

/// How many removals the crash dropped: unlinks of their own, not the
/// unlink half of a rename (recorded under the same operation number as
/// its link).
pub(super) fn removes_dropped(pending: &[(u64, PathBuf, NameOp)], kept: &[bool]) -> u64 {
    pending
        .iter()
        .zip(kept)
        .filter(|((opn, _, op), keep)| {
            !**keep
                && matches!(op, NameOp::Unlink { .. })
                && !pending
                    .iter()
                    .any(|(n, _, o)| n == opn && matches!(o, NameOp::Link { .. }))
        })
        .count() as u64
}

/// The fate of each pending name operation; the two halves of a rename (a
/// link and an unlink under one number) read as one rename when the crash
/// kept or dropped both.
pub(super) fn name_fates(pending: &[(u64, PathBuf, NameOp)], kept: &[bool]) -> Vec<Fate> {
    let path = |dir: &Path, op: &NameOp| match op {
        NameOp::Link { name, .. } | NameOp::Unlink { name } => dir.join(name).display().to_string(),
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i < pending.len() {
        let (opn, dir, op) = &pending[i];
        let keep = kept.get(i).copied().unwrap_or(false);
        if let (NameOp::Link { .. }, Some((next, from_dir, from @ NameOp::Unlink { .. }))) =
            (op, pending.get(i + 1))
        {
            if next == opn {
                let (from, to) = (path(from_dir, from), path(dir, op));
                let keep_from = kept.get(i + 1).copied().unwrap_or(false);
                if keep == keep_from {
                    out.push((*opn, keep, format!("#{opn} rename {from} -> {to}")));
                } else {
                    out.push((
                        *opn,
                        keep,
                        format!("#{opn} rename {from} -> {to}: the new name"),
                    ));
                    out.push((
                        *opn,
                        keep_from,
                        format!("#{opn} rename {from} -> {to}: the removal of the old name"),
                    ));
                }
                i += 2;
                continue;
            }
        }
        let what = match op {
            NameOp::Link { .. } => "create",
            NameOp::Unlink { .. } => "remove",
        };
        out.push((*opn, keep, format!("#{opn} {what} {}", path(dir, op))));
        i += 1;
    }
    out
}
