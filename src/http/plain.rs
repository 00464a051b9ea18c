//! What the non-GraphQL routes share: plain-text errors with the right status (an internal
//! error carries the request id; "come back later" carries `Retry-After`), and the parsing of
//! the path and query parameters they all take.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

use crate::store::{Document, RevisionHash, Slug, Store, StoreError};

/// A failed request: a status and a reason safe to show.
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
        Failure::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn internal() -> Self {
        let id = super::request_id().unwrap_or_default();
        Failure::new(StatusCode::INTERNAL_SERVER_ERROR, format!("internal error (request id {id})"))
    }

    pub fn unavailable(retry_after: Duration) -> Self {
        Failure {
            retry_after: Some(retry_after),
            ..Failure::new(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("temporarily unavailable; retry in {} s", retry_after.as_secs().max(1)),
            )
        }
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(e) => Failure::bad(e.to_string()),
            StoreError::NotFound(_) => Failure::new(StatusCode::NOT_FOUND, err.to_string()),
            StoreError::Conflict(m) => Failure::new(StatusCode::CONFLICT, m),
            StoreError::TooLarge { .. } => {
                Failure::new(StatusCode::PAYLOAD_TOO_LARGE, err.to_string())
            }
            StoreError::OverBudget { .. } | StoreError::TimedOut { .. } => {
                Failure::new(StatusCode::UNPROCESSABLE_ENTITY, err.to_string())
            }
            StoreError::Unavailable { retry_after, cause } => {
                tracing::warn!(error = format!("{cause:#}"), "unavailable");
                Failure::unavailable(retry_after)
            }
            StoreError::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected store error");
                Failure::internal()
            }
        }
    }
}

pub(crate) fn respond(result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|failure| {
        let mut response = HttpResponse::build(failure.status);
        response.content_type("text/plain; charset=utf-8");
        if let Some(retry_after) = failure.retry_after {
            response.insert_header((header::RETRY_AFTER, retry_after.as_secs().max(1)));
        }
        response.body(format!("{}\n", failure.message))
    })
}

/// The document a `{slug}` path segment names.
pub(crate) async fn document(store: &Store, slug: &str) -> Result<Document, Failure> {
    let slug = Slug::parse(slug).map_err(|e| Failure::bad(e.to_string()))?;
    store.document_by_slug(&slug).await?.ok_or_else(|| {
        Failure::new(StatusCode::NOT_FOUND, format!("no document has the slug {slug}"))
    })
}

/// A revision hash given in a path segment or a `revision=` parameter.
pub(crate) fn revision_hash(value: Option<&str>) -> Result<Option<RevisionHash>, Failure> {
    value.map(|v| RevisionHash::parse(v).map_err(|e| Failure::bad(e.to_string()))).transpose()
}
