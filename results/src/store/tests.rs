use std::path::{Path, PathBuf};

use super::*;
use crate::{write_csv, write_json, CrashRow, Environment, RunRow};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Every file under `dir` (dot files left out), by path.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            if e.path().is_dir() {
                walk(&e.path(), &format!("{prefix}{name}/"), out);
            } else {
                out.push((format!("{prefix}{name}"), std::fs::read(e.path()).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out
}

fn row(run_id: &str, label: &str, policy: &str, ops: f64) -> RunRow {
    RunRow {
        run_id: run_id.into(),
        host: "h".into(),
        label: label.into(),
        engine: "wal".into(),
        policy: policy.into(),
        workload: "fillrandom".into(),
        threads: 1,
        value_size_bytes: 100,
        seed: u64::MAX - 7,
        status: "ok".into(),
        ops_per_sec: ops,
        steady: Some(true),
        ..RunRow::default()
    }
}

/// A results folder of one run: environment.json, runs.csv (a cell per
/// policy), and a histogram per cell.
fn folder(parent: &Path, name: &str, run_id: &str, label: &str, policies: &[&str]) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(dir.join("hgrm")).unwrap();
    let env = Environment {
        run_id: run_id.into(),
        label: label.into(),
        host: "h".into(),
        started_utc: "2026-01-02T03:04:05Z".into(),
        ..Environment::default()
    };
    write_json(&dir.join("environment.json"), &env).unwrap();
    let rows: Vec<RunRow> = policies
        .iter()
        .enumerate()
        .map(|(i, p)| row(run_id, label, p, 1000.0 * (i + 1) as f64 + 0.25))
        .collect();
    write_csv(&dir.join("runs.csv"), &rows).unwrap();
    for p in policies {
        let stem = crate::hgrm_stem("wal", p, "fillrandom", 1, 100, "all");
        std::fs::write(dir.join("hgrm").join(format!("{stem}.hgrm")), p.as_bytes()).unwrap();
    }
    dir
}

fn add(store: &Path, dir: &Path) -> Added {
    let content = read_folder(dir).unwrap();
    Store::open(store, Access::Write)
        .unwrap()
        .add(&content)
        .unwrap()
}

fn count(store: &Path, sql: &str) -> i64 {
    let c = rusqlite::Connection::open(store).unwrap();
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_run_written_back_is_its_folder_byte_for_byte() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    for name in ["format-v2", "format-v1"] {
        let original = fixture(name);
        add(&store, &original);
        let s = Store::open(&store, Access::Read).unwrap();
        let runs = s.select(&Selection::default()).unwrap();
        let run = runs.last().unwrap();
        let back = t.path().join(format!("back-{name}"));
        s.materialize(run, &back).unwrap();
        let (want, got) = (tree(&original), tree(&back));
        let names = |v: &[(String, Vec<u8>)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(&got), names(&want), "{name}");
        for ((path, a), (_, b)) in want.iter().zip(&got) {
            assert!(
                a == b,
                "{name}/{path} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(a),
                String::from_utf8_lossy(b)
            );
        }
    }
}

#[test]
fn figures_are_numbers_and_an_unmeasured_figure_is_null() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    add(&store, &folder(t.path(), "a", "h-1", "ssd", &["none"]));
    let types = |col: &str| -> String {
        let c = rusqlite::Connection::open(&store).unwrap();
        c.query_row(&format!("SELECT typeof({col}) FROM runs"), [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(types("ops_per_sec"), "real");
    assert_eq!(types("threads"), "integer");
    assert_eq!(types("file_syncs"), "null", "unmeasured, not 0");
    assert_eq!(types("steady"), "integer");
    assert_eq!(types("error"), "text");
    // A seed above 2^63 comes back whole, not as a rounded float.
    let seed: String = rusqlite::Connection::open(&store)
        .unwrap()
        .query_row("SELECT seed FROM runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(seed, (u64::MAX - 7).to_string());
    assert_eq!(count(&store, "SELECT sum(ops_per_sec > 1000) FROM runs"), 1);
    assert_eq!(count(&store, "PRAGMA user_version"), SCHEMA_VERSION);
}

#[test]
fn adding_a_folder_again_replaces_it() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    let a = folder(t.path(), "a", "h-1", "ssd", &["none", "always"]);
    let b = folder(t.path(), "b", "h-2", "hdd", &["none"]);
    assert!(!add(&store, &a).replaced);
    add(&store, &b);
    let again = add(&store, &a);
    assert!(again.replaced && again.rows == 2, "{again:?}");
    assert_eq!(count(&store, "SELECT count(*) FROM folders"), 2);
    assert_eq!(count(&store, "SELECT count(*) FROM runs"), 3);
    assert_eq!(count(&store, "SELECT count(*) FROM environment"), 2);
    assert_eq!(count(&store, "SELECT count(*) FROM files"), 2 * 2 + 1 + 2);
    // The replaced run keeps its place: it was added first.
    let runs = Store::open(&store, Access::Read).unwrap().runs().unwrap();
    assert_eq!(runs[0].run_id, "h-1");
}

/// Regression: a writer opening a new store while the other made it saw
/// its tables but not its version (three reads, two snapshots), and its
/// switch to WAL could meet "database is locked" without waiting.
#[test]
fn two_writers_at_once_both_land() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    let per_writer = 6;
    let barrier = std::sync::Barrier::new(2);
    std::thread::scope(|s| {
        for w in 0..2 {
            let (store, barrier, parent) = (&store, &barrier, t.path());
            s.spawn(move || {
                let dirs: Vec<PathBuf> = (0..per_writer)
                    .map(|i| {
                        let id = format!("w{w}-{i}");
                        folder(parent, &id, &id, "ssd", &["none", "always"])
                    })
                    .collect();
                barrier.wait();
                // Each writer makes the store if it is not there yet.
                let mut st = Store::open(store, Access::Write).unwrap();
                for d in &dirs {
                    st.add(&read_folder(d).unwrap()).unwrap();
                }
            });
        }
    });
    assert_eq!(
        count(&store, "SELECT count(*) FROM folders"),
        2 * per_writer
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM runs"),
        2 * 2 * per_writer
    );
    assert_eq!(
        rusqlite::Connection::open(&store)
            .unwrap()
            .query_row("PRAGMA journal_mode", [], |r| r.get::<_, String>(0))
            .unwrap(),
        "wal"
    );
}

#[test]
fn a_newer_store_is_neither_read_nor_written() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    add(&store, &folder(t.path(), "a", "h-1", "ssd", &["none"]));
    rusqlite::Connection::open(&store)
        .unwrap()
        .pragma_update(None, "user_version", 7)
        .unwrap();
    for access in [Access::Read, Access::Write] {
        let e = Store::open(&store, access).unwrap_err();
        let text = e.to_string();
        assert!(
            matches!(
                e,
                StoreError::NewerSchema {
                    found: 7,
                    supported: 1,
                    ..
                }
            ),
            "{e}"
        );
        assert!(
            text.contains("version 7") && text.contains("up to version 1"),
            "{text}"
        );
    }
    assert_eq!(count(&store, "PRAGMA user_version"), 7);
    assert_eq!(count(&store, "SELECT count(*) FROM runs"), 1);
}

#[test]
fn other_files_are_not_taken_for_stores() {
    let t = tempfile::tempdir().unwrap();
    let text = t.path().join("notes.txt");
    std::fs::write(
        &text,
        "not a database, but long enough to have a header page....",
    )
    .unwrap();
    let e = Store::open(&text, Access::Write).unwrap_err();
    assert!(e.to_string().contains("not a SQLite database"), "{e}");
    assert_eq!(
        std::fs::read_to_string(&text).unwrap(),
        "not a database, but long enough to have a header page...."
    );
    let other = t.path().join("other.db");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute("CREATE TABLE accounts (id INTEGER)", [])
        .unwrap();
    let e = Store::open(&other, Access::Write).unwrap_err();
    assert!(e.to_string().contains("another program"), "{e}");
    let missing = t.path().join("missing.db");
    let e = Store::open(&missing, Access::Read).unwrap_err();
    assert!(matches!(e, StoreError::Missing { .. }), "{e}");
    assert!(!missing.exists(), "reading made a store");
}

#[test]
fn a_folder_that_is_not_results_is_named_with_what_it_lacks() {
    let t = tempfile::tempdir().unwrap();
    let empty = t.path().join("holiday-photos");
    std::fs::create_dir(&empty).unwrap();
    let e = read_folder(&empty).unwrap_err().to_string();
    assert!(
        e.contains("holiday-photos") && e.contains("none of environment.json, runs.csv"),
        "{e}"
    );
    let e = read_folder(&t.path().join("nowhere"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nowhere") && e.contains("no such folder"), "{e}");
    // A broken file is named with its line.
    let bad = folder(t.path(), "bad", "h-1", "ssd", &["none"]);
    let mut text = std::fs::read_to_string(bad.join("runs.csv")).unwrap();
    text = text.replacen(",1000.25,", ",fast,", 1);
    std::fs::write(bad.join("runs.csv"), text).unwrap();
    let e = read_folder(&bad).unwrap_err().to_string();
    assert!(e.contains("runs.csv") && e.contains("line: 2"), "{e}");
}

#[test]
fn filters_pick_cells_and_their_histograms() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    add(
        &store,
        &folder(t.path(), "a", "h-1", "ssd", &["none", "always"]),
    );
    add(&store, &folder(t.path(), "b", "h-2", "hdd", &["none"]));
    let s = Store::open(&store, Access::Read).unwrap();
    let sel = |runs: &[&str], filters: &[&str]| Selection {
        runs: runs.iter().map(|r| r.to_string()).collect(),
        filters: filters.iter().map(|f| f.parse().unwrap()).collect(),
    };
    let picked = s.select(&sel(&[], &["policy=always"])).unwrap();
    assert_eq!(picked.len(), 1);
    assert_eq!(
        (picked[0].run_id.as_str(), picked[0].cells()),
        ("h-1", Some(1))
    );
    let back = t.path().join("back");
    s.materialize(&picked[0], &back).unwrap();
    let rows: Vec<RunRow> = crate::read_csv(&back.join("runs.csv")).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].policy, "always");
    let hgrm: Vec<String> = tree(&back.join("hgrm")).into_iter().map(|f| f.0).collect();
    assert_eq!(hgrm, ["wal_always_fillrandom_t1_v100_all.hgrm"]);
    // Conditions are ANDed; typed columns compare as numbers.
    assert_eq!(
        s.select(&sel(&[], &["policy=none", "label=hdd"]))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(s.select(&sel(&[], &["threads=1"])).unwrap().len(), 2);
    assert_eq!(s.select(&sel(&[], &["file_syncs="])).unwrap().len(), 2);
    assert_eq!(
        s.select(&sel(&[], &["steady=true", "threads=2"]))
            .unwrap()
            .len(),
        0
    );
    // Run ids come in the order asked.
    let order: Vec<String> = s
        .select(&sel(&["h-2", "h-1"], &[]))
        .unwrap()
        .into_iter()
        .map(|r| r.run_id)
        .collect();
    assert_eq!(order, ["h-2", "h-1"]);
    let e = s.select(&sel(&["h-9"], &[])).unwrap_err().to_string();
    assert!(e.contains("h-9") && e.contains("h-1 (ssd)"), "{e}");
    let e = s
        .select(&sel(&[], &["colour=red"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("colour") && e.contains("ops_per_sec") && e.contains("policy"),
        "{e}"
    );
    let e = s
        .select(&sel(&[], &["threads=many"]))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`threads` holds whole numbers, not `many`"),
        "{e}"
    );
    let e = "policy".parse::<Filter>().unwrap_err().to_string();
    assert!(e.contains("`policy` is not COLUMN=VALUE"), "{e}");
    assert!("=always".parse::<Filter>().is_err());
    assert_eq!("error=".parse::<Filter>().unwrap().value, "");
}

#[test]
fn a_column_the_table_does_not_know_keeps_the_file_whole() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    let dir = folder(t.path(), "a", "h-1", "ssd", &["none"]);
    let text = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[0].push_str(",from_the_future");
    lines[1].push_str(",42");
    std::fs::write(dir.join("runs.csv"), lines.join("\n") + "\n").unwrap();
    add(&store, &dir);
    assert_eq!(count(&store, "SELECT count(*) FROM runs"), 1);
    let s = Store::open(&store, Access::Read).unwrap();
    let back = t.path().join("back");
    s.materialize(&s.select(&Selection::default()).unwrap()[0], &back)
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(back.join("runs.csv")).unwrap(),
        lines.join("\n") + "\n"
    );
}

