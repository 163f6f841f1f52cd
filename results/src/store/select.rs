//! Which stored runs a command reads: run ids (`--runs`) and conditions
//! on the columns of `runs` (`--where COLUMN=VALUE`, all of which must
//! hold). A condition picks rows of `runs`: a run is read with the cells
//! of those rows only.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rusqlite::types::{Value, ValueRef};
use rusqlite::Connection;

use super::columns::Kind;
use super::error::{Result, StoreError};
use super::schema::{columns_in_store, quoted, tables, CELL_COLUMNS};

/// One `COLUMN=VALUE` condition on the `runs` table. An empty value
/// matches an empty figure (NULL) or an empty text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// The column of `runs`.
    pub column: String,
    /// The value it must have.
    pub value: String,
}

impl FromStr for Filter {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Filter> {
        match s.split_once('=') {
            Some((column, value)) if !column.trim().is_empty() => Ok(Filter {
                column: column.trim().to_string(),
                value: value.to_string(),
            }),
            _ => Err(StoreError::BadFilter { filter: s.into() }),
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.column, self.value)
    }
}

/// Which stored runs to read: every one, those of some run ids, and of
/// those the cells whose `runs` rows meet every filter.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Run ids, in the order to read them (empty: every stored run, in
    /// the order they were first added).
    pub runs: Vec<String>,
    /// Conditions on `runs`, all of which must hold.
    pub filters: Vec<Filter>,
}

/// A cell's identity as stored: [`CELL_COLUMNS`] as text.
pub(crate) type CellText = [String; 5];

/// The `runs` rows (rowids) a run's filters kept, and their cells.
pub(crate) type Cells = (BTreeSet<i64>, BTreeSet<CellText>);

/// A stored run picked by a [`Selection`].
#[derive(Debug, Clone)]
pub struct SelectedRun {
    /// Its run id.
    pub run_id: String,
    /// Its label.
    pub label: String,
    /// The folder it was added from.
    pub source: String,
    pub(crate) folder_id: i64,
    /// With filters: the `runs` rows that met them and their cells.
    pub(crate) cells: Option<Cells>,
}

impl SelectedRun {
    /// Cells selected by the filters; None without filters (every cell).
    pub fn cells(&self) -> Option<usize> {
        self.cells.as_ref().map(|(rows, _)| rows.len())
    }
}

/// A stored value as the text of its CSV field (integers and text as
/// they are; NULL empty).
pub(crate) fn text_of(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => ryu::Buffer::new().format(f).to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    }
}

/// The stored runs in the order they were first added: (folder id, run
/// id, label, source).
pub(crate) fn stored(conn: &Connection) -> rusqlite::Result<Vec<(i64, String, String, String)>> {
    let mut stmt =
        conn.prepare("SELECT folder_id, run_id, label, source FROM folders ORDER BY folder_id")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    rows.collect()
}

/// The runs `sel` picks in the store at `path`: those of `sel.runs` in
/// that order (else every run), less those with no `runs` row meeting the
/// filters. Empty when nothing matches.
pub(crate) fn select(conn: &Connection, path: &Path, sel: &Selection) -> Result<Vec<SelectedRun>> {
    let sql = |e| StoreError::sqlite(path, e);
    let all = stored(conn).map_err(sql)?;
    let mut picked: Vec<&(i64, String, String, String)> = Vec::new();
    if sel.runs.is_empty() {
        picked.extend(&all);
    }
    for id in &sel.runs {
        let of_id: Vec<_> = all.iter().filter(|s| &s.1 == id).collect();
        if of_id.is_empty() {
            return Err(StoreError::NoSuchRun {
                path: path.to_path_buf(),
                run_id: id.clone(),
                stored: all
                    .iter()
                    .take(20)
                    .map(|s| format!("{} ({})", s.1, s.2))
                    .collect(),
            });
        }
        for s in of_id {
            if !picked.iter().any(|p| p.0 == s.0) {
                picked.push(s);
            }
        }
    }
    let mut cells = if sel.filters.is_empty() {
        None
    } else {
        Some(matching_rows(conn, path, &sel.filters)?)
    };
    Ok(picked
        .into_iter()
        .filter_map(|(folder_id, run_id, label, source)| {
            let cells = match &mut cells {
                None => None,
                Some(by_folder) => Some(by_folder.remove(folder_id)?),
            };
            Some(SelectedRun {
                run_id: run_id.clone(),
                label: label.clone(),
                source: source.clone(),
                folder_id: *folder_id,
                cells,
            })
        })
        .collect())
}

/// Per folder, the `runs` rows meeting every filter and their cells.
fn matching_rows(
    conn: &Connection,
    path: &Path,
    filters: &[Filter],
) -> Result<BTreeMap<i64, Cells>> {
    let sql = |e| StoreError::sqlite(path, e);
    let valid: Vec<String> = columns_in_store(conn, "runs")
        .map_err(sql)?
        .into_iter()
        .filter(|c| c != "folder_id")
        .collect();
    let runs = tables()
        .ok()
        .and_then(|t| t.iter().find(|t| t.name == "runs"));
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    for f in filters {
        if !valid.contains(&f.column) {
            return Err(StoreError::UnknownColumn {
                column: f.column.clone(),
                valid,
            });
        }
        let kind = runs.and_then(|t| t.kind(&f.column)).unwrap_or(Kind::Text);
        match bound(kind, f)? {
            None => conditions.push(format!("{} IS NULL", quoted(&f.column))),
            Some(v) => {
                values.push(v);
                conditions.push(format!("{} = ?{}", quoted(&f.column), values.len()));
            }
        }
    }
    let cell: Vec<String> = CELL_COLUMNS.iter().map(|c| quoted(c)).collect();
    let query = format!(
        "SELECT rowid, folder_id, {} FROM runs WHERE {} ORDER BY rowid",
        cell.join(", "),
        conditions.join(" AND ")
    );
    let mut stmt = conn.prepare(&query).map_err(sql)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(values.iter()))
        .map_err(sql)?;
    let mut out: BTreeMap<i64, Cells> = BTreeMap::new();
    while let Some(r) = rows.next().map_err(sql)? {
        let rowid: i64 = r.get(0).map_err(sql)?;
        let folder: i64 = r.get(1).map_err(sql)?;
        let mut key: CellText = Default::default();
        for (i, k) in key.iter_mut().enumerate() {
            *k = text_of(r.get_ref(2 + i).map_err(sql)?);
        }
        let entry = out.entry(folder).or_default();
        entry.0.insert(rowid);
        entry.1.insert(key);
    }
    Ok(out)
}

/// The value a filter compares with, typed as its column is stored;
/// None for an empty value of a figure (NULL).
fn bound(kind: Kind, f: &Filter) -> Result<Option<Value>> {
    let bad = |reason: &str| StoreError::BadValue {
        column: f.column.clone(),
        value: f.value.clone(),
        reason: reason.to_string(),
    };
    if f.value.is_empty() && kind != Kind::Text {
        return Ok(None);
    }
    match kind {
        Kind::Text => Ok(Some(Value::Text(f.value.clone()))),
        Kind::Integer => f
            .value
            .parse()
            .map(|i| Some(Value::Integer(i)))
            .map_err(|_| bad("whole numbers")),
        Kind::Real => f
            .value
            .parse()
            .map(|x| Some(Value::Real(x)))
            .map_err(|_| bad("numbers")),
        Kind::Bool => match f.value.as_str() {
            "true" | "1" => Ok(Some(Value::Integer(1))),
            "false" | "0" => Ok(Some(Value::Integer(0))),
            _ => Err(bad("true or false")),
        },
    }
}
