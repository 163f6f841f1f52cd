//! The block device's own counters (`/sys/block/<disk>/stat`), and the
//! rules that judge a cell's device figures with them: background I/O
//! (`noisy`) and syncs that never reach the medium (lying disks).
//!
//! ## Format
//!
//! `stat` is one line of whitespace-separated decimal counters
//! (Documentation/block/stat.rst). Kernels before 4.18 print 11 fields,
//! 4.18 adds discards (15 fields), 5.5 adds flushes (17 fields):
//!
//! | field (1-based) | meaning |
//! |---|---|
//! | 5 | write I/Os completed |
//! | 7 | sectors written (always 512-byte units) |
//! | 16 | flush requests completed |
//! | 17 | milliseconds spent on flushes |
//!
//! A partition counts its own reads and writes, but flushes are issued to
//! the whole disk, so flush figures always come from the whole disk.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::SyncDoubt;

/// One reading of a device's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceStat {
    /// Write I/Os completed (field 5).
    pub write_ios: u64,
    /// Bytes written (field 7 x 512).
    pub write_bytes: u64,
    /// Flush requests completed (field 16); `None` on kernels without them.
    pub flushes: Option<u64>,
    /// Milliseconds spent flushing (field 17).
    pub flush_ms: Option<u64>,
}

impl DeviceStat {
    /// Parses one `stat` line; `None` if it has fewer than 11 numeric fields.
    pub fn parse(line: &str) -> Option<DeviceStat> {
        let fields: Vec<u64> = line
            .split_whitespace()
            .map(str::parse)
            .collect::<Result<_, _>>()
            .ok()?;
        if fields.len() < 11 {
            return None;
        }
        Some(DeviceStat {
            write_ios: fields[4],
            write_bytes: fields[6] * 512,
            flushes: fields.get(15).copied(),
            flush_ms: fields.get(16).copied(),
        })
    }

    /// What happened between `earlier` and `self` (counters only grow; a
    /// reset reads as zero, never as a huge number).
    pub fn since(&self, earlier: &DeviceStat) -> DeviceStat {
        DeviceStat {
            write_ios: self.write_ios.saturating_sub(earlier.write_ios),
            write_bytes: self.write_bytes.saturating_sub(earlier.write_bytes),
            flushes: self
                .flushes
                .zip(earlier.flushes)
                .map(|(a, b)| a.saturating_sub(b)),
            flush_ms: self
                .flush_ms
                .zip(earlier.flush_ms)
                .map(|(a, b)| a.saturating_sub(b)),
        }
    }
}

/// The counters of the device behind the disk under test.
#[derive(Debug, Clone)]
pub struct BlockDevice {
    /// Device name (`vda`, `nvme0n1p2`).
    pub name: String,
    stat: PathBuf,
    /// The whole disk's stat file, when `name` is a partition.
    disk_stat: Option<PathBuf>,
}

impl BlockDevice {
    /// The counters of `device` (a partition or a whole disk) and of its
    /// whole disk `disk`; `None` when the device has no stat file.
    pub fn open(device: &str, disk: Option<&str>) -> Option<BlockDevice> {
        let stat = PathBuf::from(format!("/sys/class/block/{device}/stat"));
        if !stat.exists() {
            return None;
        }
        let disk_stat = disk
            .filter(|d| *d != device)
            .map(|d| PathBuf::from(format!("/sys/class/block/{d}/stat")))
            .filter(|p| p.exists());
        Some(BlockDevice {
            name: device.to_string(),
            stat,
            disk_stat,
        })
    }

    /// Reads the counters now: writes from the device itself, flushes from
    /// its whole disk.
    pub fn read(&self) -> Option<DeviceStat> {
        let own = DeviceStat::parse(&fs::read_to_string(&self.stat).ok()?)?;
        let Some(disk) = &self.disk_stat else {
            return Some(own);
        };
        let whole = fs::read_to_string(disk)
            .ok()
            .and_then(|l| DeviceStat::parse(&l));
        Some(DeviceStat {
            flushes: whole.and_then(|w| w.flushes),
            flush_ms: whole.and_then(|w| w.flush_ms),
            ..own
        })
    }

    /// Device bytes per second written while this process does nothing,
    /// sampled over `window`.
    pub fn background_rate(&self, window: Duration) -> Option<f64> {
        let a = self.read()?;
        let t = Instant::now();
        std::thread::sleep(window);
        let b = self.read()?;
        let secs = t.elapsed().as_secs_f64().max(1e-3);
        Some(b.since(&a).write_bytes as f64 / secs)
    }
}

/// How many times the background's expected bytes a cell must write for
/// its device figures to be its own.
pub const NOISE_FACTOR: f64 = 20.0;

/// True when `device_bytes` written over `secs` are less than
/// [`NOISE_FACTOR`] times what the background rate alone would have
/// written in that time: the cell's device figures are mostly someone
/// else's I/O. A quiet background (rate 0) never makes a cell noisy.
pub fn is_noisy(device_bytes: u64, secs: f64, background_bytes_per_sec: f64) -> bool {
    let expected = background_bytes_per_sec.max(0.0) * secs.max(0.0);
    expected > 0.0 && (device_bytes as f64) < NOISE_FACTOR * expected
}

/// Sync latency below this on a rotational device cannot have waited for
/// the platter (a 15k rpm disk needs about 2 ms per rotation).
pub const ROTATIONAL_MIN_SYNC_US: f64 = 1000.0;

