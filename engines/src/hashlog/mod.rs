//! The core shared by the two hash-index engines, [`crate::bitcask`] and
//! [`crate::loghash`]: append-only data files, an in-memory keydir, rotation
//! at a size limit, and a merge that rewrites the live records of the
//! immutable files into new files.
//!
//! ## Format
//!
//! - Data files (`NNNNNNNN.data` for bitcask, `segment_NNNNNNNN.log` for
//!   loghash): records in the shared framing ([`crate::record`]); each
//!   record's sequence number orders it against every other record of the
//!   engine, so recovery does not depend on file order.
//! - Hint files (bitcask only, `NNNNNNNN.hint`, see [`hint`]), one per
//!   merged data file.
//! - Merge markers `NNNNNNNN.merge`: one record in the shared framing whose
//!   value lists the ids (u32 LE) of the data files a completed merge
//!   replaced. A marker exists from the moment the merge output is durable
//!   until the replaced files are removed; recovery treats the listed files
//!   as gone, so a crash halfway through removing them cannot bring back a
//!   value whose tombstone the merge dropped.
//!
//! ## Merge
//!
//! A merge takes every immutable file (all but the active one), copies the
//! records the keydir still points at into new data files (sequence
//! numbers and checksums unchanged), drops everything else (overwritten
//! values and tombstones: every older record of the key is in the merged
//! files, which all go away), writes each output (and its hint file) through
//! [`crate::fs::ReplaceFile`] (temp name, sync unless `none`, rename,
//! directory sync under `+dir`), then the marker the same way, then switches
//! the keydir to the new locations under its write lock (a key written
//! meanwhile keeps its newer location), and only then removes the old files
//! and the marker (directory sync under `+dir`).

pub mod hint;
pub mod keydir;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::{EngineDir, FileHandle};
use crate::record::{self, Record};
use crate::syncer::Syncer;
use crate::worker::{self, Signal, Worker};
use crate::{Error, Result};

use hint::Hint;
use keydir::{Keydir, Loc, RecoveringKeydir};

/// Capabilities of both hash engines: point reads and deletes, no scans.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: false,
    deletes: true,
    replay: false,
};

/// What distinguishes the two engines.
#[derive(Debug)]
pub struct Flavor {
    /// Engine name.
    pub name: &'static str,
    /// Data file name for an id.
    pub data_name: fn(u32) -> String,
    /// Id of a data file name.
    pub parse_data: fn(&str) -> Option<u32>,
    /// Whether merges write hint files.
    pub hints: bool,
    /// Word for a merge in stats (`merges`, `compactions`).
    pub merge_word: &'static str,
}

const MARKER_EXT: &str = ".merge";
const HINT_EXT: &str = ".hint";

fn marker_name(id: u32) -> String {
    format!("{id:08}{MARKER_EXT}")
}

fn hint_name(id: u32) -> String {
    format!("{id:08}{HINT_EXT}")
}

fn parse_with(name: &str, ext: &str) -> Option<u32> {
    name.strip_suffix(ext)?.parse().ok()
}

#[derive(Debug, Default)]
struct Tables {
    keydir: Keydir,
    files: BTreeMap<u32, FileHandle>,
}

#[derive(Debug)]
struct Active {
    id: u32,
    file: FileHandle,
    len: u64,
    buf: Vec<u8>,
}

#[derive(Debug, Default)]
struct Counters {
    user_bytes: AtomicU64,
    data_bytes: AtomicU64,
    merge_bytes: AtomicU64,
    hint_bytes: AtomicU64,
    marker_bytes: AtomicU64,
    merges: AtomicU64,
}

#[derive(Debug)]
struct Inner {
    flavor: &'static Flavor,
    dir: EngineDir,
    segment_bytes: u64,
    trigger: usize,
    background: bool,
    tables: RwLock<Tables>,
    writer: Mutex<Active>,
    syncer: Syncer,
    merging: Mutex<()>,
    next_file: AtomicU32,
    next_seq: AtomicU64,
    closed: AtomicBool,
    counters: Counters,
    torn_bytes: u64,
    /// Wakes the background merge thread.
    signal: Arc<Signal>,
}

