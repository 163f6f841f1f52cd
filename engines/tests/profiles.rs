//! Each file-system profile beyond ext4-ordered shows the behaviour where
//! it differs from ext4-ordered (`engines::fs::profile` documents the
//! sources), and each fsync-failure semantic does what its profile says.

use std::path::{Path, PathBuf};

use engines::fs::{CrashMode, Faults, Profile, SimFs, VFile, Vfs};

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

fn read(fs: &SimFs, path: &str) -> Option<Vec<u8>> {
    fs.exists(Path::new(path))
        .unwrap()
        .then(|| fs.open(Path::new(path)).unwrap().read_all().unwrap())
}

/// `/d` with `/d/m` holding `old`, synced with its name.
fn with_synced_file(profile: Profile) -> SimFs {
    let fs = SimFs::new(profile);
    fs.create_dir_all(&p("/d")).unwrap();
    let m = fs.create(&p("/d/m")).unwrap();
    m.append(b"old").unwrap();
    m.sync_all().unwrap();
    fs.sync_dir(&p("/d")).unwrap();
    fs
}

/// Replace-by-rename without an fsync: how many crash seeds leave the new
/// name with none of the data written before the rename.
fn renamed_without_its_data(profile: Profile) -> usize {
    let fs = with_synced_file(profile);
    let t = fs.create(&p("/d/m.tmp")).unwrap();
    t.append(b"new").unwrap();
    fs.rename(&p("/d/m.tmp"), &p("/d/m")).unwrap();
    // A later operation, so a crash instant can fall after the rename
    // (`Prefix` keeps the operations before its instant).
    fs.create(&p("/d/later")).unwrap();
    (0..200)
        .filter(|&seed| {
            let (c, _) = fs.crash(seed, CrashMode::Prefix);
            let m = read(&c, "/d/m").expect("the old or the new file is there");
            assert!(
                m == b"old" || m == b"new" || m.is_empty(),
                "{profile}: {m:?}"
            );
            m.is_empty()
        })
        .count()
}

#[test]
fn xfs_persists_a_rename_before_the_data_written_before_it() {
    assert_eq!(
        renamed_without_its_data(Profile::EXT4_ORDERED),
        0,
        "ext4-ordered: a crash that keeps the rename keeps the data before it"
    );
    assert_eq!(renamed_without_its_data(Profile::Btrfs), 0);
    let xfs = renamed_without_its_data(Profile::Xfs);
    assert!(
        xfs > 0,
        "xfs: some crash must keep the rename without the data (a zero-length file)"
    );
}

#[test]
fn btrfs_file_fsync_commits_its_own_name_not_its_siblings() {
    for profile in [Profile::EXT4_ORDERED, Profile::Btrfs] {
        let fs = SimFs::new(profile);
        fs.create_dir_all(&p("/d")).unwrap();
        fs.create(&p("/d/sibling")).unwrap();
        let f = fs.create(&p("/d/f.tmp")).unwrap();
        f.append(b"data").unwrap();
        fs.rename(&p("/d/f.tmp"), &p("/d/f")).unwrap();
        f.sync_data().unwrap();
        let (c, r) = fs.crash(1, CrashMode::DurableOnly);
        assert_eq!(read(&c, "/d/f").as_deref(), Some(&b"data"[..]), "{profile}");
        assert!(r.files_lost.is_empty(), "{profile}: {:?}", r.files_lost);
        assert!(
            !c.exists(&p("/d/f.tmp")).unwrap(),
            "{profile}: the rename is whole"
        );
        let sibling = c.exists(&p("/d/sibling")).unwrap();
        match profile {
            Profile::Btrfs => assert!(!sibling, "btrfs: the sibling's name is not logged"),
            _ => assert!(
                sibling,
                "{profile}: the journal commit carries every earlier name"
            ),
        }
    }
}

#[test]
fn btrfs_directory_fsync_commits_only_that_directory() {
    for profile in [Profile::EXT4_ORDERED, Profile::Btrfs] {
        let fs = SimFs::new(profile);
        fs.create_dir_all(&p("/d")).unwrap();
        fs.create_dir_all(&p("/e")).unwrap();
        fs.create(&p("/e/other")).unwrap();
        fs.create(&p("/d/mine")).unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        let (c, _) = fs.crash(1, CrashMode::DurableOnly);
        assert!(c.exists(&p("/d/mine")).unwrap(), "{profile}");
        assert_eq!(
            c.exists(&p("/e/other")).unwrap(),
            profile != Profile::Btrfs,
            "{profile}"
        );
    }
}

