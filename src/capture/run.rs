//! One capture, start to end: robots.txt, the fetch, the article, the evidence, and the one
//! store call that keeps what came of it. Every way a capture can go wrong ends as a recorded
//! outcome with its reason; none reaches the server or another watch.

use std::time::Duration;

use ipnet::IpNet;
use tracing::Instrument;
use url::Url;

use super::evidence;
use super::extract::{self, ExtractLimits};
use super::feed::{self, FeedLimits};
use super::fetch::{FetchError, FetchLimits, Fetched, Fetcher, Validators as FetchValidators};
use super::guard::AddressPolicy;
use super::politeness::Politeness;
use super::recorder::Recorder;
use super::warc::WarcDate;
use crate::store::{
    Actor, AgentId, AgentKind, AgentName, CaptureFor, CaptureOutcome, CaptureRecorded,
    CaptureReport, Conflict, DocumentKind, Found, NewSource, NewWatch, PageText, SeenBytes, Slug,
    SourceKind, Store, StoreError, StoreResult, Timestamp, Title, Validators, Watch, WatchKind,
};

/// The name captures are written under: a software agent (W3C PROV), so a reader of a
/// revision's history sees that a program, not a person, recorded the page.
pub const CAPTURE_AGENT: &str = "Palimpsest capture";

/// Captures a worker runs at once unless told otherwise. A capture spends most of its time
/// waiting, on the network and then for the writer (one at a time, on SQLite): with more in
/// flight the writer's groups are larger and each capture's share of a commit and of a claim
/// smaller (on a local site, 16 at once write about 10 % more pages a second than 8).
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How captures behave; the server's `--capture-*` options.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    /// Ranges a capture may reach besides public addresses (the tests' local site).
    pub allow: Vec<IpNet>,
    pub fetch: FetchLimits,
    pub extract: ExtractLimits,
    pub feed: FeedLimits,
    /// Sent with every request, so a site can tell who captures it.
    pub user_agent: String,
    /// How many captures one host gets a minute from this process (politeness).
    pub per_host_per_minute: u32,
    /// How many captures run at once in a worker.
    pub concurrency: usize,
    /// About how much of the time (0 to 1) a worker inside `serve` spends capturing while
    /// every core is busy serving requests (`crate::foreground`); 1 never gives way.
    pub share_when_busy: f64,
    /// How long a worker holds a claimed watch before another may take it.
    pub lease: Duration,
    /// How long a robots.txt is believed.
    pub robots_ttl: Duration,
}

impl Default for CaptureSettings {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            fetch: FetchLimits::default(),
            extract: ExtractLimits::default(),
            feed: FeedLimits::default(),
            user_agent: format!(
                "Palimpsest/{} (+https://github.com/palimpsest; capture)",
                env!("CARGO_PKG_VERSION")
            ),
            per_host_per_minute: 60,
            concurrency: DEFAULT_CONCURRENCY,
            share_when_busy: 0.05,
            lease: Duration::from_secs(300),
            robots_ttl: Duration::from_secs(3600),
        }
    }
}

/// Captures pages for the store: shared by the worker and one-off captures.
pub struct Capturer {
    store: Store,
    fetcher: Fetcher,
    settings: CaptureSettings,
    policy: AddressPolicy,
    /// The capture agent, made by the first capture (a server that never captures adds no
    /// agent).
    agent: tokio::sync::OnceCell<AgentId>,
    politeness: Politeness,
    /// One permit per capture that may fetch and read a page at once (`concurrency`); a
    /// capture gives its permit back when it hands its report to the recorder, so the next
    /// pages are fetched and read while the writer keeps those before.
    reading: tokio::sync::Semaphore,
    /// How many hold captures from starting to read (`Capturer::hold_reading`): the worker,
    /// while it gives way to requests, so that the captures queued for a place wait too.
    holds: tokio::sync::watch::Sender<usize>,
    recorder: Recorder,
}

/// While kept, no capture starts to fetch and read a page; those already reading go on.
pub struct ReadingHeld<'a> {
    holds: &'a tokio::sync::watch::Sender<usize>,
}

impl Drop for ReadingHeld<'_> {
    fn drop(&mut self) {
        self.holds.send_modify(|n| *n -= 1);
    }
}

