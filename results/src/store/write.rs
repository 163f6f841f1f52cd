//! Adding a folder: its rows replace any rows stored before under the
//! same run id and label, all inside the caller's transaction.

use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Transaction};

use super::ingest::{Body, FolderContent};
use super::schema::{quoted, tables, ENVIRONMENT_COLUMNS};

/// What adding a folder did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    /// The run id it is stored under.
    pub run_id: String,
    /// The label it is stored under.
    pub label: String,
    /// Whether it replaced the rows of an earlier add of the same run.
    pub replaced: bool,
    /// CSV rows stored.
    pub rows: usize,
}

/// Every table a folder has rows in.
fn all_tables() -> impl Iterator<Item = &'static str> {
    ["files", "environment", "config"]
        .into_iter()
        .chain(tables().unwrap_or_default().iter().map(|t| t.name))
}

/// Stores `f` in `tx`: the folder's row in `folders` (kept, with its
/// place in the order of adds, when the run was stored before) and every
/// file's rows, after removing that run's earlier rows.
pub(crate) fn insert(tx: &Transaction, f: &FolderContent) -> rusqlite::Result<Added> {
    let existing: Option<i64> = tx
        .query_row(
            "SELECT folder_id FROM folders WHERE run_id = ?1 AND label = ?2",
            params![f.run_id, f.label],
            |r| r.get(0),
        )
        .optional()?;
    let source = std::fs::canonicalize(&f.dir)
        .unwrap_or_else(|_| f.dir.clone())
        .display()
        .to_string();
    let version = i64::try_from(f.format_version).unwrap_or(i64::MAX);
    let folder_id = match existing {
        Some(id) => {
            for t in all_tables() {
                tx.execute(
                    &format!("DELETE FROM {} WHERE folder_id = ?1", quoted(t)),
                    [id],
                )?;
            }
            tx.execute(
                "UPDATE folders SET source = ?1, added_utc = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), \
                 format_version = ?2, added_by = ?3 WHERE folder_id = ?4",
                params![source, version, crate::TOOL_VERSION, id],
            )?;
            id
        }
        None => {
            tx.execute(
                "INSERT INTO folders (run_id, label, source, added_utc, format_version, added_by) \
                 VALUES (?1, ?2, ?3, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), ?4, ?5)",
                params![f.run_id, f.label, source, version, crate::TOOL_VERSION],
            )?;
            tx.last_insert_rowid()
        }
    };
    let identity = [
        Value::Integer(folder_id),
        Value::Text(f.run_id.clone()),
        Value::Text(f.label.clone()),
    ];
    let mut file_row = tx.prepare(
        "INSERT INTO files (folder_id, run_id, label, path, stored_in, columns, content) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    let mut rows = 0;
    for file in &f.files {
        let (stored_in, columns, content): (Option<&str>, Option<String>, Option<&[u8]>) =
            match &file.body {
                Body::Rows {
                    table,
                    header,
                    verbatim,
                    ..
                } => (
                    Some(table.name),
                    serde_json::to_string(header).ok(),
                    verbatim.as_deref(),
                ),
                Body::Environment { .. } => (Some("environment"), None, None),
                Body::Config { .. } => (Some("config"), None, None),
                Body::Verbatim(bytes) => (None, None, Some(bytes)),
            };
        file_row.execute(params![
            folder_id, f.run_id, f.label, file.path, stored_in, columns, content
        ])?;
        match &file.body {
            Body::Rows {
                table,
                header,
                rows: values,
                ..
            } => {
                let key = if table.adds_identity { 3 } else { 1 };
                let mut names = vec!["folder_id", "run_id", "label"];
                names.truncate(key);
                names.extend(header.iter().copied());
                let mut stmt = tx.prepare(&insert_sql(table.name, &names))?;
                for row in values {
                    stmt.execute(rusqlite::params_from_iter(
                        identity[..key].iter().chain(row.iter()),
                    ))?;
                }
                rows += values.len();
            }
            Body::Environment { json, values } => {
                let mut names = vec!["folder_id", "run_id", "label"];
                names.extend(ENVIRONMENT_COLUMNS.iter().map(|c| c.0));
                names.push("json");
                let json = Value::Text(json.clone());
                tx.execute(
                    &insert_sql("environment", &names),
                    rusqlite::params_from_iter(identity.iter().chain(values.iter()).chain([&json])),
                )?;
            }
            Body::Config { json } => {
                tx.execute(
                    "INSERT INTO config (folder_id, run_id, label, json) VALUES (?1, ?2, ?3, ?4)",
                    params![folder_id, f.run_id, f.label, json],
                )?;
            }
            Body::Verbatim(_) => {}
        }
    }
    Ok(Added {
        run_id: f.run_id.clone(),
        label: f.label.clone(),
        replaced: existing.is_some(),
        rows,
    })
}

fn insert_sql(table: &str, columns: &[&str]) -> String {
    let names: Vec<String> = columns.iter().map(|c| quoted(c)).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quoted(table),
        names.join(", "),
        marks.join(", ")
    )
}
