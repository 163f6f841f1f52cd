//! Every engine reports its maintenance through the one event sink of
//! `EngineConfig::events`: the kinds a storage engineer looks for on a
//! timeline show up, each with a start no later than its end.

use std::sync::Arc;

use engines::events::{EventKind, EventLog, Events};
use engines::{EngineConfig, SyncPolicy};

fn config(dir: &std::path::Path, log: &Arc<EventLog>) -> EngineConfig {
    let mut c = EngineConfig::new(dir, SyncPolicy::NONE);
    c.segment_bytes = 64 << 10;
    c.memtable_bytes = 64 << 10;
    c.checkpoint_bytes = 64 << 10;
    c.background_maintenance = false;
    c.events = Events::to(log.clone());
    c
}

/// Writes 4,000 keys three times over, so that every engine rotates,
/// merges or compacts, then syncs and closes.
fn kinds_after_overwrites(engine: &str) -> Vec<EventKind> {
    let dir = tempfile::tempdir().unwrap();
    let log = EventLog::shared();
    let e = engines::open(engine, config(dir.path(), &log)).unwrap();
    let value = [7u8; 100];
    for round in 0..3u32 {
        for i in 0..4_000u32 {
            let key = format!("key{:06}", (i * 7919 + round) % 4_000);
            e.put(key.as_bytes(), &value).unwrap();
        }
    }
    e.maintain().unwrap();
    e.close().unwrap();
    let events = log.take();
    assert!(events.iter().all(|ev| ev.start <= ev.end));
    let mut kinds: Vec<EventKind> = events.iter().map(|ev| ev.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

#[test]
fn lsm_reports_flushes_compactions_and_rotations() {
    let kinds = kinds_after_overwrites("lsm");
    for k in [EventKind::Flush, EventKind::Compaction, EventKind::Rotation] {
        assert!(kinds.contains(&k), "lsm: no {k} in {kinds:?}");
    }
}

#[test]
fn btree_reports_checkpoints() {
    let kinds = kinds_after_overwrites("btree");
    assert!(kinds.contains(&EventKind::Checkpoint), "{kinds:?}");
}

#[test]
fn hash_engines_report_merges_and_rotations() {
    for engine in ["bitcask", "loghash"] {
        let kinds = kinds_after_overwrites(engine);
        for k in [
            EventKind::Merge,
            EventKind::Rotation,
            EventKind::IndexResize,
        ] {
            assert!(kinds.contains(&k), "{engine}: no {k} in {kinds:?}");
        }
    }
}

#[test]
fn wal_reports_rotations() {
    let kinds = kinds_after_overwrites("wal");
    assert!(kinds.contains(&EventKind::Rotation), "{kinds:?}");
}
