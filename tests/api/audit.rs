//! The audit log as an archivist reads it: every mutation, allowed or refused, leaves one event
//! with who (agent and token, never its secret), what, on which target, through which request,
//! and how it ended; the log is read through a filtered, paged connection. The rules are the
//! schema's; that the request id an HTTP response carries is the one its events record is
//! HTTP's.

use expect_test::expect;
use palimpsest::store::{AgentKind, AgentName, Role};
use serde_json::{Value, json};

use crate::helpers::{
    CREATE_DOCUMENT, TestApp, assert_no_errors, compact_lines, error_code, execute_in,
    request_context, scrubbed,
};

crate::on_both_backends!(
    schema:
    every_mutation_leaves_an_event_naming_who_what_and_through_which_request,
    refusals_for_role_and_conflicts_are_recorded_and_write_nothing_else,
    the_audit_log_is_read_by_archivists_filtered_and_paged;
    http:
    the_request_id_a_response_carries_is_the_one_its_events_record,
);

const EVENTS: &str = "query($filter: AuditEventFilter, $first: Int, $after: String) {
  auditEvents(filter: $filter, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    nodes { id at action outcome agent { name } tokenId target requestId detail }
  }
}";

/// A token for a new agent named `name`: its secret, its id and the agent's UUID.
async fn token(app: &TestApp, name: &str, role: Role) -> (String, String, String) {
    let agent = app
        .store
        .create_agent(&AgentName::parse(name).unwrap(), AgentKind::Person, None)
        .await
        .unwrap();
    let agent_uuid = agent.id.to_string();
    let token = app.store.create_token(agent, role, None).await.unwrap();
    (token.secret, token.token.id.to_string(), agent_uuid)
}

async fn events(app: &TestApp, archivist: &str, filter: Value) -> Vec<Value> {
    let body =
        app.query_as(Some(archivist), EVENTS, json!({ "filter": filter, "first": 100 })).await;
    assert_no_errors(&body);
    body["data"]["auditEvents"]["nodes"].as_array().unwrap().clone()
}

/// Runs a mutation as request `request_id` of its transport.
async fn mutate(
    app: &TestApp,
    token: &str,
    request_id: &str,
    query: &str,
    variables: Value,
) -> Value {
    let context = request_context(Some(token), request_id, query.len());
    execute_in(&app.schema, context, query, variables).await
}

fn create_input(slug: &str) -> Value {
    json!({ "input": { "slug": slug, "title": "Audited", "kind": "ARTICLE",
                       "content": "The audited text.\n", "message": "first" } })
}

