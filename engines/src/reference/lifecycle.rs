//! What every reference adapter does the same way around its library's
//! handle: refuse operations once closed, hand out the handle under a lock
//! that survives a panicked holder, let `close` take the handle (dropping
//! it releases the library's file lock, so the directory can be reopened
//! at once), count the bytes and writes the caller asked for, map the
//! library's errors, and report stats with the note that the I/O bypassed
//! the `Vfs`.
//!
//! Each adapter keeps only what belongs to its library: how it opens,
//! writes, reads and syncs, and what its close must do first.

use std::fmt;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{RwLock, RwLockReadGuard};

use super::{lib_err, Cadence, LibError};
use crate::engine::EngineStats;
use crate::policy::SyncPolicy;
use crate::{Error, Result};

/// An adapter's open library handle `H` and the bookkeeping around it.
pub(super) struct Lifecycle<H> {
    /// The engine's name (errors name it).
    engine: &'static str,
    /// The library's name as the stats note spells it.
    library: &'static str,
    /// Where the library keeps its files (errors name it).
    path: PathBuf,
    /// `None` once `close` took it.
    handle: RwLock<Option<H>>,
    closed: AtomicBool,
    user_bytes: AtomicU64,
    cadence: Cadence,
}

/// The handle, held for reading: `close` waits until it is dropped.
pub(super) struct Handle<'a, H>(RwLockReadGuard<'a, Option<H>>);

impl<H> Deref for Handle<'_, H> {
    type Target = H;

    fn deref(&self) -> &H {
        // `get` returned this guard only over a handle, and taking it needs
        // the write lock this guard excludes.
        self.0
            .as_ref()
            .expect("a Handle is only made over an open handle")
    }
}

impl<H> fmt::Debug for Lifecycle<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lifecycle")
            .field("engine", &self.engine)
            .field("path", &self.path)
            .field("closed", &self.closed.load(Relaxed))
            .finish()
    }
}

impl<H> Lifecycle<H> {
    /// `handle`, open on the files at `path`, written under `policy`.
    pub(super) fn new(
        engine: &'static str,
        library: &'static str,
        path: PathBuf,
        policy: SyncPolicy,
        handle: H,
    ) -> Self {
        Lifecycle {
            engine,
            library,
            path,
            handle: RwLock::new(Some(handle)),
            closed: AtomicBool::new(false),
            user_bytes: AtomicU64::new(0),
            cadence: Cadence::new(policy),
        }
    }

    /// Where the library keeps its files.
    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// The policy the engine runs.
    pub(super) fn policy(&self) -> SyncPolicy {
        self.cadence.policy
    }

    /// The open handle; [`Error::Closed`] after `close`.
    pub(super) fn get(&self) -> Result<Handle<'_, H>> {
        if self.closed.load(Relaxed) {
            return Err(Error::Closed);
        }
        let guard = self.read();
        if guard.is_none() {
            return Err(Error::Closed);
        }
        Ok(Handle(guard))
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<H>> {
        self.handle.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the engine closed: true the first time. The handle stays
    /// until the adapter is dropped (see [`Lifecycle::close`] to take it).
    pub(super) fn mark_closed(&self) -> bool {
        !self.closed.swap(true, Relaxed)
    }

    /// Marks the engine closed and takes the handle, the first time; `None`
    /// after that.
    pub(super) fn close(&self) -> Option<H> {
        if !self.mark_closed() {
            return None;
        }
        self.handle
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Counts a write; true when the policy wants it durable now.
    pub(super) fn durable_now(&self) -> bool {
        self.cadence.durable_now()
    }

    /// Counts the bytes an acknowledged put (`Some`) or delete stored.
    pub(super) fn stored(&self, key: &[u8], value: Option<&[u8]>) {
        let bytes = key.len() + value.map_or(0, <[u8]>::len);
        self.user_bytes.fetch_add(bytes as u64, Relaxed);
    }

    /// The library's error as this crate's, naming the engine and path.
    pub(super) fn err(&self, e: impl LibError) -> Error {
        lib_err(self.engine, &self.path, e)
    }

    /// Bytes and writes asked for, and where the I/O went.
    pub(super) fn stats(&self) -> EngineStats {
        let mut s = EngineStats {
            user_bytes: self.user_bytes.load(Relaxed),
            log_writes: self.cadence.writes(),
            ..EngineStats::default()
        };
        s.notes.insert(
            "io".into(),
            format!("{}'s own I/O (not through the Vfs)", self.library),
        );
        s
    }

    /// [`Lifecycle::stats`] with the disk bytes `measure` reports of the
    /// handle while it is open (a note says why when it cannot).
    pub(super) fn stats_measuring<E: fmt::Display>(
        &self,
        measure: impl FnOnce(&H) -> std::result::Result<u64, E>,
    ) -> EngineStats {
        let mut s = self.stats();
        if let Some(h) = self.read().as_ref() {
            match measure(h) {
                Ok(bytes) => s.disk_bytes = bytes,
                Err(e) => {
                    s.notes
                        .insert("disk_bytes".into(), format!("not measured: {e}"));
                }
            }
        }
        s
    }
}
