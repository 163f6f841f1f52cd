//! `docs/results-format.md` documents every column of every results file:
//! each field of each row type, by its serialized name, has a table row
//! (`| `name` |`) in the section whose heading names the type. The field
//! names come from the types themselves (a `Default` value serialized to
//! JSON), so a column added to a row without a line in the docs fails here.

use std::path::PathBuf;

use results::compare::CompareRow;
use results::{
    capacity::CapacityCompareRow, CapacityRow, CapacityStepRow, CeilingRow, CrashRow, DiskInfo,
    Environment, EventRow, LatencyRow, ProbeRow, RecoveryCompareRow, RecoveryRow, RunRow,
    SkippedRow, TimelineRow,
};
use serde::Serialize;

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/results-format.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The serialized field names of `T`, in order.
fn columns<T: Serialize + Default>() -> Vec<String> {
    match serde_json::to_value(T::default()).unwrap() {
        serde_json::Value::Object(map) => map.keys().cloned().collect(),
        other => panic!("not a struct: {other}"),
    }
}

/// The text of the section (from its heading to the next `##` or `###`
/// heading) whose heading names `` `ty` ``.
fn section<'a>(doc: &'a str, ty: &str) -> &'a str {
    let tag = format!("`{ty}`");
    let start = doc
        .match_indices("\n#")
        .map(|(i, _)| i + 1)
        .find(|&i| doc[i..].lines().next().is_some_and(|h| h.contains(&tag)))
        .unwrap_or_else(|| panic!("docs/results-format.md has no heading naming {tag}"));
    let body = &doc[start..];
    let end = body[1..]
        .match_indices("\n#")
        .map(|(i, _)| i + 1)
        .find(|&i| body[1 + i..].starts_with("## ") || body[1 + i..].starts_with("### "))
        .map_or(body.len(), |i| i + 1);
    &body[..end]
}

fn missing<T: Serialize + Default>(doc: &str, ty: &str) -> Vec<String> {
    let text = section(doc, ty);
    columns::<T>()
        .into_iter()
        .filter(|c| !text.contains(&format!("| `{c}` |")))
        .map(|c| format!("{ty}.{c}"))
        .collect()
}

#[test]
fn every_column_of_every_row_type_is_documented() {
    let doc = doc();
    let mut gaps = Vec::new();
    gaps.extend(missing::<RunRow>(&doc, "RunRow"));
    gaps.extend(missing::<LatencyRow>(&doc, "LatencyRow"));
    gaps.extend(missing::<ProbeRow>(&doc, "ProbeRow"));
    gaps.extend(missing::<CeilingRow>(&doc, "CeilingRow"));
    gaps.extend(missing::<SkippedRow>(&doc, "SkippedRow"));
    gaps.extend(missing::<TimelineRow>(&doc, "TimelineRow"));
    gaps.extend(missing::<EventRow>(&doc, "EventRow"));
    gaps.extend(missing::<CrashRow>(&doc, "CrashRow"));
    gaps.extend(missing::<RecoveryRow>(&doc, "RecoveryRow"));
    gaps.extend(missing::<CapacityRow>(&doc, "CapacityRow"));
    gaps.extend(missing::<CapacityStepRow>(&doc, "CapacityStepRow"));
    gaps.extend(missing::<Environment>(&doc, "Environment"));
    gaps.extend(missing::<DiskInfo>(&doc, "DiskInfo"));
    gaps.extend(missing::<CompareRow>(&doc, "CompareRow"));
    gaps.extend(missing::<RecoveryCompareRow>(&doc, "RecoveryCompareRow"));
    gaps.extend(missing::<CapacityCompareRow>(&doc, "CapacityCompareRow"));
    gaps.extend(missing::<results::fleet::MachineRow>(&doc, "MachineRow"));
    gaps.extend(missing::<results::fleet::FleetRow>(&doc, "FleetRow"));
    assert!(
        gaps.is_empty(),
        "columns missing from docs/results-format.md (add a `| `name` | type | meaning |` row to the type's section): {gaps:?}"
    );
}

#[test]
fn the_column_names_come_from_the_types() {
    // A guard on the helper itself: a known column is found, so an empty
    // list cannot pass the test above by accident.
    assert!(columns::<RunRow>().contains(&"ops_per_sec".to_string()));
    assert!(columns::<RunRow>().len() > 60);
}

/// A row type added later must join the list above: every `pub struct
/// ...Row` of the results crate has a section in the docs (its heading
/// names it), so a new file's columns cannot go undocumented by omission.
#[test]
fn every_row_type_of_the_crate_has_a_section() {
    let doc = doc();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut missing = Vec::new();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for line in text.lines() {
                let Some(rest) = line.trim().strip_prefix("pub struct ") else {
                    continue;
                };
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if name.ends_with("Row")
                    && !doc
                        .lines()
                        .any(|l| l.starts_with('#') && l.contains(&format!("`{name}`")))
                {
                    missing.push(format!("{name} ({})", path.display()));
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "row types without a section in docs/results-format.md: {missing:?}"
    );
}
