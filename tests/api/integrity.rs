//! Verification as an archivist uses it, against a database tampered with behind the server's
//! back: each kind of tampering is detected and named (which document, which revision, which
//! field), and a clean corpus reports clean.

use palimpsest::store::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    schema:
    a_clean_corpus_verifies_clean_page_by_page,
    only_archivists_and_admins_verify,
    a_changed_byte_of_text_is_named,
    a_changed_header_is_named,
    a_damaged_packed_text_is_named_with_the_texts_packed_against_it,
    a_changed_column_is_named_by_the_header_member_it_breaks,
    a_re_pointed_parent_is_named,
    a_deleted_revision_is_found_by_its_orphaned_leaf,
    a_swapped_head_is_named,
    a_truncated_log_contradicts_its_signed_checkpoint,
    a_rewritten_leaf_and_a_forged_checkpoint_are_named,
);

const VERIFY: &str = "query($after: String, $first: Int) {
  verification(first: $first, after: $after) {
    report { ok documents revisions redactedCount problemCount
             problems { kind documentId revision field detail } }
    hasNextPage endCursor
    log { ok size checkpoints problemCount problems { kind revision detail } }
  }
}";

/// Two documents: `target` with three revisions, `other` with one; a signed checkpoint of
/// the four leaves; and an archivist's token.
struct Corpus {
    archivist: String,
    target_id: String,
    target: Vec<String>,
    other: Vec<String>,
}

async fn corpus(app: &TestApp) -> Corpus {
    let editor = app.editor().await;
    let (target_id, target) = app.document_with_history(&editor, "target", 3).await;
    let (_, other) = app.document_with_history(&editor, "other", 1).await;
    app.checkpoint_of(4).await;
    let archivist = app.token("Ada Archivist", Role::Archivist).await;
    Corpus { archivist, target_id, target, other }
}

async fn verify(app: &TestApp, corpus: &Corpus) -> Value {
    let body = app.query_as(Some(&corpus.archivist), VERIFY, json!({ "first": 100 })).await;
    assert_no_errors(&body);
    body["data"]["verification"].clone()
}

async fn tamper(app: &TestApp, statements: &[String]) {
    for statement in statements {
        app.store.connection().execute_unprepared(statement).await.unwrap();
    }
}

/// The problems of kind `kind` in the corpus report (or the log's, with `log`).
fn problems<'a>(verified: &'a Value, kind: &str) -> Vec<&'a Value> {
    let all = verified["report"]["problems"].as_array().unwrap();
    let log = verified["log"]["problems"].as_array().unwrap();
    all.iter().chain(log).filter(|p| p["kind"] == kind).collect()
}

fn assert_named(verified: &Value, kind: &str, revision: &str, field: Option<&str>) {
    let found = problems(verified, kind);
    assert!(
        found.iter().any(|p| p["revision"] == revision && field.is_none_or(|f| p["field"] == f)),
        "no {kind} problem on {revision} ({field:?}): {verified:#}"
    );
}

