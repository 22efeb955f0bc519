//! The layout holds what the README's architecture section promises, read from the
//! code's own imports: no two top-level modules of the library import each other,
//! directly or around a circle, and lib.rs lists every module with a line saying
//! what it is. (Test modules may import what they like; they are left out.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// `crate::x` paths in a source file's code: comments and the `#[cfg(test)]` module
/// at its end are left out.
fn imports(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod ").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        let line = line.split(" //").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let name: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// Top-level module → the top-level modules its files import.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap();
            let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
            // The binary (main.rs, cli/) sits above the library and may use all of it.
            if ["main", "lib", "cli"].contains(&top.as_str()) {
                continue;
            }
            let uses = imports(&std::fs::read_to_string(&path).unwrap());
            g.entry(top.clone()).or_default().extend(uses.into_iter().filter(|m| *m != top));
        }
    }
    g
}

/// A circle through `start`, if there is one.
fn circle(g: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut path = vec![start.to_string()];
    let mut seen = BTreeSet::new();
    fn walk(g: &BTreeMap<String, BTreeSet<String>>, start: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        let here = path.last().unwrap().clone();
        for next in g.get(&here).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if walk(g, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    walk(g, start, &mut path, &mut seen).then_some(path)
}

#[test]
fn no_two_modules_import_each_other_around_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let g = graph(&src);
    assert!(g.len() > 20, "the walk found the modules: {:?}", g.keys());
    assert!(g["pipeline"].contains("db") && g["source"].contains("journal"), "the imports were read: {g:?}");
    let circles: Vec<String> = g.keys().filter_map(|m| circle(&g, m)).map(|c| c.join(" → ")).collect();
    assert!(circles.is_empty(), "modules that import each other:\n{}", circles.join("\n"));
}

#[test]
fn the_checker_finds_a_circle_when_there_is_one() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("source".into()).or_default().insert("journal".into());
    g.entry("journal".into()).or_default().insert("db".into());
    assert_eq!(circle(&g, "source"), None);
    g.entry("db".into()).or_default().insert("source".into());
    assert_eq!(circle(&g, "source").unwrap(), ["source", "journal", "db", "source"]);
    assert_eq!(imports("use crate::db::Db;\n// crate::web\nlet x = crate::store::Store::open(p); // crate::cli\n#[cfg(test)]\nmod tests { use crate::web; }"), BTreeSet::from(["db".to_string(), "store".to_string()]));
}

#[test]
fn lib_rs_lists_every_module_with_what_it_is() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let listed: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|l| {
            assert!(l.contains("; // "), "a module without its line in lib.rs: {l}");
            l.split(';').next().unwrap().to_string()
        })
        .collect();
    let on_disk: BTreeSet<String> = std::fs::read_dir(root.join("src"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter_map(|n| n.strip_suffix(".rs").map(str::to_string))
        .filter(|n| !["main", "lib", "cli"].contains(&n.as_str()))
        .collect();
    assert_eq!(listed, on_disk, "lib.rs and src/ name the same modules");
}
