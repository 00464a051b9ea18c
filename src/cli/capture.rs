//! `capture`, `watch` and `capture-worker`: pages captured once, watches kept, and the worker
//! that captures them, in a process of its own when `serve` should not fetch.

use std::io::Write;
use std::sync::Arc;

use clap::{Args, Subcommand};
use ipnet::IpNet;
use url::Url;

use crate::capture::{CaptureSettings, Capturer, worker};
use crate::store::{
    Actor, CaptureRecorded, DocumentKind, NewWatch, PageRequest, Slug, Store, WatchId,
    WatchInterval, WatchKind,
};

/// How captures behave (shared by `serve`, `capture-worker` and `capture`).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Captures")]
pub struct CaptureArgs {
    /// Address ranges captures may reach besides public addresses, comma-separated CIDR
    /// (`127.0.0.0/8`): loopback, private, link-local (cloud metadata) and reserved ranges
    /// are refused unless listed here.
    #[arg(long, env = "PALIMPSEST_CAPTURE_ALLOW", value_delimiter = ',')]
    pub capture_allow: Vec<IpNet>,
    /// Captures that run at once in a worker.
    #[arg(long, env = "PALIMPSEST_CAPTURE_CONCURRENCY",
        default_value_t = crate::capture::DEFAULT_CONCURRENCY)]
    pub capture_concurrency: usize,
    /// Captures one host gets a minute from one worker (politeness).
    #[arg(long, env = "PALIMPSEST_CAPTURE_PER_HOST_PER_MINUTE", default_value_t = 60)]
    pub capture_per_host_per_minute: u32,
    /// Percent of the time a worker inside `serve` spends capturing while requests keep
    /// every core busy: after every stretch of captures it rests in proportion to how busy
    /// serving was meanwhile, so reads keep the machine (100: never rest).
    #[arg(long, env = "PALIMPSEST_CAPTURE_SHARE_WHEN_BUSY", default_value_t = 5,
        value_parser = clap::value_parser!(u8).range(1..=100))]
    pub capture_share_when_busy: u8,
    /// Seconds a worker holds the watches it claims: a worker that dies lets them go when
    /// the lease runs out. A capture still running then is not recorded if another worker
    /// has claimed the watch again meanwhile, so a lease shorter than a slow capture costs
    /// fetches, never a capture recorded twice.
    #[arg(long, env = "PALIMPSEST_CAPTURE_LEASE_SECONDS", default_value_t = 300,
        value_parser = clap::value_parser!(u64).range(5..=86_400))]
    pub capture_lease_seconds: u64,
}

