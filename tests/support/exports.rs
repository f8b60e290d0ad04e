//! Checks a test's workflows' exports with the reference tools: each ASL
//! document with asl-validator, each DOT graph (plain and with an overlay)
//! with Graphviz's `dot`.
//!
//! `scripts/test` installs both and sets `WORKFLOW_REQUIRE_VALIDATORS=1`,
//! so in CI a missing tool fails the test. Without that variable (a bare
//! `cargo test`), a missing tool skips the check with a note on stderr.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use workflow::{Overlay, Workflow};

/// One workflow's exports, named after it.
pub struct Export {
    name: String,
    asl: String,
    dots: Vec<String>,
}

impl Export {
    /// The exports of `W`: ASL with its children, DOT plain and overlaid.
    pub fn of<W: Workflow>() -> Export {
        let definition = W::definition();
        let asl = serde_json::to_string_pretty(&definition.to_asl(&W::children()))
            .expect("ASL serializes");
        // An overlay with one visited state exercises the overlay's styles
        // and its legend as well as the plain graph.
        let mut overlay = Overlay::new();
        overlay.visit(&definition.start, workflow::Visit::InProgress);
        Export {
            name: definition.name.to_string(),
            asl,
            dots: vec![definition.to_dot(), definition.to_dot_overlay(&overlay)],
        }
    }
}

/// Validates every export; panics with the tools' complaints if any fails.
pub fn validate(exports: &[Export]) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut asl_paths = Vec::new();
    let mut dot_paths = Vec::new();
    for export in exports {
        let path = dir.path().join(format!("{}.asl.json", export.name));
        std::fs::write(&path, &export.asl).expect("writes");
        asl_paths.push(path);
        for (i, dot) in export.dots.iter().enumerate() {
            let path = dir.path().join(format!("{}.{i}.dot", export.name));
            std::fs::write(&path, dot).expect("writes");
            dot_paths.push(path);
        }
    }
    match tool("asl-validator") {
        Some(validator) => asl_validator(&validator, &asl_paths),
        None => missing("asl-validator"),
    }
    match tool("dot") {
        Some(dot) => {
            for path in &dot_paths {
                let out = Command::new(&dot)
                    .arg("-Tsvg")
                    .arg("-o")
                    .arg(dir.path().join("out.svg"))
                    .arg(path)
                    .output()
                    .expect("dot runs");
                assert!(
                    out.status.success() && out.stderr.is_empty(),
                    "dot rejects {}:\n{}\n{}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr),
                    std::fs::read_to_string(path).unwrap_or_default()
                );
            }
        }
        None => missing("dot"),
    }
}

/// All files in one run; if that fails, each alone, for its messages.
fn asl_validator(validator: &Path, paths: &[PathBuf]) {
    let run = |paths: &[PathBuf]| {
        let mut command = Command::new(validator);
        for path in paths {
            command.arg("--json-path").arg(path);
        }
        command.output().expect("asl-validator runs")
    };
    if run(paths).status.success() {
        return;
    }
    let mut failures = String::new();
    for path in paths {
        let out = run(std::slice::from_ref(path));
        if !out.status.success() {
            failures.push_str(&format!(
                "{}{}\n{}\n",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(path).unwrap_or_default()
            ));
        }
    }
    panic!("asl-validator rejects exports:\n{failures}");
}

/// The tool's path: `target/tools/node_modules/.bin` (where `scripts/test`
/// installs asl-validator) above this crate, then `PATH`.
fn tool(name: &str) -> Option<PathBuf> {
    let mut dir = Some(Path::new(env!("CARGO_MANIFEST_DIR")));
    while let Some(at) = dir {
        let local = at.join("target/tools/node_modules/.bin").join(name);
        if local.is_file() {
            return Some(local);
        }
        dir = at.parent();
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn missing(name: &str) {
    if std::env::var_os("WORKFLOW_REQUIRE_VALIDATORS").is_some_and(|v| v == "1") {
        panic!("`{name}` is not installed; `scripts/test` installs it");
    }
    eprintln!(
        "note: `{name}` is not installed, so its check of the exports is skipped; `scripts/test` installs it"
    );
}

/// A test that validates the exports of the listed workflows.
macro_rules! validate_exports {
    ($($workflow:ty),+ $(,)?) => {
        #[test]
        fn exports_pass_asl_validator_and_dot() {
            exports_check::validate(&[$(exports_check::Export::of::<$workflow>()),+]);
        }
    };
}
