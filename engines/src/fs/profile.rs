//! File-system profiles of the crash simulator ([`super::SimFs`]): what a
//! power cut may keep besides explicitly synced state, and what a failed
//! `fsync` does, for each modelled file system.
//!
//! A profile is data: [`Profile::rules`] returns one [`ProfileRules`] table
//! entry, and the simulator asks the rules, never the profile's name. Every
//! rule below names its source.
//!
//! | profile | names at a crash | a file sync commits | a dir sync commits | data vs names | unsynced extension | fsync failure |
//! |---|---|---|---|---|---|---|
//! | `posix` | any prefix per directory | its data only | that directory | one instant | may read as zeros | marked clean |
//! | `ext4-ordered` (`linux`) | one global prefix | its data and every earlier name | every name | one instant | never zeros | marked clean |
//! | `xfs` | one global prefix | its data and every earlier name | every name | independent | never zeros | marked clean |
//! | `btrfs` | one global prefix | its data and its own names | that directory | one instant | never zeros | reverted |
//! | `ext4-journal` | one global prefix of names *and data* | its data and every earlier name | every name | one global order | never zeros | reported at the next fsync |
//!
//! - **posix**: only what POSIX promises (`fsync(2)`: a file's fsync does
//!   not make its directory entry durable; that takes an fsync of the
//!   directory). A size extension may reach the disk before its data
//!   (ext2-style, ALICE "All File Systems Are Not Created Equal", OSDI'14,
//!   Table 1: appends are not atomic on ext2 or ext3/4 writeback).
//! - **ext4-ordered** (`data=ordered`, the default; written `linux` in
//!   rows and `crash.csv`, as before): name operations are journaled
//!   metadata, committed in order, so a crash keeps a prefix of them; any
//!   fsync commits the running transaction and with it every earlier name
//!   operation; data reaches the disk before the metadata that exposes it
//!   (no zeros after a crash). ALICE Table 1; Documentation/filesystems/ext4
//!   (`data=ordered`, `auto_da_alloc`: a file renamed over another has its
//!   delayed blocks allocated, so written, before the rename commits).
//! - **xfs**: metadata journaled in order, like ext4 (fsync forces the log
//!   up to the inode's last change, which orders every earlier name
//!   operation before it); since Linux 2.6.22 the on-disk size moves only
//!   after the data is written, so no zeros. What differs: xfs has no
//!   ordered data mode and no `auto_da_alloc`: unsynced data is not ordered
//!   with name operations, so a rename (or create) can persist while data
//!   written before it does not (the "zero-length file after a crash" of
//!   replace-by-rename without fsync). Modelled: in a crash at one instant
//!   (`Prefix`, `Torn`), names keep everything before the instant, while
//!   each file keeps its own random prefix of the data written before it.
//!   Sources: ext4's `auto_da_alloc` exists because ext4 and xfs lost such
//!   files (Ts'o, 2009, the commit adding the option); btrfs added the same
//!   flush ("Btrfs: add extra flushing for renames and truncates", 2009);
//!   xfs did not.
//! - **btrfs**: an fsync writes the file's data and its inode into the
//!   log tree, with the names that link *this* inode (its create, its
//!   rename), not its siblings' pending names (unlike ext4, where an fsync
//!   commits every earlier name operation). A directory fsync logs that
//!   directory. Unsynced names commit with the next transaction, in order
//!   (a global prefix). Renames over an existing file flush the new
//!   file's data first (the 2009 commit above), so data and names share
//!   one instant. Sources: the btrfs tree log (`fs/btrfs/tree-log.c`: an
//!   fsync logs one inode and the references that name it); the
//!   CrashMonkey/ACE bug list (OSDI'18, utsaslab/crashmonkey `newBugs.md`
//!   and its reproduced xfstests generic/376 etc.), whose btrfs bugs are
//!   exactly about which names a file's fsync persists besides its own.
//! - **ext4-journal** (`data=journal`): data goes through the journal with
//!   the metadata, so unsynced data and name operations persist in one
//!   global order: a crash keeps a prefix of everything, in every crash
//!   mode (`Subset` too), and a write is torn only at a 4096-byte block
//!   (the journal replays whole blocks). A file sync commits its own data
//!   and every earlier name; it is not assumed to commit other files' data
//!   (since Linux 6.5 data is journaled at writeback, not at `write`), the
//!   conservative choice.
//!
//! **fsync failure** ([`FsyncFailure`]) follows CuttleFS
//! (WiscADSL/cuttlefs, `fsyncs.py`; Rebello et al., "Can Applications
//! Recover from fsync Failures?", ATC'20):
//!
//! - ext4-ordered, xfs (and posix): the failed pages are marked clean; the
//!   data never reaches the disk, reads still see it, the error is
//!   reported once and a retried fsync succeeds having written nothing.
//! - ext4 data=journal: the data reached the journal, so the failing fsync
//!   succeeds and its data is durable (journal replay restores it); the
//!   error (of the in-place checkpoint write) is reported by the file's
//!   *next* fsync, which writes nothing to the journal (CuttleFS: "if
//!   there was a previous error, ext4 does not write anything to the
//!   journal"): its pending data stays unsynced, and the fsync after it
//!   works normally. CuttleFS does not model the journal (it drops the
//!   data and only delays the error); we keep the data durable because
//!   the journal commit succeeded. Either way, a program that acknowledges
//!   only after a successful fsync loses nothing it acknowledged here.
//! - btrfs: the file reverts to its on-disk state, in memory too: content
//!   and length are the durable image again, the error is reported once.
//!
//! A failed *directory* sync behaves the same on every profile: the name
//! operations it would have committed never become durable, and a later
//! directory sync reports success.

