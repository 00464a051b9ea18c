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
        let hash: String = row.try_get("", "sha256").unwrap();
        let framed: bool = row.try_get("", "framed").unwrap();
        let purged: Option<i64> = row.try_get("", "purged_at").unwrap();
        assert!(!(framed && purged.is_some()), "a purged text keeps no frame");
        hashes.push(ContentHash::parse(&hash).unwrap());
    }
    let texts = app.store.contents_by_hashes(&hashes).await.unwrap();
    texts.iter().filter(|(_, text)| text.contains(needle)).count() as i64
}

/// How many citations still quote `needle`.
async fn quotes_holding(app: &TestApp, needle: &str) -> i64 {
    let db = app.store.connection();
    let sql = format!(
        "SELECT COUNT(*) AS n FROM citations WHERE target_exact LIKE '%{needle}%' \
         OR citing_exact LIKE '%{needle}%' OR target_prefix LIKE '%{needle}%' \
         OR target_suffix LIKE '%{needle}%' OR citing_prefix LIKE '%{needle}%' \
         OR citing_suffix LIKE '%{needle}%'"
    );
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
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

    // Verified, it is redacted, not tampered.
    let verified = app
        .query_as(
            Some(&archivist),
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
