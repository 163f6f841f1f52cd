//! [`CrashImage::space`]: every post-crash state the profile allows at one
//! crash instant, as [`CrashChoice`]s, or a seeded sample of them when
//! there are more than a bound.
//!
//! The states are the combinations of a set of surviving name operations
//! ([`surviving_names`], the profile's rule) with, for each file those
//! names reach, one of its choices (each prefix of its pending operations,
//! each tear of the next write at the profile's unit, and where allowed
//! the zero-extended size). Under [`DataOrder::Journaled`] data and names
//! share one order, so the states are the prefixes of everything pending.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use super::image::FileImage;
use super::state::{apply, names_after, pending_ops, writes_end, DataOp, NameOp};
use super::{CrashChoice, CrashImage, CrashRng, FileChoice, Profile};
use crate::fs::profile::{DataOrder, NameOrder};

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

/// The states under one set of surviving name operations: the choices of
/// each file reachable under them, and how many combinations they make.
struct NameSet {
    names: Vec<bool>,
    files: Vec<(u64, Vec<FileChoice>)>,
    states: u128,
}

impl NameSet {
    /// Every combination of its files' choices (an odometer over them).
    fn all_choices(&self, out: &mut Vec<CrashChoice>) {
        let files = &self.files;
        let mut idx = vec![0usize; files.len()];
        loop {
            out.push(CrashChoice {
                names: self.names.clone(),
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

/// The bytes of a write at `off` of `len` bytes that a tear at each unit
/// boundary inside it keeps.
fn tears(off: u64, len: usize, unit: u64) -> impl Iterator<Item = u64> {
    let end = off + len as u64;
    let first = (off / unit + 1) * unit;
    (first..end).step_by(unit as usize).map(move |s| s - off)
}

impl CrashImage {
    /// Every state the profile allows at this instant, or, when there are
    /// more than `limit`, `limit` distinct ones drawn with `seed` (uniform
    /// over all states).
    pub fn space(&self, limit: usize, seed: u64) -> StateSpace {
        if self.profile.rules().data_order == DataOrder::Journaled {
            return self.journaled_space();
        }
        let per_set: Vec<NameSet> = surviving_names(self.profile, &self.pending_names)
            .into_iter()
            .map(|names| self.name_set(names))
            .collect();
        let total = per_set
            .iter()
            .fold(0u128, |acc, s| acc.saturating_add(s.states));
        if total <= limit as u128 {
            let mut choices = Vec::new();
            for set in &per_set {
                set.all_choices(&mut choices);
            }
            return StateSpace {
                choices,
                total,
                sampled: false,
            };
        }
        StateSpace {
            choices: self.sample(&per_set, total, limit, seed),
            total,
            sampled: true,
        }
    }

    /// The states under one set of surviving name operations.
    fn name_set(&self, names: Vec<bool>) -> NameSet {
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
    }

    /// `limit` distinct states of `total`, drawn with `seed`, uniform over
    /// all of them.
    fn sample(
        &self,
        per_set: &[NameSet],
        total: u128,
        limit: usize,
        seed: u64,
    ) -> Vec<CrashChoice> {
        let mut choices = Vec::new();
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
        choices
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
        let unit = self.profile.rules().tear_unit;
        let mut out = Vec::new();
        let mut img = durable.clone();
        for kept in 0..=pending.len() {
            let choice = |torn, zero_extended| FileChoice {
                kept,
                torn,
                zero_extended,
            };
            out.push(choice(None, false));
            if let Some((_, DataOp::Write { off, bytes })) = pending.get(kept) {
                out.extend(tears(*off, bytes.len(), unit).map(|t| choice(Some(t), false)));
            }
            if zero_extension_allowed(self.profile)
                && writes_end(&pending[kept..]) > img.len() as u64
            {
                out.push(choice(None, true));
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
                    for t in tears(*off, bytes.len(), unit) {
                        let mut files = base.clone();
                        files.insert(
                            *ino,
                            FileChoice {
                                kept,
                                torn: Some(t),
                                zero_extended: false,
                            },
                        );
                        choices.push(CrashChoice {
                            names: names.clone(),
                            files,
                        });
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
    use crate::fs::{SimFs, Vfs};

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
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
