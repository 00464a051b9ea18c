//! Redaction end to end: the text goes from storage and from every answer, a tombstone says
//! who, when and why, and everything that proves the corpus (header, hashes, chain, log
//! proofs, verification) still holds.

use palimpsest::store::{ContentHash, Role};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code, sha256_hex};
use crate::rfc9162::{self, VerifierKey};

crate::on_both_backends!(
    a_redacted_text_is_gone_while_its_proofs_still_verify,
    a_text_another_revision_shares_is_kept_for_it,
    a_document_whose_head_was_redacted_stays_revisable,
    a_redacted_text_leaves_no_byte_of_itself_in_the_databases_files,
    a_text_kept_in_memory_is_not_served_once_another_process_redacted_it,
    a_revision_kept_in_memory_is_read_redacted_once_another_process_redacted_it,
);

const PRIVATE: &str = "Private address: 12 Elm Street.";

const REDACT: &str = "mutation($h: String!, $r: String!) {
  redactRevision(input: { hash: $h, reason: $r }) {
    revision { hash content redaction { reason redactedAt agent { name } } }
    redaction { reason }
  }
}";

async fn redact(app: &TestApp, archivist: &str, hash: &str) -> Value {
    let reason = "personal data (erasure request)";
    app.query_as(Some(archivist), REDACT, json!({ "h": hash, "r": reason })).await
}

/// How many stored texts still hold `needle`: every blob in the database, unpacked. A purged
/// text must also leave no frame behind, which the text it was a delta against could restore.
async fn texts_holding(app: &TestApp, needle: &str) -> i64 {
    let db = app.store.connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT sha256, packed IS NOT NULL AS framed, purged_at FROM blobs",
        ))
        .await
        .unwrap();
    let mut hashes = Vec::new();
    for row in rows {
        let hash: ContentHash = row.try_get("", "sha256").unwrap();
        let framed: bool = row.try_get("", "framed").unwrap();
        let purged: Option<i64> = row.try_get("", "purged_at").unwrap();
        assert!(!(framed && purged.is_some()), "a purged text keeps no frame");
        hashes.push(hash);
    }
    let texts = app.store.contents_by_hashes(&hashes).await.unwrap();
    texts.iter().filter(|(_, text)| text.contains(needle)).count() as i64
}

/// How many citations still quote `needle`: every citation in the database, as the store
/// reads it (the quotes are sealed in the columns).
async fn quotes_holding(app: &TestApp, needle: &str) -> i64 {
    let db = app.store.connection();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id FROM citations",
        ))
        .await
        .unwrap();
    let ids: Vec<palimpsest::store::CitationId> =
        rows.iter().map(|row| row.try_get::<uuid::Uuid>("", "id").unwrap().into()).collect();
    let citations =
        app.store.citations_by_ids(&palimpsest::store::Viewer::everything(), &ids).await.unwrap();
    assert_eq!(citations.len(), ids.len());
    citations
        .iter()
        .flat_map(|c| [&c.citing_passage, &c.target_passage])
        .flatten()
        .flat_map(|p| [&p.exact, &p.prefix, &p.suffix])
        .flatten()
        .filter(|quote| quote.contains(needle))
        .count() as i64
}

