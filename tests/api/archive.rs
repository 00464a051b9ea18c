//! Archives (`palimpsest export` / `palimpsest import`): a corpus exported and imported into
//! an empty store comes back byte for byte, with every hash checked by an independent
//! verifier; bad lines are refused with their numbers and nothing of their documents is
//! written; an interrupted import resumes without duplicating anything.

use palimpsest::archive::import::{ImportOptions, ImportReport, import};
use palimpsest::archive::{AgentRecord, Record, RevisionRecord};
use palimpsest::store::Store;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, spawn_app};

crate::on_both_backends!(
    #[cfg_attr(
        any(palimpsest_no_rfc8785, palimpsest_no_jsonschema),
        ignore = "needs python3 with rfc8785 and jsonschema (the independent archive verifier)"
    )]
    an_export_imported_into_an_empty_store_comes_back_byte_for_byte,
    each_kind_of_bad_line_is_refused_with_its_number_and_nothing_of_its_document,
    #[cfg_attr(
        any(palimpsest_no_rfc8785, palimpsest_no_jsonschema),
        ignore = "needs python3 with rfc8785 and jsonschema (the independent archive verifier)"
    )]
    an_interrupted_import_resumes_without_duplicating_anything,
    #[cfg_attr(palimpsest_no_ocfl_validator, ignore = "needs ocfl-py's ocfl-validate.py")]
    an_ocfl_export_is_a_valid_storage_root_with_each_revision_a_version,
    a_byte_order_mark_is_read_past_and_what_is_not_an_archive_stops_at_once,
    an_import_extending_a_history_closes_each_dropped_paragraph_at_its_number,
);

const OPTIONS: ImportOptions =
    ImportOptions { batch: 3, batch_bytes: 1 << 20, max_line_bytes: 1 << 20, progress: false };

pub(crate) async fn export_of(store: &Store) -> Vec<u8> {
    let mut out = Vec::new();
    palimpsest::archive::export::export(store, None, &mut out).await.unwrap();
    out
}

/// A file holding `bytes`, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn with(bytes: &[u8]) -> Self {
        let path = std::env::temp_dir()
            .join(format!("palimpsest-archive-{}.jsonl", uuid::Uuid::now_v7().simple()));
        std::fs::write(&path, bytes).unwrap();
        Self(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

pub(crate) async fn import_bytes(store: &Store, bytes: &[u8]) -> ImportReport {
    let file = TempFile::with(bytes);
    import(store, &file.0, OPTIONS).await.unwrap()
}

/// `docs/verify_archive.py` on `bytes` (every hash and chain, by an independent RFC 8785
/// implementation), and every line against `docs/archive.schema.json` (by the `jsonschema`
/// package). The tests that call it are ignored where those are missing (`build.rs`).
pub(crate) fn independently_verified(bytes: &[u8]) {
    let file = TempFile::with(bytes);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_archive.py");
    let output = std::process::Command::new("python3").arg(script).arg(&file.0).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/archive.schema.json");
    let check = "import json, sys, jsonschema
validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for number, line in enumerate(open(sys.argv[2]), start=1):
    for error in validator.iter_errors(json.loads(line)):
        sys.exit(f'line {number}: {error.message}')";
    let output = std::process::Command::new("python3")
        .args(["-c", check, schema])
        .arg(&file.0)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// A small corpus through the API: two documents, two authors, a source, several revisions.
async fn small_corpus(app: &TestApp) {
    let first = app.editor().await;
    let second = app.token("Second Editor", palimpsest::store::Role::Editor).await;
    let source = app
        .query_as(
            Some(&first),
            "mutation($i: CreateSourceInput!) { createSource(input: $i) { source { id } } }",
            json!({ "i": { "kind": "WEB_PAGE", "url": "https://news.example/a",
                           "publisher": "The Daily Harbor", "authors": ["Ada Brandt"],
                           "retrievedAt": "2024-01-01T00:00:00Z" } }),
        )
        .await;
    assert_no_errors(&source);
    for (slug, token) in [("first", &first), ("second", &second)] {
        let created = app.create_document(token, slug, "One line.\n").await;
        let id = created["document"]["id"].as_str().unwrap().to_owned();
        let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
        for n in 2..=4 {
            let who = if n % 2 == 0 { &second } else { &first };
            let body = app.revise(who, &id, &head, &format!("One line.\nLine {n} — é\n")).await;
            assert_no_errors(&body);
            head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().into();
        }
    }
}

async fn an_export_imported_into_an_empty_store_comes_back_byte_for_byte(app: TestApp) {
    small_corpus(&app).await;
    let exported = export_of(&app.store).await;
    independently_verified(&exported);

    let empty = spawn_app(app.backend).await.unwrap();
    let report = import_bytes(&empty.store, &exported).await;
    assert!(report.refusals.is_empty(), "{:?}", report.refusals);
    assert_eq!((report.revisions, report.documents, report.present), (8, 2, 0));
    assert_eq!(export_of(&empty.store).await, exported, "the same records, byte for byte");
    assert_eq!(empty.corpus_size().await, (2, 8));

    // Served as the original serves it, hashes and all.
    let query = "{ document(slug: \"second\") { head { hash number header author { name } } } }";
    assert_eq!(empty.query(query, json!({})).await, app.query(query, json!({})).await);

    // Indexed for search as the writes indexed the original: the same paragraphs, standing in
    // the same revisions (a batch closes what its own later revisions dropped).
    let search = r#"{ search(query: "line", scope: HISTORY, first: 100) { edges { node {
        document { slug } since { number } until { number } field snippet ranges { start end } } } } }"#;
    let found = |body: Value| {
        let mut hits: Vec<String> = body["data"]["search"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"].to_string())
            .collect();
        hits.sort();
        hits
    };
    let original = found(app.query(search, json!({})).await);
    assert_eq!(original.len(), 8, "{original:#?}");
    assert_eq!(found(empty.query(search, json!({})).await), original);
}

