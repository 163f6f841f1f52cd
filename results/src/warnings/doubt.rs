//! What the probe saw that says a sync may not reach stable storage.
//!
//! ## Format
//!
//! `probe.csv` keeps a pattern's doubts in its `warning` column, each as
//! its sentence (`Display`), ` | `-separated. [`SyncDoubt::parse`] reads
//! them back; a sentence it does not know (written by another version)
//! stays as [`SyncDoubt::Recorded`] text.

use std::fmt;

/// One reason to doubt a probe pattern's syncs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SyncDoubt {
    /// The filesystem keeps files in memory: a sync does nothing.
    InMemory {
        /// `tmpfs`, `ramfs`.
        filesystem: String,
    },
    /// Fewer device flushes than half the syncs: a sync does not reach
    /// stable media through a cache flush.
    FewFlushes {
        /// Device flush requests seen.
        flushes: u64,
        /// Sync calls made.
        syncs: u64,
        /// The device reports its write cache as "write through" (so the
        /// kernel sends no flush), rather than flushes being dropped.
        write_through: bool,
    },
    /// Median sync faster than a platter turns on a device that reports
    /// itself rotational: a volatile cache acknowledges syncs.
    FastPlatter {
        /// Median sync latency.
        sync_p50_us: f64,
    },
    /// A sentence this version does not know, kept as written.
    Recorded(String),
}

const WRITE_THROUGH: &str =
    " (the device reports its write cache as \"write through\", so the kernel sends no flush)";
const DROPPED: &str = " (nobarrier, a write-through cache, or a virtual disk that drops flushes)";
const NOT_THROUGH_FLUSH: &str = "a sync does not reach stable media through a cache flush, so these are not durable-write figures unless the cache is non-volatile";
const PLATTER: &str = "on a device that reports itself rotational: faster than a platter turns, so a volatile cache (or the host, for a virtual disk) acknowledges syncs: these are not durable-write figures";

impl SyncDoubt {
    /// Reads one sentence of `probe.csv`'s `warning` column back.
    pub fn parse(text: &str) -> SyncDoubt {
        let text = text.trim();
        let parsed = if let Some((fs, _)) = text
            .split_once(" keeps files in memory")
            .filter(|(fs, _)| !fs.is_empty() && !fs.contains(' '))
        {
            Some(SyncDoubt::InMemory {
                filesystem: fs.to_string(),
            })
        } else if let Some((f, rest)) = text.split_once(" device flushes for ") {
            rest.split_once(" syncs").and_then(|(s, _)| {
                Some(SyncDoubt::FewFlushes {
                    flushes: f.parse().ok()?,
                    syncs: s.parse().ok()?,
                    write_through: rest.contains("\"write through\""),
                })
            })
        } else if let Some(rest) = text
            .strip_prefix("median sync ")
            .filter(|r| r.contains("rotational"))
        {
            rest.split_once(" us").and_then(|(v, _)| {
                Some(SyncDoubt::FastPlatter {
                    sync_p50_us: v.parse().ok()?,
                })
            })
        } else {
            None
        };
        parsed.unwrap_or_else(|| SyncDoubt::Recorded(text.to_string()))
    }

    /// Reads a whole `warning` column: nothing when it is empty.
    pub fn parse_all(column: &str) -> Vec<SyncDoubt> {
        column
            .split(" | ")
            .filter(|s| !s.trim().is_empty())
            .map(SyncDoubt::parse)
            .collect()
    }

