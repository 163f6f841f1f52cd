//! The conformance suite: every registered engine runs these tests
//! unchanged. Registering an engine adds it here.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{
    all_engines, assert_state, cheapest_policy, durable_policy, engines, key, read, small_config,
    value, Ev, EventFs,
};
use engines::fs::{RealFs, Vfs};
use engines::{Engine, EngineConfig, Error, SyncPolicy};

fn open_default(info: &engines::EngineInfo, dir: &std::path::Path) -> Box<dyn Engine> {
    info.open(EngineConfig::new(dir, durable_policy(info, "always+dir")))
        .unwrap()
}

#[test]
fn put_get_overwrite_delete_and_empty_values() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        let e = open_default(info, t.path());
        e.put(b"a", b"1").unwrap();
        e.put(b"b", b"2").unwrap();
        e.put(b"a", b"3").unwrap();
        e.delete(b"b").unwrap();
        e.delete(b"never-written").unwrap();
        e.put(b"c", b"").unwrap();
        let model = BTreeMap::from([(b"a".to_vec(), b"3".to_vec()), (b"c".to_vec(), vec![])]);
        let keys = vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"zz".to_vec()];
        assert_state(&*e, &model, &keys);
        // An empty value is a value, not a delete.
        assert_eq!(read(&*e, b"c"), Some(vec![]), "{}", info.name);
        assert_eq!(read(&*e, b"b"), None, "{}", info.name);
        e.close().unwrap();
        assert!(
            matches!(e.put(b"x", b"y"), Err(Error::Closed)),
            "{}",
            info.name
        );
    }
}

#[test]
fn unsupported_operations_say_so() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        let e = open_default(info, t.path());
        assert_eq!(e.capabilities(), info.capabilities, "{}", info.name);
        if !info.capabilities.point_reads {
            assert!(matches!(e.get(b"k"), Err(Error::Unsupported { .. })));
        }
        if !info.capabilities.range_scans {
            assert!(matches!(
                e.scan(b"", None, 10),
                Err(Error::Unsupported { .. })
            ));
        }
        e.close().unwrap();
    }
}

#[test]
fn scans_are_ordered_bounded_and_limited() {
    for info in all_engines().filter(|i| i.capabilities.range_scans) {
        let t = tempfile::tempdir().unwrap();
        let e = info
            .open(small_config(
                t.path(),
                RealFs::shared(),
                cheapest_policy(info),
            ))
            .unwrap();
        for i in (0..300).rev() {
            e.put(&key(i), &value(i, 0, 30)).unwrap();
        }
        for i in (0..300).step_by(3) {
            e.delete(&key(i)).unwrap();
        }
        let got = e.scan(&key(10), Some(&key(20)), usize::MAX).unwrap();
        let want: Vec<_> = (10..20)
            .filter(|i| i % 3 != 0)
            .map(|i| (key(i), value(i, 0, 30)))
            .collect();
        assert_eq!(got, want, "{}", info.name);
        let got = e.scan(&key(290), None, 3).unwrap();
        let keys: Vec<_> = got.into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![key(290), key(292), key(293)], "{}", info.name);
        e.close().unwrap();
    }
}

#[test]
fn reopen_recovers_after_close_and_after_drop() {
    for info in all_engines() {
        for close in [true, false] {
            let t = tempfile::tempdir().unwrap();
            let mut model = BTreeMap::new();
            let keys: Vec<_> = (0..200).map(key).collect();
            {
                let e = info
                    .open(small_config(
                        t.path(),
                        RealFs::shared(),
                        cheapest_policy(info),
                    ))
                    .unwrap();
                for round in 0..3u64 {
                    for i in 0..200u64 {
                        if (i + round) % 7 == 0 {
                            e.delete(&key(i)).unwrap();
                            model.remove(&key(i));
                        } else {
                            e.put(&key(i), &value(i, round, 50)).unwrap();
                            model.insert(key(i), value(i, round, 50));
                        }
                    }
                }
                if close {
                    e.close().unwrap();
                }
            }
            let e = info
                .open(small_config(
                    t.path(),
                    RealFs::shared(),
                    cheapest_policy(info),
                ))
                .unwrap();
            assert_state(&*e, &model, &keys);
            // And it keeps working after recovery.
            e.put(&key(1000), b"after").unwrap();
            assert_eq!(read(&*e, &key(1000)), Some(b"after".to_vec()));
            e.close().unwrap();
        }
    }
}

