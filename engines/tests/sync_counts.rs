//! Sync-count tests: through an event-recording Vfs, prove that each policy
//! issues exactly the syncs it promises, for every registered engine.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::ThreadId;

use common::{engines, key, small_config, value, Ev, EventFs};
use engines::fs::CountingFs;
use engines::{Engine, EngineConfig, SyncPolicy};

fn policy(text: &str) -> SyncPolicy {
    text.parse().unwrap()
}

/// Opens with default sizes (no rotation, flush or merge within a few
/// hundred small puts) and clears the events of opening.
fn open_default(info: &engines::EngineInfo, dir: &Path, p: &str) -> (Box<dyn Engine>, EventFs) {
    let fs = EventFs::new();
    let mut cfg = EngineConfig::with_vfs(dir, Arc::new(fs.clone()), policy(p));
    cfg.background_maintenance = false;
    let e = info.open(cfg).unwrap();
    fs.take();
    (e, fs)
}

fn put_n(e: &dyn Engine, fs: &EventFs, n: u64) {
    for i in 0..n {
        e.put(&key(i), &value(i, 0, 100)).unwrap();
        fs.ack();
    }
}

/// Files that received the acknowledged writes' appends (the engine's log).
fn log_files(events: &[Ev]) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = Vec::new();
    let mut last_write: HashMap<ThreadId, PathBuf> = HashMap::new();
    for ev in events {
        match ev {
            Ev::Write { path, thread, .. } => {
                last_write.insert(*thread, path.clone());
            }
            Ev::Ack { thread } => {
                if let Some(p) = last_write.get(thread) {
                    if !files.contains(p) {
                        files.push(p.clone());
                    }
                }
            }
            _ => {}
        }
    }
    files
}

fn count<F: Fn(&Ev) -> bool>(events: &[Ev], f: F) -> usize {
    events.iter().filter(|e| f(e)).count()
}

fn file_syncs_on(events: &[Ev], files: &[PathBuf]) -> usize {
    count(
        events,
        |e| matches!(e, Ev::SyncEnd { path, ok: true, .. } if files.contains(path)),
    )
}

/// Every acknowledgement comes after a sync that started after the
/// acknowledging thread's last write and ended, successfully, before the ack.
fn assert_every_ack_covered(name: &str, events: &[Ev]) {
    let mut last_write: HashMap<ThreadId, (usize, PathBuf)> = HashMap::new();
    let mut starts: HashMap<u64, (usize, PathBuf)> = HashMap::new();
    // (start index, end index, path) of successful syncs, in end order.
    let mut syncs: Vec<(usize, usize, PathBuf)> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Ev::Write { path, thread, .. } => {
                last_write.insert(*thread, (i, path.clone()));
            }
            Ev::SyncStart { path, id } => {
                starts.insert(*id, (i, path.clone()));
            }
            Ev::SyncEnd { id, ok: true, .. } => {
                let (s, p) = starts[id].clone();
                syncs.push((s, i, p));
            }
            Ev::Ack { thread } => {
                let (w, path) = last_write
                    .get(thread)
                    .cloned()
                    .unwrap_or_else(|| panic!("{name}: ack at event {i} without a write"));
                let covered = syncs.iter().any(|(s, _, p)| *s > w && p == &path);
                assert!(
                    covered,
                    "{name}: write at event {w} to {} acknowledged at event {i} before a sync covering it returned",
                    path.display()
                );
            }
            _ => {}
        }
    }
}

/// Every acknowledged key was written (by whichever thread: under
/// `group` one writer may append for others) before a sync of that file
/// that started after the write and ended, successfully, before the ack.
fn assert_every_keyed_ack_covered(name: &str, events: &[Ev]) {
    let mut starts: HashMap<u64, (usize, PathBuf)> = HashMap::new();
    let mut syncs: Vec<(usize, PathBuf)> = Vec::new();
    for (i, ev) in events.iter().enumerate() {
        match ev {
            Ev::SyncStart { path, id } => {
                starts.insert(*id, (i, path.clone()));
            }
            Ev::SyncEnd { id, ok: true, .. } => syncs.push(starts[id].clone()),
            Ev::AckKey { key } => {
                let (w, path) = events[..i]
                    .iter()
                    .enumerate()
                    .rev()
                    .find_map(|(w, e)| match e {
                        Ev::Write { path, bytes, .. }
                            if bytes.windows(key.len()).any(|k| k == key) =>
                        {
                            Some((w, path))
                        }
                        _ => None,
                    })
                    .unwrap_or_else(|| panic!("{name}: ack at event {i} of a key never written"));
                assert!(
                    syncs.iter().any(|(s, p)| *s > w && p == path),
                    "{name}: write at event {w} to {} acknowledged at event {i} before a sync covering it returned",
                    path.display()
                );
            }
            _ => {}
        }
    }
}