async fn every_mutation_leaves_an_event_naming_who_what_and_through_which_request(app: TestApp) {
    let (editor, editor_token_id, eve) = token(&app, "Eve Editor", Role::Editor).await;
    let (admin, admin_token_id, ada) = token(&app, "Ada Admin", Role::Admin).await;
    let (archivist, archivist_token_id, arthur) =
        token(&app, "Arthur Archivist", Role::Archivist).await;

    let request_id = "request-of-the-creation";
    let created = mutate(&app, &editor, request_id, CREATE_DOCUMENT, create_input("audited")).await;
    assert_no_errors(&created);
    let document = created["data"]["createDocument"]["document"].clone();
    let first = created["data"]["createDocument"]["revision"]["hash"].as_str().unwrap().to_owned();
    let id = document["id"].as_str().unwrap();
    let revised = app.revise(&editor, id, &first, "The audited text, revised.\n").await;
    assert_no_errors(&revised);
    let second = revised["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap();
    let source = app
        .query_as(
            Some(&editor),
            "mutation { createSource(input: { title: \"A letter\" }) { source { id uuid } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&source);
    let cited = app
        .query_as(
            Some(&editor),
            "mutation($d: ID!, $s: ID!) { addCitation(input: { documentId: $d, relation: CITES,
               target: { sourceId: $s } }) { citation { id } } }",
            json!({ "d": id, "s": source["data"]["createSource"]["source"]["id"] }),
        )
        .await;
    assert_no_errors(&cited);
    let agent = app
        .query_as(
            Some(&admin),
            "mutation { createAgent(input: { name: \"New Person\", kind: PERSON }) { agent { uuid } } }",
            json!({}),
        )
        .await;
    assert_no_errors(&agent);
    let redacted = app
        .query_as(
            Some(&archivist),
            "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"personal data\" }) {
               revision { hash } } }",
            json!({ "h": first }),
        )
        .await;
    assert_no_errors(&redacted);

    let all = events(&app, &archivist, json!({})).await;
    // The whole log, oldest first, an event a line: who, what, on which target, through which
    // request, how it ended (the event's own id and time left out).
    let document_uuid = document["uuid"].as_str().unwrap();
    let source_uuid = source["data"]["createSource"]["source"]["uuid"].as_str().unwrap();
    let new_person = agent["data"]["createAgent"]["agent"]["uuid"].as_str().unwrap();
    let names = [
        (eve.as_str(), "<Eve>"),
        (ada.as_str(), "<Ada>"),
        (arthur.as_str(), "<Arthur>"),
        (new_person, "<New Person>"),
        (editor_token_id.as_str(), "<Eve's token>"),
        (admin_token_id.as_str(), "<Ada's token>"),
        (archivist_token_id.as_str(), "<Arthur's token>"),
        (document_uuid, "<document>"),
        (source_uuid, "<source>"),
        (first.as_str(), "<revision 1>"),
        (second, "<revision 2>"),
    ];
    let log: Vec<Value> = all
        .iter()
        .map(|e| {
            json!({ "action": e["action"], "outcome": e["outcome"], "agent": e["agent"]["name"],
                    "token": e["tokenId"], "target": e["target"], "request": e["requestId"],
                    "detail": e["detail"] })
        })
        .collect();
    expect![[r#"
        {"action":"CREATE_AGENT","agent":null,"detail":null,"outcome":"SUCCEEDED","request":null,"target":"agent:<Eve>","token":null}
        {"action":"CREATE_TOKEN","agent":null,"detail":"editor token for agent <Eve>","outcome":"SUCCEEDED","request":null,"target":"token:<Eve's token>","token":null}
        {"action":"CREATE_AGENT","agent":null,"detail":null,"outcome":"SUCCEEDED","request":null,"target":"agent:<Ada>","token":null}
        {"action":"CREATE_TOKEN","agent":null,"detail":"admin token for agent <Ada>","outcome":"SUCCEEDED","request":null,"target":"token:<Ada's token>","token":null}
        {"action":"CREATE_AGENT","agent":null,"detail":null,"outcome":"SUCCEEDED","request":null,"target":"agent:<Arthur>","token":null}
        {"action":"CREATE_TOKEN","agent":null,"detail":"archivist token for agent <Arthur>","outcome":"SUCCEEDED","request":null,"target":"token:<Arthur's token>","token":null}
        {"action":"CREATE_DOCUMENT","agent":"Eve Editor","detail":"revision <revision 1>","outcome":"SUCCEEDED","request":"request-of-the-creation","target":"document:<document>","token":"<Eve's token>"}
        {"action":"REVISE_DOCUMENT","agent":"Eve Editor","detail":"revision <revision 2>","outcome":"SUCCEEDED","request":"schema-test","target":"document:<document>","token":"<Eve's token>"}
        {"action":"CREATE_SOURCE","agent":"Eve Editor","detail":null,"outcome":"SUCCEEDED","request":"schema-test","target":"source:<source>","token":"<Eve's token>"}
        {"action":"ADD_CITATION","agent":"Eve Editor","detail":"citation <uuid> at revision <revision 2>","outcome":"SUCCEEDED","request":"schema-test","target":"document:<document>","token":"<Eve's token>"}
        {"action":"CREATE_AGENT","agent":"Ada Admin","detail":null,"outcome":"SUCCEEDED","request":"schema-test","target":"agent:<New Person>","token":"<Ada's token>"}
        {"action":"REDACT_REVISION","agent":"Arthur Archivist","detail":"reason: personal data","outcome":"SUCCEEDED","request":"schema-test","target":"revision:<revision 1>","token":"<Arthur's token>"}
    "#]].assert_eq(&compact_lines(&scrubbed(&json!(log), &names)));
    let of = |action: &str| -> Vec<&Value> {
        all.iter().filter(|e| e["action"] == action && e["outcome"] == "SUCCEEDED").collect()
    };
    let target = format!("document:{}", document["uuid"].as_str().unwrap());
    let created = of("CREATE_DOCUMENT");
    assert_eq!(created.len(), 1, "{all:#?}");
    assert_eq!(created[0]["agent"]["name"], "Eve Editor");
    assert_eq!(created[0]["tokenId"], editor_token_id.as_str());
    assert_eq!(created[0]["target"], target.as_str());
    assert_eq!(created[0]["requestId"], request_id);
    assert!(created[0]["detail"].as_str().unwrap().contains(&first));
    assert_eq!(of("REVISE_DOCUMENT")[0]["target"], target.as_str());
    assert_eq!(of("ADD_CITATION")[0]["target"], target.as_str());
    assert!(of("CREATE_SOURCE")[0]["target"].as_str().unwrap().starts_with("source:"));
    // One agent made through the API, by the admin; the others by the operator with tokens.
    let agents = of("CREATE_AGENT");
    assert_eq!(agents.iter().filter(|e| e["agent"]["name"] == "Ada Admin").count(), 1);
    assert_eq!(agents.iter().filter(|e| e["agent"].is_null()).count(), 3);
    let redaction = of("REDACT_REVISION");
    assert_eq!(redaction[0]["target"], format!("revision:{first}"));
    assert!(redaction[0]["detail"].as_str().unwrap().contains("personal data"));
    // The tokens created above were the operator's doing: no agent, no token.
    let tokens = of("CREATE_TOKEN");
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|e| e["agent"].is_null() && e["tokenId"].is_null()));
    // No secret is ever written down.
    let text = serde_json::to_string(&all).unwrap();
    for secret in [&editor, &admin, &archivist] {
        assert!(!text.contains(secret.as_str()));
    }
}

