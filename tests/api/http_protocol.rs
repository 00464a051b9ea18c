//! GraphQL over HTTP as the specification describes it, and the routes beside /graphql.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_no_errors, error_code};

crate::on_both_backends!(
    post_negotiates_the_response_media_type_and_status,
    get_runs_queries_but_never_mutations_and_serves_graphiql,
    malformed_requests_get_precise_http_errors,
    schema_and_health_routes_answer,
    queries_past_the_depth_or_complexity_limits_are_refused,
    head_answers_every_get_route_as_get_does_without_the_body,
    documents_and_revisions_carry_the_urls_of_their_pages,
    automatic_persisted_queries_work_as_apollos_link_sends_them,
    a_failed_field_is_null_in_place_and_a_failed_non_null_field_nulls_its_parent,
    fields_come_back_in_the_order_the_query_asked_for_them,
    every_response_says_what_it_cost_and_a_query_can_be_priced_without_running,
);

async fn post_negotiates_the_response_media_type_and_status(app: TestApp) {
    let send = |accept: Option<&'static str>, query: &'static str| {
        let mut request = app.post_graphql().json(&json!({ "query": query }));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        request.send()
    };
    let ok = "{ documents { totalCount } }";
    let invalid = "{ documents { totalCount nope } }";

    let response = send(Some("application/graphql-response+json"), ok).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/graphql-response+json")
    );
    assert!(response.headers().contains_key("x-request-id"));

    let response = send(Some("application/graphql-response+json"), invalid).await.unwrap();
    assert_eq!(response.status(), 400, "a request error is 400 under graphql-response+json");
    let body: Value = response.json().await.unwrap();
    assert!(body.get("data").is_none(), "no data for a request error: {body}");
    assert_eq!(error_code(&body), "BAD_USER_INPUT");

    let response = send(Some("application/json"), invalid).await.unwrap();
    assert_eq!(response.status(), 200, "application/json keeps 200");
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));

    for accept in
        [None, Some("*/*"), Some("application/json;q=0.5, application/graphql-response+json")]
    {
        let response = send(accept, ok).await.unwrap();
        assert_eq!(response.status(), 200, "{accept:?}");
    }
    let response =
        send(Some("application/json;q=0.9, application/graphql-response+json;q=0.8"), ok)
            .await
            .unwrap();
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("application/json"));

    let response = send(Some("text/html"), ok).await.unwrap();
    assert_eq!(response.status(), 406);
}

