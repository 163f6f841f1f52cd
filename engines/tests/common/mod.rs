//! Shared test support: an event-recording `Vfs` and engine helpers that
//! work for every registered engine whatever its capabilities.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use engines::fs::{FileHandle, FileLayer, RealFs, VFile, Vfs, VfsLayer};
use engines::registry::EngineInfo;
use engines::{Engine, EngineConfig, Result, SyncPolicy};

/// One thing an engine asked of the filesystem, or a test marker.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    Create(PathBuf),
    Rename(PathBuf, PathBuf),
    Remove(PathBuf),
    SyncDir(PathBuf),
    /// An `append` or `write_at` of `len` bytes at `offset` (with the
    /// bytes, to find which write carried a record).
    Write {
        path: PathBuf,
        thread: ThreadId,
        offset: u64,
        len: u64,
        bytes: Arc<[u8]>,
    },
    SyncStart {
        path: PathBuf,
        id: u64,
    },
    SyncEnd {
        path: PathBuf,
        id: u64,
        ok: bool,
    },
    /// The test's `put` returned `Ok` on `thread`.
    Ack {
        thread: ThreadId,
    },
    /// The test's `put` of `key` returned `Ok` (whichever thread wrote it).
    AckKey {
        key: Vec<u8>,
    },
}

/// A `Vfs` wrapper that appends every call to a shared event log.
#[derive(Debug, Clone)]
pub struct EventFs {
    inner: Arc<dyn Vfs>,
    pub log: Arc<Mutex<Vec<Ev>>>,
}

impl EventFs {
    pub fn new() -> Self {
        EventFs {
            inner: RealFs::shared(),
            log: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn push(&self, ev: Ev) {
        self.log.lock().unwrap().push(ev);
    }

    pub fn take(&self) -> Vec<Ev> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    pub fn ack(&self) {
        self.push(Ev::Ack {
            thread: std::thread::current().id(),
        });
    }

    pub fn ack_key(&self, key: &[u8]) {
        self.push(Ev::AckKey { key: key.to_vec() });
    }
}

impl VfsLayer for EventFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }
    fn wrap(&self, f: FileHandle) -> FileHandle {
        Arc::new(EventFile {
            inner: f,
            log: self.log.clone(),
        })
    }
    fn create(&self, path: &Path) -> Result<FileHandle> {
        let f = self.inner.create(path)?;
        self.push(Ev::Create(path.to_path_buf()));
        Ok(VfsLayer::wrap(self, f))
    }
    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)?;
        self.push(Ev::Rename(from.to_path_buf(), to.to_path_buf()));
        Ok(())
    }
    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)?;
        self.push(Ev::Remove(path.to_path_buf()));
        Ok(())
    }
    fn sync_dir(&self, path: &Path) -> Result<()> {
        self.inner.sync_dir(path)?;
        self.push(Ev::SyncDir(path.to_path_buf()));
        Ok(())
    }
}

#[derive(Debug)]
struct EventFile {
    inner: FileHandle,
    log: Arc<Mutex<Vec<Ev>>>,
}

static SYNC_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

impl EventFile {
    fn push(&self, ev: Ev) {
        self.log.lock().unwrap().push(ev);
    }
    fn synced(&self, f: impl FnOnce() -> Result<()>) -> Result<()> {
        let id = SYNC_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self.inner.path().to_path_buf();
        self.push(Ev::SyncStart {
            path: path.clone(),
            id,
        });
        let r = f();
        self.push(Ev::SyncEnd {
            path,
            id,
            ok: r.is_ok(),
        });
        r
    }
}

impl FileLayer for EventFile {
    fn inner(&self) -> &dyn VFile {
        &*self.inner
    }
    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        // Logged under the lock so the event order is the order of the writes.
        let mut log = self.log.lock().unwrap();
        self.inner.write_at(buf, offset)?;
        log.push(Ev::Write {
            path: self.inner.path().to_path_buf(),
            thread: std::thread::current().id(),
            offset,
            len: buf.len() as u64,
            bytes: buf.into(),
        });
        Ok(())
    }
    fn append(&self, buf: &[u8]) -> Result<u64> {
        let mut log = self.log.lock().unwrap();
        let offset = self.inner.append(buf)?;
        log.push(Ev::Write {
            path: self.inner.path().to_path_buf(),
            thread: std::thread::current().id(),
            offset,
            len: buf.len() as u64,
            bytes: buf.into(),
        });
        Ok(offset)
    }
    fn sync_data(&self) -> Result<()> {
        self.synced(|| self.inner.sync_data())
    }
    fn sync_all(&self) -> Result<()> {
        self.synced(|| self.inner.sync_all())
    }
}