async fn refusals_for_role_and_conflicts_are_recorded_and_write_nothing_else(app: TestApp) {
    let (reader, reader_token_id, _) = token(&app, "Rita Reader", Role::Reader).await;
    let (editor, ..) = token(&app, "Eve Editor", Role::Editor).await;
    let (archivist, ..) = token(&app, "Arthur Archivist", Role::Archivist).await;
    let (_, hashes) = app.document_with_history(&editor, "contested", 2).await;
    let before = app.corpus_size().await;

    let refused = app.query_as(Some(&reader), CREATE_DOCUMENT, create_input("not-allowed")).await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let refused = app
        .query_as(
            Some(&editor),
            "mutation($h: String!) { redactRevision(input: { hash: $h, reason: \"no\" }) {
               revision { hash } } }",
            json!({ "h": hashes[0] }),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN");
    let refused = app
        .query_as(
            Some(&archivist),
            "mutation { createDocument(input: { slug: \"by-archivist\", title: \"T\", kind: OTHER,
               content: \"c\" }) { document { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&refused), "FORBIDDEN", "archivists write no documents");
    let document = app.query("{ document(slug: \"contested\") { id } }", json!({})).await;
    let id = document["data"]["document"]["id"].as_str().unwrap();
    let stale = app.revise(&editor, id, &hashes[0], "too late\n").await;
    assert_eq!(error_code(&stale), "CONFLICT");
    // The other kinds, each refused once for its role and, where it can, for a conflict.
    let refusals = [
        (
            reader.as_str(),
            "mutation { createSource(input: { title: \"S\" }) { source { id } } }",
            json!({}),
            "FORBIDDEN",
        ),
        (
            editor.as_str(),
            "mutation { createAgent(input: { name: \"N\", kind: PERSON }) { agent { id } } }",
            json!({}),
            "FORBIDDEN",
        ),
        (
            reader.as_str(),
            "mutation($d: ID!) { addCitation(input: { documentId: $d, relation: CITES,
            target: { documentId: $d } }) { citation { id } } }",
            json!({ "d": id }),
            "FORBIDDEN",
        ),
        (
            editor.as_str(),
            "mutation($d: ID!, $h: String!) { addCitation(input: { documentId: $d,
            expectedHead: $h, relation: CITES, target: { documentId: $d } }) { citation { id } } }",
            json!({ "d": id, "h": hashes[0] }),
            "CONFLICT",
        ),
        (editor.as_str(), CREATE_DOCUMENT, create_input("contested"), "CONFLICT"),
    ];
    for (token, query, variables, code) in refusals {
        let body = app.query_as(Some(token), query, variables).await;
        assert_eq!(error_code(&body), code, "{body:#}");
    }
    // Anonymous callers are not anyone to record.
    let anonymous = app.query(CREATE_DOCUMENT, create_input("anonymous")).await;
    assert_eq!(error_code(&anonymous), "UNAUTHENTICATED");
    assert_eq!(app.corpus_size().await, before, "refusals write nothing but their event");

    let forbidden = events(&app, &archivist, json!({ "action": "CREATE_DOCUMENT" })).await;
    let forbidden: Vec<&Value> = forbidden.iter().filter(|e| e["outcome"] == "FORBIDDEN").collect();
    assert_eq!(forbidden.len(), 2, "{forbidden:#?}");
    assert_eq!(forbidden[0]["agent"]["name"], "Rita Reader");
    assert_eq!(forbidden[0]["tokenId"], reader_token_id.as_str());
    assert_eq!(forbidden[0]["target"], "slug:not-allowed");
    assert_eq!(forbidden[1]["agent"]["name"], "Arthur Archivist");
    let redactions = events(&app, &archivist, json!({ "action": "REDACT_REVISION" })).await;
    assert_eq!(redactions.len(), 1);
    assert_eq!(redactions[0]["outcome"], "FORBIDDEN");
    assert_eq!(redactions[0]["target"], format!("revision:{}", hashes[0]));
    for (action, outcome) in [
        ("CREATE_SOURCE", "FORBIDDEN"),
        ("CREATE_AGENT", "FORBIDDEN"),
        ("ADD_CITATION", "FORBIDDEN"),
        ("ADD_CITATION", "CONFLICT"),
        ("CREATE_DOCUMENT", "CONFLICT"),
    ] {
        let found = events(&app, &archivist, json!({ "action": action })).await;
        assert!(found.iter().any(|e| e["outcome"] == outcome), "{action} {outcome}: {found:#?}");
    }
    let conflicts = events(&app, &archivist, json!({ "action": "REVISE_DOCUMENT" })).await;
    let conflict: Vec<&Value> = conflicts.iter().filter(|e| e["outcome"] == "CONFLICT").collect();
    assert_eq!(conflict.len(), 1, "{conflicts:#?}");
    assert!(conflict[0]["detail"].as_str().unwrap().contains(&hashes[1]), "{conflict:#?}");
}

