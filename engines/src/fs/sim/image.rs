//! [`CrashImage`]: the state of a [`SimFs`] at one operation boundary, and
//! every filesystem a power cut at that instant may leave, each built from
//! an explicit [`CrashChoice`].
//!
//! What may survive, besides the durable state:
//!
//! - within one file, any prefix of its unsynced data operations (writes,
//!   truncates, reservations persist in order), and the first operation
//!   not kept, if a write, may be torn at any 512-byte sector boundary
//!   inside it (the sectors before it written, the rest old);
//! - on `posix`, a file whose kept data is shorter than its dropped writes
//!   reached may come back at the longer size, filled with zeros (the size
//!   was committed, the data was not);
//! - name operations (creates, renames, removes) as the profile allows:
//!   [`surviving_names`] is the one rule;
//! - across files and directories, every combination of the above.
//!
//! [`CrashImage::space`] enumerates them (or samples them, seeded, beyond a
//! bound); [`CrashImage::build`] makes one. This is the exhaustive
//! counterpart of the seeded [`SimFs::crash`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;

use super::report::{files_lost, removes_dropped};
use super::state::{
    apply, names_after, pending_ops, reachable, writes_end, DataOp, Dirs, Inode, NameOp, State,
};
use super::{CrashReport, CrashRng, Profile, SimFs};
use crate::fs::profile::{DataOrder, NameOrder};

/// The state of a [`SimFs`] at one operation boundary: what is durable and
/// what is pending, nothing else.
#[derive(Debug, Clone)]
pub struct CrashImage {
    profile: Profile,
    boundary: u64,
    /// Every file's durable data and pending operations.
    inodes: BTreeMap<u64, FileImage>,
    next_ino: u64,
    /// Entries as the running system sees them (for lost-file reports).
    dirs: Dirs,
    durable_dirs: Dirs,
    pending_names: Vec<(u64, PathBuf, NameOp)>,
}

/// One file at the crash instant.
#[derive(Debug, Clone)]
struct FileImage {
    durable: Vec<u8>,
    /// (global op number, op) since the last sync.
    pending: Vec<(u64, DataOp)>,
    /// Ever synced (for lost-file reports).
    synced: bool,
}

/// The states under one set of surviving name operations: the choices of
/// each file reachable under them, and how many combinations they make.
struct NameSet {
    names: Vec<bool>,
    files: Vec<(u64, Vec<FileChoice>)>,
    states: u128,
}

/// What one file keeps through the crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileChoice {
    /// Unsynced operations kept, in order (a prefix).
    pub kept: usize,
    /// The next operation (a write) torn: this many of its bytes kept, a
    /// whole number of sectors of the file.
    pub torn: Option<u64>,
    /// `posix` only: the file has the size its dropped writes reached, the
    /// part they did not write reading as zeros.
    pub zero_extended: bool,
}

impl FileChoice {
    /// Only the durable data.
    pub const DURABLE: FileChoice = FileChoice {
        kept: 0,
        torn: None,
        zero_extended: false,
    };
}

/// One post-crash state: which pending name operations survive, and what
/// each file with unsynced data keeps (files not named keep only their
/// durable data).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CrashChoice {
    /// For each pending name operation, in order, whether it survives.
    pub names: Vec<bool>,
    /// By inode number: what each file keeps.
    pub files: BTreeMap<u64, FileChoice>,
}

/// The crash states of one [`CrashImage`]: all of them, or a seeded sample.
#[derive(Debug, Clone)]
pub struct StateSpace {
    /// The states to check.
    pub choices: Vec<CrashChoice>,
    /// How many states the profile allows in all.
    pub total: u128,
    /// Whether `choices` is a sample of them (more than the bound).
    pub sampled: bool,
}

