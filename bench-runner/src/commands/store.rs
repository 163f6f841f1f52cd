//! `bench-runner store`: results folders added to a SQLite results store
//! (`add`), and the runs it holds (`list`). The store itself is
//! [`results::store`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use results::store::{read_folder, Access, Store};

/// Adds `dirs` to `store`. Every folder is read and checked first, so a
/// bad one adds none; each is then added in its own transaction. Prints
/// the store on stdout.
pub fn add(dirs: &[PathBuf], store: &Path) -> Result<u8> {
    let contents = dirs
        .iter()
        .map(|d| read_folder(d))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("nothing was added to {}", store.display()))?;
    let mut s = Store::open(store, Access::Write)
        .with_context(|| format!("--store {}", store.display()))?;
    for c in &contents {
        let added = s
            .add(c)
            .with_context(|| format!("add {} to {}", c.dir().display(), store.display()))?;
        eprintln!(
            "{} {}: run {} ({}), {} rows",
            if added.replaced { "replaced" } else { "added" },
            c.dir().display(),
            added.run_id,
            added.label,
            added.rows
        );
    }
    outln!("{}", store.display())?;
    Ok(0)
}

/// Prints the runs in `store` in the order they were first added: run id,
/// label and the folder each was added from, tab-separated.
pub fn list(store: &Path) -> Result<u8> {
    let s =
        Store::open(store, Access::Read).with_context(|| format!("--store {}", store.display()))?;
    outln!("run_id\tlabel\tsource")?;
    for r in s.runs()? {
        outln!("{}\t{}\t{}", r.run_id, r.label, r.source)?;
    }
    Ok(0)
}