async fn a_redacted_text_is_gone_while_its_proofs_still_verify(app: TestApp) {
    let editor = app.editor().await;
    let archivist = app.token("Arthur Archivist", Role::Archivist).await;
    let created = app.create_document(&editor, "takedown", "Public text.\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let first = created["revision"]["hash"].as_str().unwrap().to_owned();
    let second = app.revise(&editor, &id, &first, &format!("Public text.\n{PRIVATE}\n")).await;
    let second = second["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    // It cites a source for the private passage, which the next revision drops (orphaning
    // the citation it carries).
    let source = app
        .query_as(
            Some(&editor),
            "mutation { createSource(input: { title: \"A register\" }) {
            source { id } } }",
            json!({}),
        )
        .await;
    let own = app
        .query_as(
            Some(&editor),
            "mutation($d: ID!, $s: ID!) { addCitation(input: { documentId: $d, relation: CITES,
               target: { sourceId: $s }, passage: { exact: \"12 Elm Street\" } }) {
               citation { id } } }",
            json!({ "d": id, "s": source["data"]["createSource"]["source"]["id"] }),
        )
        .await;
    assert_no_errors(&own);
    // A citation that pins no revision quotes it while it is the head (verified against it).
    let reader = app.create_document(&editor, "reader", "It quoted the head.\n").await;
    let unpinned = app
        .query_as(
            Some(&editor),
            "mutation($d: ID!, $t: ID!) { addCitation(input: { documentId: $d,
               relation: QUOTES, target: { documentId: $t },
               targetPassage: { exact: \"12 Elm Street\" } }) {
               citation { currentVerification { status } } } }",
            json!({ "d": reader["document"]["id"], "t": id }),
        )
        .await;
    assert_no_errors(&unpinned);
    let verdict = &unpinned["data"]["addCitation"]["citation"]["currentVerification"]["status"];
    assert_eq!(verdict, "VERIFIED", "{unpinned:#}");
    let third = app.revise(&editor, &id, &second, "Public text, corrected.\n").await;
    let third = third["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    // Another document quotes the passage, pinned to the revision that held it.
    let citing = app.create_document(&editor, "citing", "It printed an address.\n").await;
    let cited = app
        .query_as(
            Some(&editor),
            "mutation($d: ID!, $t: ID!, $r: String!) { addCitation(input: { documentId: $d,
               relation: QUOTES, target: { documentId: $t, revision: $r },
               targetPassage: { exact: \"12 Elm Street\" } }) { citation { id } } }",
            json!({ "d": citing["document"]["id"], "t": id, "r": second }),
        )
        .await;
    assert_no_errors(&cited);

    let body = redact(&app, &archivist, &second).await;
    assert_no_errors(&body);
    let revision = &body["data"]["redactRevision"]["revision"];
    assert!(revision["content"].is_null());
    assert_eq!(revision["redaction"]["reason"], "personal data (erasure request)");
    assert_eq!(revision["redaction"]["agent"]["name"], "Arthur Archivist");
    assert_eq!(texts_holding(&app, "Elm Street").await, 0, "purged from storage");
    assert_eq!(quotes_holding(&app, "Elm Street").await, 0, "and from the quotes of it");

    // The header, its hash and the log proof are intact.
    let read = app
        .query(
            "query($h: String!) { revision(hash: $h) { content contentHash header logIndex
               redaction { reason } inclusionProof { leafIndex treeSize hashes } } }",
            json!({ "h": second }),
        )
        .await;
    assert_no_errors(&read);
    let read = &read["data"]["revision"];
    assert!(read["content"].is_null());
    assert_eq!(sha256_hex(read["header"].as_str().unwrap().as_bytes()), second);
    assert_eq!(
        read["contentHash"],
        sha256_hex(format!("Public text.\n{PRIVATE}\n").as_bytes()).as_str()
    );
    let log = app.checkpoint_of(5).await;
    let key = VerifierKey::parse(&app.log_key.verifier_key()).unwrap();
    let checkpoint = rfc9162::open_checkpoint(
        log["data"]["transparencyLog"]["checkpoint"].as_str().unwrap(),
        &key,
    )
    .unwrap();
    let proof = &read["inclusionProof"];
    let hashes: Vec<&str> =
        proof["hashes"].as_array().unwrap().iter().map(|h| h.as_str().unwrap()).collect();
    rfc9162::verify_inclusion(
        proof["leafIndex"].as_u64().unwrap(),
        checkpoint.size,
        &rfc9162::hex32(&second).unwrap(),
        &rfc9162::hex32_all(&hashes).unwrap(),
        &checkpoint.root,
    )
    .unwrap();

    // What needs the text says it was redacted.
    for (query, variables) in [
        (
            "query($a: String!, $b: String!) { diff(from: $a, to: $b) { unified } }",
            json!({ "a": first, "b": second }),
        ),
        ("query($h: String!) { revision(hash: $h) { diff { unified } } }", json!({ "h": third })),
        (
            "query($h: String!) { revision(hash: $h) { blame { lines { number } } } }",
            json!({ "h": third }),
        ),
    ] {
        let body = app.query(query, variables).await;
        assert_eq!(error_code(&body), "REDACTED", "{body:#}");
        assert_eq!(body["errors"][0]["extensions"]["revision"], second.as_str());
    }
    let memento = app
        .client
        .get(format!("{}/documents/takedown/revisions/{second}/text", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(memento.status(), 410);
    assert!(memento.text().await.unwrap().contains("redacted"));
    let page = app
        .client
        .get(format!("{}/documents/takedown/revisions/{second}", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("was redacted") && page.contains("erasure request"), "{page}");
    assert!(!page.contains("Elm Street"));
    let quote = app
        .query(
            "{ document(slug: \"citing\") { head { citations { nodes { verification {
               status reason } } } } } }",
            json!({}),
        )
        .await;
    let verdict = &quote["data"]["document"]["head"]["citations"]["nodes"][0]["verification"];
    assert_eq!(verdict["status"], "UNVERIFIABLE", "{quote:#}");

    // Verified (the whole corpus, by an admin), it is redacted, not tampered.
    let admin = app.token("Ada Admin", Role::Admin).await;
    let verified = app
        .query_as(
            Some(&admin),
            "{ verification { report { ok redacted redactedCount problemCount } log { ok } } }",
            json!({}),
        )
        .await;
    let verified = &verified["data"]["verification"];
    assert_eq!(verified["report"]["ok"], true, "{verified:#}");
    assert_eq!(verified["report"]["redacted"], json!([second]));
    assert_eq!(verified["log"]["ok"], true);

    // And it cannot be undone or done twice.
    let again = redact(&app, &archivist, &second).await;
    assert_eq!(error_code(&again), "CONFLICT");
    let schema = app.query("{ __schema { mutationType { fields { name } } } }", json!({})).await;
    let names = serde_json::to_string(&schema).unwrap().to_lowercase();
    assert!(!names.contains("unredact") && !names.contains("restore"));
}

