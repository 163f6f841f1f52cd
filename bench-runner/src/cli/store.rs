//! The results store on the command line: `--store FILE` on the commands
//! that write a results folder (the folder is added when they finish),
//! `store add|list`, and `--store FILE` with `--where`/`--runs` on
//! `compare` and `plot` (their runs come from the store).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use results::store::{Access, Filter, Selection, Store};

const STORE_EXAMPLES: &str = "\
Examples:
  Add folders that already exist (adding one again replaces it):
    bench-runner store add bench-results/laptop-run-20260101-120000 results-server --store runs.db

  Add each run as it finishes:
    bench-runner run --disk /mnt/nvme/tmp --quick --store runs.db

  Compare the `always` cells of every stored run, or two runs by id:
    bench-runner compare --store runs.db --where policy=always
    bench-runner compare --store runs.db --runs laptop-20260101-120000,server-20260102-090000

  Query it directly:
    sqlite3 runs.db \"SELECT label, engine, policy, ops_per_sec FROM runs WHERE workload = 'fillrandom'\"";

/// `--store FILE` of `run`, `probe`, `crash`, `recovery` and `capacity`.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreTarget {
    /// SQLite results store to add the finished results folder to (made if missing; default: none).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
}

impl StoreTarget {
    /// The store, opened once for writing so that a file that is not a
    /// store (or one of a newer schema) fails before anything is
    /// measured; None without `--store`.
    pub fn checked(&self) -> Result<Option<PathBuf>> {
        let Some(path) = &self.store else {
            return Ok(None);
        };
        Store::open(path, Access::Write).with_context(|| format!("--store {}", path.display()))?;
        Ok(Some(path.clone()))
    }
}

/// Options of `store`.
#[derive(Debug, Args, Clone)]
#[command(after_long_help = STORE_EXAMPLES)]
pub struct StoreArgs {
    /// What to do with the store.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// The `store` subcommands.
#[derive(Debug, Subcommand, Clone)]
pub enum StoreCommand {
    /// Add results folders to a store (a folder added again replaces its earlier rows).
    Add(StoreAddArgs),
    /// List the runs in a store: run id, label and the folder each came from.
    List(StoreListArgs),
}

/// Options of `store add`.
#[derive(Debug, Args, Clone)]
pub struct StoreAddArgs {
    /// Results folders; every one is read and checked before any is added.
    #[arg(required = true, value_name = "DIR")]
    pub results: Vec<PathBuf>,
    /// The SQLite results store (made if missing).
    #[arg(long, value_name = "FILE", required = true)]
    pub store: PathBuf,
}

/// Options of `store list`.
#[derive(Debug, Args, Clone)]
pub struct StoreListArgs {
    /// The SQLite results store.
    #[arg(long, value_name = "FILE", required = true)]
    pub store: PathBuf,
}

/// Runs read from a store by `compare` and `plot`.
#[derive(Debug, Args, Clone, Default)]
pub struct StoreSource {
    /// SQLite results store to read runs from, written back as folders for this command (default: none).
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// With --store: only the cells whose runs.csv row has COLUMN equal to VALUE, e.g. policy=always; repeat it and all must hold (default: every cell).
    #[arg(long = "where", value_name = "COLUMN=VALUE", requires = "store",
          value_parser = filter)]
    pub filters: Vec<Filter>,
    /// With --store: the run ids to read, comma-separated, in this order (default: every stored run, in the order added).
    #[arg(long, value_delimiter = ',', value_name = "ID", requires = "store")]
    pub runs: Vec<String>,
}

impl StoreSource {
    /// The store and what to read from it; None without `--store`.
    pub fn selection(&self) -> Option<(&Path, Selection)> {
        let store = self.store.as_deref()?;
        Some((
            store,
            Selection {
                runs: self.runs.iter().map(|r| r.trim().to_string()).collect(),
                filters: self.filters.clone(),
            },
        ))
    }
}

/// `--where`'s parser: `COLUMN=VALUE`.
fn filter(s: &str) -> Result<Filter, String> {
    s.parse()
        .map_err(|e: results::store::StoreError| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_needs_an_equals_sign() {
        assert_eq!(
            filter("policy=always").unwrap(),
            Filter {
                column: "policy".into(),
                value: "always".into()
            }
        );
        assert!(filter("policy").unwrap_err().contains("COLUMN=VALUE"));
    }
}
