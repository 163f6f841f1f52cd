//! Bad workload files: each is an error naming the field (and the line where
//! the TOML parser can tell), never a panic and never a silent default.

use std::path::Path;

use workloads::{WorkloadError, WorkloadSpec};

fn parse(text: &str) -> Result<WorkloadSpec, WorkloadError> {
    WorkloadSpec::from_toml(text, Path::new("bad.toml"))
}

#[test]
fn each_bad_field_is_named_with_its_line() {
    // (file, text the error must contain, line the error must name)
    let cases: &[(&str, &str, Option<u32>)] = &[
        ("record_count = 10\nbogus = 1\n", "bogus", Some(2)),
        ("[mix]\nread = 1.0\nwrite = 1.0\n", "write", Some(3)),
        ("seed = 1\nkey_size = -16\n", "key_size", Some(2)),
        ("value_size = -100\n", "value_size", Some(1)),
        ("value_size = 0\n", "value_size", Some(1)),
        (
            "\nvalue_size = { min = -1, max = 10 }\n",
            "value_size.min",
            Some(2),
        ),
        ("record_count = -5\n", "record_count", Some(1)),
        ("[mix]\nread = 0.0\n", "mix", Some(1)),
        (
            "seed = 3\n[mix]\nread = -1.0\nupdate = 2.0\n",
            "read",
            Some(2),
        ),
        (
            "[mix]\nupdate = 1.0\n[distribution]\ntype = \"zipfian\"\nconstant = 1.0\n",
            "distribution.constant",
            Some(3),
        ),
        (
            "[mix]\nupdate = 1.0\n[distribution]\ntype = \"scrambled-zipfian\"\nconstant = 1.5\n",
            "distribution.constant",
            Some(3),
        ),
        (
            "distribution = { type = \"latest\", constant = 0.0 }\n",
            "distribution.constant",
            Some(1),
        ),
        (
            "[distribution]\ntype = \"hotspot\"\nhot_fraction_keys = 1.0\n",
            "hot_fraction_keys",
            Some(1),
        ),
        ("[distribution]\ntype = \"pareto\"\n", "pareto", Some(2)),
        ("threads = 0\n", "threads", Some(1)),
        ("target_rate = -10.0\n", "target_rate", Some(1)),
        ("duration_secs = 0\n", "duration_secs", Some(1)),
        ("operation_count = 0\n", "operation_count", Some(1)),
        ("[scan_length]\nmin = 5\nmax = 2\n", "scan_length", Some(1)),
        (
            "value_size = { min = 10, max = 5 }\n",
            "value_size",
            Some(1),
        ),
        // Rules between fields: named, checked after parsing.
        (
            "key_size = 3\nrecord_count = 1000\n[mix]\nread = 1.0\n",
            "key_size",
            None,
        ),
        (
            "key_size = 4\nrecord_count = 900\noperation_count = 101\n[mix]\ninsert = 1.0\n",
            "key_size",
            None,
        ),
        (
            "operation_count = 5\nduration_secs = 1.0\n[mix]\nread = 1.0\n",
            "duration_secs",
            None,
        ),
        (
            "record_count = 0\n[mix]\nread = 1.0\n",
            "record_count",
            None,
        ),
        // No mix at all: every proportion defaults to 0.
        ("name = \"empty\"\n", "mix", None),
    ];
    for &(text, field, line) in cases {
        let err = parse(text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(field), "`{text}` -> {msg}");
        assert!(msg.contains("bad.toml"), "`{text}` -> {msg}");
        if let Some(line) = line {
            assert!(msg.contains(&format!("line {line}")), "`{text}` -> {msg}");
        }
    }
}

#[test]
fn the_smallest_key_space_that_fits_is_accepted() {
    // 4-byte keys hold 1000 numbers: 900 loaded + 100 inserts fit.
    let ok = "key_size = 4\nrecord_count = 900\noperation_count = 100\n[mix]\ninsert = 1.0\n";
    parse(ok).expect("fits exactly");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let err = workloads::load_file(Path::new("/nonexistent/w.toml")).unwrap_err();
    assert!(matches!(err, WorkloadError::Io { .. }));
    assert!(err.to_string().contains("/nonexistent/w.toml"));
}
