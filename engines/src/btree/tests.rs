use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering::SeqCst};
use std::sync::Arc;

use super::*;
use crate::fs::{FileLayer, RealFs, VFile, Vfs, VfsLayer};
use crate::policy::SyncPolicy;

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

fn config(dir: &Path, vfs: Arc<dyn Vfs>, policy: SyncPolicy) -> EngineConfig {
    let mut c = EngineConfig::with_vfs(dir, vfs, policy);
    c.page_bytes = 512;
    c.cache_pages = 16;
    c.checkpoint_bytes = 4096;
    c.background_maintenance = false;
    c
}

fn key(i: u64) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

fn val(step: u64, len: usize) -> Vec<u8> {
    let mut v = format!("{step}:").into_bytes();
    v.resize(len, b'a' + (step % 26) as u8);
    v
}

fn assert_valid(e: &Btree, at: &str) {
    if let Err(why) = e.validate() {
        panic!("{at}: invalid tree: {why}");
    }
}

/// Random puts (values up to the entry limit, so splits are uneven),
/// deletes (runs of them, so leaves empty and merge), gets, scans,
/// checkpoints, clean reopens and process-crash reopens, on 512-byte pages
/// with a 16-page cache, checked step by step against a `BTreeMap`.
#[test]
fn model_with_small_pages_splits_merges_and_reopens() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), SyncPolicy::NONE);
    let max_value = Tree::max_entry(512) - 6 - 6;
    let mut e = Btree::open(cfg.clone()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut rng = Lcg(0xB7EE);
    let mut reopens = 0;
    let mut checkpoints = 0;
    for step in 0..12_000u64 {
        let k = key(rng.next() % 400);
        match rng.next() % 100 {
            0..=44 => {
                let len = match rng.next() % 10 {
                    0 => max_value,
                    1..=3 => 0,
                    _ => (rng.next() % 60) as usize,
                };
                let v = val(step, len);
                e.put(&k, &v).unwrap();
                model.insert(k, v);
            }
            45..=59 => {
                e.delete(&k).unwrap();
                model.remove(&k);
            }
            60..=64 => {
                // A run of deletes empties whole leaves.
                let from = rng.next() % 400;
                for i in from..from + 40 {
                    e.delete(&key(i)).unwrap();
                    model.remove(&key(i));
                }
            }
            65..=84 => assert_eq!(e.get(&k).unwrap(), model.get(&k).cloned(), "step {step}"),
            85..=92 => {
                let end = key(rng.next() % 420);
                let limit = (rng.next() % 50) as usize;
                let got = e.scan(&k, Some(&end), limit).unwrap();
                let want: Vec<_> = model
                    .range(k.clone()..)
                    .take_while(|(mk, _)| **mk < end)
                    .take(limit)
                    .map(|(a, b)| (a.clone(), b.clone()))
                    .collect();
                assert_eq!(got, want, "step {step}: scan");
            }
            93..=94 => e.maintain().unwrap(),
            95..=96 => {
                e.close().unwrap();
                checkpoints += e.stats().maintenance_runs["checkpoints"];
                e = Btree::open(cfg.clone()).unwrap();
                assert_valid(&e, &format!("step {step} after reopen"));
                reopens += 1;
            }
            97 => {
                // Process crash: everything written reached the kernel.
                checkpoints += e.stats().maintenance_runs["checkpoints"];
                std::mem::forget(e);
                e = Btree::open(cfg.clone()).unwrap();
                assert_valid(&e, &format!("step {step} after crash"));
                reopens += 1;
            }
            _ => assert_valid(&e, &format!("step {step}")),
        }
    }
    assert!(reopens > 100);
    let all = e.scan(b"", None, usize::MAX).unwrap();
    let want: Vec<_> = model.into_iter().collect();
    assert_eq!(all, want);
    let s = e.stats();
    assert_eq!(s.live_keys, Some(want.len() as u64));
    assert!(checkpoints > 300, "{checkpoints} checkpoints");
    assert!(s.notes["pages"].parse::<u64>().unwrap() > 10, "{s:?}");
    e.close().unwrap();
}

