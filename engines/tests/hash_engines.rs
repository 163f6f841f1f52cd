//! bitcask and loghash: merges under concurrent writers (and crashes),
//! merges interrupted at every sync, write amplification, the automatic
//! merge rule, hint files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{key, value};
use engines::fs::{CountingFs, CrashMode, Profile, RealFs, SimFs, Vfs};
use engines::record::HEADER_LEN;
use engines::{Engine, EngineConfig, SyncPolicy};

const HASH_ENGINES: [&str; 2] = ["bitcask", "loghash"];

fn config(dir: &Path, vfs: Arc<dyn Vfs>, policy: SyncPolicy, background: bool) -> EngineConfig {
    let mut c = EngineConfig::with_vfs(dir, vfs, policy);
    c.segment_bytes = 4 * 1024;
    c.merge_trigger_files = 2;
    c.background_maintenance = background;
    c
}

type Model = Arc<Mutex<BTreeMap<Vec<u8>, Option<Vec<u8>>>>>;

/// Three writers over their own keys (puts, empty values, deletes), one
/// thread running `maintain` until they finish, one reader checking that
/// every value it sees belongs to its key. Returns each key's last
/// acknowledged state and the merges that ran. Halfway through, each
/// writer waits for a merge to have run, so that merges overlap writes
/// however fast the writers are (under `group` one writer appends for the
/// others, and the writes could all finish before the merger's first turn).
fn writers_and_merges(
    e: &Arc<dyn Engine>,
    rounds: u64,
) -> (BTreeMap<Vec<u8>, Option<Vec<u8>>>, u64) {
    let model: Model = Arc::default();
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let writers: Vec<_> = (0..3u64)
            .map(|th| {
                let (e, model) = (e.clone(), model.clone());
                s.spawn(move || {
                    for round in 0..rounds {
                        if round == rounds / 2 {
                            // Bounded: a merger that died fails the test below.
                            let until = Instant::now() + Duration::from_secs(30);
                            while merges_run(&*e) == 0 && Instant::now() < until {
                                std::thread::yield_now();
                            }
                        }
                        for i in 0..40u64 {
                            let k = key(th * 1000 + i);
                            let v = match (i * 7 + round) % 13 {
                                0 | 5 => None,
                                3 => Some(Vec::new()),
                                _ => Some(value(th * 1000 + i, round, 60 + (i as usize % 5) * 20)),
                            };
                            match &v {
                                Some(v) => e.put(&k, v).unwrap(),
                                None => e.delete(&k).unwrap(),
                            }
                            model.lock().unwrap().insert(k, v);
                        }
                    }
                })
            })
            .collect();
        let merger = {
            let e = e.clone();
            let done = &done;
            s.spawn(move || {
                while !done.load(Ordering::Relaxed) {
                    e.maintain().unwrap();
                }
            })
        };
        let reader = {
            let e = e.clone();
            let done = &done;
            s.spawn(move || {
                let mut i = 0u64;
                while !done.load(Ordering::Relaxed) {
                    let n = (i % 3) * 1000 + i % 40;
                    if let Some(v) = e.get(&key(n)).unwrap() {
                        let prefix = format!("v{n}.");
                        assert!(v.is_empty() || v.starts_with(prefix.as_bytes()), "key {n}");
                    }
                    i += 1;
                }
            })
        };
        for w in writers {
            w.join().unwrap();
        }
        done.store(true, Ordering::Relaxed);
        merger.join().unwrap();
        reader.join().unwrap();
    });
    let model = model.lock().unwrap().clone();
    (model, merges_run(&**e))
}

fn merges_run(e: &dyn Engine) -> u64 {
    e.stats().maintenance_runs.values().sum()
}

fn check(e: &dyn Engine, model: &BTreeMap<Vec<u8>, Option<Vec<u8>>>, what: &str) {
    for (k, v) in model {
        assert_eq!(
            &e.get(k).unwrap(),
            v,
            "{} {what}: key {}",
            e.name(),
            String::from_utf8_lossy(k)
        );
    }
    let live = model.values().filter(|v| v.is_some()).count() as u64;
    assert_eq!(e.stats().live_keys, Some(live), "{} {what}", e.name());
}