impl CaptureArgs {
    pub fn settings(&self) -> CaptureSettings {
        CaptureSettings {
            allow: self.capture_allow.clone(),
            concurrency: self.capture_concurrency.max(1),
            per_host_per_minute: self.capture_per_host_per_minute.max(1),
            share_when_busy: f64::from(self.capture_share_when_busy) / 100.0,
            lease: std::time::Duration::from_secs(self.capture_lease_seconds),
            ..CaptureSettings::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WatchCommand {
    /// Watch a page (or with --feed, a feed whose entries become page watches). Printed: the
    /// watch's id.
    Add {
        url: String,
        /// A feed (RSS, Atom, JSON Feed), not a page.
        #[arg(long)]
        feed: bool,
        /// The slug of the page's document (derived from the URL by default).
        #[arg(long, conflicts_with = "feed")]
        slug: Option<String>,
        /// article, letter, report, statement or other.
        #[arg(long, default_value = "article")]
        kind: String,
        /// Seconds between captures: 300 to 604800.
        #[arg(long, default_value_t = WatchInterval::DEFAULT_SECONDS)]
        interval: i64,
        /// Capture even where the site's robots.txt disallows it.
        #[arg(long)]
        ignore_robots: bool,
    },
    /// List the watches: id, kind, last outcome, next capture, URL.
    List,
    /// Stop watching (the document and its revisions stay).
    Rm { id: String },
}

/// `capture URL`: one capture, now, printed as its outcome and revision.
pub(super) async fn capture_once(
    store: Store,
    args: &CaptureArgs,
    url: &str,
    slug: Option<String>,
    kind: &str,
    ignore_robots: bool,
) -> anyhow::Result<()> {
    let url = Url::parse(url)?;
    let slug = slug.as_deref().map(Slug::parse).transpose()?;
    let kind: DocumentKind = kind.parse()?;
    let capturer = Capturer::new(store, args.settings()).await?;
    let recorded = capturer.capture_once(&url, slug, kind, !ignore_robots).await?;
    print_capture(&recorded)?;
    if recorded.capture.outcome.is_failure() {
        anyhow::bail!("the capture did not find the page's text");
    }
    Ok(())
}

fn print_capture(recorded: &CaptureRecorded) -> anyhow::Result<()> {
    let capture = &recorded.capture;
    let mut out = std::io::stdout().lock();
    write!(out, "{}", capture.outcome)?;
    if let Some(status) = capture.status {
        write!(out, " HTTP {status}")?;
    }
    if let (Some(document), Some(revision)) = (&recorded.document, &capture.revision) {
        write!(out, " {} {revision}", document.slug)?;
    }
    if let Some(detail) = &capture.detail {
        write!(out, ": {detail}")?;
    }
    writeln!(out)?;
    Ok(())
}

pub(super) async fn watch(store: Store, command: WatchCommand) -> anyhow::Result<()> {
    // At the command line, watches are the capture agent's own (the operator has no agent).
    let capturer = Capturer::new(store.clone(), CaptureSettings::default()).await?;
    let actor = Actor::agent(capturer.agent().await?);
    match command {
        WatchCommand::Add { url, feed, slug, kind, interval, ignore_robots } => {
            let url = Url::parse(&url)?;
            capturer.check_url(&url)?;
            let watch = NewWatch {
                kind: if feed { WatchKind::Feed } else { WatchKind::Page },
                url: url.to_string(),
                slug: slug.as_deref().map(Slug::parse).transpose()?,
                document_kind: kind.parse()?,
                interval: WatchInterval::from_seconds(interval)?,
                obey_robots: !ignore_robots,
            };
            let watch = store.add_watch(watch, None, &actor).await?;
            writeln!(std::io::stdout().lock(), "{}", watch.id)?;
        }
        WatchCommand::List => {
            let mut after = None;
            let mut out = std::io::stdout().lock();
            loop {
                let page = PageRequest {
                    after,
                    before: None,
                    limit: 100,
                    direction: crate::store::Direction::Forward,
                };
                let page = store.list_watches(page).await?;
                for watch in &page.items {
                    let last = watch.last_run.as_ref().map_or("-", |run| run.outcome.as_str());
                    let paused = if watch.paused { " (paused)" } else { "" };
                    writeln!(
                        out,
                        "{}\t{}\t{last}\t{}{paused}\t{}",
                        watch.id,
                        watch.kind,
                        watch.next_run_at.as_datetime().to_rfc3339(),
                        watch.url
                    )?;
                }
                match (page.has_more, page.items.last()) {
                    (true, Some(last)) => after = Some(last.id.as_uuid()),
                    _ => break,
                }
            }
        }
        WatchCommand::Rm { id } => {
            let id = WatchId::parse(&id)?;
            store.remove_watch(id, &actor).await?;
            eprintln!("watch {id} removed");
        }
    }
    Ok(())
}

/// `capture-worker`: captures due watches until stopped (Ctrl-C).
pub(super) async fn run_worker(store: Store, args: &CaptureArgs) -> anyhow::Result<()> {
    let capturer = Arc::new(Capturer::new(store, args.settings()).await?);
    eprintln!("capturing due watches (Ctrl-C stops)");
    tokio::select! {
        // No requests are served here: nothing to give way to.
        () = worker::run(capturer, Default::default()) => Ok(()),
        result = tokio::signal::ctrl_c() => Ok(result?),
    }
}
