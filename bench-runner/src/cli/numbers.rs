//! Parsers of numeric options, shared by every command's arguments. A value
//! out of range, negative ones included, is refused with the range it must
//! be in.

/// A parser for a whole number in `lo..=hi`; its error says the range and
/// what the number counts, negative numbers included.
pub fn whole(
    lo: u64,
    hi: u64,
    what: &'static str,
) -> impl Fn(&str) -> Result<u64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let range = if hi == u64::MAX {
            format!("a whole number of {what}, at least {lo}")
        } else {
            format!("a whole number of {what} from {lo} to {hi}")
        };
        match s.trim().parse::<u64>() {
            Ok(n) if (lo..=hi).contains(&n) => Ok(n),
            Ok(n) => Err(format!("{n} is out of range: expected {range}")),
            Err(_) => Err(format!("expected {range}")),
        }
    }
}

/// A parser for seconds: a finite number, greater than 0 (or at least 0
/// when `zero_ok`), at most a day.
pub fn seconds(
    zero_ok: bool,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static {
    move |s: &str| {
        let range = if zero_ok {
            "a number of seconds from 0 to 86400, e.g. 0.5"
        } else {
            "a number of seconds greater than 0 and at most 86400, e.g. 2 or 0.5"
        };
        match s.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x <= 86_400.0 && (x > 0.0 || (zero_ok && x == 0.0)) => Ok(x),
            _ => Err(format!("expected {range}")),
        }
    }
}
