//! The store's tables: one per file of a results folder, their columns
//! taken from the row types, and the statements that make them.

use std::path::Path;
use std::sync::LazyLock;

use serde::de::DeserializeOwned;

use super::columns::{columns_of, Column, Kind};
use crate::{
    CapacityRow, CapacityStepRow, CeilingRow, CrashRow, EventRow, LatencyRow, ProbeRow,
    RecoveryRow, RunRow, SkippedRow, TimelineRow,
};

/// The columns that name a cell in the tables of one (`per_cell`).
pub(crate) const CELL_COLUMNS: [&str; 5] = [
    "engine",
    "policy",
    "workload",
    "threads",
    "value_size_bytes",
];

/// The table of one CSV file of a results folder.
#[derive(Debug)]
pub(crate) struct Table {
    /// SQL name.
    pub name: &'static str,
    /// The file in the folder.
    pub file: &'static str,
    /// The row type's columns, in its CSV order.
    pub columns: Vec<Column>,
    /// The rows have no `run_id` and `label` of their own (`crash.csv`,
    /// `skipped.csv`): the table adds the folder's.
    pub adds_identity: bool,
    /// The rows belong to a cell ([`CELL_COLUMNS`]): a selection of some
    /// cells keeps only theirs.
    pub per_cell: bool,
    /// Reads the file as its row type: the error names the file and line.
    pub check: fn(&Path) -> crate::Result<()>,
}

impl Table {
    /// The kind of column `name`, if the row type has it.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.columns.iter().find(|c| c.name == name).map(|c| c.kind)
    }
}

fn table<T: DeserializeOwned>(
    name: &'static str,
    file: &'static str,
    per_cell: bool,
) -> Result<Table, String> {
    let columns = columns_of::<T>().map_err(|e| format!("table {name}: {e}"))?;
    let has = |n: &str| columns.iter().any(|c| c.name == n);
    if per_cell && !CELL_COLUMNS.iter().all(|c| has(c)) {
        return Err(format!("table {name}: rows without a cell"));
    }
    Ok(Table {
        name,
        file,
        adds_identity: !(has("run_id") && has("label")),
        per_cell,
        check: |path| crate::read_csv::<T>(path).map(drop),
        columns,
    })
}

static TABLES: LazyLock<Result<Vec<Table>, String>> = LazyLock::new(|| {
    Ok(vec![
        table::<RunRow>("runs", "runs.csv", true)?,
        table::<RunRow>("repetitions", "repetitions.csv", true)?,
        table::<LatencyRow>("latency", "latency.csv", true)?,
        table::<TimelineRow>("timeline", "timeline.csv", true)?,
        table::<EventRow>("events", "events.csv", true)?,
        table::<ProbeRow>("probe", "probe.csv", false)?,
        table::<CeilingRow>("ceilings", "ceilings.csv", false)?,
        table::<SkippedRow>("skipped", "skipped.csv", false)?,
        table::<CrashRow>("crash", "crash.csv", false)?,
        table::<RecoveryRow>("recovery", "recovery.csv", false)?,
        table::<CapacityRow>("capacity", "capacity.csv", false)?,
        table::<CapacityStepRow>("capacity_steps", "capacity_steps.csv", false)?,
    ])
});

/// Every table of a CSV file.
pub(crate) fn tables() -> Result<&'static [Table], String> {
    TABLES.as_deref().map_err(Clone::clone)
}

/// The columns of `environment` taken out of `environment.json` (the whole
/// file is in its `json` column): name, JSON pointer, type.
pub(crate) const ENVIRONMENT_COLUMNS: &[(&str, &str, Kind)] = &[
    ("host", "/host", Kind::Text),
    ("os", "/os", Kind::Text),
    ("kernel", "/kernel", Kind::Text),
    ("cpu_model", "/cpu_model", Kind::Text),
    ("cpu_cores", "/cpu_cores", Kind::Integer),
    ("memory_bytes", "/memory_bytes", Kind::Integer),
    ("virtualization", "/virtualization", Kind::Text),
    ("tool_version", "/tool_version", Kind::Text),
    ("git_commit", "/git_commit", Kind::Text),
    ("started_utc", "/started_utc", Kind::Text),
    ("command", "/command", Kind::Text),
    ("format_version", "/format_version", Kind::Integer),
    ("disk_path", "/disk/path", Kind::Text),
    ("mount_point", "/disk/mount_point", Kind::Text),
    ("filesystem", "/disk/filesystem", Kind::Text),
    ("mount_options", "/disk/mount_options", Kind::Text),
    ("disk_source", "/disk/source", Kind::Text),
    ("device", "/disk/device", Kind::Text),
    ("disk_device", "/disk/disk_device", Kind::Text),
    ("model", "/disk/model", Kind::Text),
    ("rotational", "/disk/rotational", Kind::Bool),
    ("write_cache", "/disk/write_cache", Kind::Text),
    (
        "logical_sector_bytes",
        "/disk/logical_sector_bytes",
        Kind::Integer,
    ),
    (
        "physical_sector_bytes",
        "/disk/physical_sector_bytes",
        Kind::Integer,
    ),
    ("journal", "/disk/journal", Kind::Text),
];

