//! Exports for citation managers and provenance tools, each parsed back by an independent
//! parser from its own ecosystem (`tests/external/check_export.py`: bibtexparser, rispy,
//! citeproc-py and the W3C `prov` library; `.ci/run` installs them), and the HTML pages
//! citation-manager connectors read.

use serde_json::{Value, json};

use crate::helpers::{CREATE_DOCUMENT, TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    #[cfg_attr(
        palimpsest_no_citation_parsers,
        ignore = "needs python3 with bibtexparser, rispy, citeproc-py and prov"
    )]
    every_citation_format_parses_back_and_pins_the_revision,
    #[cfg_attr(
        palimpsest_no_citation_parsers,
        ignore = "needs python3 with bibtexparser, rispy, citeproc-py and prov"
    )]
    provenance_exports_are_read_by_the_prov_library,
    html_pages_carry_citation_metadata_for_connectors,
    export_requests_with_bad_input_are_refused,
);

const ARTICLE: &str = "ex-security-chiefs-urge-trump-to-end-gaza-war";
const NOTE: &str = "reading-note-security-chiefs-appeal";

/// Parses `text` with the independent parser for `kind` (the tests that call it are ignored
/// where the parsers are missing: `build.rs`).
fn parse_externally(kind: &str, text: &str) -> Value {
    let path =
        std::env::temp_dir().join(format!("palimpsest-export-{}", uuid::Uuid::now_v7().simple()));
    std::fs::write(&path, text).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/external/check_export.py");
    let output =
        std::process::Command::new("python3").arg(script).arg(kind).arg(&path).output().unwrap();
    std::fs::remove_file(&path).ok();
    assert!(
        output.status.success(),
        "{kind} did not parse: {}\n{text}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The sample corpus plus a document captured from a source with known authors and date.
async fn corpus(app: &TestApp) -> (String, String) {
    let dir = palimpsest::seed::Seeds::BuiltIn;
    palimpsest::seed::load(&app.store, &dir).await.unwrap();
    let token = app.editor().await;
    let source = app
        .query_as(
            Some(&token),
            "mutation($input: CreateSourceInput!) { createSource(input: $input) { source { id } } }",
            json!({ "input": {
                "kind": "PRINT", "title": "Print edition", "publisher": "The Example Times",
                "authors": ["Jane Reporter", "John Editor"], "publishedAt": "2025-08-04T00:00:00Z"
            } }),
        )
        .await;
    assert_no_errors(&source);
    let body = app
        .query_as(
            Some(&token),
            CREATE_DOCUMENT,
            json!({ "input": {
                "slug": "printed", "title": "Gaza: a {special} case & 100% \"quoted\"", "kind": "ARTICLE",
                "content": "Printed text.\n", "source": source["data"]["createSource"]["source"]["id"]
            } }),
        )
        .await;
    assert_no_errors(&body);
    let head = app
        .query(&format!("{{ document(slug: \"{ARTICLE}\") {{ head {{ hash }} }} }}"), json!({}))
        .await;
    (
        head["data"]["document"]["head"]["hash"].as_str().unwrap().to_owned(),
        body["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned(),
    )
}

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(format!("{}{path}", app.address)).send().await.unwrap()
}

async fn every_citation_format_parses_back_and_pins_the_revision(app: TestApp) {
    let (article_head, printed_head) = corpus(&app).await;
    let permalink =
        |slug: &str, hash: &str| format!("{}/documents/{slug}/revisions/{hash}", app.address);

    for (format, media) in [
        ("bibtex", "application/x-bibtex"),
        ("ris", "application/x-research-info-systems"),
        ("csl-json", "application/vnd.citationstyles.csl+json"),
    ] {
        let response = get(&app, &format!("/documents/printed/cite?format={format}")).await;
        assert_eq!(response.status(), 200, "{format}");
        assert!(
            response.headers()["content-type"].to_str().unwrap().starts_with(media),
            "{format}"
        );
        let text = response.text().await.unwrap();
        assert!(text.contains(&printed_head), "{format} carries the revision hash");
        assert!(
            text.contains(&permalink("printed", &printed_head)),
            "{format} carries the permalink"
        );
        let parsed = parse_externally(format, &text);
        match format {
            "bibtex" => {
                let entry = &parsed[0];
                assert_eq!(entry["type"], "article");
                assert_eq!(entry["fields"]["entrysubtype"], "newspaper");
                assert!(entry["fields"].get("version").is_none(), "no hash as a version");
                assert!(entry["fields"]["note"].as_str().unwrap().contains(&printed_head));
                assert_eq!(entry["fields"]["url"], permalink("printed", &printed_head));
                assert_eq!(entry["fields"]["journaltitle"], "The Example Times");
                assert_eq!(entry["fields"]["date"], "2025-08-04");
                assert!(entry["fields"]["author"].as_str().unwrap().contains("Jane Reporter"));
            }
            "ris" => {
                let record = &parsed[0];
                assert_eq!(record["type_of_reference"], "NEWS");
                assert_eq!(record["authors"], json!(["Jane Reporter", "John Editor"]));
                assert_eq!(record["urls"], json!([permalink("printed", &printed_head)]));
                assert!(record.get("edition").is_none(), "no hash as an edition: {record}");
                assert!(record["notes"].to_string().contains(&printed_head), "{record}");
                assert_eq!(record["year"], "2025");
                assert_eq!(record["date"], "2025/08/04/");
            }
            _ => {
                let entry = parsed["bibliography"][0].as_str().unwrap();
                assert!(entry.contains("Gaza: a {special} case & 100% \"quoted\""), "{entry}");
                assert!(entry.contains("2025"), "{entry}");
            }
        }
    }

    // An older or pinned revision, and a list of documents in one file.
    let response =
        get(&app, &format!("/documents/{ARTICLE}/cite?format=ris&revision={article_head}")).await;
    assert!(response.text().await.unwrap().contains(&permalink(ARTICLE, &article_head)));
    let list = get(&app, &format!("/cite?format=bibtex&documents={ARTICLE},{NOTE},printed")).await;
    assert_eq!(list.status(), 200);
    let text = list.text().await.unwrap();
    let parsed = parse_externally("bibtex", &text);
    let types: Vec<&str> =
        parsed.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    // The note (kind OTHER) is cited as the web page it is.
    assert_eq!(types, ["article", "online", "article"]);
    assert!(parsed[0]["fields"].get("author").is_none(), "the article's author is unknown");

    // The same over GraphQL, with formatted references from the CSL engine.
    let body = app
        .query(
            "query($ids: [ID!]!) { document(slug: \"printed\") { cite(format: BIBTEX) { format mediaType text }
               apa: reference(style: APA) chicago: reference(style: CHICAGO_AUTHOR_DATE) mla: reference(style: MLA) }
               cite(documents: $ids, format: RIS) { text } }",
            json!({ "ids": [null] }),
        )
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "null ids are refused");
    let ids = app.query("{ documents(first: 10) { nodes { id slug } } }", json!({})).await;
    let ids: Vec<Value> = ids["data"]["documents"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].clone())
        .collect();
    let body = app
        .query(
            "query($ids: [ID!]!) { document(slug: \"printed\") { cite(format: BIBTEX) { format mediaType text }
               apa: reference(style: APA) chicago: reference(style: CHICAGO_AUTHOR_DATE) mla: reference(style: MLA) }
               cite(documents: $ids, format: RIS) { text } }",
            json!({ "ids": ids }),
        )
        .await;
    assert_no_errors(&body);
    let document = &body["data"]["document"];
    assert_eq!(document["cite"]["mediaType"], "application/x-bibtex");
    assert!(document["cite"]["text"].as_str().unwrap().contains(&printed_head));
    let apa = document["apa"].as_str().unwrap();
    assert!(apa.starts_with("Jane Reporter, & John Editor. (2025, August 4)."), "{apa}");
    assert!(document["chicago"].as_str().unwrap().contains("The Example Times"));
    assert!(document["mla"].as_str().unwrap().contains("Gaza"));
    assert_eq!(body["data"]["cite"]["text"].as_str().unwrap().matches("ER  - ").count(), 3);
}

