//! The error codes of DESIGN.md, and the one place store errors become them.
//!
//! Messages of client errors are precise and safe to show; extensions carry what a client
//! needs to act (the current head on `CONFLICT`, the limit on `QUERY_TOO_COMPLEX`, when to
//! retry on `RATE_LIMITED` and `UNAVAILABLE`). An unexpected error is logged here with its
//! whole cause chain (inside the request's span, which carries the request id) and reaches
//! the client only as `INTERNAL`; the transport adds the request id to it. The plain HTTP
//! routes answer with the status `ErrorCode::http_status` gives the same code.

use async_graphql::{ErrorExtensions, Value};

use crate::store::{Conflict, InvalidValue, StoreError};

/// `extensions.code` of every error a client can get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    /// The text asked for was redacted (`extensions.revision` names the revision).
    Redacted,
    PayloadTooLarge,
    QueryTooComplex,
    RateLimited,
    Unavailable,
    /// Apollo's automatic persisted queries: the hash sent alone is not known; send the query
    /// with it once.
    PersistedQueryNotFound,
    Internal,
}

impl ErrorCode {
    const ALL: [ErrorCode; 12] = [
        ErrorCode::BadUserInput,
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::Redacted,
        ErrorCode::PayloadTooLarge,
        ErrorCode::QueryTooComplex,
        ErrorCode::RateLimited,
        ErrorCode::Unavailable,
        ErrorCode::PersistedQueryNotFound,
        ErrorCode::Internal,
    ];

    /// The code an error carries in `extensions.code`, if it carries one of ours.
    pub fn of(error: &async_graphql::ServerError) -> Option<Self> {
        match error.extensions.as_ref()?.get("code")? {
            Value::String(code) => Self::ALL.into_iter().find(|c| c.as_str() == code),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Redacted => "REDACTED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            ErrorCode::Internal => "INTERNAL",
        }
    }

    /// The HTTP status a plain (non-GraphQL) route answers this code with.
    pub fn http_status(&self) -> u16 {
        match self {
            ErrorCode::BadUserInput => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::Redacted => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::QueryTooComplex => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Unavailable => 503,
            ErrorCode::PersistedQueryNotFound => 400,
            ErrorCode::Internal => 500,
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

    /// The value of an extension member, if set.
    pub fn extension(&self, key: &str) -> Option<&Value> {
        self.extensions.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadUserInput, message)
    }

    pub fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
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
}

/// Gives every error a code (one without is the client's: a query that did not parse or
/// validate), and hides what an internal error says behind the request's id. Every transport
/// calls it on every error it sends.
pub fn classify(error: &mut async_graphql::ServerError, request_id: &str) {
    let code = ErrorCode::of(error);
    let extensions = error.extensions.get_or_insert_with(Default::default);
    match code {
        None => extensions.set("code", ErrorCode::BadUserInput.as_str()),
        Some(ErrorCode::Internal) => {
            error.message = format!("internal error (request id {request_id})");
            extensions.set("requestId", request_id);
        }
        Some(_) => {}
    }
}

/// How a request failed as a whole — refused before it ran (it did not parse or validate, or
/// a limit refused it), or cut short — so that no `data` came back. A field's error is not
/// one: it has a path, and the rest of the data stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestFailure {
    /// The first error's code.
    pub code: ErrorCode,
    /// The request asked a transport that only reads (GET) to run a mutation.
    pub write_refused: bool,
}

impl RequestFailure {
    /// How `response` failed as a whole, if it did (its errors already classified).
    pub fn of(response: &async_graphql::Response, write_refused: bool) -> Option<Self> {
        let failed = response.data == Value::Null
            && !response.errors.is_empty()
            && response.errors.iter().all(|e| e.path.is_empty());
        if !failed {
            return None;
        }
        let code = response.errors.first().and_then(ErrorCode::of);
        Some(Self { code: code.unwrap_or(ErrorCode::BadUserInput), write_refused })
    }
}

/// When the client may retry, the longest any of the response's errors asks it to wait, in
/// seconds (a field's `UNAVAILABLE` as much as a refused request's `RATE_LIMITED`).
pub fn retry_after(response: &async_graphql::Response) -> Option<u64> {
    response
        .errors
        .iter()
        .filter_map(|e| match e.extensions.as_ref()?.get("retryAfter")? {
            Value::Number(n) => n.as_u64(),
            _ => None,
        })
        .max()
}

