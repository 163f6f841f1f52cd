//! Engines that store nothing: [`NullEngine`] measures the harness's own
//! cost per operation (timing, histogram recording, generation), and
//! [`Hooked`] is the engine of the harness's tests and examples, whose
//! cost per operation is a closure.

use engines::{Capabilities, Engine, EngineStats, Result};

/// Accepts every operation and stores nothing: [`NullEngine::default`].
pub type NullEngine = Hooked<fn(Op) -> Result<()>>;

impl Default for NullEngine {
    fn default() -> Self {
        let everything = Capabilities {
            point_reads: true,
            range_scans: true,
            deletes: true,
            replay: false,
        };
        Hooked::new("null", everything, |_| Ok(()))
    }
}

/// What a [`Hooked`] engine is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A put (update, insert, append).
    Put,
    /// A point read.
    Get,
    /// A delete.
    Delete,
    /// A range scan.
    Scan,
}

/// An engine that stores nothing and calls its hook on every operation:
/// for the harness's own tests and examples, whose engine is defined by
/// its cost (a fixed service time, a periodic pause) and not by its data.
pub struct Hooked<H> {
    name: &'static str,
    capabilities: Capabilities,
    hook: H,
}

impl<H: Fn(Op) -> Result<()> + Send + Sync> Hooked<H> {
    /// An engine named `name` that can do what `capabilities` says, each
    /// operation being a call of `hook`.
    pub fn new(name: &'static str, capabilities: Capabilities, hook: H) -> Self {
        Hooked {
            name,
            capabilities,
            hook,
        }
    }
}

impl<H> std::fmt::Debug for Hooked<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hooked").field("name", &self.name).finish()
    }
}

impl<H: Fn(Op) -> Result<()> + Send + Sync> Engine for Hooked<H> {
    fn name(&self) -> &'static str {
        self.name
    }
    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }
    fn put(&self, _: &[u8], _: &[u8]) -> Result<()> {
        (self.hook)(Op::Put)
    }
    fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>> {
        (self.hook)(Op::Get).map(|()| None)
    }
    fn delete(&self, _: &[u8]) -> Result<()> {
        (self.hook)(Op::Delete)
    }
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        (self.hook)(Op::Scan).map(|()| Vec::new())
    }
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn close(&self) -> Result<()> {
        Ok(())
    }
    fn stats(&self) -> EngineStats {
        EngineStats::default()
    }
}