/// Why a capture could not even be attempted (a recorded failure is not an error).
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the HTTP client cannot be built: {0}")]
    Client(String),
}

impl Capturer {
    /// A capturer writing as the capture agent (made on first use).
    pub async fn new(store: Store, settings: CaptureSettings) -> Result<Self, CaptureError> {
        let policy = AddressPolicy::new(settings.allow.clone());
        let fetcher = Fetcher::new(policy.clone(), settings.fetch, &settings.user_agent)
            .map_err(|e| CaptureError::Client(e.to_string()))?;
        let politeness = Politeness::new(settings.per_host_per_minute, settings.robots_ttl);
        Ok(Self {
            recorder: Recorder::start(store.clone()),
            reading: tokio::sync::Semaphore::new(settings.concurrency.max(1)),
            holds: tokio::sync::watch::Sender::new(0),
            store,
            fetcher,
            settings,
            policy,
            agent: tokio::sync::OnceCell::new(),
            politeness,
        })
    }

    pub fn settings(&self) -> &CaptureSettings {
        &self.settings
    }

    /// Holds captures from starting to read until the guard is dropped.
    pub fn hold_reading(&self) -> ReadingHeld<'_> {
        self.holds.send_modify(|n| *n += 1);
        ReadingHeld { holds: &self.holds }
    }

    /// A place to fetch and read a page, once one is free and no one holds captures back.
    async fn start_reading(&self) -> tokio::sync::SemaphorePermit<'_> {
        let permit = self.reading.acquire().await.expect("the reading semaphore is never closed");
        // Only errs when the sender is gone, and the capturer owns it.
        let _ = self.holds.subscribe().wait_for(|holds| *holds == 0).await;
        permit
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The capture agent captures are written under, made on first use.
    pub async fn agent(&self) -> StoreResult<AgentId> {
        let id = self
            .agent
            .get_or_try_init(|| async {
                let name = AgentName::parse(CAPTURE_AGENT).expect("a valid name");
                let tx = self.store.begin().await?;
                let agent = tx.ensure_agent(&name, AgentKind::Software).await?;
                tx.commit().await?;
                Ok::<_, StoreError>(agent.id)
            })
            .await?;
        Ok(*id)
    }

    async fn actor(&self) -> StoreResult<Actor> {
        Ok(Actor::agent(self.agent().await?))
    }

    /// Whether `url` may be watched or captured at all: its scheme, credentials, and its
    /// address when it names one (a name is checked each time it resolves).
    pub fn check_url(&self, url: &Url) -> Result<(), super::guard::Refused> {
        self.policy.check_url(url)
    }

    /// Captures `url` once into the document `slug` (derived from the URL when `None`).
    pub async fn capture_once(
        &self,
        url: &Url,
        slug: Option<Slug>,
        kind: DocumentKind,
        obey_robots: bool,
    ) -> Result<CaptureRecorded, CaptureError> {
        let target = CaptureFor::Once { slug, kind };
        Ok(self.capture_page(url, target, &Validators::default(), obey_robots, None).await?)
    }

    /// Captures a claimed watch. A host asked too often this minute defers it instead.
    pub async fn capture_watch(
        &self,
        watch: &Watch,
    ) -> Result<Option<CaptureRecorded>, CaptureError> {
        let url = match Url::parse(&watch.url) {
            Ok(url) => url,
            Err(err) => {
                let found = Found::Nothing {
                    outcome: CaptureOutcome::Refused,
                    detail: format!("the URL does not parse: {err}"),
                };
                let report = self.report(
                    &watch.url,
                    CaptureFor::Watch { watch: watch.id, lease: watch.lease_until },
                    None,
                    found,
                );
                return Ok(Some(self.store.record_capture(report, &self.actor().await?).await?));
            }
        };
        if let Some(wait) = self.politeness.host_busy(&url) {
            let until = Timestamp::from_micros(Timestamp::now().micros() + wait.as_micros() as i64);
            self.store.defer_watch(watch.id, watch.lease_until, until).await?;
            return Ok(None);
        }
        let target = CaptureFor::Watch { watch: watch.id, lease: watch.lease_until };
        let recorded = match watch.kind {
            WatchKind::Page => {
                let (validators, seen) = (&watch.validators, watch.seen.as_ref());
                self.capture_page(&url, target, validators, watch.obey_robots, seen).await?
            }
            WatchKind::Feed => self.capture_feed(&url, watch).await?,
        };
        Ok(Some(recorded))
    }

    async fn capture_page(
        &self,
        url: &Url,
        target: CaptureFor,
        validators: &Validators,
        obey_robots: bool,
        seen: Option<&SeenBytes>,
    ) -> StoreResult<CaptureRecorded> {
        let (report, fetched) = {
            let _reading = self.start_reading().await;
            let fetched_at = Timestamp::now();
            match self.fetch_checked(url, validators, obey_robots).await {
                Err(found) => (self.report(url.as_str(), target.clone(), None, found), None),
                Ok(fetched) => {
                    let found = self.page_found(&fetched, fetched_at, Some((&target, seen))).await;
                    let mut report =
                        self.report(url.as_str(), target.clone(), Some(&fetched), found);
                    report.fetched_at = fetched_at;
                    (report, Some((fetched, fetched_at)))
                }
            }
        };
        match (self.record(report).await, fetched) {
            // The head moved after the page was found the same as it: with evidence.
            (Err(StoreError::Conflict(Conflict::EvidenceNeeded)), Some((fetched, fetched_at))) => {
                let found = self.page_found(&fetched, fetched_at, None).await;
                let mut report = self.report(url.as_str(), target, Some(&fetched), found);
                report.fetched_at = fetched_at;
                self.record(report).await
            }
            (recorded, _) => recorded,
        }
    }

    /// A feed's capture: each entry not watched yet becomes a page watch of the feed's
    /// creator, with the feed's interval, kind and robots rule.
    async fn capture_feed(&self, url: &Url, watch: &Watch) -> StoreResult<CaptureRecorded> {
        let target = CaptureFor::Watch { watch: watch.id, lease: watch.lease_until };
        let reading = self.start_reading().await;
        let fetched = match self.fetch_checked(url, &watch.validators, watch.obey_robots).await {
            Err(found) => return self.record(self.report(url.as_str(), target, None, found)).await,
            Ok(fetched) => fetched,
        };
        let found = if fetched.not_modified() {
            Found::NotModified
        } else {
            let (body, url, limits) =
                (fetched.body.clone(), fetched.final_url.clone(), self.settings.feed);
            let parsed = self
                .store
                .compute()
                .run_in_turn(move || feed::parse_feed(&body, &url, &limits))
                .await
                .map_err(|err| err.to_string())
                .and_then(|parsed| parsed.map_err(|err| format!("not a feed: {err}")));
            match parsed {
                Err(detail) => Found::Nothing { outcome: CaptureOutcome::Failed, detail },
                Ok(parsed) => {
                    let detail = self.add_entries(watch, parsed.entries).await?;
                    Found::Feed { detail }
                }
            }
        };
        drop(reading);
        self.record(self.report(url.as_str(), target, Some(&fetched), found)).await
    }

    async fn add_entries(
        &self,
        watch: &Watch,
        entries: Vec<feed::FeedEntry>,
    ) -> StoreResult<String> {
        let urls: Vec<String> = entries.iter().map(|e| e.url.to_string()).collect();
        let watched = self.store.watched_urls(&urls).await?;
        let creator = Actor::agent(watch.created_by);
        let (mut added, mut refused) = (0, 0);
        for url in urls.iter().filter(|u| !watched.contains(u)) {
            let Ok(parsed) = Url::parse(url) else { continue };
            if self.policy.check_url(&parsed).is_err() {
                refused += 1;
                continue;
            }
            let entry = NewWatch {
                kind: WatchKind::Page,
                url: url.clone(),
                slug: None,
                document_kind: watch.document_kind,
                interval: watch.interval,
                obey_robots: watch.obey_robots,
            };
            match self.store.add_watch(entry, Some(watch.id), &creator).await {
                Ok(_) => added += 1,
                Err(StoreError::Conflict(Conflict::AlreadyWatched(_))) => {}
                Err(StoreError::Conflict(Conflict::TooManyWatches { limit })) => {
                    return Ok(format!(
                        "{} entries, {added} new watches; the rest not watched: the feed's \
                         creator has {limit} watches",
                        entries.len()
                    ));
                }
                Err(err) => return Err(err),
            }
        }
        let mut detail = format!("{} entries, {added} new watches", entries.len());
        if refused > 0 {
            detail.push_str(&format!(", {refused} at addresses captures may not reach"));
        }
        Ok(detail)
    }

    /// Records a report; if someone revised the document in between, once more against the
    /// new head.
    async fn record(&self, report: CaptureReport) -> StoreResult<CaptureRecorded> {
        let actor = self.actor().await?;
        match self.recorder.record(report.clone(), actor.clone()).await {
            Err(StoreError::Conflict(Conflict::HeadMoved { .. }))
            | Err(StoreError::Conflict(Conflict::ParentHasChild(_))) => {
                self.recorder.record(report, actor).await
            }
            other => other,
        }
    }

    /// The page, unless robots.txt, the address rules or the fetch said no: then what to
    /// record instead.
    #[tracing::instrument(level = "debug", name = "capture_fetch", skip_all)]
    async fn fetch_checked(
        &self,
        url: &Url,
        validators: &Validators,
        obey_robots: bool,
    ) -> Result<Fetched, Found> {
        if let Err(refused) = self.policy.check_url(url) {
            return Err(Found::Nothing {
                outcome: CaptureOutcome::Refused,
                detail: refused.to_string(),
            });
        }
        if obey_robots && !self.politeness.robots_allow(&self.fetcher, url).await {
            return Err(Found::Nothing {
                outcome: CaptureOutcome::Refused,
                detail: "robots.txt disallows it".to_owned(),
            });
        }
        let validators = FetchValidators {
            etag: validators.etag.clone(),
            last_modified: validators.last_modified.clone(),
        };
        self.fetcher.fetch(url, &validators).await.map_err(|err| {
            let outcome = match err {
                FetchError::Refused(_) => CaptureOutcome::Refused,
                _ => CaptureOutcome::Failed,
            };
            Found::Nothing { outcome, detail: err.to_string() }
        })
    }

    /// What a fetched page holds. Its evidence is built unless the page is the same as the
    /// head of the document a capture for `unless_unchanged` writes (only a revision keeps it),
    /// which its watch may say it last saw as these very bytes.
    async fn page_found(
        &self,
        fetched: &Fetched,
        fetched_at: Timestamp,
        unless_unchanged: Option<(&CaptureFor, Option<&SeenBytes>)>,
    ) -> Found {
        let nothing = |outcome, detail: String| Found::Nothing { outcome, detail };
        match fetched.status {
            304 => return Found::NotModified,
            404 | 410 => {
                return nothing(CaptureOutcome::Gone, format!("HTTP {}", fetched.status));
            }
            200..=299 => {}
            status => return nothing(CaptureOutcome::Failed, format!("HTTP {status}")),
        }
        let content_type = fetched.content_type().unwrap_or_default().to_ascii_lowercase();
        if !(content_type.is_empty()
            || content_type.starts_with("text/html")
            || content_type.starts_with("application/xhtml+xml"))
        {
            return nothing(CaptureOutcome::Failed, format!("not an HTML page ({content_type})"));
        }
        let payload_digest = super::warc::Digest::of(&fetched.raw_body).to_string();
        // The same bytes from the same address as the head was last seen as: the same article
        // (extraction depends on nothing else), not read again; the store checks the head is
        // still that revision. The watch remembers them; else the store is asked.
        let same = |seen: &SeenBytes| {
            seen.payload_digest == payload_digest
                && seen.final_url.as_deref() == Some(fetched.final_url.as_str())
        };
        if let Some((_, Some(seen))) = unless_unchanged
            && same(seen)
        {
            return Found::Same { revision: seen.revision.clone(), payload_digest };
        }
        let head = match unless_unchanged {
            None => None,
            Some((target, _)) => {
                match self.store.capture_head(target, fetched.requested.as_str()).await {
                    Ok(head) => head,
                    Err(err) => return nothing(CaptureOutcome::Failed, err.to_string()),
                }
            }
        };
        if let Some(seen) = head.as_ref().and_then(|head| head.seen.as_ref())
            && same(seen)
        {
            return Found::Same { revision: seen.revision.clone(), payload_digest };
        }
        let article = match self.extract(fetched).await {
            Ok(article) => article,
            Err(detail) => return nothing(CaptureOutcome::Failed, detail),
        };
        if article.text.len() > self.store.limits().max_content_bytes {
            return nothing(
                CaptureOutcome::Failed,
                format!("the article is {} bytes, over the content limit", article.text.len()),
            );
        }
        let title = title_of(&article.title, &fetched.final_url);
        let unchanged = head.is_some_and(|head| {
            head.revision.title == title.as_str()
                && head.revision.content_hash == crate::store::ContentHash::of(&article.text)
        });
        if unchanged {
            return Found::Page(Box::new(PageText {
                source: self.source(&article, &title, fetched, fetched_at),
                title,
                text: article.text,
                payload_digest,
                evidence: Vec::new(),
            }));
        }
        let date = WarcDate::from(fetched_at.as_datetime());
        let evidence = evidence::exchange(&self.store, fetched, date, &self.settings.user_agent)
            .instrument(tracing::debug_span!("capture_evidence"));
        let mut exchange = match evidence.await {
            Ok(exchange) => exchange,
            Err(err) => return nothing(CaptureOutcome::Failed, err.to_string()),
        };
        self.store
            .pack_evidence(&mut exchange.records)
            .instrument(tracing::debug_span!("capture_pack_evidence"))
            .await;
        let source = self.source(&article, &title, fetched, fetched_at);
        Found::Page(Box::new(PageText {
            title,
            text: article.text,
            source,
            payload_digest: exchange.payload_digest,
            evidence: exchange.records,
        }))
    }

    /// The page's article, read on the heavy-work pool in turn with the server's own heavy
    /// work: parsing is CPU-bound, and the pool leaves a core to serve requests.
    async fn extract(&self, fetched: &Fetched) -> Result<extract::Article, String> {
        let (body, content_type) =
            (fetched.body.clone(), fetched.content_type().map(str::to_owned));
        let (url, limits) = (fetched.final_url.clone(), self.settings.extract);
        let span = tracing::debug_span!("capture_extract");
        let work = move || {
            let _entered = span.enter();
            let html = super::fetch::decode_text(&body, content_type.as_deref());
            extract::extract(&html, &url, &limits)
        };
        match self.store.compute().run_in_turn(work).await {
            Ok(Ok(article)) => Ok(article),
            Ok(Err(err)) => Err(err.to_string()),
            Err(err) => Err(err.to_string()),
        }
    }

    /// The source a captured revision is written from: the page, as it names itself.
    fn source(
        &self,
        article: &extract::Article,
        title: &Title,
        fetched: &Fetched,
        fetched_at: Timestamp,
    ) -> NewSource {
        NewSource {
            kind: SourceKind::WebPage,
            title: Some(title.as_str().to_owned()),
            url: Some(article.canonical_url.as_ref().unwrap_or(&fetched.final_url).to_string()),
            publisher: article.site_name.clone().map(|s| one_line(&s, 500)),
            authors: article
                .byline
                .iter()
                .filter_map(|b| AgentName::parse(&one_line(b, 200)).ok())
                .collect(),
            recipients: Vec::new(),
            published_at: article.published_at.map(Timestamp::from_datetime),
            retrieved_at: Some(fetched_at),
            archive_url: None,
            license: None,
        }
    }

    fn report(
        &self,
        url: &str,
        target: CaptureFor,
        fetched: Option<&Fetched>,
        found: Found,
    ) -> CaptureReport {
        CaptureReport {
            target,
            url: url.to_owned(),
            final_url: fetched.map(|f| f.final_url.to_string()),
            status: fetched.map(|f| f.status),
            fetched_at: Timestamp::now(),
            found,
            validators: fetched
                .map(|f| Validators {
                    etag: f.validators.etag.clone(),
                    last_modified: f.validators.last_modified.clone(),
                })
                .unwrap_or_default(),
        }
    }
}

/// A page's title as a revision title: one line, at most `Title::MAX_CHARS` characters; the
/// URL when the page has none.
fn title_of(extracted: &str, url: &Url) -> Title {
    let line = one_line(extracted, Title::MAX_CHARS);
    Title::parse(&line)
        .or_else(|_| Title::parse(&one_line(url.as_str(), Title::MAX_CHARS)))
        .unwrap_or_else(|_| Title::parse("Untitled page").expect("a valid title"))
}

/// `extract::one_line`, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    extract::one_line(text).chars().take(max).collect()
}
