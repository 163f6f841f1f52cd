//! In every crate of the workspace the top-level modules form a graph
//! without cycles: each module names the ones it uses (`crate::x`), and
//! nothing uses a module that uses it back. (Cycles such as cli <->
//! crash_cmd and run <-> output made each half impossible to change or test
//! alone.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn module_name(path: &Path, src: &Path) -> String {
    let rel = path.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.first().cloned().unwrap_or_default()
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

/// Which top-level modules each top-level module of the crate in `dir` uses.
fn edges(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
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
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let from = module_name(&f, &src);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        // Only non-test code counts, and not comments (doc links).
        let code: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let code = code.as_str();
        let entry = graph.entry(from.clone()).or_default();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            // `use crate::{a, b}` groups.
            if name.is_empty() && rest.starts_with('{') {
                let group = &rest[1..rest.find('}').unwrap_or(1)];
                for n in group.split(',') {
                    let n = n.trim().split("::").next().unwrap_or("").trim();
                    if !n.is_empty()
                        && n != from
                        && n.chars().next().is_some_and(|c| c.is_lowercase())
                    {
                        entry.insert(n.to_string());
                    }
                }
                continue;
            }
            if !name.is_empty()
                && name != from
                && name.chars().next().is_some_and(|c| c.is_lowercase())
            {
                entry.insert(name);
            }
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
        let g = edges(dir);
        let name = dir.file_name().unwrap().to_string_lossy();
        if let Some(c) = find_cycle(&g) {
            cycles.push(format!("{name}: {}", c.join(" -> ")));
        }
    }
    assert!(
        edges(Path::new(env!("CARGO_MANIFEST_DIR"))).len() > 5,
        "found bench-runner's modules"
    );
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
