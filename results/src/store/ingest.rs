//! A results folder read for the store: every file checked and each CSV
//! turned into typed values before anything is written, so a bad folder
//! is refused whole and leaves the store as it was.

use std::fs;
use std::path::{Path, PathBuf};

use rusqlite::types::Value;

use super::columns::Kind;
use super::error::{Result, StoreError};
use super::schema::{tables, Table, ENVIRONMENT_COLUMNS};
use crate::RunFolder;

/// The files that make a folder a results folder: one of them must be there.
pub const MARKERS: &[&str] = &[
    "environment.json",
    "runs.csv",
    "probe.csv",
    "crash.csv",
    "recovery.csv",
    "capacity.csv",
];

/// What `plot` and `compare` draw from the rest: left out of the store
/// (drawn again from the stored files), with dot files (unfinished writes).
const DERIVED: &[&str] = &[
    "charts",
    "report.md",
    "report.html",
    "compare.csv",
    "compare.md",
    "compare.html",
    "recovery_compare.csv",
    "compare_capacity.csv",
];

/// A results folder, read and checked, ready to be stored.
#[derive(Debug)]
pub struct FolderContent {
    pub(crate) dir: PathBuf,
    pub(crate) run_id: String,
    pub(crate) label: String,
    pub(crate) format_version: u64,
    pub(crate) files: Vec<StoredFile>,
}

impl FolderContent {
    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    /// Its run id: `environment.json`'s, else its rows', else host and
    /// start time.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }
    /// Its label, by the rule of [`RunFolder`].
    pub fn label(&self) -> &str {
        &self.label
    }
    /// Rows of its CSV files.
    pub fn rows(&self) -> usize {
        self.files
            .iter()
            .map(|f| match &f.body {
                Body::Rows { rows, .. } => rows.len(),
                _ => 0,
            })
            .sum()
    }
}

/// One file of the folder.
#[derive(Debug)]
pub(crate) struct StoredFile {
    /// Its path in the folder, `/`-separated.
    pub path: String,
    pub body: Body,
}

/// How a file is stored.
#[derive(Debug)]
pub(crate) enum Body {
    /// A CSV file of a table: the columns of its header the table knows,
    /// in the file's order, and each row's values for them. `verbatim`
    /// holds the whole file when its header has a column the table does
    /// not know (from a newer bench-runner), so nothing of it is lost.
    Rows {
        table: &'static Table,
        header: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
        verbatim: Option<Vec<u8>>,
    },
    /// `environment.json`: the text, and the values of
    /// [`ENVIRONMENT_COLUMNS`].
    Environment { json: String, values: Vec<Value> },
    /// `config.json`.
    Config { json: String },
    /// Any other file (`hgrm/*.hgrm`), byte for byte.
    Verbatim(Vec<u8>),
}

fn io(op: &'static str, path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Folder(crate::Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, reason: String) -> StoreError {
    StoreError::Folder(crate::Error::Invalid {
        path: path.to_path_buf(),
        reason,
    })
}

/// Reads `dir` for the store. Refuses a folder that is missing, holds
/// none of [`MARKERS`], is of a newer format, or has a file its reader
/// rejects (the error names the file and line).
pub fn read_folder(dir: &Path) -> Result<FolderContent> {
    if !dir.is_dir() {
        let reason = if dir.exists() {
            "it is a file, not a folder"
        } else {
            "no such folder"
        };
        return Err(StoreError::NotResults {
            path: dir.to_path_buf(),
            reason: reason.into(),
        });
    }
    if !MARKERS.iter().any(|m| dir.join(m).is_file()) {
        return Err(StoreError::NotResults {
            path: dir.to_path_buf(),
            reason: format!("it has none of {}", MARKERS.join(", ")),
        });
    }
    let folder = RunFolder::load(dir)?;
    let tables = tables().map_err(|e| invalid(dir, e))?;
    let mut paths = Vec::new();
    list_files(dir, "", &mut paths)?;
    let mut files = Vec::new();
    let mut env_json: Option<serde_json::Value> = None;
    for (rel, abs) in paths {
        let body = if rel == "environment.json" {
            let (json, value) = read_json_text(&abs)?;
            let values = ENVIRONMENT_COLUMNS
                .iter()
                .map(|(_, pointer, kind)| json_value(value.pointer(pointer), *kind))
                .collect();
            env_json = Some(value);
            Body::Environment { json, values }
        } else if rel == "config.json" {
            Body::Config {
                json: read_json_text(&abs)?.0,
            }
        } else if let Some(t) = tables.iter().find(|t| t.file == rel) {
            (t.check)(&abs)?;
            read_rows(t, &abs)?
        } else {
            Body::Verbatim(fs::read(&abs).map_err(|e| io("read", &abs, e))?)
        };
        files.push(StoredFile { path: rel, body });
    }
    let run_id = run_id_of(env_json.as_ref(), &files).ok_or_else(|| StoreError::NotResults {
        path: dir.to_path_buf(),
        reason: "it records no run id (none in environment.json or its rows, and no host and start time)"
            .into(),
    })?;
    Ok(FolderContent {
        dir: dir.to_path_buf(),
        run_id,
        label: folder.label.clone(),
        format_version: folder.files.format_version(),
        files,
    })
}

