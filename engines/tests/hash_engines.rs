//! bitcask and loghash: merges under concurrent writers, write
//! amplification, hint files.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{key, value};
use engines::fs::{CountingFs, RealFs, Vfs};
use engines::record::HEADER_LEN;
use engines::{Engine, EngineConfig, SyncPolicy};

const HASH_ENGINES: [&str; 2] = ["bitcask", "loghash"];

fn config(dir: &std::path::Path, vfs: Arc<dyn Vfs>, background: bool) -> EngineConfig {
    let mut c = EngineConfig::with_vfs(dir, vfs, SyncPolicy::NONE);
    c.segment_bytes = 8 * 1024;
    c.merge_trigger_files = 3;
    c.background_maintenance = background;
    c
}

#[test]
fn merges_under_concurrent_writers_lose_nothing() {
    for name in HASH_ENGINES {
        for background in [true, false] {
            let t = tempfile::tempdir().unwrap();
            let cfg = config(t.path(), RealFs::shared(), background);
            let e: Arc<dyn Engine> = Arc::from(engines::open(name, cfg.clone()).unwrap());
            std::thread::scope(|s| {
                for th in 0..4u64 {
                    let e = e.clone();
                    s.spawn(move || {
                        for round in 0..20u64 {
                            for i in 0..50u64 {
                                let k = th * 1000 + i;
                                if (i + round) % 11 == 0 {
                                    e.delete(&key(k)).unwrap();
                                } else {
                                    e.put(&key(k), &value(k, round, 80)).unwrap();
                                }
                            }
                        }
                    });
                }
                let e = e.clone();
                s.spawn(move || {
                    for _ in 0..10 {
                        e.maintain().unwrap();
                    }
                });
            });
            let merges: u64 = e.stats().maintenance_runs.values().sum();
            assert!(merges >= 10, "{name}: {merges} merges");
            let mut model = BTreeMap::new();
            for th in 0..4u64 {
                for i in 0..50u64 {
                    let k = th * 1000 + i;
                    // The last round (19) decides.
                    if (i + 19) % 11 != 0 {
                        model.insert(key(k), value(k, 19, 80));
                    }
                }
            }
            let check = |e: &dyn Engine| {
                for th in 0..4u64 {
                    for i in 0..50u64 {
                        let k = key(th * 1000 + i);
                        assert_eq!(
                            e.get(&k).unwrap().as_ref(),
                            model.get(&k),
                            "{name} bg={background}"
                        );
                    }
                }
            };
            check(&*e);
            e.close().unwrap();
            drop(e);
            let e = engines::open(name, cfg).unwrap();
            check(&*e);
            assert_eq!(e.stats().live_keys, Some(model.len() as u64));
            e.close().unwrap();
        }
    }
}

/// Write amplification, measured by the counting Vfs:
///
///   engine bytes = N x (21 + k + v)            every put appended once
///                + K x (21 + k + v)            the merge copies each live key once
///                + K x (21 + k + 13)           bitcask: one hint record per copy
///                + (21 + 6 + 4 x F)            the merge marker (F merged files)
///
/// for N puts of K distinct keys (k-byte keys, v-byte values) and one merge
/// of everything at the end; user bytes = N x (k + v).
#[test]
fn write_amplification_matches_the_formula() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let counting = CountingFs::new(RealFs::shared());
        let mut cfg = config(t.path(), Arc::new(counting.clone()), false);
        cfg.merge_trigger_files = usize::MAX;
        let e = engines::open(name, cfg).unwrap();
        counting.counters().reset();
        let (n, k_keys, klen, vlen) = (5000u64, 100u64, 16u64, 100u64);
        for i in 0..n {
            e.put(&key(i % k_keys), &value(i, 0, vlen as usize))
                .unwrap();
        }
        assert_eq!(key(0).len() as u64, klen);
        let files_before = e.stats().files;
        e.maintain().unwrap();
        let snap = counting.counters().snapshot();
        let rec = HEADER_LEN as u64 + klen + vlen;
        let merged_files = files_before; // every file, after maintain rotates the active one
        let mut expected = n * rec + k_keys * rec + (HEADER_LEN as u64 + 6 + 4 * merged_files);
        if name == "bitcask" {
            expected += k_keys * (HEADER_LEN as u64 + klen + 13);
        }
        assert_eq!(
            snap.bytes_written, expected,
            "{name}: {:?}",
            snap.bytes_by_kind
        );
        let wa = snap.bytes_written as f64 / (n * (klen + vlen)) as f64;
        assert!(wa > 1.18 && wa < 1.25, "{name}: write amplification {wa}");
        // After the merge, only the live copies remain on disk.
        let s = e.stats();
        assert_eq!(s.live_keys, Some(k_keys));
        assert!(
            s.disk_bytes < 2 * k_keys * rec + 4096,
            "{name}: {} bytes on disk",
            s.disk_bytes
        );
        e.close().unwrap();
    }
}

#[test]
fn bitcask_recovers_from_hint_files_and_falls_back_when_they_are_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), false);
    let e = engines::open("bitcask", cfg.clone()).unwrap();
    for i in 0..500u64 {
        e.put(&key(i), &value(i, 1, 60)).unwrap();
    }
    e.delete(&key(7)).unwrap();
    e.maintain().unwrap();
    e.close().unwrap();
    drop(e);
    let hints: Vec<String> = RealFs
        .list_dir(t.path())
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".hint"))
        .collect();
    assert!(!hints.is_empty(), "merge wrote no hint files");
    let check = || {
        let e = engines::open("bitcask", cfg.clone()).unwrap();
        for i in 0..500u64 {
            let want = (i != 7).then(|| value(i, 1, 60));
            assert_eq!(e.get(&key(i)).unwrap(), want, "key {i}");
        }
        e.close().unwrap();
    };
    check();
    // Corrupt a byte in the middle of every hint file: recovery scans the
    // data files instead and still finds everything.
    for h in &hints {
        let f = RealFs.open(&t.path().join(h)).unwrap();
        let at = f.len().unwrap() / 2;
        let mut b = [0u8];
        f.read_at(&mut b, at).unwrap();
        f.write_at(&[b[0] ^ 0xff], at).unwrap();
    }
    check();
}

#[test]
fn empty_values_are_values_and_deletes_are_tombstones_after_merge() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let cfg = config(t.path(), RealFs::shared(), false);
        let e = engines::open(name, cfg.clone()).unwrap();
        e.put(b"empty", b"").unwrap();
        e.put(b"gone", b"x").unwrap();
        e.delete(b"gone").unwrap();
        e.maintain().unwrap();
        e.close().unwrap();
        let e = engines::open(name, cfg).unwrap();
        assert_eq!(e.get(b"empty").unwrap(), Some(vec![]), "{name}");
        assert_eq!(e.get(b"gone").unwrap(), None, "{name}");
        e.close().unwrap();
    }
}