#[test]
fn a_crash_folder_without_a_run_id_is_named_by_host_and_start() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("crash");
    std::fs::create_dir(&dir).unwrap();
    let env = Environment {
        host: "my host".into(),
        label: "lab".into(),
        started_utc: "2026-03-04T05:06:07Z".into(),
        ..Environment::default()
    };
    write_json(&dir.join("environment.json"), &env).unwrap();
    write_csv(
        &dir.join("crash.csv"),
        &[CrashRow {
            engine: "wal".into(),
            ..CrashRow::default()
        }],
    )
    .unwrap();
    let content = read_folder(&dir).unwrap();
    assert_eq!(
        (content.run_id(), content.label()),
        ("my_host-20260304-050607", "lab")
    );
    let store = t.path().join("s.db");
    add(&store, &dir);
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM crash WHERE run_id = 'my_host-20260304-050607' AND label = 'lab'"
        ),
        1
    );
}

#[test]
fn a_link_to_a_folder_is_left_out_and_a_link_to_a_file_stored() {
    // Regression guard: following a link back to its own folder recursed
    // without end.
    let t = tempfile::tempdir().unwrap();
    let dir = folder(t.path(), "a", "h-1", "ssd", &["none"]);
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::fs::write(t.path().join("notes.txt"), "n").unwrap();
    std::os::unix::fs::symlink(t.path().join("notes.txt"), dir.join("notes.txt")).unwrap();
    let content = read_folder(&dir).unwrap();
    let paths: Vec<&str> = content.files.iter().map(|f| f.path.as_str()).collect();
    assert!(
        paths.contains(&"notes.txt") && !paths.iter().any(|p| p.starts_with("loop")),
        "{paths:?}"
    );
}

#[test]
fn a_store_in_a_missing_folder_is_named() {
    let t = tempfile::tempdir().unwrap();
    let e = Store::open(&t.path().join("no/such/s.db"), Access::Write)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no/such") && e.contains("does not exist"), "{e}");
}

#[test]
fn another_run_under_the_same_id_and_label_is_not_replaced() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("s.db");
    let first = folder(t.path(), "a", "h-1", "ssd", &["none", "always"]);
    let second = folder(t.path(), "b", "h-1", "ssd", &["none"]);
    let env = second.join("environment.json");
    let mut e: Environment = crate::read_json(&env).unwrap();
    e.started_utc = "2026-01-02T03:04:06Z".into();
    write_json(&env, &e).unwrap();
    add(&store, &first);
    let content = read_folder(&second).unwrap();
    let err = Store::open(&store, Access::Write)
        .unwrap()
        .add(&content)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("already holds run h-1 (ssd)") && err.contains("nothing was replaced"),
        "{err}"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM runs"), 2);
}
