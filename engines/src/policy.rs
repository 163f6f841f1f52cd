//! [`SyncPolicy`]: when an engine calls fsync, shared by every engine.
//!
//! | mode | an acknowledged write is | file syncs |
//! |---|---|---|
//! | `none` | handed to the kernel by `write(2)`: survives a process crash, not power loss | never (not even on close) |
//! | `always` | durable: the covering sync returned before `put` returned | one per write |
//! | `batch:N` | handed to the kernel; at most the last N-1 acknowledged writes can be lost on power loss | one every N writes, and on close |
//! | `group` | durable, like `always` | one per commit group: concurrent writers share a leader's sync |
//!
//! `+dir` additionally fsyncs the parent directory after every create, rename
//! or remove before anything depends on the new name; without it those
//! directory syncs are skipped and nothing else changes. `@fsync` uses
//! `fsync` instead of `fdatasync` for file data.
//!
//! Text form: `MODE[+dir][@fsync|@fdatasync]`, e.g. `always+dir@fsync`.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// When file data is synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncMode {
    /// Never sync file data.
    None,
    /// Sync after every write, before acknowledging it.
    Always,
    /// Sync after every N-th write (N >= 1), and on close.
    Batch(u32),
    /// Leader/follower group commit: one sync covers every write appended
    /// before it started; each writer waits for a sync covering its write.
    Group,
}

/// Which system call makes file data durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SyncPrimitive {
    /// `fdatasync(2)`: data and the metadata needed to read it back.
    #[default]
    Fdatasync,
    /// `fsync(2)`: data and all metadata.
    Fsync,
}

/// The one durability setting every engine honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SyncPolicy {
    /// When file data is synced.
    pub mode: SyncMode,
    /// Whether parent directories are fsynced after creates, renames, removes.
    pub dir_sync: bool,
    /// fdatasync or fsync for file data (directories always use fsync).
    pub primitive: SyncPrimitive,
}

impl SyncPolicy {
    /// `none`.
    pub const NONE: SyncPolicy = SyncPolicy::new(SyncMode::None, false);
    /// `always`.
    pub const ALWAYS: SyncPolicy = SyncPolicy::new(SyncMode::Always, false);
    /// `always+dir`.
    pub const ALWAYS_DIR: SyncPolicy = SyncPolicy::new(SyncMode::Always, true);
    /// `group+dir`.
    pub const GROUP_DIR: SyncPolicy = SyncPolicy::new(SyncMode::Group, true);

    /// A policy with the default primitive (fdatasync).
    pub const fn new(mode: SyncMode, dir_sync: bool) -> Self {
        SyncPolicy {
            mode,
            dir_sync,
            primitive: SyncPrimitive::Fdatasync,
        }
    }

    /// Whether any file data is ever synced.
    pub fn syncs_data(&self) -> bool {
        self.mode != SyncMode::None
    }

    /// Whether an acknowledged write is durable when `put` returns.
    pub fn acknowledges_durable(&self) -> bool {
        matches!(self.mode, SyncMode::Always | SyncMode::Group) || self.mode == SyncMode::Batch(1)
    }

    /// How many of the most recent acknowledged writes a power loss may take
    /// (`None`: any number).
    pub fn max_lost_writes(&self) -> Option<u64> {
        match self.mode {
            SyncMode::None => None,
            SyncMode::Always | SyncMode::Group => Some(0),
            SyncMode::Batch(n) => Some(u64::from(n.saturating_sub(1))),
        }
    }

    /// The canonical text forms of the policies the default matrix uses.
    pub const EXAMPLES: &'static [&'static str] = &[
        "none",
        "always",
        "always+dir",
        "batch:32+dir",
        "group+dir",
        "always+dir@fsync",
    ];
}

impl Default for SyncPolicy {
    fn default() -> Self {
        SyncPolicy::ALWAYS_DIR
    }
}

impl fmt::Display for SyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mode {
            SyncMode::None => f.write_str("none")?,
            SyncMode::Always => f.write_str("always")?,
            SyncMode::Batch(n) => write!(f, "batch:{n}")?,
            SyncMode::Group => f.write_str("group")?,
        }
        if self.dir_sync {
            f.write_str("+dir")?;
        }
        if self.primitive == SyncPrimitive::Fsync {
            f.write_str("@fsync")?;
        }
        Ok(())
    }
}

