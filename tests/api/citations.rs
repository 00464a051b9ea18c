//! Sources, agents and passage-level citations: every verification status, the re-anchoring
//! rule, and bad input that must write nothing.

use expect_test::expect;
use palimpsest::store::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, compact_lines, error_code, scrubbed, snapshot};

crate::on_both_backends!(
    schema:
    sources_and_agents_are_created_and_linked_to_revisions,
    a_sources_revisions_are_paged_by_cursor_both_ways,
    each_verification_status_is_reported,
    citations_follow_revisions_while_their_passage_is_there,
    bad_citations_are_refused_and_nothing_is_written,
    drifted_citations_are_those_whose_quote_fares_differently_at_the_head,
);

const ADD: &str = "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation {
  id lineageId relation anchor citingPassage { exact prefix suffix start end }
  targetPassage { exact start end }
  verification { status reason atGivenPosition similarity passage { exact start end } changes { op text } against { hash } }
  currentVerification { status against { hash } }
} } }";

const CREATE_SOURCE: &str = "mutation($input: CreateSourceInput!) { createSource(input: $input) { source {
  id uuid kind title url publisher authors recipients publishedAt retrievedAt archiveUrl license } } }";

const LETTER: &str = "To the President:\n\
Hamas has been dismantled as a military and governmental force.\n\
Further operations only risk Israeli lives, global legitimacy, and deepen the case against Israel under international law.\n";

const ARTICLE: &str = "Security chiefs write to Trump\n\
The officials argue that the war has crossed the point of diminishing returns.\n\
\"Hamas has been dismantled as a military and governmental force,\" the letter says.\n";

async fn add(app: &TestApp, token: &str, input: Value) -> Value {
    app.query_as(Some(token), ADD, json!({ "input": input })).await
}

fn citation(body: &Value) -> &Value {
    assert_no_errors(body);
    &body["data"]["addCitation"]["citation"]
}

async fn head(app: &TestApp) -> String {
    let body = app.query("{ document(slug: \"the-article\") { head { hash } } }", json!({})).await;
    body["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned()
}

/// The citations at the article's head (revision `revision`), a line each, the citations
/// `named` so far by name; the head's are named (`<quote in n>`, `<whole in n>`) from then on.
async fn at_head(app: &TestApp, named: &mut Vec<(String, String)>, revision: u32) -> String {
    let now = citations_at_head(app).await;
    for (citation, what) in now.iter().zip(["quote", "whole"]) {
        let name = format!("<{what} in {revision}>");
        named.push((citation["id"].as_str().unwrap().to_owned(), name));
    }
    let names: Vec<(&str, &str)> = named.iter().map(|(v, n)| (v.as_str(), n.as_str())).collect();
    compact_lines(&scrubbed(&json!(now), &names))
}

async fn citations_at_head(app: &TestApp) -> Vec<Value> {
    let body = app
        .query(
            "{ document(slug: \"the-article\") { citations { nodes { id lineageId anchor relation origin { id } citingPassage { exact start } } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    body["data"]["document"]["citations"]["nodes"].as_array().unwrap().clone()
}

async fn count(app: &TestApp) -> u64 {
    let body = app
        .query("{ document(slug: \"the-article\") { citations { totalCount } } }", json!({}))
        .await;
    body["data"]["document"]["citations"]["totalCount"].as_u64().unwrap()
}

/// A source's revisions page by `(time, hash)` cursors, newest first: walked forward one at a
/// time and back again, they are the whole list, each once.
async fn a_sources_revisions_are_paged_by_cursor_both_ways(app: TestApp) {
    let editor = app.editor().await;
    let body = app
        .query_as(
            Some(&editor),
            CREATE_SOURCE,
            json!({ "input": { "kind": "WEB_PAGE", "title": "Paged", "authors": [], "recipients": [] } }),
        )
        .await;
    assert_no_errors(&body);
    let source = body["data"]["createSource"]["source"]["id"].clone();
    for slug in ["first", "second", "third", "fourth"] {
        let created = app
            .query_as(
                Some(&editor),
                crate::helpers::CREATE_DOCUMENT,
                json!({ "input": { "slug": slug, "title": slug, "kind": "ARTICLE", "content": format!("{slug}\n"), "source": source } }),
            )
            .await;
        assert_no_errors(&created);
    }
    let page = |args: String| {
        let app = &app;
        let source = source.clone();
        async move {
            let query = format!(
                "query($id: ID!) {{ node(id: $id) {{ ... on Source {{ revisions({args}) {{
                   edges {{ cursor node {{ hash }} }} }} }} }} }}"
            );
            let body = app.query(&query, json!({ "id": source })).await;
            assert_no_errors(&body);
            body["data"]["node"]["revisions"]["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| (e["cursor"].as_str().unwrap().to_owned(), e["node"]["hash"].to_string()))
                .collect::<Vec<_>>()
        }
    };
    let all: Vec<String> = page("first: 10".into()).await.into_iter().map(|(_, h)| h).collect();
    assert_eq!(all.len(), 4);
    let (mut forward, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let after = cursor.as_ref().map_or(String::new(), |c| format!(", after: \"{c}\""));
        let edges = page(format!("first: 1{after}")).await;
        let Some((at, hash)) = edges.into_iter().next() else { break };
        forward.push(hash);
        cursor = Some(at);
    }
    assert_eq!(forward, all, "forward by `after`");
    let (mut back, mut cursor) = (Vec::new(), None::<String>);
    loop {
        let before = cursor.as_ref().map_or(String::new(), |c| format!(", before: \"{c}\""));
        let edges = page(format!("last: 1{before}")).await;
        let Some((at, hash)) = edges.into_iter().next() else { break };
        back.insert(0, hash);
        cursor = Some(at);
    }
    assert_eq!(back, all, "back by `before`");
}

