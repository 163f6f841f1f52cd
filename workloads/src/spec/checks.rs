//! Per-field checks of a workload spec, and the deserializers that run
//! them so a TOML error names the line.

use serde::Deserializer;

use super::de::*;
use super::parts::*;
use crate::WorkloadError;

/// Operations in the measured phase when a spec sets no count or duration.
pub const DEFAULT_OPERATION_COUNT: u64 = 100_000;

pub(super) fn check_operation_count(n: u64) -> Result<(), Problem> {
    if n == 0 {
        return Err(("operation_count", "must be at least 1".into()));
    }
    Ok(())
}

pub(super) fn check_duration_secs(d: f64) -> Result<(), Problem> {
    if !(d.is_finite() && d > 0.0) {
        return Err((
            "duration_secs",
            format!("{d} is not a positive number of seconds"),
        ));
    }
    Ok(())
}

pub(super) fn check_key_size(n: usize) -> Result<(), Problem> {
    let max = capabilities::MAX_KEY_LEN;
    if !(2..=max).contains(&n) {
        return Err((
            "key_size",
            format!("{n} bytes is outside 2..={max} (a key is `k` and at least one digit)"),
        ));
    }
    Ok(())
}

pub(super) fn check_value_size(v: ValueSize) -> Result<(), Problem> {
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

pub(super) fn check_mix(m: &OperationMix) -> Result<(), Problem> {
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

pub(super) fn check_scan_length(s: ScanLength) -> Result<(), Problem> {
    if s.min == 0 || s.min > s.max {
        return Err((
            "scan_length",
            format!("min {} / max {} must satisfy 1 <= min <= max", s.min, s.max),
        ));
    }
    Ok(())
}

pub(super) fn check_distribution(d: &KeyDistribution) -> Result<(), Problem> {
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

pub(super) fn check_threads(n: usize) -> Result<(), Problem> {
    if !(1..=MAX_THREADS).contains(&n) {
        return Err(("threads", format!("{n} is not between 1 and {MAX_THREADS}")));
    }
    Ok(())
}

pub(super) fn check_target_rate(r: f64) -> Result<(), Problem> {
    if !(r.is_finite() && r > 0.0) {
        return Err((
            "target_rate",
            format!("{r} is not a positive rate in operations/s"),
        ));
    }
    Ok(())
}

pub(super) fn de_record_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    count(d, "record_count")
}
pub(super) fn de_operation_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let n = count(d, "operation_count")?;
    check_operation_count(n).map_err(problem)?;
    Ok(Some(n))
}
pub(super) fn de_duration_secs<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(d, |&s| check_duration_secs(s)).map(Some)
}
pub(super) fn de_key_size<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = count(d, "key_size")?;
    check_key_size(n).map_err(problem)?;
    Ok(n)
}
pub(super) fn de_value_size<'de, D: Deserializer<'de>>(d: D) -> Result<ValueSize, D::Error> {
    checked(d, |&v| check_value_size(v))
}
pub(super) fn de_mix<'de, D: Deserializer<'de>>(d: D) -> Result<OperationMix, D::Error> {
    checked(d, check_mix)
}
pub(super) fn de_scan_length<'de, D: Deserializer<'de>>(d: D) -> Result<ScanLength, D::Error> {
    checked(d, |&s| check_scan_length(s))
}
pub(super) fn de_distribution<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<KeyDistribution, D::Error> {
    checked(d, check_distribution)
}
pub(super) fn de_threads<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = count(d, "threads")?;
    check_threads(n).map_err(problem)?;
    Ok(n)
}
pub(super) fn de_target_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    checked(d, |&r| check_target_rate(r)).map(Some)
}

pub(super) fn invalid((field, reason): Problem) -> WorkloadError {
    WorkloadError::Invalid { field, reason }
}
