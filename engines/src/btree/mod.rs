//! `btree`: a B+tree of fixed-size checksummed pages with a page cache and a
//! redo WAL (ported from the Python prototype `b-tree-storage-engine/btree.py`, without its one
//! fsync per page per put).
//!
//! - [`page`]: byte layout of tree pages and the meta page.
//! - [`node`]: search, insert with splits, delete with merges, range scans
//!   over leaf sibling links (the rebalancing done is spelled out there).
//! - [`cache`]: the cached pages, indexed by page id.
//! - [`pager`]: the page cache with dirty tracking, the free list, and
//!   checkpoints through the doublewrite file.
//! - [`wal`]: the redo log, one file per checkpoint generation.
//! - [`checkpoint`]: writes a begun checkpoint's pages on a background
//!   thread while writers go on.
//!
//! ## Page cache size
//!
//! The cache holds `cache_pages` decoded pages, and pages dirtied since the
//! last checkpoint may never leave it (no-steal), so under random writes
//! to a tree larger than the cache it is the cache, not `checkpoint_bytes`,
//! that sets how often the engine checkpoints: at 15/16 of the cache dirty.
//! Every checkpoint writes each dirty page twice (doublewrite copy and in
//! place; new pages once), so write amplification falls roughly with the
//! cache size until the tree fits (`tests/amplification.rs` measures it;
//! figures in docs/measurements.md).
//! Size the cache to the working set where memory allows; 128 MiB (32,768
//! pages, InnoDB's default buffer pool) is the default, and `bench-runner`
//! gives it a quarter of the memory available (the guide's "Caches").
//!
//! Clean leaves read from the file stay in the cache as their page image
//! ([`page::PackedLeaf`]): a get or a scan finds its entries in place, and a
//! leaf is decoded into a [`page::Node`] only when it changes. Every
//! cached page keeps the 8-byte prefixes of its keys in one array
//! ([`crate::search`]), so a search compares numbers lying next to each
//! other and dereferences one key.
//!
//! ## Format
//!
//! ```text
//! data.pages   page 0: meta page (root, page count, free list head and
//!              length, checkpoint generation, live keys, next sequence
//!              number); pages 1..: leaf, internal and free pages of
//!              page_bytes each, CRC32 and page type in every page header
//! data.dwb     doublewrite copy of the pages of the running checkpoint
//!              (empty between checkpoints)
//! NNNNNN.wal   redo records (shared record framing) of one generation
//! ```
//!
//! Entries (`6 + key + value` bytes) larger than a third of a page's body
//! (1,358 bytes with 4 KiB pages) are refused at `put` with
//! [`Error::TooLarge`]; there are no overflow pages.
//!
//! ## Durability
//!
//! A put or delete appends one redo record to the active WAL generation
//! with one `write(2)`, applies it to the cached pages (which stay in
//! memory, dirty), and then goes through the shared [`Syncer`]: `none` never
//! syncs; `always` costs exactly one WAL `fdatasync` (`fsync` with `@fsync`)
//! per put, never a page write or sync; `batch:N` one WAL sync per N writes;
//! `group` one per commit group. An acknowledged write is therefore exactly
//! as durable as its WAL record. Under `batch:N` (with background threads)
//! applying it to the pages may still be pending when it is acknowledged:
//! an applier thread applies it while the N-th writer waits for its sync
//! (the WAL has a lock of its own, taken after the tree's, so a lone writer
//! appends the next batch while the applier holds the tree's lock),
//! and every read, checkpoint and close applies what is pending first
//! ([`crate::deferred`]), so a checkpoint's pages hold every write of the
//! WAL it seals.
//!
//! A **checkpoint** is due before the write that finds the WAL at or past
//! `checkpoint_bytes` or the dirty pages at 15/16 of `cache_pages`, on
//! [`Engine::maintain`], and on [`Engine::close`] under every policy (under
//! `none` its writes are not synced, so a clean close leaves the WAL empty
//! and reopening replays nothing). It has two halves ([`checkpoint`]):
//!
//! - **begin**, in the writing thread, under the tree's and the WAL's locks and without
//!   page I/O: seal the active WAL (synced per policy if it has unsynced
//!   writes) and start the next generation (under every policy but `none`
//!   in a pooled, covered file, renamed, the rename made durable first:
//!   directory fsync under `+dir`, else an `fsync` of the file; see
//!   [`crate::recycle`]); take the dirty pages and the meta page
//!   (checkpoint generation = the sealed WAL's) as they are: they are now
//!   *in flight*;
//! - **write**, by the `btree checkpoint` thread while writers go on (a
//!   write that finds the previous checkpoint still being written waits
//!   for it, a write stall), or by whatever needs it finished (the next
//!   checkpoint without background threads, a sync under `none`,
//!   `maintain`, close):
//!
//! 1. write the pages in flight numbered past the last checkpoint's page
//!    count (nothing on disk refers to them) in place in `data.pages`, sync
//!    it (unless `none`);
//! 2. write the other pages in flight and the new meta page to `data.dwb`,
//!    sync it (unless `none`);
//! 3. write those in place in `data.pages`, sync it (unless `none`);
//! 4. truncate `data.dwb`; retire the WAL generations the checkpoint covers
//!    (kept in the pool for a later generation to overwrite, or removed,
//!    directory fsync under `+dir`).
//!
//! Pages in flight stay cached until step 4, clean or not: the data file
//! does not hold them yet, so a read must not fetch them from it. A page in
//! flight that a write changes first keeps its image as it was when the
//! checkpoint began ([`pager::Pager::flight_entries`]), so both passes write
//! one consistent tree, the one the sealed WAL ends with. Pages in flight
//! count toward the dirty-page limit (a tree larger than its cache waits
//! for the checkpoint in flight before it dirties more), so the cache
//! exceeds `cache_pages` at most by the pages one write dirties and the
//! images kept for pages in flight that changed.
//!
//! A crash before step 2's sync leaves the data file at the previous
//! checkpoint (plus unreferenced pages past its end), and recovery replays
//! the WAL generations (all still present: the sealed one and those begun
//! since) over it. A crash during step 3 may leave torn or mixed pages;
//! recovery writes back every page of the complete doublewrite copy that
//! differs, which finishes the checkpoint, and then the sealed WAL is
//! covered and only the generations begun since are replayed. The WAL is removed (or
//! recycled) only after the data file holding its changes is synced. A
//! page that fails its
//! checksum outside this window (damage the doublewrite copy does not cover)
//! is reported as [`Error::Corrupt`] with `data.pages` and the page's
//! offset when it is read. Any failed checkpoint poisons the engine (writes
//! fail with [`Error::Poisoned`]; recovery on reopen repairs).
//!
//! Under `none` a checkpoint syncs nothing, so [`Engine::sync`] finishes
//! the checkpoint in flight and syncs the data file as well as the WAL
//! when a checkpoint ran since the last sync.
//! Because a power loss under `none` can leave any mix of pages (the
//! doublewrite copy was not synced either), recovery under `none` validates
//! the whole tree (checksums, key order and bounds, leaf depth, sibling
//! chain, free list, page and key counts) and, if it fails, starts the data
//! file over and replays every WAL generation that survived (noted in
//! `stats().notes["recovery"]`): `none` promises nothing, but recovery
//! never fails and never returns a value that was not written.