async fn the_audit_log_is_read_by_archivists_filtered_and_paged(app: TestApp) {
    let (editor, ..) = token(&app, "Eve Editor", Role::Editor).await;
    let (other, ..) = token(&app, "Olga Other", Role::Editor).await;
    let (archivist, ..) = token(&app, "Arthur Archivist", Role::Archivist).await;
    let (id, _) = app.document_with_history(&editor, "first-document", 3).await;
    let last_of_eve = events(&app, &archivist, json!({})).await.last().unwrap().clone();
    let middle = last_of_eve["at"].clone();
    app.document_with_history(&other, "second-document", 2).await;

    let by_other = events(&app, &archivist, json!({ "action": "REVISE_DOCUMENT" })).await;
    assert_eq!(by_other.len(), 3);
    let olga = app.query_as(Some(&other), "{ viewer { id } }", json!({})).await;
    let olga = olga["data"]["viewer"]["id"].clone();
    let hers = events(&app, &archivist, json!({ "agentId": olga })).await;
    assert_eq!(hers.len(), 2, "{hers:#?}");
    assert!(hers.iter().all(|e| e["agent"]["name"] == "Olga Other"));
    let uuid =
        app.query("query($id: ID!) { document(id: $id) { uuid } }", json!({ "id": id })).await;
    let target = format!("document:{}", uuid["data"]["document"]["uuid"].as_str().unwrap());
    assert_eq!(events(&app, &archivist, json!({ "target": target })).await.len(), 3);
    // `since` is inclusive, `until` exclusive: the boundary event falls on the later side.
    let later = events(&app, &archivist, json!({ "since": middle })).await;
    assert_eq!(later[0]["id"], last_of_eve["id"]);
    assert_eq!(later.len(), 3, "{later:#?}");
    assert!(later[1..].iter().all(|e| e["agent"]["name"] == "Olga Other"));
    let earlier = events(&app, &archivist, json!({ "until": middle })).await;
    assert!(earlier.iter().all(|e| e["agent"]["name"] != "Olga Other"), "{earlier:#?}");
    assert!(earlier.iter().all(|e| e["id"] != last_of_eve["id"]));

    // Pages of two, oldest first, cover the log exactly once.
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    loop {
        let body =
            app.query_as(Some(&archivist), EVENTS, json!({ "first": 2, "after": after })).await;
        assert_no_errors(&body);
        let page = &body["data"]["auditEvents"];
        seen.extend(page["nodes"].as_array().unwrap().iter().map(|e| e["id"].clone()));
        if page["pageInfo"]["hasNextPage"] == false {
            assert_eq!(page["totalCount"].as_u64(), Some(seen.len() as u64));
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    let mut sorted = seen.clone();
    sorted.sort_by_key(|id| id.as_str().unwrap().to_owned());
    assert_eq!(seen, sorted, "oldest first");

    let body = app.query_as(Some(&editor), EVENTS, json!({})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "only archivists and admins read the log");
}

/// The id the server gives a request, and answers with in `x-request-id`, is the one the
/// events it causes record, whether it wrote or was refused.
async fn the_request_id_a_response_carries_is_the_one_its_events_record(app: TestApp) {
    let (editor, ..) = token(&app, "Eve Editor", Role::Editor).await;
    let (reader, ..) = token(&app, "Rita Reader", Role::Reader).await;
    let (archivist, ..) = token(&app, "Arthur Archivist", Role::Archivist).await;
    let mut ids = Vec::new();
    for (token, slug) in [(&editor, "over-http"), (&reader, "refused-over-http")] {
        let response = app
            .post_graphql()
            .bearer_auth(token)
            .json(&json!({ "query": CREATE_DOCUMENT, "variables": create_input(slug) }))
            .send()
            .await
            .unwrap();
        ids.push(response.headers()["x-request-id"].to_str().unwrap().to_owned());
    }
    assert_ne!(ids[0], ids[1], "{ids:?}");
    let created = events(&app, &archivist, json!({ "action": "CREATE_DOCUMENT" })).await;
    let recorded: Vec<(&Value, &Value)> =
        created.iter().map(|e| (&e["outcome"], &e["requestId"])).collect();
    assert_eq!(
        recorded,
        [(&json!("SUCCEEDED"), &json!(ids[0])), (&json!("FORBIDDEN"), &json!(ids[1]))],
        "{created:#?}"
    );
}
