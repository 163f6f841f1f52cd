//! Deterministic operation streams, one per thread.
//!
//! Thread `t` of `T` gets its own RNG stream derived from the seed and `t`,
//! its share of the operation count (`count / T`, the first `count % T`
//! threads one more), and the new keys numbered `record_count + t + T*k` for
//! its k-th insert, so inserts never collide across threads and the
//! operations of a thread do not depend on how fast the others run.

use std::time::Duration;

use crate::distribution::KeyChooser;
use crate::rng::Rng;
use crate::spec::{key_space, ValueSize, WorkloadSpec};

/// An operation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Point read.
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
    /// Append of a new record to a log.
    Append,
}

impl OpKind {
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
}

const KINDS: [OpKind; 7] = [
    OpKind::Read,
    OpKind::Update,
    OpKind::Insert,
    OpKind::Delete,
    OpKind::Scan,
    OpKind::ReadModifyWrite,
    OpKind::Append,
];

/// One operation, borrowing its key and value from the stream's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Op<'a> {
    /// What to do.
    pub kind: OpKind,
    /// The key.
    pub key: &'a [u8],
    /// The value to write (empty for reads, deletes and scans).
    pub value: &'a [u8],
    /// Keys to return (scans only).
    pub scan_len: usize,
    /// When the operation should start, relative to the start of the run
    /// (open loop only); latency is measured from this instant.
    pub intended_start: Option<Duration>,
}

/// Bytes of pseudo-random value data each stream draws values from.
const VALUE_POOL: usize = 1 << 20;

