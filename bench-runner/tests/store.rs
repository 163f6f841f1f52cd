//! The results store end to end: folders added with `store add` and by
//! `--store` on the commands that write them, `compare` and `plot` from
//! the store giving what they give from the folders, two writers at once,
//! and every bad input refused with exit code 2 and the store untouched.

mod common;

use common::{copy_dir, fixture};

use std::path::{Path, PathBuf};
use std::process::Output;

use results::{read_csv, write_csv, Environment, RunRow};

/// `results/tests/fixtures/format-v2`: a tiny wal run, none and always.
/// The fixture as the run of machine `label`, `speed` times as fast.
fn machine(parent: &Path, label: &str, speed: f64) -> PathBuf {
    let dir = parent.join(label);
    copy_dir(&fixture(2), &dir);
    let run_id = format!("{label}-20260101-000000");
    let env_path = dir.join("environment.json");
    let mut env: Environment = results::read_json(&env_path).unwrap();
    env.run_id = run_id.clone();
    env.label = label.into();
    results::write_json(&env_path, &env).unwrap();
    for file in ["runs.csv", "repetitions.csv"] {
        let mut rows: Vec<RunRow> = read_csv(&dir.join(file)).unwrap();
        for r in &mut rows {
            r.run_id = run_id.clone();
            r.label = label.into();
            r.ops_per_sec *= speed;
            r.p99_us /= speed;
        }
        write_csv(&dir.join(file), &rows).unwrap();
    }
    dir
}