/// A simulated file system: what survives a power cut besides explicitly
/// synced state ([`Profile::rules`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Profile {
    /// Only what POSIX promises.
    Posix,
    /// ext4 with `data=ordered` (the default). Named `linux` in rows and
    /// files, as before profiles were added; also [`Profile::EXT4_ORDERED`].
    Linux,
    /// xfs defaults.
    Xfs,
    /// btrfs defaults.
    Btrfs,
    /// ext4 with `data=journal`.
    Ext4Journal,
}

impl Profile {
    /// ext4 `data=ordered`: the `linux` profile.
    pub const EXT4_ORDERED: Profile = Profile::Linux;

    /// Every profile.
    pub const ALL: [Profile; 5] = [
        Profile::Posix,
        Profile::Linux,
        Profile::Xfs,
        Profile::Btrfs,
        Profile::Ext4Journal,
    ];

    /// The label in rows, `crash.csv` and seeds: `posix`, `linux` (kept
    /// for ext4-ordered, so existing results and scripts still read),
    /// `xfs`, `btrfs`, `ext4-journal`.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Posix => "posix",
            Profile::Linux => "linux",
            Profile::Xfs => "xfs",
            Profile::Btrfs => "btrfs",
            Profile::Ext4Journal => "ext4-journal",
        }
    }

    /// The file system modelled: as [`Profile::name`], with `linux`
    /// spelled `ext4-ordered`.
    pub fn fs_name(self) -> &'static str {
        match self {
            Profile::Linux => "ext4-ordered",
            p => p.name(),
        }
    }

    /// The profile named `name` ([`Profile::name`] or
    /// [`Profile::fs_name`]); `None` for anything else.
    pub fn from_name(name: &str) -> Option<Profile> {
        Profile::ALL
            .into_iter()
            .find(|p| p.name() == name || p.fs_name() == name)
    }

    /// What distinguishes this profile.
    pub fn rules(self) -> &'static ProfileRules {
        match self {
            Profile::Posix => &POSIX,
            Profile::Linux => &EXT4_ORDERED,
            Profile::Xfs => &XFS,
            Profile::Btrfs => &BTRFS,
            Profile::Ext4Journal => &EXT4_JOURNAL,
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which unsynced name operations may survive a crash together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameOrder {
    /// Each directory independently keeps a prefix of its operations.
    PrefixPerDirectory,
    /// One prefix of all name operations, in the order they were made.
    GlobalPrefix,
}

/// Which pending name operations a successful sync commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameCommit {
    /// None.
    Nothing,
    /// Those of the synced directory.
    ThisDirectory,
    /// Those that link the synced file (its create, its renames).
    OwnNames,
    /// Every one made before the sync (a journal commit).
    AllEarlier,
}

