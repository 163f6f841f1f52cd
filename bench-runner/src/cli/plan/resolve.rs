//! Names from the command line resolved: engines, policies, and workloads
//! (presets or TOML files) with the command line's overrides applied.

use std::path::Path;

use anyhow::{bail, Context, Result};
use engines::registry::EngineInfo;
use engines::{SyncMode, SyncPolicy, SyncPrimitive};
use workloads::WorkloadSpec;

use crate::cli::RunArgs;

use super::{
    Workload, DEFAULT_DURATION_S, DEFAULT_POLICIES, DEFAULT_THREADS, DEFAULT_WORKLOADS,
    LOG_WORKLOAD, QUICK_DURATION_S, QUICK_RECORD_COUNT,
};

/// Resolves engine names (all registered when empty).
pub fn resolve_engines(names: &[String]) -> Result<Vec<&'static EngineInfo>> {
    if names.is_empty() {
        return Ok(engines::registry::all().iter().collect());
    }
    names
        .iter()
        .map(|n| engines::registry::info(n.trim()).map_err(anyhow::Error::from))
        .collect()
}

/// Parses policy texts (the default matrix's when empty). A sync primitive
/// on a policy that never syncs is refused: it would measure nothing new.
pub fn resolve_policies(texts: &[String]) -> Result<Vec<SyncPolicy>> {
    let texts: Vec<String> = if texts.is_empty() {
        DEFAULT_POLICIES.iter().map(|s| s.to_string()).collect()
    } else {
        texts.to_vec()
    };
    texts
        .iter()
        .map(|t| {
            let p = t.trim().parse::<SyncPolicy>()?;
            if p.mode == SyncMode::None && p.primitive == SyncPrimitive::Fsync {
                bail!(
                    "--policies {t}: `@fsync` chooses the call that syncs file data, but `none` never syncs it; use `none`"
                );
            }
            Ok(p)
        })
        .collect()
}

/// Which of the fields the runner can override a workload file sets itself.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FileFields {
    threads: bool,
    length: bool,
    record_count: bool,
}

impl FileFields {
    /// Reads the keys present in a workload file (already loaded and
    /// validated by `workloads::resolve`, so a parse failure cannot happen
    /// here; it would count as "nothing set").
    fn of(path: &Path) -> FileFields {
        let table: toml::Table = std::fs::read_to_string(path)
            .ok()
            .and_then(|t| toml::from_str(&t).ok())
            .unwrap_or_default();
        FileFields {
            threads: table.contains_key("threads"),
            length: table.contains_key("operation_count") || table.contains_key("duration_secs"),
            record_count: table.contains_key("record_count"),
        }
    }
}

pub(super) fn is_file_name(name: &str) -> bool {
    name.ends_with(".toml") || name.contains(['/', std::path::MAIN_SEPARATOR])
}

/// Loads workloads by preset name or TOML path and applies the run's
/// overrides (see the module doc for precedence). Returns the workloads and
/// whether they are the default set.
pub(super) fn resolve_workloads(
    args: &RunArgs,
    threads_flag: Option<&[usize]>,
    notes: &mut Vec<String>,
) -> Result<(Vec<Workload>, bool)> {
    let default = args.workloads.is_empty();
    let names: Vec<String> = if default {
        DEFAULT_WORKLOADS.iter().map(|s| s.to_string()).collect()
    } else {
        args.workloads
            .iter()
            .map(|s| s.trim().to_string())
            .collect()
    };
    let mut out: Vec<Workload> = Vec::new();
    let mut twice = Vec::new();
    for n in names
        .into_iter()
        .chain(default.then(|| LOG_WORKLOAD.to_string()))
    {
        let mut spec = workloads::resolve(&n).map_err(anyhow::Error::from)?;
        let file = is_file_name(&n);
        let (fields, source) = if file {
            let canon =
                std::fs::canonicalize(&n).map_or_else(|_| n.clone(), |p| p.display().to_string());
            (FileFields::of(Path::new(&n)), canon)
        } else {
            (FileFields::default(), n.clone())
        };
        if file && workloads::PRESETS.contains(&spec.name.as_str()) {
            bail!(
                "workload file {n} is named `{}`, like the preset: their rows could not be told apart; give the file another `name`",
                spec.name
            );
        }
        if let Some(prev) = out.iter().find(|w| w.spec.name == spec.name) {
            if prev.source == source {
                twice.push(n);
                continue;
            }
            bail!(
                "two workloads are named `{}` ({} and {n}): their rows could not be told apart; give each file its own `name`",
                spec.name,
                prev.source
            );
        }
        apply_overrides(&mut spec, args, fields);
        spec.validate()
            .map_err(anyhow::Error::from)
            .with_context(|| format!("workload `{n}` with the run's options"))?;
        let threads = match threads_flag {
            Some(t) => t.to_vec(),
            None if fields.threads => vec![spec.threads],
            None => DEFAULT_THREADS.to_vec(),
        };
        out.push(Workload {
            spec,
            threads,
            source,
        });
    }
    if !twice.is_empty() {
        notes.push(format!(
            "--workloads: duplicate {} removed; each runs once",
            twice.join(", ")
        ));
    }
    Ok((out, default))
}

pub(super) fn apply_overrides(spec: &mut WorkloadSpec, args: &RunArgs, file: FileFields) {
    if let Some(ops) = args.ops {
        spec.operation_count = Some(ops);
        spec.duration_secs = None;
    } else if let Some(d) = args.until_steady {
        spec.operation_count = None;
        spec.duration_secs = Some(d);
    } else if let Some(d) = args.duration {
        spec.operation_count = None;
        spec.duration_secs = Some(d);
    } else if !file.length {
        spec.operation_count = None;
        spec.duration_secs = Some(if args.quick {
            QUICK_DURATION_S
        } else {
            DEFAULT_DURATION_S
        });
    }
    if let Some(v) = args.data.value_size {
        spec.value_size = workloads::ValueSize::Fixed(v as usize);
    }
    if let Some(n) = args.data.record_count {
        spec.record_count = n;
    } else if args.quick && !file.record_count {
        spec.record_count = spec.record_count.min(QUICK_RECORD_COUNT);
    }
}
