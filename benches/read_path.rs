//! Where a read request's time goes, in process and one request at a time: the workload's
//! three queries (`benches/workload/palimpsest/`) executed through the GraphQL service, against
//! the same reads made on the store directly, and a request that resolves nothing
//! (`{ __typename }`) for the fixed cost of a request. What the HTTP load test measures beyond
//! these is HTTP and concurrency.
//!
//! Run on a database the workload loaded (`bash benches/workload/run.sh` keeps them):
//!
//!     PALIMPSEST_BENCH_DATABASE_URL=sqlite://target/workload/d1000-r20-s1/sqlite/palimpsest.db \
//!     PALIMPSEST_BENCH_PICKS=target/workload/d1000-r20-s1/sqlite cargo bench --bench read_path
//!
//! It prints its figures; nothing here asserts a time.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use async_graphql::{Request, Variables};
use palimpsest::checkpoint::LogKey;
use palimpsest::graphql::auth::Credentials;
use palimpsest::graphql::ids::GlobalId;
use palimpsest::graphql::limits::QueryLimits;
use palimpsest::graphql::{GraphqlService, RequestContext};
use palimpsest::ratelimit::{RateLimitSettings, RateLimiter};
use palimpsest::store::{self, Direction, DocumentId, HeadParts, PageRequest, Store, StoreLimits};

const CLIENTS: usize = 32;

/// The server's allocator, so that allocation costs what it costs there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let Ok(url) = std::env::var("PALIMPSEST_BENCH_DATABASE_URL") else {
        println!("read_path: set PALIMPSEST_BENCH_DATABASE_URL and PALIMPSEST_BENCH_PICKS");
        return Ok(());
    };
    let picks = PathBuf::from(std::env::var("PALIMPSEST_BENCH_PICKS")?);
    // Fewer rounds, and one measure (`PALIMPSEST_BENCH_ONLY=q3`), for running under a profiler.
    let rounds: usize =
        std::env::var("PALIMPSEST_BENCH_ROUNDS").map_or(Ok(8_000), |r| r.parse())?;
    let only = std::env::var("PALIMPSEST_BENCH_ONLY").ok();
    let wanted = |name: &str| only.as_deref().is_none_or(|only| name.starts_with(only));
    let lines = |name: &str| -> anyhow::Result<Vec<String>> {
        Ok(std::fs::read_to_string(picks.join(name))?.lines().map(str::to_owned).collect())
    };
    let (ids, cursors) = (lines("ids.txt")?, lines("cursors.txt")?);

    let store = Store::new(store::connect(&url).await?, StoreLimits::default());
    let service = GraphqlService::new(
        store.clone(),
        QueryLimits::default(),
        Arc::new(RateLimiter::new(RateLimitSettings {
            anonymous_points: 0,
            token_points: 0,
            ..RateLimitSettings::default()
        })),
        Arc::new(LogKey::generate("bench")?),
        Default::default(),
    );
    let queries = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/workload/palimpsest/");
    let query = |name: &str| -> anyhow::Result<String> {
        let body: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{queries}{name}.json"))?.replace("__ID__", "null"),
        )?;
        Ok(body["query"].as_str().unwrap_or_default().to_owned())
    };

    // Each measure: CLIENTS tasks send requests at once, as the HTTP load test's connections
    // do, on the two worker threads the server has; the figure is requests per second.
    let run = |text: String, variable: &'static str, picks: Arc<Vec<String>>| {
        let service = service.clone();
        async move {
            let started = Instant::now();
            let mut clients = Vec::new();
            for client in 0..CLIENTS {
                let (service, text, picks) = (service.clone(), text.clone(), picks.clone());
                clients.push(tokio::spawn(async move {
                    for round in 0..rounds / CLIENTS {
                        let pick = &picks[(client * 7919 + round * 104_729) % picks.len()];
                        let pick: serde_json::Value = serde_json::from_str(pick)?;
                        let variables = Variables::from_json(serde_json::json!({ variable: pick }));
                        let request = Request::new(text.clone()).variables(variables);
                        let response = service.execute(request, context()).await.response;
                        anyhow::ensure!(response.errors.is_empty(), "{:?}", response.errors);
                    }
                    Ok(())
                }));
            }
            for client in clients {
                client.await??;
            }
            Ok::<f64, anyhow::Error>(rounds as f64 / started.elapsed().as_secs_f64())
        }
    };
    println!("read path in process, {CLIENTS} clients at once, requests per second:");
    if wanted("typename") {
        let fixed = run("{ __typename }".into(), "unused", Arc::new(vec!["null".into()])).await?;
        println!("  {{ __typename }}                       {fixed:>8.0}");
    }
    let (ids, cursors) = (Arc::new(ids), Arc::new(cursors));
    for (name, variable, picks) in [
        ("q1_document_latest", "id", &ids),
        ("q2_history20", "id", &ids),
        ("q3_page50", "after", &cursors),
    ] {
        if wanted(name) {
            let rate = run(query(name)?, variable, picks.clone()).await?;
            println!("  {name:<36} {rate:>8.0}");
        }
    }

    // The statements the queries run, on the store alone, as many at once.
    let documents: Arc<Vec<DocumentId>> = Arc::new(
        ids.iter()
            .map(|id| GlobalId::document("id", id.trim_matches('"')).expect("a document id"))
            .collect(),
    );
    let reads = |name: &'static str| {
        let (store, documents) = (store.clone(), documents.clone());
        async move {
            let started = Instant::now();
            let mut clients = Vec::new();
            for client in 0..CLIENTS {
                let (store, documents) = (store.clone(), documents.clone());
                clients.push(tokio::spawn(async move {
                    for round in 0..rounds / CLIENTS {
                        let at = (client * 7919 + round * 104_729) % (documents.len() - 50);
                        let one = HeadParts::default();
                        // An anonymous reader, as the workload's clients are.
                        let anyone = store::Viewer::public(store::Timestamp::now());
                        match name {
                            "q1" => {
                                let d = store
                                    .documents_with_heads_by_ids(&anyone, &documents[at..=at], one)
                                    .await?;
                                store.contents_by_hashes(&[d[0].head.content_hash.clone()]).await?;
                            }
                            "q2" => {
                                store
                                    .documents_with_heads_by_ids(&anyone, &documents[at..=at], one)
                                    .await?;
                                let page = PageRequest {
                                    after: None,
                                    before: None,
                                    limit: 20,
                                    direction: Direction::Forward,
                                };
                                store.list_revisions_with_authors(documents[at], page).await?;
                            }
                            _ => {
                                let ids = &documents[at..at + 50];
                                store
                                    .documents_with_heads_by_ids(
                                        &anyone,
                                        ids,
                                        HeadParts { source: true },
                                    )
                                    .await?;
                            }
                        }
                    }
                    Ok::<(), anyhow::Error>(())
                }));
            }
            for client in clients {
                client.await??;
            }
            Ok::<f64, anyhow::Error>(rounds as f64 / started.elapsed().as_secs_f64())
        }
    };
    for name in ["q1", "q2", "q3"] {
        if !wanted(&format!("store-{name}")) {
            continue;
        }
        let rate = reads(name).await?;
        println!("  {name}'s statements on the store alone    {rate:>8.0}");
    }
    Ok(())
}

fn context() -> RequestContext {
    RequestContext {
        credentials: Credentials::Anonymous,
        base_url: "http://127.0.0.1".into(),
        client_address: None,
        request_bytes: 200,
        request_id: None,
        read_only: false,
        read_choice: None,
    }
}
