//! [`WorkloadSpec`]: what a workload does, loadable from TOML.
//!
//! Every field has a default, so a TOML file names only what it changes.
//! Unknown fields are errors. Fields that are wrong on their own (a zero
//! size, a zipfian constant of 1) are rejected while parsing, so the TOML
//! error names the line; rules between fields (count and duration both set,
//! a key space too small for the keys) are checked by
//! [`WorkloadSpec::validate`] after parsing.
//!
//! [`parts`] holds the field types (value size, mix, scan length, key
//! distribution), [`checks`] the per-field checks and the deserializers
//! that run them.

mod checks;
mod de;
mod parts;

pub use checks::DEFAULT_OPERATION_COUNT;
use checks::*;
pub use parts::{
    KeyDistribution, OperationMix, ScanLength, ValueSize, MAX_THREADS, MAX_VALUE_SIZE,
};

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::keys::{key_for, key_space};
use crate::WorkloadError;

/// A workload: how many keys, what sizes, which operations in what
/// proportion, which keys, how many threads, how fast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    /// Name in results and charts. Default `custom`; a TOML file without a
    /// name takes the file's stem.
    pub name: String,
    /// Keys inserted by the load phase (key numbers `0..record_count`), and
    /// the keys reads, updates, deletes and scans draw from. Default 100000.
    #[serde(deserialize_with = "de_record_count")]
    pub record_count: u64,
    /// Whether a load phase inserts the `record_count` keys before the
    /// measured phase (`false`: they are assumed to exist). Default true.
    pub load: bool,
    /// Operations in the measured phase, over all threads. Default 100000
    /// when `duration_secs` is not set either; setting both is an error.
    #[serde(deserialize_with = "de_operation_count")]
    pub operation_count: Option<u64>,
    /// Length of the measured phase in seconds, instead of an operation
    /// count. Default unset.
    #[serde(deserialize_with = "de_duration_secs")]
    pub duration_secs: Option<f64>,
    /// Key size in bytes, at least 2 (`k` and one digit). Default 16.
    #[serde(deserialize_with = "de_key_size")]
    pub key_size: usize,
    /// Value size in bytes: a number, or `{ min = .., max = .. }` for a
    /// uniform range. Default 100.
    #[serde(deserialize_with = "de_value_size")]
    pub value_size: ValueSize,
    /// Operation proportions (non-negative; normalised by their sum).
    /// Default: all zero, so a spec must give at least one.
    #[serde(deserialize_with = "de_mix")]
    pub mix: OperationMix,
    /// Keys per scan, uniform in `min..=max`. Default 1..=100.
    #[serde(deserialize_with = "de_scan_length")]
    pub scan_length: ScanLength,
    /// Which existing keys reads, updates, deletes and scans choose.
    /// Default uniform.
    #[serde(deserialize_with = "de_distribution")]
    pub distribution: KeyDistribution,
    /// Whether key numbers map to keys in order (`k..01`, `k..02`, as
    /// db_bench's fillseq) or through a fixed permutation that scatters
    /// consecutive inserts over the key space (YCSB's
    /// `insertorder=hashed`). Appends are always in order. Default false.
    pub ordered_keys: bool,
    /// Client threads, 1 to 1024. Default 1.
    #[serde(deserialize_with = "de_threads")]
    pub threads: usize,
    /// Target rate in operations/s over all threads. Set, the workload is
    /// open loop: each operation has an intended start time and latency is
    /// measured from it. Default unset (closed loop, as fast as possible).
    #[serde(deserialize_with = "de_target_rate")]
    pub target_rate: Option<f64>,
    /// RNG seed: the same spec and seed give the same operations on every
    /// machine. Default 0x5EED (24301). In TOML at most 2^63 - 1 (TOML
    /// integers are signed 64-bit).
    pub seed: u64,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        WorkloadSpec {
            name: "custom".into(),
            record_count: 100_000,
            load: true,
            operation_count: None,
            duration_secs: None,
            key_size: 16,
            value_size: ValueSize::Fixed(100),
            mix: OperationMix::default(),
            scan_length: ScanLength::default(),
            distribution: KeyDistribution::Uniform,
            ordered_keys: false,
            threads: 1,
            target_rate: None,
            seed: 0x5EED,
        }
    }
}