mod cache;
mod checkpoint;
pub mod frame;
pub mod node;
pub mod page;
pub mod pager;
pub mod wal;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use crate::combine::{self, Combiner, Log, WriteOp};
use crate::deferred::{self, Deferred, Op};
use crate::engine::{Capabilities, Engine, EngineConfig, EngineStats};
use crate::fs::{EngineDir, FileHandle};
use crate::recycle::LogPool;
use crate::syncer::{Syncer, Ticket};
use crate::worker::{self, Signal, Worker};
use crate::{Error, Result};

use checkpoint::{Checkpointer, InFlight};
use node::Tree;
use pager::Pager;
use wal::RedoLog;

/// Capabilities: everything but replay.
pub const CAPABILITIES: Capabilities = Capabilities {
    point_reads: true,
    range_scans: true,
    deletes: true,
    replay: false,
};

const REBALANCING: &str = "merge a leaf under 1/4 page with a sibling under the same parent when \
     both fit; free empty leaves and childless internal pages; collapse a single-child root";

#[derive(Debug)]
struct State {
    tree: Tree,
    /// The cache's dirty pages plus the pages in flight, as of the tree's
    /// last change: what a lone writer reads, without this lock, to know
    /// whether a checkpoint may be due ([`Btree::append`]).
    pages: Arc<AtomicUsize>,
    /// A checkpoint ran under `none` and its pages are not synced.
    pages_unsynced: bool,
    /// What [`Engine::warm`] loaded, for the stats.
    warmed: Option<String>,
    /// Why a deferred update failed to apply: the tree no longer follows
    /// the log, so reads and writes fail from then on.
    apply_failed: Option<String>,
    /// The checkpoint begun and not finished yet ([`checkpoint`]).
    flight: Option<InFlight>,
}

