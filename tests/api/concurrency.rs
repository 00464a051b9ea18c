//! Optimistic concurrency under real contention: of 16 clients revising the same head at
//! once, exactly one wins and the history stays a single chain.

use serde_json::json;

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(sixteen_concurrent_revisions_of_one_head_leave_exactly_one_winner);

async fn sixteen_concurrent_revisions_of_one_head_leave_exactly_one_winner(app: TestApp) {
    let token = app.editor().await;
    let created = app.create_document(&token, "contested", "original\n").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let head = created["revision"]["hash"].as_str().unwrap().to_owned();

    let attempts = (0..16).map(|i| {
        let (app, token, id, head) = (&app, token.clone(), id.clone(), head.clone());
        async move { app.revise(&token, &id, &head, &format!("edit by client {i}\n")).await }
    });
    let results = futures_util::future::join_all(attempts).await;
    let winners: Vec<_> = results.iter().filter(|body| body.get("errors").is_none()).collect();
    let losers: Vec<_> = results.iter().filter(|body| body.get("errors").is_some()).collect();
    assert_eq!(winners.len(), 1, "exactly one succeeds: {results:#?}");
    for loser in &losers {
        assert_eq!(error_code(loser), "CONFLICT", "{loser:#}");
    }

    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { head { hash } revisions { totalCount nodes { number parent { hash } hash } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&body);
    let document = &body["data"]["document"];
    assert_eq!(document["revisions"]["totalCount"], 2);
    assert_eq!(document["head"]["hash"], winners[0]["data"]["reviseDocument"]["revision"]["hash"]);
    assert_eq!(document["revisions"]["nodes"][0]["parent"]["hash"], head);
    assert_eq!(app.corpus_size().await, (1, 2));
}
