//! What the tests can run here is known when they are built, so that a test whose tool is
//! missing is marked ignored with the reason — `cargo test` counts it as skipped — instead of
//! passing without running. The PostgreSQL half needs `PALIMPSEST_TEST_POSTGRES_URL`; the
//! independent verifiers and the browser need the tools below (`.ci/run` installs them all).
//!
//! With `PALIMPSEST_REQUIRE_VERIFIERS` set (as `.ci/run` sets it) nothing is ignored: a
//! missing tool fails its tests. After installing a tool, `touch build.rs` (or `cargo clean
//! -p palimpsest`) makes the next build look again.

use std::path::Path;
use std::process::Command;

/// What a group of tests needs.
enum Needs {
    /// A program on `PATH`.
    Program(&'static str),
    /// A module python3 can import.
    Python(&'static str),
}

/// The tool groups: the cfg set when one of its needs is missing, and the needs.
const TOOLS: &[(&str, &[Needs])] = &[
    (
        "palimpsest_no_browser",
        &[Needs::Program("chromium"), Needs::Program("chromedriver"), Needs::Python("selenium")],
    ),
    ("palimpsest_no_node", &[Needs::Program("node"), Needs::Program("npm")]),
    ("palimpsest_no_rfc8785", &[Needs::Python("rfc8785")]),
    ("palimpsest_no_jsonschema", &[Needs::Python("jsonschema")]),
    ("palimpsest_no_ocfl_validator", &[Needs::Program("ocfl-validate.py")]),
    (
        "palimpsest_no_citation_parsers",
        &[
            Needs::Python("bibtexparser"),
            Needs::Python("rispy"),
            Needs::Python("citeproc"),
            Needs::Python("prov"),
        ],
    ),
    ("palimpsest_no_graphql_core", &[Needs::Python("graphql")]),
    ("palimpsest_no_warcio", &[Needs::Program("warcio")]),
    ("palimpsest_no_pywb", &[Needs::Program("wb-manager"), Needs::Program("wayback")]),
    ("palimpsest_no_cryptography", &[Needs::Python("cryptography")]),
    (
        "palimpsest_no_shell_tools",
        &[
            Needs::Program("bash"),
            Needs::Program("curl"),
            Needs::Program("jq"),
            Needs::Program("sha256sum"),
            Needs::Program("xxd"),
            Needs::Program("patch"),
        ],
    ),
];

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn importable(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=PALIMPSEST_TEST_POSTGRES_URL");
    println!("cargo::rerun-if-env-changed=PALIMPSEST_REQUIRE_VERIFIERS");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rustc-check-cfg=cfg(palimpsest_no_postgres)");
    if std::env::var_os("PALIMPSEST_TEST_POSTGRES_URL").is_none() {
        println!("cargo::rustc-cfg=palimpsest_no_postgres");
    }
    let required = std::env::var_os("PALIMPSEST_REQUIRE_VERIFIERS").is_some();
    // A PostgreSQL streaming replica of the test server (`deploy/local-cluster.sh replica-up`).
    println!("cargo::rerun-if-env-changed=PALIMPSEST_TEST_REPLICA_URL");
    println!("cargo::rustc-check-cfg=cfg(palimpsest_no_replica)");
    if std::env::var_os("PALIMPSEST_TEST_REPLICA_URL").is_none() && !required {
        println!("cargo::rustc-cfg=palimpsest_no_replica");
    }
    // PgBouncer in transaction mode before that server (`deploy/local-cluster.sh pgbouncer-up`).
    println!("cargo::rerun-if-env-changed=PALIMPSEST_TEST_PGBOUNCER_URL");
    println!("cargo::rustc-check-cfg=cfg(palimpsest_no_pgbouncer)");
    if std::env::var_os("PALIMPSEST_TEST_PGBOUNCER_URL").is_none() && !required {
        println!("cargo::rustc-cfg=palimpsest_no_pgbouncer");
    }
    for (cfg, needs) in TOOLS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let missing = needs.iter().any(|need| match need {
            Needs::Program(program) => !on_path(program) && !Path::new(program).is_file(),
            Needs::Python(module) => !importable(module),
        });
        if missing && !required {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}