/// Two files with durable names; an unsynced append to `a`, then to `b`:
/// how many `Subset` crashes keep `b`'s append without `a`'s.
fn later_write_kept_without_earlier(profile: Profile) -> usize {
    let fs = SimFs::new(profile);
    fs.create_dir_all(&p("/d")).unwrap();
    let a = fs.create(&p("/d/a")).unwrap();
    let b = fs.create(&p("/d/b")).unwrap();
    fs.sync_dir(&p("/d")).unwrap();
    a.append(b"first").unwrap();
    b.append(b"second").unwrap();
    (0..200)
        .filter(|&seed| {
            let (c, _) = fs.crash(seed, CrashMode::Subset);
            read(&c, "/d/a").unwrap().is_empty() && !read(&c, "/d/b").unwrap().is_empty()
        })
        .count()
}

#[test]
fn ext4_journal_keeps_one_global_prefix_of_data_in_every_mode() {
    assert!(
        later_write_kept_without_earlier(Profile::EXT4_ORDERED) > 0,
        "ext4-ordered: files keep their own subsets in a Subset crash"
    );
    assert_eq!(later_write_kept_without_earlier(Profile::Ext4Journal), 0);
}

#[test]
fn ext4_journal_tears_writes_at_blocks_not_sectors() {
    let mut torn_inside = 0;
    for profile in [Profile::EXT4_ORDERED, Profile::Ext4Journal] {
        let fs = SimFs::new(profile);
        fs.create_dir_all(&p("/d")).unwrap();
        let f = fs.create(&p("/d/a")).unwrap();
        f.sync_all().unwrap();
        f.append(&[7u8; 10_000]).unwrap();
        for seed in 0..200 {
            let (c, _) = fs.crash(seed, CrashMode::Torn);
            let data = read(&c, "/d/a").unwrap();
            let sevens = data.iter().take_while(|b| **b == 7).count();
            if sevens % 4096 != 0 && sevens != 10_000 {
                assert_eq!(profile, Profile::EXT4_ORDERED, "seed {seed}: {sevens}");
                torn_inside += 1;
            }
        }
    }
    assert!(torn_inside > 0, "ext4-ordered tears at 512-byte sectors");
}

fn failing_second_sync(profile: Profile) -> (SimFs, std::sync::Arc<dyn VFile>) {
    let fs = with_synced_file(profile);
    let m = fs.open(&p("/d/m")).unwrap();
    m.append(b"+new").unwrap();
    // Syncs so far: the file's and the directory's.
    fs.set_faults(Faults {
        fail_sync: Some(3),
        ..Faults::default()
    });
    (fs, m)
}

#[test]
fn ext4_ordered_and_xfs_mark_failed_pages_clean() {
    for profile in [Profile::EXT4_ORDERED, Profile::Xfs] {
        let (fs, m) = failing_second_sync(profile);
        assert!(m.sync_data().is_err(), "{profile}: reported at once");
        assert_eq!(
            m.read_all().unwrap(),
            b"old+new",
            "{profile}: still in memory"
        );
        assert!(
            m.sync_data().is_ok(),
            "{profile}: the retry reports success"
        );
        let (c, _) = fs.crash(1, CrashMode::DurableOnly);
        assert_eq!(
            read(&c, "/d/m").unwrap(),
            b"old",
            "{profile}: never durable"
        );
    }
}

#[test]
fn btrfs_reverts_the_file_on_a_failed_fsync() {
    let (fs, m) = failing_second_sync(Profile::Btrfs);
    assert!(m.sync_data().is_err());
    assert_eq!(m.read_all().unwrap(), b"old", "the page cache reverts too");
    assert_eq!(m.len().unwrap(), 3);
    assert!(m.sync_data().is_ok(), "the retry reports success");
    let (c, _) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(read(&c, "/d/m").unwrap(), b"old");
}

#[test]
fn ext4_journal_reports_a_failed_fsync_at_the_next_one() {
    let (fs, m) = failing_second_sync(Profile::Ext4Journal);
    assert!(m.sync_data().is_ok(), "the data reached the journal");
    let (c, _) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(read(&c, "/d/m").unwrap(), b"old+new", "and is durable");
    m.append(b"+later").unwrap();
    assert!(m.sync_data().is_err(), "the next fsync reports the error");
    let (c, _) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(
        read(&c, "/d/m").unwrap(),
        b"old+new",
        "the reporting fsync wrote nothing"
    );
    assert!(m.sync_data().is_ok(), "the one after works");
    let (c, _) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(read(&c, "/d/m").unwrap(), b"old+new+later");
}
