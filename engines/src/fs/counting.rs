//! [`CountingFs`]: a [`Vfs`] wrapper that counts what an engine asks of the
//! filesystem: bytes and write calls (split by file kind), file and directory
//! syncs, and the latency of every sync.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use hdrhistogram::Histogram;

use super::{FileHandle, FileLayer, VFile, Vfs, VfsLayer};
use crate::Result;

/// Counters shared by a [`CountingFs`] and every file it opened.
#[derive(Debug)]
pub struct IoCounters {
    bytes_written: AtomicU64,
    write_calls: AtomicU64,
    bytes_read: AtomicU64,
    read_calls: AtomicU64,
    sync_data: AtomicU64,
    sync_all: AtomicU64,
    sync_dir: AtomicU64,
    creates: AtomicU64,
    renames: AtomicU64,
    removes: AtomicU64,
    kinds: Mutex<BTreeMap<String, Arc<AtomicU64>>>,
    sync_latency_ns: Mutex<Histogram<u64>>,
}

/// A point-in-time copy of [`IoCounters`].
#[derive(Debug, Clone)]
pub struct IoSnapshot {
    /// Bytes passed to `write_at`/`append`.
    pub bytes_written: u64,
    /// Number of `write_at`/`append` calls (each one `write(2)` on `RealFs`).
    pub write_calls: u64,
    /// Bytes read.
    pub bytes_read: u64,
    /// Number of `read_at` calls.
    pub read_calls: u64,
    /// `sync_data` (fdatasync) calls.
    pub sync_data: u64,
    /// `sync_all` (fsync) calls on files.
    pub sync_all: u64,
    /// `sync_dir` (directory fsync) calls.
    pub sync_dir: u64,
    /// Files created.
    pub creates: u64,
    /// Renames.
    pub renames: u64,
    /// Removes.
    pub removes: u64,
    /// Bytes written per file kind (the file's extension, ignoring a `.tmp`
    /// suffix: `sst`, `wal`, `data`, `hint`, ...).
    pub bytes_by_kind: BTreeMap<String, u64>,
    /// Latency of every file and directory sync, in nanoseconds.
    pub sync_latency_ns: Histogram<u64>,
}

impl IoSnapshot {
    /// File syncs of either primitive.
    pub fn file_syncs(&self) -> u64 {
        self.sync_data + self.sync_all
    }
}

impl Default for IoCounters {
    fn default() -> Self {
        IoCounters {
            bytes_written: AtomicU64::new(0),
            write_calls: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            read_calls: AtomicU64::new(0),
            sync_data: AtomicU64::new(0),
            sync_all: AtomicU64::new(0),
            sync_dir: AtomicU64::new(0),
            creates: AtomicU64::new(0),
            renames: AtomicU64::new(0),
            removes: AtomicU64::new(0),
            kinds: Mutex::new(BTreeMap::new()),
            sync_latency_ns: Mutex::new(new_latency_histogram()),
        }
    }
}

/// A histogram for nanosecond latencies (1 ns to ~1 hour, 3 significant digits).
pub fn new_latency_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, 3_600_000_000_000, 3).expect("valid histogram bounds")
}

impl IoCounters {
    /// File and directory syncs so far (three atomic loads: cheap enough
    /// to sample at every timeline interval).
    pub fn syncs(&self) -> u64 {
        self.sync_data.load(Relaxed) + self.sync_all.load(Relaxed) + self.sync_dir.load(Relaxed)
    }

    /// Copies every counter.
    pub fn snapshot(&self) -> IoSnapshot {
        let kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        IoSnapshot {
            bytes_written: self.bytes_written.load(Relaxed),
            write_calls: self.write_calls.load(Relaxed),
            bytes_read: self.bytes_read.load(Relaxed),
            read_calls: self.read_calls.load(Relaxed),
            sync_data: self.sync_data.load(Relaxed),
            sync_all: self.sync_all.load(Relaxed),
            sync_dir: self.sync_dir.load(Relaxed),
            creates: self.creates.load(Relaxed),
            renames: self.renames.load(Relaxed),
            removes: self.removes.load(Relaxed),
            bytes_by_kind: kinds
                .iter()
                .map(|(k, v)| (k.clone(), v.load(Relaxed)))
                .collect(),
            sync_latency_ns: self
                .sync_latency_ns
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        }
    }

    /// Sets every counter back to zero (between a load phase and a measured run).
    pub fn reset(&self) {
        for c in [
            &self.bytes_written,
            &self.write_calls,
            &self.bytes_read,
            &self.read_calls,
            &self.sync_data,
            &self.sync_all,
            &self.sync_dir,
            &self.creates,
            &self.renames,
            &self.removes,
        ] {
            c.store(0, Relaxed);
        }
        for v in self
            .kinds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
        {
            v.store(0, Relaxed);
        }
        self.sync_latency_ns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reset();
    }

    fn kind_counter(&self, kind: String) -> Arc<AtomicU64> {
        let mut kinds = self.kinds.lock().unwrap_or_else(|p| p.into_inner());
        kinds.entry(kind).or_default().clone()
    }

    fn record_sync(&self, started: Instant) {
        let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.sync_latency_ns
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .saturating_record(ns.max(1));
    }
}