async fn get_runs_queries_but_never_mutations_and_serves_graphiql(app: TestApp) {
    let url = format!("{}/graphql", app.address);
    let response = app
        .client
        .get(&url)
        .query(&[
            ("query", "query($s: String!) { document(slug: $s) { slug } }"),
            ("variables", r#"{"s":"none"}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_no_errors(&body);
    assert_eq!(body["data"]["document"], json!(null));

    let token = app.editor().await;
    for (query, operation) in [
        (
            "mutation { createDocument(input: {slug: \"g\", title: \"T\", kind: ARTICLE, content: \"x\"}) { document { id } } }",
            None,
        ),
        ("query A { documents { totalCount } } mutation B { __typename }", Some("B")),
    ] {
        let mut params = vec![("query", query)];
        if let Some(operation) = operation {
            params.push(("operationName", operation));
        }
        let response =
            app.client.get(&url).bearer_auth(&token).query(&params).send().await.unwrap();
        assert_eq!(response.status(), 405, "{query}");
        assert_eq!(response.headers()["allow"], "POST");
    }
    assert_eq!(app.corpus_size().await, (0, 0));

    let response =
        app.client.get(&url).query(&[("query", "{ x"), ("variables", "[1]")]).send().await.unwrap();
    assert_eq!(response.status(), 400);

    let page = app.client.get(&url).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));
    let no_query = app.client.get(&url).header("accept", "application/json").send().await.unwrap();
    assert_eq!(no_query.status(), 400);
}

async fn malformed_requests_get_precise_http_errors(app: TestApp) {
    let url = format!("{}/graphql", app.address);
    let cases: [(&str, &str, u16); 5] = [
        ("application/json", "{ not json", 400),
        ("application/json", r#"{"variables": {}}"#, 400),
        ("application/json", r#"[{"query": "{ __typename }"}]"#, 400),
        ("text/plain", r#"{"query": "{ __typename }"}"#, 415),
        ("application/json", r#"{"query": "{ __typename }", "variables": [1]}"#, 400),
    ];
    for (content_type, body, status) in cases {
        let response = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{content_type} {body}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(error_code(&body), "BAD_USER_INPUT");
    }
}

async fn schema_and_health_routes_answer(app: TestApp) {
    let sdl = app.client.get(format!("{}/schema.graphql", app.address)).send().await.unwrap();
    assert_eq!(sdl.status(), 200);
    assert_eq!(sdl.text().await.unwrap(), include_str!("../../schema/schema.graphql"));
    let health = app.client.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<Value>().await.unwrap()["status"], "ok");
}

async fn queries_past_the_depth_or_complexity_limits_are_refused(app: TestApp) {
    let costly = "{ documents(first: 100) { nodes { revisions(first: 100) { nodes { parent { parent { content } } } } } } }";
    let body = app.query(costly, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX");
    let deep = format!(
        "{{ documents {{ nodes {{ head {{ {} hash {} }} }} }} }}",
        "parent { ".repeat(16),
        "}".repeat(16)
    );
    let body = app.query(&deep, json!({})).await;
    assert_eq!(error_code(&body), "QUERY_TOO_COMPLEX");
}

async fn head_answers_every_get_route_as_get_does_without_the_body(app: TestApp) {
    let token = app.editor().await;
    let (_, hashes) = app.document_with_history(&token, "probed", 2).await;
    let head = &hashes[1];
    let client =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let routes = [
        "/graphql?query=%7Bdocuments%7BtotalCount%7D%7D".to_owned(),
        "/schema.graphql".to_owned(),
        "/healthz".to_owned(),
        "/readyz".to_owned(),
        "/documents/probed".to_owned(),
        "/documents/probed/text".to_owned(),
        "/documents/probed/timemap".to_owned(),
        format!("/documents/probed/revisions/{head}"),
        format!("/documents/probed/revisions/{head}/text"),
        "/documents/probed/cite?format=bibtex".to_owned(),
        "/documents/probed/provenance".to_owned(),
        "/cite?format=ris&documents=probed".to_owned(),
        "/documents/nowhere".to_owned(),
    ];
    for route in &routes {
        let url = format!("{}{route}", app.address);
        let get = client.get(&url).send().await.unwrap();
        let (status, headers) = (get.status(), get.headers().clone());
        let body = get.bytes().await.unwrap();
        let head = client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), status, "HEAD {route}");
        for name in ["content-type", "link", "memento-datetime", "etag", "cache-control"] {
            assert_eq!(head.headers().get(name), headers.get(name), "{name} of HEAD {route}");
        }
        if let Some(length) = head.headers().get("content-length") {
            assert_eq!(length.to_str().unwrap(), body.len().to_string(), "HEAD {route}");
        }
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {route} has no body");
    }
    // Writes stay POST only.
    let url = format!("{}/documents/probed", app.address);
    assert_eq!(client.post(&url).send().await.unwrap().status(), 405);
}

async fn documents_and_revisions_carry_the_urls_of_their_pages(app: TestApp) {
    let token = app.editor().await;
    let (id, hashes) = app.document_with_history(&token, "linked", 2).await;
    let body = app
        .query(
            "query($id: ID!) { document(id: $id) { url head { url }
               revisions { nodes { hash url } } } }",
            json!({ "id": id }),
        )
        .await;
    assert_no_errors(&body);
    let document = &body["data"]["document"];
    assert_eq!(document["url"], format!("{}/documents/linked", app.address));
    let head = &hashes[1];
    assert_eq!(
        document["head"]["url"],
        format!("{}/documents/linked/revisions/{head}", app.address)
    );
    for node in document["revisions"]["nodes"].as_array().unwrap() {
        let url = node["url"].as_str().unwrap();
        assert!(url.ends_with(node["hash"].as_str().unwrap()), "{url}");
        let page = app.client.get(url).send().await.unwrap();
        assert_eq!(page.status(), 200, "{url}");
        assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    }
}

async fn automatic_persisted_queries_work_as_apollos_link_sends_them(app: TestApp) {
    let query = "query Count { documents { totalCount } }";
    let hash = crate::helpers::sha256_hex(query.as_bytes());
    let extensions = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
    let post =
        |body: Value| app.post_graphql().header("accept", "application/json").json(&body).send();

    // The hash alone, first: not found, in the shape the link retries on.
    let response = post(json!({ "extensions": extensions })).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body:#}");
    assert_eq!(body["errors"][0]["message"], "PersistedQueryNotFound");

    // Then with its query: it runs and is registered.
    let body: Value = post(json!({ "query": query, "extensions": extensions }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_no_errors(&body);
    assert!(body["data"]["documents"]["totalCount"].is_number());

    // From then on the hash alone runs it, over POST and over GET (which HTTP caches keep).
    let body: Value =
        post(json!({ "extensions": extensions })).await.unwrap().json().await.unwrap();
    assert_no_errors(&body);
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("operationName", "Count".to_owned()), ("extensions", extensions.to_string())])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_no_errors(&body);
    assert!(body["data"]["documents"]["totalCount"].is_number());

    // A hash that is not the query's is refused, and nothing is registered under it.
    let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "0".repeat(64) } });
    let response = post(json!({ "query": query, "extensions": wrong })).await.unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_USER_INPUT", "{body:#}");
    let body: Value = post(json!({ "extensions": wrong })).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND");

    // A query longer than the server keeps (128 KiB; a comment passes the query limits)
    // runs, and is not kept: its hash alone is not found afterwards.
    let long = format!("query Long {{ documents {{ totalCount }} }} #{}", "x".repeat(200_000));
    let long_ext = json!({ "persistedQuery": { "version": 1,
        "sha256Hash": crate::helpers::sha256_hex(long.as_bytes()) } });
    let body: Value =
        post(json!({ "query": long, "extensions": long_ext })).await.unwrap().json().await.unwrap();
    assert_no_errors(&body);
    let body: Value = post(json!({ "extensions": long_ext })).await.unwrap().json().await.unwrap();
    assert_eq!(error_code(&body), "PERSISTED_QUERY_NOT_FOUND", "{body:#}");

    // A persisted mutation still runs over POST only.
    let mutation = "mutation { createDocument(input: { slug: \"x\", title: \"x\", content: \"x\" }) { document { id } } }";
    let mutation_ext = json!({ "persistedQuery": { "version": 1, "sha256Hash": crate::helpers::sha256_hex(mutation.as_bytes()) } });
    let _ = post(json!({ "query": mutation, "extensions": mutation_ext })).await.unwrap();
    let response = app
        .client
        .get(format!("{}/graphql", app.address))
        .query(&[("extensions", mutation_ext.to_string())])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
}

