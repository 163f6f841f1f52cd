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

/// The environment.json value of `column` (`started_utc`, `command`) of
/// `f`, if it has one.
fn env_text<'a>(f: &'a FolderContent, column: &str) -> Option<&'a str> {
    let i = ENVIRONMENT_COLUMNS.iter().position(|c| c.0 == column)?;
    f.files.iter().find_map(|file| match &file.body {
        Body::Environment { values, .. } => match values.get(i) {
            Some(Value::Text(t)) => Some(t.as_str()),
            _ => None,
        },
        _ => None,
    })
}

/// A different run already stored under `f`'s run id and label (run ids
/// have one-second resolution): its folder and start time. The same run
/// (its `environment.json` started at the same time, by the same
/// command) may be added again; a folder without one may too.
pub(crate) fn other_run(
    tx: &Transaction,
    f: &FolderContent,
) -> rusqlite::Result<Option<(String, String)>> {
    let stored: Option<(String, Option<String>, Option<String>)> = tx
        .query_row(
            "SELECT f.source, e.started_utc, e.command FROM folders AS f \
             JOIN environment AS e USING (folder_id) WHERE f.run_id = ?1 AND f.label = ?2",
            params![f.run_id, f.label],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((source, started, command)) = stored else {
        return Ok(None);
    };
    let (new_started, new_command) = (env_text(f, "started_utc"), env_text(f, "command"));
    if new_started.is_none() && new_command.is_none() {
        return Ok(None);
    }
    let same = started.as_deref() == new_started && command.as_deref() == new_command;
    Ok((!same).then(|| (source, started.unwrap_or_default())))
}

/// The folder's row in `folders`: made, or kept with its place in the
/// order of adds when the run was stored before, in which case every row
/// of that earlier add is removed. Returns its id and whether it was kept.
fn folder_row(tx: &Transaction, f: &FolderContent) -> rusqlite::Result<(i64, bool)> {
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
    Ok((folder_id, existing.is_some()))
}

/// Stores `f` in `tx`: the folder's row and every file's rows, replacing
/// an earlier add of the same run id and label.
pub(crate) fn insert(tx: &Transaction, f: &FolderContent) -> rusqlite::Result<Added> {
    let (folder_id, replaced) = folder_row(tx, f)?;
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
        replaced,
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
