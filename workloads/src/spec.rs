//! [`WorkloadSpec`]: what a workload does, loadable from TOML.
//!
//! Every field has a default, so a TOML file names only what it changes.
//! Unknown fields are errors. Fields that are wrong on their own (a zero
//! size, a zipfian constant of 1) are rejected while parsing, so the TOML
//! error names the line; rules between fields (count and duration both set,
//! a key space too small for the keys) are checked by
//! [`WorkloadSpec::validate`] after parsing.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

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

struct ValueSizeVisitor;

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

fn to_size<E: serde::de::Error>(v: u64) -> Result<usize, E> {
    usize::try_from(v).map_err(|_| E::custom(format!("{v} does not fit in usize")))
}

/// A size or count from a TOML integer (always signed), with an error that
/// names the field when it is negative.
fn size_from_i64<E: serde::de::Error, T: TryFrom<i64>>(field: &str, v: i64) -> Result<T, E> {
    T::try_from(v).map_err(|_| {
        let what = if v < 0 { "is negative" } else { "is too large" };
        E::custom(format!(
            "workload field `{field}`: {v} {what}: sizes and counts are non-negative integers"
        ))
    })
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

fn one() -> usize {
    1
}
fn de_scan_min<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    count(d, "scan_length.min")
}
fn de_scan_max<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
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

/// Operations in the measured phase when a spec sets no count or duration.
pub const DEFAULT_OPERATION_COUNT: u64 = 100_000;

