//! A cell's engine bytes include what the engine's close wrote to persist
//! the cell's writes, as its device bytes (forced out after the close) and
//! the reference engines' `wchar` do: the btree keeps a short cell's pages
//! in its cache and writes them at its closing checkpoint, so without the
//! close its engine bytes were the WAL alone while the device saw the
//! pages too.

use std::sync::atomic::AtomicBool;

use bench_runner::measure::cell::run_cell;

mod common;

#[test]
fn the_closing_checkpoint_is_counted_in_engine_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut workload = workloads::preset("fillrandom").unwrap();
    workload.threads = 1;
    workload.duration_secs = None;
    workload.operation_count = Some(2_000);
    let plan = common::none_cell(engines::registry::info("btree").unwrap(), workload, None);
    let m = run_cell(
        &tmp.path().join("cell"),
        &plan,
        &AtomicBool::new(false),
        None,
    )
    .unwrap();
    let kinds = &m.io.bytes_by_kind;
    // 2,000 puts of 116 bytes: a WAL far below the checkpoint distance, so
    // only the close writes pages.
    assert!(kinds.get("wal").is_some_and(|&b| b > 0), "{kinds:?}");
    let pages = kinds.get("pages").copied().unwrap_or(0);
    assert!(pages >= 4096, "the closing checkpoint's pages: {kinds:?}");
    assert_eq!(m.io.bytes_written, kinds.values().sum::<u64>());
}
