//! Memento (RFC 7089): original resources, TimeGates, mementos and TimeMaps.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors};

crate::on_both_backends!(
    the_original_resource_serves_the_head_and_its_timegate_redirects,
    mementos_are_cached_and_linked_to_their_neighbours,
    the_timemap_lists_every_revision_even_within_one_second,
    memento_routes_refuse_bad_input,
);

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// A document with three revisions made within moments; returns the hashes and their
/// `createdAt`s, oldest first.
async fn history(app: &TestApp) -> (Vec<String>, Vec<String>) {
    let token = app.editor().await;
    let (id, hashes) = app.document_with_history(&token, "memento-doc", 3).await;
    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { revisions { nodes { createdAt } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&body);
    let times = body["data"]["document"]["revisions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|n| n["createdAt"].as_str().unwrap().to_owned())
        .collect();
    (hashes, times)
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response.headers().get(name).unwrap_or_else(|| panic!("no {name} header")).to_str().unwrap()
}

async fn the_original_resource_serves_the_head_and_its_timegate_redirects(app: TestApp) {
    let (hashes, times) = history(&app).await;
    let client = no_redirects();
    let original = format!("{}/documents/memento-doc/text", app.address);

    let response = client.get(&original).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(header(&response, "content-type").starts_with("text/plain"));
    assert_eq!(header(&response, "vary"), "accept-datetime");
    assert_eq!(header(&response, "etag"), format!("\"{}\"", hashes[2]));
    let link = header(&response, "link").to_owned();
    assert!(link.contains(&format!("<{original}>; rel=\"original timegate\"")), "{link}");
    assert!(link.contains("/documents/memento-doc/timemap>; rel=\"timemap\""), "{link}");
    assert_eq!(response.text().await.unwrap(), "version 3\n");

    let memento_of =
        |hash: &str| format!("{}/documents/memento-doc/revisions/{hash}/text", app.address);
    let cases = [
        ("Tue, 01 Jan 2036 00:00:00 GMT", &hashes[2]),
        ("Sat, 01 Jan 2000 00:00:00 GMT", &hashes[0]),
        (times[0].as_str(), &hashes[0]),
        (times[1].as_str(), &hashes[1]),
        (times[2].as_str(), &hashes[2]),
    ];
    for (accept_datetime, expected) in cases {
        let response =
            client.get(&original).header("accept-datetime", accept_datetime).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FOUND, "{accept_datetime}");
        assert_eq!(header(&response, "location"), memento_of(expected), "{accept_datetime}");
        assert_eq!(header(&response, "vary"), "accept-datetime");
        assert!(header(&response, "link").contains("rel=\"memento\""));
    }
    // An HTTP-date names a whole second: the last revision made within it.
    let second = chrono::DateTime::parse_from_rfc3339(&times[2])
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let response = client.get(&original).header("accept-datetime", &second).send().await.unwrap();
    assert_eq!(header(&response, "location"), memento_of(&hashes[2]));
}

async fn mementos_are_cached_and_linked_to_their_neighbours(app: TestApp) {
    let (hashes, times) = history(&app).await;
    let client = no_redirects();
    let url = |hash: &str| format!("{}/documents/memento-doc/revisions/{hash}/text", app.address);

    let response = client.get(url(&hashes[1])).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "etag"), format!("\"{}\"", hashes[1]));
    // A revision never changes, but its text can be redacted: caches revalidate (by the ETag).
    assert_eq!(header(&response, "cache-control"), "public, no-cache");
    assert_eq!(header(&response, "palimpsest-created-at"), times[1]);
    let expected_date = chrono::DateTime::parse_from_rfc3339(&times[1])
        .unwrap()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    assert_eq!(header(&response, "memento-datetime"), expected_date);
    let link = header(&response, "link").to_owned();
    assert!(link.contains(&format!("<{}>; rel=\"first prev memento\"", url(&hashes[0]))), "{link}");
    assert!(link.contains(&format!("<{}>; rel=\"memento\"", url(&hashes[1]))), "{link}");
    assert!(link.contains(&format!("<{}>; rel=\"next last memento\"", url(&hashes[2]))), "{link}");
    assert!(link.contains("rel=\"original timegate\""));
    assert!(link.contains("rel=\"timemap\""));
    let digest = header(&response, "repr-digest").to_owned();
    let body = response.text().await.unwrap();
    assert_eq!(body, "version 2\n");
    use base64::Engine;
    use sha2::Digest;
    let expected_digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(body.as_bytes()))
    );
    assert_eq!(digest, expected_digest);

    let not_modified = client
        .get(url(&hashes[1]))
        .header("if-none-match", format!("\"{}\"", hashes[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    // If-None-Match compares weakly (RFC 9110 13.1.2), in a list, with other tags.
    for tags in [format!("W/\"{}\"", hashes[1]), format!("\"other\", W/\"{}\"", hashes[1])] {
        let held = client.get(url(&hashes[1])).header("if-none-match", tags).send().await.unwrap();
        assert_eq!(held.status(), StatusCode::NOT_MODIFIED);
    }
    let other = client
        .get(url(&hashes[1]))
        .header("if-none-match", format!("W/\"{}\"", hashes[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);

    let first = client.get(url(&hashes[0])).send().await.unwrap();
    let link = header(&first, "link");
    assert!(link.contains(&format!("<{}>; rel=\"first memento\"", url(&hashes[0]))), "{link}");
    assert!(!link.contains("prev"), "{link}");
}

async fn the_timemap_lists_every_revision_even_within_one_second(app: TestApp) {
    let (hashes, _) = history(&app).await;
    let response = no_redirects()
        .get(format!("{}/documents/memento-doc/timemap", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "content-type"), "application/link-format");
    let body = response.text().await.unwrap();
    let entries: Vec<&str> = body.trim_end().split(",\n").collect();
    assert_eq!(entries.len(), 3 + 3, "{body}");
    assert!(entries[0].ends_with("/documents/memento-doc/text>; rel=\"original\""));
    assert!(entries[1].contains("rel=\"self\"; type=\"application/link-format\"; from=\""));
    assert!(entries[2].ends_with("rel=\"timegate\""));
    for (entry, (hash, rel)) in
        entries[3..].iter().zip(hashes.iter().zip(["first memento", "memento", "last memento"]))
    {
        assert!(
            entry.contains(&format!("/revisions/{hash}/text>; rel=\"{rel}\"; datetime=\"")),
            "{entry}"
        );
    }
}

async fn memento_routes_refuse_bad_input(app: TestApp) {
    let (hashes, _) = history(&app).await;
    let token = app.editor().await;
    let other = app.create_document(&token, "other-doc", "x\n").await;
    let client = no_redirects();
    let base = &app.address;
    let cases = [
        (format!("{base}/documents/no-such-doc/text"), None, 404),
        (format!("{base}/documents/Bad%20Slug/text"), None, 400),
        (format!("{base}/documents/no-such-doc/timemap"), None, 404),
        (format!("{base}/documents/memento-doc/revisions/nothex/text"), None, 400),
        (format!("{base}/documents/memento-doc/revisions/{}/text", "0".repeat(64)), None, 404),
        (
            format!(
                "{base}/documents/memento-doc/revisions/{}/text",
                other["revision"]["hash"].as_str().unwrap()
            ),
            None,
            404,
        ),
        (format!("{base}/documents/memento-doc/text"), Some("yesterday-ish"), 400),
    ];
    for (url, accept_datetime, status) in cases {
        let mut request = client.get(&url);
        if let Some(value) = accept_datetime {
            request = request.header("accept-datetime", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{url} {accept_datetime:?}");
    }
    assert_eq!(hashes.len(), 3);
}