#[test]
fn merges_under_concurrent_writers_lose_nothing() {
    for name in HASH_ENGINES {
        for background in [true, false] {
            let what = if background { "background" } else { "inline" };
            let t = tempfile::tempdir().unwrap();
            let cfg = config(t.path(), RealFs::shared(), SyncPolicy::NONE, background);
            let e: Arc<dyn Engine> = Arc::from(engines::open(name, cfg.clone()).unwrap());
            let (model, merges) = writers_and_merges(&e, 25);
            assert!(merges >= 1, "{name} {what}: no merge ran");
            assert!(
                e.stats().notes.values().any(|n| n.starts_with(what)),
                "{name}: {:?}",
                e.stats().notes
            );
            check(&*e, &model, what);
            e.close().unwrap();
            drop(e);
            let e = engines::open(name, cfg).unwrap();
            check(&*e, &model, &format!("{what}, reopened"));
            e.close().unwrap();
        }
    }
}

/// Under `group+dir` every acknowledged write is durable, merges or not: a
/// power loss right after the run (keeping only what was synced, or a
/// random subset of the rest) loses none of them and brings back no
/// deleted key.
#[test]
fn merges_under_group_commit_survive_a_power_loss() {
    for name in HASH_ENGINES {
        let sim = SimFs::new(Profile::Posix);
        let dir = Path::new("/db");
        let cfg = config(
            dir,
            Arc::new(sim.clone()),
            "group+dir".parse().unwrap(),
            true,
        );
        let e: Arc<dyn Engine> = Arc::from(engines::open(name, cfg.clone()).unwrap());
        let (model, merges) = writers_and_merges(&e, 15);
        assert!(merges >= 1, "{name}: no merge ran");
        for (seed, mode) in [
            (1, CrashMode::DurableOnly),
            (2, CrashMode::Subset),
            (3, CrashMode::Torn),
        ] {
            let (after, _) = sim.crash(seed, mode);
            let mut c = cfg.clone();
            c.vfs = Arc::new(after);
            let r = engines::open(name, c).unwrap();
            check(&*r, &model, &format!("after crash {mode:?}"));
        }
        e.close().unwrap();
    }
}

/// The merge's subtle case: a value in one immutable file, its tombstone in
/// a later one, other keys overwritten across files. A power loss after any
/// sync of the merge (under both profiles, keeping only durable state or a
/// random subset of the rest) must neither lose a newest value nor bring a
/// deleted key back.
#[test]
fn a_merge_interrupted_at_every_sync_keeps_newest_values_and_deletes() {
    for name in HASH_ENGINES {
        for profile in [Profile::Posix, Profile::Linux] {
            let sim = SimFs::new(profile);
            let dir = Path::new("/db");
            let mut cfg = config(dir, Arc::new(sim.clone()), SyncPolicy::ALWAYS_DIR, false);
            cfg.segment_bytes = 1024;
            cfg.merge_trigger_files = 1000;
            let e = engines::open(name, cfg.clone()).unwrap();
            let mut model: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
            for round in 0..4u64 {
                for i in 0..20u64 {
                    let v = if (i + round) % 4 == 0 && round > 0 {
                        None
                    } else {
                        Some(value(i, round, 50))
                    };
                    match &v {
                        Some(v) => e.put(&key(i), v).unwrap(),
                        None => e.delete(&key(i)).unwrap(),
                    }
                    model.insert(key(i), v);
                }
            }
            assert!(e.stats().files >= 4, "{name}: too few files");
            let before = sim.syncs();
            e.maintain().unwrap();
            let merge_syncs = sim.syncs() - before;
            assert!(merge_syncs >= 4, "{name}: {merge_syncs} syncs in a merge");
            drop(e);
            let (base, _) = sim.crash(0, CrashMode::DurableOnly);
            // Replay the merge on the pre-merge image, freezing after each sync.
            for n in 0..=merge_syncs {
                for (seed, mode) in [(n, CrashMode::DurableOnly), (n + 100, CrashMode::Subset)] {
                    let (fs, _) = base.crash(0, CrashMode::DurableOnly);
                    let mut c = cfg.clone();
                    c.vfs = Arc::new(fs.clone());
                    let e = engines::open(name, c.clone()).unwrap();
                    fs.freeze_after_sync(fs.syncs() + n);
                    e.maintain().unwrap();
                    drop(e);
                    let (after, _) = fs.crash(seed, mode);
                    c.vfs = Arc::new(after);
                    let r = engines::open(name, c).unwrap();
                    check(
                        &*r,
                        &model,
                        &format!("{profile:?}, crash after merge sync {n} ({mode:?})"),
                    );
                }
            }
        }
    }
}

