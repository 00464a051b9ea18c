//! The integrity benchmarks benches/RESULTS.md keeps, on SQLite (release build):
//! - `verify` over the reference corpus (`benches/workload/gen_corpus.py --docs 1000 --revs 20
//!   --seed 1`, or the JSON Lines file `PALIMPSEST_BENCH_CORPUS` names): revisions per second
//!   for the documents' checks and for the transparency log's;
//! - what appending to the log adds to a revise: the `log_append` span's time against the
//!   whole `Store::revise_document` call, over single-revision transactions;
//! - inclusion and consistency proofs in a log of 1,000,000 leaves.
//!
//! Run: `cargo bench --bench integrity`. It prints its figures; nothing here asserts a time.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use palimpsest::budget::Budget;
use palimpsest::entity::log_node;
use palimpsest::merkle;
use palimpsest::store::{
    self, Actor, AgentId, AgentKind, AgentName, CreateDocument, DocumentId, DocumentKind, Message,
    ReviseDocument, RevisionHash, Slug, Store, StoreError, StoreLimits, Title,
};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};

#[path = "common/spans.rs"]
mod spans;
use spans::{reset_spans, span_total};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    spans::install()?;
    let dir = std::env::temp_dir().join(format!("palimpsest-bench-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let result = run(&dir).await;
    if std::env::var_os("PALIMPSEST_BENCH_KEEP").is_some() {
        eprintln!("kept {}", dir.display());
    } else {
        std::fs::remove_dir_all(&dir).ok();
    }
    result
}

async fn run(dir: &Path) -> anyhow::Result<()> {
    // Each part on its own database; the revise timing first, while the process is fresh.
    append_share(&open(&dir.join("revise.db")).await?).await?;
    let corpus = corpus(dir)?;
    // As `palimpsest verify` connects: reads map the file.
    let store = open_with(&dir.join("corpus.db"), store::connect_for_scans).await?;
    let revisions = load(&store, &corpus).await?;
    verify(&store, revisions).await?;
    verify_with_the_command(&dir.join("corpus.db"), revisions)?;
    proofs(&open(&dir.join("log.db")).await?).await?;
    Ok(())
}

async fn open(path: &Path) -> anyhow::Result<Store> {
    open_with(path, store::connect).await
}

async fn open_with(
    path: &Path,
    connect: impl AsyncFnOnce(&str) -> anyhow::Result<sea_orm::DatabaseConnection>,
) -> anyhow::Result<Store> {
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = connect(&url).await?;
    store::migrate(&db).await?;
    Ok(Store::new(db, StoreLimits { max_content_bytes: 64 << 20, ..StoreLimits::default() }))
}

fn corpus(dir: &Path) -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PALIMPSEST_BENCH_CORPUS") {
        return Ok(PathBuf::from(path));
    }
    let generator = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/workload/gen_corpus.py");
    let out = dir.join("corpus.jsonl");
    let status = std::process::Command::new("python3")
        .args([generator, "--docs", "1000", "--revs", "20", "--seed", "1", "--out"])
        .arg(&out)
        .status()?;
    anyhow::ensure!(status.success(), "cannot generate the corpus with {generator}");
    Ok(out)
}