/// Writes `n` puts through an `EventFs` and returns the log events; the
/// engine is leaked, not closed or dropped, to stand for a process crash.
fn write_and_crash(
    info: &engines::EngineInfo,
    dir: &std::path::Path,
    n: u64,
) -> (Vec<Ev>, BTreeMap<Vec<u8>, Vec<u8>>) {
    let fs = EventFs::new();
    let mut cfg = EngineConfig::with_vfs(dir, Arc::new(fs.clone()), SyncPolicy::ALWAYS_DIR);
    cfg.background_maintenance = false;
    let e = info.open(cfg).unwrap();
    fs.take();
    let mut model = BTreeMap::new();
    for i in 0..n {
        e.put(&key(i), &value(i, 1, 40)).unwrap();
        model.insert(key(i), value(i, 1, 40));
    }
    std::mem::forget(e);
    (fs.take(), model)
}

fn writes(events: &[Ev]) -> Vec<(std::path::PathBuf, u64, u64)> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::Write {
                path, offset, len, ..
            } => Some((path.clone(), *offset, *len)),
            _ => None,
        })
        .collect()
}

#[test]
fn torn_tail_is_truncated_and_earlier_writes_survive() {
    for info in engines() {
        for cut in [1u64, 5, 20, 30] {
            let t = tempfile::tempdir().unwrap();
            let (events, mut model) = write_and_crash(info, t.path(), 50);
            let (path, offset, len) = writes(&events).pop().unwrap();
            let cut = cut.min(len - 1);
            let f = RealFs.open(&path).unwrap();
            let size = f.len().unwrap();
            assert!(
                size >= offset + len,
                "{}: last write is the tail",
                info.name
            );
            if size == offset + len {
                f.set_len(offset + len - cut).unwrap();
            } else {
                // A log with reserved space: the torn write leaves zeros
                // where its last bytes should be, and the file size says
                // nothing about where the log ends.
                f.write_at(&vec![0u8; cut as usize], offset + len - cut)
                    .unwrap();
            }
            drop(f);

            let e = open_default(info, t.path());
            let last = key(49);
            let got = read(&*e, &last);
            assert!(got.is_none(), "{}: torn last write came back", info.name);
            model.remove(&last);
            let keys: Vec<_> = (0..50).map(key).collect();
            assert_state(&*e, &model, &keys);
            assert!(
                e.stats().recovered_torn_bytes > 0,
                "{}: torn bytes not reported",
                info.name
            );
            // New writes after the truncated tail are readable after a reopen.
            e.put(&last, b"rewritten").unwrap();
            e.close().unwrap();
            let e = open_default(info, t.path());
            assert_eq!(
                read(&*e, &last),
                Some(b"rewritten".to_vec()),
                "{}",
                info.name
            );
            e.close().unwrap();
        }
    }
}

#[test]
fn corrupt_byte_in_the_middle_is_an_error_naming_file_and_offset() {
    for info in engines() {
        let t = tempfile::tempdir().unwrap();
        let (events, _) = write_and_crash(info, t.path(), 50);
        let w = writes(&events);
        let (path, offset, len) = w[w.len() / 2].clone();
        let f = RealFs.open(&path).unwrap();
        let at = offset + len - 3;
        let mut b = [0u8; 1];
        f.read_at(&mut b, at).unwrap();
        f.write_at(&[b[0] ^ 0x5a], at).unwrap();
        drop(f);

        match info.open(EngineConfig::new(t.path(), SyncPolicy::ALWAYS_DIR)) {
            Err(Error::Corrupt {
                file, offset: off, ..
            }) => {
                assert_eq!(file, path, "{}", info.name);
                assert!(
                    off.is_some_and(|off| (offset..offset + len).contains(&off)),
                    "{}: offset {off:?} outside damaged write {offset}..{}",
                    info.name,
                    offset + len
                );
            }
            Err(other) => panic!("{}: expected Corrupt, got {other}", info.name),
            Ok(_) => panic!("{}: corruption in the middle was not detected", info.name),
        }
    }
}

