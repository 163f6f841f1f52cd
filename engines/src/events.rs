//! Maintenance events: the start and end of the background work that makes
//! an engine's throughput uneven (memtable flushes, compactions, merges,
//! checkpoints, log rotation and recycling, and writers held back waiting
//! for one of them).
//!
//! One sink per engine, given in [`crate::EngineConfig::events`]. An engine
//! opens a [`Span`] where the work begins; the span reports itself to the
//! sink when it is dropped, on every way out of the work, errors included.
//! Without a sink ([`Events::off`], the default) a span reads no clock and
//! reports nothing, so engines pay nothing when nobody listens. Events are
//! rare (one per flush, rotation or checkpoint, never one per write), so a
//! sink may take a lock.

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// What kind of maintenance an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EventKind {
    /// An immutable memtable written out as a table (lsm).
    Flush,
    /// Tables of one level merged into the next (lsm); the detail names the
    /// levels and the bytes in and out.
    Compaction,
    /// Immutable data files merged into new ones (bitcask, loghash).
    Merge,
    /// Dirty pages written to the data file and the log dropped (btree),
    /// or old log segments dropped (wal).
    Checkpoint,
    /// The active log or data file sealed and a new one begun.
    Rotation,
    /// A covered log file kept to be overwritten by a later generation
    /// instead of creating a new file.
    Recycle,
    /// A writer held back until background work finished (the memtable is
    /// full and the previous one is still flushing).
    WriteStall,
    /// The in-memory index grew: its hash table rehashed every key into
    /// one twice the size, under the writers' lock (bitcask, loghash).
    IndexResize,
}

impl EventKind {
    /// Every kind, in a fixed order.
    pub const ALL: [EventKind; 8] = [
        EventKind::Flush,
        EventKind::Compaction,
        EventKind::Merge,
        EventKind::Checkpoint,
        EventKind::Rotation,
        EventKind::Recycle,
        EventKind::WriteStall,
        EventKind::IndexResize,
    ];

    /// The name used in `events.csv` and on charts.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Flush => "flush",
            EventKind::Compaction => "compaction",
            EventKind::Merge => "merge",
            EventKind::Checkpoint => "checkpoint",
            EventKind::Rotation => "rotation",
            EventKind::Recycle => "recycle",
            EventKind::WriteStall => "write-stall",
            EventKind::IndexResize => "index-resize",
        }
    }

    /// The kind named `name` (as [`EventKind::name`] writes it).
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One finished piece of maintenance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// What it was.
    pub kind: EventKind,
    /// When it began.
    pub start: Instant,
    /// When it ended.
    pub end: Instant,
    /// What it worked on, for people: `L0->L1 in=… out=…`, a file name.
    /// Empty when the kind says it all.
    pub detail: String,
}

/// Where an engine's events go.
pub trait EventSink: Send + Sync + fmt::Debug {
    /// Takes one finished event. Called from whichever thread did the work.
    fn record(&self, event: Event);
}

/// An engine's handle on its sink: cheap to clone, off by default.
#[derive(Clone, Default)]
pub struct Events(Option<Arc<dyn EventSink>>);

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Some(s) => write!(f, "Events({s:?})"),
            None => f.write_str("Events(off)"),
        }
    }
}

impl Events {
    /// Reports to `sink`.
    pub fn to(sink: Arc<dyn EventSink>) -> Events {
        Events(Some(sink))
    }

    /// Reports nowhere.
    pub fn off() -> Events {
        Events(None)
    }

    /// Whether anyone listens.
    pub fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// Begins an event of `kind` now; it is reported when the span drops.
    pub fn begin(&self, kind: EventKind) -> Span {
        Span {
            sink: self.0.clone(),
            kind,
            start: self.0.as_ref().map(|_| Instant::now()),
            detail: String::new(),
        }
    }

    /// Reports an event that began at `start` and ends now (for work whose
    /// start is only known to be worth reporting afterwards, such as a wait
    /// that turned out to be long).
    pub fn record_since(&self, kind: EventKind, start: Instant, detail: impl FnOnce() -> String) {
        if let Some(sink) = &self.0 {
            sink.record(Event {
                kind,
                start,
                end: Instant::now(),
                detail: detail(),
            });
        }
    }
}

/// Maintenance in progress; reports itself when dropped.
#[derive(Debug)]
#[must_use = "a span reports when it is dropped: bind it to a variable"]
pub struct Span {
    sink: Option<Arc<dyn EventSink>>,
    kind: EventKind,
    start: Option<Instant>,
    detail: String,
}

impl Span {
    /// Sets the detail; `detail` runs only when someone listens.
    pub fn detail(&mut self, detail: impl FnOnce() -> String) {
        if self.sink.is_some() {
            self.detail = detail();
        }
    }

    /// Ends the span now (the same as dropping it).
    pub fn end(self) {}
}

impl Drop for Span {
    fn drop(&mut self) {
        if let (Some(sink), Some(start)) = (&self.sink, self.start) {
            let end = Instant::now();
            let mut detail = std::mem::take(&mut self.detail);
            if std::thread::panicking() {
                detail.push_str(if detail.is_empty() {
                    "panicked"
                } else {
                    " (panicked)"
                });
            }
            sink.record(Event {
                kind: self.kind,
                start,
                end,
                detail,
            });
        }
    }
}

/// A sink that keeps every event in memory, for tests and the harness.
#[derive(Debug, Default)]
pub struct EventLog(std::sync::Mutex<Vec<Event>>);

impl EventLog {
    /// An empty log, shared.
    pub fn shared() -> Arc<EventLog> {
        Arc::new(EventLog::default())
    }

    /// Takes every event recorded so far, in the order they ended.
    pub fn take(&self) -> Vec<Event> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// The kinds recorded so far (for tests).
    pub fn kinds(&self) -> Vec<EventKind> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|e| e.kind)
            .collect()
    }
}

impl EventSink for EventLog {
    fn record(&self, event: Event) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_reports_once_when_dropped_and_not_at_all_when_off() {
        let log = EventLog::shared();
        let events = Events::to(log.clone());
        {
            let mut s = events.begin(EventKind::Flush);
            s.detail(|| "sst-000001".into());
        }
        let got = log.take();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].kind, EventKind::Flush);
        assert_eq!(got[0].detail, "sst-000001");
        assert!(got[0].end >= got[0].start);

        let off = Events::off();
        let mut called = false;
        let mut s = off.begin(EventKind::Merge);
        s.detail(|| {
            called = true;
            String::new()
        });
        s.end();
        assert!(!called, "no detail is built when nobody listens");
        assert!(log.take().is_empty());
    }

    #[test]
    fn a_span_left_by_an_error_still_reports() {
        let log = EventLog::shared();
        let events = Events::to(log.clone());
        let work = || -> Result<(), &'static str> {
            let _s = events.begin(EventKind::Checkpoint);
            Err("disk full")
        };
        assert!(work().is_err());
        assert_eq!(log.kinds(), vec![EventKind::Checkpoint]);
    }

    #[test]
    fn names_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::from_name(k.name()), Some(k));
        }
    }
}