/// Write amplification, measured by the counting Vfs, against the formula
/// in the `hashlog` module doc:
///
///   engine bytes = N x (21 + k + v)            every put appended once
///                + K x (21 + k + v)            the merge copies each live key once
///                + K x (21 + k + 13)           bitcask: one hint entry per copy
///                + (21 + 6 + 4 x F)            the merge marker (F merged files)
///
/// for N puts of K distinct keys (k-byte keys, v-byte values) and one merge
/// of everything at the end; user bytes = N x (k + v).
#[test]
fn write_amplification_matches_the_formula() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let counting = CountingFs::new(RealFs::shared());
        let mut cfg = config(
            t.path(),
            Arc::new(counting.clone()),
            SyncPolicy::NONE,
            false,
        );
        cfg.segment_bytes = 8 * 1024;
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
        let h = HEADER_LEN as u64;
        let rec = h + klen + vlen;
        // Every data file is merged (maintain rotates the active one first).
        let mut expected = n * rec + k_keys * rec + (h + 6 + 4 * files_before);
        if name == "bitcask" {
            expected += k_keys * (h + klen + 13);
        }
        assert_eq!(
            snap.bytes_written, expected,
            "{name}: {:?}",
            snap.bytes_by_kind
        );
        assert_eq!(
            e.stats().bytes_written(),
            expected,
            "{name}: engine's own count"
        );
        assert_eq!(e.stats().user_bytes, n * (klen + vlen));
        let wa = snap.bytes_written as f64 / (n * (klen + vlen)) as f64;
        assert!(wa > 1.18 && wa < 1.25, "{name}: write amplification {wa}");
        // After the merge, only the live copies remain on disk.
        let s = e.stats();
        assert_eq!(s.live_keys, Some(k_keys));
        let hints = if name == "bitcask" {
            k_keys * (h + klen + 13)
        } else {
            0
        };
        assert_eq!(s.disk_bytes, k_keys * rec + hints, "{name}");
        e.close().unwrap();
    }
}

/// Regression: a merge triggered by the file count alone re-ran on every
/// put once the live data needed more files than the trigger (a full
/// rewrite per put). Merges now also need half the immutable bytes to be
/// garbage, which bounds merge copies by the bytes they reclaim.
#[test]
fn automatic_merges_run_on_garbage_not_on_file_count_alone() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let counting = CountingFs::new(RealFs::shared());
        let cfg = config(
            t.path(),
            Arc::new(counting.clone()),
            SyncPolicy::NONE,
            false,
        );
        let e = engines::open(name, cfg).unwrap();
        let merges = |e: &dyn Engine| -> u64 { e.stats().maintenance_runs.values().sum() };
        // 2000 distinct keys: ~60 files, no garbage, no merge.
        for i in 0..2000 {
            e.put(&key(i), &value(i, 0, 100)).unwrap();
        }
        assert!(e.stats().files > 40, "{name}: {} files", e.stats().files);
        assert_eq!(merges(&*e), 0, "{name}: merged without garbage");
        // Overwrite them all three times: merges run, and copy no more
        // than the puts wrote.
        for round in 1..4 {
            for i in 0..2000 {
                e.put(&key(i), &value(i, round, 100)).unwrap();
            }
        }
        let s = e.stats();
        assert!(merges(&*e) >= 1, "{name}: no merge");
        let data = s.bytes_written_by_kind["data"];
        let merged = s.bytes_written_by_kind["merge"];
        assert!(
            merged <= data,
            "{name}: merges copied {merged} bytes for {data} written"
        );
        assert!(
            s.disk_bytes <= 2 * 2000 * (21 + 16 + 100) + 3 * 4096 + 2000 * 50,
            "{name}: {} on disk",
            s.disk_bytes
        );
        for i in 0..2000 {
            assert_eq!(e.get(&key(i)).unwrap(), Some(value(i, 3, 100)));
        }
        e.close().unwrap();
    }
}

