//! Process trials over the line protocol, with the example Python engine
//! (skipped, saying why, where python3 is missing; failed instead under
//! `BENCH_REQUIRE_PYTHON=1`).

use std::path::{Path, PathBuf};

use crashcheck::process::{run_process_trial, Launch, PowerCut, ProcessTrial};
use crashcheck::protocol::ProtocolError;
use engines::SyncPolicy;

mod common;
use common::python3;

fn kv(mode: &str) -> Option<Launch> {
    if !python3(None) {
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/exec-engine/kv.py");
    Some(Launch::shell(&format!(
        "python3 '{}' {mode}",
        script.display()
    )))
}

fn trial<'a>(launch: &'a Launch, dir: &'a Path, promise: &str, seed: u64) -> ProcessTrial<'a> {
    ProcessTrial {
        launch,
        dir,
        promise: promise.parse::<SyncPolicy>().unwrap(),
        seed,
        ops: 60,
    }
}

/// A stand-in for a power cut: removes the newest segment file, as a
/// crash would when its directory entry was never synced.
#[derive(Debug)]
struct DropNewestFile<'a>(&'a Path);

impl PowerCut for DropNewestFile<'_> {
    fn cut(&mut self, _seed: u64) -> Result<String, ProtocolError> {
        let mut names: Vec<_> = std::fs::read_dir(self.0)
            .map_err(|source| ProtocolError::Io {
                what: "list".into(),
                source,
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        names.sort();
        if let Some(last) = names.last() {
            let _ = std::fs::remove_file(last);
        }
        Ok(format!("removed {:?}", names.last()))
    }
}

#[test]
fn process_kills_keep_written_data_and_catch_user_space_buffers() {
    let (Some(write), Some(buffered)) = (kv("write"), kv("buffered")) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let mut caught = 0;
    for seed in 0..4 {
        let dir = t.path().join(format!("w{seed}"));
        std::fs::create_dir(&dir).unwrap();
        let o = run_process_trial(&trial(&write, &dir, "none", seed), None).unwrap();
        assert!(o.acked > 0 || o.trace.len() <= 2, "{o:?}");
        assert_eq!(o.violation, None, "{}", o.trace.join("\n"));
        let dir = t.path().join(format!("b{seed}"));
        std::fs::create_dir(&dir).unwrap();
        let o = run_process_trial(&trial(&buffered, &dir, "none", seed), None).unwrap();
        caught += u32::from(o.violation.is_some());
    }
    assert!(
        caught >= 2,
        "buffered acknowledgements caught in {caught} of 4"
    );
}

/// The power-cut hook is where the FUSE layer plugs in: after it, the
/// claimed promise is what the checker holds the engine to.
#[test]
fn a_power_cut_is_held_to_the_claimed_promise() {
    let Some(fsync) = kv("fsync") else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let (mut broken, mut excused) = (0, 0);
    for seed in 0..4 {
        for (promise, count) in [("always", &mut broken), ("none", &mut excused)] {
            let dir = t.path().join(format!("{promise}{seed}"));
            std::fs::create_dir(&dir).unwrap();
            let mut cut = DropNewestFile(&dir);
            let o = run_process_trial(&trial(&fsync, &dir, promise, seed), Some(&mut cut)).unwrap();
            *count += u32::from(o.violation.is_some());
        }
    }
    assert!(
        broken >= 2,
        "losing a file broke `always` in only {broken} of 4"
    );
    assert_eq!(excused, 0, "`none` promises nothing on power loss");
}