/// The redo log and what an append needs, under a lock of its own, so
/// that a lone writer under `batch:N` appends while the applier holds the
/// tree's lock ([`crate::deferred`]). Lock order: [`State`] first, then
/// this.
#[derive(Debug)]
struct LogState {
    wal: RedoLog,
    buf: Vec<u8>,
    /// The next record's sequence number; the meta page takes it when a
    /// checkpoint begins.
    next_seq: u64,
}

impl State {
    /// Applies the pending updates in log order; the first that fails
    /// leaves its cause in `apply_failed` and the rest unapplied, and
    /// poisons `syncer`, so that a writer that does not take this lock
    /// fails too.
    fn apply_pending(&mut self, deferred: &Deferred<Op>, syncer: &Syncer) {
        if deferred.pending() == 0 {
            return;
        }
        deferred.apply_with(|ops| {
            if self.apply_failed.is_some() {
                return;
            }
            for (key, value) in ops.ops() {
                let applied = match value {
                    Some(value) => self.tree.put(key, value).map(|_| ()),
                    None => self.tree.delete(key).map(|_| ()),
                };
                if let Err(e) = applied {
                    let cause = format!("applying a logged write to the tree: {e}");
                    syncer.poison(&Error::Poisoned {
                        cause: cause.clone(),
                    });
                    self.apply_failed = Some(cause);
                    return;
                }
            }
        });
        self.publish_pages();
    }

    /// Publishes the pages a checkpoint-due check counts (`pages`).
    fn publish_pages(&self) {
        let pager = &self.tree.pager;
        self.pages
            .store(pager.dirty_pages() + pager.in_flight_pages(), Relaxed);
    }

    fn check_applied(&self) -> Result<()> {
        match &self.apply_failed {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => Ok(()),
        }
    }
}

