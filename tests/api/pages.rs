//! The HTML pages a person reads: a revision's page (its text, where it stands in the history,
//! its citations with their verdicts, its hashes), a document's history, and the word diff
//! between two revisions; checked as markup on both databases, and in a real browser at
//! desktop and phone width (`tests/browser/check.py`, Debian's chromium).

use palimpsest::store::Role;
use serde_json::json;

use crate::helpers::{Backend, TestApp, assert_no_errors, spawn_app};

crate::on_both_backends!(
    revision_pages_show_their_place_in_the_history_citations_and_hashes,
    the_history_page_lists_who_changed_what_when_and_why,
    the_diff_page_highlights_words_between_any_two_revisions,
    meta_tags_follow_the_kind_of_document,
    page_requests_with_bad_input_are_refused,
    the_home_page_lists_recent_documents_and_searches_them,
    a_browser_meets_every_error_as_a_page_with_a_way_back,
);

const SOURCE_TEXT: &str = "The committee met on Monday.\nIt approved the budget for the year.\n";
const CITING_TEXT: &str = "A note on the budget.\nThe report says it approved the budget.\n";

struct Corpus {
    /// The cited document's revisions, oldest first.
    source: Vec<String>,
    /// The citing document's head.
    citing: String,
    /// A revision redacted after it was superseded.
    redacted: String,
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.address)).send().await.unwrap()
}

async fn page(app: &TestApp, path: &str) -> String {
    let response = get(app, path).await;
    assert_eq!(response.status(), 200, "{path}");
    let headers = response.headers();
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'") && !csp.contains("unsafe"), "{csp}");
    response.text().await.unwrap()
}

/// A report revised twice (with messages), an article citing it three ways (a quote that is
/// there, one that was changed, one that is not there), and a letter whose first revision is
/// redacted.
async fn corpus(app: &TestApp) -> Corpus {
    let editor = app.editor().await;
    let create =
        |slug: &'static str, kind: &'static str, title: &'static str, content: &'static str| {
            let editor = editor.clone();
            async move {
                let body = app
                    .query_as(
                        Some(&editor),
                        "mutation($input: CreateDocumentInput!) { createDocument(input: $input) {
                       document { id } revision { hash } } }",
                        json!({ "input": { "slug": slug, "kind": kind, "title": title,
                        "content": content, "message": "first capture" } }),
                    )
                    .await;
                assert_no_errors(&body);
                let created = &body["data"]["createDocument"];
                (
                    created["document"]["id"].as_str().unwrap().to_owned(),
                    created["revision"]["hash"].as_str().unwrap().to_owned(),
                )
            }
        };
    let revise = |id: String, head: String, content: &'static str, message: &'static str| {
        let editor = editor.clone();
        async move {
            let body = app
                .query_as(
                    Some(&editor),
                    "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) {
                       revision { hash } } }",
                    json!({ "input": { "documentId": id, "expectedHead": head,
                        "content": content, "message": message } }),
                )
                .await;
            assert_no_errors(&body);
            body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned()
        }
    };
    let (report, first) = create("minutes", "REPORT", "Committee minutes", SOURCE_TEXT).await;
    let second = revise(
        report.clone(),
        first.clone(),
        "The committee met on Tuesday.\nIt approved the budget for the year.\n",
        "Corrected the day of the meeting",
    )
    .await;
    let third = revise(
        report.clone(),
        second.clone(),
        "The committee met on Tuesday.\nIt approved the whole budget for the year.\nThe chair thanked the members.\n",
        "Added the chair's thanks",
    )
    .await;
    let (article, citing) =
        create("budget-note", "ARTICLE", "A note on the budget", CITING_TEXT).await;
    for (quote, relation) in [
        ("It approved the whole budget", "QUOTES"),
        ("It approved a budget", "QUOTES"),
        ("The minister resigned", "CITES"),
    ] {
        let body = app
            .query_as(
                Some(&editor),
                "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }",
                json!({ "input": { "documentId": article, "relation": relation,
                    "passage": { "exact": "it approved the budget" },
                    "target": { "documentId": report },
                    "targetPassage": { "exact": quote } } }),
            )
            .await;
        assert_no_errors(&body);
    }
    let citing = app
        .query(r#"{ document(slug: "budget-note") { head { hash } } }"#, json!({}))
        .await["data"]["document"]["head"]["hash"]
        .as_str()
        .map_or(citing, str::to_owned);
    let (letter, letter_first) =
        create("letter", "LETTER", "A letter", "Dear Sir,\nMy address is 1 Main St.\n").await;
    revise(letter, letter_first.clone(), "Dear Sir,\n[address withheld]\n", "Withheld the address")
        .await;
    let archivist = app.token("Arthur Archivist", Role::Archivist).await;
    let body = app
        .query_as(
            Some(&archivist),
            "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"personal data\" }) { revision { hash } } }",
            json!({ "h": letter_first }),
        )
        .await;
    assert_no_errors(&body);
    Corpus { source: vec![first, second, third], citing, redacted: letter_first }
}

