//! WAL recycling on a real disk: random puts (16-byte keys, 100-byte
//! values, one thread) into the lsm and the btree under a policy that
//! syncs, with a WAL that turns over every `LOG_MIB` MiB (memtable and
//! checkpoint size), once with recycled WAL files (`recycled_logs = 1`,
//! the default) and once without (`0`: a new, preallocated file per
//! generation), interleaved over `ROUNDS` rounds. Default sizes turn the
//! WAL over every 64 MiB, which a 2-second `bench-runner` cell under
//! `always` never reaches; this reaches it within seconds.
//!
//! ```text
//! cargo run --release -p engines --example wal_recycling -- DIR [SECONDS] [POLICY] [LOG_MIB] [ROUNDS] [STAT]
//! ```
//!
//! Defaults: 5 seconds per cell, `always`, 1 MiB, 2 rounds. Prints one
//! line per cell (ops/s, WAL generations recycled, syncs) to stdout; with
//! `STAT`, the disk's `/sys/block/<dev>/stat`, also the device's write
//! requests and flushes per put (a journal commit shows as extra writes;
//! other I/O on the disk counts too).

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use engines::{Engine, EngineConfig, SyncPolicy};

fn key(i: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10_000_000_000_000_000;
    k.copy_from_slice(format!("{x:016}").as_bytes());
    k
}

/// Write requests and flushes completed so far (fields 5 and 16 of
/// `/sys/block/<dev>/stat`).
fn device_counts(stat: Option<&str>) -> Option<(u64, u64)> {
    let text = std::fs::read_to_string(stat?).ok()?;
    let f: Vec<u64> = text
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    Some((*f.get(4)?, *f.get(15).unwrap_or(&0)))
}

fn cell(
    disk: &PathBuf,
    stat: Option<&str>,
    engine: &str,
    policy: SyncPolicy,
    log_bytes: u64,
    recycled_logs: usize,
    secs: f64,
) -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir_in(disk)?;
    let mut cfg = EngineConfig::new(dir.path(), policy);
    cfg.memtable_bytes = log_bytes;
    cfg.checkpoint_bytes = log_bytes;
    cfg.recycled_logs = recycled_logs;
    let info = engines::registry::info(engine)?;
    let e: Box<dyn Engine> = info.open(cfg)?;
    let value = [42u8; 100];
    let before = device_counts(stat);
    let start = Instant::now();
    let limit = Duration::from_secs_f64(secs);
    let mut n = 0u64;
    while start.elapsed() < limit {
        e.put(&key(n), &value)?;
        n += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let device = match (before, device_counts(stat)) {
        (Some((w0, f0)), Some((w1, f1))) => format!(
            "  device writes/put {:.2} flushes/put {:.2}",
            (w1 - w0) as f64 / n as f64,
            (f1 - f0) as f64 / n as f64
        ),
        _ => String::new(),
    };
    let s = e.stats();
    let recycled = s
        .notes
        .get("recycled_wal_files")
        .cloned()
        .unwrap_or_default();
    println!(
        "{engine:<6} {:<12} recycled_logs={recycled_logs} {:>9.0} ops/s  {n:>8} puts  WAL files recycled {recycled:>3}  syncs {}{device}",
        policy.to_string(),
        n as f64 / elapsed,
        s.log_syncs
    );
    e.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let disk = PathBuf::from(
        args.next()
            .ok_or("usage: wal_recycling DIR [SECONDS] [POLICY] [LOG_MIB] [ROUNDS]")?,
    );
    let secs: f64 = args.next().map_or(Ok(5.0), |s| s.parse())?;
    let policy: SyncPolicy = args.next().map_or(Ok(SyncPolicy::ALWAYS), |s| s.parse())?;
    let log_mib: f64 = args.next().map_or(Ok(1.0), |s| s.parse())?;
    let rounds: u32 = args.next().map_or(Ok(2), |s| s.parse())?;
    let stat = args.next();
    let log_bytes = (log_mib * (1 << 20) as f64) as u64;
    for _ in 0..rounds {
        for engine in ["lsm", "btree"] {
            for recycled_logs in [0, 1] {
                cell(
                    &disk,
                    stat.as_deref(),
                    engine,
                    policy,
                    log_bytes,
                    recycled_logs,
                    secs,
                )?;
            }
        }
    }
    Ok(())
}
