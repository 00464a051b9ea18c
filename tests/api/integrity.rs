//! Verification as an admin uses it, against a database tampered with behind the server's
//! back: each kind of tampering is detected and named (which document, which revision, which
//! field), and a clean corpus reports clean.

use expect_test::expect;
use palimpsest::store::Role;
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::{
    TestApp, assert_no_errors, compact_lines, error_code, scrubbed, sha256_hex, snapshot,
};

crate::on_both_backends!(
    schema:
    a_clean_corpus_verifies_clean_page_by_page,
    only_admins_verify_the_whole_corpus,
    a_changed_byte_of_text_is_named,
    a_changed_header_is_named,
    a_damaged_packed_text_is_named_with_the_texts_packed_against_it,
    a_changed_column_is_named_by_the_header_member_it_breaks,
    damaged_member_digests_are_named_and_name_no_column,
    a_re_pointed_parent_is_named,
    a_deleted_revision_is_found_by_its_orphaned_leaf,
    a_swapped_head_is_named,
    digests_that_are_not_32_bytes_are_named_and_the_rest_still_checked,
    a_digest_cut_short_fails_the_joined_reads_instead_of_showing_a_value,
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
/// the four leaves; and an admin's token (the whole corpus is verified by admins: it
/// holds restricted documents too).
struct Corpus {
    verifier: String,
    target_id: String,
    target: Vec<String>,
    other_id: String,
    other: Vec<String>,
}

async fn corpus(app: &TestApp) -> Corpus {
    let editor = app.editor().await;
    let (target_id, target) = app.document_with_history(&editor, "target", 3).await;
    let (other_id, other) = app.document_with_history(&editor, "other", 1).await;
    app.checkpoint_of(4).await;
    let verifier = app.token("Ada Admin", Role::Admin).await;
    Corpus { verifier, target_id, target, other_id, other }
}

async fn verify(app: &TestApp, corpus: &Corpus) -> Value {
    let body = app.query_as(Some(&corpus.verifier), VERIFY, json!({ "first": 100 })).await;
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

/// Every problem found, the corpus's then the log's, a line each, the documents and revisions
/// by name (`target`, its revisions `target 1` to `target 3`, `other`), and `more` names.
fn shown_problems(verified: &Value, corpus: &Corpus, more: &[(&str, &str)]) -> String {
    let mut names = vec![
        (corpus.target[0].as_str(), "<target 1>"),
        (corpus.target[1].as_str(), "<target 2>"),
        (corpus.target[2].as_str(), "<target 3>"),
        (corpus.other[0].as_str(), "<other>"),
        (corpus.target_id.as_str(), "<target>"),
        (corpus.other_id.as_str(), "<other document>"),
    ];
    names.extend_from_slice(more);
    let report = scrubbed(&verified["report"]["problems"], &names);
    let log = scrubbed(&verified["log"]["problems"], &names);
    format!("{}--- log\n{}", compact_lines(&report), compact_lines(&log))
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
    // Two documents, four revisions, the log of four leaves and its one signed checkpoint.
    expect![[r#"
        {
          "endCursor": null,
          "hasNextPage": false,
          "log": {
            "checkpoints": 1,
            "ok": true,
            "problemCount": 0,
            "problems": [],
            "size": 4
          },
          "report": {
            "documents": 2,
            "ok": true,
            "problemCount": 0,
            "problems": [],
            "redactedCount": 0,
            "revisions": 4
          }
        }"#]]
    .assert_eq(&snapshot(&verified, &[]));

    // A page at a time: one document, then the next.
    let first = app.query_as(Some(&corpus.verifier), VERIFY, json!({ "first": 1 })).await;
    let first = &first["data"]["verification"];
    assert_eq!(
        (first["report"]["documents"].as_u64(), first["hasNextPage"].as_bool()),
        (Some(1), Some(true))
    );
    let after = first["endCursor"].clone();
    let second =
        app.query_as(Some(&corpus.verifier), VERIFY, json!({ "first": 1, "after": after })).await;
    let second = &second["data"]["verification"];
    assert_eq!(second["report"]["documents"], 1);
    let revisions = first["report"]["revisions"].as_u64().unwrap()
        + second["report"]["revisions"].as_u64().unwrap();
    assert_eq!(revisions, 4);
    // One document, through the document.
    let body = app
        .query_as(
            Some(&corpus.verifier),
            "{ document(slug: \"target\") { verification { ok revisions problemCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(body["data"]["document"]["verification"]["ok"], true, "{body:#}");
    assert_eq!(body["data"]["document"]["verification"]["revisions"], 3);
}

async fn only_admins_verify_the_whole_corpus(app: TestApp) {
    corpus(&app).await;
    let reader = app.token("Reader", Role::Reader).await;
    let editor = app.editor().await;
    let archivist = app.token("Archivist", Role::Archivist).await;
    for token in [Some(reader.as_str()), Some(editor.as_str()), Some(archivist.as_str())] {
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
    let revision_bytes = app.digest_literal(revision);
    tamper(
        &app,
        &[format!(
            "UPDATE blobs SET packing = 0, packed = NULL, base_sha256 = NULL, \
             content = 'Xersion 1\n' WHERE sha256 = \
             (SELECT content_sha256 FROM revisions WHERE hash = {revision_bytes})"
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_eq!(verified["report"]["ok"], false);
    assert_named(&verified, "CONTENT_HASH", revision, Some("content"));
    // The other document's only revision has the same text, stored once: it is named too.
    assert_named(&verified, "CONTENT_HASH", &corpus.other[0], Some("content"));
    assert_eq!(verified["report"]["problemCount"], 2, "only that text: {verified:#}");
    expect![[r#"
        {"detail":"the stored text hashes to fa3ec60935da010e7e01bceba4424fb922c585f8d0d8b017f918facab2872ada, not to content_sha256","documentId":"<target>","field":"content","kind":"CONTENT_HASH","revision":"<target 1>"}
        {"detail":"the stored text hashes to fa3ec60935da010e7e01bceba4424fb922c585f8d0d8b017f918facab2872ada, not to content_sha256","documentId":"<other document>","field":"content","kind":"CONTENT_HASH","revision":"<other>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

async fn a_damaged_packed_text_is_named_with_the_texts_packed_against_it(app: TestApp) {
    let corpus = corpus(&app).await;
    let head = &corpus.target[2];
    let head_bytes = app.digest_literal(head);
    tamper(
        &app,
        &[format!(
            "UPDATE blobs SET packed = substr(packed, 1, 4) WHERE sha256 = \
             (SELECT content_sha256 FROM revisions WHERE hash = {head_bytes})"
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
    expect![[r#"
        {"detail":"the stored text cannot be read: the stored frame is sealed and does not open under its bucket's key","documentId":"<target>","field":"content","kind":"CONTENT_HASH","revision":"<target 3>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
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
    let revision_bytes = app.digest_literal(revision);
    // A forger stores the altered header plain.
    tamper(
        &app,
        &[format!(
            "UPDATE revisions SET packed_header = NULL, header = '{}' WHERE hash = {revision_bytes}",
            forged.replace('\'', "''")
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    let forged_hash = sha256_hex(forged.as_bytes());
    assert_named(&verified, "HEADER_HASH", revision, Some("header"));
    assert_named(&verified, "HEADER_FIELD", revision, Some("message"));
    expect![[r#"
        {"detail":"the stored header hashes to <SHA-256 of the forged header>, not to the revision's hash","documentId":"<target>","field":"header","kind":"HEADER_HASH","revision":"<target 2>"}
        {"detail":"the header says \"forged\", the stored column \"edit\"","documentId":"<target>","field":"message","kind":"HEADER_FIELD","revision":"<target 2>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[(&forged_hash, "<SHA-256 of the forged header>")]));
}

async fn a_changed_column_is_named_by_the_header_member_it_breaks(app: TestApp) {
    let corpus = corpus(&app).await;
    let (second, third) = (&corpus.target[1], &corpus.target[2]);
    let second_bytes = app.digest_literal(second);
    let third_bytes = app.digest_literal(third);
    tamper(
        &app,
        &[
            format!("UPDATE revisions SET title = 'Another title' WHERE hash = {second_bytes}"),
            format!(
                "UPDATE revisions SET author_id = (SELECT author_id FROM revisions \
                 WHERE hash = {second_bytes}), message = 'rewritten' WHERE hash = {third_bytes}"
            ),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "HEADER_FIELD", second, Some("title"));
    assert_named(&verified, "HEADER_FIELD", third, Some("message"));
    // The store keeps no copy of a header its row's columns make, only a digest of each
    // member: the break is put on the column, not on the header.
    assert!(problems(&verified, "HEADER_HASH").is_empty(), "{verified:#}");
    expect![[r#"
        {"detail":"the stored column \"Another title\" is not the title the revision's hash covers","documentId":"<target>","field":"title","kind":"HEADER_FIELD","revision":"<target 2>"}
        {"detail":"the stored column \"rewritten\" is not the message the revision's hash covers","documentId":"<target>","field":"message","kind":"HEADER_FIELD","revision":"<target 3>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

async fn damaged_member_digests_are_named_and_name_no_column(app: TestApp) {
    let corpus = corpus(&app).await;
    let (first, second, third) = (&corpus.target[0], &corpus.target[1], &corpus.target[2]);
    let other = &corpus.other[0];
    let zeroed = app.bytes_literal(&[&[1][..], &[0; 18]].concat());
    let first_bytes = app.digest_literal(first);
    let other_bytes = app.digest_literal(other);
    let second_bytes = app.digest_literal(second);
    let third_bytes = app.digest_literal(third);
    tamper(
        &app,
        &[
            // Cut short; the columns intact.
            format!(
                "UPDATE revisions SET packed_header = substr(packed_header, 1, 7) \
                 WHERE hash = {first_bytes}"
            ),
            // Another revision's, whole; the columns intact.
            format!(
                "UPDATE revisions SET packed_header = (SELECT packed_header FROM revisions \
                 WHERE hash = {other_bytes}) WHERE hash = {second_bytes}"
            ),
            // Zeroed, and a column changed: nothing says which, so the hash is what breaks.
            format!(
                "UPDATE revisions SET packed_header = {zeroed}, title = 'Another title' \
                 WHERE hash = {third_bytes}"
            ),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert!(problems(&verified, "HEADER_FIELD").is_empty(), "{verified:#}");
    // Served, each header is still the one its revision was hashed over, but the third's.
    for (hash, holds) in [(first, true), (second, true), (third, false)] {
        let body = app
            .query("query($h: String!) { revision(hash: $h) { header } }", json!({ "h": hash }))
            .await;
        let header = body["data"]["revision"]["header"].as_str().unwrap();
        assert_eq!(sha256_hex(header.as_bytes()) == *hash, holds, "{hash}: {header}");
    }
    let rebuilt = app
        .query("query($h: String!) { revision(hash: $h) { header } }", json!({ "h": third }))
        .await;
    let rebuilt = sha256_hex(rebuilt["data"]["revision"]["header"].as_str().unwrap().as_bytes());
    expect![[r#"
        {"detail":"the digests kept of the header's members are damaged","documentId":"<target>","field":"header","kind":"HEADER_MALFORMED","revision":"<target 1>"}
        {"detail":"the digests kept of the header's members are not its members'","documentId":"<target>","field":"header","kind":"HEADER_MALFORMED","revision":"<target 2>"}
        {"detail":"the digests kept of the header's members are damaged","documentId":"<target>","field":"header","kind":"HEADER_MALFORMED","revision":"<target 3>"}
        {"detail":"the header rebuilt from the row hashes to <rebuilt>, not to the revision's hash","documentId":"<target>","field":"header","kind":"HEADER_HASH","revision":"<target 3>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[(&rebuilt, "<rebuilt>")]));
}

async fn a_re_pointed_parent_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let third = &corpus.target[2];
    let elsewhere = &corpus.other[0];
    let elsewhere_bytes = app.digest_literal(elsewhere);
    let third_bytes = app.digest_literal(third);
    tamper(
        &app,
        &[format!(
            "UPDATE revisions SET parent_hash = {elsewhere_bytes} WHERE hash = {third_bytes}"
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "PARENT", third, Some("parent"));
    assert_named(&verified, "HEADER_FIELD", third, Some("parent"));
    expect![[r#"
        {"detail":"names <other>; the revision before it in the chain is <target 2>","documentId":"<target>","field":"parent","kind":"PARENT","revision":"<target 3>"}
        {"detail":"the stored column \"<other>\" is not the parent the revision's hash covers","documentId":"<target>","field":"parent","kind":"HEADER_FIELD","revision":"<target 3>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

async fn a_deleted_revision_is_found_by_its_orphaned_leaf(app: TestApp) {
    let corpus = corpus(&app).await;
    let (second, third) = (&corpus.target[1], &corpus.target[2]);
    let second_bytes = app.digest_literal(second);
    let third_bytes = app.digest_literal(third);
    // Removed cleanly: the head moved back, so the chain alone looks whole.
    tamper(
        &app,
        &[
            format!(
                "UPDATE documents SET head_hash = {second_bytes} WHERE head_hash = {third_bytes}"
            ),
            format!("DELETE FROM revisions WHERE hash = {third_bytes}"),
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
    expect![[r#"
        {"detail":"the document says <time>; its last revision was made at <time>","documentId":"<target>","field":"updated_at","kind":"TIME","revision":"<target 2>"}
        --- log
        {"detail":"leaf 2 belongs to no revision (a revision was removed)","kind":"LOG_LEAF","revision":null}
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

async fn a_swapped_head_is_named(app: TestApp) {
    let corpus = corpus(&app).await;
    let (first, third) = (&corpus.target[0], &corpus.target[2]);
    let first_bytes = app.digest_literal(first);
    let third_bytes = app.digest_literal(third);
    tamper(
        &app,
        &[format!(
            "UPDATE documents SET head_hash = {first_bytes} WHERE head_hash = {third_bytes}"
        )],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    assert_named(&verified, "HEAD", third, Some("head_hash"));
    let head = problems(&verified, "HEAD")[0];
    assert!(head["detail"].as_str().unwrap().contains(first.as_str()), "{head}");
    expect![[r#"
        {"detail":"the document's head is <target 1>; its chain ends at <target 3>","documentId":"<target>","field":"head_hash","kind":"HEAD","revision":"<target 3>"}
        --- log
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

async fn digests_that_are_not_32_bytes_are_named_and_the_rest_still_checked(app: TestApp) {
    let corpus = corpus(&app).await;
    let third_bytes = app.digest_literal(&corpus.target[2]);
    let other_bytes = app.digest_literal(&corpus.other[0]);
    let (five, three) = (app.bytes_literal(&[7; 5]), app.bytes_literal(&[7; 3]));
    tamper(
        &app,
        &[
            // The head revision's own hash cut short (only its document names it), and
            // another document's head: no digest at all.
            format!("UPDATE revisions SET hash = {five} WHERE hash = {third_bytes}"),
            format!("UPDATE documents SET head_hash = {three} WHERE head_hash = {other_bytes}"),
        ],
    )
    .await;
    let verified = verify(&app, &corpus).await;
    // The other three are read and checked; the one cut short is named by its place.
    assert_eq!(verified["report"]["revisions"], 3, "{verified:#}");
    expect![[r#"
        {"detail":"revision 3: the stored hash digest is 5 bytes, not a SHA-256's 32","documentId":"<target>","field":"hash","kind":"HEADER_HASH","revision":null}
        {"detail":"the document's head is <target 3>; its chain ends at <target 2>","documentId":"<target>","field":"head_hash","kind":"HEAD","revision":"<target 2>"}
        {"detail":"the document says <time>; its last revision was made at <time>","documentId":"<target>","field":"updated_at","kind":"TIME","revision":"<target 2>"}
        {"detail":"the document's head is 3 bytes, not a revision hash; its chain ends at <other>","documentId":"<other document>","field":"head_hash","kind":"HEAD","revision":"<other>"}
        --- log
        {"detail":"leaf 2 belongs to no revision (a revision was removed)","kind":"LOG_LEAF","revision":null}
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}

/// The joined reads (a history page with its document, a page of documents with their heads)
/// decode the rows themselves: a stored digest that is not 32 bytes fails the read, as the
/// verifier names it, rather than reaching a client as some other value.
async fn a_digest_cut_short_fails_the_joined_reads_instead_of_showing_a_value(app: TestApp) {
    let corpus = corpus(&app).await;
    let page = "query($id: ID!) { document(id: $id) { slug revisions(first: 20) {
        nodes { number hash parent { hash } author { name } } } } }";
    let heads = "{ documents(first: 10) { nodes { slug title head { hash } } } }";
    let variables = json!({ "id": corpus.target_id });
    let before = app.query(page, variables.clone()).await;
    assert_no_errors(&before);
    assert_no_errors(&app.query(heads, json!({})).await);
    let third_bytes = app.digest_literal(&corpus.target[2]);
    let other_bytes = app.digest_literal(&corpus.other[0]);
    tamper(
        &app,
        &[
            // The target's head, on its history page; the other's head and the document's
            // pointer to it alike, so that the page of documents still joins it.
            format!("UPDATE revisions SET hash = substr(hash, 1, 31) WHERE hash = {third_bytes}"),
            format!("UPDATE revisions SET hash = substr(hash, 1, 31) WHERE hash = {other_bytes}"),
            format!(
                "UPDATE documents SET head_hash = substr(head_hash, 1, 31) \
                 WHERE head_hash = {other_bytes}"
            ),
        ],
    )
    .await;
    let after = app.query(page, variables).await;
    assert_eq!(error_code(&after), "INTERNAL", "{after:#}");
    assert!(after["data"]["document"].is_null(), "{after:#}");
    let after = app.query(heads, json!({})).await;
    assert_eq!(error_code(&after), "INTERNAL", "{after:#}");
    assert!(after["data"].is_null() || after["data"]["documents"].is_null(), "{after:#}");

    // SQLite keeps whatever type it is given: text where the redaction flag belongs would
    // read as `false` (0) if the type were not checked.
    if app.store.connection().get_database_backend() == sea_orm::DatabaseBackend::Sqlite {
        let first_bytes = app.digest_literal(&corpus.target[0]);
        tamper(
            &app,
            &[format!("UPDATE revisions SET redacted = 'yes' WHERE hash = {first_bytes}")],
        )
        .await;
        let page = "query($id: ID!) { document(id: $id) { revisions(last: 1) { nodes { number author { name } } } } }";
        let after = app.query(page, json!({ "id": corpus.target_id })).await;
        assert_eq!(error_code(&after), "INTERNAL", "{after:#}");
    }
}

async fn a_truncated_log_contradicts_its_signed_checkpoint(app: TestApp) {
    let corpus = corpus(&app).await;
    let last = &corpus.other[0];
    let last_bytes = app.digest_literal(last);
    // The fourth leaf and the subtrees over it gone, the size put back to three.
    tamper(
        &app,
        &[
            "DELETE FROM log_nodes WHERE (level = 0 AND position = 3) \
             OR (level = 1 AND position = 1) OR (level = 2 AND position = 0)"
                .into(),
            "UPDATE log_state SET size = 3".into(),
            format!("UPDATE revisions SET log_index = NULL WHERE hash = {last_bytes}"),
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
    expect![[r#"
        {"detail":"the revision has no leaf in the transparency log","documentId":"<other document>","field":"log_index","kind":"LOG_MISSING","revision":"<other>"}
        --- log
        {"detail":"the checkpoint kept of size 4: the log holds only 3 leaves: it was cut short","kind":"CHECKPOINT","revision":null}
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
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
    expect![[r#"
        --- log
        {"detail":"leaf 0 is not its revision's","kind":"LOG_LEAF","revision":"<target 1>"}
        {"detail":"checkpoint of size 4: the checkpoint's signature does not verify with palimpsest/log","kind":"CHECKPOINT_SIGNATURE","revision":null}
    "#]].assert_eq(&shown_problems(&verified, &corpus, &[]));
}