/// Every file under `dir` but the derived ones and dot files, as
/// (`/`-separated path in the folder, path), sorted.
fn list_files(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)
        .map_err(|e| io("list", dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| io("list", dir, e))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for e in entries {
        let path = e.path();
        let Some(name) = e.file_name().to_str().map(str::to_string) else {
            return Err(invalid(&path, "the file name is not UTF-8".into()));
        };
        if name.starts_with('.') || (prefix.is_empty() && DERIVED.contains(&name.as_str())) {
            continue;
        }
        let rel = format!("{prefix}{name}");
        let kind = e.file_type().map_err(|err| io("stat", &path, err))?;
        if kind.is_dir() {
            list_files(&path, &format!("{rel}/"), out)?;
        } else if kind.is_file() || path.is_file() {
            // A symbolic link is stored as the file it names; one to a
            // folder is left out (it may loop).
            out.push((rel, path));
        }
    }
    Ok(())
}

fn read_json_text(path: &Path) -> Result<(String, serde_json::Value)> {
    let text = fs::read_to_string(path).map_err(|e| io("read", path, e))?;
    let value = serde_json::from_str(&text).map_err(|source| {
        StoreError::Folder(crate::Error::Json {
            path: path.to_path_buf(),
            source,
        })
    })?;
    Ok((text, value))
}

/// An `environment.json` value as SQL: numbers as numbers, bools as 1/0,
/// absent and null as NULL.
fn json_value(v: Option<&serde_json::Value>, kind: Kind) -> Value {
    use serde_json::Value as J;
    match v {
        None | Some(J::Null) => Value::Null,
        Some(J::String(s)) => Value::Text(s.clone()),
        Some(J::Bool(b)) if kind == Kind::Text => Value::Text(b.to_string()),
        Some(J::Bool(b)) => Value::Integer(i64::from(*b)),
        Some(J::Number(n)) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => Value::Integer(i),
            (None, Some(f)) if kind == Kind::Real || n.is_f64() => Value::Real(f),
            _ => Value::Text(n.to_string()),
        },
        Some(other) => Value::Text(other.to_string()),
    }
}

/// A CSV file as typed rows ([`Body::Rows`]).
fn read_rows(t: &'static Table, path: &Path) -> Result<Body> {
    let bytes = fs::read(path).map_err(|e| io("read", path, e))?;
    let csv_error = |source| {
        StoreError::Folder(crate::Error::Csv {
            path: path.to_path_buf(),
            source,
        })
    };
    let mut reader = csv::ReaderBuilder::new().from_reader(&bytes[..]);
    let headers = reader.headers().map_err(csv_error)?.clone();
    let mut known: Vec<(usize, &'static str, Kind)> = Vec::new();
    let mut unknown = false;
    for (i, h) in headers.iter().enumerate() {
        match t.columns.iter().find(|c| c.name == h) {
            Some(c) if !known.iter().any(|k| k.1 == c.name) => known.push((i, c.name, c.kind)),
            _ => unknown = true,
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        let row = known
            .iter()
            .map(|&(i, name, kind)| {
                to_sql(kind, record.get(i).unwrap_or_default())
                    .map_err(|e| invalid(path, format!("line {line}, column `{name}`: {e}")))
            })
            .collect::<Result<Vec<Value>>>()?;
        rows.push(row);
    }
    Ok(Body::Rows {
        table: t,
        header: known.iter().map(|k| k.1).collect(),
        rows,
        verbatim: unknown.then_some(bytes),
    })
}

/// One CSV field as SQL. An empty figure is NULL (not measured), never 0;
/// an empty text is the empty string.
pub(crate) fn to_sql(kind: Kind, text: &str) -> std::result::Result<Value, String> {
    match kind {
        Kind::Text => Ok(Value::Text(text.to_string())),
        _ if text.is_empty() => Ok(Value::Null),
        Kind::Integer => text.parse::<i64>().map(Value::Integer).map_err(|_| {
            format!("`{text}` is not a whole number SQLite can hold (-2^63 to 2^63-1)")
        }),
        Kind::Real => match text.parse::<f64>() {
            // SQLite stores NaN as NULL: keep the text, so it reads back.
            Ok(f) if f.is_nan() => Ok(Value::Text(text.to_string())),
            Ok(f) => Ok(Value::Real(f)),
            Err(_) => Err(format!("`{text}` is not a number")),
        },
        Kind::Bool => match text {
            "true" => Ok(Value::Integer(1)),
            "false" => Ok(Value::Integer(0)),
            _ => Err(format!("`{text}` is not true or false")),
        },
    }
}

/// The folder's run id: `environment.json`'s, else the first in its rows,
/// else `<host>-<YYYYMMDD-hhmmss>` from its host and start time (the form
/// of every run id).
fn run_id_of(env: Option<&serde_json::Value>, files: &[StoredFile]) -> Option<String> {
    let text = |p: &str| {
        env.and_then(|e| e.pointer(p))
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(id) = text("/run_id") {
        return Some(id.to_string());
    }
    let from_rows = files.iter().find_map(|f| match &f.body {
        Body::Rows { header, rows, .. } => {
            let i = header.iter().position(|h| *h == "run_id")?;
            rows.iter().find_map(|r| match r.get(i) {
                Some(Value::Text(s)) if !s.trim().is_empty() => Some(s.clone()),
                _ => None,
            })
        }
        _ => None,
    });
    if from_rows.is_some() {
        return from_rows;
    }
    let (host, started) = (text("/host")?, text("/started_utc")?);
    let digits: String = started.chars().filter(char::is_ascii_digit).collect();
    let host: String = host
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    (digits.len() >= 14).then(|| format!("{host}-{}-{}", &digits[..8], &digits[8..14]))
}
