//! The GraphQL error codes of DESIGN.md and the one place store errors become them.
//!
//! Messages of client errors are precise and safe to show. An unexpected error is logged here
//! with its whole cause chain (inside the request's span, which carries the request id) and
//! reaches the client only as `INTERNAL`; the HTTP layer adds the request id to it.

use async_graphql::{ErrorExtensions, Value};

use crate::store::{InvalidValue, StoreError};

/// `extensions.code` of every error a client can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    PayloadTooLarge,
    QueryTooComplex,
    RateLimited,
    Unavailable,
    Internal,
}

impl ErrorCode {
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// An error on its way to a client: a code, a message that is safe to show, and what else a
/// client needs to act on it (`extensions`).
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub extensions: Vec<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), extensions: Vec::new() }
    }

    /// Adds an extension member beside `code`.
    pub fn with(mut self, key: &'static str, value: impl Into<Value>) -> Self {
        self.extensions.push((key, value.into()));
        self
    }

    /// `UNAVAILABLE`, asking the client to come back after `retry_after`.
    pub fn unavailable(retry_after: std::time::Duration) -> Self {
        let seconds = retry_after.as_secs().max(1);
        Self::new(
            ErrorCode::Unavailable,
            format!("the service is temporarily unavailable; retry in {seconds} s"),
        )
        .with("retryAfter", seconds)
    }

    /// A request-level error: it belongs to no position in the query.
    pub fn into_server_error(self) -> async_graphql::ServerError {
        let error = async_graphql::Error::from(self);
        let mut server_error = async_graphql::ServerError::new(error.message, None);
        server_error.extensions = error.extensions;
        server_error
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
}

impl From<&StoreError> for ApiError {
    fn from(err: &StoreError) -> Self {
        match err {
            StoreError::Invalid(invalid) => invalid.clone().into(),
            StoreError::NotFound(_) => ApiError::new(ErrorCode::NotFound, err.to_string()),
            StoreError::Conflict(_) => ApiError::new(ErrorCode::Conflict, err.to_string()),
            StoreError::TooLarge { .. } => {
                ApiError::new(ErrorCode::PayloadTooLarge, err.to_string())
            }
            StoreError::OverBudget { what, cause } => {
                let limit = super::limits::Limit::Cost;
                let refused = super::limits::too_complex(limit, cause.max, cause.needed);
                ApiError { message: format!("{what}: {}", refused.message), ..refused }
            }
            StoreError::TimedOut { what, limit } => {
                let max = limit.as_millis() as u64;
                let refused = super::limits::too_complex(super::limits::Limit::TimeMs, max, max);
                ApiError {
                    message: format!("{what} ran past its time limit of {max} ms"),
                    ..refused
                }
            }
            StoreError::Unavailable { retry_after, cause } => {
                tracing::warn!(error = format!("{cause:#}"), "unavailable");
                ApiError::unavailable(*retry_after)
            }
            StoreError::Unexpected(cause) => {
                tracing::error!(error = format!("{cause:#}"), "unexpected store error");
                ApiError::internal()
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        ApiError::from(&err)
    }
}

impl From<std::sync::Arc<StoreError>> for ApiError {
    fn from(err: std::sync::Arc<StoreError>) -> Self {
        ApiError::from(err.as_ref())
    }
}

impl From<InvalidValue> for ApiError {
    fn from(err: InvalidValue) -> Self {
        ApiError::bad_input(err.to_string())
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        let ApiError { code, message, extensions } = err;
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", code.as_str());
            for (key, value) in extensions {
                ext.set(key, value);
            }
        })
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