#[test]
fn none_never_syncs_and_writes_once_per_put() {
    for info in engines() {
        let t = tempfile::tempdir().unwrap();
        let (e, fs) = open_default(info, t.path(), "none");
        put_n(&*e, &fs, 200);
        let ev = fs.take();
        assert_eq!(
            count(&ev, |e| matches!(e, Ev::Write { .. })),
            200,
            "{}: write calls",
            info.name
        );
        assert_eq!(
            count(&ev, |e| matches!(e, Ev::SyncEnd { .. })),
            0,
            "{}: file syncs",
            info.name
        );
        assert_eq!(
            count(&ev, |e| matches!(e, Ev::SyncDir(_))),
            0,
            "{}: dir syncs",
            info.name
        );
        e.close().unwrap();
        let ev = fs.take();
        assert_eq!(
            count(&ev, |e| matches!(e, Ev::SyncEnd { .. })),
            0,
            "{}: close synced under none",
            info.name
        );
    }
}

#[test]
fn always_syncs_exactly_once_per_put_before_acknowledging() {
    for info in engines() {
        for p in ["always", "always@fsync"] {
            let t = tempfile::tempdir().unwrap();
            let (e, fs) = open_default(info, t.path(), p);
            put_n(&*e, &fs, 200);
            let ev = fs.take();
            assert_eq!(
                count(&ev, |e| matches!(e, Ev::Write { .. })),
                200,
                "{}: write calls",
                info.name
            );
            assert_eq!(
                count(&ev, |e| matches!(e, Ev::SyncEnd { .. })),
                200,
                "{} {p}: file syncs",
                info.name
            );
            assert_every_ack_covered(info.name, &ev);
            let s = e.stats();
            assert_eq!(
                (s.log_writes, s.log_syncs),
                (200, 200),
                "{}: stats",
                info.name
            );
            e.close().unwrap();
        }
    }
}

#[test]
fn always_with_fsync_primitive_uses_fsync() {
    for info in engines() {
        let t = tempfile::tempdir().unwrap();
        let counting = CountingFs::new(engines::fs::RealFs::shared());
        let mut cfg =
            EngineConfig::with_vfs(t.path(), Arc::new(counting.clone()), policy("always@fsync"));
        cfg.background_maintenance = false;
        let e = info.open(cfg).unwrap();
        counting.counters().reset();
        for i in 0..50 {
            e.put(&key(i), b"v").unwrap();
        }
        let s = counting.counters().snapshot();
        assert_eq!((s.sync_all, s.sync_data), (50, 0), "{}", info.name);
        e.close().unwrap();
    }
}

#[test]
fn batch_syncs_every_n_writes_and_on_close() {
    for info in engines() {
        for n in [96u64, 100] {
            let t = tempfile::tempdir().unwrap();
            let (e, fs) = open_default(info, t.path(), "batch:32");
            put_n(&*e, &fs, n);
            let ev = fs.take();
            let logs = log_files(&ev);
            assert_eq!(
                file_syncs_on(&ev, &logs),
                (n / 32) as usize,
                "{}: {n} puts",
                info.name
            );
            e.close().unwrap();
            let after = fs.take();
            let total = file_syncs_on(&ev, &logs) + file_syncs_on(&after, &logs);
            assert_eq!(
                total as u64,
                n.div_ceil(32),
                "{}: {n} puts + close",
                info.name
            );
        }
    }
}