/// Writes the key for key number `index` into `buf` (`key_size` bytes:
/// `k` then zero-padded digits). With `ordered = false` the number first
/// goes through a fixed permutation of the key space, so consecutive
/// numbers land far apart (YCSB's hashed insert order) while staying
/// distinct.
pub fn write_key(buf: &mut [u8], index: u64, ordered: bool) {
    let size = buf.len();
    if size == 0 {
        return;
    }
    let space = key_space(size);
    let n = if ordered {
        index % space
    } else {
        permute(index % space, space)
    };
    buf[0] = b'k';
    let mut v = n;
    for b in buf[1..].iter_mut().rev() {
        *b = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Multiplier of the key permutation: odd and not a multiple of 5, so
/// coprime with every power of 10 (checked by a test).
const PERMUTE_MUL: u128 = 0x9E37_79B9_7F4A_7C13;

/// A bijection on 0..space (a power of 10): multiply by a constant coprime
/// with `space`, add an offset, modulo `space`.
fn permute(n: u64, space: u64) -> u64 {
    ((u128::from(n) * PERMUTE_MUL + 0x1234_5678_9ABC_DEF1) % u128::from(space)) as u64
}

/// The key for key number `index` as a new vector.
pub fn key_for(index: u64, key_size: usize, ordered: bool) -> Vec<u8> {
    let mut k = vec![0u8; key_size];
    write_key(&mut k, index, ordered);
    k
}

/// A stream of operations for one thread.
#[derive(Debug, Clone)]
pub struct OpStream {
    rng: Rng,
    chooser: KeyChooser,
    /// Cumulative proportions for choosing the kind.
    cumulative: [f64; 7],
    remaining: Option<u64>,
    key: Vec<u8>,
    values: Vec<u8>,
    value_size: ValueSize,
    scan_min: usize,
    scan_max: usize,
    ordered: bool,
    /// Key numbers below this exist (loaded keys).
    record_count: u64,
    thread: u64,
    threads: u64,
    /// This thread's inserts so far.
    inserted: u64,
    /// Load phase: insert the thread's share of the loaded keys in turn.
    loading: bool,
    load_next: u64,
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
        let mut rng = Rng::new(spec.seed, thread + if loading { 1 << 32 } else { 0 });
        let mut values = vec![0u8; VALUE_POOL.max(spec.value_size.max() * 2)];
        for chunk in values.chunks_mut(8) {
            let r = rng.next_u64().to_le_bytes();
            for (b, x) in chunk.iter_mut().zip(r) {
                // Printable bytes keep values readable in dumps.
                *b = b'a' + x % 26;
            }
        }
        let mix = &spec.mix;
        let total = mix.total().max(f64::MIN_POSITIVE);
        let mut cumulative = [0.0; 7];
        let mut acc = 0.0;
        for (c, (_, v)) in cumulative.iter_mut().zip(mix.entries()) {
            acc += v / total;
            *c = acc;
        }
        cumulative[6] = f64::INFINITY;
        let remaining = if loading {
            Some(share(spec.record_count, thread, threads))
        } else {
            spec.op_count().map(|n| share(n, thread, threads))
        };
        OpStream {
            chooser: KeyChooser::new(&spec.distribution, spec.record_count.max(1)),
            rng,
            cumulative,
            remaining,
            key: vec![0u8; spec.key_size],
            values,
            value_size: spec.value_size,
            scan_min: spec.scan_length.min,
            scan_max: spec.scan_length.max,
            ordered: spec.ordered_keys,
            record_count: spec.record_count,
            thread,
            threads,
            inserted: 0,
            loading,
            load_next: thread,
            interval: spec
                .target_rate
                .filter(|_| !loading)
                .map(|r| threads as f64 / r),
            issued: 0,
        }
    }

    /// Keys that exist as far as this thread knows: the loaded ones plus the
    /// inserts of every thread, estimated from its own (threads insert at
    /// the same rate on average).
    fn existing(&self) -> u64 {
        self.record_count + self.inserted * self.threads
    }

    fn next_kind(&mut self) -> OpKind {
        let u = self.rng.next_f64();
        let i = self.cumulative.iter().position(|&c| u < c).unwrap_or(6);
        KINDS[i]
    }

    fn value_len(&mut self) -> usize {
        match self.value_size {
            ValueSize::Fixed(n) => n,
            ValueSize::Uniform { min, max } => {
                min + self.rng.below((max - min + 1) as u64) as usize
            }
        }
    }

    /// The next operation, or `None` when this thread's share is done
    /// (never in duration mode: the runner stops the stream).
    pub fn next_op(&mut self) -> Option<Op<'_>> {
        if let Some(r) = &mut self.remaining {
            if *r == 0 {
                return None;
            }
            *r -= 1;
        }
        let kind = if self.loading {
            OpKind::Insert
        } else {
            self.next_kind()
        };
        let index = match kind {
            _ if self.loading => {
                let i = self.load_next;
                self.load_next += self.threads;
                i
            }
            OpKind::Insert | OpKind::Append => {
                let i = self.record_count + self.thread + self.threads * self.inserted;
                self.inserted += 1;
                i
            }
            _ => {
                let n = self.existing();
                self.chooser.next(&mut self.rng, n)
            }
        };
        write_key(&mut self.key, index, self.ordered || kind == OpKind::Append);
        let writes = matches!(
            kind,
            OpKind::Update | OpKind::Insert | OpKind::Append | OpKind::ReadModifyWrite
        );
        let value: &[u8] = if writes {
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
        let intended_start = self
            .interval
            .map(|i| Duration::from_secs_f64(i * self.issued as f64));
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
    /// The load phase of thread `thread` of `threads`: inserts of its share
    /// of the `record_count` keys, in key-number order (mapped through the
    /// key permutation unless `ordered_keys`).
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
    use std::collections::HashSet;

    #[test]
    fn permutation_is_a_bijection() {
        const { assert!(PERMUTE_MUL % 2 == 1 && PERMUTE_MUL % 5 != 0) };
        let space = 10_000;
        let seen: HashSet<u64> = (0..space).map(|n| permute(n, space)).collect();
        assert_eq!(seen.len() as u64, space);
    }

    #[test]
    fn keys_have_the_requested_size_and_order() {
        assert_eq!(key_for(42, 8, true), b"k0000042");
        assert_eq!(key_for(42, 16, true).len(), 16);
        assert_ne!(key_for(1, 16, false), key_for(1, 16, true));
        assert!(key_for(1, 16, true) < key_for(2, 16, true));
        assert_eq!(key_for(7, 40, true).len(), 40);
    }
}
