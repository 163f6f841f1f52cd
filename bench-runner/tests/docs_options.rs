//! The option table of `run` in docs/guide.md (*Running*) matches the
//! command's `--help`: every flag the table names exists, and every
//! visible flag of `run` has a row. And every `--flag` the docs quote, in
//! any command's prose or example, is a flag of some command, so a rename
//! cannot leave the docs behind. The flags come from clap's own
//! description of the commands (`Cli::command()`), not from a hand list.

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

/// Every long flag of every command, hidden ones included (the docs name
/// the crash child's flags).
fn every_flag() -> BTreeSet<String> {
    fn walk(cmd: &clap::Command, out: &mut BTreeSet<String>) {
        out.extend(
            cmd.get_arguments()
                .filter_map(|a| a.get_long())
                .map(str::to_string),
        );
        for sub in cmd.get_subcommands() {
            walk(sub, out);
        }
    }
    let mut cli = Cli::command();
    cli.build();
    let mut out = BTreeSet::from(["help".to_string(), "version".to_string()]);
    walk(&cli, &mut out);
    out
}

/// Flags of other tools (cargo) the docs quote in their commands.
const OTHER_TOOLS: &[&str] = &["release", "workspace", "path", "no-default-features"];

#[test]
fn every_flag_the_docs_quote_exists() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let flags = every_flag();
    let mut unknown = Vec::new();
    for doc in [
        "README.md",
        "FAQ.md",
        "docs/guide.md",
        "docs/crash.md",
        "docs/methodology.md",
        "docs/results-format.md",
    ] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        // Inside code: `...` spans (fenced blocks are split the same way).
        for code in text.split('`').skip(1).step_by(2) {
            for (i, _) in code.match_indices("--") {
                let name: String = code[i + 2..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .collect();
                let starts_word = i == 0 || !code[..i].ends_with(|c: char| c.is_alphanumeric());
                if starts_word
                    && name.starts_with(|c: char| c.is_ascii_lowercase())
                    && !flags.contains(&name)
                    && !OTHER_TOOLS.contains(&name.as_str())
                {
                    unknown.push(format!("{doc}: --{name}"));
                }
            }
        }
    }
    unknown.dedup();
    assert!(
        unknown.is_empty(),
        "the docs quote flags no command has:\n{}",
        unknown.join("\n")
    );
}
