//! Captures of web pages, against a fixture site on loopback whose pages change between
//! captures: the schema's watches, the revisions and sightings captures write, the evidence
//! they keep, the failures they record; and, over HTTP, the WARC file a revision's capture is
//! served as.

use std::time::Duration;

use crate::site::{Page, Site};
use palimpsest::capture::fetch::FetchLimits;
use palimpsest::capture::{CaptureSettings, Capturer, worker};
use palimpsest::foreground::Foreground;
use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, loopback, spawn_app};

crate::on_both_backends!(
    schema:
    a_watched_page_becomes_a_document_and_each_change_a_revision,
    failed_and_hostile_captures_are_recorded_with_their_reason,
    addresses_and_urls_captures_may_not_reach_are_refused,
    robots_txt_is_obeyed_unless_the_watch_says_otherwise,
    a_feeds_entries_become_page_watches,
    a_quote_altered_on_the_page_makes_its_citation_drift,
    two_workers_on_one_database_capture_each_due_watch_once,
    a_capture_whose_lease_ran_out_and_was_claimed_again_is_not_recorded,
    captures_held_back_start_no_fetch_until_released,
    a_revision_from_a_capture_is_never_written_without_its_evidence,
    evidence_compressed_ahead_is_compressed_again_when_a_redaction_erased_its_base,
    the_bytes_a_watch_last_saw_are_a_sighting_unless_the_head_moved,
    #[cfg_attr(palimpsest_no_cryptography, ignore = "needs python3 with cryptography")]
    a_change_receipt_verifies_offline_and_fails_when_any_byte_changes;
    http:
    #[cfg_attr(
        any(palimpsest_no_warcio, palimpsest_no_cryptography),
        ignore = "needs warcio and python3 with cryptography"
    )]
    the_evidence_of_a_capture_is_served_as_a_warc_file_and_a_receipt_links_the_revisions,
    #[cfg_attr(
        any(palimpsest_no_rfc8785, palimpsest_no_jsonschema, palimpsest_no_ocfl_validator),
        ignore = "needs python3 with rfc8785 and jsonschema, and ocfl-py's ocfl-validate.py"
    )]
    captures_and_their_evidence_travel_in_an_archive,
    #[cfg_attr(palimpsest_no_pywb, ignore = "needs pywb (wb-manager and wayback)")]
    pywb_replays_the_exported_evidence
);

/// A news article as sites serve them: navigation, the story, a footer, metadata.
pub fn article(headline: &str, paragraphs: &[&str]) -> String {
    let body: String = paragraphs.iter().map(|p| format!("<p>{p}</p>\n")).collect();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{headline} | The Daily Fixture</title>
<meta property="og:site_name" content="The Daily Fixture">
<meta property="og:title" content="{headline}">
<meta property="article:published_time" content="2026-12-01T08:00:00Z">
<meta name="author" content="Ada Reporter">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<article><h1>{headline}</h1><p class="byline">By Ada Reporter</p>
{body}</article>
<footer>Copyright The Daily Fixture. <a href="/privacy">Privacy</a></footer>
</body></html>"#
    )
}

const PARAGRAPHS: [&str; 4] = [
    "The city council voted on Tuesday to close the old harbour bridge to cars from next spring, \
     after an inspection found corrosion in two of its supporting piers.",
    "Engineers told the council that repairs would take at least eighteen months and cost more \
     than the bridge's original construction, adjusted for inflation.",
    "\"We cannot keep asking people to drive over a structure we know is failing,\" the mayor \
     said after the vote, which passed by seven votes to two.",
    "Cyclists and pedestrians will still be able to cross while the council considers whether \
     to repair the bridge or replace it with a new crossing further upstream.",
];

/// A capturer as a worker would run one, allowed the fixture site, with short timeouts.
pub async fn capturer(app: &TestApp) -> Capturer {
    let settings = CaptureSettings {
        allow: loopback(),
        fetch: FetchLimits {
            read_timeout: Duration::from_secs(1),
            total_timeout: Duration::from_secs(4),
            max_bytes: 2 * 1024 * 1024,
            ..FetchLimits::default()
        },
        per_host_per_minute: 100_000,
        ..CaptureSettings::default()
    };
    Capturer::new(app.store.clone(), settings).await.unwrap()
}

/// Captures until no watch is due, as a worker does when it looks (again, for the page
/// watches a feed's capture made due).
async fn capture_due(capturer: &Capturer) -> usize {
    let mut captured = 0;
    loop {
        let drained = worker::drain(capturer, &Foreground::default()).await.unwrap();
        if drained == 0 {
            return captured;
        }
        captured += drained;
    }
}

/// `capture_due` for a worker beside another on the same database: a claim that found the
/// database busy is tried again, as `worker::run` does (two processes on one SQLite file
/// take turns in SQLite's busy handler, which may keep one waiting past its timeout).
async fn capture_due_beside(capturer: &Capturer) -> usize {
    let mut captured = 0;
    loop {
        match worker::drain(capturer, &Foreground::default()).await {
            Ok(0) => return captured,
            Ok(drained) => captured += drained,
            Err(palimpsest::store::StoreError::Unavailable { .. }) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("the worker could not claim watches: {err}"),
        }
    }
}

const WATCH_PAGE: &str = "mutation($input: WatchPageInput!) {
  watchPage(input: $input) { watch { id watchKind watchUrl paused intervalSeconds } }
}";

const WATCH_NOW: &str = "mutation($id: ID!) {
  captureWatchNow(input: { watchId: $id }) { watch { id } }
}";

const WATCH_STATE: &str = "query($id: ID!) {
  node(id: $id) { ... on Watch {
    lastOutcome lastStatus lastDetail captureCount revisionCount failureCount
    document { slug }
  } }
}";

const HISTORY: &str = "query($slug: String!) {
  document(slug: $slug) {
    kind
    revisions(first: 20) { nodes {
      number title content message
      author { name agentKind }
      source { sourceKind sourceUrl publisher authors retrievedAt }
      capture { url finalUrl status payloadDigest warcRecordId warcUrl fetchedAt }
      sightings { count firstSeenAt lastSeenAt }
    } }
  }
}";

async fn watch_page(app: &TestApp, token: &str, input: Value) -> String {
    let body = app.query_as(Some(token), WATCH_PAGE, json!({ "input": input })).await;
    assert_no_errors(&body);
    body["data"]["watchPage"]["watch"]["id"].as_str().unwrap().to_owned()
}

async fn capture_now(app: &TestApp, token: &str, capturer: &Capturer, watch: &str) -> Value {
    let body = app.query_as(Some(token), WATCH_NOW, json!({ "id": watch })).await;
    assert_no_errors(&body);
    assert_eq!(capture_due(capturer).await, 1, "one capture of {watch}");
    let state = app.query_as(Some(token), WATCH_STATE, json!({ "id": watch })).await;
    assert_no_errors(&state);
    state["data"]["node"].clone()
}

