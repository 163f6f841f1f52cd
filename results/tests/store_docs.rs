//! The SQL queries `docs/guide.md` shows for the results store run on a
//! store as this version makes it, and each finds the fixture run's rows:
//! a renamed table or column cannot leave the docs behind.

use std::path::PathBuf;

use results::store::{read_folder, Access, Store};

fn guide_section() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/guide.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let start = doc
        .find("\n## The results store\n")
        .expect("docs/guide.md has a section `## The results store`");
    let body = &doc[start + 1..];
    let end = body[3..].find("\n## ").map_or(body.len(), |i| i + 3);
    body[..end].to_string()
}

/// The ```sql blocks of `text`.
fn sql_blocks(text: &str) -> Vec<String> {
    text.split("```sql\n")
        .skip(1)
        .map(|rest| rest[..rest.find("```").unwrap()].to_string())
        .collect()
}

#[test]
fn the_guides_queries_run_and_find_the_run() {
    let queries = sql_blocks(&guide_section());
    assert_eq!(queries.len(), 3, "three queries: {queries:?}");
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("runs.db");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v2");
    Store::open(&store, Access::Write)
        .unwrap()
        .add(&read_folder(&fixture).unwrap())
        .unwrap();
    let conn = rusqlite::Connection::open(&store).unwrap();
    for q in &queries {
        let mut stmt = conn.prepare(q).unwrap_or_else(|e| panic!("{q}\n{e}"));
        let rows = stmt
            .query_map([], |_| Ok(()))
            .unwrap()
            .collect::<rusqlite::Result<Vec<()>>>()
            .unwrap_or_else(|e| panic!("{q}\n{e}"));
        assert!(!rows.is_empty(), "no row from:\n{q}");
    }
}
