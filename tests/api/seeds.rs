//! The sample corpus loads as declared, through the ordinary write path, exactly once.

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, sha256_hex};

crate::on_both_backends!(the_sample_article_loads_verbatim_and_only_once);

async fn the_sample_article_loads_verbatim_and_only_once(app: TestApp) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let report = palimpsest::seed::load(&app.store, &dir).await.unwrap();
    assert_eq!(report.created, ["ex-security-chiefs-urge-trump-to-end-gaza-war"]);
    let after_first = app.corpus_size().await;

    let again = palimpsest::seed::load(&app.store, &dir).await.unwrap();
    assert!(again.created.is_empty());
    assert_eq!(again.already_present.len(), 1);
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
    let file = std::fs::read(dir.join("000_29be97726b5e019a.txt")).unwrap();
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
}