#[test]
fn bitcask_recovers_from_hint_files_and_falls_back_when_they_are_corrupt() {
    let t = tempfile::tempdir().unwrap();
    let cfg = config(t.path(), RealFs::shared(), SyncPolicy::ALWAYS, false);
    let e = engines::open("bitcask", cfg.clone()).unwrap();
    for i in 0..300u64 {
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
    assert!(hints.len() >= 2, "merge wrote {} hint files", hints.len());
    let check = |from_hints: usize| {
        let e = engines::open("bitcask", cfg.clone()).unwrap();
        for i in 0..300u64 {
            let want = (i != 7).then(|| value(i, 1, 60));
            assert_eq!(e.get(&key(i)).unwrap(), want, "key {i}");
        }
        assert_eq!(
            e.stats().notes["files_recovered_from_hints"],
            from_hints.to_string()
        );
        e.close().unwrap();
    };
    check(hints.len());
    // Flip a byte in the middle of the first hint file: recovery scans that
    // data file instead and still finds everything.
    let f = RealFs.open(&t.path().join(&hints[0])).unwrap();
    let at = f.len().unwrap() / 2;
    let mut b = [0u8];
    f.read_at(&mut b, at).unwrap();
    f.write_at(&[b[0] ^ 0xff], at).unwrap();
    drop(f);
    check(hints.len() - 1);
    // A hint file that no longer matches its data file's length (the data
    // file grew behind it) is not trusted either.
    let data = t.path().join(hints[1].replace(".hint", ".data"));
    let d = RealFs.open(&data).unwrap();
    let len = d.len().unwrap();
    d.set_len(len + 5).unwrap();
    drop(d);
    // The scan truncates the zeros as a torn tail.
    check(hints.len() - 2);
    // A hint file whose data file is gone is removed.
    let orphan = t.path().join("00000000.hint");
    RealFs.create(&orphan).unwrap();
    check(hints.len() - 1);
    assert!(!RealFs.exists(&orphan).unwrap());
}

#[test]
fn empty_values_are_values_and_deletes_stay_deleted_after_merge() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let cfg = config(t.path(), RealFs::shared(), SyncPolicy::NONE, false);
        let e = engines::open(name, cfg.clone()).unwrap();
        e.put(b"empty", b"").unwrap();
        // The value and its tombstone in different immutable files.
        e.put(b"gone", b"x").unwrap();
        e.maintain().unwrap();
        e.delete(b"gone").unwrap();
        e.put(b"back", b"1").unwrap();
        e.delete(b"back").unwrap();
        e.maintain().unwrap();
        // A delete in the active file, of a value the merge just copied.
        e.put(b"late", b"v").unwrap();
        e.maintain().unwrap();
        e.delete(b"late").unwrap();
        e.close().unwrap();
        let e = engines::open(name, cfg).unwrap();
        assert_eq!(e.get(b"empty").unwrap(), Some(vec![]), "{name}");
        for k in [&b"gone"[..], b"back", b"late"] {
            assert_eq!(
                e.get(k).unwrap(),
                None,
                "{name}: {}",
                String::from_utf8_lossy(k)
            );
        }
        assert_eq!(e.stats().live_keys, Some(1));
        e.close().unwrap();
    }
}

