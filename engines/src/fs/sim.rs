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

mod image;

pub use image::{CrashChoice, CrashImage, FileChoice, StateSpace};

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

pub use super::profile::Profile;
use super::profile::{DataOrder, FsyncFailure, NameCommit, NameOrder, ProfileRules};
use super::{parent_dir, FileHandle, VFile, Vfs};
use crate::{Error, Result};

/// How much of the unsynced state a crash keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrashMode {
    /// Only durable state.
    DurableOnly,
    /// Everything made before a random point in time.
    Prefix,
    /// As `Prefix`, and the first lost write is torn at a 512-byte sector
    /// boundary: the rest of it holds old bytes, zeros or garbage.
    Torn,
    /// Each file and directory independently keeps a random prefix of its
    /// unsynced operations.
    Subset,
}

impl CrashMode {
    /// Every mode.
    pub const ALL: [CrashMode; 4] = [
        CrashMode::DurableOnly,
        CrashMode::Prefix,
        CrashMode::Torn,
        CrashMode::Subset,
    ];
}

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
type Fate = (u64, bool, String);

impl CrashReport {
    /// Fills [`CrashReport::kept`] and [`CrashReport::dropped`] from the
    /// fates, in operation order.
    fn list_fates(&mut self, mut fates: Vec<Fate>) {
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

#[derive(Debug, Clone)]
enum DataOp {
    Write {
        off: u64,
        bytes: Vec<u8>,
    },
    SetLen(u64),
    /// `allocate`: grows to at least this length with zeros, never shrinks.
    Allocate(u64),
}

#[derive(Debug, Clone, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
    /// (global op number, op) since the last sync.
    pending: Vec<(u64, DataOp)>,
    synced: bool,
    /// A failed sync whose error the next sync reports
    /// ([`FsyncFailure::ReportNext`]).
    sync_error_pending: bool,
}

#[derive(Debug, Clone)]
enum NameOp {
    Link { name: String, ino: u64 },
    Unlink { name: String },
}

#[derive(Debug, Clone, Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_ino: u64,
    dirs: BTreeMap<PathBuf, BTreeMap<String, u64>>,
    durable_dirs: BTreeMap<PathBuf, BTreeMap<String, u64>>,
    /// (global op number, directory, op) not yet durable.
    pending_names: Vec<(u64, PathBuf, NameOp)>,
    op: u64,
    syncs: u64,
    /// Syncs started (fault numbering; equals `syncs` without a delay).
    syncs_started: u64,
    dir_syncs: u64,
    /// How long a sync takes (see [`SimFs::set_sync_delay`]).
    sync_delay: std::time::Duration,
    writes: u64,
    bytes: u64,
    faults: Faults,
    freeze_at_sync: Option<u64>,
    frozen: Option<Box<State>>,
    /// Operation log for traces, when asked for.
    events: Option<Vec<String>>,
    /// State-changing calls so far (operation boundaries, see [`image`]).
    boundaries: u64,
    /// Freeze the crash image at this boundary ([`SimFs::freeze_after_op`]).
    freeze_at_op: Option<u64>,
    /// A crash image at every boundary, when asked for.
    crash_points: Option<Vec<CrashImage>>,
}

impl State {
    fn event(&mut self, what: impl FnOnce() -> String) {
        if let Some(ev) = &mut self.events {
            ev.push(what());
        }
    }
}

/// Directories and their entries (name to inode number).
type Dirs = BTreeMap<PathBuf, BTreeMap<String, u64>>;

impl Inode {
    /// A file whose data is `img`, all of it durable (after a crash).
    fn durable(img: Vec<u8>, synced: bool) -> Self {
        Inode {
            data: img.clone(),
            durable: img,
            pending: Vec::new(),
            synced,
            sync_error_pending: false,
        }
    }
}

