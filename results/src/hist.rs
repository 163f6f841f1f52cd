//! Serialized HdrHistograms (`hist/*.hdr`): each cell's latency histogram
//! as the hdrhistogram crate's V2 format, compressed (`V2+deflate`, the
//! format of HdrHistogram's `encodeIntoCompressedByteBuffer` that its Java,
//! C, Go and Python ports read). Values are nanoseconds, as recorded.
//!
//! The `hgrm/` files beside them are percentile tables: they cannot be
//! merged exactly. These can: [`merge_hists`] adds the counts of several
//! histograms bucket by bucket, so a percentile of the merged histogram is
//! the percentile of every operation of every input together (what
//! `bench-runner merge` reports for a fleet), never an average of
//! percentiles.

use std::path::Path;

use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use crate::{files::write_durably, Error, Result};

/// Every operation a cell may have a histogram of: `all` (every operation
/// timed), each operation type a workload can mix, and `sync` (the
/// engine's file and directory syncs). The file stems end in one of these
/// ([`crate::hgrm_stem`]).
pub const OPERATIONS: &[&str] = &[
    "all", "read", "update", "insert", "delete", "scan", "rmw", "append", "sync",
];

fn invalid(path: &Path, reason: String) -> Error {
    Error::Invalid {
        path: path.to_path_buf(),
        reason,
    }
}

/// Writes `hist` (nanoseconds) to `path` in the V2+deflate format, durably.
pub fn write_hist(path: &Path, hist: &Histogram<u64>) -> Result<()> {
    let mut bytes = Vec::new();
    V2DeflateSerializer::new()
        .serialize(hist, &mut bytes)
        .map_err(|e| invalid(path, format!("cannot serialize the histogram: {e}")))?;
    write_durably(path, &bytes)
}

/// Reads a histogram written by [`write_hist`] (or any V2 or V2+deflate
/// encoding of one).
pub fn read_hist(path: &Path) -> Result<Histogram<u64>> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io {
        op: "read",
        path: path.to_path_buf(),
        source: e,
    })?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| {
            invalid(
                path,
                format!("not an HdrHistogram in the V2 or V2+deflate format: {e}"),
            )
        })
}

/// The histogram of every value of `hists` together: counts added bucket
/// by bucket (the result grows to hold the largest value of any of them).
/// `None` for no histograms.
pub fn merge_hists(hists: &[Histogram<u64>]) -> Option<Histogram<u64>> {
    let (first, rest) = hists.split_first()?;
    let mut merged = first.clone();
    merged.auto(true);
    for h in rest {
        // With auto-resize on, adding fails only when a value cannot be
        // represented at all (u64 overflow of a count): keep what fits.
        if merged.add(h).is_err() {
            for v in h.iter_recorded() {
                let _ = merged.record_n(v.value_iterated_to(), v.count_at_value());
            }
        }
    }
    Some(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn a_histogram_reads_back_bucket_for_bucket() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("x.hdr");
        let h = hist((1..=20_000u64).map(|i| i * 997));
        write_hist(&p, &h).unwrap();
        let back = read_hist(&p).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.value_at_quantile(0.99), h.value_at_quantile(0.99));
    }

    #[test]
    fn merged_percentiles_are_those_of_every_value_together() {
        // A fast machine and a slow one: the merged p99 lies in the slow
        // one's tail, far from the average of the two p99s.
        let fast = hist((0..9_000u64).map(|i| 1_000 + i % 100));
        let slow = hist((0..1_000u64).map(|i| 1_000_000 + i * 1_000));
        let merged = merge_hists(&[fast.clone(), slow.clone()]).unwrap();
        let all = hist(
            (0..9_000u64)
                .map(|i| 1_000 + i % 100)
                .chain((0..1_000u64).map(|i| 1_000_000 + i * 1_000)),
        );
        assert_eq!(merged.len(), 10_000);
        assert_eq!(merged.value_at_quantile(0.99), all.value_at_quantile(0.99));
        let averaged = (fast.value_at_quantile(0.99) + slow.value_at_quantile(0.99)) / 2;
        assert!(merged.value_at_quantile(0.99) > averaged);
        assert!(merge_hists(&[]).is_none());
    }

    #[test]
    fn a_file_that_is_not_a_histogram_is_an_error_naming_it() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("bad.hdr");
        std::fs::write(&p, b"Value Percentile\n").unwrap();
        let e = read_hist(&p).unwrap_err().to_string();
        assert!(e.contains("bad.hdr") && e.contains("V2"), "{e}");
        assert!(read_hist(&t.path().join("none.hdr")).is_err());
    }
}
