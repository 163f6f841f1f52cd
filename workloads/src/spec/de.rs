//! The serde helpers the field types and their checks share: a field
//! deserialized and checked in one step, so a bad value fails while parsing
//! and the TOML error carries its line; counts that name their field when
//! negative.

use serde::{Deserialize, Deserializer};

/// A field and what is wrong with it.
pub(super) type Problem = (&'static str, String);

/// Deserializes a field and applies its check, so a bad value fails while
/// parsing and the TOML error carries its line.
pub(super) fn checked<'de, D, T>(
    d: D,
    check: impl FnOnce(&T) -> Result<(), Problem>,
) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let v = T::deserialize(d)?;
    check(&v).map_err(problem)?;
    Ok(v)
}

/// A check's problem as a deserializer error naming the field.
pub(super) fn problem<E: serde::de::Error>((field, reason): Problem) -> E {
    E::custom(format!("workload field `{field}`: {reason}"))
}

/// A non-negative integer field, with a named error when it is negative.
pub(super) fn count<'de, D: Deserializer<'de>, T: TryFrom<i64>>(
    d: D,
    field: &str,
) -> Result<T, D::Error> {
    size_from_i64(field, i64::deserialize(d)?)
}

pub(super) fn to_size<E: serde::de::Error>(v: u64) -> Result<usize, E> {
    usize::try_from(v).map_err(|_| E::custom(format!("{v} does not fit in usize")))
}

/// A size or count from a TOML integer (always signed), with an error that
/// names the field when it is negative.
pub(super) fn size_from_i64<E: serde::de::Error, T: TryFrom<i64>>(
    field: &str,
    v: i64,
) -> Result<T, E> {
    T::try_from(v).map_err(|_| {
        let what = if v < 0 { "is negative" } else { "is too large" };
        E::custom(format!(
            "workload field `{field}`: {v} {what}: sizes and counts are non-negative integers"
        ))
    })
}
