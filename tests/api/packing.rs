//! Packed storage as a client and an operator meet it: every revision's text reads back byte
//! for byte however it is stored, a long history takes little more room than its newest text,
//! a redaction loses no other text, and a database written before packing is packed by
//! `migrate` (and can be unpacked to go back).

use std::collections::HashMap;

use palimpsest::store::{ContentHash, Role};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors};

crate::on_both_backends!(
    a_long_history_is_stored_as_deltas_and_reads_back_whole,
    a_redacted_text_takes_no_other_text_with_it,
    texts_stored_before_packing_are_packed_by_migrate,
    header_frames_an_older_build_wrote_become_digests_at_migrate,
);

const HISTORY: &str = "query($id: ID!, $after: String) {
  document(id: $id) { revisions(first: 20, after: $after) {
    nodes { hash content } pageInfo { hasNextPage endCursor } } }
}";

const VERIFY: &str =
    "{ verification(first: 100) { report { ok problemCount problems { kind detail } } } }";

/// The text of version `n` of an article: forty paragraphs, one of them edited each time.
fn article(n: usize) -> String {
    (0..40)
        .map(|p| {
            let edit =
                if p == n % 40 { format!(" (revised in version {n})") } else { String::new() };
            format!("Paragraph {p} of the council's report on the harbour budget{edit}.\n\n")
        })
        .collect()
}

/// Creates a document and revises it to `versions` versions; its id and each version's hash
/// and text, oldest first.
async fn history(
    app: &TestApp,
    token: &str,
    slug: &str,
    versions: usize,
) -> (String, Vec<(String, String)>) {
    let created = app.create_document(token, slug, &article(1)).await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut written = vec![(created["revision"]["hash"].as_str().unwrap().to_owned(), article(1))];
    for n in 2..=versions {
        let text = article(n);
        let body = app.revise(token, &id, &written.last().unwrap().0, &text).await;
        assert_no_errors(&body);
        let hash = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        written.push((hash, text));
    }
    (id, written)
}

/// Every revision of document `id` with its text as served, by hash (`None`: redacted).
async fn served(app: &TestApp, id: &str) -> HashMap<String, Option<String>> {
    let mut texts = HashMap::new();
    let mut after = Value::Null;
    loop {
        let body = app.query(HISTORY, json!({ "id": id, "after": after })).await;
        let page = &body["data"]["document"]["revisions"];
        for node in page["nodes"].as_array().unwrap_or_else(|| panic!("{body:#}")) {
            let content = node["content"].as_str().map(str::to_owned);
            texts.insert(node["hash"].as_str().unwrap().to_owned(), content);
        }
        if page["pageInfo"]["hasNextPage"] != true {
            return texts;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
}

/// `(sha256, packing, base, stored bytes)` of every blob.
async fn blobs(app: &TestApp) -> Vec<(String, i64, Option<String>, i64)> {
    let db = app.store.connection();
    let sql = "SELECT sha256, packing, base_sha256, \
               COALESCE(LENGTH(packed), 0) + LENGTH(content) AS stored FROM blobs";
    let rows =
        db.query_all_raw(Statement::from_string(db.get_database_backend(), sql)).await.unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get::<ContentHash>("", "sha256").unwrap().into_hex(),
                r.try_get::<i16>("", "packing").map(i64::from).unwrap(),
                r.try_get::<Option<ContentHash>>("", "base_sha256")
                    .unwrap()
                    .map(ContentHash::into_hex),
                r.try_get::<i32>("", "stored")
                    .map(i64::from)
                    .or_else(|_| r.try_get("", "stored"))
                    .unwrap(),
            )
        })
        .collect()
}