#[test]
fn entries_over_a_third_of_a_page_are_refused_whole() {
    let t = tempfile::tempdir().unwrap();
    let e = Btree::open(EngineConfig::new(t.path(), SyncPolicy::NONE)).unwrap();
    let limit = Tree::max_entry(4096);
    assert_eq!(limit, 1358);
    let fits = vec![7u8; limit - 6 - 3];
    e.put(b"abc", &fits).unwrap();
    let over = vec![7u8; limit - 6 - 3 + 1];
    match e.put(b"abd", &over) {
        Err(Error::TooLarge { size, limit: l, .. }) => assert_eq!((size, l), (1359, 1358)),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(e.get(b"abc").unwrap(), Some(fits));
    assert_eq!(e.get(b"abd").unwrap(), None);
    // Nothing of the refused entry reached the WAL.
    assert_eq!(e.stats().log_writes, 1);
}

#[test]
fn always_costs_one_wal_sync_per_put_even_across_splits() {
    let t = tempfile::tempdir().unwrap();
    let counting = crate::fs::CountingFs::new(RealFs::shared());
    let mut cfg = config(t.path(), Arc::new(counting.clone()), SyncPolicy::ALWAYS);
    cfg.checkpoint_bytes = 1 << 30;
    cfg.cache_pages = 4096;
    let e = Btree::open(cfg).unwrap();
    counting.counters().reset();
    for i in 0..500 {
        e.put(&key(i * 7919 % 500), &val(i, 100)).unwrap();
    }
    let s = counting.counters().snapshot();
    // One write per put, and one reservation: the WAL's first reserve
    // step (1 MiB of zeros, written ahead of the appends, see
    // `crate::logfile`) holds all 500.
    assert_eq!((s.sync_data, s.write_calls), (500, 501));
    let other: u64 = s
        .bytes_by_kind
        .iter()
        .filter(|(k, _)| !["wal", "wal-reserved"].contains(&k.as_str()))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(other, 0, "{:?}", s.bytes_by_kind);
    assert!(e.stats().notes["pages"].parse::<u64>().unwrap() > 100);
    // A checkpoint adds its own: data file (the new pages, which skip the
    // doublewrite copy), doublewrite copy, data file, no more.
    e.maintain().unwrap();
    let s = counting.counters().snapshot();
    assert_eq!(s.sync_data, 503);
    let dwb = s.bytes_by_kind.get("dwb").copied().unwrap_or(0);
    assert!(
        dwb < 4 * 512,
        "new pages went through the doublewrite copy: {:?}",
        s.bytes_by_kind
    );
    e.close().unwrap();
}

#[test]
fn stale_or_torn_doublewrite_copies_are_ignored_and_complete_ones_repair() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), SyncPolicy::ALWAYS);
    let e = Btree::open(cfg.clone()).unwrap();
    for i in 0..300 {
        e.put(&key(i), &val(i, 40)).unwrap();
    }
    e.close().unwrap();
    drop(e);
    let data = t.path().join(pager::DATA);
    let f = RealFs.open(&data).unwrap();
    let good = f.read_all().unwrap();
    // Tear page 3 and the meta page as a crash mid-checkpoint would.
    f.write_at(&[0u8; 200], 3 * 512 + 100).unwrap();
    f.write_at(&[0xffu8; 64], 0).unwrap();
    drop(f);
    // With no doublewrite copy, the damage is reported with the offset.
    match Btree::open(cfg.clone()) {
        Err(Error::Corrupt { file, offset, .. }) => {
            assert_eq!((file, offset), (data.clone(), Some(0)))
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    // A doublewrite copy holding those pages repairs them.
    let mut dwb = Vec::new();
    dwb.extend_from_slice(b"BTREEDW2");
    dwb.extend_from_slice(&u64::MAX.to_le_bytes());
    dwb.extend_from_slice(&512u32.to_le_bytes());
    dwb.extend_from_slice(&2u32.to_le_bytes());
    for id in [0u32, 3] {
        dwb.extend_from_slice(&id.to_le_bytes());
        dwb.extend_from_slice(&good[id as usize * 512..(id as usize + 1) * 512]);
    }
    let crc = crc32fast::hash(&dwb);
    dwb.extend_from_slice(&crc.to_le_bytes());
    let torn = &dwb[..dwb.len() - 10];
    let dwb_path = t.path().join(pager::DWB);
    let w = RealFs.open(&dwb_path).unwrap();
    w.write_at(torn, 0).unwrap();
    drop(w);
    assert!(matches!(
        Btree::open(cfg.clone()),
        Err(Error::Corrupt { .. })
    ));
    let w = RealFs.open(&dwb_path).unwrap();
    w.write_at(&dwb, 0).unwrap();
    // Bytes after the copy (an older, longer one) do not matter.
    w.write_at(&[9u8; 700], dwb.len() as u64).unwrap();
    drop(w);
    let e = Btree::open(cfg).unwrap();
    assert_eq!(e.stats().notes["repaired_pages"], "2");
    assert_valid(&e, "after repair");
    for i in 0..300 {
        assert_eq!(e.get(&key(i)).unwrap(), Some(val(i, 40)));
    }
    assert_eq!(RealFs.open(&dwb_path).unwrap().len().unwrap(), 0);
}

/// A `Vfs` whose process "dies" at the `n`-th mutating call: that call is
/// done halfway (a write writes the first half of its bytes), and every
/// later mutating call fails without effect.
#[derive(Debug)]
struct DyingFs {
    inner: Arc<dyn Vfs>,
    left: Arc<AtomicI64>,
}

fn died() -> Error {
    Error::io(
        "write",
        "dying-fs",
        std::io::Error::other("process crashed here"),
    )
}

impl DyingFs {
    /// A dying filesystem over the real one, and its counter of mutating
    /// calls left (unlimited until a test sets it).
    fn on_disk() -> (Arc<DyingFs>, Arc<AtomicI64>) {
        let left = Arc::new(AtomicI64::new(i64::MAX));
        let fs = Arc::new(DyingFs {
            inner: RealFs::shared(),
            left: left.clone(),
        });
        (fs, left)
    }

    /// `Ok(true)`: do it; `Ok(false)`: do half; `Err`: dead.
    fn step(left: &AtomicI64) -> Result<bool> {
        match left.fetch_sub(1, SeqCst) {
            n if n > 1 => Ok(true),
            1 => Ok(false),
            _ => Err(died()),
        }
    }
}

#[derive(Debug)]
struct DyingFile {
    inner: crate::fs::FileHandle,
    left: Arc<AtomicI64>,
}

impl VfsLayer for DyingFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }
    fn wrap(&self, inner: crate::fs::FileHandle) -> crate::fs::FileHandle {
        Arc::new(DyingFile {
            inner,
            left: self.left.clone(),
        })
    }
    fn create(&self, path: &Path) -> Result<crate::fs::FileHandle> {
        if !DyingFs::step(&self.left)? {
            return Err(died());
        }
        let inner = self.inner.create(path)?;
        Ok(VfsLayer::wrap(self, inner))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        if !DyingFs::step(&self.left)? {
            return Err(died());
        }
        self.inner.rename(from, to)
    }
    fn remove(&self, path: &Path) -> Result<()> {
        if !DyingFs::step(&self.left)? {
            return Err(died());
        }
        self.inner.remove(path)
    }
    fn sync_dir(&self, _path: &Path) -> Result<()> {
        Ok(())
    }
}