impl NameOp {
    /// Applies the operation to a directory's entries.
    fn apply_to(&self, entries: &mut BTreeMap<String, u64>) {
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

/// The simulated filesystem. Cloning shares the same state.
#[derive(Debug, Clone)]
pub struct SimFs {
    profile: Profile,
    state: Arc<Mutex<State>>,
}

fn enoent(path: &Path, op: &'static str) -> Error {
    Error::io(op, path, std::io::Error::from(std::io::ErrorKind::NotFound))
}

fn apply(data: &mut Vec<u8>, op: &DataOp) {
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

/// Current paths of every named inode (the first name, in path order).
fn paths_by_inode(st: &State) -> HashMap<u64, PathBuf> {
    let mut out = HashMap::new();
    for (dir, entries) in st.dirs.iter().chain(st.durable_dirs.iter()) {
        for (name, ino) in entries {
            out.entry(*ino).or_insert_with(|| dir.join(name));
        }
    }
    out
}

/// The end of the furthest write in `ops`.
fn writes_end(ops: &[(u64, DataOp)]) -> u64 {
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
fn pending_ops<'a>(
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
fn names_after(durable: &Dirs, pending: &[(u64, PathBuf, NameOp)], keep: &[bool]) -> Dirs {
    let mut dirs = durable.clone();
    for ((_, dir, op), kept) in pending.iter().zip(keep) {
        if *kept {
            op.apply_to(dirs.entry(dir.clone()).or_default());
        }
    }
    dirs
}

/// The inodes `dirs` names.
fn reachable(dirs: &Dirs) -> HashSet<u64> {
    dirs.values().flat_map(|d| d.values().copied()).collect()
}

/// Files with synced data whose name is gone: each name in the running
/// system's `dirs` whose inode is not in `surviving` and `had_synced_data`
/// (temporaries of a replace in progress do not count: nothing depends on
/// them).
fn files_lost(
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
fn data_op_text(opn: u64, path: &str, op: &DataOp) -> String {
    match op {
        DataOp::Write { off, bytes } => format!("#{opn} write {path} @{off} +{}", bytes.len()),
        DataOp::SetLen(n) => format!("#{opn} set_len {path} {n}"),
        DataOp::Allocate(n) => format!("#{opn} allocate {path} {n}"),
    }
}

/// How many removals the crash dropped: unlinks of their own, not the
/// unlink half of a rename (recorded under the same operation number as
/// its link).
fn removes_dropped(pending: &[(u64, PathBuf, NameOp)], kept: &[bool]) -> u64 {
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
fn name_fates(pending: &[(u64, PathBuf, NameOp)], kept: &[bool]) -> Vec<Fate> {
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

/// A tiny deterministic RNG for crash choices (SplitMix64).
#[derive(Debug, Clone)]
pub struct CrashRng(u64);

impl CrashRng {
    /// From a seed.
    pub fn new(seed: u64) -> Self {
        CrashRng(seed ^ 0x6A09_E667_F3BC_C909)
    }
    /// Next 64 bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..=n.
    pub fn upto(&mut self, n: u64) -> u64 {
        self.next_u64() % (n + 1)
    }
}

impl SimFs {
    /// An empty filesystem with `/` as its only directory.
    pub fn new(profile: Profile) -> Self {
        let mut st = State::default();
        st.dirs.insert(PathBuf::from("/"), BTreeMap::new());
        st.durable_dirs.insert(PathBuf::from("/"), BTreeMap::new());
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

    /// Sets the faults to inject.
    pub fn set_faults(&self, faults: Faults) {
        self.lock().faults = faults;
    }

    /// Starts recording name operations, writes, truncates and syncs for
    /// [`SimFs::take_events`] (operation traces).
    pub fn record_events(&self) {
        self.lock().events.get_or_insert_with(Vec::new);
    }

    /// Adds a line to the operation log, when one is being recorded (a
    /// layer above the simulator, such as the FUSE daemon, naming the
    /// request that led to the calls that follow).
    pub fn note_event(&self, line: impl FnOnce() -> String) {
        self.lock().event(line);
    }

    /// The operations recorded since the last call. Operations that a
    /// crash may keep or drop carry their operation number (`#17 write
    /// /db/x @0 +137`), the numbers [`CrashReport::kept`] and
    /// [`CrashReport::dropped`] use.
    pub fn take_events(&self) -> Vec<String> {
        self.lock()
            .events
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// File and directory syncs so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Freezes the crash image right after the `n`-th sync: a later
    /// [`SimFs::crash`] starts from the state at that instant.
    pub fn freeze_after_sync(&self, n: u64) {
        self.lock().freeze_at_sync = Some(n);
    }

    /// Freezes the crash image now (unless already frozen).
    pub fn freeze_now(&self) {
        let mut st = self.lock();
        if st.frozen.is_none() {
            Self::freeze(&mut st);
        }
    }

    /// Freezes the crash image right after operation boundary `k` (the
    /// `k`-th state-changing call: write, truncate, reservation, name
    /// operation or sync; see [`SimFs::boundaries`]).
    pub fn freeze_after_op(&self, k: u64) {
        self.lock().freeze_at_op = Some(k);
    }

    /// Operation boundaries so far.
    pub fn boundaries(&self) -> u64 {
        self.lock().boundaries
    }

    /// Starts keeping a [`CrashImage`] at every operation boundary, the
    /// current state first, for [`SimFs::take_crash_points`].
    pub fn capture_crash_points(&self) {
        let mut st = self.lock();
        let now = CrashImage::capture(&st, self.profile);
        st.crash_points = Some(vec![now]);
    }

    /// The crash images kept since [`SimFs::capture_crash_points`], in
    /// order; capturing stops.
    pub fn take_crash_points(&self) -> Vec<CrashImage> {
        self.lock().crash_points.take().unwrap_or_default()
    }

    /// One operation boundary passed: keeps its image and freezes, when
    /// asked to.
    fn boundary(st: &mut State, profile: Profile) {
        st.boundaries += 1;
        if st.crash_points.is_some() {
            let img = CrashImage::capture(st, profile);
            if let Some(points) = &mut st.crash_points {
                points.push(img);
            }
        }
        if st.freeze_at_op == Some(st.boundaries) && st.frozen.is_none() {
            Self::freeze(st);
        }
    }

    fn freeze(st: &mut State) {
        st.event(|| "== crash instant: the image is frozen here ==".to_string());
        let points = st.crash_points.take();
        let mut snap = st.clone();
        st.crash_points = points;
        snap.frozen = None;
        snap.events = None;
        st.frozen = Some(Box::new(snap));
    }

    /// Whether the crash image has been frozen.
    pub fn frozen(&self) -> bool {
        self.lock().frozen.is_some()
    }

    /// The filesystem a power loss leaves now (or at the frozen instant).
    pub fn crash(&self, seed: u64, mode: CrashMode) -> (SimFs, CrashReport) {
        let st = self.crash_instant_state();
        let mut loss = PowerLoss::new(&st, self.profile.rules(), mode, seed);
        let dirs = loss.surviving_dirs();
        let inodes = loss.surviving_files();
        let (inodes, report) = loss.finish(&dirs, inodes);
        (
            SimFs::recovered(self.profile, inodes, st.next_ino, dirs),
            report,
        )
    }

    /// The state a crash starts from: the frozen instant, or now.
    fn crash_instant_state(&self) -> State {
        let st = self.lock();
        match &st.frozen {
            Some(f) => (**f).clone(),
            None => st.clone(),
        }
    }

    /// The filesystem that holds `inodes` under `dirs`, all of it durable:
    /// what a crash leaves.
    fn recovered(profile: Profile, inodes: HashMap<u64, Inode>, next_ino: u64, dirs: Dirs) -> Self {
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

    fn split(path: &Path) -> (PathBuf, String) {
        let dir = parent_dir(path).to_path_buf();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        (dir, name)
    }

    fn name_op(st: &mut State, dir: &Path, op: NameOp) {
        st.op += 1;
        let opn = st.op;
        Self::name_op_at(st, opn, dir, op);
    }

    /// Records a name operation under operation number `opn` (a rename
    /// records its link and unlink under one number, so no crash splits it).
    fn name_op_at(st: &mut State, opn: u64, dir: &Path, op: NameOp) {
        op.apply_to(st.dirs.entry(dir.to_path_buf()).or_default());
        st.pending_names.push((opn, dir.to_path_buf(), op));
    }

    fn commit_names(st: &mut State, only: Option<&Path>) {
        Self::commit_names_where(st, |_, dir| only.is_none_or(|d| d == dir));
    }

    /// Commits the pending name operations that link inode `ino` (its
    /// create, its renames: both halves of each), as a btrfs fsync logs
    /// the names of the inode it syncs ([`NameCommit::OwnNames`]).
    fn commit_own_names(st: &mut State, ino: u64) {
        let own: std::collections::HashSet<u64> = st
            .pending_names
            .iter()
            .filter(|(_, _, op)| matches!(op, NameOp::Link { ino: i, .. } if *i == ino))
            .map(|p| p.0)
            .collect();
        Self::commit_names_where(st, |opn, _| own.contains(&opn));
    }

    /// Makes durable the pending name operations `commit` picks (by
    /// operation number and directory), in order.
    fn commit_names_where(st: &mut State, commit: impl Fn(u64, &Path) -> bool) {
        let mut keep = Vec::new();
        for (opn, dir, op) in std::mem::take(&mut st.pending_names) {
            if !commit(opn, &dir) {
                keep.push((opn, dir, op));
                continue;
            }
            op.apply_to(st.durable_dirs.entry(dir).or_default());
        }
        st.pending_names = keep;
    }

    /// Makes a sync take time (the lock released meanwhile): writes made
    /// while it runs are not covered by it, as on a real disk, so a syncer
    /// that acknowledges them is caught. Zero (the default) makes syncs
    /// instant.
    pub fn set_sync_delay(&self, delay: std::time::Duration) {
        self.lock().sync_delay = delay;
    }

    /// Sleeps for the sync delay without the lock (the sync's effect was
    /// already applied: it covers what was written before it started).
    fn sync_delay<'a>(&'a self, st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let delay = st.sync_delay;
        if delay.is_zero() {
            return st;
        }
        drop(st);
        std::thread::sleep(delay);
        self.lock()
    }

    fn counted_sync(&self, st: &mut State) {
        Self::boundary(st, self.profile);
        st.syncs += 1;
        if st.freeze_at_sync == Some(st.syncs) && st.frozen.is_none() {
            Self::freeze(st);
        }
    }
}

/// One power loss in progress: the state it strikes, its draws, and what
/// it has destroyed so far. The steps draw in a fixed order (the instant,
/// the names, then each file in inode order), so a seed replays a crash.
struct PowerLoss<'a> {
    st: &'a State,
    rules: &'static ProfileRules,
    mode: CrashMode,
    rng: CrashRng,
    /// `Some(instant)`: everything made before one instant survives (as
    /// the profile orders it); `None`: each file and directory keeps its
    /// own random prefix.
    instant: Option<u64>,
    report: CrashReport,
    fates: Vec<Fate>,
    /// Whether a write has been torn (one per crash).
    torn: bool,
}

impl<'a> PowerLoss<'a> {
    /// Draws the instant of the power loss.
    fn new(st: &'a State, rules: &'static ProfileRules, mode: CrashMode, seed: u64) -> Self {
        let mut rng = CrashRng::new(seed);
        let instant = match mode {
            CrashMode::DurableOnly => Some(0),
            CrashMode::Prefix | CrashMode::Torn => Some(rng.upto(st.op)),
            CrashMode::Subset if rules.data_order == DataOrder::Journaled => {
                Some(journal_prefix(st, &mut rng))
            }
            CrashMode::Subset => None,
        };
        PowerLoss {
            st,
            rules,
            mode,
            rng,
            instant,
            report: CrashReport::default(),
            fates: Vec::new(),
            torn: false,
        }
    }

    /// The directories after the crash: the durable entries with the
    /// surviving pending name operations applied.
    fn surviving_dirs(&mut self) -> Dirs {
        let pending = &self.st.pending_names;
        let kept = draw_surviving_names(self.rules.names, pending, self.instant, &mut self.rng);
        self.report.removes_reverted = removes_dropped(pending, &kept);
        self.fates = name_fates(pending, &kept);
        names_after(&self.st.durable_dirs, pending, &kept)
    }

    /// Every file after the crash, named or not, drawn in inode order.
    fn surviving_files(&mut self) -> HashMap<u64, Inode> {
        let st = self.st;
        let names = paths_by_inode(st);
        let mut inos: Vec<&u64> = st.inodes.keys().collect();
        inos.sort();
        let mut inodes = HashMap::new();
        for ino in inos {
            let path = names.get(ino).map_or_else(
                || format!("(unlinked inode {ino})"),
                |p| p.display().to_string(),
            );
            inodes.insert(*ino, self.surviving_file(&st.inodes[ino], &path));
        }
        inodes
    }

    /// What one file keeps: its durable image with a prefix of its pending
    /// operations applied, the first dropped one, if a write, perhaps torn
    /// (once per crash, under [`CrashMode::Torn`]), and the size perhaps
    /// extended with zeros.
    fn surviving_file(&mut self, node: &Inode, path: &str) -> Inode {
        let file_cut = self.file_cut(node);
        let kept = node
            .pending
            .iter()
            .take_while(|(opn, _)| *opn < file_cut)
            .count();
        let (kept_ops, dropped) = node.pending.split_at(kept);
        let mut img = node.durable.clone();
        for (_, op) in kept_ops {
            apply(&mut img, op);
        }
        let mut fates: Vec<Fate> = node
            .pending
            .iter()
            .enumerate()
            .map(|(i, (opn, op))| (*opn, i < kept, data_op_text(*opn, path, op)))
            .collect();
        self.report.writes_dropped += dropped.len() as u64;
        let longest = node.data.len().max(img.len());
        self.report.truncates_reverted += dropped
            .iter()
            .filter(|(_, op)| matches!(op, DataOp::SetLen(n) if (*n as usize) < longest))
            .count() as u64;
        if let Some((_, DataOp::Write { off, bytes })) = dropped.first() {
            if self.mode == CrashMode::Torn && !self.torn {
                self.torn = true;
                let (bytes, note) = self.tear(*off, bytes);
                fates[kept].2.push_str(&note);
                apply(&mut img, &DataOp::Write { off: *off, bytes });
            }
        }
        self.fates.extend(fates);
        self.zero_extend(&mut img, dropped, path);
        Inode::durable(img, node.synced)
    }

    /// The operation number before which `node`'s pending operations
    /// survive.
    fn file_cut(&mut self, node: &Inode) -> u64 {
        match self.instant {
            None => {
                let k = self.rng.upto(node.pending.len() as u64) as usize;
                node.pending.get(k).map_or(u64::MAX, |p| p.0)
            }
            // Data not ordered with names: this file keeps its own
            // prefix of what it had written before the instant.
            Some(cut) if self.rules.data_order == DataOrder::Independent => {
                let before: Vec<u64> = node
                    .pending
                    .iter()
                    .map(|p| p.0)
                    .filter(|o| *o < cut)
                    .collect();
                let k = self.rng.upto(before.len() as u64) as usize;
                before.get(k).copied().unwrap_or(cut)
            }
            Some(cut) => cut,
        }
    }

    /// A dropped write, torn: whole sectors (blocks, as the profile
    /// tears) of it, then old bytes, zeros or garbage; and what the
    /// report says of it.
    fn tear(&mut self, off: u64, bytes: &[u8]) -> (Vec<u8>, String) {
        let unit = self.rules.tear_unit;
        let sector_end = ((off / unit) + 1 + self.rng.upto(bytes.len() as u64 / unit)) * unit;
        let keep = (sector_end.saturating_sub(off) as usize).min(bytes.len());
        let mut torn = bytes[..keep].to_vec();
        let rest = bytes.len() - keep;
        let tail = match self.rng.upto(2) {
            0 => "old bytes",
            1 => {
                torn.extend(std::iter::repeat_n(0u8, rest));
                "zeros"
            }
            _ => {
                torn.extend((0..rest).map(|_| self.rng.next_u64() as u8));
                "garbage"
            }
        };
        let note = format!(" (torn: its first {keep} bytes kept, then {rest} bytes of {tail})");
        (torn, note)
    }

    /// Where the profile allows it, and the draw says so, the file keeps
    /// the size its dropped writes reached: the size was extended but the
    /// data never arrived, so zeros.
    fn zero_extend(&mut self, img: &mut Vec<u8>, dropped: &[(u64, DataOp)], path: &str) {
        if !(self.rules.unsynced_extend_zeroes && self.rng.upto(1) == 1) {
            return;
        }
        let end = writes_end(dropped) as usize;
        if end > img.len() {
            self.fates.push((
                u64::MAX,
                true,
                format!(
                    "size of {path} extended from {} to {end} bytes, zeros: the dropped data never arrived",
                    img.len()
                ),
            ));
            img.resize(end, 0);
        }
    }

    /// The report, with the files whose name is gone, and the files still
    /// named in `dirs`.
    fn finish(
        mut self,
        dirs: &Dirs,
        mut inodes: HashMap<u64, Inode>,
    ) -> (HashMap<u64, Inode>, CrashReport) {
        let reachable = reachable(dirs);
        let st = self.st;
        self.report.files_lost = files_lost(&st.dirs, &reachable, |ino| {
            st.inodes
                .get(&ino)
                .is_some_and(|n| n.synced && !n.durable.is_empty())
        });
        self.report.list_fates(self.fates);
        inodes.retain(|ino, _| reachable.contains(ino));
        (inodes, self.report)
    }
}

/// Which pending name operations survive a crash, one flag each in order.
/// At an `instant`, those made before it (under every order: it is a
/// prefix in time). Otherwise (`CrashMode::Subset`) one draw among the
/// sets the profile's [`NameOrder`] allows (the sets themselves:
/// [`super::space::surviving_names`]): any prefix per directory
/// (`PrefixPerDirectory`, posix) or one prefix of all of them in the order
/// they were made (`GlobalPrefix`). A rename's two halves share one
/// operation number, so no choice splits it within a directory.
fn draw_surviving_names(
    order: NameOrder,
    pending: &[(u64, PathBuf, NameOp)],
    instant: Option<u64>,
    rng: &mut CrashRng,
) -> Vec<bool> {
    match (instant, order) {
        (Some(cut), _) => pending.iter().map(|p| p.0 < cut).collect(),
        (None, NameOrder::GlobalPrefix) => {
            let k = rng.upto(pending.len() as u64);
            let cut = pending.get(k as usize).map_or(u64::MAX, |p| p.0);
            pending.iter().map(|p| p.0 < cut).collect()
        }
        (None, NameOrder::PrefixPerDirectory) => {
            // Each directory draws its prefix where it first appears.
            let mut cuts: HashMap<&PathBuf, u64> = HashMap::new();
            pending
                .iter()
                .map(|(opn, dir, _)| {
                    let c = *cuts.entry(dir).or_insert_with(|| {
                        let ops: Vec<u64> = pending
                            .iter()
                            .filter(|p| &p.1 == dir)
                            .map(|p| p.0)
                            .collect();
                        let k = rng.upto(ops.len() as u64) as usize;
                        ops.get(k).copied().unwrap_or(u64::MAX)
                    });
                    *opn < c
                })
                .collect()
        }
    }
}

/// A random crash instant among the pending operations, data and
/// names together ([`DataOrder::Journaled`]: one global prefix).
fn journal_prefix(st: &State, rng: &mut CrashRng) -> u64 {
    let ops = pending_ops(
        &st.pending_names,
        st.inodes.values().map(|n| n.pending.as_slice()),
    );
    let k = rng.upto(ops.len() as u64) as usize;
    ops.get(k).copied().unwrap_or(u64::MAX)
}

impl Vfs for SimFs {
    fn create(&self, path: &Path) -> Result<FileHandle> {
        let mut st = self.lock();
        let (dir, name) = Self::split(path);
        let Some(entries) = st.dirs.get(&dir) else {
            return Err(enoent(path, "create"));
        };
        if entries.contains_key(&name) {
            return Err(Error::io(
                "create",
                path,
                std::io::Error::from(std::io::ErrorKind::AlreadyExists),
            ));
        }
        st.next_ino += 1;
        let ino = st.next_ino;
        st.inodes.insert(ino, Inode::default());
        Self::name_op(&mut st, &dir, NameOp::Link { name, ino });
        let opn = st.op;
        st.event(|| format!("#{opn} create {}", path.display()));
        Self::boundary(&mut st, self.profile);
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            path: path.to_path_buf(),
        }))
    }

    fn open(&self, path: &Path) -> Result<FileHandle> {
        let st = self.lock();
        let (dir, name) = Self::split(path);
        let ino = *st
            .dirs
            .get(&dir)
            .and_then(|d| d.get(&name))
            .ok_or_else(|| enoent(path, "open"))?;
        Ok(Arc::new(SimFile {
            fs: self.clone(),
            ino,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        let mut st = self.lock();
        let (fd, fname) = Self::split(from);
        let (td, tname) = Self::split(to);
        let ino = *st
            .dirs
            .get(&fd)
            .and_then(|d| d.get(&fname))
            .ok_or_else(|| enoent(from, "rename"))?;
        if !st.dirs.contains_key(&td) {
            return Err(enoent(to, "rename"));
        }
        if (&fd, &fname) == (&td, &tname) {
            return Ok(()); // POSIX: renaming a name onto itself does nothing.
        }
        // One operation: a crash keeps both halves or neither (ext4 and xfs
        // journal a rename as one transaction). Within one directory no
        // crash mode can split it; across directories `posix` subsets may.
        st.op += 1;
        let opn = st.op;
        st.event(|| format!("#{opn} rename {} -> {}", from.display(), to.display()));
        Self::name_op_at(&mut st, opn, &td, NameOp::Link { name: tname, ino });
        Self::name_op_at(&mut st, opn, &fd, NameOp::Unlink { name: fname });
        Self::boundary(&mut st, self.profile);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        let mut st = self.lock();
        let (dir, name) = Self::split(path);
        if !st.dirs.get(&dir).is_some_and(|d| d.contains_key(&name)) {
            return Err(enoent(path, "remove"));
        }
        Self::name_op(&mut st, &dir, NameOp::Unlink { name });
        let opn = st.op;
        st.event(|| format!("#{opn} remove {}", path.display()));
        Self::boundary(&mut st, self.profile);
        Ok(())
    }

    fn list_dir(&self, path: &Path) -> Result<Vec<String>> {
        let st = self.lock();
        let d = st.dirs.get(path).ok_or_else(|| enoent(path, "list"))?;
        let mut names: Vec<String> = d.keys().cloned().collect();
        // Subdirectories.
        for p in st.dirs.keys() {
            if p.parent() == Some(path) {
                if let Some(n) = p.file_name() {
                    names.push(n.to_string_lossy().into_owned());
                }
            }
        }
        names.sort();
        Ok(names)
    }

    fn create_dir_all(&self, path: &Path) -> Result<()> {
        // Directories are durable when created (a simplification: the
        // engines create their directory once, before any data).
        let mut st = self.lock();
        let mut p = PathBuf::new();
        for c in path.components() {
            p.push(c);
            let (parent, name) = Self::split(&p);
            if !st.dirs.contains_key(&p)
                && st.dirs.get(&parent).is_some_and(|d| d.contains_key(&name))
            {
                return Err(Error::io(
                    "create directory",
                    path,
                    std::io::Error::from(std::io::ErrorKind::NotADirectory),
                ));
            }
            st.dirs.entry(p.clone()).or_default();
            st.durable_dirs.entry(p.clone()).or_default();
        }
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let mut st = self.lock();
        if !st.dirs.contains_key(path) {
            return Err(enoent(path, "fsync directory"));
        }
        let only = match self.profile.rules().dir_sync_commits {
            NameCommit::AllEarlier => None,
            NameCommit::Nothing | NameCommit::ThisDirectory | NameCommit::OwnNames => Some(path),
        };
        st.dir_syncs += 1;
        st.syncs_started += 1;
        let fail = st.faults.fail_sync == Some(st.syncs_started)
            || st.faults.fail_dir_sync == Some(st.dir_syncs);
        st.event(|| {
            format!(
                "fsync dir {}{}",
                path.display(),
                if fail { " -> EIO (injected)" } else { "" }
            )
        });
        if fail {
            // The name operations of the failed commit never become
            // durable, and a later directory sync will not retry them.
            st.pending_names
                .retain(|(_, dir, _)| only.is_some_and(|d| d != dir));
        } else {
            Self::commit_names(&mut st, only);
        }
        let mut st = self.sync_delay(st);
        self.counted_sync(&mut st);
        if fail {
            return Err(Error::io(
                "fsync directory",
                path,
                std::io::Error::from_raw_os_error(5),
            ));
        }
        Ok(())
    }

    fn exists(&self, path: &Path) -> Result<bool> {
        let st = self.lock();
        let (dir, name) = Self::split(path);
        Ok(st.dirs.contains_key(path) || st.dirs.get(&dir).is_some_and(|d| d.contains_key(&name)))
    }
}

#[derive(Debug)]
struct SimFile {
    fs: SimFs,
    ino: u64,
    path: PathBuf,
}

impl SimFile {
    fn write(&self, off: Option<u64>, buf: &[u8]) -> Result<u64> {
        let mut st = self.fs.lock();
        st.writes += 1;
        let n = st.writes;
        let faults = st.faults;
        if let Some(limit) = faults.disk_bytes {
            if st.bytes + buf.len() as u64 > limit {
                st.event(|| {
                    format!(
                        "write {} +{} -> ENOSPC (injected)",
                        self.path.display(),
                        buf.len()
                    )
                });
                return Err(Error::io(
                    "write",
                    &self.path,
                    std::io::Error::from_raw_os_error(28),
                ));
            }
        }
        st.op += 1;
        let opn = st.op;
        let short = faults.short_write == Some(n);
        let bytes = if short { &buf[..buf.len() / 2] } else { buf };
        st.bytes += bytes.len() as u64;
        let node = st.inodes.entry(self.ino).or_default();
        let at = off.unwrap_or(node.data.len() as u64);
        let op = DataOp::Write {
            off: at,
            bytes: bytes.to_vec(),
        };
        apply(&mut node.data, &op);
        node.pending.push((opn, op));
        SimFs::boundary(&mut st, self.fs.profile);
        let len = bytes.len();
        st.event(|| {
            format!(
                "#{opn} write {} @{at} +{len}{}",
                self.path.display(),
                if short { " (short, injected)" } else { "" }
            )
        });
        if short {
            return Err(Error::io(
                "write",
                &self.path,
                std::io::Error::other("short write (injected)"),
            ));
        }
        Ok(at)
    }

    fn sync(&self) -> Result<()> {
        let rules = self.fs.profile.rules();
        let mut st = self.fs.lock();
        st.syncs_started += 1;
        let n = st.syncs_started;
        let injected = st.faults.fail_sync == Some(n);
        let node = st.inodes.entry(self.ino).or_default();
        // An error an earlier sync left for this one to report: it
        // reports it and commits nothing (ext4 data=journal).
        let deferred = std::mem::take(&mut node.sync_error_pending);
        let (commits, fails, note) = match (deferred, injected, rules.fsync_failure) {
            (true, _, _) => (false, true, " -> EIO (of an earlier failed fsync)"),
            (false, false, _) => (true, false, ""),
            // The pages are marked clean: their data never reaches the
            // durable image, reads still see it, the next sync succeeds.
            (false, true, FsyncFailure::MarkClean) => {
                node.pending.clear();
                (false, true, " -> EIO (injected)")
            }
            // The file is its durable image again, in memory too.
            (false, true, FsyncFailure::Revert) => {
                node.pending.clear();
                node.data = node.durable.clone();
                (
                    false,
                    true,
                    " -> EIO (injected; the file reverts to its durable image)",
                )
            }
            // The data reached the journal: durable, and the error (of
            // the checkpoint) is reported by the next sync.
            (false, true, FsyncFailure::ReportNext) => {
                node.sync_error_pending = true;
                (
                    true,
                    false,
                    " -> ok (EIO injected: the next fsync reports it)",
                )
            }
        };
        if commits {
            let pending = std::mem::take(&mut node.pending);
            for (_, op) in &pending {
                apply(&mut node.durable, op);
            }
            node.synced = true;
            match rules.file_sync_commits {
                NameCommit::AllEarlier => SimFs::commit_names(&mut st, None),
                NameCommit::OwnNames => SimFs::commit_own_names(&mut st, self.ino),
                NameCommit::Nothing | NameCommit::ThisDirectory => {}
            }
        }
        st.event(|| format!("fsync {}{note}", self.path.display()));
        let st = SimFs::sync_delay(&self.fs, st);
        let mut st = st;
        self.fs.counted_sync(&mut st);
        if fails {
            return Err(Error::io(
                "fdatasync",
                &self.path,
                std::io::Error::from_raw_os_error(5),
            ));
        }
        Ok(())
    }
}

impl VFile for SimFile {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let st = self.fs.lock();
        let data = st
            .inodes
            .get(&self.ino)
            .map(|n| n.data.as_slice())
            .unwrap_or(&[]);
        let end = offset as usize + buf.len();
        if end > data.len() {
            return Err(Error::io(
                "read",
                &self.path,
                std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("short read of {} bytes at offset {offset}", buf.len()),
                ),
            ));
        }
        buf.copy_from_slice(&data[offset as usize..end]);
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.write(Some(offset), buf).map(|_| ())
    }

    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.write(None, buf)
    }

    fn len(&self) -> Result<u64> {
        let st = self.fs.lock();
        Ok(st.inodes.get(&self.ino).map_or(0, |n| n.data.len() as u64))
    }

    fn set_len(&self, len: u64) -> Result<()> {
        let mut st = self.fs.lock();
        st.op += 1;
        let opn = st.op;
        let node = st.inodes.entry(self.ino).or_default();
        let op = DataOp::SetLen(len);
        apply(&mut node.data, &op);
        node.pending.push((opn, op));
        st.event(|| format!("#{opn} set_len {} {len}", self.path.display()));
        SimFs::boundary(&mut st, self.fs.profile);
        Ok(())
    }

    /// A pending data operation like a write: it reaches the durable image
    /// with the file's next sync (either primitive: fdatasync commits a size
    /// change), and a crash before that keeps it or not, in order with the
    /// file's other pending operations. Reserved space reads as zeros.
    /// Allocation is not counted against [`Faults::disk_bytes`] (written
    /// bytes only).
    fn allocate(&self, len: u64) -> Result<()> {
        let mut st = self.fs.lock();
        if st.inodes.get(&self.ino).map_or(0, |n| n.data.len() as u64) >= len {
            return Ok(());
        }
        st.op += 1;
        let opn = st.op;
        let node = st.inodes.entry(self.ino).or_default();
        let op = DataOp::Allocate(len);
        apply(&mut node.data, &op);
        node.pending.push((opn, op));
        st.event(|| format!("#{opn} allocate {} {len}", self.path.display()));
        SimFs::boundary(&mut st, self.fs.profile);
        Ok(())
    }

    fn sync_data(&self) -> Result<()> {
        self.sync()
    }

    fn sync_all(&self) -> Result<()> {
        self.sync()
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests;
