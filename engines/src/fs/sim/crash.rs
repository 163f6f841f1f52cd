//! [`SimFs::crash`]: the filesystem a power loss leaves, drawn from a seed
//! and a [`CrashMode`].
//!
//! A power loss happens at an instant (or, under [`CrashMode::Subset`],
//! at a separate instant per file and directory); then the surviving name
//! operations are applied to the durable directories, each file keeps its
//! durable image and a prefix of its unsynced operations (the first one
//! dropped perhaps torn, the file perhaps zero-extended, as the profile
//! allows), and what is no longer named is gone. Every draw comes from one
//! seeded generator in a fixed order, so a seed replays the same crash.

use std::collections::HashMap;
use std::path::PathBuf;

use super::report::{data_op_text, files_lost, name_fates, removes_dropped, CrashReport, Fate};
use super::state::{
    apply, names_after, paths_by_inode, pending_ops, reachable, writes_end, DataOp, Dirs, Inode,
    NameOp, State,
};
use super::SimFs;
use crate::fs::{DataOrder, NameOrder, ProfileRules};

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