/// Spec 6.4.4: a field whose resolver fails is in `data` as null beside its error; a failed
/// non-null field makes its nearest nullable parent null. (Apollo Client's cache keeps a
/// result only when every field it asked for is there.)
async fn a_failed_field_is_null_in_place_and_a_failed_non_null_field_nulls_its_parent(
    app: TestApp,
) {
    let token = app.editor().await;
    app.document_with_history(&token, "nulls", 1).await;
    let body = app
        .query(
            r#"{
                nullable: document(slug: "nulls") { slug revision(hash: "zz") { number } kind }
                nonNull: document(slug: "nulls") { slug provenance(revision: "zz") }
                fine: document(slug: "nulls") { slug }
            }"#,
            json!({}),
        )
        .await;
    let data = &body["data"];
    assert_eq!(
        data["nullable"],
        json!({ "slug": "nulls", "revision": null, "kind": "ARTICLE" }),
        "the failed nullable field is there, as null: {body:#}"
    );
    assert!(data.as_object().unwrap().contains_key("nonNull"), "{body:#}");
    assert_eq!(data["nonNull"], Value::Null, "the non-null failure nulls its parent: {body:#}");
    assert_eq!(data["fine"], json!({ "slug": "nulls" }));
    let mut paths: Vec<Value> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            assert_eq!(error["extensions"]["code"], "BAD_USER_INPUT", "{error:#}");
            error["path"].clone()
        })
        .collect();
    paths.sort_by_key(|path| path.to_string());
    assert_eq!(paths, [json!(["nonNull", "provenance"]), json!(["nullable", "revision"])]);

    // A non-null root field that fails makes `data` itself null.
    let body = app.query(r#"{ documents { totalCount } provenance: document(slug: "nulls") { provenance(revision: "zz") } }"#, json!({})).await;
    assert_eq!(body["data"]["provenance"], Value::Null, "{body:#}");
    assert!(body["data"]["documents"]["totalCount"].is_number(), "{body:#}");
}

