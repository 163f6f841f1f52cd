//! [`Syncer`]: the one place that decides when a write is synced.
//!
//! Every engine follows the same protocol for an acknowledged write:
//!
//! 1. `syncer.check()?` before appending (refuses writes once poisoned);
//! 2. append the record to its log with one [`crate::fs::VFile::append`], then
//!    `let ticket = syncer.appended()` while still holding the engine's write
//!    lock (tickets are in append order);
//! 3. release the write lock and call `syncer.commit(ticket, &target)`, where
//!    `target` returns the log file a sync must cover (the current active
//!    file). Only when `commit` returns `Ok` is the write acknowledged.
//!
//! Before an engine stops appending to a file (rotation), it calls
//! [`Syncer::seal`] with that file under its write lock, so writes in a file
//! that is no longer the sync target are never left uncovered.
//!
//! `commit` implements each mode: nothing for `none`; a sync per ticket for
//! `always`; a sync on every N-th ticket for `batch:N`; leader/follower group
//! commit for `group` (the first waiter becomes the leader, syncs everything
//! appended so far, and wakes every follower whose ticket that sync covered).
//!
//! ## Gathering a group
//!
//! When a group sync ends, the writers it released come back with their
//! next writes one by one; the first to commit would become the next
//! leader at once and sync its own write alone, while the rest append
//! behind that sync. Groups then alternate between small and large, and
//! at 16 writers a sync covered about 8 writes. So a new leader first
//! *gathers*: it waits until as many writes are pending as there were
//! writers in the commit path during the previous sync (the group that is
//! reassembling), or for the recent sync time, whichever comes first
//! (PostgreSQL's `commit_delay` with `commit_siblings`, made adaptive). A
//! lone writer never waits: its group size is 1, and its own write is
//! pending; nor do writers that mostly read, since only writers count.
//! Appending writes wake the gathering leader when the group is whole.
//! With the wait capped at half a sync, btree groups (whose writers pass
//! one tree lock in turn) were often cut short, so the cap is a whole
//! sync (docs/measurements.md).
//!
//! A failed sync poisons the syncer: every ticket it did not cover fails, and
//! every later `check` fails with [`Error::Poisoned`].

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use std::path::PathBuf;

use crate::fs::{EngineDir, FileHandle};
use crate::policy::{SyncMode, SyncPolicy};
use crate::{Error, Result};

/// Proof that a write was appended, in append order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[must_use = "a write is not acknowledged until its ticket is committed"]
pub struct Ticket(u64);

/// Work a writer can do while the sync it is about to wait for is under
/// way (its deferred index updates, [`crate::deferred`]).
pub trait Meanwhile {
    /// Whether there is work now; asked just before a sync this writer
    /// issues.
    fn due(&self) -> bool;
    /// Does the work: after the log's writeback was started, before the
    /// sync call that waits for it.
    fn run(&self);
}

/// No work (what [`Syncer::commit`] passes).
impl Meanwhile for () {
    fn due(&self) -> bool {
        false
    }
    fn run(&self) {}
}

/// Counts kept by a [`Syncer`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncerStats {
    /// Writes appended (tickets issued).
    pub writes: u64,
    /// Successful syncs issued for acknowledged writes (commit, seal, explicit).
    pub syncs: u64,
}

impl SyncerStats {
    /// Writes per sync (group-commit effectiveness); 0 when nothing synced.
    pub fn writes_per_sync(&self) -> f64 {
        if self.syncs == 0 {
            0.0
        } else {
            self.writes as f64 / self.syncs as f64
        }
    }
}

