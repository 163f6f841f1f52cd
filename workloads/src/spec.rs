//! [`WorkloadSpec`]: what a workload does, loadable from TOML.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::WorkloadError;

/// A workload: how many keys, what sizes, which operations in what
/// proportion, which keys, how many threads, how fast. Every field has a
/// default, so a TOML file only names what it changes; unknown fields are
/// errors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkloadSpec {
    /// Name in results and charts. Default `custom` (a TOML file's stem when loaded from a file without one).
    pub name: String,
    /// Keys inserted by the load phase (and the key space that reads,
    /// updates and deletes draw from). Default 100000.
    pub record_count: u64,
    /// Whether a load phase inserts `record_count` keys before the measured
    /// phase. Default true.
    pub load: bool,
    /// Operations in the measured phase, over all threads. Default 100000
    /// when `duration_secs` is not set either; setting both is an error.
    pub operation_count: Option<u64>,
    /// Length of the measured phase in seconds, instead of an operation count. Default unset.
    pub duration_secs: Option<f64>,
    /// Key size in bytes (at least 2). Default 16.
    pub key_size: usize,
    /// Value size in bytes: a number, or `{ min = .., max = .. }` for a uniform range. Default 100.
    pub value_size: ValueSize,
    /// Operation proportions (any non-negative numbers; they are normalised).
    pub mix: OperationMix,
    /// Keys returned per scan, uniform in `min..=max`. Default 1..=100.
    pub scan_length: ScanLength,
    /// Which keys operations choose. Default uniform.
    pub distribution: KeyDistribution,
    /// Whether key numbers map to keys in order (`k000..001`, `k000..002`)
    /// or through a fixed permutation that scatters consecutive inserts over
    /// the key space (YCSB's `insertorder=hashed`). Default false (hashed).
    pub ordered_keys: bool,
    /// Client threads. Default 1.
    pub threads: usize,
    /// Target rate in operations/s over all threads (open loop: each
    /// operation has an intended start time and latency is measured from
    /// it). Default unset (closed loop, as fast as possible).
    pub target_rate: Option<f64>,
    /// RNG seed: the same seed gives the same operations everywhere. Default 0x5EED.
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

/// Value size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ValueSize {
    /// Every value has this many bytes.
    Fixed(usize),
    /// Uniform in `min..=max` bytes.
    Uniform {
        /// Smallest value.
        min: usize,
        /// Largest value.
        max: usize,
    },
}

impl ValueSize {
    /// Mean size in bytes.
    pub fn mean(&self) -> usize {
        match *self {
            ValueSize::Fixed(n) => n,
            ValueSize::Uniform { min, max } => (min + max) / 2,
        }
    }

    /// Largest size in bytes.
    pub fn max(&self) -> usize {
        match *self {
            ValueSize::Fixed(n) => n,
            ValueSize::Uniform { max, .. } => max,
        }
    }
}

/// Operation proportions. Missing operations are 0; the sum must be > 0.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OperationMix {
    /// Point reads of existing keys.
    pub read: f64,
    /// Puts to existing keys.
    pub update: f64,
    /// Puts of new keys (after the loaded ones).
    pub insert: f64,
    /// Deletes of existing keys.
    pub delete: f64,
    /// Range scans starting at an existing key.
    pub scan: f64,
    /// Read then put of the same key.
    pub read_modify_write: f64,
    /// Appends of new records to a log (put of a new, ordered key).
    pub append: f64,
}

impl OperationMix {
    /// The proportions as (name, value), in a fixed order.
    pub fn entries(&self) -> [(&'static str, f64); 7] {
        [
            ("read", self.read),
            ("update", self.update),
            ("insert", self.insert),
            ("delete", self.delete),
            ("scan", self.scan),
            ("read_modify_write", self.read_modify_write),
            ("append", self.append),
        ]
    }

    /// Sum of the proportions.
    pub fn total(&self) -> f64 {
        self.entries().iter().map(|(_, v)| v).sum()
    }
}

/// Scan lengths, uniform in `min..=max` keys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanLength {
    /// Fewest keys per scan (at least 1).
    pub min: usize,
    /// Most keys per scan.
    pub max: usize,
}

impl Default for ScanLength {
    fn default() -> Self {
        ScanLength { min: 1, max: 100 }
    }
}