#[test]
fn values_from_empty_to_one_mebibyte() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        let e = open_default(info, t.path());
        let mut stored = Vec::new();
        for (i, len) in [0usize, 1, 100, 1000, 4095, 4096, 65_536, 1 << 20]
            .into_iter()
            .enumerate()
        {
            let v = value(i as u64, 0, len);
            match e.put(&key(i as u64), &v) {
                Ok(()) => stored.push((key(i as u64), v)),
                Err(Error::TooLarge { .. }) => {}
                Err(other) => panic!("{}: {len}-byte value: {other}", info.name),
            }
        }
        assert!(stored.len() >= 4, "{}: refused small values", info.name);
        e.close().unwrap();
        let e = open_default(info, t.path());
        for (k, v) in &stored {
            assert_eq!(read(&*e, k).as_ref(), Some(v), "{}", info.name);
        }
        e.close().unwrap();
    }
}

#[test]
fn thousands_of_keys_across_many_files() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = small_config(t.path(), RealFs::shared(), cheapest_policy(info));
        cfg.background_maintenance = true;
        let e = info.open(cfg.clone()).unwrap();
        let mut model = BTreeMap::new();
        for round in 0..2u64 {
            for i in 0..3000u64 {
                e.put(&key(i), &value(i, round, 100)).unwrap();
                model.insert(key(i), value(i, round, 100));
            }
        }
        // The data outgrew one file (or, for the single-file btree, went
        // through checkpoints of its pages).
        let s = e.stats();
        assert!(
            !info.uses_vfs || s.files > 3 || s.maintenance_runs.values().sum::<u64>() > 3,
            "{}: expected many files or checkpoints: {s:?}",
            info.name
        );
        e.maintain().unwrap();
        e.close().unwrap();
        let e = info.open(cfg).unwrap();
        let keys: Vec<_> = (0..3000).map(key).collect();
        assert_state(&*e, &model, &keys);
        e.close().unwrap();
    }
}

#[test]
fn concurrent_writers_under_group_commit() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        let policy = durable_policy(info, "group+dir");
        let e: Arc<dyn Engine> = Arc::from(
            info.open(small_config(t.path(), RealFs::shared(), policy))
                .unwrap(),
        );
        std::thread::scope(|s| {
            for th in 0..8u64 {
                let e = e.clone();
                s.spawn(move || {
                    for i in 0..100u64 {
                        let k = th * 1000 + i;
                        e.put(&key(k), &value(k, 0, 60)).unwrap();
                    }
                });
            }
        });
        e.close().unwrap();
        let e = info
            .open(small_config(t.path(), RealFs::shared(), policy))
            .unwrap();
        let model: BTreeMap<_, _> = (0..8u64)
            .flat_map(|th| (0..100u64).map(move |i| th * 1000 + i))
            .map(|k| (key(k), value(k, 0, 60)))
            .collect();
        let keys: Vec<_> = model.keys().cloned().collect();
        assert_state(&*e, &model, &keys);
        e.close().unwrap();
    }
}

#[test]
fn bad_directories_are_typed_errors_with_the_path() {
    for info in all_engines() {
        let t = tempfile::tempdir().unwrap();
        // A regular file where the directory should be.
        let file_path = t.path().join("plain-file");
        RealFs.create(&file_path).unwrap();
        let err = info
            .open(EngineConfig::new(&file_path, cheapest_policy(info)))
            .unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{}: {err}", info.name);
        assert!(
            err.to_string().contains("plain-file"),
            "{}: {err}",
            info.name
        );
        // A directory below a regular file cannot be created.
        let below = file_path.join("sub");
        let err = info
            .open(EngineConfig::new(&below, cheapest_policy(info)))
            .unwrap_err();
        assert!(
            err.to_string().contains("plain-file"),
            "{}: {err}",
            info.name
        );
    }
}

#[test]
fn unknown_engine_lists_valid_names() {
    let t = tempfile::tempdir().unwrap();
    let err = engines::open("leveldb", EngineConfig::new(t.path(), SyncPolicy::NONE)).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("leveldb") && msg.contains("wal"), "{msg}");
}