/// The lines of an archive built by hand: one agent, then revisions of documents numbered by
/// the caller, each with its hash computed as the store computes it.
pub(crate) struct Archive {
    lines: Vec<String>,
    agent: String,
}

impl Archive {
    pub(crate) fn new() -> Self {
        let agent = uuid::Uuid::now_v7().to_string();
        let record = Record::Agent(AgentRecord {
            id: agent.clone(),
            name: "Archivist".into(),
            kind: "person".into(),
            created_at: "2020-01-01T00:00:00.000000Z".into(),
        });
        Self { lines: vec![serde_json::to_string(&record).unwrap()], agent }
    }

    /// A revision of `document` (a UUID), as its own line; returns its hash.
    fn revision(
        &self,
        document: &str,
        slug: &str,
        number: i64,
        parent: Option<&str>,
        minute: u32,
    ) -> RevisionRecord {
        let mut record = RevisionRecord {
            document: document.into(),
            slug: slug.into(),
            kind: "article".into(),
            number,
            hash: None,
            parent: parent.map(str::to_owned),
            title: format!("Title of {slug}"),
            message: format!("revision {number}"),
            author: self.agent.clone(),
            source: None,
            created_at: format!("2021-01-01T00:{minute:02}:00.000000Z"),
            content_sha256: None,
            content: Some(format!("Text of {slug}, revision {number}.\n")),
            redacted: false,
            collection: None,
            publish_at: None,
        };
        let hash = record.clone().parse().unwrap().hash().clone();
        record.hash = Some(hash.to_string());
        record
    }

    /// Appends `record`; returns its line number.
    fn push(&mut self, record: &RevisionRecord) -> u64 {
        self.lines.push(serde_json::to_string(&Record::Revision(record.clone())).unwrap());
        self.lines.len() as u64
    }

    /// A document of `revisions` good revisions; returns the records.
    pub(crate) fn history(&mut self, slug: &str, revisions: i64) -> Vec<RevisionRecord> {
        let document = uuid::Uuid::now_v7().to_string();
        let mut records: Vec<RevisionRecord> = Vec::new();
        for number in 1..=revisions {
            let parent = records.last().and_then(|r| r.hash.clone());
            let record = self.revision(&document, slug, number, parent.as_deref(), number as u32);
            self.push(&record);
            records.push(record);
        }
        records
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        (self.lines.join("\n") + "\n").into_bytes()
    }
}

