//! Full-text search over the heads and over the whole history: hits with their documents,
//! revisions, snippets and code-point ranges, ranked; the revisions in which words stood;
//! the query syntax and its errors; paging; and an index that follows every write, redaction
//! and migration.

use expect_test::expect;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    schema:
    heads_are_found_by_words_phrases_and_prefixes_with_snippets_and_ranges,
    history_says_in_which_revisions_the_words_stood,
    malformed_queries_are_refused_saying_what_is_wrong,
    hits_come_in_pages_best_first,
    redaction_and_migration_keep_the_index_true,
    a_revision_that_drops_many_paragraphs_closes_each_at_its_number,
);

const SEARCH: &str = r#"query($q: String!, $scope: SearchScope, $first: Int, $after: String, $filter: SearchFilter) {
  search(query: $q, scope: $scope, first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      document { slug kind } revision { number hash content title }
      since { number } until { number }
      field snippet snippetRanges { start end } ranges { start end } score } } } }"#;

async fn search(app: &TestApp, vars: Value) -> Value {
    let body = app.query(SEARCH, vars).await;
    assert_no_errors(&body);
    body
}

fn hits(body: &Value) -> Vec<Value> {
    body["data"]["search"]["edges"].as_array().unwrap().iter().map(|e| e["node"].clone()).collect()
}

/// A hit as a snapshot shows it: where it stood and what it found, without its revision's
/// hash and its score (which the backends' rankings give differently).
fn shown(hit: &Value) -> String {
    let mut hit = hit.clone();
    hit["revision"]["hash"] = json!("<hash>");
    hit.as_object_mut().unwrap().remove("score");
    serde_json::to_string_pretty(&hit).unwrap()
}

/// The code points `[start, end)` of `text`.
fn slice(text: &str, range: &Value) -> String {
    let (start, end) =
        (range["start"].as_u64().unwrap() as usize, range["end"].as_u64().unwrap() as usize);
    text.chars().skip(start).take(end - start).collect()
}