/// A tombstone can sit in an older-numbered file than a value it deletes
/// (the value was copied into a merge output after the tombstone's file was
/// created). Removing the merged files in id order then deletes the
/// tombstone's file first: a crash between the two removals (ext4 keeps a
/// prefix of the name operations) must not bring the value back.
#[test]
fn a_crash_between_removals_of_merged_files_resurrects_nothing() {
    for name in HASH_ENGINES {
        for seed in 0..40u64 {
            let sim = SimFs::new(Profile::Linux);
            let mut cfg = config(
                Path::new("/db"),
                Arc::new(sim.clone()),
                SyncPolicy::ALWAYS,
                false,
            );
            cfg.merge_trigger_files = 1000;
            let e = engines::open(name, cfg.clone()).unwrap();
            e.put(b"gone", b"old").unwrap();
            e.put(b"kept", b"1").unwrap();
            e.maintain().unwrap(); // "gone" copied into a merge output
            e.delete(b"gone").unwrap(); // tombstone in the older active file
            e.put(b"kept", b"2").unwrap();
            e.maintain().unwrap(); // drops both; removes the tombstone's file first
            let (after, _) = sim.crash(seed, CrashMode::Prefix);
            cfg.vfs = Arc::new(after);
            let r = engines::open(name, cfg).unwrap();
            assert_eq!(r.get(b"gone").unwrap(), None, "{name} seed {seed}");
            assert_eq!(
                r.get(b"kept").unwrap(),
                Some(b"2".to_vec()),
                "{name} seed {seed}"
            );
        }
    }
}

/// An automatic merge may drop a record because a newer write superseded
/// it, while that newer write is still unsynced (acknowledged under
/// `batch`). A power loss must then leave the key at one of its two
/// values, never at neither.
#[test]
fn an_automatic_merge_never_drops_a_value_whose_successor_is_unsynced() {
    for name in HASH_ENGINES {
        let sim = SimFs::new(Profile::Posix);
        let mut cfg = config(
            Path::new("/db"),
            Arc::new(sim.clone()),
            "batch:1000+dir".parse().unwrap(),
            false,
        );
        cfg.segment_bytes = 300; // two 137-byte records per file
        let e = engines::open(name, cfg.clone()).unwrap();
        let (a, k, b, c) = (1u64, 2u64, 3u64, 4u64);
        for (i, ver) in [(a, 1), (k, 1), (b, 1), (c, 1), (a, 2)] {
            e.put(&key(i), &value(i, ver, 100)).unwrap();
        }
        assert_eq!(e.stats().maintenance_runs.values().sum::<u64>(), 0);
        // Half the immutable bytes become garbage once the keydir holds
        // this put. Under `batch:N` a lone writer leaves its keydir change
        // pending (`engines::deferred`), and the automatic rule counts it
        // once applied: the read applies it, and the next write (a
        // 22-byte tombstone, which still fits the active file) merges
        // inline.
        e.put(&key(k), &value(k, 2, 100)).unwrap();
        assert_eq!(e.get(&key(k)).unwrap(), Some(value(k, 2, 100)));
        e.delete(b"x").unwrap();
        assert_eq!(
            e.stats().maintenance_runs.values().sum::<u64>(),
            1,
            "{name}"
        );
        let (after, _) = sim.crash(0, CrashMode::DurableOnly);
        cfg.vfs = Arc::new(after);
        let r = engines::open(name, cfg).unwrap();
        for (i, last) in [(a, 2), (k, 2), (b, 1), (c, 1)] {
            let got = r.get(&key(i)).unwrap();
            assert!(
                got == Some(value(i, last, 100)) || got == Some(value(i, last - 1, 100)),
                "{name}: key {i} is {:?}",
                got.map(|v| String::from_utf8_lossy(&v).into_owned())
            );
        }
    }
}

/// Under `always`, rotation and inline merges add no sync to the write
/// path: the log gets exactly one sync per put; the only other file syncs
/// are those of each replaced file (merge output, hint, marker: synced
/// once, then renamed, and without `+dir` synced again for its new name);
/// directory syncs happen only under `+dir`, one per created or renamed
/// file and two per merge (removing the inputs, then the marker).
#[test]
fn always_syncs_once_per_put_and_merges_add_directory_syncs_only_with_dir() {
    for name in HASH_ENGINES {
        for p in ["always", "always+dir"] {
            let t = tempfile::tempdir().unwrap();
            let counting = CountingFs::new(RealFs::shared());
            let policy: SyncPolicy = p.parse().unwrap();
            let e = engines::open(
                name,
                config(t.path(), Arc::new(counting.clone()), policy, false),
            )
            .unwrap();
            counting.counters().reset();
            for i in 0..600u64 {
                e.put(&key(i % 150), &value(i, i, 100)).unwrap();
            }
            let io = counting.counters().snapshot();
            let s = e.stats();
            let merges: u64 = s.maintenance_runs.values().sum();
            assert!(
                merges >= 2 && io.creates > 10,
                "{name} {p}: {merges} merges, {} creates",
                io.creates
            );
            assert_eq!((s.log_writes, s.log_syncs), (600, 600), "{name} {p}");
            let syncs_per_rename = if policy.dir_sync { 1 } else { 2 };
            assert_eq!(
                io.file_syncs(),
                600 + syncs_per_rename * io.renames,
                "{name} {p}"
            );
            let dir_syncs = if policy.dir_sync {
                io.creates + 2 * merges
            } else {
                0
            };
            assert_eq!(io.sync_dir, dir_syncs, "{name} {p}");
            e.close().unwrap();
        }
    }
}

