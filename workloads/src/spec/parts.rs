//! The field types of a workload spec: value size, operation mix, scan
//! length, key distribution.

use serde::{Deserialize, Deserializer, Serialize};

use super::de::*;

/// Value size in bytes: in TOML a number (`value_size = 100`) or a range
/// (`value_size = { min = 64, max = 1024 }`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ValueSize {
    /// Every value has this many bytes.
    Fixed(usize),
    /// Uniform in `min..=max` bytes.
    Uniform {
        /// Smallest value in bytes.
        min: usize,
        /// Largest value in bytes.
        max: usize,
    },
}

impl<'de> Deserialize<'de> for ValueSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueSizeVisitor)
    }
}

pub(super) struct ValueSizeVisitor;

impl<'de> serde::de::Visitor<'de> for ValueSizeVisitor {
    type Value = ValueSize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a size in bytes, or a table `{ min = .., max = .. }` of sizes in bytes")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ValueSize, E> {
        Ok(ValueSize::Fixed(to_size(v)?))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ValueSize, E> {
        Ok(ValueSize::Fixed(size_from_i64("value_size", v)?))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ValueSize, A::Error> {
        let (mut min, mut max) = (None, None);
        while let Some(k) = map.next_key::<String>()? {
            let v: i64 = map.next_value()?;
            match k.as_str() {
                "min" => min = Some(size_from_i64("value_size.min", v)?),
                "max" => max = Some(size_from_i64("value_size.max", v)?),
                other => {
                    return Err(serde::de::Error::unknown_field(other, &["min", "max"]));
                }
            }
        }
        match (min, max) {
            (Some(min), Some(max)) => Ok(ValueSize::Uniform { min, max }),
            (None, _) => Err(serde::de::Error::missing_field("min")),
            (_, None) => Err(serde::de::Error::missing_field("max")),
        }
    }
}

/// Largest value a spec may ask for: 64 MiB.
pub const MAX_VALUE_SIZE: usize = 64 << 20;

/// Most client threads a spec may ask for.
pub const MAX_THREADS: usize = 1024;

impl ValueSize {
    /// Mean size in bytes.
    pub fn mean(&self) -> f64 {
        match *self {
            ValueSize::Fixed(n) => n as f64,
            ValueSize::Uniform { min, max } => (min as f64 + max as f64) / 2.0,
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
    /// Puts to existing keys (a put on engines: no read needed).
    pub update: f64,
    /// Puts of new keys (numbered after the loaded ones).
    pub insert: f64,
    /// Deletes of existing keys.
    pub delete: f64,
    /// Range scans of `scan_length` keys from an existing key.
    pub scan: f64,
    /// Read, then put of the same existing key.
    pub read_modify_write: f64,
    /// Appends of new records to a log (puts of new keys, always in order).
    pub append: f64,
}

impl OperationMix {
    /// The proportions as (field name, value), in a fixed order.
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

    /// Share of operations that create new keys (insert and append).
    pub fn new_key_fraction(&self) -> f64 {
        let total = self.total();
        if total > 0.0 {
            (self.insert + self.append) / total
        } else {
            0.0
        }
    }

    /// Whether any operation writes (puts or deletes).
    pub fn writes(&self) -> bool {
        self.update + self.insert + self.delete + self.read_modify_write + self.append > 0.0
    }

    /// Whether any operation draws from existing keys.
    pub fn uses_existing_keys(&self) -> bool {
        self.read + self.update + self.delete + self.scan + self.read_modify_write > 0.0
    }
}

/// Keys per scan, uniform in `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanLength {
    /// Fewest keys per scan, at least 1. Default 1.
    #[serde(default = "one", deserialize_with = "de_scan_min")]
    pub min: usize,
    /// Most keys per scan. Default 100 (YCSB's `maxscanlength`).
    #[serde(deserialize_with = "de_scan_max")]
    pub max: usize,
}

pub(super) fn one() -> usize {
    1
}
pub(super) fn de_scan_min<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    count(d, "scan_length.min")
}
pub(super) fn de_scan_max<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    count(d, "scan_length.max")
}

impl Default for ScanLength {
    fn default() -> Self {
        ScanLength { min: 1, max: 100 }
    }
}

/// How operations choose among existing keys (key numbers
/// `0..record_count` plus those inserted so far).
///
/// `zipfian` and `scrambled-zipfian` differ in where the popular keys are
/// and in how exact the skew is. `zipfian` makes key number `i` the
/// `i+1`-th most popular, with probability exactly proportional to
/// `1/(i+1)^constant` over the existing keys: the hot keys are the oldest,
/// and with hashed key order they are scattered in key order anyway.
/// `scrambled-zipfian` (YCSB's default `requestdistribution=zipfian`) draws
/// a rank from a zipfian over 10^10 items and hashes it (FNV-1a) onto the
/// key numbers: hot keys are spread over all key numbers, old and new, and
/// because many ranks fold onto each key the popularity curve is only
/// approximately zipfian: the top key keeps rank 0's share (3.8% at 0.99)
/// but the tail is flatter than a true zipfian over the key count. YCSB's
/// documentation makes the same caveat.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum KeyDistribution {
    /// Key numbers in turn, wrapping around; thread `t` of `T` starts at
    /// `t/T` of the keys.
    Sequential,
    /// Every existing key equally likely.
    Uniform,
    /// YCSB's `ZipfianGenerator` over key numbers (Gray et al.): key number
    /// `i` has probability proportional to `1/(i+1)^constant`.
    Zipfian {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// YCSB's `ScrambledZipfianGenerator`: a zipfian rank over 10^10 items,
    /// FNV-1a hashed onto the key numbers. Approximately zipfian.
    ScrambledZipfian {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// YCSB D's `latest`: a zipfian over the age of keys, newest first.
    Latest {
        /// The skew, in (0, 1). Default 0.99.
        #[serde(default = "default_zipf")]
        constant: f64,
    },
    /// YCSB's hotspot: the first `hot_fraction_keys` of the key numbers take
    /// `hot_fraction_ops` of the operations; uniform within each set.
    Hotspot {
        /// Fraction of the keys in the hot set, in (0, 1). Default 0.2.
        #[serde(default = "default_hot_keys")]
        hot_fraction_keys: f64,
        /// Fraction of the operations on the hot set, in [0, 1]. Default 0.8.
        #[serde(default = "default_hot_ops")]
        hot_fraction_ops: f64,
    },
}

pub(super) fn default_zipf() -> f64 {
    0.99
}
pub(super) fn default_hot_keys() -> f64 {
    0.2
}
pub(super) fn default_hot_ops() -> f64 {
    0.8
}

impl KeyDistribution {
    /// Short text for tables: `zipfian(0.99)`, `hotspot(20% keys/80% ops)`.
    pub fn describe(&self) -> String {
        match *self {
            KeyDistribution::Sequential => "sequential".into(),
            KeyDistribution::Uniform => "uniform".into(),
            KeyDistribution::Zipfian { constant } => format!("zipfian({constant})"),
            KeyDistribution::ScrambledZipfian { constant } => {
                format!("scrambled-zipfian({constant})")
            }
            KeyDistribution::Latest { constant } => format!("latest({constant})"),
            KeyDistribution::Hotspot {
                hot_fraction_keys,
                hot_fraction_ops,
            } => format!(
                "hotspot({:.0}% keys/{:.0}% ops)",
                hot_fraction_keys * 100.0,
                hot_fraction_ops * 100.0
            ),
        }
    }
}