impl FileLayer for DyingFile {
    fn inner(&self) -> &dyn VFile {
        &*self.inner
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        if DyingFs::step(&self.left)? {
            return self.inner.write_at(buf, offset);
        }
        self.inner.write_at(&buf[..buf.len() / 2], offset)?;
        Err(died())
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        if DyingFs::step(&self.left)? {
            return self.inner.append(buf);
        }
        self.inner.append(&buf[..buf.len() / 2])?;
        Err(died())
    }
    fn set_len(&self, len: u64) -> Result<()> {
        if !DyingFs::step(&self.left)? {
            return Err(died());
        }
        self.inner.set_len(len)
    }
    fn allocate(&self, len: u64) -> Result<()> {
        if !DyingFs::step(&self.left)? {
            return Err(died());
        }
        self.inner.allocate(len)
    }
    fn sync_data(&self) -> Result<()> {
        Ok(())
    }
    fn sync_all(&self) -> Result<()> {
        Ok(())
    }
}

/// A process crash at every mutating file operation of a workload with
/// splits, merges and checkpoints (torn WAL appends, torn doublewrite
/// copies, torn in-place page writes): recovery always succeeds, the tree is
/// valid, and every acknowledged write is there.
#[test]
fn crash_at_every_write_recovers_every_acknowledged_write() {
    let mut crash_at = 1i64;
    let mut crashes = 0;
    loop {
        let t = tempfile::tempdir().unwrap();
        let (fs, left) = DyingFs::on_disk();
        let cfg = config(t.path(), fs, SyncPolicy::NONE);
        let e = Btree::open(cfg).unwrap();
        left.store(crash_at, SeqCst);
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut in_flight = None;
        let mut rng = Lcg(7);
        for step in 0..260u64 {
            let k = key(rng.next() % 80);
            let r = match rng.next() % 10 {
                0..=5 => {
                    let v = val(step, (rng.next() % 90) as usize);
                    let r = e.put(&k, &v);
                    if r.is_ok() {
                        model.insert(k.clone(), v.clone());
                    }
                    in_flight = Some((k, Some(v)));
                    r
                }
                6..=8 => {
                    let r = e.delete(&k);
                    if r.is_ok() {
                        model.remove(&k);
                    }
                    in_flight = Some((k, None));
                    r
                }
                _ => e.maintain(),
            };
            if r.is_err() {
                break;
            }
            in_flight = None;
        }
        let crashed = left.load(SeqCst) <= 0;
        std::mem::forget(e);
        let e = Btree::open(config(t.path(), RealFs::shared(), SyncPolicy::NONE))
            .unwrap_or_else(|err| panic!("crash at write {crash_at}: recovery failed: {err}"));
        assert_valid(&e, &format!("crash at write {crash_at}"));
        let got: BTreeMap<Vec<u8>, Vec<u8>> =
            e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
        let mut alt = model.clone();
        if let Some((k, v)) = in_flight {
            match v {
                Some(v) => alt.insert(k, v),
                None => alt.remove(&k),
            };
        }
        assert!(
            got == model || got == alt,
            "crash at write {crash_at}: recovered state differs"
        );
        e.close().unwrap();
        if !crashed {
            break;
        }
        crashes += 1;
        crash_at += 1;
    }
    assert!(crashes > 300, "only {crashes} crash points");
}