/// How the database keeps the digests of revisions and texts, by what each column holds:
/// "blob" for their bytes, "text" for hex digits (as builds before 2026-12-15 wrote them).
async fn digests_kept_as(app: &TestApp) -> String {
    let db = app.store.connection();
    let postgres = db.get_database_backend() == sea_orm::DatabaseBackend::Postgres;
    let (kind, of) = match postgres {
        true => ("pg_typeof", "::text"),
        false => ("typeof", ""),
    };
    let columns = [
        "hash",
        "parent_hash",
        "content_sha256",
        "(SELECT head_hash FROM documents LIMIT 1)",
        "(SELECT sha256 FROM blobs LIMIT 1)",
    ];
    let mut kinds = std::collections::BTreeSet::new();
    for column in columns {
        let sql = format!("SELECT {kind}({column}){of} AS kind FROM revisions WHERE number = 2");
        let row = db
            .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        kinds.insert(row.try_get::<String>("", "kind").unwrap());
    }
    let kinds: Vec<String> = kinds.into_iter().collect();
    match kinds.join(",").as_str() {
        "bytea" => "blob".into(),
        "character varying" => "text".into(),
        other => other.into(),
    }
}

async fn assert_verifies(app: &TestApp) {
    let admin = app.token("Ada Admin", Role::Admin).await;
    let body = app.query_as(Some(&admin), VERIFY, json!({})).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["verification"]["report"]["ok"], true, "{body:#}");
}

async fn a_long_history_is_stored_as_deltas_and_reads_back_whole(app: TestApp) {
    let token = app.editor().await;
    // Longer than a chain of deltas may grow, so that a whole text starts a new one.
    let (id, written) = history(&app, &token, "harbour-budget", 45).await;
    let texts = served(&app, &id).await;
    for (hash, text) in &written {
        assert_eq!(texts[hash].as_deref(), Some(text.as_str()), "revision {hash}");
    }

    let stored = blobs(&app).await;
    let whole: Vec<_> = stored.iter().filter(|b| b.1 == 1).collect();
    assert!(stored.iter().all(|b| b.1 == 1 || b.1 == 2), "every text is packed: {stored:?}");
    assert!((1..=3).contains(&whole.len()), "a whole text per chain: {whole:?}");
    let written_bytes: usize = written.iter().map(|(_, t)| t.len()).sum();
    let stored_bytes: i64 = stored.iter().map(|b| b.3).sum();
    assert!(
        (stored_bytes as usize) * 10 < written_bytes,
        "{stored_bytes} bytes stored for {written_bytes} written"
    );
    // No chain of deltas is longer than the store allows.
    let base: HashMap<&str, Option<&str>> =
        stored.iter().map(|b| (b.0.as_str(), b.2.as_deref())).collect();
    for start in base.keys() {
        let (mut at, mut length) = (*start, 0);
        while let Some(Some(next)) = base.get(at) {
            (at, length) = (next, length + 1);
            assert!(length < 32, "chain from {start} too long");
        }
    }
    assert_verifies(&app).await;
}

async fn a_redacted_text_takes_no_other_text_with_it(app: TestApp) {
    let token = app.editor().await;
    let (id, written) = history(&app, &token, "harbour-budget", 6).await;
    let archivist = app.token("Ada Archivist", Role::Archivist).await;
    // The middle of the chain: the older texts are deltas against it.
    let redacted = &written[3].0;
    let body = app
        .query_as(
            Some(&archivist),
            "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"test\" }) { revision { hash } } }",
            json!({ "h": redacted }),
        )
        .await;
    assert_no_errors(&body);
    let texts = served(&app, &id).await;
    for (hash, text) in &written {
        let expected = (hash != redacted).then_some(text.as_str());
        assert_eq!(texts[hash].as_deref(), expected, "revision {hash}");
    }
    assert_verifies(&app).await;
    // Its successor can still be revised, and the history keeps reading back.
    let text = article(7);
    let body = app.revise(&token, &id, &written.last().unwrap().0, &text).await;
    assert_no_errors(&body);
    assert_eq!(served(&app, &id).await.len(), 7);
}

