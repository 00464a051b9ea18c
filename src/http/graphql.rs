//! GraphQL over HTTP at `/graphql`: POST, and GET for read-only queries in URL parameters or
//! GraphiQL for a browser; the SDL at `/schema.graphql`. The response media type is chosen from
//! `Accept` (`application/graphql-response+json` or `application/json`); a request that cannot
//! be executed gets 400 under the former, a mutation over GET 405, an unsupported body type
//! 415, an unacceptable `Accept` 406, an oversized body 413; a spent rate limit 429 and an
//! unavailable database 503, both with `Retry-After`.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use serde::Deserialize;

use super::middleware::{client_address, rate_limit_headers, request_id};
use super::persisted;
use super::response_cache::Answer;
use super::{AppState, base_url};
use crate::graphql::RequestContext;
use crate::graphql::auth::Credentials;
use crate::graphql::error::ErrorCode;
use crate::memory::{Bound, Held, OverMemory};
use crate::ratelimit::Client;

/// The response media types of GraphQL over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    GraphqlResponseJson,
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks the response type from `Accept`: the acceptable one with the highest quality,
    /// `application/json` for a missing header or wildcards (what legacy clients expect).
    fn negotiate(req: &HttpRequest) -> Option<Media> {
        let Some(accept) = req.headers().get(header::ACCEPT) else {
            return Some(Media::Json);
        };
        let accept = accept.to_str().ok()?;
        let mut best: Option<(f32, Media)> = None;
        for range in accept.split(',') {
            let mut parts = range.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let candidate = match media.as_str() {
                "application/graphql-response+json" => Media::GraphqlResponseJson,
                "application/json" | "application/*" | "*/*" => Media::Json,
                _ => continue,
            };
            if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
                best = Some((quality, candidate));
            }
        }
        best.map(|(_, media)| media)
    }
}

/// A response carrying only request-level errors, in the shape of a GraphQL response.
fn error_response(
    status: StatusCode,
    media: Media,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    HttpResponse::build(status).content_type(media.content_type()).body(body.to_string())
}

/// A request-level error under `application/json`, for routes that negotiate no media type.
pub(super) fn error_response_json(
    status: StatusCode,
    code: ErrorCode,
    message: &str,
) -> HttpResponse {
    error_response(status, Media::Json, code, message)
}

pub(super) fn credentials(req: &HttpRequest) -> Credentials {
    match req.headers().get(header::AUTHORIZATION) {
        None => Credentials::Anonymous,
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) if !token.trim().is_empty() => Credentials::Bearer(token.trim().to_owned()),
            _ => Credentials::Malformed,
        },
    }
}

pub(super) async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> HttpResponse {
    let Some(media) = Media::negotiate(&req) else {
        return not_acceptable();
    };
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_json = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            media,
            ErrorCode::BadUserInput,
            "POST /graphql takes a body of Content-Type application/json",
        );
    }
    let too_large = || {
        error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            ErrorCode::PayloadTooLarge,
            &format!("the request body is larger than {} bytes", state.max_body_bytes),
        )
    };
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|len| len > state.max_body_bytes) {
        return too_large();
    }
    // The body is held from the client's share of the server's memory while it is read and
    // until the request ends.
    let account = state.memory.account(client_address(&req, state.trust_forwarded));
    let mut held = Held::default();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                "the request body could not be read",
            );
        };
        if body.len() + chunk.len() > state.max_body_bytes {
            return too_large();
        }
        if let Err(refused) = account.try_grow(&mut held, chunk.len()) {
            return memory_spent(media, refused);
        }
        body.extend_from_slice(&chunk);
    }
    if json_values(&body) > state.max_json_values {
        return error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            media,
            ErrorCode::PayloadTooLarge,
            &format!("the request body holds more than {} JSON values", state.max_json_values),
        );
    }
    let mut request: async_graphql::Request = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(err) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                &format!("the request body is not a GraphQL request in JSON: {err}"),
            );
        }
    };
    if let Some(extension) = request.extensions.remove("persistedQuery") {
        let extension = extension.into_json().unwrap_or_default();
        let query = std::mem::take(&mut request.query);
        let address = client_address(&req, state.trust_forwarded);
        match state.persisted.resolve(Some(query), Some(&extension), address) {
            Ok(query) => request.query = query.unwrap_or_default(),
            Err(refused) => return persisted_refused(media, refused),
        }
    }
    if request.query.trim().is_empty() {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            ErrorCode::BadUserInput,
            "the request has no `query`",
        );
    }
    execute(&state, &req, request, media, Raw::Body(&body)).await
}

#[derive(Deserialize)]
pub(super) struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    /// JSON, as Apollo's links send it: `{"persistedQuery":{"version":1,"sha256Hash":…}}`.
    extensions: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

