//! The crash workload: keys, self-describing values, small engine sizes,
//! and reading every key back.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use engines::fs::{CrashRng, Vfs};
use engines::{Engine, EngineConfig, EngineInfo, Result, SyncPolicy};

/// Keys a trial writes to.
pub const KEYS: u64 = 24;

/// The key of key number `k` in crash workloads.
pub fn key_bytes(k: u64) -> Vec<u8> {
    format!("key{k:04}").into_bytes()
}

/// A value naming its key and version, padded with `pad` dots.
pub fn value_bytes(k: u64, v: u64, pad: usize) -> Vec<u8> {
    let mut b = format!("k{k}:v{v}:").into_bytes();
    b.resize(b.len() + pad, b'.');
    b
}

/// The version a value names, if it is a well-formed value of key `k`.
pub fn parse_value(k: u64, value: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(value).ok()?;
    let rest = s.strip_prefix(&format!("k{k}:v"))?;
    let (v, pad) = rest.split_once(':')?;
    pad.bytes().all(|b| b == b'.').then_some(())?;
    v.parse().ok()
}
/// Small sizes so files are created, rotated, flushed, merged and
/// checkpointed within a trial.
pub fn trial_config(vfs: Arc<dyn Vfs>, policy: SyncPolicy) -> EngineConfig {
    let mut c = EngineConfig::with_vfs("/db", vfs, policy);
    c.segment_bytes = 1024;
    c.memtable_bytes = 1024;
    c.checkpoint_bytes = 2048;
    c.page_bytes = 512;
    c.cache_pages = 16;
    c.merge_trigger_files = 3;
    c.background_maintenance = false;
    c
}

pub(crate) fn open_guarded(
    info: &EngineInfo,
    cfg: EngineConfig,
) -> std::result::Result<Box<dyn Engine>, String> {
    match catch_unwind(AssertUnwindSafe(|| info.open(cfg))) {
        Ok(Ok(e)) => Ok(e),
        Ok(Err(e)) => Err(e.to_string()),
        Err(p) => Err(format!(
            "panic: {}",
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        )),
    }
}

/// Reads every key: `get` where the engine has point reads, else the fold
/// of its replayed log.
pub fn read_all(engine: &dyn Engine) -> Result<BTreeMap<u64, Option<Vec<u8>>>> {
    let mut out = BTreeMap::new();
    if engine.capabilities().point_reads {
        for k in 0..KEYS {
            out.insert(k, engine.get(&key_bytes(k))?);
        }
    } else {
        let mut state: BTreeMap<Vec<u8>, Option<Vec<u8>>> = BTreeMap::new();
        for op in engine.replay(0)? {
            state.insert(op.key, op.value);
        }
        for k in 0..KEYS {
            out.insert(k, state.remove(&key_bytes(k)).flatten());
        }
    }
    Ok(out)
}

pub(crate) fn rng_pad(seed: u64, i: u64) -> usize {
    (CrashRng::new(seed ^ i.wrapping_mul(0x9E37)).next_u64() % 60) as usize
}
