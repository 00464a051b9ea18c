//! What the non-GraphQL routes share: plain-text errors whose status comes from the same error
//! code GraphQL would answer with (`ErrorCode::http_status`), an internal error carrying the
//! request id and "come back later" carrying `Retry-After`; and the parsing of the path and
//! query parameters they all take.

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};

use crate::graphql::error::{ApiError, ErrorCode};
use crate::store::{DocumentKey, RevisionHash, Slug, StoreError};

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
pub(crate) fn slug_key(slug: &str) -> Result<DocumentKey, Failure> {
    Ok(DocumentKey::Slug(Slug::parse(slug).map_err(ApiError::from)?))
}

/// A revision hash given in a path segment or a `revision=` parameter.
pub(crate) fn revision_hash(value: Option<&str>) -> Result<Option<RevisionHash>, Failure> {
    value.map(|v| RevisionHash::parse(v).map_err(|e| ApiError::from(e).into())).transpose()
}
