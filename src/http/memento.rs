//! Time travel over HTTP with Memento (RFC 7089), the protocol web archives speak:
//! - `/documents/{slug}/text` is the original resource (URI-R), serving the head's text, and
//!   its own TimeGate: with `Accept-Datetime` it redirects (302) to the memento that was the
//!   head at that instant (the first one for an instant before the document existed);
//! - `/documents/{slug}/revisions/{hash}/text` is a memento (URI-M): one revision's text,
//!   immutable, with `Memento-Datetime` and links to its neighbours;
//! - `/documents/{slug}/timemap` lists every memento in `application/link-format`.
//!
//! HTTP dates have whole seconds. An `Accept-Datetime` HTTP-date stands for its whole second
//! (the last revision made within it wins); an RFC 3339 value with a fraction is honoured to
//! the microsecond, so two edits in one second stay two mementos and both are reachable.

use std::collections::BTreeMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;

use super::plain::{Failure, anyone};
use super::{AppState, REVISION_CACHE};
use crate::store::{Revision, RevisionHash, RevisionStamp, Slug, Store, Timestamp};

const LINK_FORMAT: &str = "application/link-format";
const TEXT: &str = "text/plain; charset=utf-8";

/// Absolute URIs for one document's Memento resources.
struct Uris {
    base: String,
}

impl Uris {
    fn new(req: &HttpRequest, slug: &Slug) -> Self {
        Uris { base: format!("{}/documents/{slug}", super::base_url(req)) }
    }

    fn original(&self) -> String {
        format!("{}/text", self.base)
    }

    fn timemap(&self) -> String {
        format!("{}/timemap", self.base)
    }

    /// The `Link` entries every response of a document carries: its original resource (which
    /// is also its TimeGate) and its TimeMap.
    fn link_base(&self) -> String {
        format!(
            "<{}>; rel=\"original timegate\", <{}>; rel=\"timemap\"; type=\"{LINK_FORMAT}\"",
            self.original(),
            self.timemap()
        )
    }

    fn memento(&self, hash: &RevisionHash) -> String {
        format!("{}/revisions/{hash}/text", self.base)
    }
}

/// An HTTP-date (IMF-fixdate): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: Timestamp) -> header::HttpDate {
    header::HttpDate::from(std::time::SystemTime::from(t.as_datetime()))
}

/// `Accept-Datetime` as the instant to look up: an HTTP-date (any of the three forms RFC 9110
/// has a recipient accept) covers its whole second; an RFC 3339 time is taken to the
/// microsecond.
fn parse_accept_datetime(value: &str) -> Option<Timestamp> {
    if let Ok(date) = value.trim().parse::<header::HttpDate>() {
        let start = Timestamp::from_datetime(chrono::DateTime::<chrono::Utc>::from(
            std::time::SystemTime::from(date),
        ));
        return Some(Timestamp::from_micros(start.micros() + 999_999));
    }
    Timestamp::parse("Accept-Datetime", value.trim()).ok()
}

/// A revision's entity tag: its hash, which names its text for good.
fn etag(hash: &RevisionHash) -> header::ETag {
    header::ETag(header::EntityTag::new_strong(hash.to_string()))
}

/// Whether the client holds this revision already.
fn client_holds(req: &HttpRequest, hash: &RevisionHash) -> bool {
    super::plain::client_holds(req, &etag(hash).0)
}

/// `Repr-Digest` (RFC 9530): the SHA-256 of the body, which is the revision's content hash.
fn repr_digest(revision: &Revision) -> String {
    let bytes = revision.content_hash.to_bytes();
    format!("sha-256=:{}:", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The slug a `{slug}` path segment names.
fn slug(value: &str) -> Result<Slug, Failure> {
    Slug::parse(value).map_err(|e| Failure::bad(e.to_string()))
}

/// GET /documents/{slug}/text: the head's text, or with `Accept-Datetime` a redirect to the
/// memento that was the head then.
pub(super) async fn original(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    original_inner(&state.store, &req, &slug).await
}

async fn original_inner(
    store: &Store,
    req: &HttpRequest,
    slug: &str,
) -> Result<HttpResponse, Failure> {
    let slug = self::slug(slug)?;
    let uris = Uris::new(req, &slug);
    let link_base = uris.link_base();

    if let Some(value) = req.headers().get("accept-datetime") {
        let instant = value.to_str().ok().and_then(parse_accept_datetime).ok_or_else(|| {
            Failure::bad("Accept-Datetime must be an HTTP-date (RFC 7231) or an RFC 3339 date-time")
        })?;
        // Before the first memento, RFC 7089 (4.5.3) points at the first: `head_at` does.
        let chosen = store.head_at(&anyone(), &slug, instant).await?;
        let location = uris.memento(&chosen.hash);
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, location.clone()))
            .insert_header((header::VARY, "accept-datetime"))
            .insert_header((
                header::LINK,
                format!(
                    "{link_base}, <{location}>; rel=\"memento\"; datetime=\"{}\"",
                    http_date(chosen.created_at)
                ),
            ))
            .content_type(TEXT)
            .body(format!("{location}\n")));
    }

    let head = store.head_text(&anyone(), &slug, true).await?;
    let not_modified = client_holds(req, &head.revision.hash);
    let mut response = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::VARY, "accept-datetime"))
        .insert_header((header::LINK, link_base))
        .insert_header(etag(&head.revision.hash))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header(("Repr-Digest", repr_digest(&head.revision)));
    match head.content {
        Some(content) if !not_modified => Ok(response.content_type(TEXT).body(content)),
        _ => Ok(response.finish()),
    }
}

