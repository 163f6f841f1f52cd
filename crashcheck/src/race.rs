//! [`RaceFs`]: a second writer that arrives while the first one's sync
//! runs, at a chosen instant rather than by luck of scheduling.
//!
//! Group commit can only go wrong when a write arrives during a leader's
//! sync: then the leader must not count it as covered. Random concurrent
//! trials hit that window now and then; the exhaustive check needs it every
//! time. [`Race::arm`] holds a second writer back; the next file sync
//! through a [`RaceFs`] releases it and, before syncing, waits until that
//! writer has started its write and then until it is done or [`RACE_WAIT`]
//! has passed (a correct engine keeps it waiting behind the sync, so the
//! wait runs out; a broken one may let it return at once). Either way the
//! sync then runs, and the writer's own operations happen where they would
//! on a real disk.

use std::path::Path;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use engines::fs::{FileHandle, FileLayer, VFile, Vfs, VfsLayer};
use engines::Result;

/// How long a sync waits for the second writer once it has started its
/// write: ample for it to reach the engine's queue or lock (microseconds),
/// even on a busy machine.
pub const RACE_WAIT: Duration = Duration::from_millis(10);

/// The second writer's start signal and completion signal, while armed.
#[derive(Debug, Default)]
pub struct Race {
    armed: Mutex<Option<(Sender<()>, Receiver<()>)>>,
}

impl Race {
    /// Holds a writer back until the next file sync: `go` starts it; it
    /// sends on `done` once when it starts its write and once when the
    /// write returned.
    pub fn arm(&self, go: Sender<()>, done: Receiver<()>) {
        *self.armed.lock().unwrap_or_else(|p| p.into_inner()) = Some((go, done));
    }

    /// At a file sync: releases the armed writer, if any, and waits for it.
    fn fire(&self) {
        let armed = self.armed.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some((go, done)) = armed {
            if go.send(()).is_ok() && done.recv().is_ok() {
                let _ = done.recv_timeout(RACE_WAIT);
            }
        }
    }

    /// After the first writer returned: releases the armed writer if no
    /// sync did (it then runs after the first). Whether a sync released it.
    pub fn disarm(&self) -> bool {
        let armed = self.armed.lock().unwrap_or_else(|p| p.into_inner()).take();
        match armed {
            Some((go, _)) => {
                let _ = go.send(());
                false
            }
            None => true,
        }
    }
}

/// A filesystem whose file syncs first release an armed [`Race`].
#[derive(Debug)]
pub struct RaceFs {
    inner: Arc<dyn Vfs>,
    race: Arc<Race>,
}

impl RaceFs {
    /// Wraps `inner`; `race` is armed by the caller.
    pub fn new(inner: Arc<dyn Vfs>, race: Arc<Race>) -> Self {
        RaceFs { inner, race }
    }
}

#[derive(Debug)]
struct RaceFile {
    inner: FileHandle,
    race: Arc<Race>,
}

impl VfsLayer for RaceFs {
    fn inner(&self) -> &dyn Vfs {
        &*self.inner
    }
    fn wrap(&self, file: FileHandle) -> FileHandle {
        Arc::new(RaceFile {
            inner: file,
            race: self.race.clone(),
        })
    }
}

impl FileLayer for RaceFile {
    fn inner(&self) -> &dyn VFile {
        &*self.inner
    }
    fn sync_data(&self) -> Result<()> {
        self.race.fire();
        self.inner.sync_data()
    }
    fn sync_all(&self) -> Result<()> {
        self.race.fire();
        self.inner.sync_all()
    }
    fn path(&self) -> &Path {
        self.inner.path()
    }
}