pub(super) async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<GetParams>,
) -> HttpResponse {
    let params = params.into_inner();
    let query = match params.extensions.as_deref().map(serde_json::from_str::<serde_json::Value>) {
        None => params.query,
        Some(Ok(extensions)) if extensions.is_object() => {
            let media = Media::negotiate(&req).unwrap_or(Media::Json);
            let address = client_address(&req, state.trust_forwarded);
            match state.persisted.resolve(params.query, extensions.get("persistedQuery"), address) {
                Ok(query) => query,
                Err(refused) => return persisted_refused(media, refused),
            }
        }
        Some(_) => {
            return error_response(
                StatusCode::BAD_REQUEST,
                Media::negotiate(&req).unwrap_or(Media::Json),
                ErrorCode::BadUserInput,
                "the `extensions` parameter must be a JSON object",
            );
        }
    };
    let Some(query) = query else {
        let wants_html = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        if wants_html {
            return super::graphiql::page();
        }
        return error_response(
            StatusCode::BAD_REQUEST,
            Media::negotiate(&req).unwrap_or(Media::Json),
            ErrorCode::BadUserInput,
            "GET /graphql needs a `query` parameter (or Accept: text/html for GraphiQL)",
        );
    };
    let Some(media) = Media::negotiate(&req) else {
        return not_acceptable();
    };
    if state.graphql.selects_mutation(&query, params.operation_name.as_deref()) {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            media,
            ErrorCode::BadUserInput,
            "mutations are only accepted over POST",
        );
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("POST"));
        return response;
    }
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&variables) {
            Ok(value) if value.is_object() => {
                request = request.variables(async_graphql::Variables::from_json(value));
            }
            _ => {
                return error_response(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    "the `variables` parameter must be a JSON object",
                );
            }
        }
    }
    execute(&state, &req, request, media, Raw::Query(req.query_string())).await
}

/// A persisted-query request that cannot run. Not found is answered 200 under
/// `application/json`, where Apollo's link reads it and retries with the query; under
/// `application/graphql-response+json` a request error is a 4xx, as that media type requires.
fn persisted_refused(media: Media, refused: persisted::Refused) -> HttpResponse {
    match refused {
        persisted::Refused::NotFound => {
            let status = match media {
                Media::Json => StatusCode::OK,
                _ => StatusCode::BAD_REQUEST,
            };
            error_response(
                status,
                media,
                ErrorCode::PersistedQueryNotFound,
                "PersistedQueryNotFound",
            )
        }
        persisted::Refused::Invalid(why) => {
            error_response(StatusCode::BAD_REQUEST, media, ErrorCode::BadUserInput, &why)
        }
    }
}

/// A body that cannot be held now: the server holds as much of what clients sent as it may
/// (from this address, or from everyone). Nothing was read of it; the client may retry.
fn memory_spent(media: Media, refused: OverMemory) -> HttpResponse {
    let whose = match refused.bound {
        Bound::Connection | Bound::Address => "this client's",
        Bound::Total => "all clients'",
    };
    let mut response = error_response(
        StatusCode::SERVICE_UNAVAILABLE,
        media,
        ErrorCode::Unavailable,
        &format!(
            "the server holds as much of {whose} requests as it may ({} bytes); retry shortly",
            refused.limit
        ),
    );
    response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(1));
    response
}

fn not_acceptable() -> HttpResponse {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        ErrorCode::BadUserInput,
        "Accept must allow application/graphql-response+json or application/json",
    )
}

/// A request as it arrived: what identifies it to the response cache and what its admission
/// to the rate limit is charged by.
#[derive(Clone, Copy)]
enum Raw<'a> {
    Body(&'a [u8]),
    Query(&'a str),
}

impl Raw<'_> {
    fn len(self) -> usize {
        match self {
            Raw::Body(body) => body.len(),
            Raw::Query(query) => query.len(),
        }
    }

    /// The response cache's key: everything the answer depends on besides the database. The
    /// media type is not among them, since only answers that are the same under both are kept.
    fn cache_key(self, base_url: &str) -> Vec<u8> {
        let (method, bytes) = match self {
            Raw::Body(body) => (b'P', body),
            Raw::Query(query) => (b'G', query.as_bytes()),
        };
        let mut key = Vec::with_capacity(base_url.len() + bytes.len() + 2);
        key.extend_from_slice(base_url.as_bytes());
        key.push(0);
        key.push(method);
        key.extend_from_slice(bytes);
        key
    }
}