async fn each_kind_of_bad_line_is_refused_with_its_number_and_nothing_of_its_document(
    app: TestApp,
) {
    let token = app.editor().await;
    app.create_document(&token, "taken", "Already here.\n").await;
    let mut archive = Archive::new();
    archive.history("good", 2);
    let mut expected = Vec::new();
    let mut bad = |archive: &mut Archive, slug: &str, spoil: &dyn Fn(&mut RevisionRecord)| {
        let document = uuid::Uuid::now_v7().to_string();
        let first = archive.revision(&document, slug, 1, None, 1);
        archive.push(&first);
        let mut second = archive.revision(&document, slug, 2, first.hash.as_deref(), 2);
        spoil(&mut second);
        let line = archive.push(&second);
        // A good line after the bad one is refused with its document.
        let third = archive.revision(&document, slug, 3, second.hash.as_deref(), 3);
        expected.push((line, slug.to_owned()));
        expected.push((archive.push(&third), slug.to_owned()));
    };
    bad(&mut archive, "wrong-content-hash", &|r| r.content_sha256 = Some("0".repeat(64)));
    bad(&mut archive, "wrong-hash", &|r| r.hash = Some("a".repeat(64)));
    bad(&mut archive, "wrong-parent", &|r| r.parent = Some("b".repeat(64)));
    bad(&mut archive, "time-backwards", &|r| {
        r.created_at = "2021-01-01T00:01:00.000000Z".into();
        r.hash = None;
    });
    bad(&mut archive, "number-gap", &|r| {
        r.number = 3;
        r.hash = None;
    });
    bad(&mut archive, "unknown-author", &|r| {
        r.author = uuid::Uuid::now_v7().to_string();
        r.hash = None;
    });
    bad(&mut archive, "bad-title", &|r| r.title = String::new());
    bad(&mut archive, "nul-text", &|r| {
        r.content = Some("a\0b".into());
        r.content_sha256 = None;
    });
    let document = uuid::Uuid::now_v7().to_string();
    let taken = archive.revision(&document, "taken", 1, None, 1);
    let taken_line = archive.push(&taken);
    archive.lines.push("{ not json".into());
    let junk_line = archive.lines.len() as u64;
    archive.history("also-good", 3);

    let report = import_bytes(&app.store, &archive.bytes()).await;
    let refused: Vec<(u64, Option<String>)> =
        report.refusals.iter().map(|r| (r.line, r.document.map(|d| d.to_string()))).collect();
    eprintln!("{:#?}", report.refusals);
    for (line, slug) in &expected {
        assert!(refused.iter().any(|(l, d)| l == line && d.is_some()), "line {line} ({slug})");
    }
    assert!(refused.contains(&(taken_line, Some(document))), "the taken slug");
    assert!(refused.contains(&(junk_line, None)), "the line that is not JSON");
    assert_eq!(report.refused_documents, 9);
    assert_eq!(report.refusals.len(), expected.len() + 2);
    assert_eq!((report.documents, report.revisions), (2, 5), "only the good documents");
    // The corpus holds the good documents, and not one revision of the refused ones.
    assert_eq!(app.corpus_size().await, (3, 6));
    let slugs = app.query("{ documents(first: 20) { nodes { slug } } }", json!({})).await;
    let mut slugs: Vec<&str> = slugs["data"]["documents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["slug"].as_str().unwrap())
        .collect();
    slugs.sort();
    assert_eq!(slugs, ["also-good", "good", "taken"]);
}

async fn an_interrupted_import_resumes_without_duplicating_anything(app: TestApp) {
    let mut archive = Archive::new();
    for i in 0..4 {
        archive.history(&format!("doc-{i}"), 5);
    }
    // Interleave the histories, as an archive in commit order does, then stop half-way.
    let header = archive.lines[0].clone();
    let mut revisions: Vec<String> = archive.lines[1..].to_vec();
    revisions.sort_by_key(|line| {
        let record: serde_json::Value = serde_json::from_str(line).unwrap();
        (record["number"].as_i64().unwrap(), record["slug"].as_str().unwrap().to_owned())
    });
    let full: Vec<String> = std::iter::once(header).chain(revisions).collect();
    let whole = (full.join("\n") + "\n").into_bytes();
    let half = (full[..11].join("\n") + "\n").into_bytes();

    let first = import_bytes(&app.store, &half).await;
    assert!(first.refusals.is_empty(), "{:?}", first.refusals);
    assert_eq!(first.revisions, 10);
    let again = import_bytes(&app.store, &whole).await;
    assert!(again.refusals.is_empty(), "{:?}", again.refusals);
    assert_eq!((again.present, again.revisions), (10, 10));
    let once_more = import_bytes(&app.store, &whole).await;
    assert_eq!((once_more.present, once_more.revisions), (20, 0));
    assert_eq!(app.corpus_size().await, (4, 20));
    let exported = export_of(&app.store).await;
    independently_verified(&exported);
}

/// A stored document extended by several revisions in one batch, each dropping one of the
/// stored paragraphs: the search index closes each at the revision that dropped it (the
/// batch closes them together, each paired with its own number).
async fn an_import_extending_a_history_closes_each_dropped_paragraph_at_its_number(app: TestApp) {
    let mut archive = Archive::new();
    let document = uuid::Uuid::now_v7().to_string();
    let texts = [
        "Alpha stood.\nBravo stood.\nCharlie stood.\n",
        "Bravo stood.\nCharlie stood.\n",
        "Charlie stood.\n",
        "Delta stood.\n",
    ];
    let mut parent: Option<String> = None;
    for (number, text) in (1..).zip(texts) {
        let mut record =
            archive.revision(&document, "dropped", number, parent.as_deref(), number as u32);
        record.content = Some(text.to_owned());
        record.hash = None;
        let hash = record.clone().parse().unwrap().hash().clone();
        record.hash = Some(hash.to_string());
        archive.push(&record);
        parent = record.hash;
    }
    let first = (archive.lines[..2].join("\n") + "\n").into_bytes();
    assert_eq!(import_bytes(&app.store, &first).await.revisions, 1);
    // OPTIONS' batches hold three revisions: the other three are one batch.
    assert_eq!(import_bytes(&app.store, &archive.bytes()).await.revisions, 3);
    let search = "query($q: String!) { search(query: $q, scope: HISTORY) {
        nodes { since { number } until { number } } } }";
    for (word, until) in [("alpha", json!(2)), ("bravo", json!(3)), ("charlie", json!(4))] {
        let body = app.query(search, json!({ "q": word })).await;
        assert_no_errors(&body);
        let found = body["data"]["search"]["nodes"].as_array().unwrap();
        assert_eq!(found.len(), 1, "{word}: {body}");
        assert_eq!(found[0]["since"]["number"], 1, "{word}");
        assert_eq!(found[0]["until"]["number"], until, "{word}");
    }
}

