//! Captures against a local site (release build, SQLite by default; PostgreSQL when
//! `PALIMPSEST_BENCH_POSTGRES_URL` names a server, e.g. `postgres://postgres@127.0.0.1/postgres`:
//! a database is created and dropped for the run):
//! - throughput of a capture worker (16 captures at once, as `palimpsest capture-worker` runs
//!   them: extraction on every core; `AS_SERVE=1`: as `serve` runs them, a core left) over `PAGES`
//!   watched pages of about 50 KB: first captures (documents created), captures of pages that
//!   changed one paragraph (revisions, with their WARC evidence), of pages that did not
//!   (sightings), and of pages whose server answers 304 (sightings, no body);
//! - what the evidence costs: one page captured `STORAGE_CAPTURES` times, one paragraph
//!   changed each time, against the same records as a `.warc.gz` (each record gzipped, as
//!   web archives keep them).
//!
//!     cargo bench --bench capture
//!
//! Env: `PAGES` (400), `CONCURRENCY` (16, captures at once), `AS_SERVE` (0; 1: a core left to
//! requests), `STORAGE_CAPTURES` (1000; 0 skips the storage measure). Per stage it prints the wall time per capture (stages overlap: 16
//! at once on 2 cores), and the CPU time of the process per page with how many cores it kept busy
//! (Linux).
//!
//! It prints its figures; nothing here asserts a time.

use std::time::{Duration, Instant};

use palimpsest::capture::fetch::FetchLimits;
use palimpsest::capture::warc::gzip_member;
use palimpsest::capture::{CaptureSettings, Capturer, worker};
use palimpsest::compute::Compute;
use palimpsest::foreground::Foreground;
use palimpsest::store::{
    self, Actor, DocumentKind, NewWatch, Store, StoreLimits, WatchId, WatchInterval, WatchKind,
};

#[path = "../tests/common/site.rs"]
mod site;
#[path = "common/spans.rs"]
mod spans;

use site::{Page, Site};

/// A number from the environment, or its default.
fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
const PARAGRAPHS: usize = 120;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("palimpsest-capture-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir)?;
    let (url, cleanup) = match std::env::var("PALIMPSEST_BENCH_POSTGRES_URL") {
        Ok(server) => {
            let name = format!("palimpsest_capture_bench_{}", std::process::id());
            let admin = store::connect(&server).await?;
            sea_orm::ConnectionTrait::execute_unprepared(
                &admin,
                &format!("CREATE DATABASE {name}"),
            )
            .await?;
            let url = format!("{}/{name}", server.rsplit_once('/').map_or(&*server, |(s, _)| s));
            (url, Some((admin, name)))
        }
        Err(_) => (format!("sqlite://{}/palimpsest.db?mode=rwc", dir.display()), None),
    };
    let result = run(&url).await;
    if let Some((admin, name)) = cleanup {
        sea_orm::ConnectionTrait::execute_unprepared(
            &admin,
            &format!("DROP DATABASE {name} WITH (FORCE)"),
        )
        .await?;
    }
    std::fs::remove_dir_all(&dir)?;
    result
}

/// A page of about 50 KB: story `n`, of `PARAGRAPHS` paragraphs, each paragraph `p` at its
/// version `versions[p]` (0: as first published).
/// User and system CPU time of this process so far (Linux; zero elsewhere).
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return Duration::ZERO };
    // The fields after the command name, which is in parentheses and may hold spaces: utime
    // and stime are the 12th and 13th, in clock ticks (100 a second on Linux).
    let fields: Vec<&str> =
        stat.rsplit_once(')').map_or("", |(_, f)| f).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn page(n: usize, versions: &[usize; PARAGRAPHS]) -> String {
    let paragraphs: String = (0..PARAGRAPHS)
        .map(|p| {
            let edit = match versions[p] {
                0 => String::new(),
                version => format!(" (update {version})"),
            };
            format!(
                "<p>Paragraph {p} of story {n}{edit}: the council met on Tuesday to hear the \
                 engineers' report on the harbour bridge, whose piers have stood in salt water \
                 for ninety years; the report found corrosion in two of the seven piers, and \
                 estimated that repairs would take eighteen months, at a cost above that of the \
                 original construction, adjusted for inflation, which the treasurer said the \
                 city could not meet without a loan or a new levy on property owners.</p>\n"
            )
        })
        .collect();
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Story {n}</title>\
         <meta property=\"og:site_name\" content=\"The Bench Times\"></head><body>\
         <nav><a href=\"/\">Home</a></nav><article><h1>Story {n}</h1>{paragraphs}</article>\
         <footer>The Bench Times</footer></body></html>"
    )
}