fn run(args: &[&str], paths: &[&Path]) -> Output {
    let mut c = std::process::Command::new(common::EXE);
    c.args(args).env("NO_COLOR", "1");
    for p in paths {
        c.arg(p);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Exit code 2, no panic, and a message holding every part.
fn refused(o: &Output, parts: &[&str]) {
    let all = text(o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(!all.contains("panicked"), "{all}");
    for p in parts {
        assert!(all.contains(p), "no {p:?} in: {all}");
    }
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", text(o));
}

fn sql<T: rusqlite::types::FromSql>(store: &Path, q: &str) -> T {
    rusqlite::Connection::open(store)
        .unwrap()
        .query_row(q, [], |r| r.get(0))
        .unwrap()
}

fn compare_csv(out: &Path) -> Vec<results::compare::CompareRow> {
    read_csv(&out.join("compare.csv")).unwrap()
}

#[test]
fn compare_from_the_store_is_compare_of_the_folders() {
    let t = tempfile::tempdir().unwrap();
    let dirs: Vec<PathBuf> = [("laptop", 1.0), ("server", 3.0), ("vm", 0.5)]
        .iter()
        .map(|(l, s)| machine(t.path(), l, *s))
        .collect();
    let paths: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let store = t.path().join("runs.db");
    let s = store.as_path();
    ok(&run(
        &["store", "add"],
        &[paths.as_slice(), &[Path::new("--store"), s]].concat(),
    ));
    // Adding again replaces, no duplicate rows.
    ok(&run(
        &["store", "add"],
        &[paths[0], Path::new("--store"), s],
    ));
    assert_eq!(sql::<i64>(s, "SELECT count(*) FROM runs"), 6);

    let folders = t.path().join("from-folders");
    ok(&run(
        &["compare"],
        &[paths.as_slice(), &[Path::new("--out"), &folders]].concat(),
    ));
    let all = compare_csv(&folders);
    assert_eq!(all.len(), 6, "two cells x three runs");

    // A filter that keeps every cell: the same table.
    let stored = t.path().join("from-store");
    let o = run(
        &["compare", "--where", "workload=fillrandom", "--store"],
        &[s, Path::new("--out"), &stored],
    );
    ok(&o);
    assert_eq!(compare_csv(&stored), all);

    // Filtered rows: the same rows as the folders' table, filtered alike.
    let always = t.path().join("always");
    ok(&run(
        &[
            "compare",
            "--where",
            "policy=always",
            "--where",
            "threads=1",
            "--store",
        ],
        &[s, Path::new("--out"), &always],
    ));
    let want: Vec<_> = all
        .iter()
        .filter(|r| r.policy == "always")
        .cloned()
        .collect();
    assert_eq!(compare_csv(&always), want);

    // Folders and stored runs mix; --runs sets the order (the baseline first).
    let mixed = t.path().join("mixed");
    ok(&run(
        &["compare", "--runs", "vm-20260101-000000", "--store"],
        &[s, paths[1], Path::new("--out"), &mixed],
    ));
    let labels: Vec<String> = compare_csv(&mixed).into_iter().map(|r| r.run).collect();
    assert_eq!(labels, ["server", "vm", "server", "vm"]);

    // plot draws one stored run, from a folder equal to the original.
    let plotted = t.path().join("plot");
    ok(&run(
        &["plot", "--runs", "server-20260101-000000", "--store"],
        &[s, Path::new("--out"), &plotted],
    ));
    assert!(plotted.join("report.md").exists());
    for f in [
        "runs.csv",
        "latency.csv",
        "timeline.csv",
        "environment.json",
        "hgrm/wal_none_fillrandom_t1_v100_all.hgrm",
    ] {
        assert_eq!(
            std::fs::read(plotted.join(f)).unwrap(),
            std::fs::read(dirs[1].join(f)).unwrap(),
            "{f}"
        );
    }
    let busy = t.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("mine.txt"), "x").unwrap();
    refused(
        &run(
            &["plot", "--runs", "vm-20260101-000000", "--store"],
            &[s, Path::new("--out"), &busy],
        ),
        &["busy", "not empty"],
    );
    refused(
        &run(
            &["plot", "--store"],
            &[s, Path::new("--out"), &t.path().join("p2")],
        ),
        &["plot draws one", "laptop-20260101-000000 (laptop)"],
    );
}

#[test]
fn two_processes_adding_at_once_both_land() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("runs.db");
    let writers: Vec<std::process::Child> = ["a", "b"]
        .iter()
        .map(|w| {
            let dirs: Vec<PathBuf> = (0..3)
                .map(|i| machine(t.path(), &format!("{w}{i}"), 1.0))
                .collect();
            std::process::Command::new(common::EXE)
                .args(["store", "add"])
                .args(&dirs)
                .arg("--store")
                .arg(&store)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for w in writers {
        let o = w.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert_eq!(sql::<i64>(&store, "SELECT count(*) FROM folders"), 6);
    assert_eq!(
        sql::<i64>(&store, "SELECT count(DISTINCT folder_id) FROM runs"),
        6
    );
    let list = run(&["store", "list", "--store"], &[&store]);
    ok(&list);
    for label in ["a0", "a2", "b0", "b2"] {
        assert!(
            text(&list).contains(&format!("{label}-20260101-000000\t{label}")),
            "{}",
            text(&list)
        );
    }
}

#[test]
fn bad_input_is_refused_and_the_store_keeps_what_it_had() {
    let t = tempfile::tempdir().unwrap();
    let good = machine(t.path(), "laptop", 1.0);
    let other = machine(t.path(), "server", 2.0);
    let store = t.path().join("runs.db");
    let s = store.as_path();
    let out = t.path().join("out");
    ok(&run(&["store", "add"], &[&good, Path::new("--store"), s]));

    // A folder that is not results: named, with what it lacks; none added.
    let photos = t.path().join("photos");
    std::fs::create_dir(&photos).unwrap();
    refused(
        &run(
            &["store", "add"],
            &[&other, &photos, Path::new("--store"), s],
        ),
        &[
            "photos",
            "not a results folder",
            "none of environment.json, runs.csv",
            "nothing was added",
        ],
    );
    assert_eq!(sql::<i64>(s, "SELECT count(*) FROM folders"), 1);

    // --where: a column runs does not have, listed with the valid ones; no `=`.
    refused(
        &run(
            &["compare", "--where", "colour=red", "--store"],
            &[s, Path::new("--out"), &out],
        ),
        &["colour", "ops_per_sec", "policy", "workload"],
    );
    refused(
        &run(
            &["compare", "--where", "policy", "--store"],
            &[s, Path::new("--out"), &out],
        ),
        &["--where", "COLUMN=VALUE"],
    );
    refused(
        &run(&["compare", "--where", "policy=x"], &[&good, &other]),
        &["--store"],
    );
    refused(
        &run(&["compare", "--runs", "nope", "--store"], &[s]),
        &["nope", "laptop-20260101-000000 (laptop)"],
    );
    refused(
        &run(&["compare", "--store"], &[&t.path().join("missing.db")]),
        &["missing.db", "does not exist"],
    );
    assert!(!t.path().join("missing.db").exists());

    // A file that is not a store, before anything is measured.
    let notes = t.path().join("notes.txt");
    std::fs::write(&notes, "x".repeat(200)).unwrap();
    let (_d, disk) = common::setup();
    refused(
        &run(
            &[
                "run",
                "--quick",
                "--no-probe",
                "--engines",
                "wal",
                "--store",
            ],
            &[&notes, Path::new("--disk"), &disk, Path::new("--out"), &out],
        ),
        &["notes.txt", "not a SQLite database"],
    );
    assert!(!out.exists(), "the run started");

    // A store of a newer schema: named with both versions, left as it is.
    rusqlite::Connection::open(s)
        .unwrap()
        .pragma_update(None, "user_version", 99)
        .unwrap();
    refused(
        &run(&["store", "add"], &[&other, Path::new("--store"), s]),
        &["runs.db", "schema version 99", "up to version 1"],
    );
    refused(
        &run(&["compare", "--store"], &[s, Path::new("--out"), &out]),
        &["schema version 99", "up to version 1"],
    );
    assert_eq!(sql::<i64>(s, "PRAGMA user_version"), 99);
    assert_eq!(sql::<i64>(s, "SELECT count(*) FROM runs"), 2);
}

#[test]
fn commands_add_their_finished_folder() {
    let t = tempfile::tempdir().unwrap();
    let (_d, disk) = common::setup();
    let store = t.path().join("runs.db");
    let out = t.path().join("run");
    let o = run(
        &[
            "run",
            "--quiet",
            "--no-probe",
            "--no-plots",
            "--repeat",
            "1",
            "--ops",
            "200",
            "--engines",
            "wal",
            "--policies",
            "none",
            "--threads",
            "1",
            "--workloads",
            "fillrandom",
            "--store",
        ],
        &[&store, Path::new("--disk"), &disk, Path::new("--out"), &out],
    );
    ok(&o);
    assert!(text(&o).contains("added"), "{}", text(&o));
    let crash = t.path().join("crash");
    ok(&run(
        &[
            "crash",
            "--quiet",
            "--engines",
            "wal",
            "--policies",
            "always",
            "--profile",
            "posix",
            "--trials",
            "3",
            "--threads",
            "0",
            "--label",
            "crash-box",
            "--store",
        ],
        &[&store, Path::new("--out"), &crash],
    ));
    assert_eq!(sql::<i64>(&store, "SELECT count(*) FROM folders"), 2);
    assert_eq!(
        sql::<i64>(&store, "SELECT count(*) FROM runs WHERE engine = 'wal'"),
        1
    );
    let crash_id: String = sql(&store, "SELECT run_id FROM crash");
    assert!(!crash_id.is_empty());
    assert_eq!(
        sql::<String>(&store, "SELECT typeof(ops_per_sec) FROM runs"),
        "real"
    );
}