/// A hash-index engine (bitcask or loghash, by its [`Flavor`]).
#[derive(Debug)]
pub struct HashLog {
    inner: Arc<Inner>,
    worker: Worker,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Engine for HashLog {
    fn name(&self) -> &'static str {
        self.inner.flavor.name
    }
    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.inner.write(key, Some(value))
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        self.inner.write(key, None)
    }
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Err(Error::Unsupported {
            engine: self.inner.flavor.name,
            operation: "scan",
        })
    }
    fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.syncer.sync_now(&|| self.inner.active_file())
    }
    fn maintain(&self) -> Result<()> {
        self.merge()
    }
    fn close(&self) -> Result<()> {
        if self.inner.closed.swap(true, Relaxed) {
            return Ok(());
        }
        self.worker.stop();
        self.inner.syncer.close(&|| self.inner.active_file())
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}

impl HashLog {
    /// Opens (recovering) or creates the engine in `config.dir`.
    pub fn open(flavor: &'static Flavor, config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, config.policy)?;
        dir.remove_temporaries()?;
        let names = dir.list()?;

        // Completed merges: their inputs are gone even if their files remain.
        let mut dead: Vec<u32> = Vec::new();
        let mut markers: Vec<String> = Vec::new();
        let mut max_id = 0u32;
        for n in &names {
            if let Some(id) = parse_with(n, MARKER_EXT) {
                max_id = max_id.max(id);
                let f = dir.open_file(n)?;
                let image = f.read_all()?;
                record::scan_log(&image, f.path(), |_, r| {
                    for c in r.value.unwrap_or(&[]).chunks_exact(4) {
                        dead.push(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
                    }
                    Ok(())
                })?;
                markers.push(n.clone());
            }
        }
        let mut ids: Vec<u32> = names
            .iter()
            .filter_map(|n| (flavor.parse_data)(n))
            .collect();
        ids.sort_unstable();
        if let Some(&m) = ids.last() {
            max_id = max_id.max(m);
        }
        let mut stale: Vec<String> = Vec::new();
        for &id in &dead {
            for n in [(flavor.data_name)(id), hint_name(id)] {
                if names.contains(&n) {
                    stale.push(n);
                }
            }
        }
        dir.remove_all(&stale)?;
        dir.remove_all(&markers)?;
        ids.retain(|id| !dead.contains(id));

        let mut rk = RecoveringKeydir::default();
        let mut files = BTreeMap::new();
        let mut torn_bytes = 0;
        for &id in &ids {
            let file = dir.open_file(&(flavor.data_name)(id))?;
            // Hint files are trusted only under a syncing policy: they were
            // synced with their data file before either was renamed in.
            let from_hint = flavor.hints
                && config.policy.syncs_data()
                && names.contains(&hint_name(id))
                && load_hint(&dir, id, file.len()?, &mut rk)?;
            if !from_hint {
                let image = file.read_all()?;
                let end = record::recover_log(&file, &image, config.policy, |off, r| {
                    let loc = Loc {
                        file: id,
                        offset: off,
                        len: r.encoded_len() as u32,
                        seq: r.seq,
                    };
                    match r.value {
                        Some(_) => rk.value(r.key, loc),
                        None => rk.tombstone(r.key, r.seq),
                    }
                    Ok(())
                })?;
                torn_bytes += end.torn_bytes;
            }
            files.insert(id, file);
        }
        let next_seq = rk.max_seq + 1;
        let keydir = rk.finish();

        // Writes go to a new active file.
        let active_id = max_id + 1;
        let active = dir.create(&(flavor.data_name)(active_id))?;
        files.insert(active_id, active.clone());

        let background = config.background_maintenance;
        let signal = Arc::new(Signal::default());
        let inner = Arc::new(Inner {
            flavor,
            dir,
            segment_bytes: config.segment_bytes,
            trigger: config.merge_trigger_files,
            background,
            tables: RwLock::new(Tables { keydir, files }),
            writer: Mutex::new(Active {
                id: active_id,
                file: active,
                len: 0,
                buf: Vec::with_capacity(4096),
            }),
            syncer: Syncer::new(config.policy),
            merging: Mutex::new(()),
            next_file: AtomicU32::new(active_id + 1),
            next_seq: AtomicU64::new(next_seq),
            closed: AtomicBool::new(false),
            counters: Counters::default(),
            torn_bytes,
            signal: signal.clone(),
        });
        let handle = if background {
            let w = inner.clone();
            let path = inner.dir.path().to_path_buf();
            Some(
                worker::spawn(
                    format!("{} merge", flavor.name),
                    signal.clone(),
                    move || w.merge(),
                )
                .map_err(|e| Error::io("spawn merge thread", path, e))?,
            )
        } else {
            None
        };
        Ok(HashLog {
            inner,
            worker: Worker::new(signal, handle),
        })
    }

    /// Runs a merge of every immutable file now (rotating the active file
    /// first so everything written so far takes part).
    pub fn merge(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.rotate_now()?;
        self.inner.merge()
    }
}

/// Loads a hint file into `rk`; false (and nothing loaded) if it is damaged
/// or points past the end of its data file (data lost under `none`).
fn load_hint(dir: &EngineDir, id: u32, data_len: u64, rk: &mut RecoveringKeydir) -> Result<bool> {
    let f = dir.open_file(&hint_name(id))?;
    let image = f.read_all()?;
    let mut hints: Vec<(Vec<u8>, Loc, bool)> = Vec::new();
    let ok = match record::scan_log(&image, f.path(), |_, r| {
        let h: Hint<'_> =
            hint::decode(&r).ok_or_else(|| Error::corrupt(f.path(), 0, "not a hint record"))?;
        hints.push((
            h.key.to_vec(),
            Loc {
                file: id,
                offset: h.offset,
                len: h.len,
                seq: h.seq,
            },
            h.tombstone,
        ));
        Ok(())
    }) {
        Ok(end) => end.torn_bytes == 0,
        Err(_) => false,
    } && hints
        .iter()
        .all(|(_, l, _)| l.offset + u64::from(l.len) <= data_len);
    if !ok {
        return Ok(false);
    }
    for (k, loc, tomb) in hints {
        if tomb {
            rk.tombstone(&k, loc.seq);
        } else {
            rk.value(&k, loc);
        }
    }
    Ok(true)
}

impl Inner {
    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn active_file(&self) -> FileHandle {
        lock(&self.writer).file.clone()
    }

