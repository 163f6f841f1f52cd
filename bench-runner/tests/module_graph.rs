//! In every crate of the workspace the modules form a graph without
//! cycles, at every level: the top-level modules among themselves, and the
//! children of each folder module among themselves (`measure::cell` and
//! `measure::drive`, say). Each module names the ones it uses (`crate::x::y`,
//! `super::y`), and nothing uses a module that uses it back. A child may use
//! its parent and the parent its children: that is one module's inside.
//! (A cycle makes each half impossible to change or test alone.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file's module path: `src/measure/probe/mod.rs` is
/// `["measure", "probe"]`, `src/lib.rs` is `[]`.
fn module_path(path: &Path, src: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main") {
        parts.clear();
    }
    parts
}

/// The workspace's member crates: their folders, from the root manifest.
fn members() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let manifest: toml::Table = manifest.parse().unwrap();
    manifest["workspace"]["members"]
        .as_array()
        .expect("workspace.members")
        .iter()
        .map(|m| root.join(m.as_str().expect("a member path")))
        .collect()
}

/// Every `crate::`, `super::` and `self::` path in `code` (a file of module
/// `at`), resolved to an absolute path; `use a::{b, c}` gives `a::b` and
/// `a::c`. Paths may run on into items (`crate::x::Type`): callers cut them
/// at the known modules.
fn paths_used(code: &str, at: &[String]) -> Vec<Vec<String>> {
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = Vec::new();
    for start in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(start) {
            if code[..i].ends_with(|c: char| word(c) || c == ':' || c == '$') {
                continue; // inside a longer path, or `$crate` in a macro
            }
            let mut base: Vec<String> = match start {
                "crate::" => Vec::new(),
                "super::" => at[..at.len().saturating_sub(1)].to_vec(),
                _ => at.to_vec(),
            };
            let mut rest = &code[i + start.len()..];
            loop {
                let seg: String = rest.chars().take_while(|&c| word(c)).collect();
                if seg.is_empty() {
                    break;
                }
                rest = &rest[seg.len()..];
                if seg == "super" {
                    base.pop();
                } else {
                    base.push(seg);
                }
                match rest.strip_prefix("::") {
                    Some(r) => rest = r,
                    None => break,
                }
            }
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(0)];
                for n in group.split(',') {
                    let n = n.trim().split("::").next().unwrap_or("").trim();
                    if !n.is_empty() && n != "self" && n != "*" {
                        let mut p = base.clone();
                        p.push(n.to_string());
                        out.push(p);
                    }
                }
            }
            out.push(base);
        }
    }
    out
}

/// For the crate in `dir`: for each parent module (the crate root is `""`),
/// which of its child modules uses which other child (an edge between
/// siblings; a use of a module's own ancestor or descendant is not one).
fn edges(dir: &Path) -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = dir.join("src");
    let mut files = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                files.push(p);
            }
        }
    }
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_path(f, &src)).collect();
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in &files {
        // A `tests.rs` beside a module is its `#[cfg(test)] mod tests;`:
        // test code, like the `#[cfg(test)]` tail of a file.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let from = module_path(f, &src);
        let text = std::fs::read_to_string(f).unwrap();
        // Only non-test code counts, and not comments (doc links).
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for to in paths_used(&code, &from) {
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common >= from.len() || common >= to.len() {
                continue; // a module's own ancestor or descendant
            }
            let sibling = to[..=common].to_vec();
            if !modules.contains(&sibling) {
                continue; // an item of the parent, not a module
            }
            graph
                .entry(from[..common].join("::"))
                .or_default()
                .entry(from[common].clone())
                .or_default()
                .insert(to[common].clone());
        }
    }
    graph
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = path.iter().position(|p| p == n).unwrap_or(0);
                let mut c = path[start..].to_vec();
                c.push(n.to_string());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, state, path) {
                return Some(c);
            }
        }
        path.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut state, &mut Vec::new()) {
            return Some(c);
        }
    }
    None
}

#[test]
fn modules_have_no_cycle_in_any_crate() {
    let members = members();
    assert!(members.len() >= 7, "found the crates: {members:?}");
    let mut cycles = Vec::new();
    for dir in &members {
        let name = dir.file_name().unwrap().to_string_lossy();
        for (parent, g) in edges(dir) {
            if let Some(c) = find_cycle(&g) {
                cycles.push(format!("{name} {parent}: {}", c.join(" -> ")));
            }
        }
    }
    let ours = edges(Path::new(env!("CARGO_MANIFEST_DIR")));
    assert!(
        ours[""].len() >= 3,
        "found bench-runner's top-level modules: {ours:?}"
    );
    assert!(ours["measure"].len() >= 4, "found the children of measure");
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert!(find_cycle(&g).is_none());
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(find_cycle(&g).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn paths_resolve_relative_to_their_module() {
    let at: Vec<String> = vec!["measure".into(), "cell".into()];
    let used = paths_used(
        "use super::drive::run; use crate::output::{rows, table::Table}; let x = self::inner::f();",
        &at,
    );
    let used: Vec<String> = used.iter().map(|p| p.join("::")).collect();
    assert!(
        used.contains(&"measure::drive::run".to_string()),
        "{used:?}"
    );
    assert!(used.contains(&"output::rows".to_string()), "{used:?}");
    assert!(used.contains(&"output::table".to_string()), "{used:?}");
    assert!(
        used.contains(&"measure::cell::inner::f".to_string()),
        "{used:?}"
    );
}