async fn texts_stored_before_packing_are_packed_by_migrate(app: TestApp) {
    use migration::MigratorTrait;
    let token = app.editor().await;
    let (id, written) = history(&app, &token, "harbour-budget", 8).await;
    let db = &app.schema_connection().await;
    // SQLite's trigger that closed paragraphs in the heads' index and the search index's two
    // unused PostgreSQL indexes come back, then digests go back to hex digits.
    migration::Migrator::down(db, Some(3)).await.unwrap();
    assert_eq!(digests_kept_as(&app).await, "text");
    // Going up again refuses a digest that is not 64 lowercase hex digits, naming its column,
    // and rewrites nothing.
    db.execute_unprepared("UPDATE documents SET head_hash = upper(head_hash)").await.unwrap();
    let refused = migration::Migrator::up(db, None).await.unwrap_err();
    assert!(refused.to_string().contains("documents.head_hash holds a value"), "{refused}");
    assert_eq!(digests_kept_as(&app).await, "text");
    db.execute_unprepared("UPDATE documents SET head_hash = lower(head_hash)").await.unwrap();
    // Headers kept as their members' digests cannot be read by the builds before them: they
    // are written out plain first, by the store at the schema it knows (`migrate` keeps the
    // digests again).
    let refused = migration::Migrator::down(db, Some(1)).await.unwrap_err();
    assert!(refused.to_string().contains("rebuilt from their rows"), "{refused}");
    migration::Migrator::up(db, None).await.unwrap();
    assert_eq!(digests_kept_as(&app).await, "blob");
    assert_eq!(palimpsest::store::headers_for_downgrade(db).await.unwrap(), 8);
    migration::Migrator::down(db, Some(4)).await.unwrap();
    // The change log's history-only column, the contentless search index, the collections,
    // the heads' index's deletes, the change log, the watches' last seen bytes, the index of
    // capture records by base and the captures' tables go first, then the search index's
    // partitions (on PostgreSQL).
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    migration::Migrator::down(db, Some(1)).await.unwrap();
    // Sealed texts cannot be dropped with the keys that open them; opened, they can.
    let refused = migration::Migrator::down(db, Some(1)).await.unwrap_err();
    assert!(refused.to_string().contains("sealed"), "{refused}");
    // Opened by the store at the schema it knows (digests as bytes), then down again past them.
    migration::Migrator::up(db, None).await.unwrap();
    let opened = palimpsest::store::unseal_for_downgrade(db).await.unwrap();
    assert_eq!(opened, 8, "8 texts");
    migration::Migrator::down(db, Some(14)).await.unwrap();
    // The search index (which came after packing, and which `migrate` rebuilds) goes next.
    migration::Migrator::down(db, Some(1)).await.unwrap();
    // Packed texts cannot be dropped with the columns that hold them.
    let refused = migration::Migrator::down(db, Some(1)).await.unwrap_err();
    assert!(refused.to_string().contains("packed"), "{refused}");
    // Unpacked (by the store, at the schema it knows), they can: the database as it was
    // before packing, texts in `content`.
    migration::Migrator::up(db, None).await.unwrap();
    let unpacked = palimpsest::store::unpack_for_downgrade(db).await.unwrap();
    assert_eq!(unpacked, 8, "8 texts (the headers are plain already)");
    migration::Migrator::down(db, Some(9)).await.unwrap();
    let plain = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM blobs WHERE LENGTH(content) > 0",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(plain.try_get::<i64>("", "n").unwrap(), 8);

    palimpsest::store::migrate(db).await.unwrap();
    assert_eq!(digests_kept_as(&app).await, "blob");
    let stored = blobs(&app).await;
    assert!(stored.iter().all(|b| b.1 == 1 || b.1 == 2), "all packed: {stored:?}");
    assert_eq!(stored.iter().filter(|b| b.1 == 2).count(), 7, "the older texts are deltas");
    let texts = served(&app, &id).await;
    for (hash, text) in &written {
        assert_eq!(texts[hash].as_deref(), Some(text.as_str()), "revision {hash}");
    }
    assert_verifies(&app).await;
    // Migrating again finds nothing to pack.
    palimpsest::store::migrate(db).await.unwrap();
    assert_eq!(blobs(&app).await.len(), 8);
    // And the history is searchable again, rebuilt from the texts.
    let body = app
        .query(r#"{ search(query: "harbour", scope: HISTORY) { edges { node { since { number } } } } }"#, json!({}))
        .await;
    assert_no_errors(&body);
    assert!(!body["data"]["search"]["edges"].as_array().unwrap().is_empty(), "{body:#}");
}

/// A header as builds before 2026-12-07 kept every one: a zstd frame with the header's fixed
/// skeleton as its dictionary.
fn header_frame(header: &str) -> Vec<u8> {
    const SKELETON: &[u8] = br#"{"author":"","content_sha256":"","created_at":"2000-01-01T00:00:00.000000Z","document":"","message":"","parent":"","source":"","title":"","type":"palimpsest.revision/v1"}"#;
    zstd::bulk::Compressor::with_dictionary(3, SKELETON)
        .unwrap()
        .compress(header.as_bytes())
        .unwrap()
}

/// The first byte of what each of `hashes` keeps of its header.
async fn kept_header_tags(app: &TestApp, hashes: &[&str]) -> Vec<u8> {
    let db = app.store.connection();
    let mut tags = Vec::new();
    for hash in hashes {
        let hash_bytes = app.digest_literal(hash);
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT packed_header FROM revisions WHERE hash = {hash_bytes}"),
            ))
            .await
            .unwrap()
            .unwrap();
        tags.push(row.try_get_by_index::<Vec<u8>>(0).unwrap()[0]);
    }
    tags
}