/// A checkpoint of more than a chunk of pages (its doublewrite copy and
/// in-place writes go out in several writes) killed at each of its
/// mutating calls: the reopened tree is valid and holds every update.
#[test]
fn a_checkpoint_of_many_chunks_killed_at_every_write_recovers() {
    let mut crash_at = 1i64;
    loop {
        let t = tempfile::tempdir().unwrap();
        let (fs, left) = DyingFs::on_disk();
        let mut cfg = config(t.path(), fs, SyncPolicy::NONE);
        cfg.page_bytes = 4096;
        cfg.cache_pages = 4096;
        cfg.checkpoint_bytes = 64 << 20;
        let e = Btree::open(cfg.clone()).unwrap();
        for i in 0..800 {
            e.put(&key(i), &val(i, 1000)).unwrap();
        }
        e.maintain().unwrap();
        // Every page dirty again, and all of them already in the file: the
        // next checkpoint copies ~3 MB through the doublewrite file.
        for i in 0..800 {
            e.put(&key(i), &val(i + 1, 1000)).unwrap();
        }
        left.store(crash_at, SeqCst);
        let crashed = e.maintain().is_err();
        std::mem::forget(e);
        cfg.vfs = RealFs::shared();
        let e = Btree::open(cfg)
            .unwrap_or_else(|err| panic!("crash at write {crash_at}: recovery failed: {err}"));
        assert_valid(&e, &format!("crash at write {crash_at}"));
        for i in 0..800 {
            assert_eq!(
                e.get(&key(i)).unwrap(),
                Some(val(i + 1, 1000)),
                "crash at write {crash_at}"
            );
        }
        e.close().unwrap();
        if !crashed {
            break;
        }
        crash_at += 1;
    }
    // At least three copy writes and three in-place writes, and more.
    assert!(crash_at > 6, "only {} crash points", crash_at - 1);
}

