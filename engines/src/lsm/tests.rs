use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::engine::EngineConfig;
use crate::fs::{RealFs, Vfs};
use crate::policy::SyncPolicy;

fn config(dir: &Path, vfs: Arc<dyn Vfs>) -> EngineConfig {
    let mut c = EngineConfig::with_vfs(dir, vfs, SyncPolicy::NONE);
    c.memtable_bytes = 2048;
    c.merge_trigger_files = 3;
    c.background_maintenance = false;
    c
}

fn key(i: u64) -> Vec<u8> {
    format!("k{i:06}").into_bytes()
}

fn levels(e: &Lsm) -> Vec<usize> {
    e.inner.tree().version.levels.iter().map(Vec::len).collect()
}

/// Checks the level invariants: sorted levels are in key order with
/// disjoint ranges, and no sorted level is far over its target.
fn assert_levels(e: &Lsm) {
    let t = e.inner.tree();
    for (i, l) in t.version.levels.iter().enumerate().skip(1) {
        for w in l.windows(2) {
            assert!(
                w[0].last_key() < w[1].first_key.as_slice(),
                "level {i} overlaps: {:?}",
                levels(e)
            );
        }
    }
}

/// Random puts and deletes over a small key space with 2 KiB memtables:
/// data reaches level 3 and beyond, gets and scans match a `BTreeMap`
/// throughout and after reopening, and compaction steps stay bounded.
#[test]
fn leveled_compaction_matches_a_model_across_levels_and_reopens() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared());
    let mut e = Lsm::open(cfg.clone()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut x = 0x5EEDu64;
    let mut deepest = 0;
    for step in 0..30_000u64 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let k = key((x >> 33) % 3000);
        if (x >> 20) % 5 == 0 {
            e.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = format!("{step}").into_bytes();
            e.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        if step % 3000 == 2999 {
            assert_levels(&e);
            deepest = deepest.max(levels(&e).iter().rposition(|&n| n > 0).unwrap_or(0));
            for i in (0..3000).step_by(7) {
                let k = key(i);
                assert_eq!(
                    e.get(&k).unwrap(),
                    model.get(&k).cloned(),
                    "get {i} at {step}"
                );
            }
            let from = key((x >> 40) % 3000);
            let got = e.scan(&from, None, 50).unwrap();
            let want: Vec<_> = model
                .range(from.clone()..)
                .take(50)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            assert_eq!(got, want, "scan at {step}");
        }
        if step == 20_000 {
            e.close().unwrap();
            e = Lsm::open(cfg.clone()).unwrap();
        }
    }
    assert!(
        deepest >= 2,
        "data never went below level 1: {:?}",
        levels(&e)
    );
    let s = e.stats();
    assert!(
        s.maintenance_runs["compactions"] > 10,
        "{:?}",
        s.maintenance_runs
    );
    e.maintain().unwrap();
    assert_eq!(levels(&e)[0], 0, "maintain leaves level 0 empty");
    let all = e.scan(b"", None, usize::MAX).unwrap();
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(all, want);
}

/// Regression guard for tombstone dropping: a delete compacted into level
/// 1 while an older value of the key sits in a deeper level must keep its
/// tombstone, or the old value comes back.
#[test]
fn tombstones_are_kept_while_a_deeper_level_holds_the_key() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared());
    let e = Lsm::open(cfg.clone()).unwrap();
    for i in 0..2000 {
        e.put(&key(i), b"old value").unwrap();
    }
    e.maintain().unwrap();
    let deep = levels(&e);
    assert!(deep.iter().skip(2).any(|&n| n > 0), "{deep:?}");
    // Two level-0 tables (so they are merged, not moved), one holding the
    // delete; merge them into level 1 (not deeper).
    for w in [5, 7] {
        if w == 5 {
            e.delete(&key(5)).unwrap();
        } else {
            e.put(&key(7), b"new value").unwrap();
        }
        let mut g = lock(&e.inner.wal);
        e.inner.rotate_memtable(&mut g).unwrap();
        drop(g);
        e.inner.flush().unwrap();
    }
    assert_eq!(levels(&e)[0], 2);
    assert!(e.inner.compact_step(true).unwrap());
    assert_eq!(e.get(&key(5)).unwrap(), None);
    let l1: Vec<u64> = e.inner.tree().version.levels[1]
        .iter()
        .map(|t| t.entries)
        .collect();
    let tombs = e.inner.tree().version.levels[1]
        .iter()
        .map(|t| t.all().filter(|r| matches!(r, Ok((_, None)))).count())
        .sum::<usize>();
    assert_eq!(tombs, 1, "level 1 {l1:?} lost or duplicated the tombstone");
    e.maintain().unwrap();
    e.close().unwrap();
    let e = Lsm::open(cfg).unwrap();
    assert_eq!(e.get(&key(5)).unwrap(), None);
    assert_eq!(e.get(&key(6)).unwrap().as_deref(), Some(&b"old value"[..]));
    assert_eq!(e.scan(b"", None, usize::MAX).unwrap().len(), 1999);
}

