//! Sources, agents and passage-level citations: every verification status, the re-anchoring
//! rule, and bad input that must write nothing.

use palimpsest::store::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    schema:
    sources_and_agents_are_created_and_linked_to_revisions,
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

async fn citations_at_head(app: &TestApp) -> Vec<Value> {
    let body = app
        .query(
            "{ document(slug: \"the-article\") { citations { nodes { lineageId anchor relation origin { id } citingPassage { exact start } } } } }",
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
    assert_eq!(source["kind"], "WEB_PAGE");
    assert_eq!(source["authors"], json!(["A. Writer"]));
    assert_eq!(source["retrievedAt"], "2026-11-25T09:00:00.000000Z");

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
    assert_eq!(body["data"]["node"]["revisions"]["totalCount"], 1);
    assert_eq!(body["data"]["node"]["revisions"]["nodes"][0]["document"]["slug"], "captured");
    assert_eq!(body["data"]["document"]["head"]["source"]["uuid"], source["uuid"]);
    assert_eq!(body["data"]["document"]["sources"]["nodes"][0]["title"], "The article online");

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
    assert_eq!(c["anchor"], "CREATED");
    assert_eq!(c["citingPassage"]["start"], 111);
    assert_eq!(
        c["citingPassage"]["prefix"], " point of diminishing returns.\n\"",
        "32 code points of context"
    );
    assert_eq!(c["verification"]["status"], "VERIFIED");
    assert_eq!(c["verification"]["atGivenPosition"], false, "found, but not at 0..10");
    assert_eq!(c["verification"]["passage"]["start"], 18);
    assert_eq!(c["verification"]["against"]["hash"], pinned);
    assert_eq!(c["currentVerification"]["status"], "VERIFIED");

    let altered = add(&app, &token, json!({
        "documentId": article, "relation": "QUOTES",
        "target": { "documentId": letter, "revision": pinned },
        "targetPassage": { "exact": "Further operations only risk Israeli lives, global standing, and deepen the case against Israel under international law." }
    })).await;
    let c = citation(&altered);
    assert_eq!(c["verification"]["status"], "ALTERED", "{c:#}");
    let similarity = c["verification"]["similarity"].as_f64().unwrap();
    assert!((0.75..1.0).contains(&similarity), "{similarity}");
    assert!(c["verification"]["passage"]["exact"].as_str().unwrap().contains("global legitimacy"));
    let changes = c["verification"]["changes"].as_array().unwrap();
    assert!(
        changes
            .iter()
            .any(|ch| ch["op"] == "DELETE" && ch["text"].as_str().unwrap().contains("standing")),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .any(|ch| ch["op"] == "INSERT" && ch["text"].as_str().unwrap().contains("legitimacy")),
        "{changes:?}"
    );

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
    let statuses: Vec<(String, String)> = body["data"]["document"]["citations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["verification"]["status"].as_str().unwrap().into(),
                n["currentVerification"]["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    let expected = [
        ("VERIFIED", "ALTERED"),
        ("ALTERED", "ALTERED"),
        ("NOT_FOUND", "NOT_FOUND"),
        ("UNVERIFIABLE", "UNVERIFIABLE"),
    ];
    let expected: Vec<(String, String)> =
        expected.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
    assert_eq!(statuses, expected);

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
    let now = citations_at_head(&app).await;
    assert_eq!(now.len(), 2);
    assert_eq!(now[0]["anchor"], "REANCHORED");
    assert_eq!(now[0]["lineageId"], first["lineageId"]);
    assert_eq!(now[0]["origin"]["id"], first["id"]);
    assert_eq!(now[0]["citingPassage"]["start"], 111 + 18);
    assert_eq!(now[1]["anchor"], "CARRIED");

    // 2. The quoted words are reworded: a look-alike is left, but the citation is orphaned.
    let reworded = moved.replace("has been dismantled as", "has been destroyed as");
    let body = app.revise(&token, &article, &head(&app).await, &reworded).await;
    assert_no_errors(&body);
    let now = citations_at_head(&app).await;
    assert_eq!(now[0]["anchor"], "ORPHANED");
    assert_eq!(
        now[0]["citingPassage"]["exact"],
        "Hamas has been dismantled as a military and governmental force"
    );
    assert_eq!(now[0]["citingPassage"]["start"], json!(null));
    assert_eq!(now[0]["lineageId"], first["lineageId"]);

    // 3. The words come back: the citation is anchored again.
    let body = app.revise(&token, &article, &head(&app).await, &moved).await;
    assert_no_errors(&body);
    let now = citations_at_head(&app).await;
    assert_eq!(now[0]["anchor"], "REANCHORED");
    assert_eq!(now[0]["citingPassage"]["start"], 129);

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
    for (input, code, mention) in cases {
        let body = add(&app, &token, input.clone()).await;
        assert_eq!(error_code(&body), code, "{input}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(mention), "{message:?} should mention {mention:?}");
    }
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
    assert_eq!(drift["citation"]["targetPassage"]["exact"], "committee approved the budget");
    assert_eq!(drift["pinned"]["status"], "VERIFIED");
    assert_eq!(drift["pinned"]["against"]["hash"], pinned.as_str());
    assert_ne!(drift["current"]["status"], "VERIFIED");
    assert_eq!(drift["current"]["against"]["hash"], head.as_str());
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