async fn execute(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    media: Media,
    raw: Raw<'_>,
) -> HttpResponse {
    let credentials = credentials(req);
    let base_url = base_url(req);
    let client_address = client_address(req, state.trust_forwarded);
    // Kept answers are for requests without credentials, filed under the database's state.
    let mut kept = None;
    if let (Some(cache), Credentials::Anonymous) = (&state.responses, &credentials) {
        match state.store.change_marker().await {
            Ok(Some(marker)) => {
                let key = raw.cache_key(&base_url);
                if let Some(answer) = cache.get(&marker, &key)
                    && let Some(response) = replay(state, client_address, media, answer)
                {
                    return response;
                }
                kept = Some((cache, marker, key));
            }
            Ok(None) => {}
            // The request runs as if there were no cache; running it reports an outage.
            Err(err) => tracing::debug!(error = %err, "cannot read the change marker"),
        }
    }
    let request_id = request_id().unwrap_or_default();
    let context = RequestContext {
        credentials,
        base_url,
        client_address,
        request_bytes: raw.len() as u64,
        request_id: Some(request_id.clone()).filter(|id| !id.is_empty()),
    };
    let (mut response, cost) = state.graphql.execute(request, context).await;
    for error in &mut response.errors {
        classify_error(error, &request_id);
    }
    // A request error (the document did not parse or validate, was refused by a limit, or
    // ran out of time, so no data came back) has no `data`. Field errors always carry a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let first_code = response.errors.first().and_then(error_code);
    let status = match (request_error, first_code.as_deref(), media) {
        (true, Some("RATE_LIMITED"), _) => StatusCode::TOO_MANY_REQUESTS,
        (true, Some("UNAVAILABLE"), _) => StatusCode::SERVICE_UNAVAILABLE,
        (true, _, Media::GraphqlResponseJson) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let retry_after = response.errors.iter().filter_map(retry_after_of).max();
    let body = if request_error {
        serde_json::json!({ "errors": response.errors }).to_string()
    } else {
        match serde_json::to_string(&response) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "cannot serialise a response");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    media,
                    ErrorCode::Internal,
                    &format!("internal error (request id {request_id})"),
                );
            }
        }
    };
    if body.len() > state.max_response_bytes {
        let max = state.max_response_bytes;
        let error = serde_json::json!({ "errors": [{
            "message": format!("the response would be {} bytes; the limit is {max}", body.len()),
            "extensions": {
                "code": ErrorCode::QueryTooComplex.as_str(),
                "limit": "responseBytes", "max": max, "actual": body.len(),
            }
        }]});
        let status = match media {
            Media::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            Media::Json => StatusCode::OK,
        };
        return HttpResponse::build(status)
            .content_type(media.content_type())
            .body(error.to_string());
    }
    let kept = kept
        .filter(|_| response.errors.is_empty() && status == StatusCode::OK)
        .filter(|_| cost.answer_is_shareable());
    let mut body = body;
    if kept.is_some() {
        // A kept body holds its allocation for as long as it is kept: only what it needs.
        body.shrink_to_fit();
    }
    let body = web::Bytes::from(body);
    if let Some((cache, marker, key)) = kept {
        let charged = cost.rate_limit().map_or(0, |status| status.cost);
        cache.put(marker, &key, Answer { body: body.clone(), charged, debt: cost.debt() });
    }
    let mut builder = HttpResponse::build(status);
    builder.content_type(media.content_type());
    if let Some(seconds) = retry_after {
        builder.insert_header((header::RETRY_AFTER, seconds));
    }
    let mut http_response = builder.body(body);
    if let Some(status) = cost.rate_limit() {
        rate_limit_headers(http_response.headers_mut(), &status);
    } else if first_code.as_deref() == Some("RATE_LIMITED") {
        http_response.headers_mut().insert(
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderValue::from(0),
        );
    }
    http_response
}

/// A kept answer, charged to the client's rate limit as running it was (its charge before
/// running, then its debt); `None` when the client cannot afford it (running the request then
/// refuses it, saying why).
fn replay(
    state: &AppState,
    client_address: Option<std::net::IpAddr>,
    media: Media,
    answer: Answer,
) -> Option<HttpResponse> {
    let client = client_address.map(Client::address);
    let charged = client.and_then(|client| state.rate_limiter.charge(client, answer.charged));
    let mut response = HttpResponse::Ok().content_type(media.content_type()).body(answer.body);
    match charged {
        None => {}
        Some(Ok(status)) => rate_limit_headers(response.headers_mut(), &status),
        Some(Err(_)) => return None,
    }
    if let Some(client) = client {
        state.rate_limiter.charge_debt(client, answer.debt);
    }
    Some(response)
}

fn error_code(error: &async_graphql::ServerError) -> Option<String> {
    match error.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(code) => Some(code.clone()),
        _ => None,
    }
}

/// The seconds an error asks the client to wait before retrying, if it asks.
fn retry_after_of(error: &async_graphql::ServerError) -> Option<u64> {
    match error.extensions.as_ref()?.get("retryAfter")? {
        async_graphql::Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Gives every error a code: ours carry one already; the rest come from parsing, validation
/// and input coercion (BAD_USER_INPUT). Internal errors get the request id and nothing else.
/// Gives every error a code (one without is the client's: a query that did not parse or
/// validate), and hides what an internal error says behind its request id.
pub(super) fn classify_error(error: &mut async_graphql::ServerError, request_id: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    let code = match extensions.get("code") {
        Some(async_graphql::Value::String(code)) => code.clone(),
        _ => {
            extensions.set("code", ErrorCode::BadUserInput.as_str());
            ErrorCode::BadUserInput.as_str().to_owned()
        }
    };
    if code == ErrorCode::Internal.as_str() {
        error.message = format!("internal error (request id {request_id})");
        extensions.set("requestId", request_id);
    }
}

pub(super) async fn schema_sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(state.sdl.clone())
}

/// About how many values a JSON text holds (one per comma and per list or object, strings
/// skipped), counted without parsing it.
fn json_values(body: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b',' | b'[' | b'{' => count += 1,
            _ => {}
        }
    }
    count
}
