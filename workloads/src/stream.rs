//! Deterministic operation streams, one per thread.
//!
//! Thread `t` of `T` gets:
//! - its own RNG stream, derived from the seed, `t` and the phase (load or
//!   run), so its operations depend only on `(spec, t, T)`, never on how
//!   fast the other threads run;
//! - its share of the operation count: `count / T`, and one more for the
//!   first `count % T` threads (the load phase splits `record_count` the
//!   same way, key numbers `t, t + T, t + 2T, ...`);
//! - new keys numbered `record_count + t + T*k` for its k-th insert or
//!   append, so new keys never collide across threads.
//!
//! Which keys exist: a thread counts the loaded keys plus `T` times its own
//! inserts so far, i.e. it assumes every thread has inserted as many keys
//! as it has (they run the same mix, so they do on average). Reads may
//! therefore ask for another thread's newest key a moment before that
//! thread writes it; with one thread the count is exact. `latest` is
//! zipfian over that count, newest first, so it favours the keys inserted
//! most recently by all threads, interleaved.

use std::time::Duration;

use crate::distribution::KeyChooser;
use crate::keys::{key_space, write_key};
use crate::rng::Rng;
use crate::spec::{ValueSize, WorkloadSpec};

/// An operation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpKind {
    /// Point read of an existing key.
    Read,
    /// Put to an existing key.
    Update,
    /// Put of a new key.
    Insert,
    /// Delete of an existing key.
    Delete,
    /// Range scan of `scan_len` keys from `key`.
    Scan,
    /// Read, then put of the same key.
    ReadModifyWrite,
    /// Append of a new record to a log (a new key, in order).
    Append,
}

impl OpKind {
    /// Every kind, in the order of [`crate::OperationMix::entries`].
    pub const ALL: [OpKind; 7] = [
        OpKind::Read,
        OpKind::Update,
        OpKind::Insert,
        OpKind::Delete,
        OpKind::Scan,
        OpKind::ReadModifyWrite,
        OpKind::Append,
    ];

    /// Name used in result files.
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Read => "read",
            OpKind::Update => "update",
            OpKind::Insert => "insert",
            OpKind::Delete => "delete",
            OpKind::Scan => "scan",
            OpKind::ReadModifyWrite => "rmw",
            OpKind::Append => "append",
        }
    }

    /// Position in [`OpKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Whether the operation is a write the engine acknowledges (a put or
    /// a delete): what the disk's ceiling bounds.
    pub fn is_write(self) -> bool {
        self.writes_value() || self == OpKind::Delete
    }

    /// Whether the operation writes `value`.
    pub fn writes_value(self) -> bool {
        matches!(
            self,
            OpKind::Update | OpKind::Insert | OpKind::Append | OpKind::ReadModifyWrite
        )
    }
}

/// One operation, borrowing its key and value from the stream's buffers
/// (valid until the next call to [`OpStream::next_op`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op<'a> {
    /// What to do.
    pub kind: OpKind,
    /// The key (`key_size` bytes).
    pub key: &'a [u8],
    /// The value to write; empty for reads, deletes and scans.
    pub value: &'a [u8],
    /// Keys to return (scans only; 0 otherwise).
    pub scan_len: usize,
    /// When the operation should start, relative to the start of the
    /// measured phase (open loop only). Latency is measured from this
    /// instant, not from when the runner got round to issuing it, which
    /// corrects coordinated omission as YCSB's `intended` latency does.
    pub intended_start: Option<Duration>,
}

/// Bytes of pseudo-random value data each stream slices values from (or
/// twice the largest value, if larger).
const VALUE_POOL: usize = 1 << 20;

