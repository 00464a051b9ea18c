//! The GraphQL error codes of DESIGN.md and the one place store errors become them.
//!
//! Messages of client errors are precise and safe to show. An unexpected error is logged here
//! with its whole cause chain (inside the request's span, which carries the request id) and
//! reaches the client only as `INTERNAL`; the HTTP layer adds the request id to it.

use async_graphql::ErrorExtensions;

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
            ErrorCode::Internal => "INTERNAL",
        }
    }
}

/// An error on its way to a client: a code and a message that is safe to show.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
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
        let code = err.code.as_str();
        async_graphql::Error::new(err.message).extend_with(|_, ext| ext.set("code", code))
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
