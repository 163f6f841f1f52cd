//! The option table of `run` in docs/guide.md (*Running*) matches the
//! command's `--help`: every flag the table names exists, and every
//! visible flag of `run` has a row. The flags come from clap's own
//! description of the command (`Cli::command()`), not from a hand list.

use std::collections::BTreeSet;
use std::path::PathBuf;

use bench_runner::cli::Cli;
use clap::CommandFactory;

fn guide() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/guide.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The `--flags` in the first column of the option table (rows starting
/// with `` | `-- ``) of the section headed `heading`.
fn documented(doc: &str, heading: &str) -> BTreeSet<String> {
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("docs/guide.md has no `{heading}` section"));
    let body = &doc[start + heading.len() + 2..];
    let body = &body[..body.find("\n## ").unwrap_or(body.len())];
    let mut flags = BTreeSet::new();
    for line in body.lines().filter(|l| l.starts_with("| `--")) {
        let first = line.split('|').nth(1).unwrap_or_default();
        for word in first.split('`').filter(|w| w.starts_with("--")) {
            let name = word.trim_start_matches("--");
            let name = name.split([' ', '=']).next().unwrap_or_default();
            flags.insert(name.to_string());
        }
    }
    flags
}

/// The visible long flags of subcommand `name` (without `--help`).
fn visible(name: &str) -> BTreeSet<String> {
    let mut cli = Cli::command();
    cli.build();
    let cmd = cli
        .find_subcommand(name)
        .unwrap_or_else(|| panic!("no subcommand {name}"));
    cmd.get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long())
        .filter(|l| *l != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn run_option_table_matches_help() {
    let doc = documented(&guide(), "## Running");
    assert!(doc.len() > 10, "the table was not found: {doc:?}");
    let help = visible("run");
    let not_in_help: Vec<_> = doc.difference(&help).collect();
    let not_in_doc: Vec<_> = help.difference(&doc).collect();
    assert!(
        not_in_help.is_empty() && not_in_doc.is_empty(),
        "docs/guide.md's `run` options differ from `bench-runner run --help`:\n  \
         documented but not in --help: {not_in_help:?}\n  \
         in --help but not documented: {not_in_doc:?}"
    );
}