async fn an_ocfl_export_is_a_valid_storage_root_with_each_revision_a_version(app: TestApp) {
    use palimpsest::archive::ocfl::export_ocfl;
    use sha2::Digest;
    small_corpus(&app).await;
    let root = std::env::temp_dir().join(format!("palimpsest-ocfl-{}", uuid::Uuid::now_v7()));
    let counts = export_ocfl(&app.store, None, &root).await.unwrap();
    assert_eq!((counts.objects, counts.versions), (2, 8));

    // Each version holds the header whose SHA-256 is the revision hash its message names,
    // and the text; an unchanged text is stored once.
    let inventory: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("second/inventory.json")).unwrap())
            .unwrap();
    assert_eq!(inventory["head"], "v4");
    let head =
        app.query("{ document(slug: \"second\") { id head { hash content } } }", json!({})).await;
    let v4 = &inventory["versions"]["v4"];
    assert!(
        v4["message"]
            .as_str()
            .unwrap()
            .contains(head["data"]["document"]["head"]["hash"].as_str().unwrap())
    );
    assert!(v4["user"]["address"].as_str().unwrap().starts_with("urn:uuid:"));
    let file_of = |logical: &str| {
        let (digest, _) =
            v4["state"].as_object().unwrap().iter().find(|(_, paths)| paths[0] == logical).unwrap();
        let path = inventory["manifest"][digest][0].as_str().unwrap();
        std::fs::read(root.join("second").join(path)).unwrap()
    };
    assert_eq!(
        hex::encode(sha2::Sha256::digest(file_of("header.json"))),
        head["data"]["document"]["head"]["hash"].as_str().unwrap()
    );
    assert_eq!(
        String::from_utf8(file_of("content.txt")).unwrap(),
        head["data"]["document"]["head"]["content"].as_str().unwrap()
    );

    // ocfl-py's validator accepts it.
    let output = std::process::Command::new("ocfl-validate.py")
        .arg(&root)
        .output()
        .expect("ocfl-py's ocfl-validate.py runs");
    assert!(
        output.status.success() && !String::from_utf8_lossy(&output.stdout).contains("ERROR"),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // A storage root is only ever written new.
    let again = export_ocfl(&app.store, None, &root).await.unwrap_err();
    assert!(again.to_string().contains("is not empty"), "{again}");
    std::fs::remove_dir_all(&root).unwrap();
}