/// GET /documents/{slug}/revisions/{hash}/text: one revision's text, a memento.
pub(super) async fn memento(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (slug, hash) = path.into_inner();
    memento_inner(&state.store, &req, &slug, &hash).await
}

async fn memento_inner(
    store: &Store,
    req: &HttpRequest,
    slug: &str,
    hash: &str,
) -> Result<HttpResponse, Failure> {
    let hash = RevisionHash::parse(hash).map_err(|e| Failure::bad(e.to_string()))?;
    let slug = self::slug(slug)?;
    // An immutable memento needs no reading when the client holds it already.
    let not_modified = client_holds(req, &hash);
    let memento = store.memento(&anyone(), &slug, &hash, !not_modified).await?;
    let revision = &memento.text.revision;
    let uris = Uris::new(req, &slug);

    let mut rels: BTreeMap<i64, (RevisionHash, Timestamp, Vec<&str>)> = BTreeMap::new();
    let mut mark = |stamp: &RevisionStamp, rel: &'static str| {
        rels.entry(stamp.number)
            .or_insert_with(|| (stamp.hash.clone(), stamp.created_at, Vec::new()))
            .2
            .push(rel);
    };
    mark(&memento.first, "first");
    if let Some(previous) = &memento.previous {
        mark(previous, "prev");
    }
    if let Some(next) = &memento.next {
        mark(next, "next");
    }
    mark(&memento.last, "last");
    mark(&RevisionStamp::of(revision), "memento");
    let mut link = uris.link_base();
    for (hash, created_at, names) in rels.values() {
        let mut names = names.clone();
        names.retain(|r| *r != "memento");
        names.push("memento");
        link.push_str(&format!(
            ", <{}>; rel=\"{}\"; datetime=\"{}\"",
            uris.memento(hash),
            names.join(" "),
            http_date(*created_at)
        ));
    }

    let mut response = if not_modified { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header(("Memento-Datetime", http_date(revision.created_at)))
        .insert_header((header::LINK, link))
        .insert_header(etag(&revision.hash))
        .insert_header((header::CACHE_CONTROL, REVISION_CACHE))
        .insert_header(("Repr-Digest", repr_digest(revision)))
        .insert_header(("Palimpsest-Created-At", revision.created_at.to_string()));
    match memento.text.content {
        Some(content) if !not_modified => Ok(response.content_type(TEXT).body(content)),
        _ => Ok(response.finish()),
    }
}

/// The most mementos one TimeMap page lists; later ones are on the page its `next` link names.
const TIMEMAP_PAGE: u64 = 1000;

#[derive(serde::Deserialize)]
pub(super) struct TimeMapParams {
    /// The revision number after which the page starts.
    after: Option<i64>,
}

/// GET /documents/{slug}/timemap[?after=N]: the document's mementos, oldest first, a page of
/// up to 1,000 at a time.
pub(super) async fn timemap(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: web::Query<TimeMapParams>,
) -> Result<HttpResponse, Failure> {
    timemap_inner(&state.store, &req, &slug, params.after).await
}

async fn timemap_inner(
    store: &Store,
    req: &HttpRequest,
    slug: &str,
    after: Option<i64>,
) -> Result<HttpResponse, Failure> {
    let slug = self::slug(slug)?;
    let uris = Uris::new(req, &slug);
    let timemap = store.timemap(&anyone(), &slug, after, TIMEMAP_PAGE).await?;
    let stamps = &timemap.stamps;
    let (Some(first), Some(last)) = (stamps.first(), stamps.last()) else {
        return Err(Failure::new(StatusCode::NOT_FOUND, "no mementos after that number"));
    };
    let page_uri = match after {
        Some(after) => format!("{}?after={after}", uris.timemap()),
        None => uris.timemap(),
    };
    let mut entries = vec![
        format!("<{}>; rel=\"original\"", uris.original()),
        format!(
            "<{page_uri}>; rel=\"self\"; type=\"{LINK_FORMAT}\"; from=\"{}\"; until=\"{}\"",
            http_date(first.created_at),
            http_date(last.created_at)
        ),
        format!("<{}>; rel=\"timegate\"", uris.original()),
    ];
    let starts_history = after.is_none_or(|after| after < 1);
    for (i, stamp) in stamps.iter().enumerate() {
        let is_first = starts_history && i == 0;
        let is_last = !timemap.has_more && i + 1 == stamps.len();
        let rel = match (is_first, is_last) {
            (true, true) => "first last memento",
            (true, false) => "first memento",
            (false, true) => "last memento",
            (false, false) => "memento",
        };
        entries.push(format!(
            "<{}>; rel=\"{rel}\"; datetime=\"{}\"",
            uris.memento(&stamp.hash),
            http_date(stamp.created_at)
        ));
    }
    if timemap.has_more {
        entries.push(format!(
            "<{}?after={}>; rel=\"next\"; type=\"{LINK_FORMAT}\"",
            uris.timemap(),
            last.number
        ));
    }
    Ok(HttpResponse::Ok().content_type(LINK_FORMAT).body(entries.join(",\n") + "\n"))
}