/// Writers, readers and scanners at once under group commit, with splits,
/// merges and checkpoints triggered inline by whichever writer crosses the
/// threshold: no deadlock, scans always ordered, and every write survives a
/// reopen.
#[test]
fn concurrent_writers_readers_and_checkpoints() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), "group".parse().unwrap());
    let e = Btree::open(cfg.clone()).unwrap();
    std::thread::scope(|s| {
        for th in 0..4u64 {
            let e = &e;
            s.spawn(move || {
                for i in 0..300u64 {
                    let k = key(th * 1000 + i % 150);
                    if i % 5 == 4 {
                        e.delete(&k).unwrap();
                    } else {
                        e.put(&k, &val(th * 1000 + i, (i % 40) as usize)).unwrap();
                    }
                }
            });
        }
        for _ in 0..2 {
            let e = &e;
            s.spawn(move || {
                for i in 0..300u64 {
                    let _ = e.get(&key(i * 13 % 4000)).unwrap();
                    let got = e.scan(&key(i * 7 % 4000), None, 30).unwrap();
                    assert!(got.windows(2).all(|w| w[0].0 < w[1].0));
                }
            });
        }
    });
    // The final state of each writer's keys is deterministic.
    let mut model = BTreeMap::new();
    for th in 0..4u64 {
        for i in 0..300u64 {
            let k = key(th * 1000 + i % 150);
            if i % 5 == 4 {
                model.remove(&k);
            } else {
                model.insert(k, val(th * 1000 + i, (i % 40) as usize));
            }
        }
    }
    assert!(e.stats().maintenance_runs["checkpoints"] > 5);
    assert_valid(&e, "after the threads");
    e.close().unwrap();
    let e = Btree::open(cfg).unwrap();
    let got: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
    assert!(got == model, "state after reopen differs");
    e.close().unwrap();
}

/// Takes every crash image of `sim` just before each sync, file or
/// directory, passes through it.
#[derive(Debug, Clone)]
struct CrashBeforeSyncs {
    sim: crate::fs::SimFs,
    images: Arc<std::sync::Mutex<Vec<(String, crate::fs::SimFs)>>>,
    /// Only syncs of files whose name ends so (all when empty).
    only: &'static str,
    /// Writes acknowledged so far (kept by the test), in each image's name.
    acked: Arc<std::sync::atomic::AtomicUsize>,
}

impl CrashBeforeSyncs {
    fn new(sim: crate::fs::SimFs) -> Self {
        CrashBeforeSyncs {
            sim,
            images: Arc::default(),
            only: "",
            acked: Arc::default(),
        }
    }

    fn snap(&self, what: String) {
        use crate::fs::CrashMode;
        if !what.ends_with(self.only) {
            return;
        }
        let acked = self.acked.load(SeqCst);
        let mut images = self.images.lock().unwrap();
        for seed in 0..4 {
            for mode in CrashMode::ALL {
                let (after, _) = self.sim.crash(seed, mode);
                images.push((
                    format!("{acked} acked, before {what}, {mode:?} seed {seed}"),
                    after,
                ));
            }
        }
    }
}

impl VfsLayer for CrashBeforeSyncs {
    fn inner(&self) -> &dyn Vfs {
        &self.sim
    }
    fn wrap(&self, file: crate::fs::FileHandle) -> crate::fs::FileHandle {
        Arc::new(SnapFile {
            file,
            fs: self.clone(),
        })
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.snap(format!("fsync of {}", path.display()));
        self.sim.sync_dir(path)
    }
}

#[derive(Debug)]
struct SnapFile {
    file: crate::fs::FileHandle,
    fs: CrashBeforeSyncs,
}

impl FileLayer for SnapFile {
    fn inner(&self) -> &dyn VFile {
        &*self.file
    }
    fn sync_data(&self) -> Result<()> {
        self.fs
            .snap(format!("fdatasync of {}", self.file.path().display()));
        self.file.sync_data()
    }
    fn sync_all(&self) -> Result<()> {
        self.fs
            .snap(format!("fsync of {}", self.file.path().display()));
        self.file.sync_all()
    }
}