/// Creates `slug` with each text in turn as a revision; returns the document id.
async fn document(
    app: &TestApp,
    token: &str,
    slug: &str,
    kind: &str,
    title: &str,
    texts: &[&str],
) -> String {
    let body = app
        .query_as(
            Some(token),
            "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { document { id } revision { hash } } }",
            json!({ "input": { "slug": slug, "kind": kind, "title": title, "content": texts[0] } }),
        )
        .await;
    assert_no_errors(&body);
    let id = body["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let mut head = body["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    for text in &texts[1..] {
        let body = app.revise(token, &id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    }
    id
}

async fn heads_are_found_by_words_phrases_and_prefixes_with_snippets_and_ranges(app: TestApp) {
    let token = app.editor().await;
    document(&app, &token, "budget-report", "REPORT", "The annual budget", &[
        "Intro paragraph.\nÉté: the council approved the budget on Tuesday.\nThe budget committee met; budgetary rules apply.\n",
    ]).await;
    document(
        &app,
        &token,
        "letter",
        "LETTER",
        "A letter",
        &["Dear council,\nNothing about money here.\n"],
    )
    .await;

    // A word: both paragraphs of the report, and its title; none of the letter.
    let body = search(&app, json!({ "q": "budget" })).await;
    let found = hits(&body);
    assert_eq!(found.len(), 3, "{body:#}");
    for hit in &found {
        assert_eq!(hit["document"]["slug"], "budget-report");
        assert_eq!(hit["until"], Value::Null);
        let ranges = hit["ranges"].as_array().unwrap();
        assert!(!ranges.is_empty(), "{hit:#}");
        let source = if hit["field"] == "TITLE" {
            hit["revision"]["title"].as_str().unwrap()
        } else {
            hit["revision"]["content"].as_str().unwrap()
        };
        for range in ranges {
            assert_eq!(slice(source, range).to_lowercase(), "budget", "{hit:#}");
        }
        for range in hit["snippetRanges"].as_array().unwrap() {
            assert_eq!(slice(hit["snippet"].as_str().unwrap(), range).to_lowercase(), "budget");
        }
    }
    let scores: Vec<f64> = found.iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "best first: {scores:?}");
    assert!(found.iter().any(|h| h["field"] == "TITLE"));
    // Code points, not bytes: the paragraph after "Été" is found where a selector would say.
    let text = found.iter().find(|h| h["snippet"].as_str().unwrap().starts_with("Été")).unwrap();
    let range = &text["ranges"][0];
    assert_eq!(range["start"], 17 + 30, "{text:#}"); // "Intro paragraph.\n" is 17 code points

    // A phrase; a prefix; an exclusion; a filter by kind.
    let phrase = hits(&search(&app, json!({ "q": "\"approved the budget\"" })).await);
    assert_eq!(phrase.len(), 1);
    assert_eq!(
        slice(phrase[0]["revision"]["content"].as_str().unwrap(), &phrase[0]["ranges"][0]),
        "approved the budget"
    );
    let prefix = hits(&search(&app, json!({ "q": "budg*" })).await);
    let words: Vec<String> = prefix
        .iter()
        .filter(|h| h["field"] == "TEXT")
        .flat_map(|h| {
            h["ranges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| slice(h["revision"]["content"].as_str().unwrap(), r))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(words.contains(&"budgetary".to_owned()), "{words:?}");
    let excluded = hits(&search(&app, json!({ "q": "budget -committee" })).await);
    assert_eq!(excluded.len(), 2, "the paragraph with `committee` is left out");
    let council =
        hits(&search(&app, json!({ "q": "council", "filter": { "kind": "LETTER" } })).await);
    assert_eq!(council.len(), 1);
    assert_eq!(council[0]["document"]["slug"], "letter");
    assert!(hits(&search(&app, json!({ "q": "nowhere" })).await).is_empty());
}

async fn history_says_in_which_revisions_the_words_stood(app: TestApp) {
    let token = app.editor().await;
    document(
        &app,
        &token,
        "minutes",
        "REPORT",
        "Minutes",
        &[
            "The minister resigned on Monday.\nThe budget passed.\n",
            "The budget passed.\n",
            "The budget passed.\nA new minister was named.\n",
        ],
    )
    .await;
    // Gone from the head: nothing now, but the history knows revisions 1 to 2.
    assert!(hits(&search(&app, json!({ "q": "resigned" })).await).is_empty());
    let gone = hits(&search(&app, json!({ "q": "resigned", "scope": "HISTORY" })).await);
    assert_eq!(gone.len(), 1, "{gone:#?}");
    assert_eq!(
        slice(gone[0]["revision"]["content"].as_str().unwrap(), &gone[0]["ranges"][0]),
        "resigned"
    );
    expect![[r#"
        {
          "document": {
            "kind": "REPORT",
            "slug": "minutes"
          },
          "field": "TEXT",
          "ranges": [
            {
              "end": 21,
              "start": 13
            }
          ],
          "revision": {
            "content": "The minister resigned on Monday.\nThe budget passed.\n",
            "hash": "<hash>",
            "number": 1,
            "title": "Minutes"
          },
          "since": {
            "number": 1
          },
          "snippet": "The minister resigned on Monday.",
          "snippetRanges": [
            {
              "end": 21,
              "start": 13
            }
          ],
          "until": {
            "number": 2
          }
        }"#]]
    .assert_eq(&shown(&gone[0]));
    // Kept throughout: one hit since revision 1, still there.
    let kept = hits(&search(&app, json!({ "q": "\"budget passed\"", "scope": "HISTORY" })).await);
    assert_eq!(kept.len(), 1, "{kept:#?}");
    expect![[r#"
        {
          "document": {
            "kind": "REPORT",
            "slug": "minutes"
          },
          "field": "TEXT",
          "ranges": [
            {
              "end": 50,
              "start": 37
            }
          ],
          "revision": {
            "content": "The minister resigned on Monday.\nThe budget passed.\n",
            "hash": "<hash>",
            "number": 1,
            "title": "Minutes"
          },
          "since": {
            "number": 1
          },
          "snippet": "The budget passed.",
          "snippetRanges": [
            {
              "end": 17,
              "start": 4
            }
          ],
          "until": null
        }"#]]
    .assert_eq(&shown(&kept[0]));
    // Two paragraphs with "minister": each with its own range of revisions.
    let mut minister: Vec<(Value, Value)> =
        hits(&search(&app, json!({ "q": "minister", "scope": "HISTORY" })).await)
            .iter()
            .map(|h| (h["since"]["number"].clone(), h["until"]["number"].clone()))
            .collect();
    minister.sort_by_key(|(since, _)| since.as_i64());
    assert_eq!(minister, [(json!(1), json!(2)), (json!(3), Value::Null)]);
}

async fn malformed_queries_are_refused_saying_what_is_wrong(app: TestApp) {
    let mut refusals = String::new();
    for (query, says) in [
        ("", "no word"),
        ("\"open", "not closed"),
        ("-alone", "must not"),
        ("a\"b", "quotation mark"),
        (&"x ".repeat(20), "terms"),
        (&"y".repeat(300), "characters"),
        ("NEAR(a b) OR c:d AND", "no word"),
    ] {
        let body = app.query(SEARCH, json!({ "q": query })).await;
        if says == "no word" && query.starts_with("NEAR") {
            // Engine syntax is not ours: these are words, found or not, never an SQL error.
            assert_no_errors(&body);
            continue;
        }
        assert_eq!(error_code(&body), "BAD_USER_INPUT", "{query:?}: {body:#}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with("query: ") && message.contains(says), "{query:?}: {message}");
        let shown = match query.chars().count() {
            ..=40 => format!("{query:?}"),
            long => format!("{:?}... ({long} characters)", &query[..8]),
        };
        refusals += &format!("{shown}: {message}\n");
    }
    expect![[r#"
        "": query: the query has no word to look for
        "\"open": query: a quotation mark is not closed
        "-alone": query: the query only says what must not be there: add a word that must
        "a\"b": query: a quotation mark inside "a\"b": quote whole phrases, "like this"
        "x x x x x x x x x x x x x x x x x x x x ": query: the query has 20 terms; at most 16
        "yyyyyyyy"... (300 characters): query: the query is 300 characters; at most 256
    "#]]
    .assert_eq(&refusals);
    let body = app.query(SEARCH, json!({ "q": "a", "after": "nonsense" })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app.query(SEARCH, json!({ "q": "a", "first": 101 })).await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
}

async fn hits_come_in_pages_best_first(app: TestApp) {
    let token = app.editor().await;
    let texts: Vec<String> = (1..=7)
        .map(|n| format!("Paragraph {n} mentions harbour{}.\n", " harbour".repeat(n % 3)))
        .collect();
    let joined = texts.concat();
    document(&app, &token, "harbour", "OTHER", "Harbour", &[joined.as_str()]).await;
    let all = hits(&search(&app, json!({ "q": "harbour", "first": 100 })).await);
    assert_eq!(all.len(), 8, "seven paragraphs and the title");
    let mut paged = Vec::new();
    let mut after = Value::Null;
    loop {
        let body = search(&app, json!({ "q": "harbour", "first": 3, "after": after })).await;
        paged.extend(hits(&body));
        let info = &body["data"]["search"]["pageInfo"];
        if info["hasNextPage"] == false {
            break;
        }
        after = info["endCursor"].clone();
    }
    let key = |h: &Value| (h["snippet"].as_str().unwrap().to_owned(), h["field"].clone());
    assert_eq!(paged.iter().map(key).collect::<Vec<_>>(), all.iter().map(key).collect::<Vec<_>>());
}

/// More paragraphs dropped by one revision than a statement closes at once on SQLite (500;
/// PostgreSQL closes a document's in one): each is closed, at that revision, and the
/// paragraphs it kept stay open.
async fn a_revision_that_drops_many_paragraphs_closes_each_at_its_number(app: TestApp) {
    let token = app.editor().await;
    let text = |word: &str| -> String {
        (0..1200)
            .map(|i| format!("entry {i} {}\n", if i % 100 == 0 { "kept" } else { word }))
            .collect()
    };
    let (before, after) = (text("walrus"), text("narwhal"));
    document(&app, &token, "ledger", "REPORT", "Ledger", &[&before, &after]).await;
    assert!(hits(&search(&app, json!({ "q": "walrus" })).await).is_empty());
    let kept = hits(&search(&app, json!({ "q": "kept", "first": 100 })).await);
    assert_eq!(kept.len(), 12, "{kept:#?}");
    assert!(kept.iter().all(|h| h["since"]["number"] == 1 && h["until"].is_null()));
    for (phrase, since, until) in [
        ("\"entry 1 walrus\"", 1, json!({ "number": 2 })),
        ("\"entry 1199 narwhal\"", 2, Value::Null),
    ] {
        let found = hits(&search(&app, json!({ "q": phrase, "scope": "HISTORY" })).await);
        assert_eq!(found.len(), 1, "{phrase}: {found:#?}");
        assert_eq!(found[0]["since"]["number"], since, "{phrase}");
        assert_eq!(found[0]["until"], until, "{phrase}");
    }
    let dropped = search(&app, json!({ "q": "walrus", "scope": "HISTORY", "first": 100 })).await;
    assert_eq!(hits(&dropped).len(), 100);
    assert!(hits(&dropped).iter().all(|h| h["until"]["number"] == 2));
}

async fn redaction_and_migration_keep_the_index_true(app: TestApp) {
    let token = app.editor().await;
    document(
        &app,
        &token,
        "private",
        "LETTER",
        "Private",
        &["My address is 12 Elm Street.\nKind regards.\n", "Kind regards.\n"],
    )
    .await;
    let first = app
        .query(
            r#"{ document(slug: "private") { revision: revisions(last: 1) { nodes { hash } } } }"#,
            json!({}),
        )
        .await;
    let first =
        first["data"]["document"]["revision"]["nodes"][0]["hash"].as_str().unwrap().to_owned();
    assert_eq!(hits(&search(&app, json!({ "q": "elm", "scope": "HISTORY" })).await).len(), 1);

    // After a rebuild from the stored texts (what `migrate` does for a database written
    // before search), the same hits.
    let before = search(&app, json!({ "q": "regards", "scope": "HISTORY" })).await;
    let db = palimpsest::store::connect(&app.database_url).await.unwrap();
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("DELETE FROM search_passages").await.unwrap();
    assert!(hits(&search(&app, json!({ "q": "regards" })).await).is_empty());
    palimpsest::store::migrate(&db).await.unwrap();
    let after = search(&app, json!({ "q": "regards", "scope": "HISTORY" })).await;
    assert_eq!(hits(&after).len(), 1);
    assert_eq!(hits(&after)[0]["since"], hits(&before)[0]["since"]);

    // Redacted: the words only that revision had are no longer found.
    let archivist = app.token("Arthur Archivist", palimpsest::store::Role::Archivist).await;
    let body = app
        .query_as(
            Some(&archivist),
            "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"personal data\" }) { revision { hash } } }",
            json!({ "h": first }),
        )
        .await;
    assert_no_errors(&body);
    assert!(hits(&search(&app, json!({ "q": "elm", "scope": "HISTORY" })).await).is_empty());
    // What other revisions still hold stays findable, without ranges in the redacted text.
    let regards = hits(&search(&app, json!({ "q": "regards", "scope": "HISTORY" })).await);
    assert_eq!(regards.len(), 1);
    assert_eq!(regards[0]["since"]["number"], 1);
    assert_eq!(regards[0]["ranges"], Value::Null, "the revision's text is gone");
    // The paragraph itself is read from a revision that still holds it.
    assert_eq!(regards[0]["snippet"], "Kind regards.");

    // Words that stood in two revisions, both redacted (one after the other, in either order),
    // are gone too.
    document(
        &app,
        &token,
        "twice",
        "LETTER",
        "Twice",
        &[
            "Always here.\n",
            "Always here.\nThe secret code is 1234.\n",
            "Always here.\nThe secret code is 1234.\nAnd more.\n",
            "Always here.\n",
        ],
    )
    .await;
    let hashes = app
        .query(
            r#"{ document(slug: "twice") { revisions(first: 4) { nodes { number hash } } } }"#,
            json!({}),
        )
        .await;
    let hash_of = |n: i64| {
        hashes["data"]["document"]["revisions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["number"] == n)
            .unwrap()["hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(hits(&search(&app, json!({ "q": "secret", "scope": "HISTORY" })).await).len(), 1);
    for n in [3, 2] {
        let body = app
            .query_as(
                Some(&archivist),
                "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"personal data\" }) { revision { hash } } }",
                json!({ "h": hash_of(n) }),
            )
            .await;
        assert_no_errors(&body);
        let left = hits(&search(&app, json!({ "q": "secret", "scope": "HISTORY" })).await);
        assert_eq!(left.len(), usize::from(n == 3), "after redacting revision {n}: {left:#?}");
    }
    assert!(
        hits(&search(&app, json!({ "q": "\"and more\"", "scope": "HISTORY" })).await).is_empty()
    );
    assert_eq!(hits(&search(&app, json!({ "q": "always", "scope": "HISTORY" })).await).len(), 1);
}
