//! Tests of the seeded crash, faults and sync delay of [`SimFs`].

use std::path::PathBuf;

use super::*;
use crate::fs::Vfs;

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn unsynced_data_and_names_are_lost_synced_survive() {
    for profile in [Profile::Posix, Profile::Linux] {
        let fs = SimFs::new(profile);
        fs.create_dir_all(&p("/d")).unwrap();
        let f = fs.create(&p("/d/a")).unwrap();
        f.append(b"hello").unwrap();
        let (c, _) = fs.crash(1, CrashMode::DurableOnly);
        assert!(
            !c.exists(&p("/d/a")).unwrap(),
            "{profile:?}: unsynced name survived"
        );
        f.sync_data().unwrap();
        let (c, r) = fs.crash(1, CrashMode::DurableOnly);
        match profile {
            // Linux: the fsync committed the name too.
            Profile::Linux => {
                assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"hello")
            }
            // POSIX: synced data, but the name was never synced: lost file.
            _ => {
                assert!(!c.exists(&p("/d/a")).unwrap());
                assert_eq!(r.files_lost, vec![p("/d/a")]);
            }
        }
        fs.sync_dir(&p("/d")).unwrap();
        f.append(b" world").unwrap();
        let (c, r) = fs.crash(1, CrashMode::DurableOnly);
        assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"hello");
        assert_eq!(r.writes_dropped, 1);
    }
}

#[test]
fn failed_sync_drops_data_and_the_next_sync_lies() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap();
    fs.sync_dir(&p("/d")).unwrap();
    f.append(b"lost").unwrap();
    fs.set_faults(Faults {
        fail_sync: Some(2),
        ..Faults::default()
    });
    assert!(f.sync_data().is_err());
    assert!(f.sync_data().is_ok(), "the retry reports success");
    let (c, _) = fs.crash(7, CrashMode::DurableOnly);
    assert_eq!(
        c.open(&p("/d/a")).unwrap().read_all().unwrap(),
        b"",
        "data of the failed sync must not be durable"
    );
    // Reads before the crash still see it (page cache).
    assert_eq!(f.read_all().unwrap(), b"lost");
}

#[test]
fn torn_writes_keep_whole_sectors_only() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap();
    f.sync_data().unwrap();
    f.append(&[7u8; 2000]).unwrap();
    for seed in 0..50 {
        let (c, _) = fs.crash(seed, CrashMode::Torn);
        let data = c.open(&p("/d/a")).unwrap().read_all().unwrap();
        let sevens = data.iter().take_while(|b| **b == 7).count();
        assert!(
            sevens == 0 || sevens % 512 == 0 || sevens == 2000,
            "seed {seed}: {sevens}"
        );
    }
}

#[test]
fn linux_keeps_name_operations_in_order() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    for i in 0..10 {
        fs.create(&p(&format!("/d/f{i}"))).unwrap();
    }
    for seed in 0..50 {
        let (c, _) = fs.crash(seed, CrashMode::Prefix);
        let names = c.list_dir(&p("/d")).unwrap();
        let n = names.len();
        let want: Vec<String> = (0..n).map(|i| format!("f{i}")).collect();
        let mut got = names.clone();
        got.sort_by_key(|s| s[1..].parse::<u32>().unwrap_or(0));
        assert_eq!(got, want, "seed {seed}: not a prefix");
    }
}

#[test]
fn freeze_captures_the_state_at_a_sync_point() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap();
    fs.freeze_after_sync(1);
    f.append(b"one").unwrap();
    f.sync_data().unwrap();
    f.append(b"two").unwrap();
    f.sync_data().unwrap();
    assert!(fs.frozen());
    let (c, _) = fs.crash(3, CrashMode::Prefix);
    assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"one");
}
#[test]
fn a_dropped_removal_is_reported_and_a_dropped_rename_is_not() {
    let fs = SimFs::new(Profile::Posix);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/journal")).unwrap();
    f.append(b"old pages").unwrap();
    f.sync_data().unwrap();
    fs.create(&p("/d/a.tmp")).unwrap();
    fs.sync_dir(&p("/d")).unwrap();
    fs.remove(&p("/d/journal")).unwrap();
    fs.rename(&p("/d/a.tmp"), &p("/d/a")).unwrap();
    let (c, r) = fs.crash(1, CrashMode::DurableOnly);
    assert!(
        c.exists(&p("/d/journal")).unwrap(),
        "the removed file is back"
    );
    assert_eq!(r.removes_reverted, 1, "{r:?}");
    let (_, r) = fs.crash(1, CrashMode::Subset);
    assert!(r.removes_reverted <= 1);
    fs.sync_dir(&p("/d")).unwrap();
    let (_, r) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(r.removes_reverted, 0);
}