/// `"name"`: an identifier quoted for SQL (column names such as `round`
/// or `count` are also SQL words).
pub(crate) fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

const KEY: &str = "folder_id INTEGER NOT NULL REFERENCES folders(folder_id)";
const IDENTITY: &str = "run_id TEXT NOT NULL, label TEXT NOT NULL";

/// The statements that make every table and index (each `IF NOT EXISTS`).
pub(crate) fn create_statements(tables: &[Table]) -> Vec<String> {
    let mut out = vec![
        "CREATE TABLE IF NOT EXISTS folders (\
           folder_id INTEGER PRIMARY KEY, run_id TEXT NOT NULL, label TEXT NOT NULL, \
           source TEXT NOT NULL, added_utc TEXT NOT NULL, format_version INTEGER NOT NULL, \
           added_by TEXT NOT NULL, UNIQUE (run_id, label))"
            .to_string(),
        format!(
            "CREATE TABLE IF NOT EXISTS files ({KEY}, {IDENTITY}, path TEXT NOT NULL, \
             stored_in TEXT, columns TEXT, content BLOB)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS environment ({KEY}, {IDENTITY}, {}, json TEXT NOT NULL)",
            ENVIRONMENT_COLUMNS
                .iter()
                .map(|(n, _, k)| format!("{} {}", quoted(n), k.sql()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        format!("CREATE TABLE IF NOT EXISTS config ({KEY}, {IDENTITY}, json TEXT NOT NULL)"),
    ];
    for t in tables {
        let identity = if t.adds_identity {
            format!("{IDENTITY}, ")
        } else {
            String::new()
        };
        let columns: Vec<String> = t
            .columns
            .iter()
            .map(|c| format!("{} {}", quoted(c.name), c.kind.sql()))
            .collect();
        out.push(format!(
            "CREATE TABLE IF NOT EXISTS {} ({KEY}, {identity}{})",
            quoted(t.name),
            columns.join(", ")
        ));
    }
    for name in ["files", "environment", "config"]
        .into_iter()
        .chain(tables.iter().map(|t| t.name))
    {
        out.push(format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} (folder_id)",
            quoted(&format!("{name}_folder")),
            quoted(name)
        ));
    }
    out
}

/// The columns a table has in the store (`PRAGMA table_info`).
pub(crate) fn columns_in_store(
    conn: &rusqlite::Connection,
    table: &str,
) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({})", quoted(table)))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

/// `ALTER TABLE .. ADD COLUMN` for every column a row type gained since
/// the store's table was made (a new field is optional: older rows read
/// it as empty, as an older CSV file does).
pub(crate) fn add_new_columns(
    conn: &rusqlite::Connection,
    tables: &[Table],
) -> rusqlite::Result<()> {
    for t in tables {
        let have = columns_in_store(conn, t.name)?;
        for c in t
            .columns
            .iter()
            .filter(|c| !have.iter().any(|h| h == c.name))
        {
            conn.execute(
                &format!(
                    "ALTER TABLE {} ADD COLUMN {} {}",
                    quoted(t.name),
                    quoted(c.name),
                    c.kind.sql()
                ),
                [],
            )?;
        }
    }
    let have = columns_in_store(conn, "environment")?;
    for (n, _, k) in ENVIRONMENT_COLUMNS
        .iter()
        .filter(|(n, ..)| !have.iter().any(|h| h == n))
    {
        conn.execute(
            &format!(
                "ALTER TABLE environment ADD COLUMN {} {}",
                quoted(n),
                k.sql()
            ),
            [],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_traces_and_crash_and_skipped_get_the_folders_identity() {
        let t = tables().unwrap();
        let adds: Vec<&str> = t
            .iter()
            .filter(|t| t.adds_identity)
            .map(|t| t.name)
            .collect();
        assert_eq!(adds, ["skipped", "crash"]);
        let runs = t.iter().find(|t| t.name == "runs").unwrap();
        assert_eq!(runs.kind("ops_per_sec"), Some(Kind::Real));
        assert_eq!(runs.kind("threads"), Some(Kind::Integer));
        assert_eq!(runs.kind("seed"), Some(Kind::Text));
        assert_eq!(runs.kind("steady"), Some(Kind::Bool));
    }

    #[test]
    fn the_statements_make_a_store_sqlite_accepts() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for s in create_statements(tables().unwrap()) {
            conn.execute(&s, []).unwrap_or_else(|e| panic!("{s}: {e}"));
        }
        let cols = columns_in_store(&conn, "ceilings").unwrap();
        assert!(cols.contains(&"round".to_string()), "{cols:?}");
        // A column the store lacks is added; one it has is left alone.
        conn.execute("ALTER TABLE runs DROP COLUMN rss_end_bytes", [])
            .unwrap();
        add_new_columns(&conn, tables().unwrap()).unwrap();
        assert!(columns_in_store(&conn, "runs")
            .unwrap()
            .contains(&"rss_end_bytes".to_string()));
    }
}