async fn a_text_another_revision_shares_is_kept_for_it(app: TestApp) {
    let editor = app.editor().await;
    let archivist = app.token("Arthur Archivist", Role::Archivist).await;
    let text = format!("{PRIVATE}\n");
    let one = app.create_document(&editor, "one", &text).await;
    let two = app.create_document(&editor, "two", &text).await;
    let (one, two) = (
        one["revision"]["hash"].as_str().unwrap().to_owned(),
        two["revision"]["hash"].as_str().unwrap().to_owned(),
    );
    assert_no_errors(&redact(&app, &archivist, &one).await);
    let other = app
        .query("query($h: String!) { revision(hash: $h) { content } }", json!({ "h": two }))
        .await;
    assert_eq!(other["data"]["revision"]["content"], text.as_str(), "kept for the other");
    assert_eq!(texts_holding(&app, "Elm Street").await, 1);
    assert_no_errors(&redact(&app, &archivist, &two).await);
    assert_eq!(texts_holding(&app, "Elm Street").await, 0, "purged with its last reader");
}

async fn a_document_whose_head_was_redacted_stays_revisable(app: TestApp) {
    let editor = app.editor().await;
    let archivist = app.token("Arthur Archivist", Role::Archivist).await;
    let text = format!("{PRIVATE}\n");
    let created = app.create_document(&editor, "head-gone", &text).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let head = created["revision"]["hash"].as_str().unwrap().to_owned();
    assert_no_errors(&redact(&app, &archivist, &head).await);
    let current = app.client.get(format!("{}/documents/head-gone/text", app.address)).send();
    assert_eq!(current.await.unwrap().status(), 410);

    let revised = app.revise(&editor, &id, &head, "Nothing private.\n").await;
    assert_no_errors(&revised);
    // The same words brought back by a new revision are stored again, for it alone.
    let next = revised["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let back = app.revise(&editor, &id, &next, &text).await;
    assert_no_errors(&back);
    let back = back["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let read = app
        .query(
            "query($a: String!, $b: String!) { a: revision(hash: $a) { content }
               b: revision(hash: $b) { content } }",
            json!({ "a": head, "b": back }),
        )
        .await;
    assert!(read["data"]["a"]["content"].is_null(), "{read:#}");
    assert_eq!(read["data"]["b"]["content"], text.as_str());
    let budget = palimpsest::budget::Budget::unlimited();
    let verified = app.store.verify_log(None, &[], &budget, &|_| {}).await.unwrap();
    assert!(verified.report.is_clean());
}

/// Whether `needle` is anywhere in the database's own files, byte for byte: the SQLite file and
/// its write-ahead log, or every file of the PostgreSQL database's directory (tables, indexes,
/// TOAST, free space, its catalogs and their statistics). `None` when the files cannot be read
/// here (PostgreSQL's are its own user's: the test runs as root in CI).
async fn files_holding(app: &TestApp, needle: &str) -> Option<usize> {
    let db = app.store.connection();
    let files: Vec<std::path::PathBuf> = match app.backend {
        crate::helpers::Backend::Sqlite => {
            let path = app.database_url.trim_start_matches("sqlite://");
            let path = path.split('?').next().unwrap().to_owned();
            ["", "-wal", "-shm"].iter().map(|s| format!("{path}{s}").into()).collect()
        }
        crate::helpers::Backend::Postgres => {
            // What the server holds in its buffers reaches the files.
            db.execute_unprepared("CHECKPOINT").await.unwrap();
            let row = db
                .query_one_raw(Statement::from_string(
                    db.get_database_backend(),
                    "SELECT current_setting('data_directory') || '/base/' || oid::text AS dir \
                     FROM pg_database WHERE datname = current_database()",
                ))
                .await
                .unwrap()
                .unwrap();
            let dir: String = row.try_get("", "dir").unwrap();
            let entries = std::fs::read_dir(&dir).ok()?;
            entries.map(|e| e.unwrap().path()).collect()
        }
    };
    let mut holding = 0;
    for file in files {
        let Ok(bytes) = std::fs::read(&file) else { continue };
        // As written, and as the search indexes keep words: lowercased (FTS5's terms, a
        // tsvector's lexemes).
        let lowercase = needle.to_lowercase();
        if [needle, lowercase.as_str()]
            .iter()
            .any(|needle| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            let node = file
                .file_name()
                .unwrap()
                .to_string_lossy()
                .split(['.', '_'])
                .next()
                .map(str::to_owned);
            let relation = match (app.backend, node) {
                (crate::helpers::Backend::Postgres, Some(node)) => db
                    .query_one_raw(Statement::from_string(
                        db.get_database_backend(),
                        format!("SELECT relname::text AS name FROM pg_class WHERE pg_relation_filenode(oid) = {node}"),
                    ))
                    .await
                    .ok()
                    .flatten()
                    .and_then(|row| row.try_get::<String>("", "name").ok()),
                _ => None,
            };
            eprintln!("{needle:?} is in {} ({relation:?})", file.display());
            holding += 1;
        }
    }
    Some(holding)
}

/// An erasure request: after a redaction, not one byte of the text is left in the database's
/// files — not in the dead row versions, index pages, TOAST or free space PostgreSQL keeps
/// until it happens to reuse them, nor in its statistics — without VACUUM FULL of the
/// database or any downtime; and the redaction says when that was done (`erasedAt`).
async fn a_redacted_text_leaves_no_byte_of_itself_in_the_databases_files(app: TestApp) {
    const NEEDLE: &str = "Quagmirewhistle";
    let editor = app.editor().await;
    let archivist = app.token("Arthur Archivist", Role::Archivist).await;
    let private = format!("Public opening.\nMr {NEEDLE} lives at 77 Obscurity Lane.\n");
    let created = app.create_document(&editor, "erasure", &private).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let first = created["revision"]["hash"].as_str().unwrap().to_owned();
    // Quoted by another document, and its words indexed for search.
    let citing = app.create_document(&editor, "quoting", &format!("It named {NEEDLE}.\n")).await;
    let quoted = app
        .query_as(
            Some(&editor),
            "mutation($d: ID!, $t: ID!, $r: String!, $q: String!) { addCitation(input: {
               documentId: $d, relation: QUOTES, target: { documentId: $t, revision: $r },
               targetPassage: { exact: $q } }) { citation { id } } }",
            json!({ "d": citing["document"]["id"], "t": id, "r": first,
                    "q": format!("Mr {NEEDLE} lives") }),
        )
        .await;
    assert_no_errors(&quoted);
    // The corrected text, without the address: the redacted one stays in the history only.
    let body = app.revise(&editor, &id, &first, "Public opening.\n").await;
    assert_no_errors(&body);
    // The citing document's own text names him too: it is rewritten, and that one redacted.
    let citing_id = citing["document"]["id"].as_str().unwrap();
    let citing_first = citing["revision"]["hash"].as_str().unwrap();
    let body = app.revise(&editor, citing_id, citing_first, "It named someone.\n").await;
    assert_no_errors(&body);
    let db = app.store.connection();
    if app.backend == crate::helpers::Backend::Postgres {
        // Statistics would keep samples of the words, if any were gathered on them.
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
    let before = files_holding(&app, NEEDLE).await.expect(
        "the database's files must be readable to check an erasure: run the tests as a user who \
         can read PostgreSQL's data directory (root, or postgres)",
    );
    assert!(before > 0, "the words are in the files before the redaction");

    for hash in [first.as_str(), citing_first] {
        assert_no_errors(&redact(&app, &archivist, hash).await);
    }
    // Erased as soon as no transaction can see the old rows: retried until then.
    let mut erased = false;
    for _ in 0..150 {
        app.store.erase_pending().await.unwrap();
        let body = app
            .query(
                "query($a: String!, $b: String!) {
                   a: revision(hash: $a) { redaction { erasedAt } }
                   b: revision(hash: $b) { redaction { erasedAt } } }",
                json!({ "a": first, "b": citing_first }),
            )
            .await;
        assert_no_errors(&body);
        erased = ["a", "b"].iter().all(|r| body["data"][r]["redaction"]["erasedAt"].is_string());
        if erased {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(erased, "both redactions were erased");
    assert_eq!(files_holding(&app, NEEDLE).await, Some(0), "no byte of the text is left");
    // Everything else still reads back.
    let body = app.query("{ documents { nodes { slug head { content } } } }", json!({})).await;
    assert_no_errors(&body);
    assert_eq!(quotes_holding(&app, NEEDLE).await, 0);
}

/// The server keeps texts it read in memory (`--text-cache-mb`); a redaction committed by
/// another process, which that memory never hears of, must still take the text out of every
/// answer at once.
async fn a_text_kept_in_memory_is_not_served_once_another_process_redacted_it(app: TestApp) {
    let editor = app.editor().await;
    app.create_document(&editor, "kept", &format!("{PRIVATE}\n")).await;
    let read =
        "query($s: String!) { document(slug: $s) { head { hash content redaction { reason } } } }";
    // Read twice, so the second answer comes from the kept text.
    for _ in 0..2 {
        let body = app.query_as(Some(&editor), read, json!({ "s": "kept" })).await;
        assert_no_errors(&body);
        assert_eq!(body["data"]["document"]["head"]["content"], format!("{PRIVATE}\n"));
    }
    let body = app.query_as(Some(&editor), read, json!({ "s": "kept" })).await;
    let hash = body["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned();

    let (other, archivist) =
        app.another_process("Another archivist", palimpsest::store::AgentKind::Person).await;
    other
        .redact_revision(
            &palimpsest::store::RevisionHash::parse(&hash).unwrap(),
            palimpsest::store::RedactionReason::parse("erasure request").unwrap(),
            &archivist,
        )
        .await
        .unwrap();

    let body = app.query_as(Some(&editor), read, json!({ "s": "kept" })).await;
    assert_no_errors(&body);
    let head = &body["data"]["document"]["head"];
    assert_eq!(head["content"], Value::Null, "{body}");
    assert_eq!(head["redaction"]["reason"], "erasure request");
    let anonymous = app.query_as(None, read, json!({ "s": "kept" })).await;
    assert_eq!(anonymous["data"]["document"]["head"]["content"], Value::Null, "{anonymous}");
}

/// The server keeps revisions it read in memory (`--revision-cache-mb`) and reads only their
/// hash, redaction flag and log index again; a redaction committed by another process must
/// reach a history page read from that memory, and its text must not be served.
async fn a_revision_kept_in_memory_is_read_redacted_once_another_process_redacted_it(app: TestApp) {
    let editor = app.editor().await;
    let created = app.create_document(&editor, "kept-history", &format!("{PRIVATE}\n")).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let first = created["revision"]["hash"].as_str().unwrap().to_owned();
    let revised = app.revise(&editor, &id, &first, "Nothing private here.\n").await;
    assert_no_errors(&revised);
    let read = "query($id: ID!) { document(id: $id) { revisions(first: 20) { nodes { \
                number hash content redaction { reason } } } } }";
    let oldest = |body: &Value| body["data"]["document"]["revisions"]["nodes"][1].clone();
    // Read twice, so that the second page comes from the revisions kept.
    for _ in 0..2 {
        let body = app.query_as(Some(&editor), read, json!({ "id": id })).await;
        assert_no_errors(&body);
        assert_eq!(oldest(&body)["hash"], first.as_str());
        assert_eq!(oldest(&body)["content"], format!("{PRIVATE}\n"));
    }

    let (other, archivist) =
        app.another_process("Another archivist", palimpsest::store::AgentKind::Person).await;
    other
        .redact_revision(
            &palimpsest::store::RevisionHash::parse(&first).unwrap(),
            palimpsest::store::RedactionReason::parse("erasure request").unwrap(),
            &archivist,
        )
        .await
        .unwrap();

    for token in [Some(editor.as_str()), None] {
        let body = app.query_as(token, read, json!({ "id": id })).await;
        assert_no_errors(&body);
        let oldest = oldest(&body);
        assert_eq!(oldest["number"], 1, "{body}");
        assert_eq!(oldest["content"], Value::Null, "{body}");
        assert_eq!(oldest["redaction"]["reason"], "erasure request", "{body}");
        let newest = &body["data"]["document"]["revisions"]["nodes"][0];
        assert_eq!(newest["content"], "Nothing private here.\n");
    }
}
