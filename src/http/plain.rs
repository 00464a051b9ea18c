//! What the non-GraphQL routes share: their error (`Failure`, a `ResponseError`, so handlers
//! return it with `?`), whose status comes from the same error code GraphQL would answer with
//! (`ErrorCode::http_status`), an internal error carrying the request id and "come back
//! later" carrying `Retry-After` — plain text, or a page for a browser (`error_pages`); and
//! the parsing of the path and query parameters they all take.

use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, Header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};

use crate::graphql::error::{ApiError, ErrorCode};
use crate::store::{DocumentKey, RevisionHash, Slug, StoreError, Timestamp, Viewer};

/// A failed request: a status and a reason safe to show.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: StatusCode,
    pub message: String,
    pub retry_after: Option<Duration>,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Failure { status, message: message.into(), retry_after: None }
    }

    pub fn bad(message: impl Into<String>) -> Self {
        Failure::from(ApiError::bad_input(message))
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        let status = StatusCode::from_u16(error.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match error.code {
            ErrorCode::Internal => {
                let id = super::request_id().unwrap_or_default();
                format!("internal error (request id {id})")
            }
            _ => error.message.clone(),
        };
        let retry_after = match error.extension("retryAfter") {
            Some(async_graphql::Value::Number(n)) => n.as_u64().map(Duration::from_secs),
            _ => None,
        };
        Failure { status, message, retry_after }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Failure::from(ApiError::from(err))
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl ResponseError for Failure {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type("text/plain; charset=utf-8");
        if let Some(retry_after) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, retry_after.as_secs().max(1)));
        }
        response.body(format!("{}\n", self.message))
    }
}

/// Whether the client holds what `etag` tags already: `If-None-Match` compares weakly (RFC
/// 9110 13.1.2), so `W/"tag"` matches as `"tag"` does.
pub(crate) fn client_holds(req: &impl actix_web::HttpMessage, etag: &header::EntityTag) -> bool {
    match header::IfNoneMatch::parse(req) {
        Ok(header::IfNoneMatch::Any) => true,
        Ok(header::IfNoneMatch::Items(tags)) => tags.iter().any(|tag| tag.weak_eq(etag)),
        Err(_) => false,
    }
}

/// Whether the client would rather read HTML: a browser ranks `text/html` first, where curl
/// and programs send `*/*` or ask for a format.
pub(crate) fn prefers_html(req: &impl actix_web::HttpMessage) -> bool {
    header::Accept::parse(req)
        .ok()
        .and_then(|accept| accept.ranked().into_iter().next())
        .is_some_and(|first| {
            first.type_() == actix_web::mime::TEXT && first.subtype() == actix_web::mime::HTML
        })
}

/// A browser that meets an error of a plain route (or a route that does not exist) gets it as
/// a page with a way back; anyone else, the plain text, with the same status and headers.
pub(super) async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let base = prefers_html(&req).then(|| super::base_url(req.request()));
    let response = next.call(req).await?.map_into_boxed_body();
    let Some(base) = base else { return Ok(response) };
    let Some(failure) = response.response().error().and_then(|e| e.as_error::<Failure>()) else {
        return Ok(response);
    };
    let status = failure.status;
    let page = crate::render::html::error(
        &base,
        status.as_u16(),
        status.canonical_reason().unwrap_or("Error"),
        &failure.message,
    );
    Ok(response.map_body(|head, _| {
        let headers = &mut head.headers;
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        if let Ok(csp) = header::HeaderValue::from_str(&crate::render::html::PAGE_CSP) {
            headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        headers.insert(header::X_FRAME_OPTIONS, header::HeaderValue::from_static("DENY"));
        headers.append(header::VARY, header::HeaderValue::from_static("Accept"));
        BoxBody::new(page)
    }))
}

/// The document a `{slug}` path segment names.
/// Whom the plain routes answer: they take no credentials, and show what anyone may read now.
pub(crate) fn anyone() -> Viewer {
    Viewer::public(Timestamp::now())
}

pub(crate) fn slug_key(slug: &str) -> Result<DocumentKey, Failure> {
    Ok(DocumentKey::Slug(Slug::parse(slug).map_err(ApiError::from)?))
}

/// A revision hash given in a path segment or a `revision=` parameter.
pub(crate) fn revision_hash(value: Option<&str>) -> Result<Option<RevisionHash>, Failure> {
    value.map(|v| RevisionHash::parse(v).map_err(|e| ApiError::from(e).into())).transpose()
}