async fn a_clean_corpus_verifies_clean_page_by_page(app: TestApp) {
    let corpus = corpus(&app).await;
    let verified = verify(&app, &corpus).await;
    assert_eq!(verified["report"]["ok"], true, "{verified:#}");
    assert_eq!(verified["report"]["documents"], 2);
    assert_eq!(verified["report"]["revisions"], 4);
    assert_eq!(verified["hasNextPage"], false);
    assert_eq!(verified["log"]["ok"], true, "{verified:#}");
    assert_eq!(verified["log"]["size"], 4);
    assert!(verified["log"]["checkpoints"].as_u64() >= Some(1), "{verified:#}");

    // A page at a time: one document, then the next.
    let first = app.query_as(Some(&corpus.archivist), VERIFY, json!({ "first": 1 })).await;
    let first = &first["data"]["verification"];
    assert_eq!(
        (first["report"]["documents"].as_u64(), first["hasNextPage"].as_bool()),
        (Some(1), Some(true))
    );
    let after = first["endCursor"].clone();
    let second =
        app.query_as(Some(&corpus.archivist), VERIFY, json!({ "first": 1, "after": after })).await;
    let second = &second["data"]["verification"];
    assert_eq!(second["report"]["documents"], 1);
    let revisions = first["report"]["revisions"].as_u64().unwrap()
        + second["report"]["revisions"].as_u64().unwrap();
    assert_eq!(revisions, 4);
    // One document, through the document.
    let body = app
        .query_as(
            Some(&corpus.archivist),
            "{ document(slug: \"target\") { verification { ok revisions problemCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["document"]["verification"]["ok"], true, "{body:#}");
    assert_eq!(body["data"]["document"]["verification"]["revisions"], 3);
}

async fn only_archivists_and_admins_verify(app: TestApp) {
    corpus(&app).await;
    let reader = app.token("Reader", Role::Reader).await;
    let editor = app.editor().await;
    for token in [Some(reader.as_str()), Some(editor.as_str())] {
        let body = app.query_as(token, VERIFY, json!({})).await;
        assert_eq!(error_code(&body), "FORBIDDEN", "{body:#}");
    }
    let body = app.query(VERIFY, json!({})).await;
    assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body:#}");
    let admin = app.token("Admin", Role::Admin).await;
    let body = app.query_as(Some(&admin), VERIFY, json!({})).await;
    assert_no_errors(&body);
}

async fn a_changed_byte_of_text_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    // The oldest revision: no other text is stored as a delta against its text. A forger
    // with write access to the database stores the altered text plain.
    let revision = &corpus.target[0];
    tamper(
        &app,
        &[format!(
            "UPDATE blobs SET packing = 0, packed = NULL, base_sha256 = NULL, \
             content = 'Xersion 1\n' WHERE sha256 = \
             (SELECT content_sha256 FROM revisions WHERE hash = '{revision}')"
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_eq!(verified["report"]["ok"], false);
    assert_named(&verified, "CONTENT_HASH", revision, Some("content"));
    // The other document's only revision has the same text, stored once: it is named too.
    assert_named(&verified, "CONTENT_HASH", &corpus.other[0], Some("content"));
    assert_eq!(verified["report"]["problemCount"], 2, "only that text: {verified:#}");
}

async fn a_damaged_packed_text_is_named_with_the_texts_packed_against_it(app: TestApp) {
    let corpus = corpus(&app).await;
    let head = &corpus.target[2];
    tamper(
        &app,
        &[format!(
            "UPDATE blobs SET packed = substr(packed, 1, 4) WHERE sha256 = \
             (SELECT content_sha256 FROM revisions WHERE hash = '{head}')"
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_eq!(verified["report"]["ok"], false);
    assert_named(&verified, "CONTENT_HASH", head, Some("content"));
    let damaged = problems(&verified, "CONTENT_HASH");
    assert!(
        damaged.iter().all(|p| p["detail"].as_str().unwrap().contains("cannot be read")),
        "{verified:#}"
    );
    // Older texts of the document kept as deltas against it are lost with it, and named;
    // the other document's are not.
    assert!(damaged.iter().all(|p| p["documentId"] == corpus.target_id.as_str()));
    // A client reading it is told it cannot be read, not handed other bytes.
    let body = app
        .query("query($h: String!) { revision(hash: $h) { content } }", json!({ "h": head }))
        .await;
    assert_eq!(error_code(&body), "INTERNAL", "{body:#}");
}

async fn a_changed_header_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let revision = &corpus.target[1];
    let read = app
        .query("query($h: String!) { revision(hash: $h) { header } }", json!({ "h": revision }))
        .await;
    let forged = read["data"]["revision"]["header"]
        .as_str()
        .unwrap()
        .replace(r#""message":"edit""#, r#""message":"forged""#);
    // A forger stores the altered header plain.
    tamper(
        &app,
        &[format!(
            "UPDATE revisions SET packed_header = NULL, header = '{}' WHERE hash = '{revision}'",
            forged.replace('\'', "''")
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "HEADER_HASH", revision, Some("header"));
    assert_named(&verified, "HEADER_FIELD", revision, Some("message"));
}

async fn a_changed_column_is_named_by_the_header_member_it_breaks(app: TestApp) {
    let corpus = corpus(&app).await;
    let (second, third) = (&corpus.target[1], &corpus.target[2]);
    tamper(
        &app,
        &[
            format!("UPDATE revisions SET title = 'Another title' WHERE hash = '{second}'"),
            format!(
                "UPDATE revisions SET author_id = (SELECT author_id FROM revisions \
                 WHERE hash = '{second}'), message = 'rewritten' WHERE hash = '{third}'"
            ),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "HEADER_FIELD", second, Some("title"));
    assert_named(&verified, "HEADER_FIELD", third, Some("message"));
    // The header itself is intact: its hash is still the revision's.
    assert!(problems(&verified, "HEADER_HASH").is_empty(), "{verified:#}");
}

async fn a_re_pointed_parent_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let third = &corpus.target[2];
    let elsewhere = &corpus.other[0];
    tamper(
        &app,
        &[format!("UPDATE revisions SET parent_hash = '{elsewhere}' WHERE hash = '{third}'")],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "PARENT", third, Some("parent"));
    assert_named(&verified, "HEADER_FIELD", third, Some("parent"));
}

async fn a_deleted_revision_is_found_by_its_orphaned_leaf(app: TestApp) {
    let corpus = corpus(&app).await;
    let (second, third) = (&corpus.target[1], &corpus.target[2]);
    // Removed cleanly: the head moved back, so the chain alone looks whole.
    tamper(
        &app,
        &[
            format!("UPDATE documents SET head_hash = '{second}' WHERE head_hash = '{third}'"),
            format!("DELETE FROM revisions WHERE hash = '{third}'"),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    // The chain is whole; what betrays the removal is the document's time of last change...
    let times = problems(&verified, "TIME");
    assert!(times.iter().all(|p| p["field"] == "updated_at"), "{verified:#}");
    assert_eq!(times.len(), 1, "{verified:#}");
    // ... and the leaf the removed revision left in the log.
    assert_eq!(verified["log"]["ok"], false);
    let orphaned = problems(&verified, "LOG_LEAF");
    assert!(
        orphaned
            .iter()
            .any(|p| p["detail"].as_str().unwrap().contains("leaf 2 belongs to no revision")),
        "{verified:#}"
    );
}

async fn a_swapped_head_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let (first, third) = (&corpus.target[0], &corpus.target[2]);
    tamper(
        &app,
        &[format!("UPDATE documents SET head_hash = '{first}' WHERE head_hash = '{third}'")],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "HEAD", third, Some("head_hash"));
    let head = problems(&verified, "HEAD")[0];
    assert!(head["detail"].as_str().unwrap().contains(first.as_str()), "{head}");
}

async fn a_truncated_log_contradicts_its_signed_checkpoint(app: TestApp) {
    let corpus = corpus(&app).await;
    let last = &corpus.other[0];
    // The fourth leaf and the subtrees over it gone, the size put back to three.
    tamper(
        &app,
        &[
            "DELETE FROM log_nodes WHERE (level = 0 AND position = 3) \
             OR (level = 1 AND position = 1) OR (level = 2 AND position = 0)"
                .into(),
            "UPDATE log_state SET size = 3".into(),
            format!("UPDATE revisions SET log_index = NULL WHERE hash = '{last}'"),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "LOG_MISSING", last, Some("log_index"));
    let checkpoint = problems(&verified, "CHECKPOINT");
    assert!(
        checkpoint.iter().any(|p| p["detail"].as_str().unwrap().contains("cut short")),
        "{verified:#}"
    );
}

async fn a_rewritten_leaf_and_a_forged_checkpoint_are_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let first = &corpus.target[0];
    let rewritten = if app.backend == crate::helpers::Backend::Postgres {
        "UPDATE log_nodes SET hash = decode(repeat('00', 32), 'hex') WHERE level = 0 AND position = 0"
    } else {
        "UPDATE log_nodes SET hash = zeroblob(32) WHERE level = 0 AND position = 0"
    };
    tamper(
        &app,
        &[
            rewritten.into(),
            "UPDATE log_checkpoints SET note = replace(note, '\n4\n', '\n5\n')".into(),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "LOG_LEAF", first, None);
    assert!(!problems(&verified, "CHECKPOINT_SIGNATURE").is_empty(), "{verified:#}");
}