/// A power cut during the very first open (before any write could be
/// acknowledged) must leave a directory that opens, empty: the data
/// file's size can survive without its first pages.
#[test]
fn a_crash_during_the_first_open_leaves_a_directory_that_opens() {
    use crate::fs::{Profile, SimFs};
    let d = Path::new("/db");
    for profile in [Profile::Posix, Profile::Linux] {
        for policy in [SyncPolicy::ALWAYS, SyncPolicy::ALWAYS_DIR] {
            let fs = CrashBeforeSyncs::new(SimFs::new(profile));
            Btree::open(config(d, Arc::new(fs.clone()), policy))
                .unwrap()
                .close()
                .unwrap();
            let images = std::mem::take(&mut *fs.images.lock().unwrap());
            assert!(!images.is_empty());
            for (when, image) in images {
                let e = Btree::open(config(d, Arc::new(image), policy))
                    .unwrap_or_else(|e| panic!("{profile:?} {policy}, crash {when}: {e}"));
                assert_eq!(e.get(&key(1)).unwrap(), None);
                e.put(&key(1), &val(1, 20)).unwrap();
                assert_eq!(e.get(&key(1)).unwrap(), Some(val(1, 20)));
            }
        }
    }
}

/// Under a policy that defers tree updates (see [`crate::deferred`]),
/// without background threads, so no applier runs and every update stays
/// pending until something needs it: reads and scans see every acknowledged write, a checkpoint
/// writes pages holding all of the WAL it seals (the WAL is recycled
/// after it), and a process crash loses nothing.
#[test]
fn deferred_updates_are_seen_by_reads_and_kept_across_checkpoints_and_crashes() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), "batch:4".parse().unwrap());
    let e = Btree::open(cfg.clone()).unwrap();
    assert!(e.deferred.is_some(), "batch:4 defers");
    let mut model = BTreeMap::new();
    let mut rng = Lcg(0xDEF);
    for step in 0..900u64 {
        let k = key(rng.next() % 300);
        if rng.next() % 5 == 0 {
            e.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = val(step, (rng.next() % 40) as usize);
            e.put(&k, &v).unwrap();
            model.insert(k.clone(), v);
        }
        if step % 60 == 0 {
            assert_eq!(
                e.get(&k).unwrap(),
                model.get(&k).cloned(),
                "a get after step {step}"
            );
        }
    }
    let checkpoints = e.stats().maintenance_runs["checkpoints"];
    assert!(checkpoints >= 3, "only {checkpoints} checkpoints");
    let scanned: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
    assert_eq!(scanned, model);
    assert_valid(&e, "after deferred updates");
    // More writes left pending, then a process crash (no close): every
    // logged write is in the kernel, so nothing is lost.
    for step in 900..1000u64 {
        let k = key(rng.next() % 300);
        let v = val(step, 8);
        e.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    std::mem::forget(e);
    let e = Btree::open(cfg).unwrap();
    assert_valid(&e, "after the crash");
    let got: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
    assert_eq!(got, model, "writes lost across checkpoints or the crash");
}

/// A lone writer under `batch:N` appends without the tree's lock unless a
/// checkpoint may be due, judged from the pages the tree last published:
/// with a WAL limit too large to matter, only that judgement keeps the
/// dirty pages within the cache's limit.
#[test]
fn a_lone_batch_writer_still_checkpoints_at_the_dirty_page_limit() {
    let t = tempfile::tempdir().unwrap();
    let cfg = EngineConfig {
        checkpoint_bytes: 64 << 20,
        ..config(t.path(), RealFs::shared(), "batch:4".parse().unwrap())
    };
    let e = Btree::open(cfg).unwrap();
    let mut rng = Lcg(0xD1A7);
    for step in 0..2000u64 {
        e.put(&key(rng.next() % 5000), &val(step, 20)).unwrap();
        if step % 7 == 0 {
            let s = e.locked().unwrap();
            let pager = &s.tree.pager;
            // The limit counts a pending update as one page; each of the
            // (at most 7) applied since may have split a leaf and its
            // parents: a few pages each.
            let held = pager.dirty_pages() + pager.in_flight_pages();
            assert!(
                held <= pager.dirty_limit() + 7 * 3,
                "step {step}: {held} dirty and in-flight pages, limit {}",
                pager.dirty_limit()
            );
        }
    }
    let checkpoints = e.stats().maintenance_runs["checkpoints"];
    assert!(checkpoints >= 5, "only {checkpoints} checkpoints");
}

