//! The simulator's tables: every file (inode) with the data the running
//! system reads, its durable image and the data operations made since its
//! last sync; every directory with its entries as the running system sees
//! them and as they are durable, and the name operations not yet durable.
//!
//! A state-changing call takes the next operation number; pending
//! operations carry it, so a crash can keep "everything before an instant"
//! across files and directories, and a trace can name each one.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::{CrashImage, Faults, Profile, SimFs};
use crate::fs::parent_dir;

/// Directories and their entries (name to inode number).
pub(super) type Dirs = BTreeMap<PathBuf, BTreeMap<String, u64>>;

/// A data operation on a file, kept until the file's next sync.
#[derive(Debug, Clone)]
pub(super) enum DataOp {
    Write {
        off: u64,
        bytes: Vec<u8>,
    },
    SetLen(u64),
    /// `allocate`: grows to at least this length with zeros, never shrinks.
    Allocate(u64),
}

#[derive(Debug, Clone, Default)]
pub(super) struct Inode {
    pub(super) data: Vec<u8>,
    pub(super) durable: Vec<u8>,
    /// (global op number, op) since the last sync.
    pub(super) pending: Vec<(u64, DataOp)>,
    pub(super) synced: bool,
    /// A failed sync whose error the next sync reports
    /// ([`FsyncFailure::ReportNext`](crate::fs::FsyncFailure::ReportNext)).
    pub(super) sync_error_pending: bool,
}

impl Inode {
    /// A file whose data is `img`, all of it durable (after a crash).
    pub(super) fn durable(img: Vec<u8>, synced: bool) -> Self {
        Inode {
            data: img.clone(),
            durable: img,
            pending: Vec::new(),
            synced,
            sync_error_pending: false,
        }
    }
}

/// A name operation on a directory, kept until it is committed.
#[derive(Debug, Clone)]
pub(super) enum NameOp {
    Link { name: String, ino: u64 },
    Unlink { name: String },
}