/// An archive saved with a byte order mark (as some editors save UTF-8) imports as without it;
/// a file that is not JSON Lines at all (a NUL byte, which no JSON text holds; a line that
/// never ends; `/dev/zero`) stops the import at once with the line and why, writing nothing.
async fn a_byte_order_mark_is_read_past_and_what_is_not_an_archive_stops_at_once(app: TestApp) {
    let mut archive = Archive::new();
    archive.history("marked", 2);
    let mut marked = b"\xEF\xBB\xBF".to_vec();
    marked.extend(archive.bytes());
    let report = import_bytes(&app.store, &marked).await;
    assert!(report.refusals.is_empty(), "{:#?}", report.refusals);
    assert_eq!((report.documents, report.revisions), (1, 2));

    let before = app.corpus_size().await;
    let mut binary = archive.bytes();
    binary.extend_from_slice(b"\x00\x01\x02 binary\n");
    let unending = vec![b'x'; 17 << 20];
    for (what, bytes, says) in [
        ("binary", binary, "line 4 holds a NUL byte"),
        ("unending", unending, "line 1 does not end within"),
    ] {
        let file = TempFile::with(&bytes);
        let err = import(&app.store, &file.0, OPTIONS).await.unwrap_err();
        assert!(err.to_string().contains(says), "{what}: {err:#}");
        assert!(err.to_string().contains("not a JSON Lines archive"), "{what}: {err:#}");
    }
    let started = std::time::Instant::now();
    let err = import(&app.store, std::path::Path::new("/dev/zero"), OPTIONS).await.unwrap_err();
    assert!(err.to_string().contains("line 1 holds a NUL byte"), "{err:#}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert_eq!(app.corpus_size().await, before, "nothing was written");
}

/// On SQLite a bulk import stops the search indexes merging as each batch adds a segment, and
/// merges them once at its end: what it wrote is found, each index is one segment, and later
/// writes merge again (FTS5's `automerge`). Its batches leave the heads' index alone, which
/// its end builds from the documents' newest texts. A store that an import left so, because
/// it stopped before its end, builds the heads' index and merges again once migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_bulk_import_merges_its_search_indexes_once_and_writes_merge_again() {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_schema(crate::helpers::Backend::Sqlite).await.unwrap();
    let mut archive = Archive::new();
    let mut merged3 = Vec::new();
    for i in 0..6 {
        let records = archive.history(&format!("merged{i}"), 8);
        if i == 3 {
            merged3 = records;
        }
    }
    // Three revisions a batch: sixteen write transactions.
    let report = import_bytes(&app.store, &archive.bytes()).await;
    assert_eq!(report.revisions, 48);

    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let one = |sql: String| {
        let db = &db;
        async move {
            let row =
                db.query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql));
            row.await.unwrap().map(|row| row.try_get_by_index::<i64>(0).unwrap())
        }
    };
    let automerge =
        |table: &'static str| one(format!("SELECT v FROM {table}_config WHERE k = 'automerge'"));
    for table in ["search_passages_fts", "search_heads_fts"] {
        let segments = one(format!("SELECT COUNT(DISTINCT segid) FROM {table}_idx")).await;
        assert_eq!(segments, Some(1), "{table} merged into one segment");
        assert_eq!(automerge(table).await, Some(4), "{table} merges as it is written again");
    }
    let found = app
        .query(
            "{ search(query: \"merged3\", scope: HISTORY, first: 20) \
             { edges { node { document { slug } } } } }",
            serde_json::json!({}),
        )
        .await;
    crate::helpers::assert_no_errors(&found);
    // Its eight texts, each a paragraph of its own, and its title, the same in all eight.
    let hits = found["data"]["search"]["edges"].as_array().unwrap();
    assert_eq!(hits.len(), 8 + 1, "{found}");
    assert!(hits.iter().all(|hit| hit["node"]["document"]["slug"] == "merged3"), "{found}");
    // The heads' index, which the batches left alone and the import's end built: the title and
    // the newest text, at the head.
    let heads = || async {
        let found = app
            .query(
                "{ search(query: \"merged3\", scope: HEADS, first: 20) \
                 { edges { node { document { slug } revision { number } field } } } }",
                serde_json::json!({}),
            )
            .await;
        crate::helpers::assert_no_errors(&found);
        let mut hits: Vec<(String, i64)> = found["data"]["search"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                assert_eq!(e["node"]["document"]["slug"], "merged3", "{found}");
                let field = e["node"]["field"].as_str().unwrap().to_owned();
                (field, e["node"]["revision"]["number"].as_i64().unwrap())
            })
            .collect();
        hits.sort();
        hits
    };
    let built = vec![("TEXT".to_owned(), 8), ("TITLE".to_owned(), 8)];
    assert_eq!(heads().await, built);

    // As an import that stopped before its end leaves it: not merging, the heads' index not
    // built.
    db.execute_unprepared(
        "INSERT INTO search_heads_fts(search_heads_fts, rank) VALUES ('automerge', 0)",
    )
    .await
    .unwrap();
    db.execute_unprepared("INSERT INTO search_heads_fts(search_heads_fts) VALUES ('delete-all')")
        .await
        .unwrap();
    palimpsest::store::migrate(&db).await.unwrap();
    assert_eq!(automerge("search_heads_fts").await, Some(4));
    assert_eq!(heads().await, built, "the heads' index is built again");

    // A write takes the paragraph it closes out of the heads' index (not only out of what
    // searches show, which also ask that the paragraph be open).
    let in_heads_index = || {
        one("SELECT COUNT(*) FROM search_heads_fts WHERE search_heads_fts MATCH 'merged3'".into())
    };
    assert_eq!(in_heads_index().await, Some(2));
    let token = app.editor().await;
    let head = merged3.last().unwrap();
    let revised =
        app.revise(&token, &head.document, head.hash.as_deref().unwrap(), "Other words.\n").await;
    crate::helpers::assert_no_errors(&revised);
    assert_eq!(in_heads_index().await, Some(1), "only the title is left");
}