async fn header_frames_an_older_build_wrote_become_digests_at_migrate(app: TestApp) {
    let token = app.editor().await;
    let (_, written) = history(&app, &token, "harbour-budget", 3).await;
    let hashes: Vec<&str> = written.iter().map(|(hash, _)| hash.as_str()).collect();
    let mut headers = Vec::new();
    for hash in &hashes {
        let body = app
            .query("query($h: String!) { revision(hash: $h) { header } }", json!({ "h": hash }))
            .await;
        headers.push(body["data"]["revision"]["header"].as_str().unwrap().to_owned());
    }
    // The first two as an older build kept them; the third a frame of a header that is not
    // its row's (a forger's), which must stay as it is.
    let forged = headers[2].replace(r#""message":""#, r#""message":"forged"#);
    assert_ne!(forged, headers[2]);
    let db = app.store.connection();
    for (hash, header) in hashes.iter().zip([&headers[0], &headers[1], &forged]) {
        let hash_bytes = app.digest_literal(hash);
        let frame = app.bytes_literal(&header_frame(header));
        db.execute_unprepared(&format!(
            "UPDATE revisions SET packed_header = {frame} WHERE hash = {hash_bytes}"
        ))
        .await
        .unwrap();
    }
    assert_eq!(kept_header_tags(&app, &hashes).await, [0x28, 0x28, 0x28], "zstd frames");

    palimpsest::store::migrate(&app.schema_connection().await).await.unwrap();
    assert_eq!(kept_header_tags(&app, &hashes).await, [0x01, 0x01, 0x28], "digests but the forged");
    for (hash, header) in hashes.iter().zip([&headers[0], &headers[1], &forged]) {
        let body = app
            .query("query($h: String!) { revision(hash: $h) { header } }", json!({ "h": hash }))
            .await;
        assert_eq!(body["data"]["revision"]["header"], header.as_str(), "{hash}");
    }
    let admin = app.token("Ada Admin", Role::Admin).await;
    let body = app.query_as(Some(&admin), VERIFY, json!({})).await;
    let kinds: Vec<&str> = body["data"]["verification"]["report"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["HEADER_HASH", "HEADER_FIELD"], "the forged header only: {body:#}");
}