async fn provenance_exports_are_read_by_the_prov_library(app: TestApp) {
    let (_, printed_head) = corpus(&app).await;
    for path in [
        format!("/documents/{NOTE}/provenance"),
        format!("/documents/{ARTICLE}/provenance"),
        format!("/documents/printed/provenance?revision={printed_head}"),
    ] {
        let response = get(&app, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(
            response.headers()["content-type"].to_str().unwrap().starts_with("application/json")
        );
        let text = response.text().await.unwrap();
        let parsed = parse_externally("prov", &text);
        assert!(parsed["records"].as_u64().unwrap() >= 5, "{path}: {parsed}");
        let kinds = &parsed["kinds"];
        for kind in [
            "ProvEntity",
            "ProvActivity",
            "ProvAgent",
            "ProvGeneration",
            "ProvAttribution",
            "ProvAssociation",
        ] {
            assert!(kinds.get(kind).is_some(), "{path} has no {kind}: {parsed}");
        }
        let derivations = parsed["derivation_types"].to_string();
        if path.contains(NOTE) {
            assert!(derivations.contains("prov:Quotation"), "{path}: {parsed}");
        }
        if path.contains("printed") {
            assert!(derivations.contains("prov:PrimarySource"), "{path}: {parsed}");
        }
    }

    // History with a revision: wasRevisionOf.
    let token = app.editor().await;
    let printed = app.query("{ document(slug: \"printed\") { id } }", json!({})).await;
    let body = app
        .revise(
            &token,
            printed["data"]["document"]["id"].as_str().unwrap(),
            &printed_head,
            "Printed text, corrected.\n",
        )
        .await;
    assert_no_errors(&body);
    let body = app
        .query("{ document(slug: \"printed\") { provenance head { provenance } } }", json!({}))
        .await;
    assert_no_errors(&body);
    let whole = &body["data"]["document"]["provenance"];
    assert_eq!(
        whole["entity"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with("pal:revision-"))
            .count(),
        2
    );
    let revision_of: Vec<&Value> = whole["wasDerivedFrom"]
        .as_object()
        .unwrap()
        .values()
        .filter(|d| d["prov:type"]["$"] == "prov:Revision")
        .collect();
    assert_eq!(revision_of.len(), 1);
    assert_eq!(revision_of[0]["prov:usedEntity"], format!("pal:revision-{printed_head}"));
    let parsed = parse_externally("prov", &whole.to_string());
    assert!(parsed["derivation_types"].to_string().contains("prov:Revision"), "{parsed}");
}

/// How a URL stands in a COinS `title` attribute: percent-encoded, `&` as `&amp;`.
fn html_kev(url: &str) -> String {
    url.replace(':', "%3A").replace('/', "%2F")
}

async fn html_pages_carry_citation_metadata_for_connectors(app: TestApp) {
    let (_, printed_head) = corpus(&app).await;
    for path in
        ["/documents/printed".to_owned(), format!("/documents/printed/revisions/{printed_head}")]
    {
        let response = get(&app, &path).await;
        assert_eq!(response.status(), 200, "{path}");
        assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        let html = response.text().await.unwrap();
        for needle in [
            "<meta name=\"citation_title\" content=\"Gaza: a {special} case &amp; 100% &quot;quoted&quot;\">",
            "<meta name=\"citation_author\" content=\"Jane Reporter\">",
            "<meta name=\"citation_author\" content=\"John Editor\">",
            "<meta name=\"citation_publication_date\" content=\"2025/08/04\">",
            "<meta property=\"og:site_name\" content=\"The Example Times\">",
            "<meta name=\"DC.type\" content=\"newspaperArticle\">",
            "<span class=\"Z3988\" title=\"ctx_ver=Z39.88-2004&amp;rft_val_fmt=info%3Aofi%2Ffmt%3Akev%3Amtx%3Adc&amp;rft.type=newspaperArticle",
            "rft.creator=Jane%20Reporter",
            "rft.source=The%20Example%20Times",
            "rft.date=2025-08-04",
        ] {
            assert!(html.contains(needle), "{path} lacks {needle}\n{html}");
        }
        assert!(html.contains(&format!(
            "citation_public_url\" content=\"{}/documents/printed/revisions/{printed_head}\"",
            app.address
        )));
        assert!(html.contains("<p>Printed text.</p>"));
        // No Highwire tag that would make it a journal article, and no date it was not
        // published on (when the revision was recorded is not one).
        assert!(!html.contains("citation_journal_title"), "{html}");
        assert!(!html.contains("citation_online_date"), "{html}");
        assert!(html.contains(&format!(
            "rft.identifier={}",
            html_kev(&format!("{}/documents/printed/revisions/{printed_head}", app.address))
        )));
    }
    let letterless = get(&app, &format!("/documents/{ARTICLE}")).await.text().await.unwrap();
    assert!(!letterless.contains("citation_author"), "an unknown author stays unknown");
    assert!(letterless.contains("<p>More than 550 former Israeli security officials"));
}

async fn export_requests_with_bad_input_are_refused(app: TestApp) {
    let (article_head, printed_head) = corpus(&app).await;
    let cases = [
        ("/documents/printed/cite?format=endnote-xml".to_owned(), 400, "csl-json, bibtex, ris"),
        ("/documents/printed/cite".to_owned(), 400, "format"),
        ("/documents/printed/cite?format=ris&revision=xyz".to_owned(), 400, "hash"),
        (format!("/documents/printed/cite?format=ris&revision={article_head}"), 404, "revision"),
        ("/documents/nope/cite?format=ris".to_owned(), 404, "nope"),
        ("/cite?format=ris".to_owned(), 400, "documents"),
        ("/cite?format=ris&documents=printed,nope".to_owned(), 404, "nope"),
        (format!("/documents/{ARTICLE}/provenance?revision={printed_head}"), 404, "revision"),
        ("/documents/nope/provenance".to_owned(), 404, "nope"),
        ("/documents/nope".to_owned(), 404, "nope"),
        (format!("/documents/printed/revisions/{article_head}"), 404, "revision"),
        ("/documents/printed/revisions/zz".to_owned(), 400, "hash"),
    ];
    for (path, status, mention) in cases {
        let response = get(&app, &path).await;
        assert_eq!(response.status().as_u16(), status, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains(mention), "{path}: {text:?} should mention {mention:?}");
    }
    let body = app
        .query("{ document(slug: \"printed\") { cite(format: WORD) { text } } }", json!({}))
        .await;
    assert_eq!(error_code(&body), "BAD_USER_INPUT");
    let body = app
        .query(&format!("{{ document(slug: \"printed\") {{ cite(format: RIS, revision: \"{article_head}\") {{ text }} }} }}"), json!({}))
        .await;
    assert_eq!(error_code(&body), "NOT_FOUND");
}

/// With a configured public URL, permanent links do not depend on the host a client used.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_links_use_the_configured_public_url() {
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Backend::Sqlite,
        Some("https://corpus.example.org/"),
    )
    .await
    .unwrap();
    let dir = palimpsest::seed::Seeds::BuiltIn;
    palimpsest::seed::load(&app.store, &dir).await.unwrap();
    let ris =
        get(&app, &format!("/documents/{ARTICLE}/cite?format=ris")).await.text().await.unwrap();
    assert!(
        ris.contains(&format!("UR  - https://corpus.example.org/documents/{ARTICLE}/revisions/")),
        "{ris}"
    );
    let body = app
        .query(
            &format!("{{ document(slug: \"{ARTICLE}\") {{ cite(format: CSL_JSON) {{ text }} }} }}"),
            json!({}),
        )
        .await;
    assert!(
        body["data"]["document"]["cite"]["text"]
            .as_str()
            .unwrap()
            .contains("https://corpus.example.org/documents/")
    );
    let timemap = get(&app, &format!("/documents/{ARTICLE}/timemap")).await.text().await.unwrap();
    assert!(
        timemap.starts_with(&format!("<https://corpus.example.org/documents/{ARTICLE}/text>")),
        "{timemap}"
    );
}