    fn tables_read(&self) -> std::sync::RwLockReadGuard<'_, Tables> {
        self.tables.read().unwrap_or_else(|p| p.into_inner())
    }

    fn tables_write(&self) -> std::sync::RwLockWriteGuard<'_, Tables> {
        self.tables.write().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        record::check_sizes(key, value)?;
        self.signal.check()?;
        self.syncer.check()?;
        let ticket = {
            let mut w = lock(&self.writer);
            let seq = self.next_seq.fetch_add(1, Relaxed);
            let mut buf = std::mem::take(&mut w.buf);
            buf.clear();
            record::encode_into(
                &mut buf,
                &Record {
                    seq,
                    key,
                    value,
                    batch_continues: false,
                },
            );
            let result = self.append_locked(&mut w, &buf);
            let len = buf.len();
            w.buf = buf;
            let offset = result?;
            let mut t = self.tables_write();
            match value {
                Some(_) => t.keydir.put(
                    key,
                    Loc {
                        file: w.id,
                        offset,
                        len: len as u32,
                        seq,
                    },
                ),
                None => t.keydir.remove(key),
            }
            drop(t);
            self.syncer.appended()
        };
        let user = key.len() + value.map_or(0, <[u8]>::len);
        self.counters.user_bytes.fetch_add(user as u64, Relaxed);
        self.syncer.commit(ticket, &|| self.active_file())?;
        self.maybe_merge()
    }

    /// Appends to the active file, rotating first when the record would take
    /// it past the size limit. Returns the record's offset.
    fn append_locked(&self, w: &mut Active, bytes: &[u8]) -> Result<u64> {
        if w.len > 0 && w.len + bytes.len() as u64 > self.segment_bytes {
            self.rotate_locked(w)?;
        }
        let offset = w.len;
        if let Err(e) = w.file.append(bytes) {
            if w.file.set_len(w.len).is_err() {
                self.syncer.poison(&e);
            }
            return Err(e);
        }
        w.len += bytes.len() as u64;
        self.counters
            .data_bytes
            .fetch_add(bytes.len() as u64, Relaxed);
        Ok(offset)
    }

    fn rotate_locked(&self, w: &mut Active) -> Result<()> {
        self.syncer.seal(&w.file)?;
        let id = self.next_file.fetch_add(1, Relaxed);
        let file = self.dir.create(&(self.flavor.data_name)(id))?;
        self.tables_write().files.insert(id, file.clone());
        w.id = id;
        w.file = file;
        w.len = 0;
        Ok(())
    }

    fn rotate_now(&self) -> Result<()> {
        let mut w = lock(&self.writer);
        if w.len > 0 {
            self.rotate_locked(&mut w)?;
        }
        Ok(())
    }

    fn immutable_files(&self) -> usize {
        self.tables_read().files.len().saturating_sub(1)
    }

    fn maybe_merge(&self) -> Result<()> {
        if self.immutable_files() < self.trigger {
            return Ok(());
        }
        if self.background {
            self.signal.request();
            Ok(())
        } else {
            self.merge()
        }
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        let (file, loc) = {
            let t = self.tables_read();
            let Some(loc) = t.keydir.get(key).copied() else {
                return Ok(None);
            };
            let Some(file) = t.files.get(&loc.file).cloned() else {
                return Err(Error::corrupt(
                    self.dir.join(&(self.flavor.data_name)(loc.file)),
                    loc.offset,
                    "keydir points into a file the engine does not have",
                ));
            };
            (file, loc)
        };
        let mut buf = vec![0u8; loc.len as usize];
        file.read_at(&mut buf, loc.offset)?;
        match record::decode(&buf) {
            Ok((r, _)) if r.key == key => Ok(r.value.map(<[u8]>::to_vec)),
            Ok(_) => Err(Error::corrupt(
                file.path(),
                loc.offset,
                "record holds a different key",
            )),
            Err(e) => Err(Error::corrupt(file.path(), loc.offset, e.reason())),
        }
    }

    /// Merges every immutable file (see the module doc).
    fn merge(&self) -> Result<()> {
        let _one_at_a_time = lock(&self.merging);
        // Decide liveness against a snapshot taken when everything written
        // so far is durable: a record superseded only by a write that is
        // not yet synced must not be dropped, or losing that write on power
        // loss would take the older, acknowledged value with it.
        let (inputs, snapshot): (Vec<(u32, FileHandle)>, Keydir) = {
            let w = lock(&self.writer);
            if self.syncer.policy().syncs_data() {
                let active = w.file.clone();
                self.syncer.sync_now(&|| active.clone())?;
            }
            let t = self.tables_read();
            let inputs = t
                .files
                .iter()
                .filter(|(id, _)| **id != w.id)
                .map(|(id, f)| (*id, f.clone()))
                .collect();
            (inputs, t.keydir.clone())
        };
        if inputs.is_empty() {
            return Ok(());
        }
        let mut out = MergeOutput::new(self);
        let mut moves: Vec<(Vec<u8>, Loc, Loc)> = Vec::new();
        for (id, file) in &inputs {
            let image = file.read_all()?;
            let mut live: Vec<(u64, Record<'_>)> = Vec::new();
            {
                record::scan_log(&image, file.path(), |off, r| {
                    let here = snapshot
                        .get(r.key)
                        .is_some_and(|l| l.file == *id && l.offset == off);
                    if here {
                        live.push((off, r));
                    }
                    Ok(())
                })?;
            }
            for (off, r) in live {
                let len = r.encoded_len();
                let raw = &image[off as usize..off as usize + len];
                let to = out.add(&r, raw)?;
                moves.push((
                    r.key.to_vec(),
                    Loc {
                        file: *id,
                        offset: off,
                        len: len as u32,
                        seq: r.seq,
                    },
                    to,
                ));
            }
        }
        let outputs = out.finish()?;

        // The merge is complete once its marker is durable.
        let marker_id = self.next_file.fetch_add(1, Relaxed);
        let mut ids = Vec::with_capacity(inputs.len() * 4);
        for (id, _) in &inputs {
            ids.extend_from_slice(&id.to_le_bytes());
        }
        let marker = record::encode(&Record {
            seq: 0,
            key: b"merged",
            value: Some(&ids),
            batch_continues: false,
        });
        self.dir.write_whole(&marker_name(marker_id), &marker)?;
        self.counters
            .marker_bytes
            .fetch_add(marker.len() as u64, Relaxed);

        {
            let mut t = self.tables_write();
            for (id, f) in outputs {
                t.files.insert(id, f);
            }
            for (key, from, to) in &moves {
                t.keydir.relocate(key, *from, *to);
            }
            for (id, _) in &inputs {
                t.files.remove(id);
            }
        }
        let mut old: Vec<String> = Vec::new();
        for (id, _) in &inputs {
            old.push((self.flavor.data_name)(*id));
            if self.dir.exists(&hint_name(*id))? {
                old.push(hint_name(*id));
            }
        }
        self.dir.remove_all(&old)?;
        self.dir.remove_all(&[marker_name(marker_id)])?;
        self.counters.merges.fetch_add(1, Relaxed);
        Ok(())
    }

    fn stats(&self) -> EngineStats {
        let t = self.tables_read();
        let active = lock(&self.writer).id;
        let mut disk_bytes = 0;
        for (id, f) in &t.files {
            disk_bytes += f.len().unwrap_or(0);
            if self.flavor.hints && *id != active {
                disk_bytes += self
                    .dir
                    .open_file(&hint_name(*id))
                    .and_then(|h| h.len())
                    .unwrap_or(0);
            }
        }
        let s = self.syncer.stats();
        let c = &self.counters;
        let mut stats = EngineStats {
            live_keys: Some(t.keydir.len() as u64),
            files: t.files.len() as u64,
            disk_bytes,
            user_bytes: c.user_bytes.load(Relaxed),
            log_writes: s.writes,
            log_syncs: s.syncs,
            recovered_torn_bytes: self.torn_bytes,
            ..EngineStats::default()
        };
        let k = &mut stats.bytes_written_by_kind;
        k.insert("data".into(), c.data_bytes.load(Relaxed));
        k.insert("merge".into(), c.merge_bytes.load(Relaxed));
        if self.flavor.hints {
            k.insert("hint".into(), c.hint_bytes.load(Relaxed));
        }
        k.insert("marker".into(), c.marker_bytes.load(Relaxed));
        stats
            .maintenance_runs
            .insert(self.flavor.merge_word.into(), c.merges.load(Relaxed));
        stats.notes.insert(
            self.flavor.merge_word.into(),
            if self.background {
                "background thread"
            } else {
                "inline in the writing thread"
            }
            .into(),
        );
        stats
    }
}