async fn revisions(app: &TestApp, slug: &str) -> Vec<Value> {
    let body = app.query(HISTORY, json!({ "slug": slug })).await;
    assert_no_errors(&body);
    body["data"]["document"]["revisions"]["nodes"].as_array().unwrap().clone()
}

async fn a_watched_page_becomes_a_document_and_each_change_a_revision(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set("/news/bridge", Page::html(&article("Council votes to close bridge", &PARAGRAPHS)));
    let input =
        json!({ "url": site.url("/news/bridge"), "slug": "bridge-story", "kind": "ARTICLE" });
    let watch = watch_page(&app, &editor, input).await;
    // To a caller who may not read watches, no watch has its id.
    let anonymous = app.query(WATCH_STATE, json!({ "id": watch })).await;
    assert_no_errors(&anonymous);
    assert_eq!(anonymous["data"]["node"], Value::Null, "{anonymous}");

    // The first capture creates the document, written by the capture agent from the page.
    assert_eq!(capture_due(&capturer).await, 1);
    let history = revisions(&app, "bridge-story").await;
    assert_eq!(history.len(), 1);
    let first = &history[0];
    assert_eq!(first["title"], "Council votes to close bridge");
    let text = first["content"].as_str().unwrap();
    assert!(text.contains("corrosion in two of its supporting piers"), "{text}");
    assert!(!text.contains("Privacy") && !text.contains("Sport"), "boilerplate kept: {text}");
    assert_eq!(first["author"], json!({ "name": "Palimpsest capture", "agentKind": "SOFTWARE" }));
    assert_eq!(first["source"]["sourceKind"], "WEB_PAGE");
    assert_eq!(first["source"]["sourceUrl"], site.url("/news/bridge"));
    assert_eq!(first["source"]["publisher"], "The Daily Fixture");
    let capture = &first["capture"];
    assert_eq!(capture["status"], 200);
    assert_eq!(capture["url"], site.url("/news/bridge"));
    assert!(capture["payloadDigest"].as_str().unwrap().starts_with("sha256:"));
    assert!(capture["warcRecordId"].as_str().unwrap().starts_with("urn:uuid:"));
    assert_eq!(first["sightings"]["count"], 1);

    // A paragraph edited: a revision, with its own capture.
    let mut edited = PARAGRAPHS;
    edited[1] = "Engineers told the council that repairs would take at least two years.";
    site.set("/news/bridge", Page::html(&article("Council votes to close bridge", &edited)));
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "REVISED");
    // The headline changed: another revision, with the new title.
    site.set("/news/bridge", Page::html(&article("Harbour bridge to close to cars", &edited)));
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "REVISED");
    let history = revisions(&app, "bridge-story").await;
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["title"], "Harbour bridge to close to cars");
    assert!(history[1]["content"].as_str().unwrap().contains("at least two years"));

    // The same page again: no revision, a sighting of the head.
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "UNCHANGED");
    // With an ETag, the next capture asks conditionally and the server says 304: a sighting.
    let page = Page::html(&article("Harbour bridge to close to cars", &edited))
        .with_header("ETag", "\"v3\"");
    site.set("/news/bridge", page);
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "UNCHANGED", "the first response with the ETag");
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "NOT_MODIFIED");
    assert_eq!(state["lastStatus"], 304);
    let history = revisions(&app, "bridge-story").await;
    assert_eq!(history.len(), 3);
    let head = &history[0];
    assert_eq!(head["sightings"]["count"], 4, "written, unchanged twice, not modified");
    assert!(head["sightings"]["lastSeenAt"].as_str() > head["sightings"]["firstSeenAt"].as_str());

    // The page gone: recorded, the document kept.
    site.set("/news/bridge", Page::status(410));
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "GONE");
    assert_eq!(state["lastStatus"], 410);
    assert_eq!(state["captureCount"], 7);
    assert_eq!(state["revisionCount"], 3);
    assert_eq!(state["failureCount"], 1);
    assert_eq!(state["document"]["slug"], "bridge-story");
    assert_eq!(revisions(&app, "bridge-story").await.len(), 3);

    // Every capture is in the audit log, as the capture agent's.
    let audit = app
        .query_as(
            Some(&app.token("Auditor", palimpsest::store::Role::Archivist).await),
            "{ auditEvents(last: 50, filter: { action: CAPTURE_PAGE }) { nodes { outcome detail } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&audit);
    let events = audit["data"]["auditEvents"]["nodes"].as_array().unwrap();
    assert_eq!(events.len(), 7, "{audit:#}");
    assert_eq!(events.last().unwrap()["outcome"], "FAILED");
}