impl WorkloadSpec {
    /// Checks every field and the rules between fields; the error names
    /// the field.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        if self.name.trim().is_empty() {
            return Err(invalid(("name", "must not be empty".into())));
        }
        match (self.operation_count, self.duration_secs) {
            (Some(_), Some(_)) => {
                return Err(invalid((
                    "duration_secs",
                    "set either operation_count or duration_secs, not both".into(),
                )))
            }
            (Some(n), None) => check_operation_count(n).map_err(invalid)?,
            (None, Some(d)) => check_duration_secs(d).map_err(invalid)?,
            (None, None) => {}
        }
        check_key_size(self.key_size).map_err(invalid)?;
        check_value_size(self.value_size).map_err(invalid)?;
        check_mix(&self.mix).map_err(invalid)?;
        check_scan_length(self.scan_length).map_err(invalid)?;
        check_distribution(&self.distribution).map_err(invalid)?;
        check_threads(self.threads).map_err(invalid)?;
        if let Some(r) = self.target_rate {
            check_target_rate(r).map_err(invalid)?;
        }
        if self.mix.uses_existing_keys() && self.record_count == 0 {
            return Err(invalid((
                "record_count",
                "the mix reads, updates, deletes or scans existing keys, so record_count must be > 0"
                    .into(),
            )));
        }
        let needed = self.record_count.saturating_add(self.expected_new_keys());
        let space = key_space(self.key_size);
        if needed > space {
            return Err(invalid((
                "key_size",
                format!(
                    "{} bytes hold {space} distinct keys (`k` and {} digits), but \
                     record_count + inserts need {needed}",
                    self.key_size,
                    self.key_size - 1
                ),
            )));
        }
        Ok(())
    }

    /// Operations of the measured phase over all threads: `operation_count`,
    /// or 100000 when neither it nor `duration_secs` is set; `None` in
    /// duration mode.
    pub fn op_count(&self) -> Option<u64> {
        match (self.operation_count, self.duration_secs) {
            (Some(n), _) => Some(n),
            (None, None) => Some(DEFAULT_OPERATION_COUNT),
            (None, Some(_)) => None,
        }
    }

    /// New keys the measured phase creates at most (every insert and append
    /// when the mix has any; each thread's share is exact, not sampled, only
    /// when the mix is all inserts, so this counts all operations as
    /// possible inserts whenever the mix has some). 0 in duration mode:
    /// there a stream that runs out of key space ends early.
    pub fn expected_new_keys(&self) -> u64 {
        if self.mix.new_key_fraction() > 0.0 {
            self.op_count().unwrap_or(0)
        } else {
            0
        }
    }

    /// The key for key number `index`, as this spec's streams write it
    /// (loaded keys are `0..record_count`; for appends use
    /// [`key_for`]`(index, key_size, true)`).
    pub fn key(&self, index: u64) -> Vec<u8> {
        key_for(index, self.key_size, self.ordered_keys)
    }

    /// Mean user bytes (key + value) written per measured operation:
    /// updates, inserts, appends and read-modify-writes write a key and a
    /// value, deletes a key; reads and scans write nothing.
    pub fn user_bytes_per_op(&self) -> f64 {
        let m = &self.mix;
        let total = m.total();
        if total <= 0.0 {
            return 0.0;
        }
        let key = self.key_size as f64;
        let put = m.update + m.insert + m.append + m.read_modify_write;
        (put * (key + self.value_size.mean()) + m.delete * key) / total
    }

    /// Whether an engine with `caps` can serve this mix; what it lacks if
    /// not. Reads and read-modify-writes need point reads, scans need range
    /// scans, deletes need deletes; updates, inserts and appends are puts,
    /// which every engine has.
    pub fn check_supported(
        &self,
        caps: &capabilities::Capabilities,
    ) -> Result<(), crate::WorkloadError> {
        let m = &self.mix;
        let mut missing = Vec::new();
        if m.read > 0.0 && !caps.point_reads {
            missing.push(Missing::PointReads);
        }
        if m.read_modify_write > 0.0 && !caps.point_reads {
            missing.push(Missing::PointReadsToModify);
        }
        if m.scan > 0.0 && !caps.range_scans {
            missing.push(Missing::RangeScans);
        }
        if m.delete > 0.0 && !caps.deletes {
            missing.push(Missing::Deletes);
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(crate::WorkloadError::Unsupported {
                workload: self.name.clone(),
                lacks: missing,
            })
        }
    }

    /// One line for listings: mix, keys, sizes.
    pub fn describe(&self) -> String {
        let total = self.mix.total().max(f64::MIN_POSITIVE);
        let mix: Vec<String> = self
            .mix
            .entries()
            .iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(n, v)| format!("{:.0}% {n}", v / total * 100.0))
            .collect();
        let keys = if self.mix.uses_existing_keys() {
            self.distribution.describe()
        } else if self.ordered_keys || self.mix.insert == 0.0 {
            "new keys in order".into()
        } else {
            "new keys, scattered".into()
        };
        let values = match self.value_size {
            ValueSize::Fixed(n) => format!("{n} B values"),
            ValueSize::Uniform { min, max } => format!("{min}-{max} B values"),
        };
        format!(
            "{}; {keys}; {} keys loaded; {} B keys, {values}",
            mix.join(", "),
            if self.load { self.record_count } else { 0 },
            self.key_size
        )
    }

    /// Serialises to TOML (which [`WorkloadSpec::from_toml`] reads back).
    pub fn to_toml(&self) -> Result<String, WorkloadError> {
        toml::to_string_pretty(self).map_err(|e| WorkloadError::Toml {
            path: PathBuf::from("<spec>"),
            message: e.to_string(),
        })
    }

    /// Parses and validates TOML text; `path` names the source in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, WorkloadError> {
        let mut spec: WorkloadSpec = toml::from_str(text).map_err(|e| WorkloadError::Toml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        if spec.name == "custom" {
            if let Some(stem) = path.file_stem() {
                spec.name = stem.to_string_lossy().into_owned();
            }
        }
        spec.validate().map_err(|e| WorkloadError::File {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(spec)
    }
}

/// What a workload needs that an engine lacks
/// ([`WorkloadSpec::check_supported`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The mix reads keys; the engine has no point reads.
    PointReads,
    /// The mix reads keys to modify them; the engine has no point reads.
    PointReadsToModify,
    /// The mix scans key ranges; the engine has no range scans.
    RangeScans,
    /// The mix deletes keys; the engine has no deletes.
    Deletes,
}

