//! A sync policy as the saved rows spell it (`batch:32+dir@fsync`), parsed
//! once into a key that sorts from the least to the most durable. The run
//! report, the charts over time, the capacity tables and the comparison
//! all list policies in this order, so a reader finds `none` first and the
//! policies that sync most last, whatever order the run measured them in.

use std::cmp::Reverse;
use std::fmt;

/// How often a policy syncs, from the least to the most durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SyncCadence {
    /// `none`: never.
    None,
    /// `batch:N`: every N writes.
    Batch,
    /// `group`: once per commit group.
    Group,
    /// `always`: after every write.
    Always,
    /// A form this version does not know: after every known one.
    Unknown,
}

/// A policy's text parsed into the parts its durability depends on.
///
/// The order is the durability order: by [`SyncCadence`]; among `batch:N`,
/// the larger N (fewer syncs) first; without `+dir` before with it;
/// `fdatasync` before `@fsync`; then by the text, so unknown forms come
/// last, by name. `Display` gives the text back as it was parsed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyKey {
    cadence: SyncCadence,
    /// The `:N` of the mode (0 without one), larger first.
    writes_per_sync: Reverse<u64>,
    /// `+dir`: the directory is synced too.
    dir_sync: bool,
    /// `@fsync` rather than the default `fdatasync`.
    fsync: bool,
    text: String,
}

impl PolicyKey {
    /// Parses `mode[:N][+dir][@primitive]`; a form it does not know sorts
    /// last rather than failing, since saved rows may come from a newer
    /// version.
    pub fn parse(policy: &str) -> PolicyKey {
        let (body, fsync) = match policy.split_once('@') {
            Some((b, prim)) => (b, prim == "fsync"),
            None => (policy, false),
        };
        let (mode, dir_sync) = match body.split_once('+') {
            Some((m, rest)) => (m, rest == "dir"),
            None => (body, false),
        };
        let (name, n) = match mode.split_once(':') {
            Some((name, n)) => (name, n.parse::<u64>().unwrap_or(0)),
            None => (mode, 0),
        };
        let cadence = match name {
            "none" => SyncCadence::None,
            "batch" => SyncCadence::Batch,
            "group" => SyncCadence::Group,
            "always" => SyncCadence::Always,
            _ => SyncCadence::Unknown,
        };
        PolicyKey {
            cadence,
            writes_per_sync: Reverse(n),
            dir_sync,
            fsync,
            text: policy.to_string(),
        }
    }

    /// How often the policy syncs.
    pub fn cadence(&self) -> SyncCadence {
        self.cadence
    }
}

impl fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_order_from_least_to_most_durable() {
        let mut p = vec![
            "always+dir@fsync",
            "always",
            "group+dir",
            "none",
            "batch:32+dir",
            "always+dir",
            "batch:8",
            "someday",
        ];
        p.sort_by_key(|x| PolicyKey::parse(x));
        assert_eq!(
            p,
            [
                "none",
                "batch:32+dir",
                "batch:8",
                "group+dir",
                "always",
                "always+dir",
                "always+dir@fsync",
                "someday"
            ]
        );
    }

    #[test]
    fn the_key_reads_as_the_text_it_was_parsed_from() {
        let k = PolicyKey::parse("batch:32+dir@fsync");
        assert_eq!(k.to_string(), "batch:32+dir@fsync");
        assert_eq!(k.cadence(), SyncCadence::Batch);
    }
}
