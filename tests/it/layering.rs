//! The layering rules of `docs/architecture.md` that a reader of `use` lines can check:
//! no circle of imports between modules in any crate, and no file over 800 lines without a
//! note in its `//!` header saying why.
//!
//! Modules are the source files (`a/b.rs` and `a/b/mod.rs` are `a::b`). A module depends on
//! another when its code (comments left out, and inline `#[cfg(test)] mod tests` blocks) names
//! it by a `crate::`, `super::` or `self::` path, braces expanded. A module may use its
//! ancestors and its descendants (a parent declares its children; children may use what the
//! parent holds, as a composition root): those edges are not counted. Every other edge must
//! keep the graph free of cycles.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file without a note in its header saying why.
const MAX_LINES: usize = 800;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is in the workspace")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; `""` for `lib.rs` / `main.rs`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|l| l == "mod" || (parts.len() == 1 && (l == "lib" || l == "main")))
    {
        parts.pop();
    }
    parts.join("::")
}

/// The code without comments, string contents, and inline test modules.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests {") {
        Some(i) => &text[..i],
        None => text,
    };
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let rest = &text[i..];
        if rest.starts_with("//") {
            i += rest.find('\n').unwrap_or(rest.len());
        } else if rest.starts_with("/*") {
            i += rest.find("*/").map_or(rest.len(), |e| e + 2);
        } else if rest.starts_with('"') {
            // skip a string literal (escapes included)
            let mut j = 1;
            while j < rest.len() {
                match bytes[i + j] {
                    b'\\' => j += 2,
                    b'"' => break,
                    _ => j += 1,
                }
            }
            out.push_str("\"\"");
            i += (j + 1).min(rest.len());
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Every path starting with `crate`, `super` or `self` in `code`, as segments, with
/// `{a::b, c}` groups expanded.
fn paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if (i == 0 || !is_ident(chars[i - 1]) && chars[i - 1] != ':')
            && ["crate", "super", "self"]
                .iter()
                .any(|k| starts(&chars, i, k))
        {
            let (found, end) = path_at(&chars, i, Vec::new());
            out.extend(found);
            i = end.max(i + 1);
        } else {
            i += 1;
        }
    }
    out
}

fn starts(chars: &[char], i: usize, word: &str) -> bool {
    let w: Vec<char> = word.chars().collect();
    chars.get(i..i + w.len()) == Some(&w[..])
        && chars.get(i + w.len()).is_none_or(|c| !is_ident(*c))
}

/// The paths of the path (or group) at `i`, prefixed by `prefix`; and where it ends.
fn path_at(chars: &[char], mut i: usize, mut prefix: Vec<String>) -> (Vec<Vec<String>>, usize) {
    loop {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        if chars.get(i) == Some(&'{') {
            let mut out = Vec::new();
            i += 1;
            loop {
                while chars.get(i).is_some_and(|c| c.is_whitespace() || *c == ',') {
                    i += 1;
                }
                match chars.get(i) {
                    None => return (out, i),
                    Some('}') => return (out, i + 1),
                    _ => {}
                }
                let (found, end) = path_at(chars, i, prefix.clone());
                out.extend(found);
                if end == i {
                    i += 1;
                } else {
                    i = end;
                }
            }
        }
        let start = i;
        while chars.get(i).copied().is_some_and(is_ident) {
            i += 1;
        }
        if i == start {
            return (vec![prefix], i);
        }
        prefix.push(chars[start..i].iter().collect());
        if chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':') {
            i += 2;
        } else {
            return (vec![prefix], i);
        }
    }
}

/// The module a path names (the longest prefix that is a module), from module `from`.
fn target(modules: &BTreeSet<String>, from: &str, path: &[String]) -> Option<String> {
    let mut base: Vec<String> = if from.is_empty() {
        Vec::new()
    } else {
        from.split("::").map(str::to_owned).collect()
    };
    let mut segs = path;
    match segs.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            segs = &segs[1..];
        }
        Some("self") => segs = &segs[1..],
        Some("super") => {
            while segs.first().is_some_and(|s| s == "super") {
                base.pop()?;
                segs = &segs[1..];
            }
        }
        _ => return None,
    }
    let mut best = None;
    for n in 0..=segs.len() {
        let mut candidate = base.clone();
        candidate.extend(segs[..n].iter().cloned());
        let name = candidate.join("::");
        if modules.contains(&name) {
            best = Some(name);
        }
    }
    best
}