async fn run(url: &str) -> anyhow::Result<()> {
    let pages = setting("PAGES", 400);
    let storage_captures = setting("STORAGE_CAPTURES", 1000);
    spans::install()?;
    let db = store::connect(url).await?;
    store::migrate(&db).await?;
    // As `palimpsest capture-worker` runs captures (its heavy work has every core), or with
    // `AS_SERVE=1` as `serve` does (one core left to requests).
    let as_serve = setting("AS_SERVE", 0) == 1;
    let compute = match as_serve {
        true => Compute::for_this_machine(),
        false => Compute::every_core(),
    };
    let store = Store::with_compute(db, StoreLimits::default(), compute);
    let site = Site::start().await;
    let settings = CaptureSettings {
        allow: vec!["127.0.0.0/8".parse()?],
        per_host_per_minute: u32::MAX,
        fetch: FetchLimits::default(),
        concurrency: setting("CONCURRENCY", palimpsest::capture::DEFAULT_CONCURRENCY),
        ..CaptureSettings::default()
    };
    let capturer = Capturer::new(store.clone(), settings).await?;
    let actor = Actor::agent(capturer.agent().await?);
    println!(
        "capture ({}, {pages} pages of {} KB, {} at once, as {})",
        store::redact_password(url),
        page(0, &[0; PARAGRAPHS]).len() / 1024,
        capturer.settings().concurrency,
        if as_serve { "serve runs them" } else { "capture-worker runs them" }
    );

    let mut watches: Vec<WatchId> = Vec::with_capacity(pages);
    for n in 0..pages {
        let path = format!("/story/{n}");
        site.set(&path, Page::html(&page(n, &[0; PARAGRAPHS])));
        let watch = NewWatch {
            kind: WatchKind::Page,
            url: site.url(&path),
            slug: None,
            document_kind: DocumentKind::Article,
            interval: WatchInterval::default(),
            obey_robots: false,
        };
        watches.push(store.add_watch(watch, None, &actor).await?.id);
    }
    let rate = |what: &str, took: Duration, cpu: Duration, count: usize| {
        let shares: Vec<String> = [
            "claim_watches",
            "capture_fetch",
            "capture_extract",
            "capture_evidence",
            "capture_pack_evidence",
            "record_captures",
            "store_begin",
            "capture_page",
            "capture_keep_evidence",
            "revise_document",
            "write_text",
            "write_log",
            "write_search",
            "store_commit",
        ]
        .iter()
        .map(|name| {
            let (spent, _) = spans::span_total(name);
            format!("{name} {:.1} ms", spent.as_secs_f64() * 1e3 / count.max(1) as f64)
        })
        .collect();
        println!(
            "  {what:<42} {:>7.0} pages/s ({count} in {:.2} s)",
            count as f64 / took.as_secs_f64(),
            took.as_secs_f64()
        );
        println!(
            "    CPU: {:.1} ms a page, {:.2} cores busy",
            cpu.as_secs_f64() * 1e3 / count.max(1) as f64,
            cpu.as_secs_f64() / took.as_secs_f64()
        );
        println!("    per capture: {}", shares.join(", "));
        spans::reset_spans();
    };
    // What a worker does when it looks, on a server that serves nothing meanwhile.
    let round = async |capturer: &Capturer| -> anyhow::Result<(Duration, Duration, usize)> {
        let (started, cpu) = (Instant::now(), cpu_time());
        let count = worker::drain(capturer, &Foreground::default()).await?;
        Ok((started.elapsed(), cpu_time().saturating_sub(cpu), count))
    };
    let due = async |watches: &[WatchId]| -> anyhow::Result<()> {
        for watch in watches {
            store.capture_watch_now(*watch, &actor).await?;
        }
        Ok(())
    };

    let (took, cpu, count) = round(&capturer).await?;
    rate("first captures (documents created)", took, cpu, count);
    let edited = |n: usize| {
        let mut versions = [0; PARAGRAPHS];
        versions[n % PARAGRAPHS] = 1;
        page(n, &versions)
    };
    for n in 0..pages {
        site.set(&format!("/story/{n}"), Page::html(&edited(n)));
    }
    due(&watches).await?;
    let (took, cpu, count) = round(&capturer).await?;
    rate("changed pages (a revision each)", took, cpu, count);
    due(&watches).await?;
    let (took, cpu, count) = round(&capturer).await?;
    rate("unchanged pages (same text: a sighting)", took, cpu, count);
    for n in 0..pages {
        let tagged = Page::html(&edited(n)).with_header("ETag", &format!("\"{n}\""));
        site.set(&format!("/story/{n}"), tagged);
    }
    due(&watches).await?;
    round(&capturer).await?;
    due(&watches).await?;
    let (took, cpu, count) = round(&capturer).await?;
    rate("unchanged pages (304 Not Modified)", took, cpu, count);

    if storage_captures == 0 {
        return Ok(());
    }
    // Evidence: one page, a paragraph changed at each capture.
    let (before_packed, before_raw) = store.evidence_size().await?;
    let url = url::Url::parse(&site.url("/storage"))?;
    let mut gzipped = 0u64;
    let started = Instant::now();
    let mut versions = [0; PARAGRAPHS];
    for version in 1..=storage_captures {
        versions[version % PARAGRAPHS] = version;
        site.set("/storage", Page::html(&page(pages, &versions)));
        let recorded = capturer.capture_once(&url, None, DocumentKind::Article, false).await?;
        for record in store.evidence_of_capture(recorded.capture.id).await? {
            gzipped += gzip_member(&record.bytes).len() as u64;
        }
    }
    let took = started.elapsed();
    let (packed, raw) = store.evidence_size().await?;
    let (packed, raw) = (packed - before_packed, raw - before_raw);
    println!(
        "  evidence of {storage_captures} captures of one page ({} requests served), one \
         paragraph changed each time ({:.1} s, {:.0} captures/s):",
        site.hits("/storage"),
        took.as_secs_f64(),
        storage_captures as f64 / took.as_secs_f64()
    );
    println!(
        "    WARC records as written {:>8.1} MB; as .warc.gz {:>6.1} MB; kept {:>6.2} MB = {:.1} % \
         of the WARC, {:.1} % of the .warc.gz",
        raw as f64 / 1e6,
        gzipped as f64 / 1e6,
        packed as f64 / 1e6,
        100.0 * packed as f64 / raw as f64,
        100.0 * packed as f64 / gzipped as f64
    );
    Ok(())
}
