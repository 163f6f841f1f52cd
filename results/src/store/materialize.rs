//! A stored run written back as a results folder: every file it was
//! added with, the CSV files rebuilt from their tables in the same column
//! and row order, numbers written as the csv crate writes them, so a run
//! written by bench-runner comes back byte for byte. With filters, the
//! per-cell files keep only the selected cells.

use std::path::{Component, Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};

use super::columns::Kind;
use super::error::{Result, StoreError};
use super::schema::{columns_in_store, quoted, tables, Table, CELL_COLUMNS};
use super::select::{text_of, CellText, SelectedRun};

/// One row of `files`.
struct FileRow {
    path: String,
    stored_in: Option<String>,
    columns: Option<String>,
    content: Option<Vec<u8>>,
}

/// Writes `run` into `dir` (created if missing); returns the number of
/// files written.
pub(crate) fn materialize(
    conn: &Connection,
    store: &Path,
    run: &SelectedRun,
    dir: &Path,
) -> Result<usize> {
    let sql = |e| StoreError::sqlite(store, e);
    let mut stmt = conn
        .prepare(
            "SELECT path, stored_in, columns, content FROM files WHERE folder_id = ?1 ORDER BY rowid",
        )
        .map_err(sql)?;
    let files: Vec<FileRow> = stmt
        .query_map([run.folder_id], |r| {
            Ok(FileRow {
                path: r.get(0)?,
                stored_in: r.get(1)?,
                columns: r.get(2)?,
                content: r.get(3)?,
            })
        })
        .map_err(sql)?
        .collect::<rusqlite::Result<_>>()
        .map_err(sql)?;
    let mut written = 0;
    for f in &files {
        let target = inside(dir, &f.path)?;
        let bytes = match (&f.stored_in, &f.content) {
            (_, Some(content)) if keeps_file(run, &f.path) => content.clone(),
            (_, Some(_)) => continue,
            (None, None) => Vec::new(),
            (Some(t), None) if t == "environment" || t == "config" => {
                let q = format!("SELECT json FROM {} WHERE folder_id = ?1", quoted(t));
                let json: Option<String> = conn
                    .query_row(&q, [run.folder_id], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                json.unwrap_or_default().into_bytes()
            }
            (Some(t), None) => csv_of(conn, store, run, t, f.columns.as_deref())?,
        };
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Materialize {
                path: parent.to_path_buf(),
                reason: format!("create folder: {e}"),
            })?;
        }
        crate::write_durably(&target, &bytes)?;
        written += 1;
    }
    Ok(written)
}

/// `dir/path`, refusing a stored path that would leave `dir`.
fn inside(dir: &Path, path: &str) -> Result<PathBuf> {
    let rel = Path::new(path);
    if path.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(StoreError::Materialize {
            path: dir.to_path_buf(),
            reason: format!("the store names a file `{path}` outside its folder"),
        });
    }
    Ok(dir.join(rel))
}

/// Whether a file stored byte for byte goes with the selected cells: a
/// histogram only with its own cell's, everything else always.
fn keeps_file(run: &SelectedRun, path: &str) -> bool {
    let (Some((_, cells)), Some(name)) = (&run.cells, path.strip_prefix("hgrm/")) else {
        return true;
    };
    cells
        .iter()
        .any(|[engine, policy, workload, threads, value_size]| {
            match (threads.parse(), value_size.parse()) {
                (Ok(t), Ok(v)) => {
                    name.starts_with(&crate::hgrm_stem(engine, policy, workload, t, v, ""))
                }
                _ => false,
            }
        })
}

/// The CSV file of `table`'s rows of the run, with the columns its file
/// had, in its row order.
fn csv_of(
    conn: &Connection,
    store: &Path,
    run: &SelectedRun,
    table: &str,
    columns: Option<&str>,
) -> Result<Vec<u8>> {
    let sql = |e| StoreError::sqlite(store, e);
    let broken = |reason: String| StoreError::NotAStore {
        path: store.to_path_buf(),
        reason,
    };
    let columns: Vec<String> = serde_json::from_str(columns.unwrap_or("[]"))
        .map_err(|e| broken(format!("the columns of a file of table {table}: {e}")))?;
    if columns.is_empty() {
        return Ok(Vec::new());
    }
    let have = columns_in_store(conn, table).map_err(sql)?;
    if let Some(c) = columns.iter().find(|c| !have.contains(c)) {
        return Err(broken(format!("table {table} has no column `{c}`")));
    }
    let spec: Option<&Table> = tables()
        .ok()
        .and_then(|t| t.iter().find(|t| t.name == table));
    let kinds: Vec<Option<Kind>> = columns
        .iter()
        .map(|c| spec.and_then(|t| t.kind(c)))
        .collect();
    let per_cell = spec.is_some_and(|t| t.per_cell);
    let cell_cols: Vec<String> = if per_cell {
        CELL_COLUMNS.iter().map(|c| quoted(c)).collect()
    } else {
        Vec::new()
    };
    let selected: Vec<String> = cell_cols
        .iter()
        .cloned()
        .chain(columns.iter().map(|c| quoted(c)))
        .collect();
    let query = format!(
        "SELECT rowid, {} FROM {} WHERE folder_id = ?1 ORDER BY rowid",
        selected.join(", "),
        quoted(table)
    );
    let mut stmt = conn.prepare(&query).map_err(sql)?;
    let mut rows = stmt.query([run.folder_id]).map_err(sql)?;
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    let csv_err = |e: csv::Error| StoreError::Materialize {
        path: PathBuf::from(table),
        reason: e.to_string(),
    };
    w.write_record(&columns).map_err(csv_err)?;
    let skip = cell_cols.len();
    while let Some(r) = rows.next().map_err(sql)? {
        if let (true, Some((run_rows, cells))) = (per_cell, &run.cells) {
            let rowid: i64 = r.get(0).map_err(sql)?;
            let mut key: CellText = Default::default();
            for (i, k) in key.iter_mut().enumerate() {
                *k = text_of(r.get_ref(1 + i).map_err(sql)?);
            }
            let keep = if table == "runs" {
                run_rows.contains(&rowid)
            } else {
                cells.contains(&key)
            };
            if !keep {
                continue;
            }
        }
        let mut record = Vec::with_capacity(columns.len());
        for (i, kind) in kinds.iter().enumerate() {
            record.push(field(*kind, r.get_ref(1 + skip + i).map_err(sql)?));
        }
        w.write_record(&record).map_err(csv_err)?;
    }
    w.into_inner().map_err(|e| StoreError::Materialize {
        path: PathBuf::from(table),
        reason: e.to_string(),
    })
}

/// A stored value as the csv crate writes its field: bools as
/// `true`/`false`, floats as the shortest text that reads back the same.
pub(crate) fn field(kind: Option<Kind>, v: ValueRef<'_>) -> String {
    match (kind, v) {
        (Some(Kind::Bool), ValueRef::Integer(i)) => (i != 0).to_string(),
        (_, v) => text_of(v),
    }
}