/// Which sets of pending name operations may survive a crash together,
/// each as one flag per operation: the profile's rule, in one place.
///
/// The profile's [`NameOrder`] decides:
///
/// - `PrefixPerDirectory` (`posix`): each directory independently keeps a
///   prefix of its own name operations (directories are unordered with
///   respect to each other).
/// - `GlobalPrefix` (`linux` and the other journaled profiles): name
///   operations persist in the order they were made (the journal commits
///   them in order): a global prefix.
///
/// A prefix never splits the link and unlink of one rename within a
/// directory (they share an operation number).
pub(super) fn surviving_names(
    profile: Profile,
    pending: &[(u64, PathBuf, NameOp)],
) -> Vec<Vec<bool>> {
    // Cut points: before each distinct operation number, and after all.
    let cuts = |ops: &[u64]| -> Vec<u64> {
        let mut c: Vec<u64> = ops.to_vec();
        c.dedup();
        c.push(u64::MAX);
        c
    };
    match profile.rules().names {
        NameOrder::GlobalPrefix => {
            let ops: Vec<u64> = pending.iter().map(|p| p.0).collect();
            cuts(&ops)
                .into_iter()
                .map(|cut| pending.iter().map(|p| p.0 < cut).collect())
                .collect()
        }
        NameOrder::PrefixPerDirectory => {
            let mut per_dir: BTreeMap<&PathBuf, Vec<u64>> = BTreeMap::new();
            for (opn, dir, _) in pending {
                per_dir.entry(dir).or_default().push(*opn);
            }
            let mut sets: Vec<BTreeMap<&PathBuf, u64>> = vec![BTreeMap::new()];
            for (dir, ops) in &per_dir {
                let mut next = Vec::new();
                for set in &sets {
                    for cut in cuts(ops) {
                        let mut s = set.clone();
                        s.insert(*dir, cut);
                        next.push(s);
                    }
                }
                sets = next;
            }
            sets.into_iter()
                .map(|s| pending.iter().map(|(opn, dir, _)| *opn < s[dir]).collect())
                .collect()
        }
    }
}

impl CrashImage {
    pub(super) fn capture(st: &State, profile: Profile) -> Self {
        CrashImage {
            profile,
            boundary: st.boundaries,
            inodes: st
                .inodes
                .iter()
                .map(|(ino, n)| {
                    let f = FileImage {
                        durable: n.durable.clone(),
                        pending: n.pending.clone(),
                        synced: n.synced,
                    };
                    (*ino, f)
                })
                .collect(),
            next_ino: st.next_ino,
            dirs: st.dirs.clone(),
            durable_dirs: st.durable_dirs.clone(),
            pending_names: st.pending_names.clone(),
        }
    }

