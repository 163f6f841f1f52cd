//! lsm and btree specifics: torn pages, oversized entries, bytes written
//! split by file kind.

mod common;

use common::{key, small_config, value};
use engines::fs::{RealFs, Vfs};
use engines::{EngineConfig, Error, SyncPolicy};

#[test]
fn btree_reports_a_damaged_page_with_file_and_offset() {
    let t = tempfile::tempdir().unwrap();
    let cfg = small_config(t.path(), RealFs::shared(), SyncPolicy::ALWAYS_DIR);
    let e = engines::open("btree", cfg.clone()).unwrap();
    for i in 0..300u64 {
        e.put(&key(i), &value(i, 0, 50)).unwrap();
    }
    e.maintain().unwrap();
    e.close().unwrap();
    drop(e);
    // Damage page 2 (a tree page written by the checkpoint).
    let data = t.path().join("data.pages");
    let f = RealFs.open(&data).unwrap();
    let off = 2 * cfg.page_bytes as u64 + 100;
    f.write_at(&[0xde, 0xad], off).unwrap();
    drop(f);
    let e = engines::open("btree", cfg).unwrap();
    let err = e.scan(b"", None, usize::MAX).unwrap_err();
    match err {
        Error::Corrupt { file, offset, .. } => {
            assert_eq!(file, data);
            assert_eq!(offset, Some(2 * 1024));
        }
        other => panic!("expected Corrupt, got {other}"),
    }
}

#[test]
fn btree_refuses_entries_larger_than_a_third_of_a_page() {
    let t = tempfile::tempdir().unwrap();
    let e = engines::open("btree", EngineConfig::new(t.path(), SyncPolicy::NONE)).unwrap();
    let err = e.put(b"k", &vec![1u8; 2000]).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("too large"), "{err}");
    e.put(b"k", &[1u8; 1000]).unwrap();
    assert_eq!(e.get(b"k").unwrap().unwrap().len(), 1000);
}

#[test]
fn bytes_written_are_split_by_file_kind() {
    for name in ["lsm", "btree"] {
        let t = tempfile::tempdir().unwrap();
        let e = engines::open(
            name,
            small_config(t.path(), RealFs::shared(), SyncPolicy::NONE),
        )
        .unwrap();
        for i in 0..2000u64 {
            e.put(&key(i % 300), &value(i, 0, 80)).unwrap();
        }
        e.maintain().unwrap();
        let s = e.stats();
        let kinds = &s.bytes_written_by_kind;
        assert!(kinds["wal"] > 2000 * 96, "{name}: {kinds:?}");
        let other: u64 = kinds
            .iter()
            .filter(|(k, _)| *k != "wal")
            .map(|(_, v)| v)
            .sum();
        assert!(other > 0, "{name}: nothing but WAL bytes: {kinds:?}");
        assert_eq!(s.bytes_written(), kinds.values().sum::<u64>());
        e.close().unwrap();
    }
}

#[test]
fn deletes_free_leaves_for_reuse() {
    let t = tempfile::tempdir().unwrap();
    let cfg = small_config(t.path(), RealFs::shared(), SyncPolicy::NONE);
    let e = engines::open("btree", cfg).unwrap();
    for i in 0..2000u64 {
        e.put(&key(i), &value(i, 0, 60)).unwrap();
    }
    for i in 0..1900u64 {
        e.delete(&key(i)).unwrap();
    }
    let free: usize = e.stats().notes["free_pages"].parse().unwrap();
    assert!(
        free > 50,
        "{free} free pages after deleting 95% of the keys"
    );
    let got = e.scan(b"", None, usize::MAX).unwrap();
    assert_eq!(got.len(), 100);
    assert_eq!(got[0].0, key(1900));
    // Freed pages are reused before the file grows.
    for i in 0..1000u64 {
        e.put(&key(10_000 + i), &value(i, 1, 60)).unwrap();
    }
    let after: usize = e.stats().notes["free_pages"].parse().unwrap();
    assert!(after < free, "{after} >= {free}");
}

/// A restart empties lsm's block cache and btree's page cache; `warm`
/// fills them from the files, so that reads after it issue no read call,
/// and it stops at the cache's capacity instead of evicting what it loaded.
#[test]
fn warm_fills_the_cache_so_reads_reach_no_file() {
    use engines::fs::CountingFs;
    use std::sync::Arc;
    for name in ["lsm", "btree"] {
        let t = tempfile::tempdir().unwrap();
        let mut cfg = small_config(t.path(), RealFs::shared(), SyncPolicy::NONE);
        cfg.cache_bytes = 64 << 20;
        cfg.cache_pages = 16 << 10;
        let e = engines::open(name, cfg.clone()).unwrap();
        for i in 0..3000u64 {
            e.put(&key(i), &value(i, 0, 50)).unwrap();
        }
        e.close().unwrap();
        drop(e);

        let counting = CountingFs::new(RealFs::shared());
        let counters = counting.counters();
        cfg.vfs = Arc::new(counting);
        let e = engines::open(name, cfg.clone()).unwrap();
        assert!(e.warm().unwrap(), "{name} has a cache of its own");
        let before = counters.snapshot().read_calls;
        for i in (0..3000u64).step_by(7) {
            assert_eq!(e.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{name}");
        }
        let rows = e.scan(&key(100), None, 500).unwrap();
        assert_eq!(rows.len(), 500, "{name}");
        let calls = counters.snapshot().read_calls - before;
        assert_eq!(calls, 0, "{name}: {calls} read calls after warm");
        e.close().unwrap();
        drop(e);

        // A cache smaller than the data: warm stops when it is full, and
        // reads still find everything.
        cfg.cache_bytes = 16 << 10;
        cfg.cache_pages = 8;
        let e = engines::open(name, cfg).unwrap();
        assert!(e.warm().unwrap(), "{name}");
        let n = e.stats().notes;
        let within = match name {
            "btree" => n["cached_pages"].parse::<usize>().unwrap() <= 8,
            _ => {
                let (held, cap) = n["block_cache"]
                    .trim_end_matches(" bytes")
                    .split_once(" of ")
                    .unwrap();
                held.parse::<u64>().unwrap() <= cap.parse().unwrap()
            }
        };
        assert!(within, "{name}: {n:?}");
        for i in (0..3000u64).step_by(97) {
            assert_eq!(e.get(&key(i)).unwrap(), Some(value(i, 0, 50)), "{name}");
        }
    }
}
