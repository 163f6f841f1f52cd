//! An engine that does nothing, to measure the harness's own cost per
//! operation (timing, histogram recording, generation).

use engines::{Capabilities, Engine, EngineStats, Result};

/// Accepts every operation and stores nothing.
#[derive(Debug, Default)]
pub struct NullEngine;

impl Engine for NullEngine {
    fn name(&self) -> &'static str {
        "null"
    }
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            point_reads: true,
            range_scans: true,
            deletes: true,
            replay: false,
        }
    }
    fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        std::hint::black_box((key, value));
        Ok(())
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        std::hint::black_box(key);
        Ok(None)
    }
    fn delete(&self, key: &[u8]) -> Result<()> {
        std::hint::black_box(key);
        Ok(())
    }
    fn scan(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        Ok(Vec::new())
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