/// The kind of a file for write-amplification accounting: its extension,
/// ignoring a trailing `.tmp`; `other` when it has none.
pub fn file_kind(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".tmp").unwrap_or(&name);
    match name.rsplit_once('.') {
        Some((_, ext)) if !ext.is_empty() => ext.to_string(),
        _ => "other".to_string(),
    }
}

/// Wraps any [`Vfs`] and counts every call into a shared [`IoCounters`].
#[derive(Debug, Clone)]
pub struct CountingFs {
    inner: Arc<dyn Vfs>,
    counters: Arc<IoCounters>,
}

impl CountingFs {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Vfs>) -> Self {
        CountingFs {
            inner,
            counters: Arc::new(IoCounters::default()),
        }
    }

    /// The counters, shared with every file opened through this wrapper.
    pub fn counters(&self) -> Arc<IoCounters> {
        self.counters.clone()
    }
}

impl VfsLayer for CountingFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }

    fn wrap(&self, file: FileHandle) -> FileHandle {
        let kind = file_kind(file.path());
        Arc::new(CountingFile {
            inner: file,
            counters: self.counters.clone(),
            kind_bytes: self.counters.kind_counter(kind.clone()),
            reserved_bytes: self.counters.kind_counter(format!("{kind}-reserved")),
        })
    }

    fn create(&self, path: &Path) -> Result<FileHandle> {
        let f = self.inner.create(path)?;
        self.counters.creates.fetch_add(1, Relaxed);
        Ok(VfsLayer::wrap(self, f))
    }

    fn rename(&self, from: &Path, to: &Path) -> Result<()> {
        self.inner.rename(from, to)?;
        self.counters.renames.fetch_add(1, Relaxed);
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<()> {
        self.inner.remove(path)?;
        self.counters.removes.fetch_add(1, Relaxed);
        Ok(())
    }

    fn sync_dir(&self, path: &Path) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.sync_dir(path);
        self.counters.sync_dir.fetch_add(1, Relaxed);
        self.counters.record_sync(t);
        r
    }
}

#[derive(Debug)]
struct CountingFile {
    inner: FileHandle,
    counters: Arc<IoCounters>,
    kind_bytes: Arc<AtomicU64>,
    /// Reserved space written ahead of the appends, kind `KIND-reserved`.
    reserved_bytes: Arc<AtomicU64>,
}

impl CountingFile {
    fn wrote(&self, n: usize) {
        self.counters.write_calls.fetch_add(1, Relaxed);
        self.counters.bytes_written.fetch_add(n as u64, Relaxed);
        self.kind_bytes.fetch_add(n as u64, Relaxed);
    }
}

impl FileLayer for CountingFile {
    fn inner(&self) -> &dyn VFile {
        &*self.inner
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.counters.read_calls.fetch_add(1, Relaxed);
        self.counters
            .bytes_read
            .fetch_add(buf.len() as u64, Relaxed);
        self.inner.read_at(buf, offset)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.wrote(buf.len());
        self.inner.write_at(buf, offset)
    }

    fn append(&self, buf: &[u8]) -> Result<u64> {
        self.wrote(buf.len());
        self.inner.append(buf)
    }

    /// Reserved space counts as written, under its own kind
    /// (`KIND-reserved`, so a reader can tell the zeros from the records):
    /// [`super::RealFs`] writes it as zeros, which the device receives like
    /// any other bytes.
    fn allocate(&self, len: u64) -> Result<()> {
        let before = self.inner.len()?;
        self.inner.allocate(len)?;
        if len > before {
            let n = len - before;
            self.counters.write_calls.fetch_add(1, Relaxed);
            self.counters.bytes_written.fetch_add(n, Relaxed);
            self.reserved_bytes.fetch_add(n, Relaxed);
        }
        Ok(())
    }

    fn sync_data(&self) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.sync_data();
        self.counters.sync_data.fetch_add(1, Relaxed);
        self.counters.record_sync(t);
        r
    }

    fn sync_all(&self) -> Result<()> {
        let t = Instant::now();
        let r = self.inner.sync_all();
        self.counters.sync_all.fetch_add(1, Relaxed);
        self.counters.record_sync(t);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_count_as_written_under_their_own_kind() {
        let t = tempfile::tempdir().unwrap();
        let fs = CountingFs::new(super::super::RealFs::shared());
        let f = Vfs::create(&fs, &t.path().join("1.wal")).unwrap();
        f.append(b"record").unwrap();
        f.allocate(4096).unwrap();
        f.allocate(100).unwrap();
        let s = fs.counters().snapshot();
        assert_eq!(s.bytes_written, 4096);
        assert_eq!(s.write_calls, 2);
        assert_eq!(s.bytes_by_kind["wal"], 6);
        assert_eq!(s.bytes_by_kind["wal-reserved"], 4090);
    }

    #[test]
    fn kind_ignores_tmp_suffix() {
        assert_eq!(file_kind(Path::new("/a/000001.sst.tmp")), "sst");
        assert_eq!(file_kind(Path::new("/a/000001.sst")), "sst");
        assert_eq!(file_kind(Path::new("MANIFEST")), "other");
    }
}
