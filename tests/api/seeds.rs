//! The sample corpus loads as declared, through the ordinary write path, exactly once.

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, sha256_hex};

crate::on_both_backends!(the_sample_article_loads_verbatim_and_only_once);

async fn the_sample_article_loads_verbatim_and_only_once(app: TestApp) {
    let dir = palimpsest::seed::Seeds::BuiltIn;
    let report = palimpsest::seed::load(&app.store, &dir).await.unwrap();
    assert_eq!(
        report.created,
        ["ex-security-chiefs-urge-trump-to-end-gaza-war", "reading-note-security-chiefs-appeal"]
    );
    let after_first = app.corpus_size().await;

    let again = palimpsest::seed::load(&app.store, &dir).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.already_present.len(), 2);
    assert_eq!(app.corpus_size().await, after_first, "loading twice changes nothing");

    let body = app
        .query(
            "{ document(slug: \"ex-security-chiefs-urge-trump-to-end-gaza-war\") { kind title revisions { totalCount }
               head { content contentHash parent { hash } source { id } author { name kind } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    let document = &body["data"]["document"];
    let file = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds/000_29be97726b5e019a.txt"),
    )
    .unwrap();
    assert_eq!(document["head"]["contentHash"], sha256_hex(&file), "equals sha256sum of the file");
    assert_eq!(
        document["head"]["contentHash"],
        "db1b089347bc6e69f252cbd91cece1da8ad8a45fd2877befc558139f1bbcf990"
    );
    assert_eq!(document["head"]["content"].as_str().unwrap().as_bytes(), file.as_slice());
    assert_eq!(document["kind"], "ARTICLE");
    assert_eq!(
        document["title"],
        "550 Ex-Mossad and Shin Bet Chiefs Urge Trump to End the Gaza Genocide Now"
    );
    assert_eq!(document["revisions"]["totalCount"], 1);
    assert_eq!(document["head"]["source"], json!(null), "the outlet is unknown");
    assert_eq!(document["head"]["author"]["kind"], "SOFTWARE");

    // The article's relations, recorded honestly: a paraphrase of a letter that is not in
    // the corpus, unnamed critics, and a verified quotation by the reading note.
    let body = app
        .query(
            "{ article: document(slug: \"ex-security-chiefs-urge-trump-to-end-gaza-war\") {
                 citations { nodes { relation citingPassage { exact } targetSource { kind title recipients authors publishedAt url }
                   verification { status } } }
                 citedBy { nodes { relation citingDocument { slug } verification { status } currentVerification { status } } } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&body);
    let citations = body["data"]["article"]["citations"]["nodes"].as_array().unwrap();
    assert_eq!(citations.len(), 2);
    assert_eq!(citations[0]["relation"], "PARAPHRASES");
    assert!(
        citations[0]["citingPassage"]["exact"]
            .as_str()
            .unwrap()
            .contains("the letter says in essence")
    );
    assert_eq!(citations[0]["targetSource"]["kind"], "LETTER");
    assert_eq!(citations[0]["targetSource"]["recipients"], json!(["Donald Trump"]));
    assert_eq!(
        citations[0]["targetSource"]["publishedAt"],
        json!(null),
        "the letter's date is unknown"
    );
    assert_eq!(citations[0]["verification"]["status"], "UNVERIFIABLE");
    assert_eq!(citations[1]["relation"], "CITES");
    assert_eq!(
        citations[1]["citingPassage"]["exact"],
        "human rights groups, UN experts, and legal scholars"
    );
    assert_eq!(citations[1]["targetSource"]["authors"], json!([]), "unnamed stays unnamed");
    assert_eq!(citations[1]["targetSource"]["url"], json!(null));
    let quoted = &body["data"]["article"]["citedBy"]["nodes"][0];
    assert_eq!(quoted["relation"], "QUOTES");
    assert_eq!(quoted["citingDocument"]["slug"], "reading-note-security-chiefs-appeal");
    assert_eq!(quoted["verification"]["status"], "VERIFIED");
    assert_eq!(quoted["currentVerification"]["status"], "VERIFIED");
}
