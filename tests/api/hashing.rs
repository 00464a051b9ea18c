//! The hashing contract, checked from outside: every served revision's hash is SHA-256 of its
//! header, its content hash is SHA-256 of its text, and the header is canonical JSON that
//! commits to the document, parent, title, author, time, message and source.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, sha256_hex};

crate::on_both_backends!(
    schema: every_stored_revision_hash_recomputes_from_its_header_and_content
);

const HISTORY: &str = "query($id: ID!) { document(id: $id) { uuid revisions(first: 100) { nodes {
  hash contentHash header content title message createdAt number parent { hash } author { uuid }
} } } }";

async fn every_stored_revision_hash_recomputes_from_its_header_and_content(app: TestApp) {
    let token = app.editor().await;
    let created = app
        .create_document(
            &token,
            "unicode",
            "Zitat: «Ende» — \"quoted\"\ttab\r\nline two without newline",
        )
        .await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let mut head = created["revision"]["hash"].as_str().unwrap().to_owned();
    for (i, text) in ["", "emoji 😀 and \u{1} control\n", "last\n"].iter().enumerate() {
        let body = app.revise(&token, &id, &head, text).await;
        assert_no_errors(&body);
        head = body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
        assert_eq!(body["data"]["reviseDocument"]["revision"]["number"], i as i64 + 2);
    }

    let body = app.query(HISTORY, json!({ "id": id })).await;
    assert_no_errors(&body);
    let document_uuid = body["data"]["document"]["uuid"].as_str().unwrap();
    let nodes = body["data"]["document"]["revisions"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for node in nodes {
        let header_text = node["header"].as_str().unwrap();
        assert_eq!(sha256_hex(header_text.as_bytes()), node["hash"], "hash = SHA-256(header)");
        assert_eq!(
            sha256_hex(node["content"].as_str().unwrap().as_bytes()),
            node["contentHash"],
            "contentHash = SHA-256(content)"
        );
        let header: Value = serde_json::from_str(header_text).unwrap();
        // serde_json keeps object keys sorted and writes no whitespace; for a header of
        // strings and nulls that is RFC 8785's form.
        assert_eq!(serde_json::to_string(&header).unwrap(), header_text, "canonical form");
        let members: Vec<&str> = header.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            members,
            [
                "author",
                "content_sha256",
                "created_at",
                "document",
                "message",
                "parent",
                "source",
                "title",
                "type"
            ]
        );
        assert_eq!(header["type"], "palimpsest.revision/v1");
        assert_eq!(header["document"], document_uuid);
        assert_eq!(header["content_sha256"], node["contentHash"]);
        assert_eq!(header["parent"], node["parent"]["hash"].clone());
        assert_eq!(header["title"], node["title"]);
        assert_eq!(header["message"], node["message"]);
        assert_eq!(header["author"], node["author"]["uuid"]);
        assert_eq!(header["created_at"], node["createdAt"]);
        assert_eq!(header["source"], json!(null));
        let created_at = header["created_at"].as_str().unwrap();
        assert_eq!(
            created_at.len(),
            "2026-11-24T10:15:30.123456Z".len(),
            "six fraction digits and Z"
        );
        assert!(created_at.ends_with('Z'));
    }
}

/// An independent verifier (Python's `rfc8785` package and `hashlib`, see
/// `docs/verify_revision.py`) reproduces the published test vector.
#[test]
#[cfg_attr(palimpsest_no_rfc8785, ignore = "needs python3 with rfc8785")]
fn an_external_rfc8785_verifier_reproduces_the_published_test_vector() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/verify_revision.py");
    let output = std::process::Command::new("python3")
        .args([script, "--test-vector"])
        .output()
        .expect("run the verifier");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("eaef801cb33c29cd8b2122a2733ea4dcc0e3eb5492a2f23776fe5d76b85f1151"),
        "{stdout}"
    );
}