/// How unsynced data and unsynced name operations relate at a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataOrder {
    /// A crash at one instant keeps data and names made before it.
    SameInstant,
    /// A crash at one instant keeps names made before it; each file keeps
    /// its own prefix of the data written before it.
    Independent,
    /// Data and names persist as one global prefix in every crash mode.
    Journaled,
}

/// What a failed file sync does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncFailure {
    /// The pending data is dropped from the durable path and stays
    /// readable; this sync reports the error, the next one succeeds.
    MarkClean,
    /// This sync succeeds and its data is durable; the file's next sync
    /// reports the error and commits nothing; the one after works.
    ReportNext,
    /// The file reverts to its durable image, in memory too; this sync
    /// reports the error, the next one succeeds.
    Revert,
}

/// Everything that distinguishes a profile (see the module doc for the
/// sources).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileRules {
    /// Which pending name operations may survive a crash together.
    pub names: NameOrder,
    /// What a file sync commits besides the file's data.
    pub file_sync_commits: NameCommit,
    /// What a directory sync commits.
    pub dir_sync_commits: NameCommit,
    /// How data and names relate at a crash.
    pub data_order: DataOrder,
    /// Whether a lost unsynced extension may leave the file longer, zeros
    /// where its data never arrived.
    pub unsynced_extend_zeroes: bool,
    /// Granularity at which a write can be torn, in bytes.
    pub tear_unit: u64,
    /// What a failed file sync does.
    pub fsync_failure: FsyncFailure,
}

impl ProfileRules {
    /// Whether a successful file sync makes every earlier name operation
    /// durable (so a policy needs no directory sync for its files' names).
    pub fn file_sync_commits_all_names(&self) -> bool {
        self.file_sync_commits == NameCommit::AllEarlier
    }
}

const POSIX: ProfileRules = ProfileRules {
    names: NameOrder::PrefixPerDirectory,
    file_sync_commits: NameCommit::Nothing,
    dir_sync_commits: NameCommit::ThisDirectory,
    data_order: DataOrder::SameInstant,
    unsynced_extend_zeroes: true,
    tear_unit: 512,
    fsync_failure: FsyncFailure::MarkClean,
};

const EXT4_ORDERED: ProfileRules = ProfileRules {
    names: NameOrder::GlobalPrefix,
    file_sync_commits: NameCommit::AllEarlier,
    dir_sync_commits: NameCommit::AllEarlier,
    data_order: DataOrder::SameInstant,
    unsynced_extend_zeroes: false,
    tear_unit: 512,
    fsync_failure: FsyncFailure::MarkClean,
};

const XFS: ProfileRules = ProfileRules {
    data_order: DataOrder::Independent,
    ..EXT4_ORDERED
};

const BTRFS: ProfileRules = ProfileRules {
    file_sync_commits: NameCommit::OwnNames,
    dir_sync_commits: NameCommit::ThisDirectory,
    fsync_failure: FsyncFailure::Revert,
    ..EXT4_ORDERED
};

const EXT4_JOURNAL: ProfileRules = ProfileRules {
    data_order: DataOrder::Journaled,
    tear_unit: 4096,
    fsync_failure: FsyncFailure::ReportNext,
    ..EXT4_ORDERED
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_linux_is_ext4_ordered() {
        for p in Profile::ALL {
            assert_eq!(Profile::from_name(p.name()), Some(p));
            assert_eq!(Profile::from_name(p.fs_name()), Some(p));
        }
        assert_eq!(Profile::from_name("linux"), Some(Profile::EXT4_ORDERED));
        assert_eq!(Profile::from_name("ext4-ordered"), Some(Profile::Linux));
        assert_eq!(Profile::Linux.name(), "linux");
        assert_eq!(Profile::from_name("ext3"), None);
    }

    #[test]
    fn every_profile_differs_from_every_other() {
        for (i, a) in Profile::ALL.iter().enumerate() {
            for b in &Profile::ALL[i + 1..] {
                assert_ne!(a.rules(), b.rules(), "{a} and {b} have the same rules");
            }
        }
    }
}
