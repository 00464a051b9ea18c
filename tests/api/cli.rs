//! The `palimpsest` command as a script or an archivist in a terminal would use it.

use std::process::Command;

use palimpsest::store::{
    self, CreateDocument, Message, ReviseDocument, Slug, Store, StoreLimits, Title,
};

fn palimpsest(db: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(args)
        .env("DATABASE_URL", db)
        .env_remove("RUST_LOG")
        .output()
        .expect("run palimpsest")
}

fn stdout(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout.clone()).unwrap()
}

struct TempDb(std::path::PathBuf);

impl TempDb {
    fn new() -> Self {
        Self(
            std::env::temp_dir()
                .join(format!("palimpsest-cli-{}.db", uuid::Uuid::now_v7().simple())),
        )
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.0.display())
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

#[test]
fn token_create_prints_the_token_alone_and_seed_is_idempotent() {
    let db = TempDb::new();
    // Run where there is no database, it says so rather than create an empty one.
    let nowhere =
        palimpsest(&db.url(), &["token", "create", "--agent", "Ada Archivist", "--role", "editor"]);
    assert!(!nowhere.status.success());
    assert!(stderr(&nowhere).contains("there is no database at"), "{}", stderr(&nowhere));
    assert!(stderr(&nowhere).contains("palimpsest migrate"), "{}", stderr(&nowhere));
    assert!(!db.0.exists(), "nothing created");
    assert!(palimpsest(&db.url(), &["migrate"]).status.success());
    let output =
        palimpsest(&db.url(), &["token", "create", "--agent", "Ada Archivist", "--role", "editor"]);
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "only the token on stdout: {out:?}");
    assert!(lines[0].starts_with("pal_") && lines[0].len() > 40);

