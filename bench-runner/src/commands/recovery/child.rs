//! `bench-runner recovery-child`: the engine process of a recovery
//! measurement. Three roles, one process each:
//!
//! - `--load N`: writes keys `0..N` under the engine's weakest policy
//!   ([`load_policy`]), syncs, closes and exits;
//! - no role flag: opens the engine under the measured policy and serves
//!   the [line protocol](crashcheck::protocol) (the parent sends the
//!   measured writes and closes or kills it);
//! - `--reopen`: times the engine's open plus the read of `--first-key`
//!   (inside this process, so process start-up is not timed), prints
//!   `timing NANOS BYTES_READ|-`, then one line `K VERSION|-|?` per key
//!   (`-` absent, `?` a value that is no value of that key) and `end`.
//!
//! Every key `k` is written once, with version `k`
//! ([`crashcheck::value_bytes`], padded to `--value-size`).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use engines::fs::{CountingFs, RealFs};
use engines::{Engine, EngineConfig, EngineInfo, EngineStats, LoggedOp, SyncMode, SyncPolicy};

use crate::cli::recovery::RecoveryChildArgs;

/// Writer threads of a load under `group` (so group commit batches it).
const GROUP_LOAD_THREADS: u64 = 32;

/// The value of key `k` (version `k`), `size` bytes long at least.
pub fn value(k: u64, size: u64) -> Vec<u8> {
    let mut v = crashcheck::value_bytes(k, k, 0);
    let len = v.len().max(size as usize);
    v.resize(len, b'.');
    v
}

/// The policy keys are loaded under: `none` where the engine has it, else
/// `group`, else the measured policy.
pub fn load_policy(info: &EngineInfo, measured: SyncPolicy) -> SyncPolicy {
    ["none", "group"]
        .iter()
        .filter_map(|p| p.parse::<SyncPolicy>().ok())
        .find(|p| (info.supports)(p).is_ok())
        .unwrap_or(measured)
}

/// Runs the child; returns its exit code.
pub fn child(args: &RecoveryChildArgs) -> Result<u8> {
    let policy: SyncPolicy = args.policy.parse()?;
    let info = engines::registry::info(&args.engine)?;
    let dir: PathBuf = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::var_os("BENCH_DIR")
            .context("recovery-child needs --dir or BENCH_DIR")?
            .into(),
    };
    if let Some(n) = args.load {
        load(info, policy, &dir, n, args.value_size)?;
        return Ok(0);
    }
    if args.reopen {
        let (Some(keys), Some(first)) = (args.keys, args.first_key) else {
            bail!("--reopen needs --keys and --first-key");
        };
        return reopen(info, policy, &dir, keys, first);
    }
    let engine = info
        .open(EngineConfig::new(&dir, policy))
        .with_context(|| format!("open {} in {}", info.name, dir.display()))?;
    let engine: Box<dyn Engine> = match args.test_drop_after {
        Some(keep) => Box::new(DropsWrites {
            inner: engine,
            keep,
            seen: AtomicU64::new(0),
        }),
        None => engine,
    };
    let stdin = std::io::stdin();
    crashcheck::protocol::serve(&*engine, stdin.lock(), std::io::stdout())
        .context("serve the line protocol")?;
    Ok(0)
}

fn load(info: &EngineInfo, measured: SyncPolicy, dir: &Path, n: u64, size: u64) -> Result<()> {
    let policy = load_policy(info, measured);
    let mut cfg = EngineConfig::new(dir, policy);
    cfg.bulk_load = true;
    let engine = info
        .open(cfg)
        .with_context(|| format!("open {} in {} to load", info.name, dir.display()))?;
    let threads = if policy.mode == SyncMode::Group {
        GROUP_LOAD_THREADS
    } else {
        1
    };
    let put = |k: u64| -> Result<()> {
        engine
            .put(&crashcheck::key_bytes(k), &value(k, size))
            .with_context(|| format!("load key {k} into {}", info.name))
    };
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t..n).step_by(threads as usize).try_for_each(put)))
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        }
        Ok(())
    })?;
    engine.sync().context("sync after the load")?;
    engine.close().context("close after the load")?;
    Ok(())
}

