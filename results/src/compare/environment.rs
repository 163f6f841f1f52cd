//! The machine and disk fields that differ between the runs of a
//! comparison: what the reader must keep in mind before reading a ratio as
//! the engine's doing.

use super::ComparedRun;
use crate::{DiskInfo, Environment};

/// A field of `environment.json` as the comparison shows it.
type Field = Box<dyn Fn(&Environment) -> String>;

/// The fields compared, in the order the comparison lists them.
fn fields() -> Vec<(&'static str, Field)> {
    vec![
        ("host", Box::new(|e| e.host.clone())),
        (
            "CPU",
            Box::new(|e| format!("{} ({} cores)", e.cpu_model, e.cpu_cores)),
        ),
        (
            "memory",
            Box::new(|e| format!("{:.1} GiB", e.memory_bytes as f64 / (1u64 << 30) as f64)),
        ),
        ("kernel", Box::new(|e| e.kernel.clone())),
        ("OS", Box::new(|e| e.os.clone())),
        ("virtualisation", Box::new(|e| or_dash(&e.virtualization))),
        (
            "transparent huge pages",
            Box::new(|e| or_dash(&e.transparent_hugepages)),
        ),
        ("filesystem", disk(|d| d.filesystem.clone())),
        ("mount options", disk(|d| d.mount_options.clone())),
        ("journal", disk(|d| or_dash(&d.journal))),
        ("device", disk(|d| or_dash(&d.device))),
        ("model", disk(|d| or_dash(&d.model))),
        ("write cache", disk(|d| or_dash(&d.write_cache))),
        ("tool version", Box::new(|e| e.tool_version.clone())),
    ]
}

/// A field of the disk; empty for an environment without one.
fn disk(f: fn(&DiskInfo) -> String) -> Field {
    Box::new(move |e| e.disk.as_ref().map(f).unwrap_or_default())
}

/// An optional field, or `-`.
fn or_dash(o: &Option<String>) -> String {
    o.clone().unwrap_or_else(|| "-".into())
}

/// The fields whose value differs between the runs: (field, value per run,
/// `?` for a run without `environment.json`).
pub(super) fn env_diff(runs: &[ComparedRun]) -> Vec<(String, Vec<String>)> {
    fields()
        .into_iter()
        .map(|(name, f)| {
            let values: Vec<String> = runs
                .iter()
                .map(|r| r.folder.environment().map_or_else(|| "?".into(), &f))
                .collect();
            (name, values)
        })
        .filter(|(_, v)| v.iter().any(|x| Some(x) != v.first()))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}