/// A config with every size small enough that files are created, rotated,
/// flushed, merged and checkpointed within a few hundred writes, and with
/// maintenance inline so the test controls when it runs.
pub fn small_config(dir: &Path, vfs: Arc<dyn Vfs>, policy: SyncPolicy) -> EngineConfig {
    let mut c = EngineConfig::with_vfs(dir, vfs, policy);
    c.segment_bytes = 4096;
    c.memtable_bytes = 4096;
    c.checkpoint_bytes = 8192;
    c.page_bytes = 1024;
    c.cache_pages = 64;
    c.merge_trigger_files = 3;
    c.background_maintenance = false;
    c
}

/// Every registered engine whose I/O goes through the Vfs (the tests that
/// count, tear or corrupt its writes need that), with a line on stderr
/// naming the one under test.
pub fn engines() -> impl Iterator<Item = &'static EngineInfo> {
    engines::registry::vfs_engines().inspect(|e| {
        eprintln!("--- engine {}", e.name);
    })
}

/// Every registered engine, the reference engines included.
pub fn all_engines() -> impl Iterator<Item = &'static EngineInfo> {
    engines::registry::all().iter().inspect(|e| {
        eprintln!("--- engine {}", e.name);
    })
}

/// A durable policy the engine can express: `preferred` if it can, else
/// `always` (the reference engines have no group commit or `+dir`).
pub fn durable_policy(info: &EngineInfo, preferred: &str) -> SyncPolicy {
    let p: SyncPolicy = preferred.parse().unwrap();
    if (info.supports)(&p).is_ok() {
        p
    } else {
        SyncPolicy::ALWAYS
    }
}

/// The cheapest policy the engine can express: `none`, else `always`
/// (redb has no unsynced commit that survives a process crash).
pub fn cheapest_policy(info: &EngineInfo) -> SyncPolicy {
    if (info.supports)(&SyncPolicy::NONE).is_ok() {
        SyncPolicy::NONE
    } else {
        SyncPolicy::ALWAYS
    }
}

/// The value of `key` as the engine reports it: `get` where the engine has
/// point reads, else the fold of its replayed log.
pub fn read(engine: &dyn Engine, key: &[u8]) -> Option<Vec<u8>> {
    if engine.capabilities().point_reads {
        engine.get(key).unwrap()
    } else {
        state_by_replay(engine).remove(key)
    }
}

/// The whole key space via the log (engines with `replay`).
pub fn state_by_replay(engine: &dyn Engine) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut map = BTreeMap::new();
    for op in engine.replay(0).unwrap() {
        match op.value {
            Some(v) => map.insert(op.key, v),
            None => map.remove(&op.key),
        };
    }
    map
}

/// Checks that the engine holds exactly `model` for the keys in `keys`
/// (and, where it can list its contents, nothing else).
pub fn assert_state(engine: &dyn Engine, model: &BTreeMap<Vec<u8>, Vec<u8>>, keys: &[Vec<u8>]) {
    let caps = engine.capabilities();
    let name = engine.name();
    if caps.point_reads {
        for k in keys {
            let got = engine.get(k).unwrap();
            assert_eq!(
                got.as_deref(),
                model.get(k).map(Vec::as_slice),
                "{name}: key {:?}",
                String::from_utf8_lossy(k)
            );
        }
    }
    if caps.range_scans {
        let all = engine.scan(b"", None, usize::MAX).unwrap();
        let want: Vec<(Vec<u8>, Vec<u8>)> =
            model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        assert_eq!(all.len(), want.len(), "{name}: scan length");
        assert!(all == want, "{name}: scan differs from model");
    }
    if caps.replay {
        let state = state_by_replay(engine);
        assert!(&state == model, "{name}: replayed state differs from model");
    }
}

pub fn key(i: u64) -> Vec<u8> {
    format!("key{i:013}").into_bytes()
}

pub fn value(i: u64, version: u64, len: usize) -> Vec<u8> {
    let mut v = format!("v{i}.{version}:").into_bytes();
    v.resize(len, b'a' + (i % 26) as u8);
    v
}