fn count(html: &str, needle: &str) -> usize {
    html.matches(needle).count()
}

async fn revision_pages_show_their_place_in_the_history_citations_and_hashes(app: TestApp) {
    let corpus = corpus(&app).await;
    let [first, second, third] = [&corpus.source[0], &corpus.source[1], &corpus.source[2]];

    // The head: current, a way back, no way forward, the title once as a heading.
    let head = page(&app, "/documents/minutes").await;
    assert_eq!(count(&head, "<h1>"), 1, "{head}");
    assert!(head.contains("<h1>Committee minutes</h1>"));
    assert!(head.contains("The current revision (3 of 3)"), "{head}");
    assert!(!head.contains("Superseded"));
    assert!(
        head.contains(&format!("href=\"{}/documents/minutes/revisions/{second}\"", app.address))
    );
    assert!(head.contains(&format!("/documents/minutes/diff?from={second}&amp;to={third}")));
    assert!(!head.contains("rel=\"next\""));
    assert!(
        head.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#)
    );
    assert!(
        head.contains("Added the chair&#39;s thanks") || head.contains("Added the chair's thanks")
    );
    // The permanent link and both hashes, with the way to check the text.
    assert!(head.contains(&format!("{}/documents/minutes/revisions/{third}", app.address)));
    let content_hash = app
        .query(r#"{ document(slug: "minutes") { head { contentHash } } }"#, json!({}))
        .await["data"]["document"]["head"]["contentHash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(head.contains(&content_hash) && head.contains(third.as_str()));
    let verify =
        format!("curl -s {}/documents/minutes/revisions/{third}/text | sha256sum", app.address);
    assert!(head.contains(&verify), "{head}");
    // …and the hint is true: those bytes hash to the content hash shown.
    let text = get(&app, &format!("/documents/minutes/revisions/{third}/text"))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(crate::helpers::sha256_hex(&text), content_hash);

    // A superseded revision says so and links to the current one, and both neighbours.
    let middle = page(&app, &format!("/documents/minutes/revisions/{second}")).await;
    assert!(middle.contains("Superseded."), "{middle}");
    assert!(middle.contains("revision 2 of 3"));
    assert!(middle.contains(&format!(
        "rel=\"prev\" href=\"{}/documents/minutes/revisions/{first}\"",
        app.address
    )));
    assert!(middle.contains(&format!(
        "rel=\"next\" href=\"{}/documents/minutes/revisions/{third}\"",
        app.address
    )));
    assert!(middle.contains("<p>The committee met on Tuesday.</p>"));
    assert!(middle.contains("Corrected the day of the meeting"));
    let oldest = page(&app, &format!("/documents/minutes/revisions/{first}")).await;
    assert!(!oldest.contains("rel=\"prev\""));
    assert!(oldest.contains("This revision cites nothing."));

    // The citing article shows each citation with its verdict against the cited head.
    let article = page(&app, &format!("/documents/budget-note/revisions/{}", corpus.citing)).await;
    assert!(article.contains("Citations (3)"), "{article}");
    for verdict in [
        "verdict verified\">VERIFIED",
        "verdict altered\">ALTERED",
        "verdict not-found\">NOT FOUND",
    ] {
        assert_eq!(count(&article, verdict), 1, "{verdict}\n{article}");
    }
    assert!(article.contains("<q>It approved the whole budget</q>"));
    assert!(article.contains(&format!(
        "/documents/minutes/revisions/{third}\">Committee minutes</a> (revision 3)"
    )));

    // A redacted revision: marked, no text, its hashes still shown.
    let letter = page(&app, &format!("/documents/letter/revisions/{}", corpus.redacted)).await;
    assert!(
        letter.contains("This revision&#39;s text was redacted")
            || letter.contains("This revision's text was redacted"),
        "{letter}"
    );
    assert!(letter.contains("personal data"));
    assert!(!letter.contains("1 Main St"));
    assert!(letter.contains(corpus.redacted.as_str()));
    assert!(!letter.contains("sha256sum"), "no text to check");
}

async fn the_history_page_lists_who_changed_what_when_and_why(app: TestApp) {
    let corpus = corpus(&app).await;
    let history = page(&app, "/documents/minutes/history").await;
    assert!(history.contains("<h1>History of Committee minutes</h1>"), "{history}");
    assert!(history.contains("3 revisions, the newest first"));
    let rows: Vec<usize> = corpus
        .source
        .iter()
        .rev()
        .map(|hash| history.find(&format!("/documents/minutes/revisions/{hash}\"")).unwrap())
        .collect();
    assert!(rows.is_sorted(), "newest first");
    for why in
        ["Added the chair", "Corrected the day of the meeting", "first capture", "Test Editor"]
    {
        assert!(history.contains(why), "{why}\n{history}");
    }
    assert!(history.contains("(current)"));
    assert!(history.contains(&format!(
        "/documents/minutes/diff?from={}&amp;to={}\">diff</a>",
        corpus.source[0], corpus.source[1]
    )));
    // The compare form offers the revisions listed.
    assert!(history.contains("<form class=\"compare\" method=\"get\""));
    assert_eq!(count(&history, "<option"), 6);
    // A redacted revision is marked in the history too.
    let letter = page(&app, "/documents/letter/history").await;
    assert!(letter.contains("(redacted)"));

    // Pages: 60 revisions list 50, then the rest.
    let token = app.editor().await;
    app.document_with_history(&token, "long", 60).await;
    let first = page(&app, "/documents/long/history").await;
    assert_eq!(count(&first, "<tr><td>"), 50, "{first}");
    assert!(first.contains("/documents/long/history?before=11\">Older revisions"));
    let second = page(&app, "/documents/long/history?before=11").await;
    assert_eq!(count(&second, "<tr><td>"), 10);
    assert!(!second.contains("Older revisions"));
}

async fn the_diff_page_highlights_words_between_any_two_revisions(app: TestApp) {
    let corpus = corpus(&app).await;
    let [first, _, third] = [&corpus.source[0], &corpus.source[1], &corpus.source[2]];
    let diff = page(&app, &format!("/documents/minutes/diff?from={first}&to={third}")).await;
    assert!(diff.contains("<h1>Committee minutes: revision 1 → 3</h1>"), "{diff}");
    assert!(diff.contains("<del>Monday.</del>") || diff.contains("<del>Monday</del>"), "{diff}");
    assert!(diff.contains("<ins>Tuesday.</ins>") || diff.contains("<ins>Tuesday</ins>"), "{diff}");
    assert!(diff.contains("<ins>whole "), "{diff}");
    assert!(diff.contains("words inserted"));
    // The other way round, the same words change sides.
    let back = page(&app, &format!("/documents/minutes/diff?from={third}&to={first}")).await;
    assert!(back.contains("<ins>Monday") && back.contains("<del>Tuesday"), "{back}");
    // The first revision alone: everything inserted.
    let alone = page(&app, &format!("/documents/minutes/diff?to={first}")).await;
    assert!(alone.contains("(the empty text)"));
    let same = page(&app, &format!("/documents/minutes/diff?from={first}&to={first}")).await;
    assert!(same.contains("The two texts are the same."));
}

async fn meta_tags_follow_the_kind_of_document(app: TestApp) {
    corpus(&app).await;
    let editor = app.editor().await;
    let source = app
        .query_as(
            Some(&editor),
            r#"mutation { createSource(input: { kind: WEB_PAGE, title: "Council papers",
               publisher: "City Council", url: "https://example.org/papers" }) { source { id } } }"#,
            json!({}),
        )
        .await;
    assert_no_errors(&source);
    let source = source["data"]["createSource"]["source"]["id"].clone();
    // The report and the article, revised with a source that names a publisher.
    for slug in ["minutes", "budget-note", "letter"] {
        let document = app
            .query(
                &format!(r#"{{ document(slug: "{slug}") {{ id head {{ hash }} }} }}"#),
                json!({}),
            )
            .await;
        let document = &document["data"]["document"];
        let body = app
            .query_as(
                Some(&editor),
                "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) { revision { hash } } }",
                json!({ "input": { "documentId": document["id"], "expectedHead": document["head"]["hash"],
                    "content": "Captured again.\n", "message": "from the council's papers", "source": source } }),
            )
            .await;
        assert_no_errors(&body);
    }
    let meta = |name: &str, content: &str| format!("<meta name=\"{name}\" content=\"{content}\">");
    let site = |content: &str| format!("<meta property=\"og:site_name\" content=\"{content}\">");
    // An article: a newspaper article in Zotero's words, the publisher its site; no tag that
    // would make it a journal article or a report.
    let article = page(&app, "/documents/budget-note").await;
    assert!(article.contains(&site("City Council")), "{article}");
    assert!(article.contains(&meta("DC.type", "newspaperArticle")));
    assert!(!article.contains("citation_journal_title"), "{article}");
    assert!(!article.contains("citation_technical_report"), "{article}");
    // A report: the publisher is the issuing institution; no report number either (there is
    // none to give: the revision is named by its URL, which DC.identifier gives).
    let report = page(&app, "/documents/minutes").await;
    assert!(
        report.contains(&meta("citation_technical_report_institution", "City Council")),
        "{report}"
    );
    assert!(!report.contains("citation_technical_report_number"));
    assert!(!report.contains("citation_journal_title"));
    assert!(report.contains(&meta("DC.type", "report")));
    // A letter: the publisher is the publisher.
    let letter = page(&app, "/documents/letter").await;
    assert!(letter.contains(&meta("citation_publisher", "City Council")), "{letter}");
    assert!(!letter.contains("citation_journal_title") && !letter.contains("citation_technical"));
    assert!(letter.contains(&meta("DC.type", "letter")));
}