/// A field and what is wrong with it.
type Problem = (&'static str, String);

fn check_operation_count(n: u64) -> Result<(), Problem> {
    if n == 0 {
        return Err(("operation_count", "must be at least 1".into()));
    }
    Ok(())
}

fn check_duration_secs(d: f64) -> Result<(), Problem> {
    if !(d.is_finite() && d > 0.0) {
        return Err((
            "duration_secs",
            format!("{d} is not a positive number of seconds"),
        ));
    }
    Ok(())
}

fn check_key_size(n: usize) -> Result<(), Problem> {
    let max = capabilities::MAX_KEY_LEN;
    if !(2..=max).contains(&n) {
        return Err((
            "key_size",
            format!("{n} bytes is outside 2..={max} (a key is `k` and at least one digit)"),
        ));
    }
    Ok(())
}

fn check_value_size(v: ValueSize) -> Result<(), Problem> {
    let (min, max) = match v {
        ValueSize::Fixed(n) => (n, n),
        ValueSize::Uniform { min, max } => (min, max),
    };
    if min == 0 {
        return Err(("value_size", "0 bytes: values need at least 1 byte".into()));
    }
    if min > max {
        return Err(("value_size", format!("min {min} is larger than max {max}")));
    }
    if max > MAX_VALUE_SIZE {
        return Err((
            "value_size",
            format!("{max} bytes is over the limit of {MAX_VALUE_SIZE} (64 MiB)"),
        ));
    }
    Ok(())
}

fn check_mix(m: &OperationMix) -> Result<(), Problem> {
    for (name, v) in m.entries() {
        if !(v.is_finite() && v >= 0.0) {
            return Err((
                "mix",
                format!("{name} = {v} is not a non-negative proportion"),
            ));
        }
    }
    if m.total() <= 0.0 {
        return Err((
            "mix",
            "proportions sum to zero: give at least one operation a share".into(),
        ));
    }
    Ok(())
}

fn check_scan_length(s: ScanLength) -> Result<(), Problem> {
    if s.min == 0 || s.min > s.max {
        return Err((
            "scan_length",
            format!("min {} / max {} must satisfy 1 <= min <= max", s.min, s.max),
        ));
    }
    Ok(())
}

fn check_distribution(d: &KeyDistribution) -> Result<(), Problem> {
    match *d {
        KeyDistribution::Zipfian { constant }
        | KeyDistribution::ScrambledZipfian { constant }
        | KeyDistribution::Latest { constant }
            if !(constant > 0.0 && constant < 1.0) =>
        {
            Err((
                "distribution.constant",
                format!(
                    "{constant} is outside (0, 1): YCSB's zipfian generator needs \
                     0 < constant < 1 (at 1 its exponent 1/(1-constant) is infinite)"
                ),
            ))
        }
        KeyDistribution::Hotspot {
            hot_fraction_keys,
            hot_fraction_ops,
        } => {
            if !(hot_fraction_keys > 0.0 && hot_fraction_keys < 1.0) {
                return Err((
                    "distribution.hot_fraction_keys",
                    format!("{hot_fraction_keys} is outside (0, 1)"),
                ));
            }
            if !(0.0..=1.0).contains(&hot_fraction_ops) {
                return Err((
                    "distribution.hot_fraction_ops",
                    format!("{hot_fraction_ops} is outside [0, 1]"),
                ));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_threads(n: usize) -> Result<(), Problem> {
    if !(1..=MAX_THREADS).contains(&n) {
        return Err(("threads", format!("{n} is not between 1 and {MAX_THREADS}")));
    }
    Ok(())
}

fn check_target_rate(r: f64) -> Result<(), Problem> {
    if !(r.is_finite() && r > 0.0) {
        return Err((
            "target_rate",
            format!("{r} is not a positive rate in operations/s"),
        ));
    }
    Ok(())
}

/// Deserializes a field and applies its check, so a bad value fails while
/// parsing and the TOML error carries its line.
fn checked<'de, D, T>(d: D, check: impl FnOnce(&T) -> Result<(), Problem>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = T::deserialize(d)?;
    check(&v).map_err(problem)?;
    Ok(v)
}

fn problem<E: serde::de::Error>((field, reason): Problem) -> E {
    E::custom(format!("workload field `{field}`: {reason}"))
}

/// A non-negative integer field, with a named error when it is negative.
fn count<'de, D: Deserializer<'de>, T: TryFrom<i64>>(d: D, field: &str) -> Result<T, D::Error> {
    size_from_i64(field, i64::deserialize(d)?)
}

fn de_record_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    count(d, "record_count")
}
fn de_operation_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = count(d, "operation_count")?;
    check_operation_count(n).map_err(problem)?;
    Ok(Some(n))
}
fn de_duration_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(d, |&s| check_duration_secs(s)).map(Some)
}
fn de_key_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = count(d, "key_size")?;
    check_key_size(n).map_err(problem)?;
    Ok(n)
}
fn de_value_size<'de, D: Deserializer<'de>>(d: D) -> Result<ValueSize, D::Error> {
    checked(d, |&v| check_value_size(v))
}
fn de_mix<'de, D: Deserializer<'de>>(d: D) -> Result<OperationMix, D::Error> {
    checked(d, check_mix)
}
fn de_scan_length<'de, D: Deserializer<'de>>(d: D) -> Result<ScanLength, D::Error> {
    checked(d, |&s| check_scan_length(s))
}
fn de_distribution<'de, D: Deserializer<'de>>(d: D) -> Result<KeyDistribution, D::Error> {
    checked(d, check_distribution)
}
fn de_threads<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = count(d, "threads")?;
    check_threads(n).map_err(problem)?;
    Ok(n)
}
fn de_target_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(d, |&r| check_target_rate(r)).map(Some)
}

fn invalid((field, reason): Problem) -> WorkloadError {
    WorkloadError::Invalid { field, reason }
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

    /// Whether an engine with `caps` can serve this mix; the reason if not.
    /// Reads and read-modify-writes need point reads, scans need range
    /// scans, deletes need deletes; updates, inserts and appends are puts,
    /// which every engine has.
    pub fn check_supported(&self, caps: &capabilities::Capabilities) -> Result<(), String> {
        let m = &self.mix;
        let mut missing = Vec::new();
        if m.read > 0.0 && !caps.point_reads {
            missing.push("reads keys, and the engine has no point reads");
        }
        if m.read_modify_write > 0.0 && !caps.point_reads {
            missing.push("reads keys to modify them, and the engine has no point reads");
        }
        if m.scan > 0.0 && !caps.range_scans {
            missing.push("scans key ranges, and the engine has no range scans");
        }
        if m.delete > 0.0 && !caps.deletes {
            missing.push("deletes keys, and the engine has no deletes");
        }
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("workload `{}` {}", self.name, missing.join("; ")))
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