    /// The operation boundary this image was taken at (0: when capturing
    /// started).
    pub fn boundary(&self) -> u64 {
        self.boundary
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Every choice for one file: each prefix of its pending operations,
    /// each sector-boundary tear of the next write, and on `posix` the
    /// zero-extended size.
    fn file_choices(&self, ino: u64) -> Vec<FileChoice> {
        let Some(FileImage {
            durable, pending, ..
        }) = self.inodes.get(&ino)
        else {
            return vec![FileChoice::DURABLE];
        };
        let mut out = Vec::new();
        let mut img = durable.clone();
        for kept in 0..=pending.len() {
            out.push(FileChoice {
                kept,
                torn: None,
                zero_extended: false,
            });
            if let Some((_, DataOp::Write { off, bytes })) = pending.get(kept) {
                let end = off + bytes.len() as u64;
                let unit = self.profile.rules().tear_unit;
                let mut s = (off / unit + 1) * unit;
                while s < end {
                    out.push(FileChoice {
                        kept,
                        torn: Some(s - off),
                        zero_extended: false,
                    });
                    s += unit;
                }
            }
            if zero_extension_allowed(self.profile)
                && writes_end(&pending[kept..]) > img.len() as u64
            {
                out.push(FileChoice {
                    kept,
                    torn: None,
                    zero_extended: true,
                });
            }
            if let Some((_, op)) = pending.get(kept) {
                apply(&mut img, op);
            }
        }
        out
    }

    /// The files with unsynced operations that are reachable under `names`.
    fn open_files(&self, names: &[bool]) -> Vec<u64> {
        let dirs = names_after(&self.durable_dirs, &self.pending_names, names);
        let reachable: BTreeSet<u64> = dirs.values().flat_map(|d| d.values().copied()).collect();
        reachable
            .into_iter()
            .filter(|ino| self.inodes.get(ino).is_some_and(|f| !f.pending.is_empty()))
            .collect()
    }

    /// Every state the profile allows at this instant, or, when there are
    /// more than `limit`, `limit` distinct ones drawn with `seed` (uniform
    /// over all states).
    pub fn space(&self, limit: usize, seed: u64) -> StateSpace {
        if self.profile.rules().data_order == DataOrder::Journaled {
            return self.journaled_space();
        }
        let name_sets = surviving_names(self.profile, &self.pending_names);
        let per_set: Vec<NameSet> = name_sets
            .into_iter()
            .map(|names| {
                let files: Vec<(u64, Vec<FileChoice>)> = self
                    .open_files(&names)
                    .into_iter()
                    .map(|ino| (ino, self.file_choices(ino)))
                    .collect();
                let states = files
                    .iter()
                    .fold(1u128, |acc, (_, c)| acc.saturating_mul(c.len() as u128));
                NameSet {
                    names,
                    files,
                    states,
                }
            })
            .collect();
        let total = per_set
            .iter()
            .fold(0u128, |acc, s| acc.saturating_add(s.states));
        let mut choices = Vec::new();
        if total <= limit as u128 {
            for NameSet { names, files, .. } in &per_set {
                let mut idx = vec![0usize; files.len()];
                loop {
                    choices.push(CrashChoice {
                        names: names.clone(),
                        files: files
                            .iter()
                            .zip(&idx)
                            .map(|((ino, c), i)| (*ino, c[*i]))
                            .collect(),
                    });
                    // Next combination (odometer).
                    let mut d = 0;
                    while d < idx.len() {
                        idx[d] += 1;
                        if idx[d] < files[d].1.len() {
                            break;
                        }
                        idx[d] = 0;
                        d += 1;
                    }
                    if d == idx.len() {
                        break;
                    }
                }
            }
            return StateSpace {
                choices,
                total,
                sampled: false,
            };
        }
        let mut rng = CrashRng::new(seed ^ self.boundary);
        let mut seen: HashSet<CrashChoice> = HashSet::new();
        // Distinct draws; the bound on attempts only guards against a
        // pathological space (it is far larger than `limit` here).
        let mut attempts = 0usize;
        while seen.len() < limit && attempts < limit * 64 {
            attempts += 1;
            // A name set with probability proportional to its states.
            let mut pick = u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64());
            pick %= total;
            let Some(NameSet { names, files, .. }) = per_set.iter().find(|s| {
                if pick < s.states {
                    true
                } else {
                    pick -= s.states;
                    false
                }
            }) else {
                break;
            };
            let c = CrashChoice {
                names: names.clone(),
                files: files
                    .iter()
                    .map(|(ino, c)| (*ino, c[rng.upto(c.len() as u64 - 1) as usize]))
                    .collect(),
            };
            if seen.insert(c.clone()) {
                choices.push(c);
            }
        }
        StateSpace {
            choices,
            total,
            sampled: true,
        }
    }