/// Under `none`, a successful `Engine::sync` promises that every write
/// acknowledged before it survives a power loss. Maintenance after it (a
/// merge, a compaction, a flush, a checkpoint) rewrites those writes into
/// new, unsynced files and removes the synced ones: it must not undo the
/// promise. Found through FUSE: a bitcask merge under load lost a synced
/// put and resurrected a synced delete.
#[test]
fn an_explicit_sync_under_none_survives_later_maintenance() {
    use engines::fs::{CrashMode, Profile, SimFs};
    let dir = std::path::Path::new("/db");
    // File names are durable only under `+dir`, or where a file sync
    // commits them (ext4: the linux profile).
    for info in engines() {
        for (profile, policy) in [(Profile::Linux, "none"), (Profile::Posix, "none+dir")] {
            let policy: SyncPolicy = policy.parse().unwrap();
            let fs = SimFs::new(profile);
            let e = info
                .open(small_config(dir, Arc::new(fs.clone()), policy))
                .unwrap();
            for i in 0..60 {
                e.put(&key(i), &value(i, 1, 100)).unwrap();
            }
            for i in 0..10 {
                e.delete(&key(i)).unwrap();
            }
            e.sync().unwrap();
            for round in 2..12 {
                for i in 30..60 {
                    e.put(&key(i), &value(i, round, 100)).unwrap();
                }
                e.maintain().unwrap();
            }
            for seed in 0..6 {
                for mode in CrashMode::ALL {
                    let (after, _) = fs.crash(seed, mode);
                    let what = format!("{} {policy} {profile:?} {mode:?} seed {seed}", info.name);
                    let r = info
                        .open(small_config(dir, Arc::new(after), policy))
                        .unwrap_or_else(|err| panic!("{what}: {err}"));
                    for i in 0..10 {
                        assert_eq!(read(&*r, &key(i)), None, "{what}: synced delete {i} undone");
                    }
                    for i in 10..30 {
                        assert_eq!(
                            read(&*r, &key(i)),
                            Some(value(i, 1, 100)),
                            "{what}: synced put {i} lost"
                        );
                    }
                    for i in 30..60 {
                        let got = read(&*r, &key(i));
                        assert!(
                            (1..12).any(|v| got.as_deref() == Some(&value(i, v, 100)[..])),
                            "{what}: key {i} holds none of its acknowledged values"
                        );
                    }
                }
            }
        }
    }
}

/// Under `batch:N` with background threads (the lsm and the btree leave
/// their index updates to an applier then, see `engines::deferred`),
/// with rotations, flushes and checkpoints on small sizes: two writers,
/// each reading back every write it made at once, and a third thread
/// scanning, see every acknowledged write, and the final state holds all
/// of them, before and after a reopen.
#[test]
fn batch_writers_read_their_writes_while_the_applier_runs() {
    for info in engines().filter(|i| i.capabilities.point_reads) {
        let t = tempfile::tempdir().unwrap();
        let policy = durable_policy(info, "batch:4");
        let mut cfg = small_config(t.path(), RealFs::shared(), policy);
        cfg.background_maintenance = true;
        let e: Arc<dyn Engine> = Arc::from(info.open(cfg.clone()).unwrap());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let scanner = {
            let (e, stop) = (e.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut scans = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if e.capabilities().range_scans {
                        let got = e.scan(b"", None, usize::MAX).unwrap();
                        assert!(got.windows(2).all(|w| w[0].0 < w[1].0), "scan out of order");
                    }
                    scans += 1;
                }
                scans
            })
        };
        let writers: Vec<_> = (0..2u64)
            .map(|w| {
                let e = e.clone();
                std::thread::spawn(move || {
                    let mut model = BTreeMap::new();
                    for i in 0..1500u64 {
                        let k = key(w * 100_000 + i % 400);
                        let v = value(i % 400, i, 20);
                        e.put(&k, &v).unwrap();
                        assert_eq!(e.get(&k).unwrap(), Some(v.clone()), "writer {w} put {i}");
                        model.insert(k, v);
                    }
                    model
                })
            })
            .collect();
        let mut model = BTreeMap::new();
        for w in writers {
            model.extend(w.join().unwrap());
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        assert!(scanner.join().unwrap() > 0);
        let keys: Vec<Vec<u8>> = model.keys().cloned().collect();
        assert_state(&*e, &model, &keys);
        e.close().unwrap();
        drop(e);
        let e = info.open(cfg).unwrap();
        assert_state(&*e, &model, &keys);
        e.close().unwrap();
    }
}