#[test]
fn a_rename_survives_whole_or_not_at_all() {
    for profile in [Profile::Posix, Profile::Linux] {
        let fs = SimFs::new(profile);
        fs.create_dir_all(&p("/d")).unwrap();
        let f = fs.create(&p("/d/a.tmp")).unwrap();
        f.append(b"x").unwrap();
        f.sync_data().unwrap();
        fs.sync_dir(&p("/d")).unwrap();
        fs.rename(&p("/d/a.tmp"), &p("/d/a")).unwrap();
        for seed in 0..64 {
            for mode in CrashMode::ALL {
                let (c, _) = fs.crash(seed, mode);
                let names = c.list_dir(&p("/d")).unwrap();
                assert!(
                    names == ["a"] || names == ["a.tmp"],
                    "{profile:?} {mode:?} seed {seed}: {names:?}"
                );
            }
        }
    }
}

#[test]
fn the_report_lists_what_the_crash_kept_and_dropped_by_operation_number() {
    let fs = SimFs::new(Profile::Linux);
    fs.record_events();
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap(); // #1
    f.append(b"synced").unwrap(); // #2
    f.sync_data().unwrap();
    f.append(b"one").unwrap(); // #3
    fs.rename(&p("/d/a"), &p("/d/b")).unwrap(); // #4
    f.set_len(2).unwrap(); // #5
    let events = fs.take_events();
    assert_eq!(
        events,
        [
            "#1 create /d/a",
            "#2 write /d/a @0 +6",
            "fsync /d/a",
            "#3 write /d/a @6 +3",
            "#4 rename /d/a -> /d/b",
            // The handle names the path it was opened with.
            "#5 set_len /d/a 2",
        ]
    );
    let (_, r) = fs.crash(1, CrashMode::DurableOnly);
    assert!(r.kept.is_empty(), "{r:?}");
    assert_eq!(
        r.dropped,
        [
            "#3 write /d/b @6 +3",
            "#4 rename /d/a -> /d/b",
            "#5 set_len /d/b 2"
        ]
    );
    // A prefix in time: whatever the seed, kept ops come before dropped ones.
    for seed in 0..32 {
        let (_, r) = fs.crash(seed, CrashMode::Prefix);
        assert_eq!(r.kept.len() + r.dropped.len(), 3, "{r:?}");
        let num = |s: &String| s[1..s.find(' ').unwrap()].parse::<u64>().unwrap();
        let last_kept = r.kept.iter().map(num).max().unwrap_or(0);
        assert!(r.dropped.iter().map(num).all(|n| n > last_kept), "{r:?}");
    }
}

#[test]
fn a_torn_write_says_how_much_of_it_was_kept() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap();
    f.sync_data().unwrap();
    f.append(&[7u8; 2000]).unwrap();
    let torn = (0..64)
        .map(|seed| fs.crash(seed, CrashMode::Torn).1)
        .find_map(|r| r.dropped.into_iter().find(|d| d.contains("torn")))
        .expect("some seed tears the write");
    assert!(
        torn.starts_with("#2 write /d/a @0 +2000 (torn: its first "),
        "{torn}"
    );
}

#[test]
fn a_failed_directory_sync_loses_its_names_and_the_retry_lies() {
    let fs = SimFs::new(Profile::Posix);
    fs.create_dir_all(&p("/d")).unwrap();
    fs.set_faults(Faults {
        fail_dir_sync: Some(1),
        ..Faults::default()
    });
    let f = fs.create(&p("/d/a")).unwrap();
    f.append(b"data").unwrap();
    f.sync_data().unwrap();
    assert!(fs.sync_dir(&p("/d")).is_err());
    assert!(fs.sync_dir(&p("/d")).is_ok(), "the retry reports success");
    let (c, r) = fs.crash(1, CrashMode::Prefix);
    assert!(
        !c.exists(&p("/d/a")).unwrap(),
        "the name must not be durable"
    );
    assert_eq!(r.files_lost, vec![p("/d/a")]);
}

/// The write comes once the sync has started (a handshake on its
/// count, not a sleep that assumes the thread began by then), while
/// its delay runs.
#[test]
fn a_slow_sync_does_not_cover_writes_made_while_it_runs() {
    let fs = SimFs::new(Profile::Linux);
    fs.create_dir_all(&p("/d")).unwrap();
    let f = fs.create(&p("/d/a")).unwrap();
    fs.set_sync_delay(std::time::Duration::from_millis(200));
    f.append(b"before").unwrap();
    std::thread::scope(|s| {
        s.spawn(|| f.sync_data().unwrap());
        while fs.lock().syncs_started == 0 {
            std::thread::yield_now();
        }
        f.append(b"during").unwrap();
    });
    let (c, _) = fs.crash(1, CrashMode::DurableOnly);
    assert_eq!(c.open(&p("/d/a")).unwrap().read_all().unwrap(), b"before");
}