/// Runs writes while checkpoints are in flight and cuts the power before
/// every sync of the data file and the doublewrite copy; returns what
/// each cut lost or damaged. Without background threads a checkpoint
/// begun by a write is written only when the next one is due, so every
/// write in between changes the tree the checkpoint holds: its pages
/// (splits, merges, freed and reused pages) and its meta page.
fn flight_cuts(skip_capture: bool) -> Vec<String> {
    use crate::fs::{Profile, SimFs};
    let d = Path::new("/db");
    let fs = CrashBeforeSyncs {
        only: ".pages",
        ..CrashBeforeSyncs::new(SimFs::new(Profile::Linux))
    };
    // A cache large enough that the WAL's size, not the cache, sets the
    // checkpoints: pages in flight count toward the dirty-page limit.
    let cfg = EngineConfig {
        cache_pages: 64,
        ..config(d, Arc::new(fs.clone()), SyncPolicy::ALWAYS)
    };
    let e = Btree::open(cfg.clone()).unwrap();
    lock(&e.state).tree.pager.skip_capture = skip_capture;
    let mut history = vec![BTreeMap::new()];
    let mut model = BTreeMap::new();
    let mut rng = Lcg(0xF11);
    let mut in_flight = 0;
    for step in 0..400u64 {
        let k = key(rng.next() % 120);
        if rng.next() % 4 == 0 {
            e.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = val(step, 10 + (rng.next() % 60) as usize);
            e.put(&k, &v).unwrap();
            model.insert(k.clone(), v);
        }
        history.push(model.clone());
        fs.acked.store(history.len() - 1, SeqCst);
        in_flight += usize::from(lock(&e.state).flight.is_some());
        if step % 50 == 0 {
            let got: BTreeMap<_, _> = e.scan(b"", None, usize::MAX).unwrap().into_iter().collect();
            assert_eq!(
                got, model,
                "a scan at step {step} while a checkpoint is in flight"
            );
        }
    }
    assert!(
        in_flight > 300,
        "a checkpoint was in flight after only {in_flight} writes"
    );
    e.close().unwrap();
    let images = std::mem::take(&mut *fs.images.lock().unwrap());
    assert!(images.len() > 100, "only {} crash images", images.len());
    let mut failures = Vec::new();
    for (when, image) in images {
        let acked: usize = when.split(' ').next().unwrap().parse().unwrap();
        let got = Btree::open(EngineConfig {
            vfs: Arc::new(image),
            ..cfg.clone()
        })
        .and_then(|e| {
            e.validate()?;
            e.scan(b"", None, usize::MAX)
        })
        .map(|kv| kv.into_iter().collect::<BTreeMap<_, _>>());
        match got {
            // The write in progress at the cut may or may not be kept.
            Ok(got) if got == history[acked] || history.get(acked + 1) == Some(&got) => {}
            Ok(_) => failures.push(format!("{when}: acknowledged writes lost or changed")),
            Err(err) => failures.push(format!("{when}: {err}")),
        }
    }
    failures
}

#[test]
fn power_cuts_while_checkpoints_are_in_flight_keep_every_acknowledged_write() {
    let failures = flight_cuts(false);
    assert!(
        failures.is_empty(),
        "{} cuts failed, first: {}",
        failures.len(),
        failures[0]
    );
}

/// The test above catches a checkpoint that writes its pages as they are
/// when written instead of as they were when it began.
#[test]
fn a_checkpoint_that_writes_pages_changed_since_it_began_is_caught() {
    let failures = flight_cuts(true);
    assert!(
        !failures.is_empty(),
        "no cut failed with a broken checkpoint"
    );
}