/// Which limit a request went past, as `extensions.limit` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Tokens,
    TokenLength,
    StringBytes,
    Nesting,
    Depth,
    Fields,
    Aliases,
    Directives,
    ValueDepth,
    Cost,
    TimeMs,
}

impl Limit {
    pub fn as_str(&self) -> &'static str {
        match self {
            Limit::Tokens => "tokens",
            Limit::TokenLength => "tokenLength",
            Limit::StringBytes => "stringBytes",
            Limit::Nesting => "nesting",
            Limit::Depth => "depth",
            Limit::Fields => "fields",
            Limit::Aliases => "aliases",
            Limit::Directives => "directives",
            Limit::ValueDepth => "valueDepth",
            Limit::Cost => "cost",
            Limit::TimeMs => "timeMs",
        }
    }

    fn describe(&self) -> &'static str {
        match self {
            Limit::Tokens => "lexical tokens",
            Limit::TokenLength => "bytes in its longest name or number",
            Limit::StringBytes => {
                "bytes of string values in its text (pass long text in variables)"
            }
            Limit::Nesting => "levels of nesting",
            Limit::Depth => "levels of fields",
            Limit::Fields => "field selections once fragments are expanded",
            Limit::Aliases => "aliases",
            Limit::Directives => "directives",
            Limit::ValueDepth => "levels of lists and objects in a value",
            Limit::Cost => "cost points",
            Limit::TimeMs => "milliseconds of running time",
        }
    }
}

/// A `QUERY_TOO_COMPLEX` error: which limit, its value, and the request's (`actual`, or at
/// least that much when counting stopped there).
pub fn too_complex(limit: Limit, max: u64, actual: u64) -> ApiError {
    ApiError::new(
        ErrorCode::QueryTooComplex,
        format!("the request has {actual} {what}; the limit is {max}", what = limit.describe()),
    )
    .with("limit", limit.as_str())
    .with("max", max)
    .with("actual", actual)
}

/// A `QUERY_TOO_COMPLEX` error for a limit the request passed at a point where counting
/// stopped: its exact value is not known, only that it is over.
pub fn too_complex_at_least(limit: Limit, max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::QueryTooComplex,
        format!("the request has more than {max} {what}", what = limit.describe()),
    )
    .with("limit", limit.as_str())
    .with("max", max)
}

/// What a computation would have cost past the request's budget: `what` names it.
pub fn over_budget(what: &str, over: crate::budget::OverBudget) -> ApiError {
    let refused = too_complex(Limit::Cost, over.max, over.needed);
    ApiError { message: format!("{what}: {}", refused.message), ..refused }
}

impl From<&StoreError> for ApiError {
    fn from(err: &StoreError) -> Self {
        match err {
            StoreError::Invalid(invalid) => invalid.clone().into(),
            StoreError::NotFound(_) => ApiError::new(ErrorCode::NotFound, err.to_string()),
            StoreError::Conflict(conflict) => {
                let error = ApiError::new(ErrorCode::Conflict, err.to_string());
                match conflict {
                    Conflict::HeadMoved { current, .. } => error.with("currentHead", current.hex()),
                    Conflict::SlugTaken(_)
                    | Conflict::CollectionSlugTaken(_)
                    | Conflict::ParentHasChild(_)
                    | Conflict::AlreadyRedacted(_)
                    | Conflict::AlreadyWatched(_)
                    | Conflict::TooManyWatches { .. }
                    | Conflict::EvidenceNeeded
                    | Conflict::LeaseLost(_)
                    | Conflict::LogKeyDiffers { .. } => error,
                }
            }
            StoreError::Redacted(hash) => {
                ApiError::new(ErrorCode::Redacted, err.to_string()).with("revision", hash.hex())
            }
            StoreError::TooLarge { .. } => {
                ApiError::new(ErrorCode::PayloadTooLarge, err.to_string())
            }
            StoreError::OverBudget { what, cause } => {
                let refused = too_complex(Limit::Cost, cause.max, cause.needed);
                ApiError { message: format!("{what}: {}", refused.message), ..refused }
            }
            StoreError::TimedOut { what, limit } => {
                let max = limit.as_millis() as u64;
                let refused = too_complex(Limit::TimeMs, max, max);
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
