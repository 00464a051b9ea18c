//! The pages and records a browser or a citation manager reads: HTML pages for people and
//! connectors, citation records in each format's media type, PROV-JSON. Handlers parse, call
//! the store, render with `crate::render`, respond.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::plain::{Failure, anyone, prefers_html, revision_hash as revision_param, slug_key};
use super::{AppState, base_url};
use crate::fulltext::SearchQuery;
use crate::graphql::error::ApiError;
use crate::render::{RecordInput, cite::Format, html, prov};
use crate::store::{
    DocumentFilter, DocumentKey, DocumentOrder, DocumentOrderField, HeadParts, PageRequest,
    SearchRequest, SearchScope, Slug, quoted,
};

/// The most documents one list export takes.
const MAX_LIST: usize = 100;

fn format_param(value: Option<&str>) -> Result<Format, Failure> {
    let value =
        value.ok_or_else(|| Failure::bad(format!("give format= one of: {}", Format::NAMES)))?;
    Format::parse(value).ok_or_else(|| {
        Failure::bad(format!(
            "{} is not an export format; use one of: {}",
            quoted(value),
            Format::NAMES
        ))
    })
}

fn citation_response(format: Format, name: &str, text: String) -> HttpResponse {
    let extension = match format {
        Format::CslJson => "json",
        Format::Bibtex => "bib",
        Format::Ris => "ris",
    };
    HttpResponse::Ok()
        .content_type(format!("{}; charset=utf-8", format.media_type()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("inline; filename=\"{name}.{extension}\""),
        ))
        .body(text)
}

#[derive(Deserialize)]
pub(super) struct CiteParams {
    format: Option<String>,
    revision: Option<String>,
}

/// GET /documents/{slug}/cite?format=csl-json|bibtex|ris[&revision={hash}]
pub(super) async fn cite(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: web::Query<CiteParams>,
) -> Result<HttpResponse, Failure> {
    let format = format_param(params.format.as_deref())?;
    let revision = revision_param(params.revision.as_deref())?;
    let at = state.store.document_at(&anyone(), &slug_key(&slug)?, revision.as_ref()).await?;
    let record = RecordInput::new(at, &base_url(&req));
    let name = record.document.slug.to_string();
    Ok(citation_response(format, &name, format.render(&[record])))
}

#[derive(Deserialize)]
pub(super) struct ListParams {
    format: Option<String>,
    /// Slugs, comma-separated.
    documents: Option<String>,
}

/// GET /cite?format=...&documents=slug,slug: the heads of several documents in one file.
pub(super) async fn cite_list(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<ListParams>,
) -> Result<HttpResponse, Failure> {
    let format = format_param(params.format.as_deref())?;
    let slugs: Vec<&str> = params
        .documents
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if slugs.is_empty() || slugs.len() > MAX_LIST {
        return Err(Failure::bad(format!("give documents= 1 to {MAX_LIST} comma-separated slugs")));
    }
    let keys = slugs
        .into_iter()
        .map(|s| Ok(DocumentKey::Slug(Slug::parse(s).map_err(|e| Failure::bad(e.to_string()))?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    let base = base_url(&req);
    let records: Vec<RecordInput> = state
        .store
        .documents_at_heads(&anyone(), &keys)
        .await?
        .into_iter()
        .map(|at| RecordInput::new(at, &base))
        .collect();
    Ok(citation_response(format, "citations", format.render(&records)))
}

#[derive(Deserialize)]
pub(super) struct RevisionParams {
    revision: Option<String>,
}

/// GET /documents/{slug}/provenance[?revision={hash}]: W3C PROV-JSON.
pub(super) async fn provenance(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: web::Query<RevisionParams>,
) -> Result<HttpResponse, Failure> {
    let revision = revision_param(params.revision.as_deref())?;
    // Bounded by the history cap and, per client, by the rate limit.
    let budget = crate::budget::Budget::unlimited();
    let provenance =
        state.store.provenance(&anyone(), &slug_key(&slug)?, revision.as_ref(), &budget).await?;
    let body = serde_json::to_string_pretty(&prov::prov_json(&provenance, &base_url(&req)))
        .map_err(|e| {
            tracing::error!(error = %e, "cannot serialise PROV-JSON");
            Failure::from(ApiError::internal())
        })?;
    Ok(HttpResponse::Ok().content_type("application/json; charset=utf-8").body(body))
}

/// An HTML page: no scripts, nothing from elsewhere, never framed.
fn html_response(html: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, html::PAGE_CSP.as_str()))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        // What a page says of a revision (superseded or not) changes with the history.
        .insert_header((header::CACHE_CONTROL, super::REVISION_CACHE))
        .body(html)
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    slug: &str,
    hash: Option<&str>,
) -> Result<HttpResponse, Failure> {
    let revision = revision_param(hash)?;
    let page = state.store.revision_page(&anyone(), &slug_key(slug)?, revision.as_ref()).await?;
    let record = RecordInput::new(page.at, &base_url(req));
    Ok(html_response(html::page(&html::PageInput {
        record: &record,
        content: page.content.as_deref(),
        redaction: page.redaction.as_ref(),
        author: page.author.as_ref(),
        is_document_page: hash.is_none(),
        head: &page.head,
        previous: page.previous.as_ref(),
        next: page.next.as_ref(),
        citations: &page.citations,
        citation_count: page.citation_count,
    })))
}

#[derive(Deserialize)]
pub(super) struct HistoryParams {
    /// Revisions older than this number (the next page).
    before: Option<String>,
}

/// GET /documents/{slug}/history[?before=N]: the history as a page, newest first.
pub(super) async fn history_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: web::Query<HistoryParams>,
) -> Result<HttpResponse, Failure> {
    let before = match params.before.as_deref() {
        None => None,
        Some(n) => Some(n.parse::<i64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Failure::bad(format!("before= takes a revision number, not {}", quoted(n)))
        })?),
    };
    let history =
        state.store.history_page(&anyone(), &slug_key(&slug)?, before, html::HISTORY_PAGE).await?;
    Ok(html_response(html::history(&history, &base_url(&req))))
}