/// The relations `sql` names (name, then file number), in its order: a rewrite or rebuild
/// gives a relation a new file.
async fn relation_files(db: &sea_orm::DatabaseConnection, sql: &str) -> Vec<(String, i64)> {
    use sea_orm::ConnectionTrait;
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap();
    rows.iter()
        .map(|row| (row.try_get_by_index::<String>(0).unwrap(), row.try_get_by_index(1).unwrap()))
        .collect()
}

/// On SQLite a paused import's batches leave their new paragraphs out of the heads' index but
/// take out of it the stored ones they close, so that it never holds a closed paragraph; the
/// import's end puts the new ones in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_a_paused_import_takes_what_it_closes_out_of_the_heads_index() {
    use sea_orm::ConnectionTrait;
    let app = crate::helpers::spawn_schema(crate::helpers::Backend::Sqlite).await.unwrap();
    let mut archive = Archive::new();
    let prior = archive.history("prior", 2);
    import_bytes(&app.store, &archive.bytes()).await;
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let in_heads = |word: &'static str| {
        let db = &db;
        async move {
            let sql = format!(
                "SELECT COUNT(*) FROM search_heads_fts WHERE search_heads_fts MATCH '{word}'"
            );
            let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
            let row = db.query_one_raw(statement).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    // Its title and its newest text.
    assert_eq!(in_heads("prior").await, 2);

    let paused = app.store.pause_index_merges(100).await.unwrap().expect("paused");
    let third = archive.revision(&prior[0].document, "prior", 3, prior[1].hash.as_deref(), 3);
    let fresh = archive.revision(&uuid::Uuid::now_v7().to_string(), "fresh", 1, None, 1);
    let fresh_hash = fresh.hash.clone();
    let batch = palimpsest::store::ImportBatch {
        agents: Vec::new(),
        sources: Vec::new(),
        revisions: vec![third.parse().unwrap(), fresh.clone().parse().unwrap()],
    };
    app.store.import_batch(batch, Some(&paused)).await.unwrap();
    assert_eq!(in_heads("prior").await, 1, "the closed text is out, the title stays");
    assert_eq!(in_heads("fresh").await, 0, "new paragraphs wait for the end");

    // A `migrate` meanwhile (a server started) builds the index whole; the next batch takes out
    // what it closes of that too.
    palimpsest::store::migrate(&db).await.unwrap();
    assert_eq!(in_heads("fresh").await, 2);
    let second = archive.revision(&fresh.document, "fresh", 2, fresh_hash.as_deref(), 2);
    let batch = palimpsest::store::ImportBatch {
        agents: Vec::new(),
        sources: Vec::new(),
        revisions: vec![second.parse().unwrap()],
    };
    app.store.import_batch(batch, Some(&paused)).await.unwrap();
    assert_eq!(in_heads("fresh").await, 1, "its first text is out, the second waits");
    app.store.resume_index_merges(paused).await.unwrap();
    assert_eq!(in_heads("prior").await, 2);
    assert_eq!(in_heads("fresh").await, 2);
}