    let output =
        palimpsest(&db.url(), &["token", "create", "--agent", "Ada Archivist", "--role", "owner"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("role"));

    for expected in ["2 created, 0 already present", "0 created, 2 already present"] {
        let output = palimpsest(&db.url(), &["seed"]);
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(String::from_utf8_lossy(&output.stderr).contains(expected));
    }

    assert_eq!(stdout(&palimpsest(&db.url(), &["schema"])), palimpsest::graphql::sdl());
}

#[test]
#[cfg_attr(
    palimpsest_no_postgres,
    ignore = "PALIMPSEST_TEST_POSTGRES_URL was not set when the tests were built"
)]
fn a_missing_postgres_database_is_named_with_how_to_create_it() {
    let server = std::env::var("PALIMPSEST_TEST_POSTGRES_URL").unwrap();
    let base = server.rsplit_once('/').map_or(server.as_str(), |(base, _)| base);
    let url = format!("{base}/palimpsest_never_created_{}", uuid::Uuid::now_v7().simple());
    let output = palimpsest(&url, &["migrate"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let said = stderr(&output);
    assert!(said.contains("does not exist") && said.contains("createdb"), "{said}");
    assert_eq!(said.matches("does not exist").count(), 1, "said once: {said}");
}

#[test]
fn serving_a_database_migrated_but_never_seeded_says_the_corpus_is_empty() {
    use std::io::{BufRead, BufReader};
    let db = TempDb::new();
    assert!(palimpsest(&db.url(), &["migrate"]).status.success());
    let mut server = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(["serve", "--bind", "127.0.0.1:0", "--log-key"])
        .arg(db.0.with_extension("key"))
        .env("DATABASE_URL", db.url())
        .env_remove("RUST_LOG")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = String::new();
    for line in BufReader::new(server.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("serving GraphQL") {
            break;
        }
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_file(db.0.with_extension("key"));
    assert!(said.contains("the corpus is empty") && said.contains("palimpsest seed"), "{said}");
}

#[test]
fn logs_carry_no_colour_codes_when_not_on_a_terminal() {
    let db = TempDb::new();
    let migrated = palimpsest(&db.url(), &["-v", "migrate"]);
    assert!(migrated.status.success(), "{}", stderr(&migrated));
    let log = stderr(&migrated);
    assert!(log.contains("INFO"), "{log}");
    assert!(!log.contains('\u{1b}'), "escape codes in a piped log: {log:?}");
}

#[tokio::test]
async fn log_and_diff_show_history_and_changes_in_a_terminal() {
    let db = TempDb::new();
    let connection = store::connect(&db.url()).await.unwrap();
    store::migrate(&connection).await.unwrap();
    let store = Store::new(connection, StoreLimits::default());
    let author = store
        .create_agent(
            &store::AgentName::parse("Ada Archivist").unwrap(),
            store::AgentKind::Person,
            None,
        )
        .await
        .unwrap();
    let created = store
        .create_document(
            CreateDocument {
                slug: Slug::parse("cli-doc").unwrap(),
                kind: store::DocumentKind::Article,
                title: Title::parse("A title").unwrap(),
                content: "The letter was sent in recent days.\nSecond line.\n".into(),
                message: Message::parse("first capture").unwrap(),
                source: None,
                placement: palimpsest::store::Placement::PUBLIC,
            },
            &store::Actor::agent(author.id),
        )
        .await
        .unwrap();
    let revised = store
        .revise_document(
            ReviseDocument {
                document: created.document.id,
                expected_head: created.revision.hash.clone(),
                content: "The letter was sent last week.\nSecond line.\n".into(),
                title: None,
                message: Message::parse("correct the date").unwrap(),
                source: None,
            },
            &store::Actor::agent(author.id),
        )
        .await
        .unwrap();
    store.connection().clone().close().await.unwrap();
    let (from, to) = (created.revision.hash.to_string(), revised.revision.hash.to_string());

    let log = stdout(&palimpsest(&db.url(), &["log", "cli-doc"]));
    let second = log.find(&format!("revision 2 {to}")).expect("newest first");
    let first = log.find(&format!("revision 1 {from}")).expect("first revision listed");
    assert!(second < first, "{log}");
    assert!(log.contains("Author: Ada Archivist (person"), "{log}");
    assert!(log.contains("    correct the date"), "{log}");
    let only_newest = stdout(&palimpsest(&db.url(), &["log", "cli-doc", "-n", "1"]));
    assert!(!only_newest.contains("revision 1 "), "{only_newest}");

    let unified = stdout(&palimpsest(&db.url(), &["diff", &from, &to]));
    assert!(unified.starts_with("--- a/cli-doc\n+++ b/cli-doc\n@@ -1,2 +1,2 @@\n"), "{unified}");
    assert!(
        unified.contains("-The letter was sent in recent days.\n+The letter was sent last week.\n"),
        "{unified}"
    );
    let words = stdout(&palimpsest(&db.url(), &["diff", &from, &to, "--granularity", "word"]));
    assert!(words.contains("The letter was sent [-in recent days.-]{+last week.+}"), "{words}");

    for bad in [
        vec!["diff", from.as_str(), to.as_str(), "--granularity", "sentence"],
        vec!["diff", "nothex", to.as_str()],
        vec!["log", "no-such-doc"],
    ] {
        let output = palimpsest(&db.url(), &bad);
        assert!(!output.status.success(), "{bad:?}");
        assert!(!output.stderr.is_empty());
    }
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_expire_and_software_agents_get_none_by_accident() {
    let db = TempDb::new();
    stdout(&palimpsest(&db.url(), &["seed"]));
    let token = |args: &[&str]| {
        let mut all = vec!["token", "create"];
        all.extend_from_slice(args);
        palimpsest(&db.url(), &all)
    };

    // The seed loader is a software agent: its name alone does not get a token for it.
    let refused = token(&["--agent", "Palimpsest seed loader", "--role", "editor"]);
    assert!(!refused.status.success());
    assert!(stderr(&refused).contains("--software-agent"), "{}", stderr(&refused));
    let software = stdout(&token(&["--agent", "Palimpsest seed loader", "--software-agent"]));
    assert!(software.starts_with("pal_"));

    // Two agents with one name must be told apart by id.
    let connection = store::connect(&db.url()).await.unwrap();
    let store = Store::new(connection, StoreLimits::default());
    let one = store
        .create_agent(&store::AgentName::parse("Sam Same").unwrap(), store::AgentKind::Person, None)
        .await
        .unwrap();
    store
        .create_agent(&store::AgentName::parse("Sam Same").unwrap(), store::AgentKind::Person, None)
        .await
        .unwrap();
    let ambiguous = token(&["--agent", "Sam Same"]);
    assert!(!ambiguous.status.success());
    assert!(stderr(&ambiguous).contains("--agent-id"), "{}", stderr(&ambiguous));
    assert!(stderr(&ambiguous).contains(&one.id.to_string()), "{}", stderr(&ambiguous));
    let by_id = stdout(&token(&["--agent-id", &one.id.to_string(), "--role", "reader"]));
    let by_id = by_id.trim();
    let principal = store.authenticate(by_id).await.unwrap().unwrap();
    assert_eq!(principal.agent.id, one.id);

    // Expiry: in the listing, and refused once past.
    let expiring = stdout(&token(&["--agent", "Ada Archivist", "--expires-in", "1s"]));
    let expiring = expiring.trim();
    assert!(store.authenticate(expiring).await.unwrap().is_some());
    let listing = stdout(&palimpsest(&db.url(), &["token", "list"]));
    assert!(listing.starts_with("ID"), "{listing}");
    let ada = listing.lines().find(|l| l.contains("Ada Archivist")).unwrap().to_owned();
    assert!(ada.contains("active") && !ada.contains(" - "), "{ada}");
    assert!(!listing.contains("pal_"), "secrets are never listed: {listing}");
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert!(store.authenticate(expiring).await.unwrap().is_none());
    let listing = stdout(&palimpsest(&db.url(), &["token", "list"]));
    assert!(!listing.contains("Ada Archivist"), "expired tokens are not listed: {listing}");
    let all = stdout(&palimpsest(&db.url(), &["token", "list", "--all"]));
    assert!(all.lines().any(|l| l.contains("Ada Archivist") && l.contains("expired")), "{all}");

    // Revocation, by the id the listing shows.
    let id = ada.split_whitespace().next().unwrap().to_owned();
    let reader = stdout(&token(&["--agent", "Rita Reader", "--role", "reader"]));
    let reader = reader.trim();
    let listing = stdout(&palimpsest(&db.url(), &["token", "list"]));
    let rita = listing.lines().find(|l| l.contains("Rita Reader")).unwrap();
    let rita_id = rita.split_whitespace().next().unwrap();
    let revoked = palimpsest(&db.url(), &["token", "revoke", rita_id]);
    assert!(revoked.status.success(), "{}", stderr(&revoked));
    assert!(store.authenticate(reader).await.unwrap().is_none());
    let all = stdout(&palimpsest(&db.url(), &["token", "list", "--all"]));
    assert!(all.lines().any(|l| l.starts_with(rita_id) && l.contains("revoked")), "{all}");
    assert!(!palimpsest(&db.url(), &["token", "revoke", "not-an-id"]).status.success());
    let unknown = palimpsest(&db.url(), &["token", "revoke", &uuid::Uuid::now_v7().to_string()]);
    assert!(!unknown.status.success());
    // The expired token's id is still revocable: revoking is idempotent and never an error.
    assert!(palimpsest(&db.url(), &["token", "revoke", &id]).status.success());
    for bad in [["--expires-in", "soon"], ["--expires-at", "yesterday"]] {
        let output = token(&["--agent", "Ada Archivist", bad[0], bad[1]]);
        assert!(!output.status.success(), "{bad:?}");
    }
}

#[tokio::test]
async fn verify_reports_a_clean_corpus_and_names_tampering_with_a_failing_status() {
    use sea_orm::ConnectionTrait;
    let db = TempDb::new();
    let key = db.0.with_extension("log-key");
    let key_arg = key.to_str().unwrap();
    stdout(&palimpsest(&db.url(), &["seed"]));
    // `serve` creates the signing key on first start; `log-key` prints its public half alone,
    // the same each time, and creates nothing.
    let missing = palimpsest(&db.url(), &["log-key", "--log-key", key_arg]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("serve"), "{}", stderr(&missing));
    let signing = palimpsest::checkpoint::LogKey::load_or_create(&key, "palimpsest/log").unwrap().0;
    let published = stdout(&palimpsest(&db.url(), &["log-key", "--log-key", key_arg]));
    assert_eq!(published.trim(), signing.verifier_key());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the signing key is readable by its owner only");
    }
    // A checkpoint the log will be held to, kept in the database and by an outsider.
    let connection = store::connect(&db.url()).await.unwrap();
    let store = Store::new(connection.clone(), StoreLimits::default());
    let checkpoint = store.sign_checkpoint(&signing).await.unwrap();
    let held = db.0.with_extension("checkpoint");
    std::fs::write(&held, &checkpoint.note).unwrap();
    let verifier = published.trim();
    // A log with signed checkpoints gets no new key by accident.
    let lost =
        palimpsest(&db.url(), &["serve", "--bind", "127.0.0.1:0", "--log-key", "/nonexistent/k"]);
    assert_eq!(lost.status.code(), Some(2));
    assert!(stderr(&lost).contains("--new-log-key"), "{}", stderr(&lost));
    // Nor does a node with another key sign it: it says so at start.
    let stranger = db.0.with_extension("other.key");
    palimpsest::checkpoint::LogKey::load_or_create(&stranger, "palimpsest/log").unwrap();
    let stranger_arg = stranger.to_str().unwrap();
    let foreign =
        palimpsest(&db.url(), &["serve", "--bind", "127.0.0.1:0", "--log-key", stranger_arg]);
    assert_eq!(foreign.status.code(), Some(2));
    assert!(
        stderr(&foreign).contains("did not sign the log's checkpoints"),
        "{}",
        stderr(&foreign)
    );

    let clean = palimpsest(&db.url(), &["verify", "--verifier-key", verifier]);
    let report = stdout(&clean);
    assert!(report.contains("checked 2 documents and 2 revisions"), "{report}");
    assert!(report.contains("1 signed checkpoints, signatures checked"), "{report}");
    assert!(report.trim_end().ends_with("all is well"), "{report}");
    let one = stdout(&palimpsest(
        &db.url(),
        &["verify", "--log-key", key_arg, "--document", "reading-note-security-chiefs-appeal"],
    ));
    assert!(one.contains("checked 1 document and 1 revision"), "{one}");

    // Without a key it does not pretend to check signatures: it refuses, or says so.
    let keyless = palimpsest(&db.url(), &["verify", "--log-key", "/nonexistent/key"]);
    assert_eq!(keyless.status.code(), Some(2), "{}", stderr(&keyless));
    assert!(stderr(&keyless).contains("--verifier-key"), "{}", stderr(&keyless));
    let unsigned = palimpsest(&db.url(), &["verify", "--log-key", "/x", "--no-signatures"]);
    assert!(stdout(&unsigned).contains("signatures NOT checked"));

    connection
        // Forged texts, stored plain beside the packed originals.
        .execute_unprepared("UPDATE blobs SET packing = 0, content = 'forged'")
        .await
        .unwrap();
    let tampered = palimpsest(&db.url(), &["verify", "--verifier-key", verifier]);
    assert_eq!(tampered.status.code(), Some(1), "problems found: status 1");
    let report = String::from_utf8_lossy(&tampered.stdout);
    assert_eq!(report.matches("PROBLEM content_hash").count(), 2, "{report}");
    assert!(report.contains("field content"), "{report}");

    // Cut short with the checkpoints kept here deleted too: only a checkpoint kept elsewhere
    // still shows it, and verification reads it.
    for statement in [
        "UPDATE blobs SET packing = 1, content = ''",
        "DELETE FROM log_nodes WHERE NOT (level = 0 AND position = 0)",
        "UPDATE log_state SET size = 1",
        "UPDATE revisions SET log_index = NULL WHERE log_index = 1",
        "DELETE FROM log_checkpoints",
    ] {
        connection.execute_unprepared(statement).await.unwrap();
    }
    let held_arg = held.to_str().unwrap();
    let cut =
        palimpsest(&db.url(), &["verify", "--verifier-key", verifier, "--checkpoint", held_arg]);
    assert_eq!(cut.status.code(), Some(1));
    let report = String::from_utf8_lossy(&cut.stdout);
    assert!(report.contains("PROBLEM checkpoint") && report.contains("cut short"), "{report}");
    // Verification changed nothing: the revision stays without its leaf.
    let again = palimpsest(&db.url(), &["verify", "--verifier-key", verifier]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("PROBLEM log_missing"));
    for file in [&key, &held] {
        std::fs::remove_file(file).ok();
    }
}

/// `palimpsest import` killed (SIGKILL) part-way leaves only whole revisions, and run again
/// it writes the rest and nothing twice; its report says what was there already.
#[tokio::test]
async fn an_import_killed_part_way_resumes_without_duplicates() {
    use sea_orm::{EntityTrait, PaginatorTrait};
    let mut archive = crate::archive::Archive::new();
    for i in 0..400 {
        archive.history(&format!("doc-{i}"), 10);
    }
    let file = std::env::temp_dir()
        .join(format!("palimpsest-kill-{}.jsonl", uuid::Uuid::now_v7().simple()));
    std::fs::write(&file, archive.bytes()).unwrap();
    let db = TempDb::new();
    assert!(palimpsest(&db.url(), &["migrate"]).status.success());
    let reader = store::connect(&db.url()).await.unwrap();
    let count = async || palimpsest::entity::revision::Entity::find().count(&reader).await.unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(["import", file.to_str().unwrap(), "--batch", "10"])
        .env("DATABASE_URL", db.url())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut before_kill = 0;
    for _ in 0..2000 {
        before_kill = count().await;
        if before_kill > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left = count().await;
    assert!(left >= before_kill && left % 10 == 0, "whole batches only: {left}");
    eprintln!("killed with {left} of 4000 revisions written");

    let resumed = palimpsest(&db.url(), &["import", file.to_str().unwrap()]);
    let report = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{report}");
    assert!(report.contains(&format!("imported {} revisions", 4000 - left)), "{report}");
    assert!(report.contains(&format!("{left} already stored")), "{report}");
    assert_eq!(count().await, 4000);
    let verified = palimpsest(&db.url(), &["verify", "--no-signatures"]);
    assert!(verified.status.success(), "{}", String::from_utf8_lossy(&verified.stdout));
    std::fs::remove_file(&file).ok();
}

/// The README's examples, run in order against a fresh `palimpsest serve` as a new user would
/// (`tests/readme/run_readme.py` says how): each command succeeds and prints what the README
/// says it prints.
#[test]
#[cfg_attr(
    any(palimpsest_no_shell_tools, palimpsest_no_node),
    ignore = "needs bash, curl, jq, sha256sum, xxd, patch, node and npm"
)]
fn the_readme_examples_run_as_written() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/readme/run_readme.py");
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_palimpsest"))
        .output()
        .unwrap();
    let transcript = String::from_utf8_lossy(&output.stdout);
    println!("{transcript}");
    assert!(
        output.status.success(),
        "{}\n{}",
        transcript
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A newcomer's first commands, run in the wrong folder or piped: `verify` creates nothing,
/// output carries no log lines unless asked (`-v`), and a reader that stops early (`| head`)
/// ends the command quietly.
#[tokio::test]
async fn commands_create_nothing_by_mistake_log_only_when_asked_and_stop_quietly_on_a_closed_pipe()
{
    let db = TempDb::new();
    let verify = palimpsest(&db.url(), &["verify", "--no-signatures"]);
    assert_eq!(verify.status.code(), Some(2), "{}", stderr(&verify));
    assert!(stderr(&verify).contains("there is no database at"), "{}", stderr(&verify));
    assert!(!db.0.exists(), "verify created no database file");

    let seed = palimpsest(&db.url(), &["seed"]);
    assert!(seed.status.success());
    assert!(!stderr(&seed).contains("INFO"), "no log lines by default: {}", stderr(&seed));
    // (`-v` brings them back: `logs_carry_no_colour_codes_when_not_on_a_terminal`.)
    let store = Store::new(store::connect(&db.url()).await.unwrap(), StoreLimits::default());
    let author = store
        .create_agent(&store::AgentName::parse("Ada").unwrap(), store::AgentKind::Person, None)
        .await
        .unwrap();
    store
        .create_document(
            CreateDocument {
                slug: Slug::parse("long").unwrap(),
                kind: store::DocumentKind::Article,
                title: Title::parse("A long document").unwrap(),
                content: "A line of the long document.\n".repeat(20_000),
                message: Message::parse("far longer than a pipe holds").unwrap(),
                source: None,
                placement: palimpsest::store::Placement::PUBLIC,
            },
            &store::Actor::agent(author.id),
        )
        .await
        .unwrap();

    // An export far larger than a pipe holds, read 100 bytes of: it ends, without a panic.
    let mut export = Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .arg("export")
        .env("DATABASE_URL", db.url())
        .env_remove("RUST_LOG")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    std::io::Read::read_exact(export.stdout.as_mut().unwrap(), &mut first).unwrap();
    drop(export.stdout.take());
    let ended = export.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&ended.stderr);
    assert!(ended.status.success(), "{said}");
    assert!(!said.contains("panicked") && !said.contains("Broken pipe"), "{said}");
}

/// The operator manages collections at the command line, each change audited; an export
/// carries every collection and each document's placement, an import places each document as
/// the archive says, and a document whose collection is nowhere is refused, not made public.
#[test]
fn collections_are_managed_at_the_command_line_and_travel_in_archives() {
    use palimpsest::store::{Timestamp, Viewer};
    let db = TempDb::new();
    let url = db.url();
    assert!(palimpsest(&url, &["seed"]).status.success());
    let ok = |args: &[&str]| {
        let output = palimpsest(&url, args);
        assert!(output.status.success(), "{args:?}: {}", stderr(&output));
        stderr(&output)
    };
    ok(&["token", "create", "--agent", "Desk Member", "--role", "reader"]);
    let said = ok(&["collection", "create", "drafts", "--name", "Newsroom drafts", "--restricted"]);
    assert!(said.contains("created restricted collection drafts"), "{said}");
    let said =
        ok(&["collection", "add-member", "drafts", "--agent", "Desk Member", "--role", "editor"]);
    assert!(said.contains("is in drafts as editor"), "{said}");
    let slug = "reading-note-security-chiefs-appeal";
    ok(&["collection", "move", slug, "drafts"]);
    let said = ok(&[
        "collection",
        "embargo",
        "ex-security-chiefs-urge-trump-to-end-gaza-war",
        "--until",
        "2999-01-01T00:00:00Z",
    ]);
    assert!(said.contains("embargoed until 2999-01-01"), "{said}");
    let listed = stdout(&palimpsest(&url, &["collection", "list"]));
    assert!(listed.contains("drafts") && listed.contains("restricted"), "{listed}");
    let shown = stdout(&palimpsest(&url, &["collection", "show", "drafts"]));
    assert!(shown.contains("editor") && shown.contains("Desk Member"), "{shown}");
    let refused = palimpsest(&url, &["collection", "visibility", "public", "restricted"]);
    assert!(!refused.status.success(), "the public collection stays public");
    let refused = palimpsest(&url, &["collection", "create", "drafts", "--name", "Again"]);
    assert!(
        !refused.status.success() && stderr(&refused).contains("drafts"),
        "{}",
        stderr(&refused)
    );

    // Exported whole (the command line reads everything), imported as it was.
    let archive = db.0.with_extension("jsonl");
    ok(&["export", "--output", archive.to_str().unwrap()]);
    let text = std::fs::read_to_string(&archive).unwrap();
    assert!(text.lines().next().unwrap().contains("\"type\":\"collection\""), "collections first");
    assert!(text.contains("\"publish_at\":\"2999-01-01T00:00:00.000000Z\""));
    let copy = TempDb::new();
    assert!(palimpsest(&copy.url(), &["migrate"]).status.success());
    let imported = palimpsest(&copy.url(), &["import", archive.to_str().unwrap()]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = store::connect(&copy.url()).await.unwrap();
        let store = Store::new(db, StoreLimits::default());
        let anyone = Viewer::public(Timestamp::now());
        for hidden in [slug, "ex-security-chiefs-urge-trump-to-end-gaza-war"] {
            let slug = Slug::parse(hidden).unwrap();
            assert!(
                store.document_with_slug(&anyone, &slug).await.is_err(),
                "{hidden} stays hidden"
            );
            assert!(store.document_with_slug(&Viewer::everything(), &slug).await.is_ok());
        }
    });

    // Without its collection line, the placed document is refused, and the rest imported.
    let without: String = text
        .lines()
        .filter(|l| !l.contains("\"type\":\"collection\""))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(&archive, without).unwrap();
    let bare = TempDb::new();
    assert!(palimpsest(&bare.url(), &["migrate"]).status.success());
    let imported = palimpsest(&bare.url(), &["import", archive.to_str().unwrap()]);
    assert_eq!(imported.status.code(), Some(1), "{}", stderr(&imported));
    let said = stderr(&imported);
    assert!(said.contains("neither in the archive") && said.contains("collection"), "{said}");
    runtime.block_on(async {
        let db = store::connect(&bare.url()).await.unwrap();
        let store = Store::new(db, StoreLimits::default());
        let anyone = Viewer::public(Timestamp::now());
        let refused = Slug::parse(slug).unwrap();
        assert!(
            store.document_with_slug(&Viewer::everything(), &refused).await.is_err(),
            "not written"
        );
        let kept = Slug::parse("ex-security-chiefs-urge-trump-to-end-gaza-war").unwrap();
        assert!(store.document_with_slug(&anyone, &kept).await.is_err(), "still embargoed");
    });
    let _ = std::fs::remove_file(&archive);
}
