//! SIGINT, SIGTERM and SIGHUP all end a run the same clean way: the flag
//! they set makes the running cell stop at its next operation, its files
//! are removed, finished cells stay in the results, and the exit code says
//! which signal it was (128 + its number). A second signal while the first
//! is being honoured ends the process at once.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use anyhow::{Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

/// The signals that stop a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// Ctrl-C.
    Int,
    /// `kill`, systemd, a CI timeout.
    Term,
    /// The terminal went away.
    Hup,
}

impl StopSignal {
    fn from_number(n: i32) -> Option<StopSignal> {
        match n {
            SIGINT => Some(StopSignal::Int),
            SIGTERM => Some(StopSignal::Term),
            SIGHUP => Some(StopSignal::Hup),
            _ => None,
        }
    }

    fn number(self) -> i32 {
        match self {
            StopSignal::Int => SIGINT,
            StopSignal::Term => SIGTERM,
            StopSignal::Hup => SIGHUP,
        }
    }

    /// The shell's convention: 128 + the signal number (130, 143, 129).
    pub fn exit_code(self) -> u8 {
        (128 + self.number()) as u8
    }

    /// `SIGINT`, `SIGTERM`, `SIGHUP`.
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Int => "SIGINT",
            StopSignal::Term => "SIGTERM",
            StopSignal::Hup => "SIGHUP",
        }
    }
}

/// The installed handlers: a stop flag for the run loop, and which signal
/// set it.
#[derive(Debug)]
pub struct Signals {
    stop: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    /// Installs the handlers for SIGINT, SIGTERM and SIGHUP.
    pub fn install() -> Result<Signals> {
        Self::install_with(true)
    }

    /// As [`Signals::install`], but a second signal is ignored too: for
    /// runs that hold FUSE mounts, which only the run itself can undo
    /// (ending the process at once would leave them behind).
    pub fn install_patient() -> Result<Signals> {
        Self::install_with(false)
    }

    fn install_with(second_ends: bool) -> Result<Signals> {
        let stop = Arc::new(AtomicBool::new(false));
        let which = Arc::new(AtomicUsize::new(0));
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            // Handlers run in this order: which signal is recorded before
            // the flag is seen; the shutdown check runs before the flag is
            // set, so it fires only on the second signal.
            signal_hook::flag::register_usize(sig, which.clone(), sig as usize)
                .and_then(|_| {
                    if second_ends {
                        signal_hook::flag::register_conditional_shutdown(
                            sig,
                            128 + sig,
                            stop.clone(),
                        )
                        .map(drop)
                    } else {
                        Ok(())
                    }
                })
                .and_then(|_| signal_hook::flag::register(sig, stop.clone()))
                .with_context(|| format!("install a handler for signal {sig}"))?;
        }
        Ok(Signals { stop, which })
    }

    /// The flag the run loop polls.
    pub fn stop_flag(&self) -> &AtomicBool {
        &self.stop
    }

    /// The signal received, if any.
    pub fn received(&self) -> Option<StopSignal> {
        if !self.stop.load(Relaxed) {
            return None;
        }
        StopSignal::from_number(self.which.load(Relaxed) as i32).or(Some(StopSignal::Int))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(StopSignal::Int.exit_code(), 130);
        assert_eq!(StopSignal::Term.exit_code(), 143);
        assert_eq!(StopSignal::Hup.exit_code(), 129);
    }
}
