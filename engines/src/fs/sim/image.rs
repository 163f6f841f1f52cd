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
//!   [`surviving_names`](super::space::surviving_names) is the one rule;
//! - across files and directories, every combination of the above.
//!
//! [`CrashImage::space`] enumerates them (or samples them, seeded, beyond a
//! bound: [`super::space`]); [`CrashImage::build`] makes one. This is the
//! exhaustive counterpart of the seeded [`SimFs::crash`].

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::report::{files_lost, removes_dropped};
use super::state::{apply, names_after, reachable, writes_end, DataOp, Dirs, Inode, NameOp, State};
use super::{CrashReport, Profile, SimFs};

/// The state of a [`SimFs`] at one operation boundary: what is durable and
/// what is pending, nothing else.
#[derive(Debug, Clone)]
pub struct CrashImage {
    pub(super) profile: Profile,
    pub(super) boundary: u64,
    /// Every file's durable data and pending operations.
    pub(super) inodes: BTreeMap<u64, FileImage>,
    next_ino: u64,
    /// Entries as the running system sees them (for lost-file reports).
    dirs: Dirs,
    pub(super) durable_dirs: Dirs,
    pub(super) pending_names: Vec<(u64, PathBuf, NameOp)>,
}

/// One file at the crash instant.
#[derive(Debug, Clone)]
pub(super) struct FileImage {
    pub(super) durable: Vec<u8>,
    /// (global op number, op) since the last sync.
    pub(super) pending: Vec<(u64, DataOp)>,
    /// Ever synced (for lost-file reports).
    synced: bool,
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
}