/// Whether `a` and `b` are the same module, or one is the other's ancestor.
fn related(a: &str, b: &str) -> bool {
    a == b
        || a.is_empty()
        || b.is_empty()
        || a.starts_with(&format!("{b}::"))
        || b.starts_with(&format!("{a}::"))
}

/// The cycles (strongly connected components of more than one module) of `edges`.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju: finish order on the graph, then components on the reverse
    fn visit(
        v: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !seen.insert(v.to_owned()) {
            return;
        }
        for w in edges.get(v).into_iter().flatten() {
            visit(w, edges, seen, order);
        }
        order.push(v.to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for v in edges.keys() {
        visit(v, edges, &mut seen, &mut order);
    }
    let mut reverse: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (v, ws) in edges {
        for w in ws {
            reverse.entry(w.clone()).or_default().insert(v.clone());
        }
    }
    let mut assigned = BTreeSet::new();
    let mut out = Vec::new();
    for v in order.iter().rev() {
        let mut component = Vec::new();
        visit(v, &reverse, &mut assigned, &mut component);
        if component.len() > 1 {
            component.sort();
            out.push(component);
        }
    }
    out
}

/// Module → modules it uses (ancestors and descendants left out), for one crate's `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let sources: BTreeMap<String, String> = files
        .iter()
        .map(|f| (module_of(src, f), std::fs::read_to_string(f).unwrap()))
        .collect();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(m, text)| {
            let uses = paths(&code_of(text))
                .iter()
                .filter_map(|p| target(&modules, m, p))
                .filter(|t| !related(m, t))
                .collect();
            (m.clone(), uses)
        })
        .collect()
}

fn crates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(workspace().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

#[test]
fn no_crate_has_a_circle_of_imports_between_its_modules() {
    let mut found = Vec::new();
    for src in crates() {
        let edges = graph(&src);
        assert!(
            // crates of one file have no module graph to check
            edges.len() > 1 || src.ends_with("punte-bench/src") || src.ends_with("punte-fuzz/src"),
            "{src:?}"
        );
        for cycle in cycles(&edges) {
            let detail: Vec<String> = cycle
                .iter()
                .map(|m| {
                    let within: Vec<&String> =
                        edges[m].iter().filter(|t| cycle.contains(t)).collect();
                    format!("{m} -> {within:?}")
                })
                .collect();
            found.push(format!("{}: {}", src.display(), detail.join("; ")));
        }
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_through_a_group_and_super() {
    // the checker itself, on a crate made up here: a -> b through `crate::{b::X}`, b -> a
    // through `super::a`, c uses its parent only; a comment naming c does not count
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("p")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod p;\n").unwrap();
    std::fs::write(
        src.join("a.rs"),
        "use crate::{b::X, p};\n// crate::p::c is only mentioned\nfn f() { \"crate::p::c\"; }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("b.rs"),
        "pub struct X;\nfn g() { super::a::f(); }\n",
    )
    .unwrap();
    std::fs::write(src.join("p/mod.rs"), "mod c;\n").unwrap();
    std::fs::write(
        src.join("p/c.rs"),
        "use super::super::p;\nuse crate::p as q;\n",
    )
    .unwrap();
    let edges = graph(src);
    assert_eq!(edges["a"], BTreeSet::from(["b".to_owned(), "p".to_owned()]));
    assert_eq!(edges["b"], BTreeSet::from(["a".to_owned()]));
    assert!(edges["p::c"].is_empty(), "{edges:?}");
    assert_eq!(cycles(&edges), vec![vec!["a".to_owned(), "b".to_owned()]]);
}

#[test]
fn long_files_say_why_in_their_header() {
    let mut unexplained = Vec::new();
    for src in crates() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            let lines = text.lines().count();
            let header: String = text
                .lines()
                .take_while(|l| l.starts_with("//!") || l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("\n");
            if lines > MAX_LINES && !header.contains(&format!("over {MAX_LINES} lines")) {
                unexplained.push(format!("{} ({lines} lines)", file.display()));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "files over {MAX_LINES} lines without \"over {MAX_LINES} lines\" and why in their //! header:\n{}",
        unexplained.join("\n")
    );
}
