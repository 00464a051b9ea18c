//! Exports over HTTP: citation records in each format's media type, PROV-JSON, and HTML pages
//! for people and citation-manager connectors. Handlers parse, call `crate::export`, respond.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::plain::{Failure, respond, revision_hash as revision_param, slug_key};
use super::{AppState, base_url};
use crate::export::{RecordInput, cite::Format, html, prov};
use crate::graphql::error::ApiError;
use crate::store::{DocumentKey, Slug, quoted};

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
) -> HttpResponse {
    respond(
        async {
            let format = format_param(params.format.as_deref())?;
            let revision = revision_param(params.revision.as_deref())?;
            let at = state.store.document_at(&slug_key(&slug)?, revision.as_ref()).await?;
            let record = RecordInput::new(at, &base_url(&req));
            let name = record.document.slug.to_string();
            Ok(citation_response(format, &name, format.render(&[record])))
        }
        .await,
    )
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
) -> HttpResponse {
    respond(
        async {
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
                return Err(Failure::bad(format!(
                    "give documents= 1 to {MAX_LIST} comma-separated slugs"
                )));
            }
            let keys = slugs
                .into_iter()
                .map(|s| {
                    Ok(DocumentKey::Slug(Slug::parse(s).map_err(|e| Failure::bad(e.to_string()))?))
                })
                .collect::<Result<Vec<_>, Failure>>()?;
            let base = base_url(&req);
            let records: Vec<RecordInput> = state
                .store
                .documents_at_heads(&keys)
                .await?
                .into_iter()
                .map(|at| RecordInput::new(at, &base))
                .collect();
            Ok(citation_response(format, "citations", format.render(&records)))
        }
        .await,
    )
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
) -> HttpResponse {
    respond(
        async {
            let revision = revision_param(params.revision.as_deref())?;
            // Bounded by the history cap and, per client, by the rate limit.
            let budget = crate::budget::Budget::unlimited();
            let provenance =
                state.store.provenance(&slug_key(&slug)?, revision.as_ref(), &budget).await?;
            let body = serde_json::to_string_pretty(&prov::prov_json(&provenance, &base_url(&req)))
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot serialise PROV-JSON");
                    Failure::from(ApiError::internal())
                })?;
            Ok(HttpResponse::Ok().content_type("application/json; charset=utf-8").body(body))
        }
        .await,
    )
}

async fn page(
    state: &AppState,
    req: &HttpRequest,
    slug: &str,
    hash: Option<&str>,
) -> Result<HttpResponse, Failure> {
    let revision = revision_param(hash)?;
    let page = state.store.revision_page(&slug_key(slug)?, revision.as_ref()).await?;
    let record = RecordInput::new(page.at, &base_url(req));
    let html = html::page(&html::PageInput {
        record: &record,
        content: page.content.as_deref(),
        redaction: page.redaction.as_ref(),
        author: page.author.as_ref(),
        is_document_page: hash.is_none(),
    });
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, super::PAGE_CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"));
    if hash.is_some() {
        response.insert_header((header::CACHE_CONTROL, super::REVISION_CACHE));
    }
    Ok(response.body(html))
}

/// GET /documents/{slug}: the document's page, at its head.
pub(super) async fn document_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> HttpResponse {
    respond(page(&state, &req, &slug, None).await)
}

/// GET /documents/{slug}/revisions/{hash}: one revision's page.
pub(super) async fn revision_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (slug, hash) = path.into_inner();
    respond(page(&state, &req, &slug, Some(&hash)).await)
}
