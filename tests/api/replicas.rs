//! Read replicas, against a real PostgreSQL streaming replica of the test server
//! (`deploy/local-cluster.sh replica-up`; `PALIMPSEST_TEST_REPLICA_URL` names it, any database):
//! reads go to it and say how old they may be, a write hands out a consistency token that a
//! later read on any node presents to see it, and a replica that falls behind is taken out of
//! rotation and put back when it catches up. The replica is held still with
//! `pg_wal_replay_pause()`, so lag is made, not waited for.

use std::time::Duration;

use futures_util::FutureExt;
use palimpsest::http::{Application, HttpSettings};
use palimpsest::store::{self, DatabaseTimeouts, Store, StoreLimits};
use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const REPLICA_ENV: &str = "PALIMPSEST_TEST_REPLICA_URL";
const MAX_LAG: Duration = Duration::from_millis(1_500);

const READ: &str = "query($id: ID!) { node(id: $id) { ... on Document { head { number } } } }";

struct Answer {
    status: u16,
    staleness: Option<String>,
    consistency: Option<String>,
    body: Value,
}

async fn post(
    address: &str,
    token: Option<&str>,
    body: Value,
    consistency: Option<&str>,
) -> Answer {
    let mut request = reqwest::Client::new().post(format!("{address}/graphql")).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(consistency) = consistency {
        request = request.header("Palimpsest-Consistency", consistency);
    }
    let response = request.send().await.expect("the server answers");
    let header = |name: &str| {
        response.headers().get(name).map(|v| v.to_str().expect("an ASCII header").to_owned())
    };
    let (staleness, consistency) =
        (header("palimpsest-staleness-ms"), header("palimpsest-consistency"));
    let status = response.status().as_u16();
    Answer { status, staleness, consistency, body: response.json().await.expect("JSON") }
}

async fn head_number(address: &str, id: &str, consistency: Option<&str>) -> (i64, Option<String>) {
    let answer =
        post(address, None, json!({ "query": READ, "variables": { "id": id } }), consistency).await;
    assert_no_errors(&answer.body);
    let number = answer.body["data"]["node"]["head"]["number"].as_i64().expect("a head");
    (number, answer.staleness)
}

async fn metrics(address: &str) -> String {
    reqwest::get(format!("{address}/metrics")).await.unwrap().text().await.unwrap()
}

async fn readyz(address: &str) -> Value {
    reqwest::get(format!("{address}/readyz")).await.unwrap().json().await.unwrap()
}