    /// The `warning` column of these doubts.
    pub fn column(doubts: &[SyncDoubt]) -> String {
        doubts
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" | ")
    }

    /// The sentence for several patterns' doubts of the same kind: flushes
    /// and syncs summed, the range of median syncs.
    pub(super) fn merged(doubts: &[&SyncDoubt]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let (mut flushes, mut syncs, mut few, mut through) = (0u64, 0u64, false, false);
        let mut p50: Vec<f64> = Vec::new();
        for d in doubts {
            match d {
                SyncDoubt::FewFlushes {
                    flushes: f,
                    syncs: s,
                    write_through,
                } => {
                    (flushes, syncs, few) = (flushes + f, syncs + s, true);
                    through |= *write_through;
                }
                SyncDoubt::FastPlatter { sync_p50_us } => p50.push(*sync_p50_us),
                other => {
                    let text = other.to_string();
                    if !out.contains(&text) {
                        out.push(text);
                    }
                }
            }
        }
        if few {
            out.insert(
                0,
                SyncDoubt::FewFlushes {
                    flushes,
                    syncs,
                    write_through: through,
                }
                .to_string(),
            );
        }
        let lo = p50.iter().copied().reduce(f64::min);
        let hi = p50.iter().copied().reduce(f64::max);
        match (lo, hi) {
            (Some(lo), Some(hi)) if format!("{lo:.0}") != format!("{hi:.0}") => {
                out.push(format!("median syncs of {lo:.0} to {hi:.0} us {PLATTER}"))
            }
            (Some(lo), _) => out.push(SyncDoubt::FastPlatter { sync_p50_us: lo }.to_string()),
            _ => {}
        }
        out
    }
}

impl fmt::Display for SyncDoubt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncDoubt::InMemory { filesystem } => write!(
                f,
                "{filesystem} keeps files in memory: a sync does nothing and nothing survives power loss, so these are not durable-write figures"
            ),
            SyncDoubt::FewFlushes {
                flushes,
                syncs,
                write_through,
            } => write!(
                f,
                "{flushes} device flushes for {syncs} syncs{}: {NOT_THROUGH_FLUSH}",
                if *write_through {
                    WRITE_THROUGH
                } else {
                    DROPPED
                }
            ),
            SyncDoubt::FastPlatter { sync_p50_us } => {
                write!(f, "median sync {sync_p50_us:.0} us {PLATTER}")
            }
            SyncDoubt::Recorded(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sentence_reads_back_as_itself() {
        let all = [
            SyncDoubt::InMemory {
                filesystem: "tmpfs".into(),
            },
            SyncDoubt::FewFlushes {
                flushes: 3,
                syncs: 1000,
                write_through: true,
            },
            SyncDoubt::FewFlushes {
                flushes: 0,
                syncs: 52,
                write_through: false,
            },
            SyncDoubt::FastPlatter { sync_p50_us: 212.0 },
            SyncDoubt::Recorded("syncs produced no device flush".into()),
        ];
        let column = SyncDoubt::column(&all);
        assert_eq!(SyncDoubt::parse_all(&column), all, "{column}");
        assert!(SyncDoubt::parse_all(" ").is_empty());
    }

    #[test]
    fn the_sentences_of_earlier_versions_are_read() {
        // Earlier versions ended this sentence with `syncs; these are`.
        let old = "median sync 90 us on a device that reports itself rotational: faster than a platter turns, so a volatile cache (or the host, for a virtual disk) acknowledges syncs; these are not durable-write figures";
        assert_eq!(
            SyncDoubt::parse(old),
            SyncDoubt::FastPlatter { sync_p50_us: 90.0 }
        );
        let garbled = "x device flushes for 10 syncs";
        assert_eq!(
            SyncDoubt::parse(garbled),
            SyncDoubt::Recorded(garbled.into())
        );
    }

    #[test]
    fn doubts_of_several_patterns_are_summed_into_one_sentence() {
        let a = SyncDoubt::FewFlushes {
            flushes: 1,
            syncs: 100,
            write_through: false,
        };
        let b = SyncDoubt::FewFlushes {
            flushes: 2,
            syncs: 300,
            write_through: true,
        };
        let (p, q) = (
            SyncDoubt::FastPlatter { sync_p50_us: 80.0 },
            SyncDoubt::FastPlatter { sync_p50_us: 120.0 },
        );
        let m = SyncDoubt::merged(&[&a, &p, &b, &q]);
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("3 device flushes for 400 syncs (the device reports its write cache as \"write through\""), "{m:?}");
        assert!(m[1].starts_with("median syncs of 80 to 120 us"), "{m:?}");
    }
}
