//! What the non-GraphQL routes share: plain-text errors with the right status, and the
//! parsing of the path and query parameters they all take.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

use crate::store::{Document, RevisionHash, Slug, Store, StoreError};

/// A failed request: a status and a reason safe to show.
pub(crate) struct Failure(pub StatusCode, pub String);

impl Failure {
    pub fn bad(message: impl Into<String>) -> Self {
        Failure(StatusCode::BAD_REQUEST, message.into())
    }
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Invalid(e) => Failure::bad(e.to_string()),
            StoreError::NotFound(_) => Failure(StatusCode::NOT_FOUND, err.to_string()),
            StoreError::Conflict(m) => Failure(StatusCode::CONFLICT, m),
            StoreError::TooLarge { .. } => Failure(StatusCode::PAYLOAD_TOO_LARGE, err.to_string()),
            StoreError::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected store error");
                Failure(StatusCode::INTERNAL_SERVER_ERROR, "internal error".into())
            }
        }
    }
}

pub(crate) fn respond(result: Result<HttpResponse, Failure>) -> HttpResponse {
    result.unwrap_or_else(|Failure(status, message)| {
        HttpResponse::build(status)
            .content_type("text/plain; charset=utf-8")
            .body(format!("{message}\n"))
    })
}

/// The document a `{slug}` path segment names.
pub(crate) async fn document(store: &Store, slug: &str) -> Result<Document, Failure> {
    let slug = Slug::parse(slug).map_err(|e| Failure::bad(e.to_string()))?;
    store
        .document_by_slug(&slug)
        .await?
        .ok_or_else(|| Failure(StatusCode::NOT_FOUND, format!("no document has the slug {slug}")))
}

/// A revision hash given in a path segment or a `revision=` parameter.
pub(crate) fn revision_hash(value: Option<&str>) -> Result<Option<RevisionHash>, Failure> {
    value.map(|v| RevisionHash::parse(v).map_err(|e| Failure::bad(e.to_string()))).transpose()
}