/// Spec 7.2.2: the response's fields are in the order the query selected them, every time,
/// whatever order their resolvers finished in.
async fn fields_come_back_in_the_order_the_query_asked_for_them(app: TestApp) {
    let token = app.editor().await;
    app.document_with_history(&token, "ordered", 3).await;
    // The database-bound fields come first, the ones that answer at once after.
    let query = r#"{
        zFirst: document(slug: "ordered") { revisions(first: 3) { totalCount nodes { number } } }
        yCount: documents { totalCount }
        aTypename: __typename
        ...Later
    }
    fragment Later on Query { mSlug: document(slug: "ordered") { slug id } bTypename: __typename }"#;
    let expected = ["zFirst", "yCount", "aTypename", "mSlug", "bTypename"];
    for _ in 0..20 {
        let response = app.post_graphql().json(&json!({ "query": query })).send().await.unwrap();
        let text = response.text().await.unwrap();
        let positions: Vec<usize> = expected
            .iter()
            .map(|key| text.find(&format!("\"{key}\":")).unwrap_or_else(|| panic!("{key}: {text}")))
            .collect();
        assert!(positions.is_sorted(), "fields out of order: {text}");
        let number = text.find("\"totalCount\"").unwrap();
        assert!(number < text.find("\"nodes\"").unwrap(), "{text}");
    }
}

/// `extensions.cost` in every response that ran, and `queryCost` for a query not run.
async fn every_response_says_what_it_cost_and_a_query_can_be_priced_without_running(app: TestApp) {
    let token = app.editor().await;
    app.document_with_history(&token, "priced", 2).await;
    let query = r#"{ document(slug: "priced") { head { content } revisions(first: 2) { nodes { number } } } }"#;
    let body = app.query(query, json!({})).await;
    assert_no_errors(&body);
    let cost = &body["extensions"]["cost"];
    let requested = cost["requested"].as_u64().unwrap();
    let actual = cost["actual"].as_u64().unwrap();
    assert!(requested > 1, "{cost:#}");
    assert!(actual >= requested, "reading the text draws more while running: {cost:#}");
    assert_eq!(cost["limit"], 20_000);

    // Priced without running: the same static cost, and nothing written or read.
    let priced = app
        .query(
            "query Price($q: String!) { queryCost(query: $q) { cost limit withinLimit } }",
            json!({ "q": query }),
        )
        .await;
    assert_no_errors(&priced);
    assert_eq!(priced["data"]["queryCost"]["cost"], requested, "{priced:#}");
    assert_eq!(priced["data"]["queryCost"]["withinLimit"], true);

    // A mutation is priced, not run.
    let mutation = r#"mutation { createDocument(input: { slug: "never", kind: OTHER, title: "t", content: "c" }) { document { slug } } }"#;
    let priced = app
        .query(
            "query Price($q: String!) { queryCost(query: $q) { cost } }",
            json!({ "q": mutation }),
        )
        .await;
    assert_no_errors(&priced);
    let never = app.query(r#"{ document(slug: "never") { slug } }"#, json!({})).await;
    assert_eq!(never["data"]["document"], Value::Null, "the priced mutation did not run");

    // Too costly to run, still priced; the variables and operation are taken into account.
    let costly = "query Big($n: Int!) { documents(first: $n) { nodes { revisions(first: 100) { nodes { content } } } } }";
    let priced = app
        .query(
            "query Price($q: String!, $v: JSON) { queryCost(query: $q, variables: $v, operationName: \"Big\") { cost limit withinLimit } }",
            json!({ "q": costly, "v": { "n": 100 } }),
        )
        .await;
    assert_no_errors(&priced);
    assert_eq!(priced["data"]["queryCost"]["withinLimit"], false, "{priced:#}");
    assert!(priced["data"]["queryCost"]["cost"].as_u64().unwrap() > 20_000);

    // What would be refused says why.
    let priced = app
        .query(
            "query Price($q: String!) { queryCost(query: $q) { cost } }",
            json!({ "q": "{ nope }" }),
        )
        .await;
    assert_eq!(error_code(&priced), "BAD_USER_INPUT");
    assert!(priced["errors"][0]["message"].as_str().unwrap().contains("nope"), "{priced:#}");
}