/// A stream of operations for one thread. Generating one costs a few tens
/// of nanoseconds and allocates nothing: the key is formatted into a reused
/// buffer and the value is a slice of a pool filled once.
#[derive(Debug, Clone)]
pub struct OpStream {
    rng: Rng,
    chooser: KeyChooser,
    /// Cumulative proportions of [`OpKind::ALL`]; the last kind with a share
    /// is `INFINITY`, so rounding never picks a kind without one.
    cumulative: [f64; 7],
    remaining: Option<u64>,
    key: Vec<u8>,
    values: Vec<u8>,
    value_size: ValueSize,
    scan_min: usize,
    scan_max: usize,
    ordered: bool,
    /// Distinct key numbers the key size can hold.
    space: u64,
    /// Loaded keys: numbers `0..record_count`.
    record_count: u64,
    thread: u64,
    threads: u64,
    /// This thread's inserts and appends so far.
    inserted: u64,
    /// Load phase: insert key numbers `thread, thread + threads, ...`.
    loading: bool,
    load_next: u64,
    /// Seconds per operation over all threads (open loop).
    interval: Option<f64>,
    issued: u64,
}

fn share(total: u64, thread: u64, threads: u64) -> u64 {
    total / threads + u64::from(thread < total % threads)
}

impl OpStream {
    fn new(spec: &WorkloadSpec, thread: usize, threads: usize, loading: bool) -> Self {
        let threads = threads.max(1) as u64;
        let thread = thread as u64;
        let phase = if loading { 1 << 32 } else { 0 };
        let mut rng = Rng::new(spec.seed, thread | phase);
        // Full-entropy bytes: compression in the engine, the filesystem or
        // the drive cannot shrink what the benchmark counts as written.
        let mut values = vec![0u8; VALUE_POOL.max(spec.value_size.max().saturating_mul(2))];
        for chunk in values.chunks_mut(8) {
            let r = rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        let mut cumulative = [0.0; 7];
        let entries = spec.mix.entries();
        let total = spec.mix.total();
        let mut acc = 0.0;
        for (c, (_, v)) in cumulative.iter_mut().zip(entries) {
            acc += if total > 0.0 { v / total } else { 0.0 };
            *c = acc;
        }
        let last = entries.iter().rposition(|(_, v)| *v > 0.0).unwrap_or(0);
        for c in &mut cumulative[last..] {
            *c = f64::INFINITY;
        }
        let remaining = if loading {
            Some(share(spec.record_count, thread, threads))
        } else {
            spec.op_count().map(|n| share(n, thread, threads))
        };
        // As YCSB: the scrambled zipfian spreads over the loaded keys plus
        // twice the expected inserts, and redraws keys not inserted yet.
        let expected_inserts = spec
            .op_count()
            .map_or(0, |n| (n as f64 * spec.mix.new_key_fraction() * 2.0) as u64);
        let existing = spec.record_count.max(1);
        OpStream {
            chooser: KeyChooser::new(
                &spec.distribution,
                existing,
                existing.saturating_add(expected_inserts),
                (u128::from(existing) * u128::from(thread) / u128::from(threads)) as u64,
            ),
            rng,
            cumulative,
            remaining,
            key: vec![0u8; spec.key_size],
            values,
            value_size: spec.value_size,
            scan_min: spec.scan_length.min,
            scan_max: spec.scan_length.max,
            ordered: spec.ordered_keys,
            space: key_space(spec.key_size),
            record_count: spec.record_count,
            thread,
            threads,
            inserted: 0,
            loading,
            load_next: thread,
            interval: spec.target_rate.filter(|_| !loading).map(|rate| 1.0 / rate),
            issued: 0,
        }
    }

    /// Keys that exist as far as this thread knows (see the module docs).
    fn existing(&self) -> u64 {
        self.record_count
            .saturating_add(self.inserted.saturating_mul(self.threads))
    }

    fn next_kind(&mut self) -> OpKind {
        let u = self.rng.next_f64();
        let i = self.cumulative.iter().position(|&c| u < c).unwrap_or(6);
        OpKind::ALL[i]
    }

    fn value_len(&mut self) -> usize {
        match self.value_size {
            ValueSize::Fixed(n) => n,
            ValueSize::Uniform { min, max } => {
                min + self.rng.below((max - min + 1) as u64) as usize
            }
        }
    }

    /// Operations this thread still has to issue; `None` in duration mode.
    pub fn remaining(&self) -> Option<u64> {
        self.remaining
    }

    /// The next operation, or `None` when this thread's share is done. In
    /// duration mode the stream does not end (the runner stops it), unless
    /// inserts run out of distinct keys for the key size: then it ends
    /// rather than reuse a key.
    pub fn next_op(&mut self) -> Option<Op<'_>> {
        if self.remaining == Some(0) {
            return None;
        }
        let kind = if self.loading {
            OpKind::Insert
        } else {
            self.next_kind()
        };
        let index = if self.loading {
            let i = self.load_next;
            self.load_next += self.threads;
            i
        } else if matches!(kind, OpKind::Insert | OpKind::Append) {
            let i = self.record_count + self.thread + self.threads * self.inserted;
            if i >= self.space {
                self.remaining = Some(0);
                return None;
            }
            self.inserted += 1;
            i
        } else {
            let n = self.existing();
            self.chooser.next(&mut self.rng, n)
        };
        if let Some(r) = &mut self.remaining {
            *r -= 1;
        }
        write_key(&mut self.key, index, self.ordered || kind == OpKind::Append);
        let value: &[u8] = if kind.writes_value() {
            let len = self.value_len();
            let start = self.rng.below((self.values.len() - len + 1) as u64) as usize;
            &self.values[start..start + len]
        } else {
            &[]
        };
        let scan_len = if kind == OpKind::Scan {
            self.scan_min + self.rng.below((self.scan_max - self.scan_min + 1) as u64) as usize
        } else {
            0
        };
        // Thread t issues operations t, t + T, t + 2T, ... of the whole
        // schedule, so the threads together start one every 1/rate seconds.
        let intended_start = self.interval.map(|i| {
            Duration::from_secs_f64(i * (self.thread + self.threads * self.issued) as f64)
        });
        self.issued += 1;
        Some(Op {
            kind,
            key: &self.key,
            value,
            scan_len,
            intended_start,
        })
    }
}