async fn page_requests_with_bad_input_are_refused(app: TestApp) {
    let corpus = corpus(&app).await;
    let first = &corpus.source[0];
    let cases = [
        ("/documents/minutes/diff".to_owned(), 400, "to="),
        (format!("/documents/minutes/diff?to={first}&from=zz"), 400, "hash"),
        (format!("/documents/minutes/diff?from={first}&to={}", corpus.citing), 404, "revision"),
        (format!("/documents/budget-note/diff?from={first}&to={}", corpus.citing), 404, "revision"),
        (format!("/documents/letter/diff?to={}", corpus.redacted), 410, "redacted"),
        ("/documents/nope/history".to_owned(), 404, "nope"),
        ("/documents/minutes/history?before=abc".to_owned(), 400, "before="),
        ("/documents/minutes/history?before=0".to_owned(), 400, "before="),
    ];
    for (path, status, mention) in cases {
        let response = get(&app, &path).await;
        let code = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(code, status, "{path}: {text}");
        assert!(text.contains(mention), "{path}: {text:?} should mention {mention:?}");
    }
}

/// The pages and GraphiQL in headless Chromium, at desktop and phone width: every part there,
/// nothing loaded from elsewhere, no console error (a CSP violation is one), no sideways
/// scrolling on a phone; GraphiQL renders and runs its query. Screenshots go to
/// `target/browser/` (or `$CARGO_TARGET_DIR/browser/`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    palimpsest_no_browser,
    ignore = "needs chromium, chromedriver and python3 with selenium"
)]
async fn pages_and_graphiql_work_in_a_real_browser_at_desktop_and_phone_width() {
    let app = spawn_app(Backend::Sqlite).await.unwrap();
    let corpus = corpus(&app).await;
    let base = app.address.clone();
    let [first, second, third] = [&corpus.source[0], &corpus.source[1], &corpus.source[2]];
    let plan = json!({
        "graphiql": base,
        "pages": [
            { "name": "document", "url": format!("{base}/documents/minutes"),
              "selectors": ["h1", "main .text p", "nav.revisions a[rel=prev]", "dl.facts .hash",
                            "p.hint code", "meta[name=citation_title]", "section.references"],
              "texts": ["Committee minutes", "The current revision (3 of 3)", "Revision SHA-256",
                        third.as_str(), "Verify it yourself"],
              "absent": [".notice.superseded", "script"] },
            { "name": "superseded", "url": format!("{base}/documents/minutes/revisions/{second}"),
              "selectors": [".notice.superseded a", "nav.revisions a[rel=prev]", "nav.revisions a[rel=next]"],
              "texts": ["Superseded.", "Corrected the day of the meeting"] },
            { "name": "citations", "url": format!("{base}/documents/budget-note/revisions/{}", corpus.citing),
              "selectors": ["ol.citations li .verdict.verified", "ol.citations li .verdict.altered",
                            "ol.citations li .verdict.not-found", "ol.citations q"],
              "texts": ["Citations (3)", "VERIFIED", "ALTERED", "NOT FOUND"] },
            { "name": "redacted", "url": format!("{base}/documents/letter/revisions/{}", corpus.redacted),
              "selectors": [".notice.redacted"], "texts": ["personal data"], "absent": ["main .text"] },
            { "name": "history", "url": format!("{base}/documents/minutes/history"),
              "selectors": ["table.history tbody tr", "form.compare select[name=from]", "form.compare button"],
              "texts": ["Corrected the day of the meeting", "Test Editor", "(current)"] },
            { "name": "diff", "url": format!("{base}/documents/minutes/diff?from={first}&to={third}"),
              "selectors": [".hunk ins", ".hunk del"], "texts": ["Tuesday", "words inserted"] },
        ],
    });
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target")))
        .join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, serde_json::to_vec(&plan).unwrap()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/check.py");
    // The server runs on this test's runtime; the browser is driven from another thread.
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3").arg(script).arg(&plan_file).arg(&dir).output()
    })
    .await
    .unwrap()
    .unwrap();
    // The screenshots' paths, in the test's output.
    println!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let shots = String::from_utf8_lossy(&output.stdout).matches("screenshot:").count();
    assert_eq!(shots, 1 + 6 * 2, "GraphiQL and every page at both widths");
}

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn browse(app: &TestApp, path: &str) -> reqwest::Response {
    let url = format!("{}{path}", app.address);
    app.client.get(url).header("accept", BROWSER_ACCEPT).send().await.unwrap()
}