#[derive(Debug, Default)]
struct State {
    /// Ticket of the last appended write.
    appended: u64,
    /// Every ticket up to this one is covered by a successful sync.
    durable: u64,
    /// Writes since the last sync (batch mode).
    since_sync: u32,
    /// A group-commit leader is gathering or syncing.
    leader_active: bool,
    /// The leader is gathering: wake it when `appended - durable >= group_hint`.
    gathering: bool,
    /// Threads inside `group_commit` now.
    committers: u32,
    /// Most threads inside `group_commit` at once since the last sync began.
    peak_committers: u32,
    /// Writes a gathering leader waits for: the previous sync's peak committers.
    group_hint: u32,
    /// Moving average of group sync time.
    sync_time: Duration,
    /// The error of the first failed sync.
    poisoned: Option<String>,
    syncs: u64,
    /// Under `none`: files sealed with unsynced writes in them, which an
    /// explicit [`Syncer::sync_everything`] still owes a sync.
    sealed_unsynced: Vec<PathBuf>,
}

/// Decides and performs the syncs of one log under one [`SyncPolicy`].
#[derive(Debug)]
pub struct Syncer {
    policy: SyncPolicy,
    /// The engine's directory, whose failed syncs poison this syncer too.
    dir: Option<EngineDir>,
    state: Mutex<State>,
    wake: Condvar,
    /// Wakes a gathering group leader (see the module doc).
    gather: Condvar,
}

impl Syncer {
    /// A syncer for `policy`.
    pub fn new(policy: SyncPolicy) -> Self {
        Syncer {
            policy,
            dir: None,
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            gather: Condvar::new(),
        }
    }

    /// A syncer for `policy` that is also poisoned by a failed sync of
    /// `dir` ([`EngineDir::check`]): after a failed directory fsync no
    /// write is acknowledged, as after a failed file sync.
    pub fn for_dir(policy: SyncPolicy, dir: &EngineDir) -> Self {
        Syncer {
            dir: Some(dir.clone()),
            ..Syncer::new(policy)
        }
    }