fn reopen(info: &EngineInfo, policy: SyncPolicy, dir: &Path, keys: u64, first: u64) -> Result<u8> {
    let mut cfg = EngineConfig::new(dir, policy);
    // The Vfs engines' reads during open are what they replayed or scanned.
    let counting = info.uses_vfs.then(|| CountingFs::new(RealFs::shared()));
    if let Some(c) = &counting {
        cfg.vfs = Arc::new(c.clone());
    }
    let start = Instant::now();
    let engine = info
        .open(cfg)
        .with_context(|| format!("reopen {} in {}", info.name, dir.display()))?;
    let first_value = read_one(&*engine, first).context("the first read after the reopen")?;
    let nanos = start.elapsed().as_nanos();
    std::hint::black_box(first_value);
    let bytes = counting.map(|c| c.counters().snapshot().bytes_read);
    let out = std::io::stdout();
    let mut out = BufWriter::new(out.lock());
    match bytes {
        Some(b) => writeln!(out, "timing {nanos} {b}")?,
        None => writeln!(out, "timing {nanos} -")?,
    }
    for (k, v) in read_keys(&*engine, keys)?.into_iter().enumerate() {
        let k = k as u64;
        match v.map(|v| crashcheck::parse_value(k, &v)) {
            None => writeln!(out, "{k} -")?,
            Some(Some(ver)) => writeln!(out, "{k} {ver}")?,
            Some(None) => writeln!(out, "{k} ?")?,
        }
    }
    writeln!(out, "end")?;
    out.flush()?;
    engine.close().context("close after the reopen")?;
    Ok(0)
}

fn read_one(engine: &dyn Engine, k: u64) -> engines::Result<Option<Vec<u8>>> {
    let key = crashcheck::key_bytes(k);
    if engine.capabilities().point_reads {
        return engine.get(&key);
    }
    Ok(engine
        .replay(0)?
        .into_iter()
        .rfind(|o| o.key == key)
        .and_then(|o| o.value))
}

/// Keys `0..n`: by `get`, or one fold of the replayed log.
fn read_keys(engine: &dyn Engine, n: u64) -> engines::Result<Vec<Option<Vec<u8>>>> {
    if engine.capabilities().point_reads {
        return (0..n)
            .map(|k| engine.get(&crashcheck::key_bytes(k)))
            .collect();
    }
    let mut state = std::collections::HashMap::new();
    for op in engine.replay(0)? {
        state.insert(op.key, op.value);
    }
    Ok((0..n)
        .map(|k| state.remove(&crashcheck::key_bytes(k)).flatten())
        .collect())
}

/// Testing the checker: an engine that acknowledges every write after the
/// first `keep` without making it, as a broken recovery would lose them.
#[derive(Debug)]
struct DropsWrites {
    inner: Box<dyn Engine>,
    keep: u64,
    seen: AtomicU64,
}

impl Engine for DropsWrites {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn capabilities(&self) -> engines::Capabilities {
        self.inner.capabilities()
    }
    fn put(&self, key: &[u8], value: &[u8]) -> engines::Result<()> {
        if self.seen.fetch_add(1, Ordering::Relaxed) < self.keep {
            self.inner.put(key, value)
        } else {
            Ok(())
        }
    }
    fn get(&self, key: &[u8]) -> engines::Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn delete(&self, key: &[u8]) -> engines::Result<()> {
        self.inner.delete(key)
    }
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> engines::Result<Vec<(Vec<u8>, Vec<u8>)>> {
        self.inner.scan(start, end, limit)
    }
    fn replay(&self, from: u64) -> engines::Result<Vec<LoggedOp>> {
        self.inner.replay(from)
    }
    fn sync(&self) -> engines::Result<()> {
        self.inner.sync()
    }
    fn close(&self) -> engines::Result<()> {
        self.inner.close()
    }
    fn stats(&self) -> EngineStats {
        self.inner.stats()
    }
}
