//! The loader's module graph (a module uses another when its code names `crate::other`): the
//! generic relocation path (link → relocate → resolve) sits in no cycle, so an architecture's
//! or an OS's file, the served functions and the process's bookkeeping build on it, never the
//! reverse (issue 14). Read from the sources, so a new `crate::` path that closes a cycle fails
//! here with the cycle named.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;

/// The modules no cycle may pass through.
const ACYCLIC: [&str; 5] = ["link", "relocate", "resolve", "fork", "binding"];

/// Module (top-level name under `src/`) → the modules its non-test code names.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut texts: BTreeMap<String, String> = BTreeMap::new();
    collect(&src, &src, &mut texts);
    let names: BTreeSet<String> = texts.keys().cloned().collect();
    let mut g = Graph::new();
    for (m, text) in &texts {
        let uses = g.entry(m.clone()).or_default();
        for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
            for (i, _) in line.match_indices("crate::") {
                let rest = &line[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if names.contains(&name) && &name != m {
                    uses.insert(name);
                }
            }
        }
    }
    g
}

/// Each `.rs` file's code before its `#[cfg(test)]`, by top-level module name.
fn collect(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(root, &path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let rel = path.strip_prefix(root).expect("under src");
        let top = rel.components().next().expect("a component");
        let top = top.as_os_str().to_string_lossy();
        let module = top.strip_suffix(".rs").unwrap_or(&top).to_string();
        if module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read source");
        let code = text.split("#[cfg(test)]").next().unwrap_or_default();
        out.entry(module).or_default().push_str(code);
    }
}

/// A path from `from` back to `from` (a cycle through it), if there is one.
fn cycle_through(g: &Graph, from: &str) -> Option<Vec<String>> {
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue: VecDeque<&str> = g[from].iter().map(|s| s.as_str()).collect();
    for n in &queue {
        prev.insert(n, from);
    }
    while let Some(v) = queue.pop_front() {
        if v == from {
            let mut path = vec![from.to_string()];
            let mut at = prev[from];
            while at != from {
                path.push(at.to_string());
                at = prev[at];
            }
            path.push(from.to_string());
            path.reverse();
            return Some(path);
        }
        for w in g.get(v).into_iter().flatten() {
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    None
}

#[test]
fn the_generic_relocation_path_is_in_no_cycle() {
    let g = graph();
    for m in ACYCLIC {
        assert!(g.contains_key(m), "no module {m} in loader/src");
        if let Some(path) = cycle_through(&g, m) {
            panic!("a cycle through {m}: {}", path.join(" -> "));
        }
    }
}

#[test]
fn the_reader_finds_a_cycle_where_there_is_one() {
    // The check above can fail: the graph of the sources has cycles elsewhere (the served
    // functions and the process's bookkeeping use one another), and a cycle is found there.
    let g = graph();
    assert!(g["group"].contains("image") && g["image"].contains("group"));
    assert!(cycle_through(&g, "group").is_some());
    assert!(
        g["resolve"].contains("symbols"),
        "the reader sees `crate::` uses"
    );
}
