//! The example front-end (`examples/web`: React, urql, graphql-ws, types from the committed
//! SDL by graphql-codegen), built and served from its own origin, used in headless Chromium
//! against the API on another origin (`tests/browser/frontend.py`); and the same page against
//! an API that does not list its origin, which the browser must refuse.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, assert_no_errors, spawn_configured};
use palimpsest::http::CorsOrigins;

const PAGE_SIZE: usize = 5;

/// A static file server for the built app, on its own origin, stopped when dropped.
struct StaticSite {
    child: Child,
    origin: String,
}

impl StaticSite {
    fn serve(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let origin = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, origin }
    }
}

impl Drop for StaticSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
}

fn run(command: &mut Command, what: &str) {
    let output = command.output().unwrap_or_else(|err| panic!("{what}: {err}"));
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A copy of the example as a fresh clone holds it (without `node_modules`, `dist` or the
/// generated `src/gql`), beside the committed schema its code generation reads
/// (`../../schema/schema.graphql`), so that nothing is written into the checkout, with its
/// locked dependencies installed.
fn fresh_copy() -> PathBuf {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR"));
    let clone = target_dir().join("fresh-clone");
    let _ = std::fs::remove_dir_all(&clone);
    std::fs::create_dir_all(clone.join("schema")).unwrap();
    std::fs::copy(checkout.join("schema/schema.graphql"), clone.join("schema/schema.graphql"))
        .unwrap();
    let app = clone.join("examples/web");
    copy_tree(&checkout.join("examples/web"), &app);
    run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&app),
        "npm ci in a fresh copy of examples/web",
    );
    app
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if ["node_modules", "dist", "gql"].iter().any(|skip| name == *skip) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// `npm run dev` on a fresh copy serves the app: its modules, the generated `./gql` included,
/// transform without an error (Vite answers 500 for a module whose import is missing).
fn dev_server_serves(app: &Path) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (log, errors) = (target_dir().join("web-dev.log"), target_dir().join("web-dev.err"));
    let mut dev = Command::new("npm")
        .args([
            "run",
            "dev",
            "--",
            "--port",
            &port.to_string(),
            "--strictPort",
            "--host",
            "127.0.0.1",
        ])
        .current_dir(app)
        .stdout(std::fs::File::create(&log).expect("the dev server's log"))
        .stderr(Stdio::from(std::fs::File::create(&errors).expect("the dev server's errors")))
        // Its own process group, so that stopping it stops vite too, not only npm.
        .process_group(0)
        .spawn()
        .expect("npm run dev");
    let fetch = |path: &str| {
        Command::new("curl")
            .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
            .arg(format!("http://127.0.0.1:{port}{path}"))
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    // Code generation and Vite's first start take a while beside the rest of the suite on two
    // cores; a dev server that exits is a failure at once.
    let mut up = false;
    let mut exited = None;
    for _ in 0..1200 {
        if fetch("/") == "200" {
            up = true;
            break;
        }
        if let Ok(Some(status)) = dev.try_wait() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let statuses: Vec<(String, String)> =
        ["/src/main.tsx", "/src/App.tsx", "/src/DocumentList.tsx"]
            .iter()
            .map(|path| (path.to_string(), fetch(path)))
            .collect();
    let _ = Command::new("kill").args(["-TERM", "--", &format!("-{}", dev.id())]).status();
    let _ = dev.wait();
    assert!(
        up,
        "npm run dev did not serve / within 120 s (exited: {exited:?}); its output:\n{}\n{}",
        std::fs::read_to_string(&log).unwrap_or_default(),
        std::fs::read_to_string(&errors).unwrap_or_default(),
    );
    for (path, status) in statuses {
        assert_eq!(status, "200", "npm run dev on a fresh copy: {path}");
    }
}

/// Builds the example from a fresh copy (codegen, type check, bundle), after checking that
/// `npm run dev` works there as a newcomer would run it first.
fn build_app() -> PathBuf {
    let app = fresh_copy();
    dev_server_serves(&app);
    let out = target_dir().join("web-dist");
    run(
        Command::new("npm")
            .args(["run", "build", "--", "--outDir"])
            .arg(&out)
            .arg("--emptyOutDir")
            .current_dir(&app),
        "npm run build in a fresh copy of examples/web",
    );
    out
}

fn browse(plan: Value, name: &str) -> String {
    let dir = target_dir().join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let plan_file = dir.join(format!("frontend-{name}.json"));
    std::fs::write(&plan_file, serde_json::to_vec(&plan).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/frontend.py");
    let output = Command::new("python3").arg(script).arg(&plan_file).arg(&dir).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    println!("{printed}");
    assert!(output.status.success(), "{name}: {}", String::from_utf8_lossy(&output.stderr));
    printed
}

/// Seven documents; `minutes` has three revisions (the last moved the meeting from Monday to
/// Tuesday) and cites `budget` twice, one quote exact and one altered.
async fn corpus(app: &TestApp, token: &str) -> Value {
    for n in 1..=5 {
        app.create_document(token, &format!("brief-{n}"), &format!("Brief number {n}.\n")).await;
    }
    let budget = app
        .create_document(
            token,
            "budget",
            "The budget for 2027 is balanced.\nSpending rises by two percent.\n",
        )
        .await;
    let budget_id = budget["document"]["id"].as_str().unwrap().to_owned();
    let created = app.create_document(token, "minutes", "The committee met on Monday.\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
    for text in [
        "The committee met on Monday.\nIt approved the budget.\n",
        "The committee met on Tuesday.\nIt approved the budget, noting spending rises by three percent.\n",
    ] {
        let body = app.revise(token, &id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    }
    for (passage, quote) in [
        ("approved the budget", "The budget for 2027 is balanced"),
        ("spending rises by three percent", "Spending rises by three percent"),
    ] {
        let added = app
            .query_as(
                Some(token),
                "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }",
                json!({ "input": { "documentId": id, "relation": "QUOTES",
                    "passage": { "exact": passage }, "target": { "documentId": budget_id },
                    "targetPassage": { "exact": quote } } }),
            )
            .await;
        assert_no_errors(&added);
    }
    json!({ "slug": "minutes", "title": "Title of minutes", "id": id, "head": head, "revisions": 3 })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    any(palimpsest_no_node, palimpsest_no_browser),
    ignore = "needs node, npm, chromium, chromedriver and python3 with selenium"
)]
async fn the_example_front_end_works_from_another_origin_and_cors_protects_it() {
    let dist = tokio::task::spawn_blocking(build_app).await.unwrap();
    let site = StaticSite::serve(&dist);

    // The API lists the site's origin.
    let origin = site.origin.clone();
    let listed = CorsOrigins::parse(std::slice::from_ref(&origin)).unwrap();
    let app =
        spawn_configured(Backend::Sqlite, move |config| config.http.cors = listed).await.unwrap();
    let token = app.editor().await;
    let document = corpus(&app, &token).await;
    let plan = json!({
        "app": format!("{origin}/?api={}", app.address),
        "api": app.address,
        "allowed": true,
        "token": token,
        "viewer": "Test Editor",
        "document": document,
        "documents": 7,
        "page_size": PAGE_SIZE,
        "inserted": "Tuesday",
        "deleted": "Monday",
        "verdicts": ["verified", "altered"],
    });
    let printed = tokio::task::spawn_blocking(move || browse(plan, "allowed")).await.unwrap();
    assert!(printed.contains("arrived over the WebSocket"), "{printed}");

    // Another API, which does not list it: the browser refuses the page the answers.
    let closed = spawn_configured(Backend::Sqlite, |_| {}).await.unwrap();
    let plan = json!({ "app": format!("{origin}/?api={}", closed.address), "api": closed.address,
        "allowed": false });
    tokio::task::spawn_blocking(move || browse(plan, "refused")).await.unwrap();

    // What the reader downloads.
    let mut bytes = 0;
    for entry in std::fs::read_dir(dist.join("assets")).unwrap() {
        bytes += entry.unwrap().metadata().unwrap().len();
    }
    println!("the built app's assets weigh {} KiB", bytes / 1024);
}