/// `/` is a page for a browser (the documents changed last, a search box, where the API is)
/// and a line saying where the API is for anyone else; the search box's results are a page.
async fn the_home_page_lists_recent_documents_and_searches_them(app: TestApp) {
    corpus(&app).await;
    let home = browse(&app, "/").await;
    assert_eq!(home.status(), 200);
    assert!(home.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = home.text().await.unwrap();
    let parts =
        ["Recently changed", "/documents/letter", "/documents/minutes", "/search\"", "/graphql\""];
    for part in parts {
        assert!(html.contains(part), "{part} missing from the home page:\n{html}");
    }
    let plain = get(&app, "/").await;
    assert_eq!(plain.status(), 200);
    assert!(plain.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert!(plain.text().await.unwrap().contains("/graphql"));

    let found = browse(&app, "/search?q=budget").await;
    assert_eq!(found.status(), 200);
    let html = found.text().await.unwrap();
    assert!(
        html.contains("/documents/minutes") && html.contains("/documents/budget-note"),
        "{html}"
    );
    assert!(html.contains("value=\"budget\""), "the box keeps the words: {html}");
    let none = browse(&app, "/search?q=xylophone").await.text().await.unwrap();
    assert!(none.contains("No document holds these words now."), "{none}");
}

/// Every error a browser can reach — an unknown path, bad input, a missing document, a
/// redacted revision's diff — is an HTML page with the status, what went wrong and a link
/// home; a program gets the same status with the reason in plain text.
async fn a_browser_meets_every_error_as_a_page_with_a_way_back(app: TestApp) {
    let corpus = corpus(&app).await;
    let redacted_diff = format!("/documents/letter/diff?to={}", corpus.redacted);
    for (path, status) in [
        ("/nowhere", 404),
        ("/documents/no-such-document", 404),
        ("/documents/minutes/history?before=zero", 400),
        ("/search?q=%22unclosed", 400),
        (redacted_diff.as_str(), 410),
    ] {
        let response = browse(&app, path).await;
        assert_eq!(response.status(), status, "{path}");
        let headers = response.headers();
        assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"), "{path}");
        assert!(
            headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'")
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(&format!("<h1>{status} ")), "{path}: {html}");
        assert!(html.contains("Back to the home page"), "{path}: {html}");

        let plain = get(&app, path).await;
        assert_eq!(plain.status(), status, "{path}");
        assert!(plain.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        assert!(!plain.text().await.unwrap().contains('<'), "{path}");
    }
}