/// Loads the corpus through the store's write commands, 500 revisions per transaction.
async fn load(store: &Store, path: &Path) -> anyhow::Result<u64> {
    let started = Instant::now();
    let text = std::fs::read_to_string(path)?;
    let mut heads: HashMap<String, (DocumentId, RevisionHash)> = HashMap::new();
    let mut agents: HashMap<String, AgentId> = HashMap::new();
    let mut transaction = store.begin().await?;
    let mut written = 0u64;
    for line in text.lines() {
        let row: serde_json::Value = serde_json::from_str(line)?;
        let revision = &row["revision"];
        let name = revision["author"].as_str().unwrap_or("Unknown");
        let name = name.split(" <").next().unwrap_or(name).to_owned();
        let author = match agents.get(&name) {
            Some(id) => *id,
            None => {
                let agent =
                    transaction.ensure_agent(&AgentName::parse(&name)?, AgentKind::Person).await?;
                agents.insert(name, agent.id);
                agent.id
            }
        };
        let actor = Actor::agent(author);
        let slug = row["slug"].as_str().unwrap_or_default().to_owned();
        let content = row["content"].as_str().unwrap_or_default().to_owned();
        let message = Message::parse(revision["message"].as_str().unwrap_or_default())?;
        let outcome = match heads.get(&slug) {
            None => {
                let input = CreateDocument {
                    slug: Slug::parse(&slug)?,
                    kind: DocumentKind::Article,
                    title: Title::parse(row["title"].as_str().unwrap_or("Untitled"))?,
                    content,
                    message,
                    source: None,
                    placement: palimpsest::store::Placement::PUBLIC,
                };
                transaction.create_document(input, &actor).await
            }
            Some((document, head)) => {
                let input = ReviseDocument {
                    document: *document,
                    expected_head: head.clone(),
                    content,
                    title: None,
                    message,
                    source: None,
                };
                transaction.revise_document(input, &actor).await
            }
        };
        match outcome {
            Ok(outcome) => {
                heads.insert(slug, (outcome.document.id, outcome.revision.hash));
                written += 1;
            }
            // The corpus holds a few revisions identical to their parent, which are refused.
            Err(StoreError::Invalid(_)) => continue,
            Err(err) => return Err(err.into()),
        }
        if written.is_multiple_of(500) {
            transaction.commit().await?;
            transaction = store.begin().await?;
        }
    }
    transaction.commit().await?;
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "load: {written} revisions of {} documents in {elapsed:.2} s ({:.0} revisions/s)",
        heads.len(),
        written as f64 / elapsed
    );
    Ok(written)
}

