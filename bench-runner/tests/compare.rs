//! `bench-runner compare` as a user meets it: the answer first on stderr,
//! the cells some runs lack counted in one line instead of one line each,
//! two folders of one host told apart by their folder names, and `--out`
//! checked as `run` checks it (`--force`).

mod common;

use common::{output, stderr};

use std::path::{Path, PathBuf};

/// A copy of the format-3 fixture in `to`, without the cells of `drop`
/// (policies).
fn fixture_copy(to: &Path, drop: &[&str]) -> PathBuf {
    let from =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../results/tests/fixtures/format-v3");
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(&from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
    let runs: Vec<results::RunRow> = results::read_csv(&to.join("runs.csv")).unwrap();
    let kept: Vec<results::RunRow> = runs
        .into_iter()
        .filter(|r| !drop.contains(&r.policy.as_str()))
        .collect();
    results::write_csv(&to.join("runs.csv"), &kept).unwrap();
    to.to_path_buf()
}

#[test]
fn the_answer_comes_first_and_missing_cells_are_counted() {
    let t = tempfile::tempdir().unwrap();
    let a = fixture_copy(&t.path().join("laptop-a"), &["always"]);
    let b = fixture_copy(&t.path().join("laptop-b"), &[]);
    let out = t.path().join("cmp");
    let o = output(&["compare"], &[&a, &b, Path::new("--out"), &out]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    // Both folders are labelled `fixture`: named by their folders.
    let lines: Vec<&str> = err.lines().collect();
    assert!(
        lines[0].starts_with("fixture (laptop-b): throughput faster in "),
        "{err}"
    );
    let missing: Vec<&&str> = lines
        .iter()
        .filter(|l| l.contains("not in every run"))
        .collect();
    assert_eq!(missing.len(), 1, "{err}");
    assert!(
        missing[0].contains("1 of 2 cells are not in every run: fixture (laptop-a) lacks 1, fixture (laptop-b) has them all"),
        "{err}"
    );
    assert!(!err.contains("only in"), "one line per missing cell: {err}");
    let md = std::fs::read_to_string(out.join("compare.md")).unwrap();
    assert!(
        md.contains("- wal always fillrandom t1 v100: only in fixture (laptop-b)"),
        "{md}"
    );

    // --out as run takes it: a non-empty folder needs --force.
    let again = output(&["compare"], &[&a, &b, Path::new("--out"), &out]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    std::fs::write(out.join("stale.txt"), b"old").unwrap();
    let forced = output(&["compare", "--force"], &[&a, &b, Path::new("--out"), &out]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(
        !out.join("stale.txt").exists(),
        "the old folder was not replaced whole"
    );
    // Never into a folder it compares, even with --force.
    let into_input = output(&["compare", "--force"], &[&a, &b, Path::new("--out"), &b]);
    assert_eq!(into_input.status.code(), Some(2));
    assert!(b.join("runs.csv").is_file());
    // One folder of one machine is not a comparison.
    let one = output(&["compare"], &[&a]);
    assert_eq!(one.status.code(), Some(2));
    assert!(
        stderr(&one).contains("needs two results folders"),
        "{}",
        stderr(&one)
    );
}