impl Missing {
    /// `a; b`: the reasons of `all`, for an error message.
    pub(crate) fn list(all: &[Missing]) -> String {
        all.iter()
            .map(Missing::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Missing::PointReads => "reads keys, and the engine has no point reads",
            Missing::PointReadsToModify => {
                "reads keys to modify them, and the engine has no point reads"
            }
            Missing::RangeScans => "scans key ranges, and the engine has no range scans",
            Missing::Deletes => "deletes keys, and the engine has no deletes",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(mix: OperationMix) -> WorkloadSpec {
        WorkloadSpec {
            mix,
            ..WorkloadSpec::default()
        }
    }

    #[test]
    fn programmatic_specs_get_the_same_checks_as_files() {
        let reads = OperationMix {
            read: 1.0,
            ..OperationMix::default()
        };
        let cases: [(WorkloadSpec, &str); 7] = [
            (spec(OperationMix::default()), "mix"),
            (
                WorkloadSpec {
                    value_size: ValueSize::Fixed(0),
                    ..spec(reads)
                },
                "value_size",
            ),
            (
                WorkloadSpec {
                    distribution: KeyDistribution::Zipfian { constant: 1.0 },
                    ..spec(reads)
                },
                "distribution.constant",
            ),
            (
                WorkloadSpec {
                    threads: 0,
                    ..spec(reads)
                },
                "threads",
            ),
            (
                WorkloadSpec {
                    operation_count: Some(0),
                    ..spec(reads)
                },
                "operation_count",
            ),
            (
                WorkloadSpec {
                    record_count: 0,
                    ..spec(reads)
                },
                "record_count",
            ),
            (
                WorkloadSpec {
                    target_rate: Some(f64::NAN),
                    ..spec(reads)
                },
                "target_rate",
            ),
        ];
        for (s, field) in cases {
            match s.validate() {
                Err(WorkloadError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        spec(reads).validate().expect("a read mix is valid");
    }

    #[test]
    fn key_space_counts_inserts() {
        let inserts = OperationMix {
            insert: 1.0,
            ..OperationMix::default()
        };
        // 3 bytes: 100 keys. 60 loaded + 40 inserts fit; 41 do not.
        let fits = WorkloadSpec {
            key_size: 3,
            record_count: 60,
            operation_count: Some(40),
            ..spec(inserts)
        };
        fits.validate().expect("100 keys fit");
        let over = WorkloadSpec {
            operation_count: Some(41),
            ..fits
        };
        let err = over.validate().unwrap_err().to_string();
        assert!(err.contains("key_size") && err.contains("101"), "{err}");
    }

    #[test]
    fn user_bytes_per_op_weighs_writes() {
        let s = WorkloadSpec {
            key_size: 10,
            value_size: ValueSize::Uniform { min: 50, max: 150 },
            ..spec(OperationMix {
                read: 2.0,
                update: 1.0,
                delete: 1.0,
                ..OperationMix::default()
            })
        };
        // (1 * (10 + 100) + 1 * 10) / 4
        assert!((s.user_bytes_per_op() - 30.0).abs() < 1e-9);
    }
}
