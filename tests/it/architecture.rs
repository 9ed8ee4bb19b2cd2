//! The floors of `src/` (README, "How the code is laid out"): every `crate::…` path, and every `super::…`
//! path that climbs out of its top module, may only reach the module's own floor's ground or a floor
//! below it. A new upward import fails here, naming the file and line.

use std::path::{Path, PathBuf};

/// Where a top-level module sits. Modules on the ground may use each other; on the shared floor none
/// uses a sibling; tasks use only the tasks before them; the top uses everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Floor {
    Ground,
    Shared,
    Task(usize),
    Top(usize),
}

const GROUND: &[&str] = &[
    "config", "db", "security", "error", "identity", "request", "state",
];
const SHARED: &[&str] = &["web", "audit", "mail"];
/// In the order data flows through them.
const TASKS: &[&str] = &[
    "accounts",
    "studies",
    "distribution",
    "responses",
    "interviews",
    "analysis",
    "operations",
    "overview",
];
const TOP: &[&str] = &["api", "app"];

fn floor(module: &str) -> Option<Floor> {
    let position = |list: &[&str]| list.iter().position(|m| *m == module);
    if GROUND.contains(&module) {
        Some(Floor::Ground)
    } else if SHARED.contains(&module) {
        Some(Floor::Shared)
    } else if let Some(rank) = position(TASKS) {
        Some(Floor::Task(rank))
    } else {
        position(TOP).map(Floor::Top)
    }
}

fn describe(floor: Floor) -> String {
    match floor {
        Floor::Ground => "the ground floor".into(),
        Floor::Shared => "the shared floor: web, audit, mail".into(),
        Floor::Task(rank) => format!(
            "task {} of {}: {}",
            rank + 1,
            TASKS.len(),
            TASKS.join(" → ")
        ),
        Floor::Top(_) => "the top floor".into(),
    }
}

/// Whether code in `from` may use `to`.
fn allowed(from: Floor, to: Floor) -> bool {
    use Floor::*;
    match (from, to) {
        (Ground, Ground) => true,
        (Shared, Ground) => true,
        (Task(_), Ground | Shared) => true,
        (Task(a), Task(b)) => b < a,
        (Top(_), Ground | Shared | Task(_)) => true,
        (Top(a), Top(b)) => b < a,
        _ => false,
    }
}

/// The module path of a source file relative to `src/`: `studies/versions/cache.rs` is
/// `[studies, versions, cache]`, `studies/mod.rs` is `[studies]`.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

fn identifier_at(text: &str) -> &str {
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    &text[..end]
}

/// The top-level modules named right after `crate::`: one, or each of a `crate::{a::…, b}` group.
fn named_after_crate(rest: &str) -> Vec<&str> {
    let Some(group) = rest.strip_prefix('{') else {
        return vec![identifier_at(rest)];
    };
    let mut names = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (i, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                names.push(identifier_at(group[start..].trim_start()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                names.push(identifier_at(group[start..].trim_start()));
                start = i + 1;
            }
            _ => {}
        }
    }
    names.retain(|n| !n.is_empty());
    names
}

/// Every reach from this file into another top-level module that its floor does not allow, as
/// "file:line: what".
fn violations(relative: &Path, text: &str) -> Vec<String> {
    let path = module_path(relative);
    let Some(own) = path.first() else {
        return Vec::new();
    };
    let Some(own_floor) = floor(own) else {
        return vec![format!(
            "src/{}: the module `{own}` is on no floor: add it to the floors in tests/it/architecture.rs and the README",
            relative.display()
        )];
    };
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let mut reached = Vec::new();
        for (at, _) in code.match_indices("crate::") {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                continue;
            }
            reached.extend(named_after_crate(&code[at + "crate::".len()..]));
        }
        for (at, _) in code.match_indices("super::") {
            if code[..at].ends_with("super::") {
                continue;
            }
            let mut rest = &code[at..];
            let mut climbs = 0;
            while let Some(after) = rest.strip_prefix("super::") {
                climbs += 1;
                rest = after;
            }
            // A file's own module is `path`; `super` from a file module is its parent folder.
            if climbs >= path.len() {
                reached.extend(named_after_crate(rest));
            }
        }
        for target in reached {
            if target == own.as_str() {
                continue;
            }
            match floor(target) {
                Some(to) if allowed(own_floor, to) => {}
                Some(to) => found.push(format!(
                    "src/{}:{}: `{own}` ({}) may not use `{target}` ({})",
                    relative.display(),
                    number + 1,
                    describe(own_floor),
                    describe(to)
                )),
                None => {}
            }
        }
    }
    found
}

fn sources(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

#[test]
fn every_module_imports_only_from_its_floor_or_below() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut found = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).unwrap();
        // The crate root and the binary are above every floor.
        if relative == Path::new("lib.rs") || relative == Path::new("main.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        found.extend(violations(relative, &text));
        checked += 1;
    }
    assert!(
        checked > 150,
        "only {checked} source files found under src/"
    );
    assert!(
        found.is_empty(),
        "imports against the floors:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_top_level_module_is_on_a_floor() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let declared: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    let unplaced: Vec<&&str> = declared.iter().filter(|m| floor(m).is_none()).collect();
    assert!(unplaced.is_empty(), "modules on no floor: {unplaced:?}");
    let floors = GROUND.len() + SHARED.len() + TASKS.len() + TOP.len();
    assert_eq!(declared.len(), floors, "lib.rs declares {declared:?}");
}

#[test]
fn planted_upward_imports_are_caught_with_file_and_line() {
    let cases = [
        (
            "web/page.rs",
            "use crate::app::AppState;",
            "src/web/page.rs:2",
        ),
        (
            "web/auth.rs",
            "use crate::{error::AppError, accounts::queries};",
            "`accounts`",
        ),
        ("audit/mod.rs", "    crate::web::client_ip(req)", "`web`"),
        (
            "studies/versions/cache.rs",
            "let t = crate::distribution::links::queries::version_snapshot(c, 1)?;",
            "`distribution`",
        ),
        ("accounts/api.rs", "use crate::api::ErrorBody;", "`api`"),
        (
            "studies/versions/cache.rs",
            "use super::super::super::responses::rules;",
            "`responses`",
        ),
        (
            "state.rs",
            "pub snapshots: crate::studies::versions::cache::Snapshots,",
            "`studies`",
        ),
    ];
    for (file, line, expected) in cases {
        let text = format!("//! A file.\n{line}\n");
        let found = violations(Path::new(file), &text);
        assert_eq!(found.len(), 1, "{file}: {line} gave {found:?}");
        assert!(
            found[0].contains(expected),
            "{found:?} should name {expected}"
        );
    }
    let fine = [
        (
            "analysis/matrix/rules.rs",
            "use crate::studies::rules::Roles;",
        ),
        ("studies/versions/cache.rs", "use super::super::queries;"),
        (
            "web/page.rs",
            "use crate::{error::AppError, state::AppState};",
        ),
        (
            "accounts/api.rs",
            "// crate::app is the top floor, named in a comment",
        ),
        ("app.rs", "use crate::operations::health;"),
    ];
    for (file, line) in fine {
        let found = violations(Path::new(file), line);
        assert!(found.is_empty(), "{file}: {line} gave {found:?}");
    }
}