/// On PostgreSQL a bulk import that outgrows the store drops the search's word (GIN) indexes
/// while it writes and builds them once at its end: they are new indexes afterwards, and what
/// it wrote is found through them. A store an import left without them, because it stopped
/// before its end, gets them back once migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
async fn on_postgres_a_bulk_import_builds_the_word_indexes_once_at_its_end() {
    use sea_orm::ConnectionTrait;
    let app =
        crate::helpers::spawn_schema(crate::helpers::Backend::Postgres).await.expect("PostgreSQL");
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let indexes = || {
        relation_files(
            &db,
            "SELECT relname::text, oid::bigint FROM pg_class \
             WHERE relname IN ('search_passages_tsv', 'search_passages_heads_tsv') ORDER BY 1",
        )
    };
    let before = indexes().await;
    assert_eq!(before.len(), 2, "{before:?}");
    let mut archive = Archive::new();
    let mut indexed = Vec::new();
    for i in 0..6 {
        let records = archive.history(&format!("indexed{i}"), 8);
        if i == 3 {
            indexed = records;
        }
    }
    import_bytes(&app.store, &archive.bytes()).await;
    let after = indexes().await;
    assert_eq!(after.len(), 2, "{after:?}");
    assert!(before.iter().zip(&after).all(|(was, now)| was.1 != now.1), "built anew: {after:?}");
    let found = |scope: &'static str| {
        let app = &app;
        async move {
            let body = app
                .query(
                    &format!(
                        "{{ search(query: \"indexed3\", scope: {scope}, first: 20) \
                         {{ edges {{ node {{ revision {{ number }} field }} }} }} }}"
                    ),
                    serde_json::json!({}),
                )
                .await;
            crate::helpers::assert_no_errors(&body);
            body["data"]["search"]["edges"].as_array().unwrap().len()
        }
    };
    // The title and the newest text; the title and eight texts in the history.
    assert_eq!(found("HEADS").await, 2);
    assert_eq!(found("HISTORY").await, 9);
    // Each of the sixteen partitions has both, valid.
    let partitions = || {
        let db = &db;
        let sql = "SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                   JOIN pg_am a ON a.oid = c.relam JOIN pg_inherits h ON h.inhrelid = i.indrelid \
                   WHERE h.inhparent = 'search_passages'::regclass AND a.amname = 'gin' \
                   AND i.indisvalid";
        let statement = sea_orm::Statement::from_string(db.get_database_backend(), sql);
        async move {
            let row = db.query_one_raw(statement).await.unwrap().unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    assert_eq!(partitions().await, 32);

    // As an import that stopped before its end leaves it.
    db.execute_unprepared("DROP INDEX search_passages_tsv, search_passages_heads_tsv")
        .await
        .unwrap();
    palimpsest::store::migrate(&db).await.unwrap();
    assert_eq!(indexes().await.len(), 2, "built again");
    assert_eq!(partitions().await, 32);
    assert_eq!(found("HEADS").await, 2);
    // The store still takes writes that close paragraphs in them.
    let token = app.editor().await;
    let head = indexed.last().unwrap();
    let revised =
        app.revise(&token, &head.document, head.hash.as_deref().unwrap(), "Other words.\n").await;
    crate::helpers::assert_no_errors(&revised);
    assert_eq!(found("HEADS").await, 1, "only the title is left");
}

/// On PostgreSQL a bulk import ends by rewriting each partition of the search index, which
/// gives back the space its closed paragraphs' old row versions took; a partition whose lock a
/// reader holds past the rewrite's lock timeout is left as it is, and what was imported is
/// found either way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
async fn on_postgres_compacting_rewrites_each_search_partition_but_a_busy_one() {
    use sea_orm::{ConnectionTrait, TransactionTrait};
    let app =
        crate::helpers::spawn_schema(crate::helpers::Backend::Postgres).await.expect("PostgreSQL");
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let files = || {
        relation_files(
            &db,
            "SELECT c.relname, c.relfilenode::bigint FROM pg_inherits i \
             JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'search_passages'::regclass ORDER BY 1",
        )
    };
    let before = files().await;
    assert_eq!(before.len(), 16);
    let mut archive = Archive::new();
    for i in 0..6 {
        archive.history(&format!("compacted{i}"), 8);
    }
    import_bytes(&app.store, &archive.bytes()).await;
    let after = files().await;
    assert!(
        before.iter().zip(&after).all(|(was, now)| was.0 == now.0 && was.1 != now.1),
        "every partition rewritten: {before:?} then {after:?}"
    );

    // A reader holding one partition through the rewrite's lock timeout (2 s).
    let busy = &after[3].0;
    let reader = db.begin().await.unwrap();
    reader.execute_unprepared(&format!("LOCK TABLE {busy} IN ACCESS SHARE MODE")).await.unwrap();
    palimpsest::store::compact(&db).await.unwrap();
    reader.commit().await.unwrap();
    let again = files().await;
    for ((name, was), (_, now)) in after.iter().zip(&again) {
        assert_eq!(name == busy, was == now, "{name}: only the busy partition is not rewritten");
    }

    // Given up halfway (while a rewrite waits for that lock): no connection goes back to the
    // pool without its statement timeout.
    let reader = db.begin().await.unwrap();
    reader.execute_unprepared(&format!("LOCK TABLE {busy} IN ACCESS SHARE MODE")).await.unwrap();
    let halfway = std::time::Duration::from_millis(1500);
    assert!(tokio::time::timeout(halfway, palimpsest::store::compact(&db)).await.is_err());
    reader.commit().await.unwrap();
    let pool = db.get_postgres_connection_pool();
    let mut held = Vec::new();
    for _ in 0..pool.size() {
        held.push(pool.acquire().await.unwrap());
    }
    for conn in &mut held {
        use sea_orm::sqlx::Row;
        let row =
            sea_orm::sqlx::query("SHOW statement_timeout").fetch_one(&mut **conn).await.unwrap();
        assert_ne!(row.get::<String, _>(0), "0", "a connection kept maintenance's settings");
    }
    drop(held);
    let found = app
        .query(
            "{ search(query: \"compacted2\", scope: HISTORY, first: 20) { edges { node { document { slug } } } } }",
            serde_json::json!({}),
        )
        .await;
    crate::helpers::assert_no_errors(&found);
    assert_eq!(found["data"]["search"]["edges"].as_array().unwrap().len(), 8 + 1, "{found}");
}

/// On PostgreSQL a bulk import ends by rebuilding the indexes of the tables every read uses,
/// without blocking their readers. A rebuild that a reader holds up past the lock timeout
/// fails without failing the compaction; the invalid copies of indexes it leaves (which every
/// write would maintain) are dropped at once, or, if the reader still holds the table, at the
/// next start (`migrate`); and the next compaction rebuilds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
async fn on_postgres_compacting_rebuilds_the_read_tables_indexes_and_leaves_no_invalid_copy() {
    use sea_orm::{ConnectionTrait, IsolationLevel, TransactionTrait};
    let app =
        crate::helpers::spawn_schema(crate::helpers::Backend::Postgres).await.expect("PostgreSQL");
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    let count = |sql: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
                .await
                .unwrap()
                .unwrap();
            row.try_get_by_index::<i64>(0).unwrap()
        }
    };
    // The indexes' files: a rebuild gives each a new one.
    let files = || {
        relation_files(
            &db,
            "SELECT c.relname, c.relfilenode::bigint FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indexrelid \
             WHERE i.indrelid IN ('revisions'::regclass, 'documents'::regclass) ORDER BY 1",
        )
    };
    let invalid = "SELECT COUNT(*) FROM pg_index WHERE NOT indisvalid";
    let heads = "SELECT COUNT(*) FROM documents d JOIN revisions r ON r.hash = d.head_hash";
    let seeded = count(heads).await;
    let before = files().await;
    let mut archive = Archive::new();
    for i in 0..4 {
        archive.history(&format!("reindexed{i}"), 6);
    }
    import_bytes(&app.store, &archive.bytes()).await;
    let after = files().await;
    assert_eq!(before.len(), after.len());
    assert!(
        before.iter().zip(&after).all(|(was, now)| was.0 == now.0 && was.1 != now.1),
        "every index rebuilt: {before:?} then {after:?}"
    );

    // A reader whose snapshot is older than the rebuilds: each waits for it, and gives up.
    let reader = db.begin_with_config(Some(IsolationLevel::RepeatableRead), None).await.unwrap();
    reader.execute_unprepared("SELECT COUNT(*) FROM agents").await.unwrap();
    palimpsest::store::compact(&db).await.unwrap();
    assert_eq!(count(invalid).await, 0, "a failed rebuild left an invalid copy behind");
    assert_eq!(files().await, after, "rebuilt under a reader's older snapshot");
    reader.commit().await.unwrap();
    // A reader holding a lock on the tables, idle in its transaction, lets the rebuilds swap
    // their copies in but not drop the old ones, nor the copies' drops run: those go at the
    // next start (`migrate`), once it has let go.
    let reader = db.begin().await.unwrap();
    reader.execute_unprepared("SELECT COUNT(*) FROM revisions").await.unwrap();
    reader.execute_unprepared("SELECT COUNT(*) FROM documents").await.unwrap();
    palimpsest::store::compact(&db).await.unwrap();
    reader.commit().await.unwrap();
    palimpsest::store::migrate(&db).await.unwrap();
    assert_eq!(count(invalid).await, 0, "a failed rebuild's copies outlived a start");
    let names = |files: &[(String, i64)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&files().await), names(&after), "only the tables' own indexes are left");
    palimpsest::store::compact(&db).await.unwrap();
    let again = files().await;
    assert!(after.iter().zip(&again).all(|(was, now)| was.1 != now.1), "{again:?}");
    assert_eq!(count(invalid).await, 0);
    // Every head still found through the rebuilt indexes.
    assert_eq!(count(heads).await, seeded + 4);
}