impl WorkloadSpec {
    /// The load phase of thread `thread` of `threads`: one insert of each
    /// of its share of the `record_count` keys (numbers `thread`,
    /// `thread + threads`, ...), in number order. With `ordered_keys` that
    /// is key order (fillseq's sequential load); otherwise the key
    /// permutation makes it a fixed pseudo-random order.
    pub fn load_stream(&self, thread: usize, threads: usize) -> OpStream {
        OpStream::new(self, thread, threads, true)
    }

    /// The measured phase of thread `thread` of `threads`.
    pub fn run_stream(&self, thread: usize, threads: usize) -> OpStream {
        OpStream::new(self, thread, threads, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::OperationMix;

    #[test]
    fn kinds_without_a_share_are_never_drawn() {
        // Shares that do not sum to exactly 1 in floating point.
        let spec = WorkloadSpec {
            mix: OperationMix {
                read: 0.1,
                update: 0.2,
                insert: 0.3,
                ..OperationMix::default()
            },
            ..WorkloadSpec::default()
        };
        let s = spec.run_stream(0, 1);
        assert_eq!(s.cumulative[2..], [f64::INFINITY; 5]);
        assert!(s.cumulative[1] < 1.0);
    }

    #[test]
    fn inserts_end_a_duration_stream_when_the_key_space_runs_out() {
        // 3-byte keys: 100 numbers; 90 loaded, so 10 inserts fit.
        let spec = WorkloadSpec {
            key_size: 3,
            record_count: 90,
            duration_secs: Some(1.0),
            mix: OperationMix {
                insert: 1.0,
                ..OperationMix::default()
            },
            ..WorkloadSpec::default()
        };
        spec.validate().expect("valid in duration mode");
        let mut s = spec.run_stream(0, 1);
        let mut keys = std::collections::HashSet::new();
        while let Some(op) = s.next_op() {
            assert!(keys.insert(op.key.to_vec()), "a key was reused");
        }
        assert_eq!(keys.len(), 10);
        assert!(s.next_op().is_none());
    }
}