/// How operations choose among existing keys.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Key 0, 1, 2, ... in turn (wrapping around).
    Sequential,
    /// Every existing key equally likely.
    Uniform,
    /// Zipfian over key numbers (key 0 most popular), YCSB's
    /// `ZipfianGenerator` (Gray et al.): P(rank i) proportional to 1/i^constant.
    Zipfian {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// YCSB's `ScrambledZipfianGenerator`: a zipfian rank hashed (FNV-1a)
    /// onto the key space, so popular keys are scattered instead of being the
    /// lowest numbers. The hash folds ranks together, so the popularity of
    /// keys is only approximately zipfian (YCSB's own documentation notes
    /// this); use `zipfian` when the exact distribution matters.
    ScrambledZipfian {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// Recently inserted keys most popular (YCSB D): zipfian over the age
    /// of keys, newest first.
    Latest {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// A hot set of `hot_keys` (fraction of keys) takes `hot_ops` (fraction
    /// of operations); both uniform within.
    Hotspot {
        /// Fraction of keys in the hot set, in (0, 1). Default 0.2.
        #[serde(default = "default_hot_keys")]
        hot_keys: f64,
        /// Fraction of operations on the hot set, in [0, 1]. Default 0.8.
        #[serde(default = "default_hot_ops")]
        hot_ops: f64,
    },
}

fn default_zipf() -> f64 {
    0.99
}
fn default_hot_keys() -> f64 {
    0.2
}
fn default_hot_ops() -> f64 {
    0.8
}

impl KeyDistribution {
    /// Short text for tables: `zipfian(0.99)`, `hotspot(20%/80%)`.
    pub fn describe(&self) -> String {
        match *self {
            KeyDistribution::Sequential => "sequential".into(),
            KeyDistribution::Uniform => "uniform".into(),
            KeyDistribution::Zipfian { constant } => format!("zipfian({constant})"),
            KeyDistribution::ScrambledZipfian { constant } => {
                format!("scrambled-zipfian({constant})")
            }
            KeyDistribution::Latest { constant } => format!("latest({constant})"),
            KeyDistribution::Hotspot { hot_keys, hot_ops } => {
                format!(
                    "hotspot({:.0}% keys/{:.0}% ops)",
                    hot_keys * 100.0,
                    hot_ops * 100.0
                )
            }
        }
    }
}

/// Operations in the measured phase when a spec sets no count or duration.
pub const DEFAULT_OPERATION_COUNT: u64 = 100_000;

fn invalid(field: &'static str, reason: impl Into<String>) -> WorkloadError {
    WorkloadError::Invalid {
        field,
        reason: reason.into(),
    }
}

/// Distinct key numbers a key of `key_size` bytes can hold (`k` + digits).
pub fn key_space(key_size: usize) -> u64 {
    let digits = key_size.saturating_sub(1).min(19) as u32;
    10u64.saturating_pow(digits)
}

impl WorkloadSpec {
    /// Checks every field; errors name the field.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        if self.name.trim().is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        match (self.operation_count, self.duration_secs) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "operation_count",
                    "set either operation_count or duration_secs, not both",
                ))
            }
            (None, Some(d)) if !(d.is_finite() && d > 0.0) => {
                return Err(invalid(
                    "duration_secs",
                    format!("{d} is not a positive number of seconds"),
                ))
            }
            _ => {}
        }
        if self.key_size < 2 {
            return Err(invalid(
                "key_size",
                format!("{} bytes is too small (at least 2)", self.key_size),
            ));
        }
        if self.key_size > engines::record::MAX_KEY_LEN {
            return Err(invalid(
                "key_size",
                format!(
                    "{} bytes is over the limit of {}",
                    self.key_size,
                    engines::record::MAX_KEY_LEN
                ),
            ));
        }
        match self.value_size {
            ValueSize::Uniform { min, max } if min > max => {
                return Err(invalid(
                    "value_size",
                    format!("min {min} is larger than max {max}"),
                ))
            }
            v if v.max() > 64 << 20 => {
                return Err(invalid(
                    "value_size",
                    format!("{} bytes is over 64 MiB", v.max()),
                ))
            }
            _ => {}
        }
        for (name, v) in self.mix.entries() {
            if !(v.is_finite() && v >= 0.0) {
                return Err(WorkloadError::Invalid {
                    field: "mix",
                    reason: format!("{name} = {v} is not a non-negative proportion"),
                });
            }
        }
        if self.mix.total() <= 0.0 {
            return Err(invalid(
                "mix",
                "proportions sum to zero: give at least one operation a share",
            ));
        }
        if self.scan_length.min == 0 || self.scan_length.min > self.scan_length.max {
            return Err(invalid(
                "scan_length",
                format!(
                    "min {} / max {} must satisfy 1 <= min <= max",
                    self.scan_length.min, self.scan_length.max
                ),
            ));
        }
        match self.distribution {
            KeyDistribution::Zipfian { constant }
            | KeyDistribution::ScrambledZipfian { constant }
            | KeyDistribution::Latest { constant }
                if !(constant > 0.0 && constant < 1.0) =>
            {
                return Err(invalid(
                    "distribution.constant",
                    format!("{constant} is outside (0, 1): the zipfian generator needs 0 < constant < 1"),
                ));
            }
            KeyDistribution::Hotspot { hot_keys, hot_ops } => {
                if !(hot_keys > 0.0 && hot_keys < 1.0) {
                    return Err(invalid(
                        "distribution.hot_keys",
                        format!("{hot_keys} is outside (0, 1)"),
                    ));
                }
                if !(0.0..=1.0).contains(&hot_ops) {
                    return Err(invalid(
                        "distribution.hot_ops",
                        format!("{hot_ops} is outside [0, 1]"),
                    ));
                }
            }
            _ => {}
        }
        if self.threads == 0 || self.threads > 1024 {
            return Err(invalid(
                "threads",
                format!("{} is not between 1 and 1024", self.threads),
            ));
        }
        if let Some(r) = self.target_rate {
            if !(r.is_finite() && r > 0.0) {
                return Err(invalid(
                    "target_rate",
                    format!("{r} is not a positive rate"),
                ));
            }
        }
        let needs_existing = self.mix.read
            + self.mix.update
            + self.mix.delete
            + self.mix.scan
            + self.mix.read_modify_write
            > 0.0;
        if needs_existing && self.record_count == 0 {
            return Err(invalid("record_count", "the mix reads, updates, deletes or scans existing keys, so record_count must be > 0"));
        }
        let inserts = if self.mix.insert + self.mix.append > 0.0 {
            self.op_count().unwrap_or(0)
        } else {
            0
        };
        let space = key_space(self.key_size);
        if self.record_count.saturating_add(inserts) > space {
            return Err(invalid(
                "key_size",
                format!(
                    "{} bytes hold at most {space} distinct keys, but record_count + inserts need {}",
                    self.key_size,
                    self.record_count.saturating_add(inserts)
                ),
            ));
        }
        Ok(())
    }

    /// Operations of the measured phase: `operation_count`, or 100000 when
    /// neither it nor `duration_secs` is set; `None` in duration mode.
    pub fn op_count(&self) -> Option<u64> {
        match (self.operation_count, self.duration_secs) {
            (Some(n), _) => Some(n),
            (None, None) => Some(DEFAULT_OPERATION_COUNT),
            (None, Some(_)) => None,
        }
    }

    /// Whether an engine with `caps` can serve this mix; the reason if not.
    pub fn check_supported(&self, caps: &engines::Capabilities) -> Result<(), String> {
        let m = &self.mix;
        if (m.read > 0.0 || m.read_modify_write > 0.0) && !caps.point_reads {
            return Err(format!(
                "workload `{}` reads keys, and the engine has no point reads",
                self.name
            ));
        }
        if m.scan > 0.0 && !caps.range_scans {
            return Err(format!(
                "workload `{}` scans ranges, and the engine has no range scans",
                self.name
            ));
        }
        if m.delete > 0.0 && !caps.deletes {
            return Err(format!(
                "workload `{}` deletes keys, and the engine has no deletes",
                self.name
            ));
        }
        Ok(())
    }

    /// One line for listings: mix, distribution, sizes.
    pub fn describe(&self) -> String {
        let total = self.mix.total().max(f64::MIN_POSITIVE);
        let mix: Vec<String> = self
            .mix
            .entries()
            .iter()
            .filter(|(_, v)| *v > 0.0)
            .map(|(n, v)| format!("{:.0}% {n}", v / total * 100.0))
            .collect();
        let values = match self.value_size {
            ValueSize::Fixed(n) => format!("{n} B values"),
            ValueSize::Uniform { min, max } => format!("{min}-{max} B values"),
        };
        format!(
            "{}; {}; {} keys loaded{}; {} B keys, {values}",
            mix.join(", "),
            self.distribution.describe(),
            if self.load { self.record_count } else { 0 },
            if self.ordered_keys { " (ordered)" } else { "" },
            self.key_size
        )
    }

    /// Serialises to TOML.
    pub fn to_toml(&self) -> Result<String, WorkloadError> {
        toml::to_string_pretty(self).map_err(|e| WorkloadError::Toml {
            path: PathBuf::from("<spec>"),
            message: e.to_string(),
        })
    }

    /// Parses TOML text (`path` names the source in errors).
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
        spec.validate()?;
        Ok(spec)
    }
}