    /// [`DataOrder::Journaled`] (ext4 data=journal): data and names persist
    /// in one global order, so the states are the prefixes of all pending
    /// operations, each with the first dropped operation torn (at the
    /// profile's unit) if it is a write. Few enough never to sample.
    fn journaled_space(&self) -> StateSpace {
        let mut cuts = pending_ops(
            &self.pending_names,
            self.inodes.values().map(|f| f.pending.as_slice()),
        );
        cuts.push(u64::MAX);
        let unit = self.profile.rules().tear_unit;
        let mut choices = Vec::new();
        for cut in cuts {
            let names: Vec<bool> = self.pending_names.iter().map(|p| p.0 < cut).collect();
            let open = self.open_files(&names);
            let kept_of = |ino: &u64| {
                let f = &self.inodes[ino];
                let kept = f.pending.iter().take_while(|p| p.0 < cut).count();
                (f, kept)
            };
            let base: BTreeMap<u64, FileChoice> = open
                .iter()
                .map(|ino| {
                    let (_, kept) = kept_of(ino);
                    let c = FileChoice {
                        kept,
                        torn: None,
                        zero_extended: false,
                    };
                    (*ino, c)
                })
                .collect();
            choices.push(CrashChoice {
                names: names.clone(),
                files: base.clone(),
            });
            // The operation at the cut, if a write, torn inside.
            for ino in &open {
                let (f, kept) = kept_of(ino);
                if let Some((opn, DataOp::Write { off, bytes })) = f.pending.get(kept) {
                    if *opn != cut {
                        continue;
                    }
                    let end = off + bytes.len() as u64;
                    let mut s = (off / unit + 1) * unit;
                    while s < end {
                        let mut files = base.clone();
                        files.insert(
                            *ino,
                            FileChoice {
                                kept,
                                torn: Some(s - off),
                                zero_extended: false,
                            },
                        );
                        choices.push(CrashChoice {
                            names: names.clone(),
                            files,
                        });
                        s += unit;
                    }
                }
            }
        }
        StateSpace {
            total: choices.len() as u128,
            choices,
            sampled: false,
        }
    }

    /// The same choice with every pending name operation kept: the crash
    /// with durable names (for telling a never-synced name's loss from
    /// others). Files it makes reachable keep only their durable data.
    pub fn with_durable_names(&self, c: &CrashChoice) -> CrashChoice {
        CrashChoice {
            names: vec![true; self.pending_names.len()],
            files: c.files.clone(),
        }
    }

    /// The filesystem `c` leaves, and what it destroyed.
    pub fn build(&self, c: &CrashChoice) -> (SimFs, CrashReport) {
        let mut report = CrashReport::default();
        let keep: Vec<bool> = (0..self.pending_names.len())
            .map(|i| c.names.get(i).copied().unwrap_or(false))
            .collect();
        let dirs = names_after(&self.durable_dirs, &self.pending_names, &keep);
        report.removes_reverted = removes_dropped(&self.pending_names, &keep);
        let reachable = reachable(&dirs);
        let mut inodes: HashMap<u64, Inode> = HashMap::new();
        for (ino, f) in &self.inodes {
            if reachable.contains(ino) {
                let fc = c.files.get(ino).copied().unwrap_or(FileChoice::DURABLE);
                inodes.insert(*ino, self.build_file(f, fc, &mut report));
            }
        }
        report.files_lost = files_lost(&self.dirs, &reachable, |ino| {
            self.inodes
                .get(&ino)
                .is_some_and(|f| f.synced && !f.durable.is_empty())
        });
        let fs = SimFs::recovered(self.profile, inodes, self.next_ino, dirs);
        (fs, report)
    }

    /// The file `fc` leaves of `f`, counting what it dropped in `report`.
    fn build_file(&self, f: &FileImage, fc: FileChoice, report: &mut CrashReport) -> Inode {
        let FileImage {
            durable,
            pending,
            synced,
        } = f;
        let kept = fc.kept.min(pending.len());
        let mut img = durable.clone();
        for (_, op) in &pending[..kept] {
            apply(&mut img, op);
        }
        let dropped = &pending[kept..];
        report.writes_dropped += dropped.len() as u64;
        let before = img.len();
        report.truncates_reverted += dropped
            .iter()
            .filter(|(_, op)| matches!(op, DataOp::SetLen(n) if (*n as usize) < before))
            .count() as u64;
        if let (Some(n), Some((_, DataOp::Write { off, bytes }))) = (fc.torn, dropped.first()) {
            let n = (n as usize).min(bytes.len());
            apply(
                &mut img,
                &DataOp::Write {
                    off: *off,
                    bytes: bytes[..n].to_vec(),
                },
            );
        }
        if fc.zero_extended {
            let end = writes_end(dropped) as usize;
            if end > img.len() {
                img.resize(end, 0);
            }
        }
        Inode::durable(img, *synced)
    }