/// Files whose reads panic on a background merge thread (thread names end
/// in " merge"): a maintenance bug in the middle of a merge.
#[derive(Debug)]
struct PanicInMergeFs {
    inner: Arc<dyn Vfs>,
    panicked: Arc<AtomicBool>,
}

#[derive(Debug)]
struct PanicInMergeFile {
    inner: engines::fs::FileHandle,
    panicked: Arc<AtomicBool>,
}

impl engines::fs::VfsLayer for PanicInMergeFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }
    fn wrap(&self, inner: engines::fs::FileHandle) -> engines::fs::FileHandle {
        Arc::new(PanicInMergeFile {
            inner,
            panicked: self.panicked.clone(),
        })
    }
}

impl engines::fs::FileLayer for PanicInMergeFile {
    fn inner(&self) -> &dyn engines::fs::VFile {
        &*self.inner
    }
    fn read_at(&self, buf: &mut [u8], offset: u64) -> engines::Result<()> {
        if std::thread::current()
            .name()
            .is_some_and(|n| n.ends_with(" merge"))
        {
            self.panicked.store(true, Ordering::SeqCst);
            panic!("injected panic in a background merge");
        }
        self.inner.read_at(buf, offset)
    }
}

/// Regression: a panic in the merge thread used to end the thread silently
/// while writes went on without maintenance.
#[test]
fn a_panicking_background_merge_poisons_the_engine() {
    for name in HASH_ENGINES {
        let t = tempfile::tempdir().unwrap();
        let panicked = Arc::new(AtomicBool::new(false));
        let vfs: Arc<dyn Vfs> = Arc::new(PanicInMergeFs {
            inner: RealFs::shared(),
            panicked: panicked.clone(),
        });
        let e = engines::open(name, config(t.path(), vfs, SyncPolicy::NONE, true)).unwrap();
        let mut first_err = None;
        // Overwrites of few keys make garbage, so a merge is requested; the
        // loop ends at the first refused write (bounded, not timed).
        for i in 0..2_000_000u64 {
            if let Err(err) = e.put(&key(i % 10), &value(i % 10, i, 100)) {
                first_err = Some(err);
                break;
            }
            if panicked.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
        }
        assert!(panicked.load(Ordering::SeqCst), "{name}: no merge ran");
        let err = first_err.unwrap_or_else(|| panic!("{name}: writes went on after the panic"));
        assert!(
            matches!(err, engines::Error::Poisoned { .. }),
            "{name}: {err}"
        );
        assert!(
            matches!(e.close(), Err(engines::Error::Poisoned { .. })),
            "{name}: close must report the panicked thread"
        );
    }
}