async fn verify(store: &Store, revisions: u64) -> anyhow::Result<()> {
    let budget = Budget::unlimited();
    for run in 1..=3 {
        let started = Instant::now();
        let mut after = None;
        let mut checked = 0;
        loop {
            let page = store.verify_documents(after, 500, &budget, &|_| {}).await?;
            anyhow::ensure!(page.report.is_clean(), "{:?}", page.report.problems);
            checked += page.report.revisions;
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let documents = started.elapsed();
        let log = store.verify_log(None, &[], &budget, &|_| {}).await?;
        anyhow::ensure!(log.report.is_clean(), "{:?}", log.report.problems);
        let total = started.elapsed();
        assert_eq!(checked, revisions);
        println!(
            "verify (run {run}): {revisions} revisions in {:.3} s: documents {:.3} s \
             ({:.0} revisions/s), log {:.3} s; overall {:.0} revisions/s",
            total.as_secs_f64(),
            documents.as_secs_f64(),
            revisions as f64 / documents.as_secs_f64(),
            (total - documents).as_secs_f64(),
            revisions as f64 / total.as_secs_f64()
        );
    }
    Ok(())
}

/// `palimpsest verify` as an operator runs it (the release binary, its allocator and all).
fn verify_with_the_command(db: &Path, revisions: u64) -> anyhow::Result<()> {
    let url = format!("sqlite://{}", db.display());
    for run in 1..=3 {
        let started = Instant::now();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_palimpsest"))
            .args(["--database-url", &url, "verify", "--no-signatures"])
            .output()?;
        let elapsed = started.elapsed().as_secs_f64();
        anyhow::ensure!(output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
        let report = String::from_utf8_lossy(&output.stdout);
        println!(
            "palimpsest verify (run {run}): {elapsed:.3} s in all ({:.0} revisions/s); it reports: {}",
            revisions as f64 / elapsed,
            report.lines().next().unwrap_or_default()
        );
    }
    Ok(())
}

/// Single-revision transactions, as the API writes them: the log's share of each.
async fn append_share(store: &Store) -> anyhow::Result<()> {
    let name = AgentName::parse("Bench Writer")?;
    let actor = Actor::agent(store.create_agent(&name, AgentKind::Person, None).await?.id);
    let paragraph = "A paragraph of an article, long enough to be typical of the corpus. ";
    let mut heads = Vec::new();
    for i in 0..20 {
        let input = CreateDocument {
            slug: Slug::parse(&format!("bench-{i}"))?,
            kind: DocumentKind::Article,
            title: Title::parse("Bench")?,
            content: paragraph.repeat(80),
            message: Message::parse("first")?,
            source: None,
            placement: palimpsest::store::Placement::PUBLIC,
        };
        let outcome = store.create_document(input, &actor).await?;
        heads.push((outcome.document.id, outcome.revision.hash));
    }
    reset_spans();
    let started = Instant::now();
    let rounds = 100;
    for round in 0..rounds {
        for (document, head) in heads.iter_mut() {
            let input = ReviseDocument {
                document: *document,
                expected_head: head.clone(),
                content: format!("{}Edit {round}.\n", paragraph.repeat(80)),
                title: None,
                message: Message::parse("edit")?,
                source: None,
            };
            *head = store.revise_document(input, &actor).await?.revision.hash;
        }
    }
    let total = started.elapsed();
    let (appending, appends) = span_total("log_append");
    let revises = (rounds * heads.len()) as u64;
    assert_eq!(appends, revises, "one append per revise");
    let per_revise = total / revises as u32;
    let per_append = appending / appends as u32;
    println!(
        "revise: {revises} single-revision transactions, {per_revise:?} each; the log append \
         {per_append:?} of it ({:.1} % of a revise, {:.1} % added to one without it)",
        100.0 * appending.as_secs_f64() / total.as_secs_f64(),
        100.0 * appending.as_secs_f64() / (total - appending).as_secs_f64()
    );
    Ok(())
}

/// Proofs in a log of a million leaves, filled directly with the tree's nodes.
async fn proofs(store: &Store) -> anyhow::Result<()> {
    const LEAVES: u64 = 1_000_000;
    let started = Instant::now();
    let db = store.connection();
    let mut rows: Vec<log_node::ActiveModel> = Vec::with_capacity(2_000);
    let mut frontier = merkle::Frontier::empty();
    let transaction = db.begin().await?;
    for index in 0..LEAVES {
        let leaf = merkle::leaf_hash(&sha256_of(index));
        for (id, hash) in frontier.push(leaf) {
            rows.push(log_node::ActiveModel {
                level: Set(id.level as i16),
                position: Set(id.position as i64),
                hash: Set(hash.to_vec()),
            });
        }
        if rows.len() >= 1_500 {
            log_node::Entity::insert_many(std::mem::take(&mut rows))
                .exec_without_returning(&transaction)
                .await?;
        }
    }
    log_node::Entity::insert_many(rows).exec_without_returning(&transaction).await?;
    transaction.execute_unprepared(&format!("UPDATE log_state SET size = {LEAVES}")).await?;
    transaction.commit().await?;
    println!("log of {LEAVES} leaves built in {:.1} s", started.elapsed().as_secs_f64());

    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for (what, count) in [("inclusion", 2_000), ("consistency", 2_000)] {
        let mut times = Vec::with_capacity(count);
        for _ in 0..count {
            let started = Instant::now();
            if what == "inclusion" {
                store.inclusion_proof(next() % LEAVES, None).await?;
            } else {
                store.consistency_proof(1 + next() % (LEAVES - 1), LEAVES).await?;
            }
            times.push(started.elapsed());
        }
        times.sort();
        let mean = times.iter().sum::<Duration>() / count as u32;
        println!(
            "{what} proof in a {LEAVES}-leaf log: mean {mean:?}, median {:?}, p99 {:?}",
            times[count / 2],
            times[count * 99 / 100]
        );
    }
    Ok(())
}

/// A stand-in revision hash for leaf `index`.
fn sha256_of(index: u64) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(index.to_be_bytes()).into()
}