#[test]
fn group_commit_shares_syncs_and_never_acknowledges_early() {
    for info in engines() {
        let t = tempfile::tempdir().unwrap();
        let (e, fs) = open_default(info, t.path(), "group");
        let e: Arc<dyn Engine> = Arc::from(e);
        std::thread::scope(|s| {
            for th in 0..8u64 {
                let (e, fs) = (e.clone(), fs.clone());
                s.spawn(move || {
                    for i in 0..50u64 {
                        let k = key(th * 1000 + i);
                        e.put(&k, &value(i, th, 100)).unwrap();
                        fs.ack_key(&k);
                    }
                });
            }
        });
        let ev = fs.take();
        let syncs = count(&ev, |e| matches!(e, Ev::SyncEnd { .. }));
        assert!(
            syncs > 0 && syncs < 400,
            "{}: {syncs} syncs for 400 writes",
            info.name
        );
        assert_every_keyed_ack_covered(info.name, &ev);
        let s = e.stats();
        assert_eq!(s.log_writes, 400, "{}", info.name);
        assert!(s.log_syncs < 400, "{}", info.name);
        // One writer appended for the others: every write reads back, and
        // after reopening (the records were framed one by one).
        let check = |e: &dyn Engine, when: &str| {
            if !info.capabilities.point_reads {
                return;
            }
            for th in 0..8u64 {
                for i in 0..50u64 {
                    assert_eq!(
                        e.get(&key(th * 1000 + i)).unwrap(),
                        Some(value(i, th, 100)),
                        "{} {when}: key {th}/{i}",
                        info.name
                    );
                }
            }
        };
        check(&*e, "after the writes");
        e.close().unwrap();
        drop(e);
        let (e, _) = open_default(info, t.path(), "group");
        check(&*e, "after reopening");
        e.close().unwrap();
    }
}

/// Under `+dir`, every create (of a final name), rename and remove in the
/// engine's directory is followed by an fsync of that directory before the
/// next write is acknowledged; without `+dir` there is no directory sync.
#[test]
fn dir_sync_follows_every_name_change_only_with_dir() {
    for info in engines() {
        for p in ["always+dir", "always", "batch:8+dir"] {
            let t = tempfile::tempdir().unwrap();
            let fs = EventFs::new();
            let e = info
                .open(small_config(t.path(), Arc::new(fs.clone()), policy(p)))
                .unwrap();
            for i in 0..600u64 {
                e.put(&key(i % 150), &value(i, i, 100)).unwrap();
                fs.ack();
            }
            e.maintain().unwrap();
            fs.ack();
            let ev = fs.take();
            let changes = count(&ev, is_name_change);
            if info.creates_files_while_writing {
                assert!(changes > 0, "{} {p}: no file was created", info.name);
            }
            let dir_syncs = count(&ev, |e| matches!(e, Ev::SyncDir(_)));
            if !policy(p).dir_sync {
                assert_eq!(dir_syncs, 0, "{} {p}", info.name);
                continue;
            }
            let mut pending: Option<(usize, PathBuf)> = None;
            for (i, ev) in ev.iter().enumerate() {
                if is_name_change(ev) {
                    let dir = changed_dir(ev);
                    if pending.is_none() {
                        pending = Some((i, dir));
                    }
                } else if let Ev::SyncDir(d) = ev {
                    if pending.as_ref().is_some_and(|(_, p)| p == d) {
                        pending = None;
                    }
                } else if let Ev::Ack { .. } = ev {
                    if let Some((at, dir)) = &pending {
                        panic!(
                            "{} {p}: name change at event {at} in {} not followed by a directory sync before the ack at event {i}: {:?}",
                            info.name,
                            dir.display(),
                            ev
                        );
                    }
                }
            }
            e.close().unwrap();
        }
    }
}

fn is_name_change(ev: &Ev) -> bool {
    match ev {
        Ev::Create(p) => !p.to_string_lossy().ends_with(".tmp"),
        Ev::Rename(..) | Ev::Remove(_) => true,
        _ => false,
    }
}

fn changed_dir(ev: &Ev) -> PathBuf {
    let p = match ev {
        Ev::Create(p) | Ev::Remove(p) | Ev::Rename(_, p) => p,
        _ => unreachable!(),
    };
    engines::fs::parent_dir(p).to_path_buf()
}
