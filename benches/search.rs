//! Full-text search on the reference corpus (SQLite, release build):
//! - building the index of a database written before search (what `migrate` does once);
//! - search latency, one search at a time, over the heads and over the whole history, for
//!   words, phrases and prefixes taken from the corpus itself (p50 and p95);
//! - what indexing adds to a revise: the `search_index` span's time against the whole
//!   `Store::revise_document` call, revising documents of the corpus with a typical edit.
//!
//! Run on a copy of a database the workload loaded (`bash benches/workload/run.sh` keeps it;
//! the copy is made here, the original is not changed):
//!
//!     PALIMPSEST_BENCH_SQLITE=target/workload/d1000-r20-s1/sqlite/palimpsest.db \
//!       cargo bench --bench search
//!
//! It prints its figures; nothing here asserts a time.

use std::time::{Duration, Instant};

use palimpsest::fulltext::SearchQuery;
use palimpsest::store::{
    self, Actor, AgentKind, AgentName, ContentHash, DocumentFilter, DocumentOrder, Message,
    PageRequest, ReviseDocument, SearchRequest, SearchScope, Store, StoreLimits, Timestamp, Viewer,
};
use sea_orm::ConnectionTrait;

#[path = "common/spans.rs"]
mod spans;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let Ok(original) = std::env::var("PALIMPSEST_BENCH_SQLITE") else {
        println!("search: set PALIMPSEST_BENCH_SQLITE to a database the workload loaded");
        return Ok(());
    };
    spans::install()?;
    let dir = std::env::temp_dir().join(format!("palimpsest-search-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let copy = dir.join("palimpsest.db");
    std::fs::copy(&original, &copy)?;
    let result = run(&format!("sqlite://{}", copy.display())).await;
    std::fs::remove_dir_all(&dir)?;
    result
}

async fn run(url: &str) -> anyhow::Result<()> {
    let db = store::connect(url).await?;
    // A database the workload loaded before search existed is indexed here; one loaded since
    // is rebuilt, so that the figure is the same either way.
    let had = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT name FROM sqlite_master WHERE name = 'search_passages'",
        ))
        .await?
        .is_some();
    if had {
        db.execute_unprepared("DELETE FROM search_passages").await?;
    }
    let started = Instant::now();
    store::migrate(&db).await?;
    let built = started.elapsed();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move {
            let row = db
                .query_one_raw(sea_orm::Statement::from_string(db.get_database_backend(), sql))
                .await?
                .ok_or_else(|| anyhow::anyhow!("no count"))?;
            anyhow::Ok(row.try_get_by_index::<i64>(0)?)
        }
    };
    let (revisions, passages, open) = (
        count("SELECT COUNT(*) FROM revisions").await?,
        count("SELECT COUNT(*) FROM search_passages").await?,
        count("SELECT COUNT(*) FROM search_passages WHERE until_number IS NULL").await?,
    );
    println!(
        "index built in {built:.2?}: {revisions} revisions, {passages} distinct paragraphs and \
         titles ({open} in the heads), {:.0} revisions/s",
        revisions as f64 / built.as_secs_f64()
    );
    let store = Store::new(db.clone(), StoreLimits::default());

    // Queries from the corpus: a word of 5+ letters, two neighbouring words as a phrase, and
    // the first four letters of a word as a prefix, from paragraphs of texts spread over it.
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT DISTINCT content_sha256 FROM revisions WHERE NOT redacted AND number % 7 = 0 \
             ORDER BY content_sha256 LIMIT 200",
        ))
        .await?;
    let hashes = rows
        .iter()
        .map(|row| Ok(row.try_get_by_index::<ContentHash>(0)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut words = Vec::new();
    let mut phrases = Vec::new();
    let mut prefixes = Vec::new();
    for (i, (_, text)) in store.contents_by_hashes(&hashes).await?.iter().enumerate() {
        let paragraphs: Vec<&str> = palimpsest::fulltext::paragraphs(text).collect();
        let Some(paragraph) = paragraphs.get(i % paragraphs.len().max(1)) else { continue };
        let tokens: Vec<&str> =
            paragraph.split(|c: char| !c.is_alphanumeric()).filter(|w| w.len() >= 5).collect();
        if tokens.len() < 2 {
            continue;
        }
        let at = i % (tokens.len() - 1);
        words.push(tokens[at].to_lowercase());
        phrases.push(format!("\"{} {}\"", tokens[at], tokens[at + 1]));
        prefixes.push(format!("{}*", &tokens[at].to_lowercase()[..4]));
    }
    println!("search latency, one at a time, first 20 hits (p50 / p95; the engine's share):");
    for (label, queries) in [("a word", &words), ("a phrase", &phrases), ("a prefix", &prefixes)] {
        for scope in [SearchScope::Heads, SearchScope::History] {
            let mut times = Vec::with_capacity(queries.len());
            let mut hits = 0;
            spans::reset_spans();
            for query in queries.iter() {
                let request = SearchRequest {
                    viewer: Viewer::public(Timestamp::now()),
                    query: SearchQuery::parse(query)?,
                    scope,
                    kind: None,
                    after: None,
                    limit: 20,
                };
                let started = Instant::now();
                hits += store.search(&request).await?.hits.len();
                times.push(started.elapsed());
            }
            let all: Duration = times.iter().sum();
            let (finding, _) = spans::span_total("search_find");
            times.sort();
            let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
            println!(
                "  {label:<9} {scope:<8} {:>9.2?} / {:>9.2?}  {:>4.0} %  ({} queries, {:.1} hits each)",
                at(0.5),
                at(0.95),
                100.0 * finding.as_secs_f64() / all.as_secs_f64(),
                times.len(),
                hits as f64 / times.len() as f64,
                scope = format!("{scope:?}"),
            );
        }
    }

    // Revises of corpus documents, each changing one paragraph as the corpus's edits do.
    let name = AgentName::parse("Search Bench")?;
    let actor = Actor::agent(store.create_agent(&name, AgentKind::Person, None).await?.id);
    let page = store
        .list_documents_with_heads(
            &DocumentFilter::readable_by(Viewer::everything()),
            DocumentOrder::default(),
            PageRequest {
                after: None,
                before: None,
                limit: 100,
                direction: store::Direction::Forward,
            },
            store::HeadParts::default(),
        )
        .await?;
    spans::reset_spans();
    let started = Instant::now();
    let mut revises = 0u32;
    for with_head in &page.items {
        let text = store.head_text(&Viewer::everything(), &with_head.document.slug, true).await?;
        let content = text.content.unwrap_or_default();
        let mut lines: Vec<String> = content.lines().map(str::to_owned).collect();
        if let Some(line) = lines.iter_mut().find(|l| !l.trim().is_empty()) {
            line.push_str(" An added clause.");
        }
        let input = ReviseDocument {
            document: with_head.document.id,
            expected_head: with_head.document.head.clone(),
            content: lines.join("\n") + "\n",
            title: None,
            message: Message::parse("bench edit")?,
            source: None,
        };
        store.revise_document(input, &actor).await?;
        revises += 1;
    }
    let total = started.elapsed();
    let (indexing, spans) = spans::span_total("search_index");
    anyhow::ensure!(spans == u64::from(revises), "one indexing per revise");
    let per = |d: Duration| d / revises;
    println!(
        "revise: {revises} single-revision transactions, {:.2?} each; indexing {:.2?} of it \
         ({:.1} % of a revise, {:.1} % added to one without it)",
        per(total),
        per(indexing),
        100.0 * indexing.as_secs_f64() / total.as_secs_f64(),
        100.0 * indexing.as_secs_f64() / (total - indexing).as_secs_f64(),
    );
    Ok(())
}