#[derive(Deserialize)]
pub(super) struct DiffParams {
    from: Option<String>,
    to: Option<String>,
}

/// GET /documents/{slug}/diff?from={hash}&to={hash}: a word diff between two revisions of the
/// document (without `from`: the first revision's text against nothing).
pub(super) async fn diff_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
    params: web::Query<DiffParams>,
) -> Result<HttpResponse, Failure> {
    let from = revision_param(params.from.as_deref())?;
    let to = revision_param(params.to.as_deref())?
        .ok_or_else(|| Failure::bad("give to= the hash of a revision (and from= another)"))?;
    // The texts are bounded by the largest text a revision may hold, and requests to
    // pages by the per-client rate limit.
    let budget = crate::budget::Budget::unlimited();
    let (document, diff) =
        state.store.diff_page(&anyone(), &slug_key(&slug)?, from.as_ref(), &to, &budget).await?;
    Ok(html_response(html::diff(&document, &diff, &base_url(&req))))
}

/// GET /documents/{slug}: the document's page, at its head.
pub(super) async fn document_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    page(&state, &req, &slug, None).await
}

/// GET /documents/{slug}/revisions/{hash}: one revision's page.
pub(super) async fn revision_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (slug, hash) = path.into_inner();
    page(&state, &req, &slug, Some(&hash)).await
}

/// GET /: for a browser, the home page (the documents changed last, a search box, where the
/// API is); for anyone else, where the API is, in a line of text.
pub(super) async fn home(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, Failure> {
    let base = base_url(&req);
    if !prefers_html(&req) {
        return Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .insert_header((header::VARY, "Accept"))
            .body(format!(
                "Palimpsest: GraphQL at {base}/graphql (POST, or GET ?query=; GraphiQL in a \
                 browser), its schema at {base}/schema.graphql\n"
            )));
    }
    let order = DocumentOrder { field: DocumentOrderField::UpdatedAt, descending: true };
    let first = PageRequest::first(html::RECENT_DOCUMENTS);
    // The pages are public: they list what anyone may read.
    let readable = DocumentFilter::readable_by(anyone());
    let recent = state
        .store
        .list_documents_with_heads(&readable, order, first, HeadParts::default())
        .await?;
    let mut response = html_response(html::home(&recent.items, recent.has_more, &base));
    response.headers_mut().append(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(response)
}

#[derive(Deserialize)]
pub(super) struct SearchParams {
    q: Option<String>,
}

/// GET /search?q=words: the documents, as they are now, that hold the words (the home page's
/// search box; the GraphQL `search` field has the rest: history, kinds, paging).
pub(super) async fn search(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<SearchParams>,
) -> Result<HttpResponse, Failure> {
    let words = params.q.as_deref().unwrap_or("").trim();
    let base = base_url(&req);
    if words.is_empty() {
        return Ok(html_response(html::search(words, &[], false, &base)));
    }
    let query = SearchQuery::parse(words).map_err(|err| Failure::bad(format!("q: {err}")))?;
    let request = SearchRequest {
        viewer: anyone(),
        query,
        scope: SearchScope::Heads,
        kind: None,
        after: None,
        limit: html::SEARCH_PAGE,
    };
    let found = state.store.search(&request).await?;
    Ok(html_response(html::search(words, &found.hits, found.has_more, &base)))
}