    /// `c` in words, for a violation report.
    pub fn describe(&self, c: &CrashChoice) -> String {
        let mut parts = Vec::new();
        let names = |ino: u64| -> String {
            let mut n: Vec<String> = self
                .dirs
                .iter()
                .chain(&self.durable_dirs)
                .flat_map(|(d, e)| {
                    e.iter()
                        .filter(move |(_, i)| **i == ino)
                        .map(move |(name, _)| d.join(name).display().to_string())
                })
                .collect();
            n.dedup();
            n.first().cloned().unwrap_or_else(|| format!("inode {ino}"))
        };
        let dropped: Vec<String> = self
            .pending_names
            .iter()
            .zip(c.names.iter().chain(std::iter::repeat(&false)))
            .filter(|(_, kept)| !**kept)
            .map(|((_, dir, op), _)| match op {
                NameOp::Link { name, .. } => format!("link {}", dir.join(name).display()),
                NameOp::Unlink { name } => format!("unlink {}", dir.join(name).display()),
            })
            .collect();
        if !self.pending_names.is_empty() {
            parts.push(if dropped.is_empty() {
                format!("all {} pending name ops kept", self.pending_names.len())
            } else {
                format!("name ops dropped: {}", dropped.join(", "))
            });
        }
        for (ino, FileImage { pending, .. }) in &self.inodes {
            if pending.is_empty() {
                continue;
            }
            let fc = c.files.get(ino).copied().unwrap_or(FileChoice::DURABLE);
            let mut s = format!(
                "{}: {}/{} pending ops kept",
                names(*ino),
                fc.kept,
                pending.len()
            );
            if let Some(t) = fc.torn {
                s.push_str(&format!(", next write torn after {t} bytes"));
            }
            if fc.zero_extended {
                s.push_str(", zero-extended");
            }
            parts.push(s);
        }
        if parts.is_empty() {
            "nothing pending".into()
        } else {
            parts.join("; ")
        }
    }
}