/// What a probe of per-write syncs says about the disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncEvidence {
    /// Sync calls made.
    pub syncs: u64,
    /// Device flush requests seen meanwhile (`None` without flush counters).
    pub flushes: Option<u64>,
    /// Median sync latency.
    pub sync_p50_us: f64,
    /// Whether the device reports itself rotational.
    pub rotational: Option<bool>,
    /// The device's write-cache mode (`write back`, `write through`).
    pub write_cache: Option<&'static str>,
}

/// Reasons to distrust durable-write figures, empty when there are none:
/// syncs that produced no device flush (a write-through or absent cache,
/// `nobarrier`, or a virtual disk that drops flushes), and syncs faster
/// than a rotational medium allows (a volatile cache acknowledging them).
pub fn lying_disk_doubts(e: &SyncEvidence) -> Vec<SyncDoubt> {
    let mut out = Vec::new();
    if e.syncs >= 10 {
        if let Some(f) = e.flushes {
            if (f as f64) < 0.5 * e.syncs as f64 {
                out.push(SyncDoubt::FewFlushes {
                    flushes: f,
                    syncs: e.syncs,
                    write_through: e.write_cache == Some("write through"),
                });
            }
        }
    }
    if e.rotational == Some(true) && e.syncs > 0 && e.sync_p50_us < ROTATIONAL_MIN_SYNC_US {
        out.push(SyncDoubt::FastPlatter {
            sync_p50_us: e.sync_p50_us,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_11_15_and_17_field_lines() {
        let l11 = "13013 3952 2444594 38912 10079 49612 33298280 169017 0 15412 210946";
        let l15 = format!("{l11} 4 5 6 7");
        let l17 = format!("{l15} 3012 109");
        let s11 = DeviceStat::parse(l11).unwrap();
        assert_eq!(s11.write_ios, 10079);
        assert_eq!(s11.write_bytes, 33298280 * 512);
        assert_eq!((s11.flushes, s11.flush_ms), (None, None));
        let s15 = DeviceStat::parse(&l15).unwrap();
        assert_eq!((s15.write_ios, s15.flushes), (10079, None));
        let s17 = DeviceStat::parse(&l17).unwrap();
        assert_eq!((s17.flushes, s17.flush_ms), (Some(3012), Some(109)));
        assert_eq!(s17.write_bytes, s11.write_bytes);
    }

    #[test]
    fn rejects_short_or_garbled_lines() {
        assert_eq!(DeviceStat::parse(""), None);
        assert_eq!(DeviceStat::parse("1 2 3 4 5 6 7 8 9 10"), None);
        assert_eq!(DeviceStat::parse("1 2 3 4 x 6 7 8 9 10 11"), None);
    }

    #[test]
    fn differences_never_underflow() {
        let a = DeviceStat::parse("0 0 0 0 10 0 100 0 0 0 0 0 0 0 0 5 7").unwrap();
        let b = DeviceStat::parse("0 0 0 0 15 0 300 0 0 0 0 0 0 0 0 9 8").unwrap();
        let d = b.since(&a);
        assert_eq!(
            (d.write_ios, d.write_bytes, d.flushes, d.flush_ms),
            (5, 200 * 512, Some(4), Some(1))
        );
        let reset = a.since(&b);
        assert_eq!((reset.write_ios, reset.flushes), (0, Some(0)));
        let old = DeviceStat::parse("0 0 0 0 15 0 300 0 0 0 0").unwrap();
        assert_eq!(old.since(&a).flushes, None);
    }

    #[test]
    fn noisy_rule() {
        // 1 MB/s of background over 2 s is 2 MB expected: under 40 MB is noisy.
        assert!(is_noisy(39_000_000, 2.0, 1e6));
        assert!(!is_noisy(41_000_000, 2.0, 1e6));
        // A quiet background never flags a cell, even one that wrote nothing.
        assert!(!is_noisy(0, 2.0, 0.0));
        // A cell that wrote nothing next to any background is noisy.
        assert!(is_noisy(0, 2.0, 4096.0));
    }

    #[test]
    fn lying_disk_rule() {
        let honest = SyncEvidence {
            syncs: 1000,
            flushes: Some(1000),
            sync_p50_us: 200.0,
            rotational: Some(false),
            write_cache: Some("write back"),
        };
        assert!(lying_disk_doubts(&honest).is_empty());
        let no_flush = SyncEvidence {
            flushes: Some(3),
            write_cache: Some("write through"),
            ..honest
        };
        let w = lying_disk_doubts(&no_flush);
        assert_eq!(
            w,
            [SyncDoubt::FewFlushes {
                flushes: 3,
                syncs: 1000,
                write_through: true
            }]
        );
        assert!(w[0].to_string().contains("\"write through\""), "{w:?}");
        let fast_platter = SyncEvidence {
            rotational: Some(true),
            ..honest
        };
        let w = lying_disk_doubts(&fast_platter);
        assert_eq!(w, [SyncDoubt::FastPlatter { sync_p50_us: 200.0 }]);
        let slow_platter = SyncEvidence {
            rotational: Some(true),
            sync_p50_us: 8000.0,
            ..honest
        };
        assert!(lying_disk_doubts(&slow_platter).is_empty());
        // Without flush counters the flush rule cannot judge.
        let unknown = SyncEvidence {
            flushes: None,
            ..no_flush
        };
        assert!(lying_disk_doubts(&unknown).is_empty());
    }
}
