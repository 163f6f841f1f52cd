//! The command line of `recovery` becomes a [`RecoveryPlan`] once, in
//! `main`; every usage error comes from here, before anything is measured.

use std::path::PathBuf;

use anyhow::{bail, Result};
use engines::{EngineInfo, SyncPolicy};

use crate::cli::recovery::RecoveryArgs;

/// Default sizes, in keys.
pub const DEFAULT_SIZES: [u64; 3] = [10_000, 100_000, 1_000_000];
/// Sizes of `--quick`.
pub const QUICK_SIZES: [u64; 2] = [2_000, 8_000];
/// Measured writes after the load (the "last 10,000" writes that recovery replays).
pub const DEFAULT_TAIL: u64 = 10_000;
/// Measured writes with `--quick`.
pub const QUICK_TAIL: u64 = 1_000;

/// One engine x policy x size.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryCell {
    /// Engine.
    pub info: &'static EngineInfo,
    /// Policy of the measured writes.
    pub policy: SyncPolicy,
    /// Keys in the store.
    pub keys: u64,
    /// Measured writes (the last `tail` keys).
    pub tail: u64,
}

impl RecoveryCell {
    /// Keys loaded before the measured writes.
    pub fn loaded(&self) -> u64 {
        self.keys - self.tail
    }

    /// A file-name-safe name.
    pub fn slug(&self) -> String {
        format!("{}-{}-{}", self.info.name, self.policy, self.keys)
            .replace([':', '+', '@', '/', ' '], "_")
    }
}

/// A validated `recovery` command.
#[derive(Debug, Clone)]
pub struct RecoveryPlan {
    /// Disk folder to work in.
    pub disk: PathBuf,
    /// Cells, in matrix order.
    pub cells: Vec<RecoveryCell>,
    /// Value size in bytes.
    pub value_size: u64,
    /// Repetitions.
    pub repeat: u32,
    /// Seed of the kill points.
    pub seed: u64,
    /// Seed of the interleaved order.
    pub order_seed: u64,
    /// Engine x policy pairs left out, and why.
    pub notes: Vec<String>,
    /// Testing the checker: the writing child drops writes after this many.
    pub test_drop_after: Option<u64>,
    /// `--cold`: the page cache is dropped before each timed reopen.
    pub cold: bool,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--label`.
    pub label: Option<String>,
    /// `--quiet`.
    pub quiet: bool,
    /// The command line, for environment.json.
    pub command_line: String,
    /// `--store`: the results store the finished folder is added to.
    pub store: Option<PathBuf>,
}

/// Parses a whole number of `what` in `lo..=hi` for option `flag`.
fn whole(flag: &str, v: Option<&String>, lo: u64, hi: u64, what: &str) -> Result<Option<u64>> {
    let Some(v) = v else { return Ok(None) };
    match v.trim().parse::<u64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
        _ => bail!("{flag}: {v:?} is not a whole number of {what} from {lo} to {hi}"),
    }
}

/// Parses `10k`, `1m`, `2500` as a number of keys (at least 1).
pub fn parse_size(s: &str) -> Result<u64> {
    let t = s.trim().to_ascii_lowercase();
    let (digits, mult) = match t.strip_suffix('k') {
        Some(d) => (d, 1_000),
        None => match t.strip_suffix('m') {
            Some(d) => (d, 1_000_000),
            None => (t.as_str(), 1),
        },
    };
    let n = digits.parse::<u64>().ok().and_then(|d| d.checked_mul(mult));
    match n {
        Some(0) => bail!("--sizes: {s:?} is 0 keys; a size is at least 1 key"),
        Some(n) if n <= 100_000_000 => Ok(n),
        Some(_) => bail!("--sizes: {s:?} is more than 100m keys"),
        None => bail!("--sizes: cannot read {s:?} as a number of keys (e.g. 10k, 1m, 2500)"),
    }
}

impl RecoveryPlan {
    /// Checks `args` and builds the plan.
    pub fn from_args(args: &RecoveryArgs, command_line: &str) -> Result<Self> {
        if args.cold && !crate::measure::sys::is_root() {
            bail!("--cold needs root: it writes /proc/sys/vm/drop_caches (run as root or drop the flag)");
        }
        let infos: Vec<&'static EngineInfo> = if args.engines.is_empty() {
            engines::registry::all().iter().collect()
        } else {
            args.engines
                .iter()
                .map(|e| engines::registry::info(e.trim()))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("--engines: {e}"))?
        };
        let policies: Vec<SyncPolicy> = if args.policies.is_empty() {
            vec![SyncPolicy::ALWAYS]
        } else {
            args.policies
                .iter()
                .map(|p| {
                    p.trim()
                        .parse::<SyncPolicy>()
                        .map_err(|e| anyhow::anyhow!("--policies: {p:?}: {e}"))
                })
                .collect::<Result<_>>()?
        };
        let sizes: Vec<u64> = if args.sizes.is_empty() {
            if args.quick {
                QUICK_SIZES.to_vec()
            } else {
                DEFAULT_SIZES.to_vec()
            }
        } else {
            args.sizes
                .iter()
                .map(|s| parse_size(s))
                .collect::<Result<_>>()?
        };
        let tail = whole("--tail", args.tail.as_ref(), 1, 10_000_000, "writes")?
            .unwrap_or(if args.quick { QUICK_TAIL } else { DEFAULT_TAIL });
        let mut cells = Vec::new();
        let mut notes = Vec::new();
        for &info in &infos {
            for &policy in &policies {
                if let Err(why) = (info.supports)(&policy) {
                    notes.push(format!("{} {policy}: skipped: {why}", info.name));
                    continue;
                }
                for &keys in &sizes {
                    cells.push(RecoveryCell {
                        info,
                        policy,
                        keys,
                        tail: tail.min(keys),
                    });
                }
            }
        }
        if cells.is_empty() {
            bail!(
                "no engine can run any of the policies given: {}",
                notes.join("; ")
            );
        }
        let order_seed = args.order_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        let store = args.store.checked()?;
        Ok(RecoveryPlan {
            disk: args.disk.clone(),
            cells,
            value_size: whole(
                "--value-size",
                args.value_size.as_ref(),
                16,
                1 << 20,
                "bytes",
            )?
            .unwrap_or(100),
            repeat: whole(
                "--repeat",
                args.repeat.as_ref(),
                1,
                crate::cli::MAX_REPEAT,
                "repetitions",
            )?
            .unwrap_or(if args.quick { 1 } else { 3 }) as u32,
            test_drop_after: args.test_drop_after,
            cold: args.cold,
            seed: args.seed,
            order_seed,
            notes,
            out: args.output.out.clone(),
            label: args.output.label.clone(),
            quiet: args.output.quiet,
            command_line: command_line.to_string(),
            store,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_suffixes_and_refuse_zero_and_junk() {
        assert_eq!(parse_size("10k").unwrap(), 10_000);
        assert_eq!(parse_size("1M").unwrap(), 1_000_000);
        assert_eq!(parse_size(" 2500 ").unwrap(), 2500);
        assert!(parse_size("0").unwrap_err().to_string().contains("0 keys"));
        assert!(parse_size("0k").is_err());
        assert!(parse_size("ten")
            .unwrap_err()
            .to_string()
            .contains("\"ten\""));
        assert!(parse_size("-1").is_err() && parse_size("").is_err() && parse_size("1g").is_err());
    }
}