    /// The policy this syncer applies.
    pub fn policy(&self) -> SyncPolicy {
        self.policy
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Fails with [`Error::Poisoned`] once a sync has failed.
    pub fn check(&self) -> Result<()> {
        match &self.lock().poisoned {
            Some(cause) => Err(Error::Poisoned {
                cause: cause.clone(),
            }),
            None => self.dir.as_ref().map_or(Ok(()), EngineDir::check),
        }
    }

    /// Marks the syncer poisoned (also used by engines when a write fails
    /// halfway, so nothing after it is acknowledged).
    pub fn poison(&self, cause: &Error) {
        let mut st = self.lock();
        if st.poisoned.is_none() {
            st.poisoned = Some(cause.to_string());
        }
        drop(st);
        self.wake.notify_all();
        self.gather.notify_all();
    }

    /// Records one appended write; call under the engine's write lock right
    /// after the append succeeded.
    pub fn appended(&self) -> Ticket {
        self.appended_many(1)
    }

    /// Records `n` writes appended together (one write of several records,
    /// [`crate::combine`]); their ticket is the last one's.
    pub fn appended_many(&self, n: u64) -> Ticket {
        let mut st = self.lock();
        st.appended += n;
        if st.gathering && st.appended - st.durable >= u64::from(st.group_hint) {
            st.gathering = false;
            self.gather.notify_one();
        }
        Ticket(st.appended)
    }

    /// Makes the write of `ticket` as durable as the policy promises before
    /// it is acknowledged. `target` returns the file that holds the most
    /// recent appends (it is called only when a sync is due).
    pub fn commit(&self, ticket: Ticket, target: &dyn Fn() -> FileHandle) -> Result<()> {
        self.commit_meanwhile(ticket, target, &())
    }

    /// [`Syncer::commit`], calling `meanwhile` just before a sync it
    /// issues on this thread starts: work another thread can do while this
    /// one waits for the disk (an engine wakes its applier there, see
    /// [`crate::deferred`]). Not called when no sync is due.
    pub fn commit_meanwhile(
        &self,
        ticket: Ticket,
        target: &dyn Fn() -> FileHandle,
        meanwhile: &dyn Meanwhile,
    ) -> Result<()> {
        match self.policy.mode {
            SyncMode::None => Ok(()),
            SyncMode::Always => {
                self.check()?;
                self.run_sync_meanwhile(ticket.0, target, meanwhile)
            }
            SyncMode::Batch(n) => {
                let mut st = self.lock();
                st.since_sync += 1;
                if st.since_sync < n {
                    return Ok(());
                }
                st.since_sync = 0;
                let upto = st.appended;
                drop(st);
                self.run_sync_meanwhile(upto, target, meanwhile)
            }
            SyncMode::Group => self.group_commit(ticket, target),
        }
    }

    fn group_commit(&self, ticket: Ticket, target: &dyn Fn() -> FileHandle) -> Result<()> {
        let mut st = self.lock();
        st.committers += 1;
        st.peak_committers = st.peak_committers.max(st.committers);
        // Set once this thread led a sync: it wakes the followers after
        // releasing the lock, so they do not wake into a held mutex.
        let mut led = false;
        let result = loop {
            if st.durable >= ticket.0 {
                break Ok(());
            }
            if let Some(cause) = &st.poisoned {
                break Err(Error::Poisoned {
                    cause: cause.clone(),
                });
            }
            if st.leader_active {
                st = self.wake.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            st.leader_active = true;
            st = self.gather_group(st);
            let upto = st.appended;
            st.peak_committers = st.committers;
            drop(st);
            let file = target();
            let started = Instant::now();
            let synced = self.policy.sync_file(&*file);
            let took = started.elapsed();
            st = self.lock();
            st.leader_active = false;
            led = true;
            match synced {
                Ok(()) => {
                    st.durable = st.durable.max(upto);
                    st.syncs += 1;
                    st.sync_time = (st.sync_time * 7 + took) / 8;
                    st.group_hint = st.peak_committers;
                }
                Err(e) => {
                    if st.poisoned.is_none() {
                        st.poisoned = Some(e.to_string());
                    }
                    break Err(e);
                }
            }
        };
        st.committers -= 1;
        drop(st);
        if led {
            self.wake.notify_all();
        }
        result
    }

    /// A new leader waits until the group that the previous sync released
    /// has appended again, or for the recent sync time (module doc).
    fn gather_group<'a>(&self, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
        let want = u64::from(st.group_hint.max(1));
        if st.appended - st.durable >= want {
            return st;
        }
        let deadline = Instant::now() + st.sync_time;
        st.gathering = true;
        while st.gathering && st.poisoned.is_none() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            st = self
                .gather
                .wait_timeout(st, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        st.gathering = false;
        st
    }

    /// Syncs `target()` now and marks everything appended before the call as
    /// durable; a failure poisons.
    fn run_sync(&self, upto: u64, target: &dyn Fn() -> FileHandle) -> Result<()> {
        self.run_sync_meanwhile(upto, target, &())
    }

    /// [`Syncer::run_sync`], calling `meanwhile` after `target` (which may
    /// take a lock the work woken by `meanwhile` holds) and before the sync.
    fn run_sync_meanwhile(
        &self,
        upto: u64,
        target: &dyn Fn() -> FileHandle,
        meanwhile: &dyn Meanwhile,
    ) -> Result<()> {
        let file = target();
        if meanwhile.due() {
            // The device writes the log while the work runs. A failure to
            // start it is left to the sync below, which writes what is
            // still dirty and reports any writeback error itself (the
            // hint neither waits for nor consumes one).
            let _ = file.start_writeback();
            meanwhile.run();
        }
        match self.policy.sync_file(&*file) {
            Ok(()) => {
                let mut st = self.lock();
                st.durable = st.durable.max(upto);
                st.syncs += 1;
                Ok(())
            }
            Err(e) => {
                self.poison(&e);
                Err(e)
            }
        }
    }

    /// Call under the engine's write lock before it stops appending to
    /// `file` (rotation): unless the mode is `none`, syncs it so that no
    /// acknowledged write is left in a file the syncer will no longer target.
    pub fn seal(&self, file: &FileHandle) -> Result<()> {
        if self.policy.mode == SyncMode::None {
            // No sync now, but remember the file (by path: a handle would
            // keep a merged-away file's space and descriptor) so that an
            // explicit `Engine::sync` can still cover its writes.
            let mut st = self.lock();
            if st.durable < st.appended && !st.sealed_unsynced.iter().any(|p| p == file.path()) {
                st.sealed_unsynced.push(file.path().to_path_buf());
            }
            return Ok(());
        }
        self.check()?;
        let upto = {
            let mut st = self.lock();
            if st.durable >= st.appended {
                return Ok(());
            }
            st.since_sync = 0;
            st.appended
        };
        self.run_sync(upto, &|| file.clone())
    }

    /// Syncs everything appended so far, whatever the mode (an explicit
    /// `Engine::sync`). Skips the sync when nothing is pending.
    pub fn sync_now(&self, target: &dyn Fn() -> FileHandle) -> Result<()> {
        self.check()?;
        let upto = {
            let mut st = self.lock();
            if st.durable >= st.appended {
                return Ok(());
            }
            st.since_sync = 0;
            st.appended
        };
        self.run_sync(upto, target)
    }

    /// An explicit `Engine::sync`, whatever the mode: syncs everything
    /// appended to `target` ([`Syncer::sync_now`]), then the files this
    /// syncer sealed without syncing (under `none`), the files `dir` wrote
    /// without syncing (see [`EngineDir::owe`]), and the directory when
    /// the files found at open still owe it their names. Under `none`
    /// nothing else ever syncs those files, so without this an explicit
    /// sync would cover only the active log. The active log goes first: a
    /// rotation that seals it while this runs puts it on the sealed list,
    /// which is read after (read first, a log sealed in between was on
    /// neither, and its writes, acknowledged before this sync began, were
    /// left unsynced). A failure poisons the syncer.
    pub fn sync_everything(&self, dir: &EngineDir, target: &dyn Fn() -> FileHandle) -> Result<()> {
        self.check()?;
        dir.note_explicit_sync();
        self.sync_now(target)?;
        let mut owed = std::mem::take(&mut self.lock().sealed_unsynced);
        owed.extend(dir.take_owed());
        if !owed.is_empty() {
            let r = dir.sync_paths(&owed);
            if let Err(e) = r {
                self.poison(&e);
                return Err(e);
            }
            self.lock().syncs += 1;
        }
        if dir.take_recovered_names() {
            // Files found at open may carry names never synced (under +dir).
            if let Err(e) = dir.sync() {
                self.poison(&e);
                return Err(e);
            }
        }
        Ok(())
    }

    /// On close: syncs what is pending unless the mode is `none`.
    pub fn close(&self, target: &dyn Fn() -> FileHandle) -> Result<()> {
        if self.policy.mode == SyncMode::None {
            return Ok(());
        }
        self.sync_now(target)
    }

    /// Writes and syncs so far.
    pub fn stats(&self) -> SyncerStats {
        let st = self.lock();
        SyncerStats {
            writes: st.appended,
            syncs: st.syncs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{FileLayer, Profile, SimFs, VFile, Vfs};
    use std::path::Path;
    use std::sync::Arc;

    /// A file whose data syncs wait at a gate the test opens: a sync is
    /// held while the test brings the other writers into the commit path.
    #[derive(Debug)]
    struct GatedSync {
        file: FileHandle,
        open: Mutex<bool>,
        opened: Condvar,
    }

    impl GatedSync {
        fn new(file: FileHandle) -> Self {
            GatedSync {
                file,
                open: Mutex::new(false),
                opened: Condvar::new(),
            }
        }

        fn set_open(&self, open: bool) {
            *self.open.lock().unwrap() = open;
            self.opened.notify_all();
        }
    }

    impl FileLayer for GatedSync {
        fn inner(&self) -> &dyn VFile {
            &*self.file
        }
        fn sync_data(&self) -> Result<()> {
            let mut open = self.open.lock().unwrap();
            while !*open {
                open = self.opened.wait(open).unwrap();
            }
            drop(open);
            self.file.sync_data()
        }
    }

    fn sim_log() -> FileHandle {
        let fs = SimFs::new(Profile::Posix);
        fs.create_dir_all(Path::new("/d")).unwrap();
        fs.create(Path::new("/d/log")).unwrap()
    }

    /// Waits (yielding) until `done` holds of the syncer's state.
    fn wait_for(syncer: &Syncer, done: impl Fn(&State) -> bool) {
        while !done(&syncer.lock()) {
            std::thread::yield_now();
        }
    }

    /// Group commit shares syncs, on any schedule: each round's first sync
    /// is held until all 8 writers have appended, so the round
    /// takes at most two syncs (the held one, then one for everything
    /// appended behind it). A sync per write would take 8.
    #[test]
    fn writers_that_wait_on_a_sync_share_the_next_one() {
        let gate = Arc::new(GatedSync::new(sim_log()));
        let file: FileHandle = gate.clone();
        let syncer = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        let engine_lock = Mutex::new(());
        let rounds = 5;
        let round = std::sync::Barrier::new(9);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..rounds {
                        round.wait();
                        let ticket = {
                            let _write = engine_lock.lock().unwrap();
                            syncer.appended()
                        };
                        syncer.commit(ticket, &|| file.clone()).unwrap();
                        round.wait();
                    }
                });
            }
            for r in 1..=rounds {
                gate.set_open(false);
                round.wait();
                // Every write appended: the sync after the held one covers
                // them all, whether their writers are in `commit` yet or not.
                wait_for(&syncer, |st| st.appended == 8 * r);
                gate.set_open(true);
                round.wait();
            }
        });
        let stats = syncer.stats();
        assert_eq!(stats.writes, 8 * rounds);
        assert!(
            (rounds..=2 * rounds).contains(&stats.syncs),
            "{} syncs for {rounds} rounds of 8 writers",
            stats.syncs
        );
        // A lone writer never waits for a group: one sync per write.
        let alone = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        for _ in 0..20 {
            let ticket = alone.appended();
            alone.commit(ticket, &|| file.clone()).unwrap();
        }
        assert_eq!(alone.stats().syncs, 20);
    }

    /// A new leader gathers: with the last group 4 writers strong, it does
    /// not sync its own write alone but waits until 4 are pending, and one
    /// sync covers all. The others append only once the leader gathers (or
    /// synced, if it does not gather), and the gather's time limit is made
    /// long: no schedule decides the count.
    #[test]
    fn a_group_leader_gathers_the_writers_the_last_sync_released() {
        let file = sim_log();
        let syncer = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        {
            let mut st = syncer.lock();
            st.group_hint = 4;
            st.sync_time = Duration::from_secs(3600);
        }
        let commit = || {
            let ticket = syncer.appended();
            syncer.commit(ticket, &|| file.clone()).unwrap();
        };
        std::thread::scope(|s| {
            s.spawn(commit);
            wait_for(&syncer, |st| st.gathering || st.syncs > 0);
            for _ in 0..3 {
                s.spawn(commit);
            }
        });
        let stats = syncer.stats();
        assert_eq!(stats.writes, 4);
        assert_eq!(
            stats.syncs, 1,
            "the leader synced before its group was back"
        );
    }

    /// Many writers over many groups: every write counted, every commit
    /// returned, and no more syncs than writes (the rate of sharing
    /// depends on the schedule; the tests above pin it down).
    #[test]
    fn every_write_of_many_concurrent_writers_is_committed() {
        let file = sim_log();
        let syncer = Syncer::new(SyncPolicy::new(SyncMode::Group, false));
        let engine_lock = Mutex::new(());
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..40 {
                        let ticket = {
                            let _write = engine_lock.lock().unwrap();
                            syncer.appended()
                        };
                        syncer.commit(ticket, &|| file.clone()).unwrap();
                    }
                });
            }
        });
        let stats = syncer.stats();
        assert_eq!(stats.writes, 320);
        assert!((1..=320).contains(&stats.syncs), "{} syncs", stats.syncs);
        assert_eq!(syncer.lock().durable, 320);
    }
}
