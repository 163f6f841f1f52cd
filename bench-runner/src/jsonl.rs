//! `--format json`: the run's `runs.csv` rows as JSON lines on stdout, one
//! object per row with the CSV's column names, for scripts (`jq`, pandas).
//! The CSV files stay the primary, durable output.

use std::io::Write;

use anyhow::{Context, Result};
use results::RunRow;

/// Writes one JSON object per row, one per line, to `out`.
pub fn write_rows(out: &mut impl Write, rows: &[RunRow]) -> Result<()> {
    for r in rows {
        serde_json::to_writer(&mut *out, r).context("serialise a row as JSON")?;
        out.write_all(b"\n").context("write JSON lines to stdout")?;
    }
    out.flush().context("write JSON lines to stdout")
}

/// [`write_rows`] on stdout.
pub fn print_rows(rows: &[RunRow]) -> Result<()> {
    write_rows(&mut std::io::stdout().lock(), rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_parseable_object_per_line() {
        let rows = vec![
            RunRow {
                engine: "wal".into(),
                ops_per_sec: 12.5,
                ..RunRow::default()
            },
            RunRow {
                engine: "lsm".into(),
                ..RunRow::default()
            },
        ];
        let mut buf = Vec::new();
        write_rows(&mut buf, &rows).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let back: Vec<RunRow> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, rows);
    }
}