async fn failed_and_hostile_captures_are_recorded_with_their_reason(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    let bomb = {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&vec![b' '; 64 * 1024 * 1024]).unwrap();
        encoder.finish().unwrap()
    };
    let nested = format!(
        "<html><body>{}deep{}</body></html>",
        "<div>".repeat(100_000),
        "</div>".repeat(100_000)
    );
    // Pages a guess at how a parser reads them let through: each nests as deep once parsed.
    let self_closed = format!("<html><body>{}deep</body></html>", "<div/>".repeat(100_000));
    let quoted = format!("<html><body>{}deep</body></html>", r#"<b title="/>">"#.repeat(50_000));
    let svg = format!("<html><body><svg><title>{}</svg></body></html>", "<g>".repeat(100_000));
    let attributes: String = (0..200_000).map(|i| format!(" a{i}")).collect();
    let attributes = format!("<html><body><p{attributes}>x</p></body></html>");
    let cases: Vec<(&str, Page, &str)> = vec![
        ("/bomb", Page::html("").with_header("Content-Encoding", "gzip"), "bytes"),
        ("/nested", Page::html(&nested), "deep"),
        ("/self-closed", Page::html(&self_closed), "deep"),
        ("/quoted", Page::html(&quoted), "deep"),
        ("/svg", Page::html(&svg), "deep"),
        ("/attributes", Page::html(&attributes), "attributes"),
        ("/huge", Page::html(&"<p>words </p>".repeat(200_000)), "bytes"),
        ("/loop", Page::status(302).with_header("Location", "/loop"), "redirect"),
        (
            "/pdf",
            Page {
                headers: vec![("Content-Type".into(), "application/pdf".into())],
                ..Page::html("%PDF-1.7")
            },
            "not an HTML page",
        ),
        ("/broken", Page::status(500), "HTTP 500"),
        ("/trickle", Page { trickle: true, ..Page::html(&article("Slow", &PARAGRAPHS)) }, ""),
        ("/empty", Page::html("<html><body></body></html>"), ""),
    ];
    let mut watches = Vec::new();
    for (path, page, _) in &cases {
        let page = if *path == "/bomb" {
            Page { body: bomb.clone(), ..page.clone() }
        } else {
            page.clone()
        };
        site.set(path, page);
        let input = json!({ "url": site.url(path) });
        watches.push(watch_page(&app, &editor, input).await);
    }
    assert_eq!(capture_due(&capturer).await, cases.len());
    for ((path, _, reason), watch) in cases.iter().zip(&watches) {
        let state = app.query_as(Some(&editor), WATCH_STATE, json!({ "id": watch })).await;
        let state = &state["data"]["node"];
        assert_eq!(state["lastOutcome"], "FAILED", "{path}: {state:#}");
        let detail = state["lastDetail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty(), "{path}: a failure says why");
        assert!(detail.contains(reason), "{path}: {detail:?} should say {reason:?}");
        assert!(state["document"].is_null(), "{path}: no document from a failed capture");
    }
    // The server and the other watches are unaffected: a good page still captures.
    site.set("/fine", Page::html(&article("Fine", &PARAGRAPHS)));
    watch_page(&app, &editor, json!({ "url": site.url("/fine"), "slug": "fine" })).await;
    assert_eq!(capture_due(&capturer).await, 1);
    assert_eq!(revisions(&app, "fine").await.len(), 1);
}

async fn addresses_and_urls_captures_may_not_reach_are_refused(app: TestApp) {
    let editor = app.editor().await;
    // This schema allows loopback (the fixture site); these are refused whatever it allows.
    for (url, says) in [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://10.0.0.1/", "private"),
        ("http://[fd00::1]/", "private"),
        ("file:///etc/passwd", "only http and https"),
        ("http://user:secret@example.com/", "user name or password"),
        ("not a url", "not an absolute URL"),
    ] {
        let body =
            app.query_as(Some(&editor), WATCH_PAGE, json!({ "input": { "url": url } })).await;
        assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT", "{url}: {body:#}");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(says), "{url}: {message}");
    }
    // Out of range: intervals, and a reader may not watch.
    let body = app
        .query_as(
            Some(&editor),
            WATCH_PAGE,
            json!({ "input": { "url": "https://example.com/", "intervalSeconds": 60 } }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
    let reader = app.token("Reader", palimpsest::store::Role::Reader).await;
    let body = app
        .query_as(Some(&reader), WATCH_PAGE, json!({ "input": { "url": "https://example.com/" } }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");
    // The same URL twice is one watch.
    let input = json!({ "url": "https://example.com/story" });
    watch_page(&app, &editor, input.clone()).await;
    let body = app.query_as(Some(&editor), WATCH_PAGE, json!({ "input": input })).await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "CONFLICT");
    // A capturer with the default rules refuses loopback when it captures, too.
    let site = Site::start().await;
    site.set("/", Page::html(&article("Local", &PARAGRAPHS)));
    let strict = Capturer::new(app.store.clone(), CaptureSettings::default()).await.unwrap();
    let url = url::Url::parse(&site.url("/")).unwrap();
    let recorded = strict
        .capture_once(&url, None, palimpsest::store::DocumentKind::Article, false)
        .await
        .unwrap();
    assert_eq!(recorded.capture.outcome, palimpsest::store::CaptureOutcome::Refused);
    assert!(recorded.capture.detail.unwrap().contains("loopback"));
    assert_eq!(site.hits("/"), 0, "no request reached the site");
}

async fn robots_txt_is_obeyed_unless_the_watch_says_otherwise(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set(
        "/robots.txt",
        Page::html("User-agent: *\nDisallow: /private/\n")
            .with_header("Content-Type", "text/plain"),
    );
    site.set("/private/story", Page::html(&article("Private", &PARAGRAPHS)));
    let obeyed = watch_page(&app, &editor, json!({ "url": site.url("/private/story") })).await;
    assert_eq!(capture_due(&capturer).await, 1);
    let state = app.query_as(Some(&editor), WATCH_STATE, json!({ "id": obeyed })).await;
    assert_eq!(state["data"]["node"]["lastOutcome"], "REFUSED");
    assert_eq!(state["data"]["node"]["lastDetail"], "robots.txt disallows it");
    assert_eq!(site.hits("/private/story"), 0);
    app.query_as(
        Some(&editor),
        "mutation($id: ID!) { removeWatch(input: { watchId: $id }) { watch { id } } }",
        json!({ "id": obeyed }),
    )
    .await;
    let ignoring = watch_page(
        &app,
        &editor,
        json!({ "url": site.url("/private/story"), "obeyRobots": false, "slug": "private" }),
    )
    .await;
    assert_eq!(capture_due(&capturer).await, 1);
    let state = app.query_as(Some(&editor), WATCH_STATE, json!({ "id": ignoring })).await;
    assert_eq!(state["data"]["node"]["lastOutcome"], "CREATED");
}

async fn a_feeds_entries_become_page_watches(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    let feed = format!(
        r#"<?xml version="1.0"?><rss version="2.0"><channel><title>Fixture news</title>
<item><title>One</title><link>{0}/news/one</link></item>
<item><title>Two</title><link>/news/two</link></item>
<item><title>One again</title><link>{0}/news/one</link></item>
</channel></rss>"#,
        site.base
    );
    site.set("/feed.xml", Page::html(&feed).with_header("Content-Type", "application/rss+xml"));
    site.set("/news/one", Page::html(&article("One", &PARAGRAPHS)));
    site.set("/news/two", Page::html(&article("Two", &PARAGRAPHS[1..])));
    let body = app
        .query_as(
            Some(&editor),
            "mutation($url: String!) { watchFeed(input: { url: $url, kind: REPORT }) { watch { id watchKind } } }",
            json!({ "url": site.url("/feed.xml") }),
        )
        .await;
    assert_no_errors(&body);
    // The feed, then its two entries (the repeated one once), each a document of its own.
    assert_eq!(capture_due(&capturer).await, 3);
    let watches = app
        .query_as(
            Some(&editor),
            "{ watches(first: 10) { totalCount nodes { watchKind watchUrl lastOutcome feed { watchUrl } document { kind } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&watches);
    let nodes = watches["data"]["watches"]["nodes"].as_array().unwrap();
    assert_eq!(watches["data"]["watches"]["totalCount"], 3);
    assert_eq!(nodes[0]["lastOutcome"], "FEED_READ");
    for entry in &nodes[1..] {
        assert_eq!(entry["watchKind"], "PAGE");
        assert_eq!(entry["feed"]["watchUrl"], site.url("/feed.xml"));
        assert_eq!(entry["lastOutcome"], "CREATED");
        assert_eq!(entry["document"]["kind"], "REPORT");
    }
}

async fn a_quote_altered_on_the_page_makes_its_citation_drift(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set("/statement", Page::html(&article("Mayor on the bridge", &PARAGRAPHS)));
    let watch =
        watch_page(&app, &editor, json!({ "url": site.url("/statement"), "slug": "statement" }))
            .await;
    capture_due(&capturer).await;
    let cited =
        app.query("{ document(slug: \"statement\") { id head { hash } } }", json!({})).await;
    let cited_id = cited["data"]["document"]["id"].as_str().unwrap().to_owned();
    let pinned = cited["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned();
    let citing = app
        .query_as(
            Some(&editor),
            "mutation { createDocument(input: { slug: \"analysis\", title: \"Analysis\", kind: ARTICLE, content: \"The mayor said we cannot keep asking people to drive over it.\" }) { document { id } } }",
            json!({}),
        )
        .await;
    let citing_id = citing["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let quote = "We cannot keep asking people to drive over a structure we know is failing";
    let added = app
        .query_as(
            Some(&editor),
            "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }",
            json!({ "input": {
                "documentId": citing_id, "relation": "QUOTES",
                "target": { "documentId": cited_id, "revision": pinned },
                "targetPassage": { "exact": quote },
            } }),
        )
        .await;
    assert_no_errors(&added);
    // The page quietly changes the quote: the capture writes a revision, the citation drifts.
    let mut altered = PARAGRAPHS;
    altered[2] = "\"We cannot keep asking people to drive over a structure that may be failing,\" \
                  the mayor said after the vote, which passed by seven votes to two.";
    site.set("/statement", Page::html(&article("Mayor on the bridge", &altered)));
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "REVISED");
    let drift = app
        .query(
            "{ driftedCitations(first: 10) { drifts { citation { relation } current { status } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&drift);
    let nodes = drift["data"]["driftedCitations"]["drifts"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{drift:#}");
    assert_eq!(nodes[0]["current"]["status"], "ALTERED");
}

async fn the_evidence_of_a_capture_is_served_as_a_warc_file_and_a_receipt_links_the_revisions(
    app: TestApp,
) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set("/story", Page::html(&article("Evidence", &PARAGRAPHS)));
    let watch =
        watch_page(&app, &editor, json!({ "url": site.url("/story"), "slug": "evidence" })).await;
    capture_due(&capturer).await;
    let mut edited = PARAGRAPHS;
    edited[0] = "The council voted to close the bridge.";
    site.set("/story", Page::html(&article("Evidence", &edited)));
    capture_now(&app, &editor, &capturer, &watch).await;
    let history = revisions(&app, "evidence").await;
    for revision in &history {
        let capture = &revision["capture"];
        let url = capture["warcUrl"].as_str().unwrap();
        let url = url.replace("http://palimpsest.test", &app.address);
        let response = app.client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        assert_eq!(response.headers()["content-type"], "application/warc");
        let body = response.bytes().await.unwrap();
        assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip members");
        let records = palimpsest::capture::warc::read(
            &body,
            palimpsest::capture::warc::ReadLimits {
                max_record_bytes: 16 << 20,
                max_records: 10,
                max_total_bytes: 16 << 20,
            },
        )
        .expect("the digests verify");
        assert_eq!(records.len(), 2, "request and response");
        let kinds: Vec<&str> = records.iter().map(|r| r.kind().as_str()).collect();
        assert_eq!(kinds, ["request", "response"]);
        let response_record = &records[1];
        assert_eq!(
            format!("urn:uuid:{}", response_record.id().uuid()),
            capture["warcRecordId"].as_str().unwrap()
        );
        assert_eq!(
            response_record.payload_digest().unwrap().to_string(),
            capture["payloadDigest"].as_str().unwrap()
        );
        let block = String::from_utf8_lossy(response_record.block());
        assert!(block.contains("The Daily Fixture"), "the page as sent");
        warcio_checks(&body).await;
    }
    // The diff page links to the receipt of the two revisions, a file that verifies offline.
    let (to, from) = (
        history[0]["capture"]["warcUrl"].as_str().unwrap().split('/').nth_back(1).unwrap(),
        history[1]["capture"]["warcUrl"].as_str().unwrap().split('/').nth_back(1).unwrap(),
    );
    app.store.sign_checkpoint(&app.log_key).await.unwrap();
    let diff_page = format!("{}/documents/evidence/diff?from={from}&to={to}", app.address);
    let page = app.client.get(&diff_page).send().await.unwrap().text().await.unwrap();
    let receipt_url = format!("{}/documents/evidence/receipt?from={from}&to={to}", app.address);
    assert!(
        page.contains(&format!("/documents/evidence/receipt?from={from}&amp;to={to}")),
        "{page}"
    );
    let response = app.client.get(&receipt_url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains(".receipt.json"));
    let receipt = response.bytes().await.unwrap();
    let (status, printed) = verify_receipt(&receipt, &app.log_key.verifier_key());
    assert_eq!(status, 0, "{printed}");
    // `export --warc`: every capture's evidence in one file that warcio reads.
    let (all, kinds) = export_warc(&app);
    assert_eq!(kinds, ["warcinfo", "request", "response", "request", "response"]);
    warcio_checks(&all).await;
    // No capture: 404; a redacted revision's evidence holds its text: 410.
    let archivist = app.token("Archivist", palimpsest::store::Role::Archivist).await;
    let hash = history[1]["capture"]["warcUrl"]
        .as_str()
        .unwrap()
        .split('/')
        .nth_back(1)
        .unwrap()
        .to_owned();
    let (_, kept_before) = app.store.evidence_size().await.unwrap();
    let redact = app
        .query_as(
            Some(&archivist),
            "mutation($hash: String!) { redactRevision(input: { hash: $hash, reason: \"test\" }) { revision { hash } } }",
            json!({ "hash": hash }),
        )
        .await;
    assert_no_errors(&redact);
    let url = format!("{}/documents/evidence/revisions/{hash}/capture.warc.gz", app.address);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 410);
    // Its evidence is erased; the later capture's records, kept compressed against it, read
    // back as they were written.
    let (_, kept_after) = app.store.evidence_size().await.unwrap();
    assert!(
        kept_after < kept_before / 2 + 1024,
        "{kept_before} bytes of evidence, then {kept_after}"
    );
    let (all, kinds) = export_warc(&app);
    assert_eq!(kinds, ["warcinfo", "request", "response"], "the redacted capture's erased");
    warcio_checks(&all).await;
    let newer = history[0]["capture"]["warcUrl"].as_str().unwrap();
    let newer = newer.replace("http://palimpsest.test", &app.address);
    let body = app.client.get(&newer).send().await.unwrap().bytes().await.unwrap();
    let limits = palimpsest::capture::warc::ReadLimits {
        max_record_bytes: 16 << 20,
        max_records: 10,
        max_total_bytes: 16 << 20,
    };
    let records = palimpsest::capture::warc::read(&body, limits).expect("the digests verify");
    assert_eq!(records.len(), 2);
    assert!(String::from_utf8_lossy(records[1].block()).contains("The council voted to close"));
    let seed =
        format!("{}/documents/evidence/revisions/{}/capture.warc.gz", app.address, "0".repeat(64));
    assert_eq!(app.client.get(&seed).send().await.unwrap().status(), 404);
}

/// `palimpsest export --warc`: the file, and the kinds of its records (their digests checked).
fn export_warc(app: &TestApp) -> (Vec<u8>, Vec<String>) {
    let dir = tempfile_dir();
    let exported = dir.join("all.warc.gz");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_palimpsest"))
        .args(["--database-url", &app.database_url, "export", "--warc"])
        .arg(&exported)
        .status()
        .unwrap();
    assert!(status.success());
    let all = std::fs::read(&exported).unwrap();
    std::fs::remove_dir_all(dir).ok();
    let limits = palimpsest::capture::warc::ReadLimits {
        max_record_bytes: 16 << 20,
        max_records: 100,
        max_total_bytes: 64 << 20,
    };
    let records = palimpsest::capture::warc::read(&all, limits).expect("the digests verify");
    let kinds = records.iter().map(|r| r.kind().as_str().to_owned()).collect();
    (all, kinds)
}

/// `warcio check` and `warcio index` read the file.
async fn warcio_checks(body: &[u8]) {
    let dir = tempfile_dir();
    let path = dir.join("capture.warc.gz");
    std::fs::write(&path, body).unwrap();
    for command in ["check", "index"] {
        let output = std::process::Command::new("warcio")
            .arg(command)
            .arg(&path)
            .output()
            .expect("warcio runs");
        assert!(
            output.status.success(),
            "warcio {command}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    std::fs::remove_dir_all(dir).ok();
}

/// pywb (Webrecorder's replay), given `export --warc`'s file as a collection, serves the page
/// as it was captured.
async fn pywb_replays_the_exported_evidence(app: TestApp) {
    let site = Site::start().await;
    let capturer = capturer(&app).await;
    site.set("/replayed", Page::html(&article("Replayed", &PARAGRAPHS)));
    let url = url::Url::parse(&site.url("/replayed")).unwrap();
    let kind = palimpsest::store::DocumentKind::Article;
    capturer.capture_once(&url, None, kind, false).await.unwrap();
    drop(site);
    let (warc, _) = export_warc(&app);
    let dir = tempfile_dir();
    std::fs::write(dir.join("all.warc.gz"), &warc).unwrap();
    let run = |args: &[&str]| {
        let output =
            std::process::Command::new("wb-manager").args(args).current_dir(&dir).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    };
    run(&["init", "captures"]);
    run(&["add", "captures", "all.warc.gz"]);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut wayback = std::process::Command::new("wayback")
        .args(["-b", "127.0.0.1", "-p", &port.to_string()])
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let replay = format!("http://127.0.0.1:{port}/captures/mp_/{url}");
    let mut page = None;
    for _ in 0..100 {
        if let Ok(response) = app.client.get(&replay).send().await {
            page = Some((response.status(), response.text().await.unwrap()));
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wayback.kill().ok();
    wayback.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    let (status, page) = page.expect("pywb answers");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("corrosion in two of its supporting piers"), "{page}");
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("palimpsest-warc-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn two_workers_on_one_database_capture_each_due_watch_once(app: TestApp) {
    use palimpsest::store::{self, Actor, NewWatch, Store, StoreLimits, WatchInterval, WatchKind};
    let site = Site::start().await;
    let capture_one = capturer(&app).await;
    // A second worker: another process's pool on the same database.
    let other = store::connect(&app.database_url).await.unwrap();
    let other = Store::new(other, StoreLimits::default());
    let settings = CaptureSettings {
        allow: loopback(),
        per_host_per_minute: 100_000,
        ..CaptureSettings::default()
    };
    let capture_two = Capturer::new(other, settings).await.unwrap();
    let actor = Actor::agent(capture_one.agent().await.unwrap());
    const WATCHES: usize = 200;
    for i in 0..WATCHES {
        let path = format!("/page/{i}");
        site.set(&path, Page::html(&article(&format!("Page {i}"), &PARAGRAPHS)));
        let watch = NewWatch {
            kind: WatchKind::Page,
            url: site.url(&path),
            slug: None,
            document_kind: palimpsest::store::DocumentKind::Article,
            interval: WatchInterval::default(),
            obey_robots: false,
        };
        app.store.add_watch(watch, None, &actor).await.unwrap();
    }
    let (one, two) =
        tokio::join!(capture_due_beside(&capture_one), capture_due_beside(&capture_two));
    assert_eq!(one + two, WATCHES, "{one} + {two} captures");
    for i in 0..WATCHES {
        assert_eq!(site.hits(&format!("/page/{i}")), 1, "page {i} fetched once");
    }
    let documents = app.query("{ documents(first: 1) { totalCount } }", json!({})).await;
    assert_eq!(documents["data"]["documents"]["totalCount"], WATCHES);
}

/// A claim's lease is the capture's fence: a worker that stalled (or was thought dead) past its
/// lease, while another worker claimed the watch again, records nothing when it wakes; the
/// worker holding the watch records, and the watch has one capture.
async fn a_capture_whose_lease_ran_out_and_was_claimed_again_is_not_recorded(app: TestApp) {
    use palimpsest::store::{
        Actor, CaptureFor, CaptureOutcome, CaptureReport, Conflict, Found, NewWatch, StoreError,
        Timestamp, Validators, Watch, WatchInterval, WatchKind,
    };
    let capturer = capturer(&app).await;
    let actor = Actor::agent(capturer.agent().await.unwrap());
    let url = "https://example.com/leased";
    let watch = NewWatch {
        kind: WatchKind::Page,
        url: url.into(),
        slug: None,
        document_kind: palimpsest::store::DocumentKind::Article,
        interval: WatchInterval::default(),
        obey_robots: false,
    };
    let id = app.store.add_watch(watch, None, &actor).await.unwrap().id;
    let lease = Duration::from_secs(5);
    let at = |seconds: i64| Timestamp::from_micros(Timestamp::now().micros() + seconds * 1_000_000);
    let first = app.store.claim_due_watches(at(0), lease, 10).await.unwrap();
    assert_eq!(first.len(), 1, "due at once");
    let held = app.store.claim_due_watches(at(1), lease, 10).await.unwrap();
    assert!(held.is_empty(), "a watch held by a lease is claimed by nobody else");
    let second = app.store.claim_due_watches(at(6), lease, 10).await.unwrap();
    assert_eq!(second.len(), 1, "claimed again once the lease ran out");
    assert_ne!(first[0].lease_until, second[0].lease_until);

    let report = |claimed: &Watch| CaptureReport {
        target: CaptureFor::Watch { watch: claimed.id, lease: claimed.lease_until },
        url: url.into(),
        final_url: None,
        status: Some(500),
        fetched_at: Timestamp::now(),
        found: Found::Nothing { outcome: CaptureOutcome::Failed, detail: "HTTP 500".into() },
        validators: Validators::default(),
    };
    let refused = app.store.record_capture(report(&first[0]), &actor).await.unwrap_err();
    assert!(
        matches!(refused, StoreError::Conflict(Conflict::LeaseLost(lost)) if lost == id),
        "{refused}"
    );
    let watch = app.store.watch(id).await.unwrap().unwrap();
    assert_eq!((watch.runs, watch.lease_until), (0, second[0].lease_until), "nothing recorded");
    app.store.record_capture(report(&second[0]), &actor).await.unwrap();
    let watch = app.store.watch(id).await.unwrap().unwrap();
    assert_eq!((watch.runs, watch.lease_until), (1, None), "one capture, the watch let go");
}

/// A worker giving way to requests holds back the captures queued for a place to read, not
/// only those it has yet to start: none of them fetches until the hold is released.
async fn captures_held_back_start_no_fetch_until_released(app: TestApp) {
    let site = Site::start().await;
    let capturer = capturer(&app).await;
    let editor = app.editor().await;
    site.set("/held", Page::html(&article("Held", &PARAGRAPHS)));
    // A new watch is due at once.
    watch_page(&app, &editor, json!({ "url": site.url("/held") })).await;
    let held = capturer.hold_reading();
    let release = async {
        // Long enough for an unheld capture of a loopback page to have fetched it.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(site.hits("/held"), 0, "a held capture fetched its page");
        drop(held);
    };
    let ((), captured) = tokio::join!(release, capture_due(&capturer));
    assert_eq!(captured, 1);
    assert_eq!(site.hits("/held"), 1, "the capture fetched once released");
}

const RECEIPT: &str = "query($document: String!, $from: String!, $to: String!) {
  changeReceipt(document: $document, from: $from, to: $to)
}";

/// Runs docs/verify_receipt.py on `receipt` with `key`: its exit status and what it printed.
fn verify_receipt(receipt: &[u8], key: &str) -> (i32, String) {
    use std::io::Write;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_receipt.py");
    let mut child = std::process::Command::new("python3")
        .args([script, "-", key])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    child.stdin.take().unwrap().write_all(receipt).unwrap();
    let output = child.wait_with_output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), printed)
}

async fn a_change_receipt_verifies_offline_and_fails_when_any_byte_changes(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set("/story", Page::html(&article("Receipts", &PARAGRAPHS)));
    let watch =
        watch_page(&app, &editor, json!({ "url": site.url("/story"), "slug": "receipts" })).await;
    capture_due(&capturer).await;
    let mut edited = PARAGRAPHS;
    edited[2] = "\"We cannot keep asking people to drive over a structure that may be failing,\" \
                 the mayor said.";
    site.set("/story", Page::html(&article("Receipts", &edited)));
    capture_now(&app, &editor, &capturer, &watch).await;
    capture_now(&app, &editor, &capturer, &watch).await;
    let history = app
        .query(
            "{ document(slug: \"receipts\") { revisions(first: 2) { nodes { hash } } } }",
            json!({}),
        )
        .await;
    let hashes: Vec<String> = history["data"]["document"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["hash"].as_str().unwrap().to_owned())
        .collect();
    let (to, from) = (&hashes[0], &hashes[1]);
    let key = app.log_key.verifier_key();
    let variables = json!({ "document": "receipts", "from": from, "to": to });
    // No checkpoint covers the revisions yet: come back in a moment.
    let early = app.query(RECEIPT, variables.clone()).await;
    assert_eq!(early["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{early:#}");
    app.store.sign_checkpoint(&app.log_key).await.unwrap();
    let body = app.query(RECEIPT, variables).await;
    assert_no_errors(&body);
    let receipt = body["data"]["changeReceipt"].as_str().unwrap().as_bytes().to_vec();

    let (status, printed) = verify_receipt(&receipt, &key);
    assert_eq!(status, 0, "{printed}");
    assert!(printed.contains("verified: receipts"), "{printed}");
    assert!(printed.contains("+ may"), "what changed: {printed}");
    assert!(printed.contains("- know"), "what changed: {printed}");
    assert!(printed.contains("the page showed it from"), "{printed}");
    assert!(printed.contains("(2 captures)"), "the head seen twice: {printed}");

    // Any byte changed fails it, naming the part; spread over the whole file.
    let step = (receipt.len() / 60).max(1);
    for at in (0..receipt.len()).step_by(step) {
        let mut tampered = receipt.clone();
        tampered[at] = match tampered[at] {
            b'0' => b'1',
            b'a' => b'b',
            b'"' => b'\'',
            byte if byte.is_ascii_alphanumeric() => b'0',
            _ => b'x',
        };
        let (status, printed) = verify_receipt(&tampered, &key);
        assert_eq!(status, 1, "byte {at} changed, yet: {printed}");
        assert!(printed.starts_with("FAILED: "), "{printed}");
    }
    // Re-formatted (white space added), or verified with another key: refused too.
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(&receipt).unwrap()).unwrap();
    let (status, printed) = verify_receipt(&pretty, &key);
    assert_eq!((status, printed.contains("FAILED: file")), (1, true), "{printed}");
    let other = palimpsest::checkpoint::LogKey::generate(app.log_key.name()).unwrap();
    let (status, printed) = verify_receipt(&receipt, &other.verifier_key());
    assert_eq!(status, 1, "{printed}");
    // A redacted revision's receipt carries its redaction, not its text, and still verifies.
    let archivist = app.token("Archivist", palimpsest::store::Role::Archivist).await;
    let redact = app
        .query_as(
            Some(&archivist),
            "mutation($hash: String!) { redactRevision(input: { hash: $hash, reason: \"personal data\" }) { revision { hash } } }",
            json!({ "hash": from }),
        )
        .await;
    assert_no_errors(&redact);
    let body = app.query(RECEIPT, json!({ "document": "receipts", "from": from, "to": to })).await;
    assert_no_errors(&body);
    let redacted = body["data"]["changeReceipt"].as_str().unwrap();
    let parsed: Value = serde_json::from_str(redacted).unwrap();
    assert!(parsed["from"]["content"].is_null() && parsed["changes"].is_null());
    assert_eq!(parsed["from"]["redaction"]["reason"], "personal data");
    let (status, printed) = verify_receipt(redacted.as_bytes(), &key);
    assert_eq!(status, 0, "{printed}");
    assert!(printed.contains("redacted"), "{printed}");
}

/// A web page source that says nothing more: for reports a test writes by hand.
fn bare_web_page() -> palimpsest::store::NewSource {
    palimpsest::store::NewSource {
        kind: palimpsest::store::SourceKind::WebPage,
        title: None,
        url: None,
        publisher: None,
        authors: Vec::new(),
        recipients: Vec::new(),
        published_at: None,
        retrieved_at: None,
        archive_url: None,
        license: None,
    }
}

async fn a_revision_from_a_capture_is_never_written_without_its_evidence(app: TestApp) {
    use palimpsest::store::{
        CaptureFor, CaptureReport, Conflict, Found, PageText, StoreError, Timestamp, Title,
        Validators,
    };
    let capturer = capturer(&app).await;
    let actor = palimpsest::store::Actor::agent(capturer.agent().await.unwrap());
    // What the capture layer sends for a page it found the same as the head: no evidence. If
    // the page does change the document (the head moved in between), nothing is written.
    let report = |text: &str| CaptureReport {
        target: CaptureFor::Once {
            slug: Some(palimpsest::store::Slug::parse("no-evidence").unwrap()),
            kind: palimpsest::store::DocumentKind::Article,
        },
        url: "https://example.com/page".into(),
        final_url: None,
        status: Some(200),
        fetched_at: Timestamp::now(),
        found: Found::Page(Box::new(PageText {
            title: Title::parse("A page").unwrap(),
            text: text.into(),
            source: bare_web_page(),
            payload_digest: "sha256:X".into(),
            evidence: Vec::new(),
        })),
        validators: Validators::default(),
    };
    let before = app.corpus_size().await;
    let refused = app.store.record_capture(report("A text."), &actor).await.unwrap_err();
    assert!(matches!(refused, StoreError::Conflict(Conflict::EvidenceNeeded)), "{refused}");
    assert_eq!(app.corpus_size().await, before, "nothing written");
    // Recorded in a group, the refused one is undone alone: the others land.
    let nothing = |url: &str| CaptureReport {
        url: url.into(),
        found: Found::Nothing {
            outcome: palimpsest::store::CaptureOutcome::Failed,
            detail: "HTTP 500".into(),
        },
        target: CaptureFor::Once { slug: None, kind: palimpsest::store::DocumentKind::Article },
        ..report("unused")
    };
    let group = vec![
        (nothing("https://example.com/a"), actor.clone()),
        (report("A text."), actor.clone()),
        (nothing("https://example.com/b"), actor.clone()),
    ];
    let recorded = app.store.record_captures(group).await.unwrap();
    assert!(recorded[0].is_ok() && recorded[2].is_ok(), "{recorded:?}");
    assert!(
        matches!(recorded[1], Err(StoreError::Conflict(Conflict::EvidenceNeeded))),
        "{recorded:?}"
    );
    assert_eq!(app.corpus_size().await, before, "nothing of the refused one");
    let filter = palimpsest::store::AuditFilter {
        action: Some(palimpsest::store::AuditAction::CapturePage),
        ..Default::default()
    };
    let events = app.store.count_audit_events(&filter).await.unwrap();
    assert_eq!(events, 2, "the two that landed, audited");
    // A page really captured twice is a revision and then a sighting, as ever.
    let site = Site::start().await;
    site.set("/twice", Page::html(&article("Twice", &PARAGRAPHS)));
    let url = url::Url::parse(&site.url("/twice")).unwrap();
    let kind = palimpsest::store::DocumentKind::Article;
    let first = capturer.capture_once(&url, None, kind, false).await.unwrap();
    let second = capturer.capture_once(&url, None, kind, false).await.unwrap();
    assert_eq!(first.capture.outcome, palimpsest::store::CaptureOutcome::Created);
    assert_eq!(second.capture.outcome, palimpsest::store::CaptureOutcome::Unchanged);
    let document = first.document.unwrap();
    assert_eq!(document.id, second.document.unwrap().id, "the same document");
    // The same bytes again are a sighting of the head, recorded with their digest, without
    // the page read again; but if the head moved since, nothing is written: the page must
    // be read and its evidence kept.
    let digest = second.capture.payload_digest.clone().expect("the bytes' digest kept");
    assert_eq!(Some(&digest), first.capture.payload_digest.as_ref());
    let same = |revision: palimpsest::store::RevisionHash| CaptureReport {
        found: Found::Same { revision, payload_digest: digest.clone() },
        target: CaptureFor::Once { slug: Some(document.slug.clone()), kind },
        url: url.to_string(),
        ..report("unused")
    };
    let head = first.revision.unwrap().hash;
    let seen = app.store.record_capture(same(head.clone()), &actor).await.unwrap();
    assert_eq!(seen.capture.outcome, palimpsest::store::CaptureOutcome::Unchanged);
    assert_eq!(seen.revision.unwrap().hash, head);
    let edit = palimpsest::store::ReviseDocument {
        document: document.id,
        expected_head: head.clone(),
        content: "An editor's text.".into(),
        title: None,
        message: palimpsest::store::Message::parse("An edit").unwrap(),
        source: None,
    };
    app.store.revise_document(edit, &actor).await.unwrap();
    let moved = app.store.record_capture(same(head), &actor).await.unwrap_err();
    assert!(matches!(moved, StoreError::Conflict(Conflict::EvidenceNeeded)), "{moved}");
    // A capture that finds the bytes the old head was seen as writes the page's text back.
    let third = capturer.capture_once(&url, None, kind, false).await.unwrap();
    assert_eq!(third.capture.outcome, palimpsest::store::CaptureOutcome::Revised);
    assert!(third.capture.response_record.is_some(), "with its evidence");
}

/// A capture compresses its evidence before its write, against the record then last in its
/// chain; should a redaction erase that record in between, the write compresses it again, and
/// the record reads back as the bytes it was.
async fn evidence_compressed_ahead_is_compressed_again_when_a_redaction_erased_its_base(
    app: TestApp,
) {
    use palimpsest::store::{
        CaptureFor, CaptureOutcome, CaptureReport, EvidenceKind, EvidenceRecord, Found, PageText,
        RedactionReason, Timestamp, Title, Validators,
    };
    let capturer = capturer(&app).await;
    let actor = palimpsest::store::Actor::agent(capturer.agent().await.unwrap());
    let site = Site::start().await;
    let kind = palimpsest::store::DocumentKind::Article;
    site.set("/ahead", Page::html(&article("Ahead", &PARAGRAPHS)));
    let url = url::Url::parse(&site.url("/ahead")).unwrap();
    capturer.capture_once(&url, None, kind, false).await.unwrap();
    let mut edited = PARAGRAPHS;
    edited[1] = "A paragraph the second capture saw.";
    site.set("/ahead", Page::html(&article("Ahead", &edited)));
    let second = capturer.capture_once(&url, None, kind, false).await.unwrap();
    assert_eq!(second.capture.outcome, CaptureOutcome::Revised);
    let document = second.document.unwrap();
    // The third capture's response, compressed against the second's, which is then erased.
    let bytes = format!("WARC/1.1\r\n\r\n{}", article("Ahead", &PARAGRAPHS)).into_bytes();
    let mut records = vec![EvidenceRecord {
        id: uuid::Uuid::now_v7(),
        kind: EvidenceKind::Response,
        chain: format!("response {url}"),
        bytes: bytes.clone(),
        payload_digest: Some("sha256:AHEAD".into()),
        packed: None,
    }];
    app.store.pack_evidence(&mut records).await;
    assert!(records[0].packed.is_some(), "compressed ahead");
    let reason = RedactionReason::parse("personal data").unwrap();
    let redacted = second.revision.unwrap().hash;
    app.store.redact_revision(&redacted, reason, &actor).await.unwrap();
    let report = CaptureReport {
        target: CaptureFor::Once { slug: Some(document.slug.clone()), kind },
        url: url.to_string(),
        final_url: None,
        status: Some(200),
        fetched_at: Timestamp::now(),
        found: Found::Page(Box::new(PageText {
            title: Title::parse("Ahead").unwrap(),
            text: "The text of the third capture.".into(),
            source: bare_web_page(),
            payload_digest: "sha256:AHEAD".into(),
            evidence: records,
        })),
        validators: Validators::default(),
    };
    let third = app.store.record_capture(report, &actor).await.unwrap();
    assert_eq!(third.capture.outcome, CaptureOutcome::Revised);
    let kept = app.store.evidence_of_capture(third.capture.id).await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].bytes, bytes, "the bytes written, read back");
}

/// `palimpsest export` carries every capture with its evidence, `import` writes them into an
/// empty store under the same ids, and the second store serves them as the first does; a
/// record whose bytes were changed is refused with its line.
async fn captures_and_their_evidence_travel_in_an_archive(app: TestApp) {
    use crate::archive::{export_of, import_bytes, independently_verified};
    let site = Site::start().await;
    let capturer = capturer(&app).await;
    let (url, gone) = (site.url("/story"), site.url("/gone"));
    let (url, gone) = (url::Url::parse(&url).unwrap(), url::Url::parse(&gone).unwrap());
    let slug = palimpsest::store::Slug::parse("travels").unwrap();
    let kind = palimpsest::store::DocumentKind::Article;
    site.set("/story", Page::html(&article("Travels", &PARAGRAPHS)));
    capturer.capture_once(&url, Some(slug.clone()), kind, false).await.unwrap();
    let mut edited = PARAGRAPHS;
    edited[2] = "The mayor did not comment.";
    site.set("/story", Page::html(&article("Travels", &edited)));
    capturer.capture_once(&url, Some(slug.clone()), kind, false).await.unwrap();
    capturer.capture_once(&url, Some(slug.clone()), kind, false).await.unwrap();
    site.set("/gone", Page::status(404));
    capturer.capture_once(&gone, None, kind, false).await.unwrap();

    let exported = export_of(&app.store).await;
    independently_verified(&exported);
    let text = String::from_utf8(exported.clone()).unwrap();
    let captures: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["type"] == "capture")
        .collect();
    let outcomes: Vec<&str> = captures.iter().map(|c| c["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["created", "revised", "unchanged", "gone"]);
    let kept: Vec<usize> =
        captures.iter().map(|c| c["evidence"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(kept, [2, 2, 0, 0], "a revision's request and response; a sighting keeps none");

    let empty = spawn_app(app.backend).await.unwrap();
    let report = import_bytes(&empty.store, &exported).await;
    assert!(report.refusals.is_empty(), "{:?}", report.refusals);
    assert_eq!((report.captures, report.captures_present), (4, 0));
    assert_eq!(export_of(&empty.store).await, exported, "the same records, byte for byte");
    // Served alike (the WARC link is each server's own).
    let served = async |app: &TestApp| {
        let mut history = revisions(app, "travels").await;
        for revision in &mut history {
            revision["capture"].as_object_mut().unwrap().remove("warcUrl");
        }
        history
    };
    assert_eq!(served(&empty).await, served(&app).await);
    let head =
        revisions(&app, "travels").await[0]["capture"]["warcUrl"].as_str().unwrap().to_owned();
    let path = head[head.find("/documents/").unwrap()..].to_owned();
    let warc = |app: &TestApp| {
        let url = format!("{}{path}", app.address);
        let client = app.client.clone();
        async move { client.get(&url).send().await.unwrap().bytes().await.unwrap() }
    };
    let served_warc = warc(&app).await;
    assert_eq!(warc(&empty).await, served_warc, "the same evidence, byte for byte");

    // In an OCFL export, the version of a captured revision holds the evidence as served.
    let root = std::env::temp_dir().join(format!("palimpsest-ocfl-{}", uuid::Uuid::now_v7()));
    palimpsest::archive::ocfl::export_ocfl(&app.store, None, &root).await.unwrap();
    let inventory: Value =
        serde_json::from_slice(&std::fs::read(root.join("travels/inventory.json")).unwrap())
            .unwrap();
    let file_of = |version: &str, logical: &str| {
        let state = inventory["versions"][version]["state"].as_object().unwrap();
        let (digest, _) = state.iter().find(|(_, paths)| paths[0] == logical)?;
        let path = inventory["manifest"][digest][0].as_str().unwrap();
        Some(std::fs::read(root.join("travels").join(path)).unwrap())
    };
    assert_eq!(file_of("v2", "capture.warc.gz").unwrap(), served_warc.to_vec());
    assert!(file_of("v1", "capture.warc.gz").is_some());
    let output = std::process::Command::new("ocfl-validate.py").arg(&root).output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success() && !printed.contains("ERROR"), "{printed}");
    std::fs::remove_dir_all(&root).unwrap();
    let again = import_bytes(&empty.store, &exported).await;
    assert_eq!((again.captures, again.captures_present), (0, 4));

    // One byte of a kept response changed: its digest no longer holds, and the line says so.
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let at = lines.iter().position(|l| l.contains("\"kind\":\"response\"")).unwrap();
    let mut record: Value = serde_json::from_str(&lines[at]).unwrap();
    let evidence = &mut record["evidence"][1]["warc"];
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(evidence.as_str().unwrap()).unwrap();
    // Inside the block, before the record's closing blank line.
    let at_end = bytes.len() - 10;
    bytes[at_end] ^= 0x20;
    *evidence = Value::String(engine.encode(&bytes));
    lines[at] = record.to_string();
    let tampered = spawn_app(app.backend).await.unwrap();
    let report = import_bytes(&tampered.store, (lines.join("\n") + "\n").as_bytes()).await;
    let refusal = report.refusals.iter().find(|r| r.line == at as u64 + 1).expect("refused");
    assert!(refusal.reason.contains("evidence.warc"), "{}", refusal.reason);
}

/// A watch remembers the bytes its page last showed the head as: the same bytes again are a
/// sighting of that revision, without the page read again, as long as it is still the head;
/// once an editor revised the document, the same bytes are the page's text again, a revision
/// with its evidence.
async fn the_bytes_a_watch_last_saw_are_a_sighting_unless_the_head_moved(app: TestApp) {
    let site = Site::start().await;
    let editor = app.editor().await;
    let capturer = capturer(&app).await;
    site.set("/seen", Page::html(&article("Seen", &PARAGRAPHS)));
    let input = json!({ "url": site.url("/seen"), "slug": "seen" });
    let watch = watch_page(&app, &editor, input).await;
    assert_eq!(capture_due(&capturer).await, 1);
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "UNCHANGED");
    let history = revisions(&app, "seen").await;
    assert_eq!((history.len(), &history[0]["sightings"]["count"]), (1, &json!(2)));

    let slug = palimpsest::store::Slug::parse("seen").unwrap();
    let document = app.store.document_by_slug(&slug).await.unwrap().unwrap();
    let actor = palimpsest::store::Actor::agent(capturer.agent().await.unwrap());
    let edit = palimpsest::store::ReviseDocument {
        document: document.id,
        expected_head: document.head.clone(),
        content: "An editor's text.".into(),
        title: None,
        message: palimpsest::store::Message::parse("An edit").unwrap(),
        source: None,
    };
    app.store.revise_document(edit, &actor).await.unwrap();
    let state = capture_now(&app, &editor, &capturer, &watch).await;
    assert_eq!(state["lastOutcome"], "REVISED", "{state:#}");
    let history = revisions(&app, "seen").await;
    assert_eq!(history.len(), 3);
    assert_eq!(history[0]["content"], history[2]["content"], "the page's text again");
    assert!(history[0]["capture"]["warcRecordId"].is_string(), "with its evidence");
}