async fn sources_and_agents_are_created_and_linked_to_revisions(app: TestApp) {
    let editor = app.editor().await;
    let body = app
        .query_as(
            Some(&editor),
            CREATE_SOURCE,
            json!({ "input": {
                "kind": "WEB_PAGE", "title": "The article online", "url": "https://example.org/article",
                "publisher": "Example News", "authors": ["A. Writer"], "recipients": [],
                "publishedAt": "2025-08-04T09:00:00Z", "retrievedAt": "2026-11-25T10:00:00+01:00",
                "archiveUrl": "https://web.archive.org/web/2025/https://example.org/article", "license": "CC BY 4.0"
            } }),
        )
        .await;
    assert_no_errors(&body);
    let source = &body["data"]["createSource"]["source"];
    // Times are normalized to UTC with microseconds (a snapshot shows any time as `<time>`).
    assert_eq!(source["retrievedAt"], "2026-11-25T09:00:00.000000Z");
    assert_eq!(source["publishedAt"], "2025-08-04T09:00:00.000000Z");
    let names =
        [(source["id"].as_str().unwrap(), "<id>"), (source["uuid"].as_str().unwrap(), "<uuid>")];
    expect![[r#"
        {
          "archiveUrl": "https://web.archive.org/web/2025/https://example.org/article",
          "authors": [
            "A. Writer"
          ],
          "id": "<id>",
          "kind": "WEB_PAGE",
          "license": "CC BY 4.0",
          "publishedAt": "<time>",
          "publisher": "Example News",
          "recipients": [],
          "retrievedAt": "<time>",
          "title": "The article online",
          "url": "https://example.org/article",
          "uuid": "<uuid>"
        }"#]]
    .assert_eq(&snapshot(source, &names));

    let created = app
        .query_as(
            Some(&editor),
            crate::helpers::CREATE_DOCUMENT,
            json!({ "input": { "slug": "captured", "title": "Captured", "kind": "ARTICLE", "content": "text\n", "source": source["id"] } }),
        )
        .await;
    assert_no_errors(&created);
    let body = app
        .query(
            "query($id: ID!) { node(id: $id) { ... on Source { revisions { totalCount nodes { document { slug } } } } }
               document(slug: \"captured\") { head { source { uuid } } sources { totalCount nodes { title } } } }",
            json!({ "id": source["id"] }),
        )
        .await;
    assert_no_errors(&body);
    expect![[r#"
        {
          "document": {
            "head": {
              "source": {
                "uuid": "<uuid>"
              }
            },
            "sources": {
              "nodes": [
                {
                  "title": "The article online"
                }
              ],
              "totalCount": 1
            }
          },
          "node": {
            "revisions": {
              "nodes": [
                {
                  "document": {
                    "slug": "captured"
                  }
                }
              ],
              "totalCount": 1
            }
          }
        }"#]]
    .assert_eq(&snapshot(&body["data"], &names));

    let bad = app
        .query_as(Some(&editor), CREATE_SOURCE, json!({ "input": { "url": "not a url" } }))
        .await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let reader = app.token("Reader", Role::Reader).await;
    let forbidden =
        app.query_as(Some(&reader), CREATE_SOURCE, json!({ "input": { "title": "x" } })).await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");

    let agent = "mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { name kind } } }";
    let input =
        json!({ "input": { "name": "Commanders for Israel's Security", "kind": "ORGANIZATION" } });
    assert_eq!(error_code(&app.query_as(Some(&editor), agent, input.clone()).await), "FORBIDDEN");
    let admin = app.token("Admin", Role::Admin).await;
    let body = app.query_as(Some(&admin), agent, input).await;
    assert_no_errors(&body);
    assert_eq!(body["data"]["createAgent"]["agent"]["kind"], "ORGANIZATION");
    let blank = app
        .query_as(Some(&admin), agent, json!({ "input": { "name": " ", "kind": "PERSON" } }))
        .await;
    assert_eq!(error_code(&blank), "BAD_USER_INPUT");
}

/// A cited letter (with text in the corpus) and an article citing it; returns their ids and
/// the letter's first revision hash.
async fn letter_and_article(app: &TestApp, token: &str) -> (String, String, String) {
    let letter = app.create_document(token, "the-letter", LETTER).await;
    let article = app.create_document(token, "the-article", ARTICLE).await;
    (
        letter["document"]["id"].as_str().unwrap().to_owned(),
        article["document"]["id"].as_str().unwrap().to_owned(),
        letter["revision"]["hash"].as_str().unwrap().to_owned(),
    )
}

async fn each_verification_status_is_reported(app: TestApp) {
    let token = app.editor().await;
    let (letter, article, pinned) = letter_and_article(&app, &token).await;
    let quote = "Hamas has been dismantled as a military and governmental force";

    let verified = add(
        &app,
        &token,
        json!({
            "documentId": article, "relation": "QUOTES",
            "target": { "documentId": letter, "revision": pinned },
            "passage": { "exact": quote },
            "targetPassage": { "exact": quote, "start": 0, "end": 10 }
        }),
    )
    .await;
    let c = citation(&verified);
    // Found in the letter, but not at 0..10 (`atGivenPosition`); the citing passage with 32
    // code points of context either side.
    let names = [(c["id"].as_str().unwrap(), "<id>"), (pinned.as_str(), "<pinned>")];
    expect![[r#"
        {
          "anchor": "CREATED",
          "citingPassage": {
            "end": 173,
            "exact": "Hamas has been dismantled as a military and governmental force",
            "prefix": " point of diminishing returns.\n\"",
            "start": 111,
            "suffix": ",\" the letter says.\n"
          },
          "currentVerification": {
            "against": {
              "hash": "<pinned>"
            },
            "status": "VERIFIED"
          },
          "id": "<id>",
          "lineageId": "<id>",
          "relation": "QUOTES",
          "targetPassage": {
            "end": 10,
            "exact": "Hamas has been dismantled as a military and governmental force",
            "start": 0
          },
          "verification": {
            "against": {
              "hash": "<pinned>"
            },
            "atGivenPosition": false,
            "changes": null,
            "passage": {
              "end": 80,
              "exact": "Hamas has been dismantled as a military and governmental force",
              "start": 18
            },
            "reason": "the exact words are in the cited text, but not at the given position",
            "similarity": 1.0,
            "status": "VERIFIED"
          }
        }"#]]
    .assert_eq(&snapshot(c, &names));

    let altered = add(&app, &token, json!({
        "documentId": article, "relation": "QUOTES",
        "target": { "documentId": letter, "revision": pinned },
        "targetPassage": { "exact": "Further operations only risk Israeli lives, global standing, and deepen the case against Israel under international law." }
    })).await;
    let c = citation(&altered);
    assert_eq!(c["verification"]["status"], "ALTERED", "{c:#}");
    let similarity = c["verification"]["similarity"].as_f64().unwrap();
    assert!((0.75..1.0).contains(&similarity), "{similarity}");
    // What the letter says instead, and the changes from the quote to it.
    expect![[r#"
        {
          "against": {
            "hash": "<pinned>"
          },
          "atGivenPosition": null,
          "changes": [
            {
              "op": "EQUAL",
              "text": "Further operations only risk Israeli lives, global "
            },
            {
              "op": "DELETE",
              "text": "standing,"
            },
            {
              "op": "INSERT",
              "text": "legitimacy,"
            },
            {
              "op": "EQUAL",
              "text": " and deepen the case against Israel under international law."
            }
          ],
          "passage": {
            "end": 204,
            "exact": "Further operations only risk Israeli lives, global legitimacy, and deepen the case against Israel under international law.",
            "start": 82
          },
          "reason": "a close passage is in the cited text, but not the exact words",
          "similarity": 0.9696969985961914,
          "status": "ALTERED"
        }"#]].assert_eq(&snapshot(&c["verification"], &[(pinned.as_str(), "<pinned>")]));

    let not_found = add(&app, &token, json!({
        "documentId": article, "relation": "QUOTES",
        "target": { "documentId": letter, "revision": pinned },
        "targetPassage": { "exact": "We demand an immediate and unconditional surrender of every party involved." }
    })).await;
    assert_eq!(citation(&not_found)["verification"]["status"], "NOT_FOUND");

    let source = app
        .query_as(
            Some(&token),
            CREATE_SOURCE,
            json!({ "input": { "kind": "LETTER", "title": "The letter itself" } }),
        )
        .await;
    let source_id = source["data"]["createSource"]["source"]["id"].clone();
    let external = add(
        &app,
        &token,
        json!({
            "documentId": article, "relation": "PARAPHRASES", "target": { "sourceId": source_id },
            "passage": { "exact": quote }
        }),
    )
    .await;
    let c = citation(&external);
    assert_eq!(c["verification"]["status"], "UNVERIFIABLE");
    assert_eq!(c["currentVerification"]["status"], "UNVERIFIABLE");

    // Drift: the letter is edited later; the pinned verdict stands, the current one changes.
    let body = app
        .revise(
            &token,
            &letter,
            &pinned,
            &LETTER.replace("Hamas has been dismantled", "Hamas has been weakened"),
        )
        .await;
    assert_no_errors(&body);
    let body = app
        .query(
            "{ document(slug: \"the-article\") { citations { totalCount nodes { relation verification { status } currentVerification { status } } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    let citations = &body["data"]["document"]["citations"];
    assert_eq!(citations["totalCount"], 4);
    expect![[r#"
        {"currentVerification":{"status":"ALTERED"},"relation":"QUOTES","verification":{"status":"VERIFIED"}}
        {"currentVerification":{"status":"ALTERED"},"relation":"QUOTES","verification":{"status":"ALTERED"}}
        {"currentVerification":{"status":"NOT_FOUND"},"relation":"QUOTES","verification":{"status":"NOT_FOUND"}}
        {"currentVerification":{"status":"UNVERIFIABLE"},"relation":"PARAPHRASES","verification":{"status":"UNVERIFIABLE"}}
    "#]].assert_eq(&compact_lines(&citations["nodes"]));

    let cited_by = app.query("{ document(slug: \"the-letter\") { citedBy { totalCount nodes { citingDocument { slug } } } } }", json!({})).await;
    assert_eq!(cited_by["data"]["document"]["citedBy"]["totalCount"], 3);
}

async fn citations_follow_revisions_while_their_passage_is_there(app: TestApp) {
    let token = app.editor().await;
    let (letter, article, _) = letter_and_article(&app, &token).await;
    let quoted = add(
        &app,
        &token,
        json!({
            "documentId": article, "relation": "QUOTES", "target": { "documentId": letter },
            "passage": { "exact": "Hamas has been dismantled as a military and governmental force" }
        }),
    )
    .await;
    let first = citation(&quoted).clone();
    let whole = add(
        &app,
        &token,
        json!({ "documentId": article, "relation": "CITES", "target": { "documentId": letter } }),
    )
    .await;
    assert_no_errors(&whole);

    // 1. A paragraph is added before the passage: it moves, and the citation follows it.
    let moved = format!("A new first line.\n{ARTICLE}");
    let body = app.revise(&token, &article, &head(&app).await, &moved).await;
    assert_no_errors(&body);
    // The quote 18 code points further on, in the lineage of the citation first made and
    // from it; the citation of the whole letter carried over as it was.
    let mut named = vec![
        (first["id"].as_str().unwrap().to_owned(), "<quote in 1>".to_owned()),
        (
            whole["data"]["addCitation"]["citation"]["id"].as_str().unwrap().to_owned(),
            "<whole in 1>".to_owned(),
        ),
    ];
    expect![[r#"
        {"anchor":"REANCHORED","citingPassage":{"exact":"Hamas has been dismantled as a military and governmental force","start":129},"id":"<quote in 2>","lineageId":"<quote in 1>","origin":{"id":"<quote in 1>"},"relation":"QUOTES"}
        {"anchor":"CARRIED","citingPassage":null,"id":"<whole in 2>","lineageId":"<whole in 1>","origin":{"id":"<whole in 1>"},"relation":"CITES"}
    "#]].assert_eq(&at_head(&app, &mut named, 2).await);

    // 2. The quoted words are reworded: a look-alike is left, but the citation is orphaned.
    let reworded = moved.replace("has been dismantled as", "has been destroyed as");
    let body = app.revise(&token, &article, &head(&app).await, &reworded).await;
    assert_no_errors(&body);
    expect![[r#"
        {"anchor":"ORPHANED","citingPassage":{"exact":"Hamas has been dismantled as a military and governmental force","start":null},"id":"<quote in 3>","lineageId":"<quote in 1>","origin":{"id":"<quote in 2>"},"relation":"QUOTES"}
        {"anchor":"CARRIED","citingPassage":null,"id":"<whole in 3>","lineageId":"<whole in 1>","origin":{"id":"<whole in 2>"},"relation":"CITES"}
    "#]].assert_eq(&at_head(&app, &mut named, 3).await);

    // 3. The words come back: the citation is anchored again.
    let body = app.revise(&token, &article, &head(&app).await, &moved).await;
    assert_no_errors(&body);
    expect![[r#"
        {"anchor":"REANCHORED","citingPassage":{"exact":"Hamas has been dismantled as a military and governmental force","start":129},"id":"<quote in 4>","lineageId":"<quote in 1>","origin":{"id":"<quote in 3>"},"relation":"QUOTES"}
        {"anchor":"CARRIED","citingPassage":null,"id":"<whole in 4>","lineageId":"<whole in 1>","origin":{"id":"<whole in 3>"},"relation":"CITES"}
    "#]].assert_eq(&at_head(&app, &mut named, 4).await);

    // The first revision still holds the citation as it was made; citedBy counts it once.
    let body = app
        .query(
            "{ document(slug: \"the-article\") { revisions(last: 1) { nodes { number citations { totalCount nodes { anchor } } } } }
               letter: document(slug: \"the-letter\") { citedBy { totalCount } } }",
            json!({}),
        )
        .await;
    let oldest = &body["data"]["document"]["revisions"]["nodes"][0];
    assert_eq!(oldest["number"], 1);
    assert_eq!(oldest["citations"]["nodes"][0]["anchor"], "CREATED");
    assert_eq!(body["data"]["letter"]["citedBy"]["totalCount"], 2);
}

async fn bad_citations_are_refused_and_nothing_is_written(app: TestApp) {
    let token = app.editor().await;
    let (letter, article, pinned) = letter_and_article(&app, &token).await;
    let other = app.create_document(&token, "other", "other text\n").await;
    let other_hash = other["revision"]["hash"].as_str().unwrap();
    let base = |extra: Value| {
        let mut input = json!({ "documentId": article, "relation": "QUOTES", "target": { "documentId": letter } });
        for (k, v) in extra.as_object().unwrap() {
            input[k] = v.clone();
        }
        input
    };
    let before = count(&app).await;
    let cases = [
        (base(json!({ "passage": { "start": 5, "end": 5000 } })), "BAD_USER_INPUT", "out of range"),
        (
            base(json!({ "passage": { "start": 0, "end": 8, "exact": "Nothing!" } })),
            "BAD_USER_INPUT",
            "not \"Nothing!\"",
        ),
        (
            base(json!({ "passage": { "exact": "words the article never says" } })),
            "BAD_USER_INPUT",
            "not in the text",
        ),
        (base(json!({ "passage": { "exact": "the" } })), "BAD_USER_INPUT", "occurs"),
        (base(json!({ "passage": { "start": -1, "end": 3 } })), "BAD_USER_INPUT", "negative"),
        (base(json!({ "passage": { "start": 3 } })), "BAD_USER_INPUT", "go together"),
        (base(json!({ "targetPassage": { "start": 9, "end": 3 } })), "BAD_USER_INPUT", "smaller"),
        (
            base(json!({ "target": { "documentId": letter, "revision": other_hash } })),
            "BAD_USER_INPUT",
            "belongs to",
        ),
        (
            base(json!({ "target": { "documentId": letter, "revision": "0".repeat(64) } })),
            "NOT_FOUND",
            "revision",
        ),
        (
            base(json!({ "target": { "documentId": uuid::Uuid::now_v7().to_string() } })),
            "NOT_FOUND",
            "document",
        ),
        (
            base(json!({ "target": { "sourceId": uuid::Uuid::now_v7().to_string() } })),
            "NOT_FOUND",
            "source",
        ),
        (
            base(
                json!({ "target": { "documentId": letter, "sourceId": uuid::Uuid::now_v7().to_string() } }),
            ),
            "BAD_USER_INPUT",
            "exactly one",
        ),
        (base(json!({ "target": {} })), "BAD_USER_INPUT", "exactly one"),
        (base(json!({ "expectedHead": pinned })), "CONFLICT", "moved on"),
        (base(json!({ "documentId": uuid::Uuid::now_v7().to_string() })), "NOT_FOUND", "document"),
        (base(json!({ "relation": "LIKES" })), "BAD_USER_INPUT", "LIKES"),
    ];
    let mut refusals = String::new();
    for (input, code, mention) in cases {
        let body = add(&app, &token, input.clone()).await;
        assert_eq!(error_code(&body), code, "{input}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{message:?} should mention {mention:?}");
        refusals += &format!("{code} {message:?}\n");
    }
    let article_head = head(&app).await;
    let names = [
        (pinned.as_str(), "<letter's head>"),
        (other_hash, "<other's head>"),
        (article_head.as_str(), "<article's head>"),
    ];
    expect![[r#"
        BAD_USER_INPUT "passage: `start` 5 and `end` 5000 are out of range for a text of 193 code points"
        BAD_USER_INPUT "passage: the text at 0..8 is \"Security\", not \"Nothing!\""
        BAD_USER_INPUT "passage: \"words the article never says\" is not in the text"
        BAD_USER_INPUT "passage: \"the\" occurs 3 times; add `prefix`, `suffix` or a position"
        BAD_USER_INPUT "passage.start must not be negative, not -1"
        BAD_USER_INPUT "passage: `start` and `end` go together"
        BAD_USER_INPUT "targetPassage: `start` must be smaller than `end` (given 9 and 3)"
        BAD_USER_INPUT "target.revision: revision <other's head> belongs to document <uuid>, not <uuid>"
        NOT_FOUND "revision 0000000000000000000000000000000000000000000000000000000000000000 was not found"
        NOT_FOUND "document <uuid> was not found"
        NOT_FOUND "source <uuid> was not found"
        BAD_USER_INPUT "target: give exactly one of documentId and sourceId"
        BAD_USER_INPUT "target: give exactly one of documentId and sourceId"
        CONFLICT "the head has moved on: expected <letter's head>, the head is now <article's head>"
        NOT_FOUND "document <uuid> was not found"
        BAD_USER_INPUT "Invalid value for argument \"input.relation\", enumeration type \"CitationRelation\" does not contain the value \"LIKES\""
    "#]].assert_eq(scrubbed(&json!(refusals), &names).as_str().unwrap());
    assert_eq!(count(&app).await, before);
    let anonymous = app.query(ADD, json!({ "input": base(json!({})) })).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
}

/// `Query.driftedCitations`: a pinned quote that stopped being true at the cited document's
/// head is listed with both verdicts; one that still holds is not; the list pages by windows.
async fn drifted_citations_are_those_whose_quote_fares_differently_at_the_head(app: TestApp) {
    let token = app.editor().await;
    let report = app
        .create_document(
            &token,
            "minutes",
            "The committee approved the budget.\nThe chair thanked the members.\n",
        )
        .await;
    let report_id = report["document"]["id"].as_str().unwrap().to_owned();
    let pinned = report["revision"]["hash"].as_str().unwrap().to_owned();
    let note = app
        .create_document(&token, "note", "It approved the budget, and thanked the members.\n")
        .await;
    let note_id = note["document"]["id"].as_str().unwrap().to_owned();
    for (passage, quote) in [
        ("approved the budget", "committee approved the budget"),
        ("thanked the members", "chair thanked the members"),
    ] {
        let body = add(
            &app,
            &token,
            json!({
            "documentId": note_id, "relation": "QUOTES",
            "passage": { "exact": passage },
            "target": { "documentId": report_id, "revision": pinned },
            "targetPassage": { "exact": quote } }),
        )
        .await;
        assert_eq!(citation(&body)["verification"]["status"], "VERIFIED", "{body:#}");
    }
    const DRIFTED: &str = "query($first: Int, $after: String) { driftedCitations(first: $first, after: $after) {
        drifts { citation { targetPassage { exact } } pinned { status against { hash } } current { status against { hash } } }
        hasNextPage endCursor } }";
    let none = app.query(DRIFTED, json!({})).await;
    assert_no_errors(&none);
    assert_eq!(
        none["data"]["driftedCitations"]["drifts"],
        json!([]),
        "the cited head has not moved"
    );

    // The report is revised: the budget was rejected, the thanks stay.
    let revised = app
        .revise(
            &token,
            &report_id,
            &pinned,
            "The committee rejected the whole budget.\nThe chair thanked the members.\n",
        )
        .await;
    assert_no_errors(&revised);
    let head = revised["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let body = app.query(DRIFTED, json!({})).await;
    assert_no_errors(&body);
    let drifts = body["data"]["driftedCitations"]["drifts"].as_array().unwrap();
    assert_eq!(drifts.len(), 1, "{body:#}");
    let drift = &drifts[0];
    assert_ne!(drift["current"]["status"], "VERIFIED");
    let names = [(pinned.as_str(), "<pinned>"), (head.as_str(), "<head>")];
    expect![[r#"
        {
          "citation": {
            "targetPassage": {
              "exact": "committee approved the budget"
            }
          },
          "current": {
            "against": {
              "hash": "<head>"
            },
            "status": "NOT_FOUND"
          },
          "pinned": {
            "against": {
              "hash": "<pinned>"
            },
            "status": "VERIFIED"
          }
        }"#]]
    .assert_eq(&snapshot(drift, &names));
    assert_eq!(body["data"]["driftedCitations"]["hasNextPage"], false);

    // Windows of one candidate: the drift is in one of them, and the pages end.
    let mut found = 0;
    let mut after = Value::Null;
    for _ in 0..5 {
        let page = app.query(DRIFTED, json!({ "first": 1, "after": after })).await;
        assert_no_errors(&page);
        found += page["data"]["driftedCitations"]["drifts"].as_array().unwrap().len();
        if page["data"]["driftedCitations"]["hasNextPage"] == false {
            break;
        }
        after = page["data"]["driftedCitations"]["endCursor"].clone();
    }
    assert_eq!(found, 1);
    let bad = app.query(DRIFTED, json!({ "after": "nonsense" })).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
    let bad = app.query(DRIFTED, json!({ "first": 0 })).await;
    assert_eq!(error_code(&bad), "BAD_USER_INPUT");
}
