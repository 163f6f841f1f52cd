//! Results folders of every earlier format still load with `plot` and
//! `compare` (as redb's backward_compatibility tests open files of every
//! earlier version), and a folder newer than this binary is refused with an
//! error naming it, its version and the version supported.

mod common;

use common::{copy_dir, output, stderr};

use std::path::{Path, PathBuf};
use std::process::Output;

/// `results/tests/fixtures`.
fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../results/tests/fixtures")
}

/// The fixture folder of format `version`. Version 1 (no `format_version`
/// in `environment.json`) may still carry its older name.
fn fixture(version: u32) -> PathBuf {
    let names: &[&str] = match version {
        1 => &["format-v1", "before-issue-13"],
        _ => &[],
    };
    let named = format!("format-v{version}");
    let found = names
        .iter()
        .copied()
        .chain([named.as_str()])
        .map(|n| fixtures().join(n))
        .find(|p| p.is_dir());
    found
        .unwrap_or_else(|| panic!("no fixture of results format version {version} in {}: add one (a tiny --quick run, trimmed) when the version is raised", fixtures().display()))
}

/// `plot` of a copy (so the fixture stays as it is) into a temp folder.
fn plot(dir: &Path, out: &Path) -> Output {
    output(&["plot"], &[dir, Path::new("--out"), out])
}

fn compare(dirs: &[&Path], out: &Path) -> Output {
    let mut paths = dirs.to_vec();
    paths.extend([Path::new("--out"), out]);
    output(&["compare"], &paths)
}

#[test]
fn every_earlier_format_loads() {
    let all: Vec<PathBuf> = (1..=results::FORMAT_VERSION).map(fixture).collect();
    let tmp = tempfile::tempdir().unwrap();
    for (dir, version) in all.iter().zip(1..) {
        let env = dir.join("environment.json");
        if version == 1 {
            assert!(
                !env.exists()
                    || !std::fs::read_to_string(&env)
                        .unwrap()
                        .contains("format_version"),
                "the version-1 fixture records no format_version"
            );
        } else {
            let recorded: results::Environment = results::read_json(&env).unwrap();
            assert_eq!(recorded.format_version, version, "{}", dir.display());
        }
        assert_eq!(
            results::ResultsDir::open(dir).unwrap().format_version(),
            u64::from(version)
        );
        let out = tmp.path().join(format!("plot-v{version}"));
        let o = plot(dir, &out);
        assert!(
            o.status.success(),
            "plot of format {version}: {}",
            stderr(&o)
        );
        assert!(out.join("report.md").exists());
    }
    let dirs: Vec<&Path> = all.iter().map(PathBuf::as_path).collect();
    let out = tmp.path().join("compare");
    let o = compare(&dirs, &out);
    assert!(
        o.status.success(),
        "compare of every format: {}",
        stderr(&o)
    );
    assert!(out.join("compare.md").exists());
}

#[test]
fn a_newer_format_is_refused_with_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let newer = tmp.path().join("from-the-future");
    let current = fixture(results::FORMAT_VERSION);
    copy_dir(&current, &newer);
    let env = newer.join("environment.json");
    let mut json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env).unwrap()).unwrap();
    json["format_version"] = 999.into();
    std::fs::write(&env, json.to_string()).unwrap();

    let expect = |what: &str, o: &Output| {
        let err = stderr(o);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(!err.contains("panicked"), "{what}: {err}");
        for part in [
            newer.display().to_string(),
            "format version 999".into(),
            format!("up to version {}", results::FORMAT_VERSION),
        ] {
            assert!(err.contains(&part), "{what}: no {part:?} in {err}");
        }
    };
    let plot_out = tmp.path().join("plot");
    expect("plot", &plot(&newer, &plot_out));
    assert!(!plot_out.join("report.md").exists());
    let compare_out = tmp.path().join("compare");
    expect("compare", &compare(&[&current, &newer], &compare_out));
    assert!(!compare_out.exists(), "compare made its folder first");
    // Adding to it (crash, recovery) is refused the same way.
    let r = results::ResultsDir::open(&newer).unwrap_err();
    assert!(
        matches!(r, results::Error::NewerFormat { found: 999, .. }),
        "{r}"
    );
}
