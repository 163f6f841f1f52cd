//! What the simulator records about a run, besides the files themselves:
//! the operation log for traces, the operation boundaries (every
//! state-changing call), the crash instant frozen at a sync or a boundary,
//! and the [`CrashImage`]s kept at every boundary for exhaustive checks.
//!
//! Freezing keeps a copy of the state at one instant, so a later
//! [`SimFs::crash`] starts from it while the run goes on: a crash at that
//! instant without running the workload twice.

use super::state::State;
use super::{CrashImage, Profile, SimFs};

impl State {
    /// Adds a line to the operation log, when one is being recorded.
    pub(super) fn event(&mut self, what: impl FnOnce() -> String) {
        if let Some(ev) = &mut self.events {
            ev.push(what());
        }
    }

    /// One operation boundary passed: keeps its image and freezes, when
    /// asked to.
    pub(super) fn boundary(&mut self, profile: Profile) {
        self.boundaries += 1;
        if self.crash_points.is_some() {
            let img = CrashImage::capture(self, profile);
            if let Some(points) = &mut self.crash_points {
                points.push(img);
            }
        }
        if self.freeze_at_op == Some(self.boundaries) && self.frozen.is_none() {
            self.freeze();
        }
    }

    /// One sync done: a boundary, counted, and the freeze when it is the
    /// sync asked for.
    pub(super) fn counted_sync(&mut self, profile: Profile) {
        self.boundary(profile);
        self.syncs += 1;
        if self.freeze_at_sync == Some(self.syncs) && self.frozen.is_none() {
            self.freeze();
        }
    }

    fn freeze(&mut self) {
        self.event(|| "== crash instant: the image is frozen here ==".to_string());
        let points = self.crash_points.take();
        let mut snap = self.clone();
        self.crash_points = points;
        snap.frozen = None;
        snap.events = None;
        self.frozen = Some(Box::new(snap));
    }
}

impl SimFs {
    /// Starts recording name operations, writes, truncates and syncs for
    /// [`SimFs::take_events`] (operation traces).
    pub fn record_events(&self) {
        self.lock().events.get_or_insert_with(Vec::new);
    }

    /// Adds a line to the operation log, when one is being recorded (a
    /// layer above the simulator, such as the FUSE daemon, naming the
    /// request that led to the calls that follow).
    pub fn note_event(&self, line: impl FnOnce() -> String) {
        self.lock().event(line);
    }

    /// The operations recorded since the last call. Operations that a
    /// crash may keep or drop carry their operation number (`#17 write
    /// /db/x @0 +137`), the numbers [`CrashReport::kept`] and
    /// [`CrashReport::dropped`] use.
    ///
    /// [`CrashReport::kept`]: super::CrashReport::kept
    /// [`CrashReport::dropped`]: super::CrashReport::dropped
    pub fn take_events(&self) -> Vec<String> {
        self.lock()
            .events
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// File and directory syncs so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }

    /// Freezes the crash image right after the `n`-th sync: a later
    /// [`SimFs::crash`] starts from the state at that instant.
    pub fn freeze_after_sync(&self, n: u64) {
        self.lock().freeze_at_sync = Some(n);
    }

    /// Freezes the crash image now (unless already frozen).
    pub fn freeze_now(&self) {
        let mut st = self.lock();
        if st.frozen.is_none() {
            st.freeze();
        }
    }

    /// Freezes the crash image right after operation boundary `k` (the
    /// `k`-th state-changing call: write, truncate, reservation, name
    /// operation or sync; see [`SimFs::boundaries`]).
    pub fn freeze_after_op(&self, k: u64) {
        self.lock().freeze_at_op = Some(k);
    }

    /// Whether the crash image has been frozen.
    pub fn frozen(&self) -> bool {
        self.lock().frozen.is_some()
    }

    /// The state a crash starts from: the frozen instant, or now.
    pub(super) fn crash_instant_state(&self) -> State {
        let st = self.lock();
        match &st.frozen {
            Some(f) => (**f).clone(),
            None => st.clone(),
        }
    }

    /// Operation boundaries so far.
    pub fn boundaries(&self) -> u64 {
        self.lock().boundaries
    }

    /// Starts keeping a [`CrashImage`] at every operation boundary, the
    /// current state first, for [`SimFs::take_crash_points`].
    pub fn capture_crash_points(&self) {
        let mut st = self.lock();
        let now = CrashImage::capture(&st, self.profile);
        st.crash_points = Some(vec![now]);
    }

    /// The crash images kept since [`SimFs::capture_crash_points`], in
    /// order; capturing stops.
    pub fn take_crash_points(&self) -> Vec<CrashImage> {
        self.lock().crash_points.take().unwrap_or_default()
    }
}