async fn wait_for(address: &str, in_rotation: bool) -> Value {
    for _ in 0..200 {
        let ready = readyz(address).await;
        if ready["replicas"][0]["inRotation"] == json!(in_rotation) {
            return ready;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the replica never went {}: {}",
        if in_rotation { "in" } else { "out" },
        readyz(address).await
    );
}

#[tokio::test]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
#[cfg_attr(
    palimpsest_no_replica,
    ignore = "needs PALIMPSEST_TEST_REPLICA_URL (deploy/local-cluster.sh replica-up)"
)]
async fn reads_go_to_a_replica_and_a_consistency_token_reads_its_write_on_any_node() {
    let replica_base = std::env::var(REPLICA_ENV).expect("PALIMPSEST_TEST_REPLICA_URL");
    let app = spawn_app(Backend::Postgres).await.expect("PostgreSQL");
    let name = app.database_url.rsplit('/').next().unwrap().to_owned();
    let replica_url = format!("{}/{name}", replica_base.rsplit_once('/').unwrap().0);
    // The test's database reaches the replica with the CREATE DATABASE's replay.
    let replica = async {
        for _ in 0..100 {
            if let Ok(db) = store::connect(&replica_url).await {
                return db;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the test database never reached the replica at {replica_url}");
    }
    .await;

    // A node with the replica: its own store on the same primary.
    let primary =
        store::connect_with(&app.database_url, DatabaseTimeouts::default()).await.unwrap();
    let mut node_store = Store::new(primary, StoreLimits::default());
    node_store
        .attach_replicas(
            std::slice::from_ref(&replica_url),
            MAX_LAG,
            DatabaseTimeouts::default(),
            store::Pooling::Sessions,
        )
        .await
        .expect("attach the replica");
    let settings = HttpSettings {
        bind: "127.0.0.1:0".into(),
        workers: Some(2),
        checkpoint_interval: Duration::from_secs(3600),
        ..HttpSettings::default()
    };
    let node_app = Application::build(&settings, node_store).expect("build the node");
    let node = format!("http://127.0.0.1:{}", node_app.port());
    tokio::spawn(node_app.run_until_stopped());

    let editor = app.editor().await;
    let created = app.create_document(&editor, "replicated", "first text").await;
    let id = created["document"]["id"].as_str().unwrap().to_owned();
    let head = created["document"]["head"]["hash"].as_str().unwrap().to_owned();

    let ready = wait_for(&node, true).await;
    assert_eq!(ready["status"], "ready");
    assert!(!ready["replicas"][0]["url"].as_str().unwrap().is_empty());
    let rotation = format!(
        "palimpsest_replica_in_rotation{{replica=\"{}\"}}",
        ready["replicas"][0]["url"].as_str().unwrap()
    );
    assert!(metrics(&node).await.contains(&format!("{rotation} 1\n")), "a metric says so too");

    // A read that presents no token goes to the replica once it has the document, and says
    // how old it may be.
    let mut served = None;
    for _ in 0..100 {
        let answer =
            post(&node, None, json!({ "query": READ, "variables": { "id": id } }), None).await;
        assert_no_errors(&answer.body);
        if answer.body["data"]["node"]["head"]["number"] == 1 && answer.staleness.is_some() {
            served = answer.staleness;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let staleness: u64 = served.expect("a read served by the replica").parse().unwrap();
    assert!(staleness <= MAX_LAG.as_millis() as u64, "{staleness} ms");

    let paused = std::panic::AssertUnwindSafe(async {
        replica.execute_unprepared("SELECT pg_wal_replay_pause()").await.expect("pause replay");

        // A write through the node hands out its token, in the header and in the extensions.
        let revised = post(
            &node,
            Some(&editor),
            json!({ "query": REVISE_DOCUMENT, "variables": { "input": {
                "documentId": id, "expectedHead": head, "content": "second text", "message": "edit"
            }}}),
            None,
        )
        .await;
        assert_no_errors(&revised.body);
        assert_eq!(revised.staleness, None, "a write is no replica's answer");
        let token = revised.consistency.expect("a mutation's answer carries a consistency token");
        assert_eq!(revised.body["extensions"]["consistency"], json!(token));

        // Without the token, the held replica answers what it has, and says how old it may be;
        // with it, the answer has the write, on this node and on one without replicas alike.
        let (number, staleness) = head_number(&node, &id, None).await;
        assert_eq!((number, staleness.is_some()), (1, true), "the replica's older answer");
        let (number, staleness) = head_number(&node, &id, Some(&token)).await;
        assert_eq!((number, staleness), (2, None), "read-your-writes: from the primary");
        let body = json!({ "query": READ, "variables": { "id": id }, "extensions": { "consistency": token } });
        let answer = post(&node, None, body, None).await;
        assert_eq!(answer.body["data"]["node"]["head"]["number"], 2, "the token in extensions");
        let (number, _) = head_number(&app.address, &id, Some(&token)).await;
        assert_eq!(number, 2, "a node without replicas takes the token too");

        // Content addressed by hash is never answered "no such thing" by a replica that has not
        // replayed it yet: the miss is asked of the primary.
        let hash = revised.body["data"]["reviseDocument"]["revision"]["hash"].as_str().unwrap();
        let by_hash = "query($h: String!) { revision(hash: $h) { number content } }";
        let answer =
            post(&node, None, json!({ "query": by_hash, "variables": { "h": hash } }), None).await;
        assert_no_errors(&answer.body);
        assert!(answer.staleness.is_some(), "routed to the replica: {}", answer.body);
        assert_eq!(
            answer.body["data"]["revision"],
            json!({ "number": 2, "content": "second text" }),
            "a hash the replica lacks, found on the primary"
        );
        // And what it refers to that the replica lacks too: a document made while it is held.
        let made = post(
            &node,
            Some(&editor),
            json!({ "query": CREATE_DOCUMENT, "variables": { "input": {
                "slug": "made-while-held", "title": "Held", "kind": "ARTICLE", "content": "new"
            }}}),
            None,
        )
        .await;
        assert_no_errors(&made.body);
        let hash = made.body["data"]["createDocument"]["revision"]["hash"].as_str().unwrap();
        let with_document = "query($h: String!) { revision(hash: $h) { document { slug } } }";
        let answer =
            post(&node, None, json!({ "query": with_document, "variables": { "h": hash } }), None)
                .await;
        assert_no_errors(&answer.body);
        assert!(answer.staleness.is_some(), "routed to the replica: {}", answer.body);
        assert_eq!(answer.body["data"]["revision"]["document"]["slug"], "made-while-held");
        let unknown = "0".repeat(64);
        let answer =
            post(&node, None, json!({ "query": by_hash, "variables": { "h": unknown } }), None)
                .await;
        assert_eq!(answer.body["data"]["revision"], Value::Null, "a hash nobody holds");

        // Held past the lag allowed, the replica leaves the rotation and reads go to the primary.
        let ready = wait_for(&node, false).await;
        assert!(ready["replicas"][0]["reason"].as_str().unwrap().contains("lags"), "{ready}");
        assert!(metrics(&node).await.contains(&format!("{rotation} 0\n")), "out, in the metric");
        let (number, staleness) = head_number(&node, &id, None).await;
        assert_eq!((number, staleness), (2, None), "out of rotation: the primary answers");
    })
    .catch_unwind()
    .await;
    replica.execute_unprepared("SELECT pg_wal_replay_resume()").await.expect("resume replay");
    if let Err(panic) = paused {
        std::panic::resume_unwind(panic);
    }

    // Caught up, it is back in rotation.
    wait_for(&node, true).await;
    let (number, staleness) = head_number(&node, &id, None).await;
    assert_eq!((number, staleness.is_some()), (2, true));

    // A token this server never handed out is refused, not ignored.
    for bad in ["v1.xyz", "0/16B3A1C0", ""] {
        let answer =
            post(&node, None, json!({ "query": READ, "variables": { "id": id } }), Some(bad)).await;
        assert_eq!(answer.status, 400, "{bad:?}: {}", answer.body);
        assert_eq!(error_code(&answer.body), "BAD_USER_INPUT", "{bad:?}");
    }
}

/// A replica that does not answer when the server starts is no reason not to start: it is out
/// of rotation, saying why, and reads go to the primary. One whose login is refused, or whose
/// database does not exist, is a mistake in the configuration: the start fails, naming it.
#[tokio::test]
#[cfg_attr(palimpsest_no_postgres, ignore = "needs PALIMPSEST_TEST_POSTGRES_URL")]
async fn a_replica_down_at_start_waits_out_of_rotation_and_a_wrong_one_stops_the_start() {
    let app = spawn_app(Backend::Postgres).await.expect("PostgreSQL");
    let primary =
        store::connect_with(&app.database_url, DatabaseTimeouts::default()).await.unwrap();
    let mut node = Store::new(primary, StoreLimits::default());
    // Nothing listens on port 1.
    let down = "postgres://postgres@127.0.0.1:1/palimpsest".to_owned();
    node.attach_replicas(
        std::slice::from_ref(&down),
        MAX_LAG,
        DatabaseTimeouts::default(),
        store::Pooling::Sessions,
    )
    .await
    .expect("a replica that does not answer does not stop the start");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let status = node.replica_status();
    assert!(!status[0].in_rotation, "{status:?}");
    assert!(status[0].reason.is_some(), "{status:?}");
    assert!(node.route_read(None).staleness.is_none(), "reads go to the primary");

    // A database the replica's server does not have: refused at start.
    let base = app.database_url.rsplit_once('/').unwrap().0;
    let missing = format!("{base}/palimpsest_no_such_database_{}", uuid::Uuid::now_v7().simple());
    let primary =
        store::connect_with(&app.database_url, DatabaseTimeouts::default()).await.unwrap();
    let mut node = Store::new(primary, StoreLimits::default());
    let refused = node
        .attach_replicas(&[missing], MAX_LAG, DatabaseTimeouts::default(), store::Pooling::Sessions)
        .await
        .expect_err("refused");
    assert!(format!("{refused:#}").contains("does not exist"), "{refused:#}");
}