/// The B-tree engine.
#[derive(Debug)]
pub struct Btree {
    /// The tree; shared with the applier and checkpoint threads.
    state: Arc<Mutex<State>>,
    /// The redo log; shared with the checkpoint thread.
    log: Arc<Mutex<LogState>>,
    /// The cache's dirty-page limit ([`pager::Pager::dirty_limit`]).
    dirty_limit: usize,
    /// [`State::pages`], readable without the tree's lock.
    pages: Arc<AtomicUsize>,
    /// Tree updates logged and acknowledged but not applied yet, when the
    /// policy defers them (see [`crate::deferred`]).
    deferred: Option<Arc<Deferred<Op>>>,
    /// Applies `deferred` while writers wait for their syncs.
    applier: Worker,
    /// Writes begun checkpoints ([`checkpoint`]).
    checkpointer: Checkpointer,
    /// The thread that runs `checkpointer`, with background threads.
    checkpoint_thread: Worker,
    syncer: Arc<Syncer>,
    /// Under `group`, batches concurrent writes (see [`crate::combine`]).
    combiner: Combiner,
    /// The directory (for the files an explicit sync owes under `none`).
    dir: EngineDir,
    page_bytes: usize,
    max_entry: usize,
    checkpoint_bytes: u64,
    closed: AtomicBool,
    user_bytes: AtomicU64,
    replayed: u64,
    /// Why recovery started the data file over (under `none` only).
    reset: Option<String>,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Btree {
    /// Makes the WAL's recycler misbehave (tests that must catch it).
    #[cfg(test)]
    pub(crate) fn set_pool_fault(&self, fault: crate::recycle::PoolFault) {
        lock(&self.log).wal.set_pool_fault(fault);
    }

    /// Opens (recovering) or creates a B-tree in `config.dir`: repairs the
    /// data file from a complete doublewrite copy, then replays the WAL
    /// generations newer than its checkpoint.
    pub fn open(config: EngineConfig) -> Result<Self> {
        config.validate()?;
        let policy = config.policy;
        let dir = EngineDir::open(config.vfs.clone(), &config.dir, policy)?
            .with_events(config.events.clone());
        dir.remove_temporaries()?;
        let page_bytes = config.page_bytes;
        let max_entry = Tree::max_entry(page_bytes);
        let wal_exists = wal::any_on_disk(&dir)?;
        let opened = Pager::open(&dir, page_bytes, config.cache_pages, false, wal_exists).and_then(
            |pager| {
                let mut tree = Tree::new(pager);
                if !policy.syncs_data() {
                    tree.validate()?;
                }
                Ok(tree)
            },
        );
        // Under `none` nothing was ever synced, so after a power loss the
        // data file may hold any mix of pages (even the doublewrite copy
        // may be gone): one that fails validation is started again and
        // every surviving WAL generation replayed onto it. Under every
        // other policy damage is an error.
        let (mut tree, reset) = match opened {
            Ok(tree) => (tree, None),
            Err(e @ Error::Corrupt { .. }) if !policy.syncs_data() => {
                let pager = Pager::open(&dir, page_bytes, config.cache_pages, true, wal_exists)?;
                (Tree::new(pager), Some(e.to_string()))
            }
            Err(e) => return Err(e),
        };
        let mut replayed = 0;
        let step = crate::logfile::reserve_step(policy, config.checkpoint_bytes);
        let pool = LogPool::with_capacity(&dir, config.recycled_logs);
        let wal = RedoLog::recover(&dir, pool, tree.pager.meta.checkpoint_gen, step, |rec| {
            let meta = &mut tree.pager.meta;
            meta.next_seq = meta.next_seq.max(rec.seq + 1);
            replayed += 1;
            match rec.value {
                Some(v) if page::leaf_entry_size(rec.key, v) <= max_entry => {
                    tree.put(rec.key, v).map(|_| ())
                }
                Some(v) => Err(Error::TooLarge {
                    what: "logged entry (written with a larger page size?)",
                    size: page::leaf_entry_size(rec.key, v) as u64,
                    limit: max_entry as u64,
                }),
                None => tree.delete(rec.key).map(|_| ()),
            }
        })?;
        let log = Arc::new(Mutex::new(LogState {
            wal,
            buf: Vec::with_capacity(256),
            next_seq: tree.pager.meta.next_seq,
        }));
        let dirty_limit = tree.pager.dirty_limit();
        let state = State {
            tree,
            pages: Arc::new(AtomicUsize::new(0)),
            pages_unsynced: false,
            warmed: None,
            apply_failed: None,
            flight: None,
        };
        state.publish_pages();
        let pages = state.pages.clone();
        let state = Arc::new(Mutex::new(state));
        let syncer = Arc::new(Syncer::for_dir(policy, &dir));
        let deferred = deferred::defers(policy).then(|| Arc::new(Deferred::default()));
        let signal = Arc::new(Signal::default());
        let handle = match deferred.as_ref().filter(|_| config.background_maintenance) {
            Some(d) => {
                let (state, d, syncer) = (state.clone(), d.clone(), syncer.clone());
                let job = move || {
                    // Readers may have applied everything already: do not
                    // take the lock from them for nothing.
                    if d.pending() > 0 {
                        lock(&state).apply_pending(&d, &syncer);
                    }
                    Ok(())
                };
                Some(
                    worker::spawn("btree apply".into(), signal.clone(), job)
                        .map_err(|e| Error::io("spawn applier thread", dir.path(), e))?,
                )
            }
            None => None,
        };
        let thread_signal = Arc::new(Signal::default());
        let mut checkpointer = Checkpointer {
            state: state.clone(),
            log: log.clone(),
            done: Arc::new(Condvar::new()),
            syncer: syncer.clone(),
            dir: dir.clone(),
            checkpoints: Arc::new(AtomicU64::new(0)),
            thread: None,
        };
        let checkpoint_handle = if config.background_maintenance {
            let ck = checkpointer.clone();
            checkpointer.thread = Some(thread_signal.clone());
            Some(
                worker::spawn(
                    "btree checkpoint".into(),
                    thread_signal.clone(),
                    move || ck.run(),
                )
                .map_err(|e| Error::io("spawn checkpoint thread", dir.path(), e))?,
            )
        } else {
            None
        };
        Ok(Btree {
            state,
            log,
            dirty_limit,
            pages,
            deferred,
            applier: Worker::new(signal, handle),
            checkpointer,
            checkpoint_thread: Worker::new(thread_signal, checkpoint_handle),
            syncer,
            combiner: Combiner::new(policy.mode),
            dir,
            page_bytes,
            max_entry,
            checkpoint_bytes: config.checkpoint_bytes,
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
            replayed,
            reset,
        })
    }

    fn check_open(&self) -> Result<()> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    fn wal_file(&self) -> FileHandle {
        lock(&self.log).wal.file().clone()
    }

    /// The state with every deferred update applied: what reads, checkpoints
    /// and close need. Fails once an update failed to apply.
    fn locked(&self) -> Result<MutexGuard<'_, State>> {
        let mut s = lock(&self.state);
        if let Some(d) = &self.deferred {
            s.apply_pending(d, &self.syncer);
        }
        s.check_applied()?;
        Ok(s)
    }
}