/// The data (and hint) files a merge writes, each at most `segment_bytes`.
struct MergeOutput<'a> {
    inner: &'a Inner,
    current: Option<(u32, crate::fs::ReplaceFile, u64, Vec<u8>)>,
    buf: Vec<u8>,
    done: Vec<u32>,
}

impl<'a> MergeOutput<'a> {
    fn new(inner: &'a Inner) -> Self {
        MergeOutput {
            inner,
            current: None,
            buf: Vec::with_capacity(1 << 20),
            done: Vec::new(),
        }
    }

    /// Copies one record (its raw bytes) and returns its new location.
    fn add(&mut self, r: &Record<'_>, raw: &[u8]) -> Result<Loc> {
        let full = self
            .current
            .as_ref()
            .is_some_and(|c| c.2 > 0 && c.2 + raw.len() as u64 > self.inner.segment_bytes);
        if full {
            self.close_current()?;
        }
        if self.current.is_none() {
            let id = self.inner.next_file.fetch_add(1, Relaxed);
            let f = self.inner.dir.replace(&(self.inner.flavor.data_name)(id))?;
            self.current = Some((id, f, 0, Vec::new()));
        }
        let Some((id, _, len, hints)) = self.current.as_mut() else {
            return Err(Error::InvalidConfig("merge output missing".into()));
        };
        let offset = *len;
        *len += raw.len() as u64;
        if self.inner.flavor.hints {
            hint::encode(
                hints,
                &Hint {
                    key: r.key,
                    seq: r.seq,
                    offset,
                    len: raw.len() as u32,
                    tombstone: r.value.is_none(),
                },
            );
        }
        let id = *id;
        self.buf.extend_from_slice(raw);
        if self.buf.len() >= 1 << 20 {
            self.flush()?;
        }
        Ok(Loc {
            file: id,
            offset,
            len: raw.len() as u32,
            seq: r.seq,
        })
    }

    fn flush(&mut self) -> Result<()> {
        if let Some((_, f, _, _)) = &self.current {
            if !self.buf.is_empty() {
                f.file().append(&self.buf)?;
                self.inner
                    .counters
                    .merge_bytes
                    .fetch_add(self.buf.len() as u64, Relaxed);
                self.buf.clear();
            }
        }
        Ok(())
    }

    fn close_current(&mut self) -> Result<()> {
        self.flush()?;
        if let Some((id, f, _, hints)) = self.current.take() {
            f.commit()?;
            if self.inner.flavor.hints {
                self.inner.dir.write_whole(&hint_name(id), &hints)?;
                self.inner
                    .counters
                    .hint_bytes
                    .fetch_add(hints.len() as u64, Relaxed);
            }
            self.done.push(id);
        }
        Ok(())
    }

    /// Commits the last output and opens every output for reading.
    fn finish(mut self) -> Result<Vec<(u32, FileHandle)>> {
        self.close_current()?;
        self.done
            .iter()
            .map(|&id| {
                Ok((
                    id,
                    self.inner
                        .dir
                        .open_file(&(self.inner.flavor.data_name)(id))?,
                ))
            })
            .collect()
    }
}
