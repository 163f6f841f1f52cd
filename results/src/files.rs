//! Durable file writing and reading of CSV/JSON results.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

pub(crate) fn io(op: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` durably: a temporary file in the same directory,
/// fsync, rename over `path`, fsync of the directory. A crash leaves either
/// the old file or the new one, never a torn one.
pub fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut f = File::create(&tmp).map_err(|e| io("create", &tmp, e))?;
    f.write_all(bytes).map_err(|e| io("write", &tmp, e))?;
    f.sync_all().map_err(|e| io("fsync", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| io("rename", path, e))?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync directory", &dir, e))
}

/// Creates the folder `dir` (and its missing parents) and fsyncs the
/// folder that holds it, so the new name survives a power cut.
pub(crate) fn create_dir_durably(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| io("create directory", dir, e))?;
    let parent = match dir.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(&parent)
        .and_then(|d| d.sync_all())
        .map_err(|e| io("fsync directory", &parent, e))
}

/// Serialises `rows` as CSV (header from the struct's field names) and
/// writes the file durably.
pub fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(|source| Error::Csv {
            path: path.to_path_buf(),
            source,
        })?;
    }
    let bytes = w.into_inner().map_err(|e| Error::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    write_durably(path, &bytes)
}

/// As [`write_csv`], but an empty table still gets its header line, so a
/// reader (pandas, a spreadsheet) sees the columns of a file with no rows.
pub fn write_csv_with_header<T: Serialize + Default>(path: &Path, rows: &[T]) -> Result<()> {
    if !rows.is_empty() {
        return write_csv(path, rows);
    }
    let mut w = csv::WriterBuilder::new()
        .has_headers(true)
        .from_writer(Vec::new());
    w.serialize(T::default()).map_err(|source| Error::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    let bytes = w.into_inner().map_err(|e| Error::Invalid {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let header = match bytes.iter().position(|&b| b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &bytes[..],
    };
    write_durably(path, header)
}

/// Reads a CSV file written by [`write_csv`].
pub fn read_csv<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>> {
    let mut r = csv::Reader::from_path(path).map_err(|source| Error::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    r.deserialize()
        .collect::<std::result::Result<Vec<T>, _>>()
        .map_err(|source| Error::Csv {
            path: path.to_path_buf(),
            source,
        })
}

/// Writes pretty JSON durably.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })?;
    bytes.push(b'\n');
    write_durably(path, &bytes)
}

/// Reads a JSON file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| io("read", path, e))?;
    serde_json::from_slice(&bytes).map_err(|source| Error::Json {
        path: path.to_path_buf(),
        source,
    })
}

/// The stem of a cell's `hgrm/` file for one operation (`all`, `update`,
/// `sync`, ...): policy `+`, `:`, `@` become `-`, `_`, `_at_`
/// (`wal_always-dir_fillrandom_t1_v100_all`). The one place that names them.
pub fn hgrm_stem(
    engine: &str,
    policy: &str,
    workload: &str,
    threads: u32,
    value_size: u64,
    operation: &str,
) -> String {
    let policy = policy
        .replace('+', "-")
        .replace('@', "_at_")
        .replace(':', "_");
    format!("{engine}_{policy}_{workload}_t{threads}_v{value_size}_{operation}")
}

/// A results folder and the names of the files in it.
#[derive(Debug, Clone)]
pub struct ResultsDir {
    root: PathBuf,
}

impl ResultsDir {
    /// Creates the folder (and `hgrm/`, `hist/`) and checks it is writable
    /// by writing and removing a probe file, so a bad `--out` fails before
    /// any measurement.
    pub fn create(root: &Path) -> Result<Self> {
        for sub in ["hgrm", "hist"] {
            fs::create_dir_all(root.join(sub)).map_err(|e| io("create directory", root, e))?;
        }
        let probe = root.join(".write-test");
        write_durably(&probe, b"ok")?;
        fs::remove_file(&probe).map_err(|e| io("remove", &probe, e))?;
        Ok(ResultsDir {
            root: root.to_path_buf(),
        })
    }

    /// Opens an existing results folder (for `plot` and `compare`).
    /// Refuses one whose format is newer than this binary reads
    /// ([`Error::NewerFormat`]).
    pub fn open(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(Error::Invalid {
                path: root.to_path_buf(),
                reason: "not a directory of results".into(),
            });
        }
        let dir = ResultsDir {
            root: root.to_path_buf(),
        };
        let found = dir.format_version();
        if found > u64::from(crate::FORMAT_VERSION) {
            return Err(Error::NewerFormat {
                path: root.to_path_buf(),
                found,
                supported: crate::FORMAT_VERSION,
            });
        }
        Ok(dir)
    }

    /// The folder's `format_version`: 1 when `environment.json` records
    /// none, is missing or cannot be read (its readers warn about that
    /// themselves). Read on its own, before the rest of the file, so a
    /// newer layout cannot fail as a parse error first.
    pub fn format_version(&self) -> u64 {
        let path = self.environment();
        fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|json| json.get("format_version")?.as_u64())
            .unwrap_or(1)
    }

    /// The folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `environment.json`.
    pub fn environment(&self) -> PathBuf {
        self.root.join("environment.json")
    }
    /// `config.json`.
    pub fn config(&self) -> PathBuf {
        self.root.join("config.json")
    }
    /// `probe.csv`.
    pub fn probe(&self) -> PathBuf {
        self.root.join("probe.csv")
    }
    /// `ceilings.csv`: the cells' ceilings measured again each round.
    pub fn ceilings(&self) -> PathBuf {
        self.root.join("ceilings.csv")
    }
    /// `runs.csv`.
    pub fn runs(&self) -> PathBuf {
        self.root.join("runs.csv")
    }
    /// `repetitions.csv`.
    pub fn repetitions(&self) -> PathBuf {
        self.root.join("repetitions.csv")
    }
    /// `latency.csv`.
    pub fn latency(&self) -> PathBuf {
        self.root.join("latency.csv")
    }
    /// `crash.csv`.
    pub fn crash(&self) -> PathBuf {
        self.root.join("crash.csv")
    }
    /// `skipped.csv`.
    pub fn skipped(&self) -> PathBuf {
        self.root.join("skipped.csv")
    }
    /// `timeline.csv`.
    pub fn timeline(&self) -> PathBuf {
        self.root.join("timeline.csv")
    }
    /// `events.csv`.
    pub fn events(&self) -> PathBuf {
        self.root.join("events.csv")
    }
    /// `hgrm/<name>.hgrm`.
    pub fn hgrm(&self, name: &str) -> PathBuf {
        self.root.join("hgrm").join(format!("{name}.hgrm"))
    }
    /// `hist/<name>.hdr`: the same histogram as `hgrm/<name>.hgrm`,
    /// serialized so it can be merged ([`crate::write_hist`]).
    pub fn hist(&self, name: &str) -> PathBuf {
        self.root.join("hist").join(format!("{name}.hdr"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RunRow;

    #[test]
    fn csv_round_trip_with_optional_columns() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("runs.csv");
        let rows = vec![
            RunRow {
                engine: "wal".into(),
                ops_per_sec: 1234.5,
                device_bytes_written: Some(4096),
                ..RunRow::default()
            },
            RunRow {
                engine: "lsm".into(),
                ..RunRow::default()
            },
        ];
        write_csv(&p, &rows).unwrap();
        let back: Vec<RunRow> = read_csv(&p).unwrap();
        assert_eq!(back, rows);
        let head = std::fs::read_to_string(&p).unwrap();
        assert!(head.starts_with("run_id,host,label,engine,policy"));
    }

    #[test]
    fn an_empty_table_keeps_its_header() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("skipped.csv");
        write_csv_with_header::<crate::SkippedRow>(&p, &[]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "engine,policy,workload,reason\n"
        );
        let back: Vec<crate::SkippedRow> = read_csv(&p).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn unwritable_results_dir_fails_with_path() {
        let t = tempfile::tempdir().unwrap();
        let file = t.path().join("f");
        std::fs::write(&file, b"x").unwrap();
        let err = ResultsDir::create(&file.join("sub")).unwrap_err();
        assert!(err.to_string().contains("sub"), "{err}");
    }
}