impl crate::syncer::Meanwhile for Btree {
    fn due(&self) -> bool {
        self.deferred.as_ref().is_some_and(|d| d.due_at_sync())
    }
    /// Wakes the applier: the wake (~12 µs of this thread's time on the
    /// reference VM) overlaps the log's writeback, started just before.
    fn run(&self) {
        self.applier.signal.request();
    }
}

impl Btree {
    fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        self.check_open()?;
        let size = page::leaf_entry_size(key, value.unwrap_or(&[]));
        if size > self.max_entry {
            return Err(Error::TooLarge {
                what: "entry (key + value + 6 bytes of page overhead)",
                size: size as u64,
                limit: self.max_entry as u64,
            });
        }
        // A checkpoint that failed or panicked poisoned the syncer.
        self.syncer.check()?;
        if self.deferred.is_some() {
            self.applier.signal.check()?;
        }
        let _writing = self.deferred.as_ref().map(|d| d.writing());
        // Under `group`, one writer appends and applies for many.
        self.combiner.write(self, key, value)
    }

    /// Logs `ops` with one append and applies them to the tree (or leaves
    /// them pending): their ticket, still to be committed.
    ///
    /// A lone writer under `batch:N` takes only the log's lock, unless a
    /// checkpoint may be due: the applier holds the tree's lock while it
    /// applies the last batch, and the writer appends the next one
    /// meanwhile (with one lock for both, a writer at `batch:32` spent a
    /// tenth of its time waiting for the applier).
    fn append<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        if let Some(d) = self.deferred.as_ref().filter(|d| d.alone()) {
            let mut log = lock(&self.log);
            if !self.checkpoint_may_be_due(&log, d) {
                let ticket = self.log_ops(&mut log, ops)?;
                let mut waiting = 0;
                for op in ops {
                    waiting = d.push_op(op.key(), op.value());
                }
                drop(log);
                if waiting > deferred::MAX_PENDING {
                    // The applier fell behind: bound what pending holds.
                    self.catch_up(&mut lock(&self.state))?;
                }
                return Ok(ticket);
            }
        }
        let mut s = lock(&self.state);
        self.checked(&s)?;
        while self.checkpoint_due(&s) {
            if s.flight.is_none() {
                if self.begin_checkpoint(&mut s)? {
                    self.checkpoint_thread.signal.request();
                }
                break;
            }
            // The previous checkpoint is written by now as a rule; if not,
            // this writer waits for it (a write stall), then looks again:
            // another writer may have begun the next one meanwhile.
            s = self.checkpointer.wait_for_flight(s)?;
        }
        let mut log = lock(&self.log);
        // After what earlier writes left pending (pushed under the log's
        // lock, so all of them are pending or applied by now), in log
        // order.
        self.catch_up(&mut s)?;
        let ticket = self.log_ops(&mut log, ops)?;
        if let Some(d) = self.deferred.as_ref().filter(|d| d.alone()) {
            for op in ops {
                d.push_op(op.key(), op.value());
            }
            return Ok(ticket);
        }
        drop(log);
        for op in ops {
            let applied = match op.value() {
                Some(v) => s.tree.put(op.key(), v).map(|_| ()),
                None => s.tree.delete(op.key()).map(|_| ()),
            };
            if let Err(e) = applied {
                // The pages no longer follow the log: refuse further writes.
                self.syncer.poison(&e);
                return Err(e);
            }
        }
        s.publish_pages();
        Ok(ticket)
    }

    /// Appends `ops` to the redo log: their ticket.
    fn log_ops<W: WriteOp>(&self, log: &mut LogState, ops: &[W]) -> Result<Ticket> {
        let mut buf = std::mem::take(&mut log.buf);
        let first = log.next_seq;
        log.next_seq += ops.len() as u64;
        combine::encode_ops(&mut buf, ops, first, log.wal.record_generation());
        let appended = log.wal.append(&buf, &self.syncer);
        log.buf = buf;
        appended?;
        let user: u64 = ops.iter().map(|op| op.user_bytes()).sum();
        self.user_bytes.fetch_add(user, Relaxed);
        Ok(self.syncer.appended_many(ops.len() as u64))
    }

    /// [`Btree::checkpoint_due`] without the tree's lock: from the pages
    /// published at the tree's last change, which only a checkpoint's end
    /// lowers, so this errs towards taking the lock and asking again.
    fn checkpoint_may_be_due(&self, log: &LogState, d: &Deferred<Op>) -> bool {
        let pages = self.pages.load(Relaxed) + d.pending();
        log.wal.len() >= self.checkpoint_bytes || pages >= self.dirty_limit
    }

    /// Whether a write must begin a checkpoint first: the WAL generation
    /// reached `checkpoint_bytes`, or the cache's dirty pages reached its
    /// limit. Pending updates count as a page each (nothing checks the
    /// limit when they are applied, and a checkpoint applies them first),
    /// and so do the pages of a checkpoint in flight (the cache cannot
    /// drop them before it finishes): the cache stays within the limit
    /// plus the pages one write's splits dirty (see `pager`), plus the
    /// images of pages in flight that changed.
    fn checkpoint_due(&self, s: &State) -> bool {
        let pager = &s.tree.pager;
        let pending = self.deferred.as_ref().map_or(0, |d| d.pending());
        lock(&self.log).wal.len() >= self.checkpoint_bytes
            || pager.dirty_pages() + pending + pager.in_flight_pages() >= pager.dirty_limit()
    }

    /// Fails (and poisons the syncer) once a deferred update failed to
    /// apply: the tree no longer follows the log.
    fn checked(&self, s: &State) -> Result<()> {
        s.check_applied().inspect_err(|e| self.syncer.poison(e))
    }

    /// Applies every deferred update, then [`Btree::checked`].
    fn catch_up(&self, s: &mut State) -> Result<()> {
        if let Some(d) = &self.deferred {
            s.apply_pending(d, &self.syncer);
        }
        self.checked(s)
    }

    /// Runs a checkpoint now and returns once it is written (see the
    /// module doc).
    pub fn checkpoint(&self) -> Result<()> {
        self.check_open()?;
        self.syncer.check()?;
        let s = self.locked()?;
        self.checkpoint_now(s).map(drop)
    }

    /// Finishes the checkpoint in flight, if any, then begins one of every
    /// write so far and writes it in this thread.
    fn checkpoint_now<'a>(&'a self, s: MutexGuard<'a, State>) -> Result<MutexGuard<'a, State>> {
        let mut s = self.checkpointer.settle(s)?;
        if self.begin_checkpoint(&mut s)? {
            drop(s);
            self.checkpointer.run()?;
            s = self.checkpointer.settle(lock(&self.state))?;
        }
        Ok(s)
    }

    /// Begins a checkpoint of every write logged so far: seals the active
    /// WAL generation, starts the next one, and takes the dirty pages as
    /// they are ([`pager::Pager::begin_checkpoint`]); its pages are written
    /// by [`Checkpointer::run`]. No checkpoint may be in flight. Returns
    /// whether there was anything to checkpoint.
    fn begin_checkpoint(&self, s: &mut State) -> Result<bool> {
        // The checkpoint's pages must hold every write of the WAL it seals:
        // under the log's lock nothing is appended between the two.
        let mut log = lock(&self.log);
        self.catch_up(s)?;
        if log.wal.is_empty() && s.tree.pager.dirty_pages() == 0 {
            return Ok(false);
        }
        debug_assert!(s.flight.is_none());
        let result = (|| {
            self.syncer.seal(log.wal.file())?;
            let gen = log.wal.gen();
            log.wal.begin_next()?;
            s.tree.pager.meta.next_seq = log.next_seq;
            Ok(s.tree.pager.begin_checkpoint(gen))
        })();
        match result {
            Ok(flight) => {
                s.flight = Some(InFlight::new(flight));
                Ok(true)
            }
            Err(e) => {
                self.syncer.poison(&e);
                Err(e)
            }
        }
    }

    /// Checks the tree's structure (tests and debugging): the first
    /// violation found is an [`Error::Corrupt`].
    pub fn validate(&self) -> Result<()> {
        self.locked()?.tree.validate()
    }
}