/// Once no deeper level can hold a deleted key, its tombstone is dropped.
#[test]
fn tombstones_are_dropped_at_the_bottom() {
    let t = tempfile::tempdir().unwrap();
    let e = Lsm::open(config(t.path(), RealFs::shared())).unwrap();
    for i in 0..100 {
        e.put(&key(i), b"v").unwrap();
    }
    for i in 0..100 {
        e.delete(&key(i)).unwrap();
    }
    e.maintain().unwrap();
    let left: u64 = e.inner.tree().version.tables().map(|t| t.entries).sum();
    assert_eq!(left, 0, "{:?}", levels(&e));
    assert!(e.scan(b"", None, usize::MAX).unwrap().is_empty());
}

#[test]
fn manifest_round_trips_levels() {
    let m = Manifest {
        next_table: 9,
        flushed_gen: 4,
        levels: vec![vec![8, 7], vec![], vec![1, 2, 3]],
    };
    let t = tempfile::tempdir().unwrap();
    let dir = EngineDir::open(RealFs::shared(), t.path(), SyncPolicy::NONE).unwrap();
    m.store(&dir).unwrap();
    assert_eq!(Manifest::load(&dir).unwrap(), Some(m));
}

/// Scans that keep paying for level-0 tables compact them below the
/// trigger, once they have spent LevelDB's budget (`size / 16 KiB` seeks
/// per table, at least 100); point reads alone never do. The compaction
/// leaves the cache as warm as the scans had made it: the output's blocks
/// are cached and the inputs' are gone.
#[test]
fn scans_compact_level_0_below_its_trigger_and_keep_the_cache_warm() {
    let t = tempfile::tempdir().unwrap();
    let mut cfg = config(t.path(), RealFs::shared());
    cfg.merge_trigger_files = 4;
    let e = Lsm::open(cfg).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut put = |i: u64, round: u64| {
        let (k, v) = (key(i * 7919 % 1000), format!("v{round}-{i}").into_bytes());
        e.put(&k, &v).unwrap();
        model.insert(k, v);
    };
    for i in 0..600 {
        put(i, 0);
    }
    e.maintain().unwrap();
    let mut i = 0;
    while levels(&e)[0] < 2 {
        put(i, 1);
        i += 1;
    }
    assert_eq!(
        levels(&e)[0],
        2,
        "two level-0 tables, below the trigger of 4"
    );
    let l0 = e.inner.tree().version.levels[0].clone();
    let l1_before = e.inner.tree().version.levels[1].clone();

    for round in 0..20 {
        for i in 0..1000 {
            e.get(&key(i)).unwrap();
        }
        e.inner.maintain(false).unwrap();
        assert_eq!(
            levels(&e)[0],
            2,
            "point reads charge nothing (round {round})"
        );
    }
    // Two tables of at most 16 KiB: 100 seeks each, 2 per scan.
    let whole: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_eq!(
        e.scan(&[], None, usize::MAX).unwrap(),
        whole,
        "caches every block"
    );
    for s in 1..99 {
        e.scan(&key(s * 10), None, 20).unwrap();
    }
    e.inner.maintain(false).unwrap();
    assert_eq!(levels(&e)[0], 2, "99 scans stay within the budget");
    let cached = |ts: &[Arc<Table>]| ts.iter().map(|t| t.cached_bytes()).sum::<usize>();
    assert!(cached(&l0) > 0 && cached(&l1_before) > 0);
    e.scan(&key(5), None, 20).unwrap();
    e.inner.maintain(false).unwrap();
    assert_eq!(
        levels(&e)[0],
        0,
        "the 100th scan asked for a level-0 compaction"
    );
    let c = &e.inner.counters;
    assert_eq!(c.read_triggered.load(Relaxed), 1);
    let l1 = e.inner.tree().version.levels[1].clone();
    assert!(
        l1.iter().all(|t| l1_before.iter().all(|b| b.id != t.id)),
        "level 1 was rewritten"
    );
    assert_eq!(cached(&l0) + cached(&l1_before), 0);
    let out: u64 = e.inner.tree().version.levels[1]
        .iter()
        .map(|t| t.size)
        .sum();
    assert!(
        cached(&l1) as u64 >= out,
        "the output is cached: {} of {out} bytes",
        cached(&l1)
    );
    assert_eq!(e.scan(&[], None, usize::MAX).unwrap(), whole);
}