impl FromStr for SyncPolicy {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let bad = |reason: &str| Error::InvalidPolicy {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim().to_ascii_lowercase();
        let (rest, primitive) = match t.split_once('@') {
            None => (t.as_str(), SyncPrimitive::Fdatasync),
            Some((rest, "fsync")) => (rest, SyncPrimitive::Fsync),
            Some((rest, "fdatasync")) => (rest, SyncPrimitive::Fdatasync),
            Some((_, other)) => {
                return Err(bad(&format!(
                    "unknown primitive `@{other}` (expected @fsync or @fdatasync)"
                )))
            }
        };
        let (mode_text, dir_sync) = match rest.split_once('+') {
            None => (rest, false),
            Some((mode, "dir")) => (mode, true),
            Some((_, other)) => return Err(bad(&format!("unknown modifier `+{other}`"))),
        };
        let mode = match mode_text {
            "none" => SyncMode::None,
            "always" => SyncMode::Always,
            "group" => SyncMode::Group,
            m => match m.strip_prefix("batch:") {
                Some(n) => {
                    let n: u32 = n
                        .parse()
                        .map_err(|_| bad(&format!("`{n}` is not a batch size")))?;
                    if n == 0 {
                        return Err(bad("batch size must be at least 1"));
                    }
                    SyncMode::Batch(n)
                }
                None if m == "batch" => return Err(bad("batch needs a size, as in batch:32")),
                None => return Err(bad(&format!("unknown mode `{m}`"))),
            },
        };
        Ok(SyncPolicy {
            mode,
            dir_sync,
            primitive,
        })
    }
}

/// Why an engine cannot run a sync policy: what
/// [`EngineInfo::supports`](crate::EngineInfo::supports) returns for a
/// policy the engine would have to approximate. It prints as the reason
/// alone, for lists that name the engine and policy themselves; as an
/// [`Error`] it is [`Error::UnsupportedPolicy`], which names both.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PolicyRefusal {
    /// The engine.
    pub engine: &'static str,
    /// The policy it refuses.
    pub policy: SyncPolicy,
    /// Why it cannot honour the policy.
    pub reason: String,
}

impl PolicyRefusal {
    /// `engine` refuses `policy` because of `reason`.
    pub fn new(engine: &'static str, policy: &SyncPolicy, reason: impl Into<String>) -> Self {
        PolicyRefusal {
            engine,
            policy: *policy,
            reason: reason.into(),
        }
    }
}

impl From<PolicyRefusal> for Error {
    fn from(r: PolicyRefusal) -> Self {
        Error::UnsupportedPolicy {
            engine: r.engine,
            policy: r.policy.to_string(),
            reason: r.reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for text in [
            "none",
            "always",
            "always+dir",
            "batch:32+dir",
            "group+dir",
            "always+dir@fsync",
            "batch:1",
            "none+dir",
        ] {
            let p: SyncPolicy = text.parse().unwrap();
            assert_eq!(p.to_string(), text);
        }
        let p: SyncPolicy = "ALWAYS+DIR@fdatasync".parse().unwrap();
        assert_eq!(p, SyncPolicy::ALWAYS_DIR);
    }

    #[test]
    fn bad_text_lists_valid_forms() {
        for text in [
            "sometimes",
            "batch",
            "batch:0",
            "batch:x",
            "always+file",
            "always@msync",
            "",
        ] {
            let err = text.parse::<SyncPolicy>().unwrap_err().to_string();
            assert!(
                err.contains("valid forms: none, always, batch:N, group"),
                "{err}"
            );
            assert!(err.contains(&format!("`{text}`")), "{err}");
        }
    }

    #[test]
    fn promises() {
        assert_eq!(SyncPolicy::NONE.max_lost_writes(), None);
        assert_eq!(SyncPolicy::ALWAYS.max_lost_writes(), Some(0));
        let b: SyncPolicy = "batch:32".parse().unwrap();
        assert_eq!(b.max_lost_writes(), Some(31));
        assert!(!b.acknowledges_durable());
    }
}