impl Log for Btree {
    fn append_ops<W: WriteOp>(&self, ops: &[W]) -> Result<Ticket> {
        self.append(ops)
    }
    fn commit_ticket(&self, ticket: Ticket) -> Result<()> {
        // The applier applies what this write and the ones before it left
        // pending while this thread waits for the sync.
        self.syncer
            .commit_meanwhile(ticket, &|| self.wal_file(), self)
    }
}

impl Engine for Btree {
    fn name(&self) -> &'static str {
        "btree"
    }

    fn capabilities(&self) -> Capabilities {
        CAPABILITIES
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.write(key, Some(value))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.check_open()?;
        self.locked()?.tree.get(key)
    }

    fn warm(&self) -> Result<bool> {
        self.check_open()?;
        let start = std::time::Instant::now();
        let mut s = self.locked()?;
        let pages = s.tree.warm()?;
        s.warmed = Some(format!(
            "{pages} pages in {} ms",
            start.elapsed().as_millis()
        ));
        Ok(true)
    }

    fn delete(&self, key: &[u8]) -> Result<()> {
        self.write(key, None)
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.check_open()?;
        self.locked()?.tree.scan(start, end, limit)
    }

    fn sync(&self) -> Result<()> {
        self.check_open()?;
        {
            // Under `none` a checkpoint in flight is finished first, so that
            // its pages are synced below. (The generation it covers was
            // sealed without a sync, and the syncer syncs it all the same.)
            // Under the other policies that generation was synced when it
            // was sealed, and nothing waits for the checkpoint.
            let mut s = self.locked()?;
            if !self.syncer.policy().syncs_data() {
                s = self.checkpointer.settle(s)?;
            }
            if s.pages_unsynced {
                let policy = self.syncer.policy();
                if let Err(e) = policy.sync_file(&**s.tree.pager.file()) {
                    self.syncer.poison(&e);
                    return Err(e);
                }
                s.pages_unsynced = false;
            }
        }
        self.syncer.sync_everything(&self.dir, &|| self.wal_file())
    }

    fn maintain(&self) -> Result<()> {
        self.checkpoint()
    }

    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Relaxed) {
            return Ok(());
        }
        // A panicked applier may have left the tree half changed: the WAL
        // is still synced, but no checkpoint writes that tree.
        let stopped = self.applier.stop();
        // The last checkpoints are written in this thread.
        let checkpointer_stopped = self.checkpoint_thread.stop();
        self.syncer.close(&|| self.wal_file())?;
        stopped?;
        checkpointer_stopped?;
        let _s = self.checkpoint_now(lock(&self.state))?;
        lock(&self.log).wal.release_space()
    }

    fn stats(&self) -> EngineStats {
        let mut s = lock(&self.state);
        if let Some(d) = &self.deferred {
            s.apply_pending(d, &self.syncer);
        }
        let log = lock(&self.log);
        let sync = self.syncer.stats();
        let pager = &s.tree.pager;
        let counts = pager.counts;
        let mut stats = EngineStats {
            live_keys: Some(pager.meta.live_keys),
            files: 2 + log.wal.files() as u64,
            disk_bytes: pager.file_len() + log.wal.len(),
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: sync.writes,
            log_syncs: sync.syncs,
            recovered_torn_bytes: log.wal.torn_bytes,
            ..EngineStats::default()
        };
        let kinds = &mut stats.bytes_written_by_kind;
        kinds.insert("wal".into(), log.wal.bytes_written);
        kinds.insert("pages".into(), counts.pages);
        kinds.insert("dwb".into(), counts.dwb);
        stats.maintenance_runs.insert(
            "checkpoints".into(),
            self.checkpointer.checkpoints.load(Relaxed),
        );
        let notes = &mut stats.notes;
        let how = if self.checkpointer.thread.is_some() {
            "begun by a writer, its pages written by a background thread"
        } else {
            "begun by a writer, its pages written at the next checkpoint, sync or close"
        };
        notes.insert("checkpoint".into(), how.into());
        if let Some(f) = &s.flight {
            notes.insert(
                "checkpoint_in_flight_pages".into(),
                f.flight.pages().to_string(),
            );
        }
        notes.insert("rebalancing".into(), REBALANCING.into());
        notes.insert("page_bytes".into(), self.page_bytes.to_string());
        notes.insert("pages".into(), pager.meta.page_count.to_string());
        notes.insert("free_pages".into(), pager.meta.free_count.to_string());
        notes.insert("cached_pages".into(), pager.cached_pages().to_string());
        notes.insert("cache_capacity_pages".into(), pager.capacity().to_string());
        notes.insert("dirty_pages".into(), pager.dirty_pages().to_string());
        if let Some(w) = &s.warmed {
            notes.insert("cache_warmed".into(), w.clone());
        }
        notes.insert("page_reads".into(), counts.reads.to_string());
        notes.insert("replayed_records".into(), self.replayed.to_string());
        notes.insert("recycled_wal_files".into(), log.wal.recycled().to_string());
        notes.insert("repaired_pages".into(), counts.repaired.to_string());
        if let Some(why) = &self.reset {
            notes.insert(
                "recovery".into(),
                format!("data file damaged under none, rebuilt from the surviving WAL: {why}"),
            );
        }
        stats
    }
}

#[cfg(test)]
mod tests;