/// Under a policy that defers memtable inserts (see [`crate::deferred`]),
/// without background threads, so no applier runs and every insert stays
/// pending until something needs it: reads see every acknowledged write, each rotation
/// freezes a memtable holding all of its generation's writes (its WAL is
/// retired after the flush), and a process crash loses nothing.
#[test]
fn deferred_inserts_are_seen_by_reads_and_kept_across_rotations_and_crashes() {
    let t = tempfile::tempdir().unwrap();
    let mut cfg = config(t.path(), RealFs::shared());
    cfg.policy = "batch:4".parse().unwrap();
    let e = Lsm::open(cfg.clone()).unwrap();
    assert!(e.inner.deferred.is_some(), "batch:4 defers");
    let mut model = BTreeMap::new();
    for i in 0..600u64 {
        let k = key(i * 7 % 251);
        let v = format!("v{i}").into_bytes();
        e.put(&k, &v).unwrap();
        model.insert(k.clone(), v.clone());
        if i % 50 == 0 {
            assert_eq!(e.get(&k).unwrap(), Some(v), "a get after put {i}");
        }
        if i % 97 == 0 {
            e.delete(&k).unwrap();
            model.remove(&k);
            assert_eq!(e.get(&k).unwrap(), None, "a get after delete {i}");
        }
    }
    let flushes = e.stats().maintenance_runs["flushes"];
    assert!(
        flushes >= 3,
        "only {flushes} flushes: rotations were not exercised"
    );
    let scanned: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
    assert_eq!(scanned, model);
    // More writes left pending, then a process crash (no close): the last
    // batch's writes are synced at the 4th; everything before survives.
    for i in 600..700u64 {
        let k = key(i * 7 % 251);
        let v = format!("v{i}").into_bytes();
        e.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    std::mem::forget(e);
    let e = Lsm::open(cfg).unwrap();
    let got: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
    assert_eq!(got, model, "writes lost across rotations or the crash");
}

/// A bulk load's close leaves the tree settled (level 0 empty, no level
/// over its target) and the load durable across any power cut after it:
/// the settling compaction runs under `none` after the load's explicit
/// sync, so it must sync its output before removing its inputs. With that
/// rule broken, power cuts after the close lose loaded keys.
#[test]
fn a_bulk_load_closes_settled_and_durable() {
    use crate::fs::{CrashMode, Profile, SimFs};
    let sim = SimFs::new(Profile::Posix);
    let d = Path::new("/db");
    let mut cfg = config(d, Arc::new(sim.clone()));
    cfg.bulk_load = true;
    let e = Lsm::open(cfg.clone()).unwrap();
    let mut model = BTreeMap::new();
    let mut i = 0u64;
    while i < 3000 || levels(&e)[0] == 0 {
        let (k, v) = (key(i * 7919 % 2000), format!("v{i}").into_bytes());
        e.put(&k, &v).unwrap();
        model.insert(k, v);
        i += 1;
    }
    e.sync().unwrap();
    e.close().unwrap();
    cfg.bulk_load = false;
    let mut images = vec![("no power cut".to_string(), sim.clone())];
    for mode in CrashMode::ALL {
        for seed in 0..25 {
            images.push((format!("{mode:?} {seed}"), sim.crash(seed, mode).0));
        }
    }
    for (what, fs) in images {
        let e = Lsm::open(EngineConfig {
            vfs: Arc::new(fs),
            ..cfg.clone()
        })
        .unwrap_or_else(|err| panic!("{what}: {err}"));
        assert_eq!(levels(&e)[0], 0, "level 0 after the load's close ({what})");
        assert_levels(&e);
        let got: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
        assert!(got == model, "{what}: the load is not whole");
    }
}