/// Sealed data files are read through a memory mapping (no read call
/// reaches the filesystem for their records), and damage to a sealed
/// record is still caught by its checksum, not returned as a value.
#[test]
fn sealed_files_are_read_mapped_and_their_damage_is_still_caught() {
    for name in HASH_ENGINES {
        let tmp = tempfile::tempdir().expect("tempdir");
        let counting = CountingFs::new(RealFs::shared());
        let counters = counting.counters();
        let cfg = config(tmp.path(), Arc::new(counting), SyncPolicy::NONE, false);
        let e = engines::registry::open(name, cfg).expect("open");
        for i in 0..400 {
            e.put(&key(i), &value(i, 0, 64)).expect("put");
        }
        let before = counters.snapshot().read_calls;
        for i in 0..300 {
            assert_eq!(
                e.get(&key(i)).expect("get"),
                Some(value(i, 0, 64)),
                "{name}"
            );
        }
        let calls = counters.snapshot().read_calls - before;
        assert!(
            calls < 10,
            "{name}: {calls} read calls for 300 sealed records"
        );

        // Damage the last byte of the first sealed file's first record (a
        // value byte), under the running engine, from outside it.
        #[allow(clippy::disallowed_methods)]
        let first = std::fs::read_dir(tmp.path())
            .expect("list")
            .filter_map(|d| d.ok().map(|d| d.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "data" || x == "log"))
            .min()
            .expect("a data file");
        let at = (HEADER_LEN + key(0).len() + 64 - 1) as u64;
        #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
        {
            use std::os::unix::fs::FileExt;
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&first)
                .expect("open");
            f.write_all_at(&[0xA5], at).expect("damage");
        }
        let damaged = (0..300).filter(|&i| e.get(&key(i)).is_err()).count();
        assert_eq!(damaged, 1, "{name}: one damaged record is an error");
        e.close().expect("close");
    }
}

/// Under `batch:N` a lone writer leaves its keydir changes pending
/// (`engines::deferred`): its sync applies them when at least 8 wait
/// (`batch:16`), and otherwise a read, a rotation or a merge does first
/// (`batch:4`). With `+dir`, so that a power cut after a sync keeps the
/// files the writes went to. Reads see every acknowledged write, merges (which take
/// only files rotated after their pending changes were applied) keep the
/// newest values, and a process crash or a synced power cut loses nothing.
#[test]
fn deferred_keydir_changes_are_seen_by_reads_merges_and_crashes() {
    for name in HASH_ENGINES {
        for policy in ["batch:4+dir", "batch:16+dir"] {
            let sim = SimFs::new(Profile::Posix);
            let cfg = config(
                Path::new("/db"),
                Arc::new(sim.clone()),
                policy.parse().unwrap(),
                false,
            );
            let e = engines::open(name, cfg.clone()).unwrap();
            let mut model = BTreeMap::new();
            for i in 0..2000u64 {
                let k = key(i * 7 % 251);
                if i % 11 == 3 {
                    e.delete(&k).unwrap();
                    model.insert(k.clone(), None);
                } else {
                    let v = value(i, i, 40 + (i as usize % 3) * 30);
                    e.put(&k, &v).unwrap();
                    model.insert(k.clone(), Some(v));
                }
                if i % 50 == 7 {
                    assert_eq!(
                        e.get(&k).unwrap(),
                        model[&k],
                        "{name} {policy}: read after write {i}"
                    );
                }
                if i % 300 == 299 {
                    e.maintain().unwrap();
                }
            }
            assert!(
                merges_run(&*e) >= 6,
                "{name} {policy}: merges not exercised"
            );
            let live = model.values().filter(|v| v.is_some()).count() as u64;
            assert_eq!(e.stats().live_keys, Some(live), "{name} {policy}");
            check(&*e, &model, policy);
            // Pending again, then a process crash: the kernel has every
            // acknowledged record.
            for i in 2000..2100u64 {
                let (k, v) = (key(i * 7 % 251), value(i, i, 50));
                e.put(&k, &v).unwrap();
                model.insert(k, Some(v));
            }
            std::mem::forget(e);
            let e = engines::open(name, cfg.clone()).unwrap();
            check(&*e, &model, "after a process crash");
            // Pending again, an explicit sync, then a power cut.
            for i in 2100..2200u64 {
                let (k, v) = (key(i * 7 % 251), value(i, i, 50));
                e.put(&k, &v).unwrap();
                model.insert(k, Some(v));
            }
            e.sync().unwrap();
            std::mem::forget(e);
            let (after, _) = sim.crash(3, CrashMode::DurableOnly);
            let e = engines::open(
                name,
                EngineConfig {
                    vfs: Arc::new(after),
                    ..cfg
                },
            )
            .unwrap();
            check(&*e, &model, "after a synced power cut");
        }
    }
}