impl NameOp {
    /// Applies the operation to a directory's entries.
    pub(super) fn apply_to(&self, entries: &mut BTreeMap<String, u64>) {
        match self {
            NameOp::Link { name, ino } => {
                entries.insert(name.clone(), *ino);
            }
            NameOp::Unlink { name } => {
                entries.remove(name);
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct State {
    pub(super) inodes: HashMap<u64, Inode>,
    pub(super) next_ino: u64,
    pub(super) dirs: Dirs,
    pub(super) durable_dirs: Dirs,
    /// (global op number, directory, op) not yet durable.
    pub(super) pending_names: Vec<(u64, PathBuf, NameOp)>,
    pub(super) op: u64,
    pub(super) syncs: u64,
    /// Syncs started (fault numbering; equals `syncs` without a delay).
    pub(super) syncs_started: u64,
    pub(super) dir_syncs: u64,
    /// How long a sync takes (see [`SimFs::set_sync_delay`]).
    pub(super) sync_delay: std::time::Duration,
    pub(super) writes: u64,
    pub(super) bytes: u64,
    pub(super) faults: Faults,
    pub(super) freeze_at_sync: Option<u64>,
    pub(super) frozen: Option<Box<State>>,
    /// Operation log for traces, when asked for.
    pub(super) events: Option<Vec<String>>,
    /// State-changing calls so far (operation boundaries, see
    /// [`super::image`]).
    pub(super) boundaries: u64,
    /// Freeze the crash image at this boundary ([`SimFs::freeze_after_op`]).
    pub(super) freeze_at_op: Option<u64>,
    /// A crash image at every boundary, when asked for.
    pub(super) crash_points: Option<Vec<CrashImage>>,
}

impl State {
    /// Records a data operation on inode `ino` under the next operation
    /// number, applied to what the running system reads; returns the number.
    pub(super) fn data_op(&mut self, ino: u64, op: DataOp) -> u64 {
        self.op += 1;
        let opn = self.op;
        let node = self.inodes.entry(ino).or_default();
        apply(&mut node.data, &op);
        node.pending.push((opn, op));
        opn
    }

    /// Records a name operation under the next operation number.
    pub(super) fn name_op(&mut self, dir: &Path, op: NameOp) {
        self.op += 1;
        let opn = self.op;
        self.name_op_at(opn, dir, op);
    }

    /// Records a name operation under operation number `opn` (a rename
    /// records its link and unlink under one number, so no crash splits it).
    pub(super) fn name_op_at(&mut self, opn: u64, dir: &Path, op: NameOp) {
        op.apply_to(self.dirs.entry(dir.to_path_buf()).or_default());
        self.pending_names.push((opn, dir.to_path_buf(), op));
    }

    /// The inode `path` names, if any.
    pub(super) fn lookup(&self, path: &Path) -> Option<u64> {
        let (dir, name) = split(path);
        self.dirs.get(&dir).and_then(|d| d.get(&name)).copied()
    }
}

impl SimFs {
    /// The filesystem that holds `inodes` under `dirs`, all of it durable:
    /// what a crash leaves.
    pub(super) fn recovered(
        profile: Profile,
        inodes: HashMap<u64, Inode>,
        next_ino: u64,
        dirs: Dirs,
    ) -> Self {
        SimFs {
            profile,
            state: Arc::new(Mutex::new(State {
                inodes,
                next_ino,
                dirs: dirs.clone(),
                durable_dirs: dirs,
                ..State::default()
            })),
        }
    }
}

/// A path as its directory and its name in it.
pub(super) fn split(path: &Path) -> (PathBuf, String) {
    let dir = parent_dir(path).to_path_buf();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    (dir, name)
}

pub(super) fn apply(data: &mut Vec<u8>, op: &DataOp) {
    match op {
        DataOp::Write { off, bytes } => {
            let off = *off as usize;
            if data.len() < off + bytes.len() {
                data.resize(off + bytes.len(), 0);
            }
            data[off..off + bytes.len()].copy_from_slice(bytes);
        }
        DataOp::SetLen(n) => data.resize(*n as usize, 0),
        DataOp::Allocate(n) => {
            if data.len() < *n as usize {
                data.resize(*n as usize, 0);
            }
        }
    }
}

/// The end of the furthest write in `ops`.
pub(super) fn writes_end(ops: &[(u64, DataOp)]) -> u64 {
    ops.iter()
        .filter_map(|(_, op)| match op {
            DataOp::Write { off, bytes } => Some(off + bytes.len() as u64),
            DataOp::SetLen(_) | DataOp::Allocate(_) => None,
        })
        .max()
        .unwrap_or(0)
}

/// The distinct operation numbers of everything pending, names and data,
/// in order.
pub(super) fn pending_ops<'a>(
    names: &[(u64, PathBuf, NameOp)],
    data: impl Iterator<Item = &'a [(u64, DataOp)]>,
) -> Vec<u64> {
    let mut ops: Vec<u64> = names
        .iter()
        .map(|p| p.0)
        .chain(data.flat_map(|d| d.iter().map(|p| p.0)))
        .collect();
    ops.sort_unstable();
    ops.dedup();
    ops
}

/// `durable` with the kept name operations of `pending` applied.
pub(super) fn names_after(
    durable: &Dirs,
    pending: &[(u64, PathBuf, NameOp)],
    keep: &[bool],
) -> Dirs {
    let mut dirs = durable.clone();
    for ((_, dir, op), kept) in pending.iter().zip(keep) {
        if *kept {
            op.apply_to(dirs.entry(dir.clone()).or_default());
        }
    }
    dirs
}

/// The inodes `dirs` names.
pub(super) fn reachable(dirs: &Dirs) -> HashSet<u64> {
    dirs.values().flat_map(|d| d.values().copied()).collect()
}

/// Current paths of every named inode (the first name, in path order).
pub(super) fn paths_by_inode(st: &State) -> HashMap<u64, PathBuf> {
    let mut out = HashMap::new();
    for (dir, entries) in st.dirs.iter().chain(st.durable_dirs.iter()) {
        for (name, ino) in entries {
            out.entry(*ino).or_insert_with(|| dir.join(name));
        }
    }
    out
}