/// Whether a crash may leave a file at the size its dropped writes reached,
/// reading zeros (the size committed without the data): `posix` allows it;
/// `linux` (ext4 `data=ordered`, xfs) writes data before the size.
fn zero_extension_allowed(profile: Profile) -> bool {
    profile.rules().unsynced_extend_zeroes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::Vfs;
    use std::path::Path;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    /// Every state of a two-write file is enumerated: 0, 1 or 2 writes,
    /// each dropped write torn at each sector inside it; `posix` adds the
    /// zero-extended sizes.
    #[test]
    fn one_file_every_prefix_and_every_tear() {
        for profile in [Profile::Posix, Profile::Linux] {
            let fs = SimFs::new(profile);
            fs.create_dir_all(&p("/d")).unwrap();
            let f = fs.create(&p("/d/a")).unwrap();
            fs.sync_dir(&p("/d")).unwrap();
            f.append(&[1u8; 1000]).unwrap(); // sectors 0, 1: one tear point (512)
            f.append(&[2u8; 100]).unwrap(); // 1000..1100: one tear point (1024)
            fs.capture_crash_points();
            let img = fs.take_crash_points().pop().unwrap();
            let space = img.space(1024, 0);
            assert!(!space.sampled);
            // Each content as runs of (byte, count), to compare readably.
            let runs = |b: Vec<u8>| -> Vec<(u8, usize)> {
                let mut r: Vec<(u8, usize)> = Vec::new();
                for x in b {
                    match r.last_mut() {
                        Some((y, n)) if *y == x => *n += 1,
                        _ => r.push((x, 1)),
                    }
                }
                r
            };
            let mut contents: Vec<Vec<(u8, usize)>> = space
                .choices
                .iter()
                .map(|c| runs(img.build(c).0.open(&p("/d/a")).unwrap().read_all().unwrap()))
                .collect();
            contents.sort();
            contents.dedup();
            let mut want = vec![
                vec![],
                vec![(1, 512)],
                vec![(1, 1000)],
                vec![(1, 1000), (2, 24)],
                vec![(1, 1000), (2, 100)],
            ];
            if profile == Profile::Posix {
                want.push(vec![(0, 1100)]);
                want.push(vec![(1, 1000), (0, 100)]);
            }
            want.sort();
            assert_eq!(contents, want, "{profile:?}");
        }
    }

    /// `posix`: each directory keeps its own prefix (4 = 2 x 2 states for
    /// one create in each of two directories); `linux`: a global prefix (3).
    #[test]
    fn name_rule_posix_per_directory_linux_global() {
        for (profile, want) in [(Profile::Posix, 4), (Profile::Linux, 3)] {
            let fs = SimFs::new(profile);
            fs.create_dir_all(&p("/a")).unwrap();
            fs.create_dir_all(&p("/b")).unwrap();
            fs.create(&p("/a/x")).unwrap();
            fs.create(&p("/b/y")).unwrap();
            fs.capture_crash_points();
            let img = fs.take_crash_points().pop().unwrap();
            let space = img.space(1024, 0);
            let mut seen: Vec<(bool, bool)> = space
                .choices
                .iter()
                .map(|c| {
                    let (c, _) = img.build(c);
                    (c.exists(&p("/a/x")).unwrap(), c.exists(&p("/b/y")).unwrap())
                })
                .collect();
            seen.sort();
            seen.dedup();
            assert_eq!(seen.len(), want, "{profile:?}: {seen:?}");
            if profile == Profile::Linux {
                assert!(!seen.contains(&(false, true)), "linux kept y without x");
            }
        }
    }

    /// A crash point is kept at every boundary, syncs included, and the
    /// image at the sync boundary has the synced data durable.
    #[test]
    fn a_crash_point_at_every_boundary() {
        let fs = SimFs::new(Profile::Linux);
        fs.create_dir_all(Path::new("/d")).unwrap();
        fs.capture_crash_points();
        let f = fs.create(&p("/d/a")).unwrap(); // 1
        f.append(b"x").unwrap(); // 2
        f.sync_data().unwrap(); // 3
        f.append(b"y").unwrap(); // 4
        let points = fs.take_crash_points();
        assert_eq!(
            points.iter().map(CrashImage::boundary).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        let (c, _) = points[3].build(&CrashChoice {
            names: vec![],
            files: BTreeMap::new(),
        });
        assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"x");
        assert_eq!(points[4].space(1024, 0).choices.len(), 2);
    }

    /// `freeze_after_op(k)` freezes the crash image right after boundary
    /// `k`, a sync counting as one.
    #[test]
    fn freeze_after_op_counts_every_boundary() {
        let fs = SimFs::new(Profile::Linux);
        fs.create_dir_all(&p("/d")).unwrap();
        let f = fs.create(&p("/d/a")).unwrap(); // 1
        fs.freeze_after_op(fs.boundaries() + 2);
        f.append(b"x").unwrap(); // 2
        f.sync_data().unwrap(); // 3: frozen here
        f.append(b"y").unwrap();
        f.sync_data().unwrap();
        let (c, _) = fs.crash(0, crate::fs::CrashMode::DurableOnly);
        assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"x");
    }

    /// Beyond the bound the states are a seeded sample of distinct ones.
    #[test]
    fn large_spaces_are_sampled_distinct_and_seeded() {
        let fs = SimFs::new(Profile::Posix);
        fs.create_dir_all(&p("/d")).unwrap();
        let files: Vec<_> = (0..6)
            .map(|i| fs.create(&p(&format!("/d/f{i}"))).unwrap())
            .collect();
        fs.sync_dir(&p("/d")).unwrap();
        for f in &files {
            for _ in 0..4 {
                f.append(&[9u8; 10]).unwrap();
            }
        }
        fs.capture_crash_points();
        let img = fs.take_crash_points().pop().unwrap();
        let a = img.space(100, 7);
        assert!(a.sampled);
        assert!(a.total > 100);
        assert_eq!(a.choices.len(), 100);
        let distinct: HashSet<_> = a.choices.iter().collect();
        assert_eq!(distinct.len(), 100);
        assert_eq!(
            img.space(100, 7).choices,
            a.choices,
            "same seed, same sample"
        );
    }
}
