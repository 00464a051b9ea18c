//! GraphQL over HTTP at `/graphql`: POST, and GET for read-only queries in URL parameters or
//! GraphiQL for a browser; the SDL at `/schema.graphql`. The response media type is chosen from
//! `Accept` (`application/graphql-response+json` or `application/json`); a request that cannot
//! be executed gets 400 under the former, a mutation over GET 405, an unsupported body type
//! 415, an unacceptable `Accept` 406, an oversized body 413; a spent rate limit 429 and an
//! unavailable database 503, both with `Retry-After`. Reading the body is `body`, the media
//! type and refusals `media`; what a request means (its codes, cost, whether it wrote) is the
//! GraphQL service's to say (`Executed`), and this module turns it into HTTP.

mod body;
mod media;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use self::body::GraphqlPost;
pub(super) use self::media::{Media, refusal};
use self::media::{not_acceptable, persisted_refused};
use super::middleware::{client_address, rate_limit_headers, request_id};
use super::response_cache::Answer;
use super::{AppState, base_url};
use crate::graphql::auth::Credentials;
use crate::graphql::context::ReadChoice;
use crate::graphql::error::{self, ErrorCode, RequestFailure};
use crate::graphql::{Executed, RequestContext};
use crate::ratelimit::{Charge, Client};
use crate::store::{ConsistencyToken, Timestamp};
use std::sync::Arc;

pub(super) async fn post(
    state: web::Data<AppState>,
    req: HttpRequest,
    credentials: Credentials,
    post: GraphqlPost,
) -> HttpResponse {
    let raw = Raw::Body(&post.body);
    execute(&state, &req, credentials, post.request, post.media, raw).await
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
    credentials: Credentials,
    params: web::Query<GetParams>,
) -> HttpResponse {
    let params = params.into_inner();
    let refused_as = |message: &str| {
        let media = Media::negotiate(&req).unwrap_or(Media::Json);
        refusal(StatusCode::BAD_REQUEST, media, ErrorCode::BadUserInput, message)
    };
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
        Some(_) => return refused_as("the `extensions` parameter must be a JSON object"),
    };
    let Some(query) = query else {
        if super::plain::prefers_html(&req) {
            return super::graphiql::page();
        }
        return refused_as(
            "GET /graphql needs a `query` parameter (or Accept: text/html for GraphiQL)",
        );
    };
    let Some(media) = Media::negotiate(&req) else {
        return not_acceptable();
    };
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(variables) = params.variables {
        match serde_json::from_str::<serde_json::Value>(&variables) {
            Ok(value) if value.is_object() => {
                request = request.variables(async_graphql::Variables::from_json(value));
            }
            _ => return refused_as("the `variables` parameter must be a JSON object"),
        }
    }
    execute(&state, &req, credentials, request, media, Raw::Query(req.query_string())).await
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

/// Runs a request (or replays the answer kept for it) and answers it over HTTP: the status
/// from how it failed, if it did, `Retry-After`, the rate-limit headers, and the body.
async fn execute(
    state: &AppState,
    req: &HttpRequest,
    credentials: Credentials,
    request: async_graphql::Request,
    media: Media,
    raw: Raw<'_>,
) -> HttpResponse {
    let base_url = base_url(req);
    let client_address = client_address(req, state.trust_forwarded);
    // With read replicas, a request that only reads may be answered by one (`ReadChoice`):
    // one that has replayed the write the client names, if it names one.
    let choice = if state.store.has_replicas() {
        let token = match consistency_token(req, &request) {
            Ok(token) => token,
            Err(message) => {
                return refusal(StatusCode::BAD_REQUEST, media, ErrorCode::BadUserInput, message);
            }
        };
        Some(Arc::new(ReadChoice::new(state.store.route_read(token))))
    } else {
        None
    };
    // The database the answer is read from, which the cache's marker must come from too.
    let reads = choice.as_ref().map_or(&state.store, |c| c.route_store());
    // Kept answers are for requests without credentials, filed under the database's state.
    let began = Timestamp::now();
    let mut kept = None;
    if let (Some(cache), Credentials::Anonymous) = (&state.responses, &credentials) {
        match reads.change_marker().await {
            Ok(Some(marker)) => {
                let key = raw.cache_key(&base_url);
                if let Some(answer) = cache.get(reads, &marker, &key).await
                    && let Some(mut response) = replay(state, client_address, media, answer)
                {
                    if let Some(staleness) = choice.as_ref().and_then(|c| c.route_staleness()) {
                        staleness_header(response.headers_mut(), staleness);
                    }
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
        read_only: matches!(raw, Raw::Query(_)),
        read_choice: choice.clone(),
    };
    let executed = state.graphql.execute(request, context).await;
    let failure = executed.failure();
    let shareable = executed.shareable();
    let status = status_of(failure.as_ref(), media);
    let Executed { mut response, cost, reads } = executed;
    let staleness = choice.as_ref().and_then(|c| c.staleness());
    if let Some(choice) = choice.as_ref().filter(|_| staleness.is_some())
        && response.errors.iter().any(|e| ErrorCode::of(e) == Some(ErrorCode::Unavailable))
    {
        state.store.replica_failed(choice.route());
    }
    let mut consistency = None;
    if choice.as_ref().is_some_and(|c| c.wrote()) && failure.is_none() {
        // Taken after the mutations committed: a read presenting it sees them.
        match state.store.consistency_token().await {
            Ok(Some(token)) => {
                let token = token.to_string();
                response
                    .extensions
                    .insert("consistency".to_owned(), async_graphql::Value::String(token.clone()));
                consistency = Some(token);
            }
            Ok(None) => {}
            Err(err) => tracing::warn!(error = %err, "cannot read the consistency token"),
        }
    }
    let retry_after = error::retry_after(&response);
    let body = if failure.is_some() {
        serde_json::json!({ "errors": response.errors }).to_string().into_bytes()
    } else {
        // Sized for most answers up front: grown from serde_json's 128 bytes, a page of 50
        // documents (23 KB) was copied into a larger buffer eight times as it was written.
        let mut body = Vec::with_capacity(RESPONSE_BUFFER_BYTES);
        match serde_json::to_writer(&mut body, &response).map(|()| body) {
            Ok(body) => body,
            Err(err) => {
                tracing::error!(error = %err, "cannot serialise a response");
                return refusal(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    media,
                    ErrorCode::Internal,
                    &format!("internal error (request id {request_id})"),
                );
            }
        }
    };
    if body.len() > state.max_response_bytes {
        return too_large(media, body.len(), state.max_response_bytes);
    }
    let kept = kept
        .filter(|_| response.errors.is_empty() && status == StatusCode::OK)
        .filter(|_| shareable);
    let mut body = body;
    if kept.is_some() {
        // A kept body holds its allocation for as long as it is kept: only what it needs.
        body.shrink_to_fit();
    }
    let body = web::Bytes::from(body);
    if let Some((cache, marker, key)) = kept {
        let charged = cost.rate_limit().map_or(0, |status| status.cost);
        let answer = Answer { body: body.clone(), charged, debt: cost.debt() };
        cache.put(&marker, began, &key, answer, reads.reads());
    }
    let mut builder = HttpResponse::build(status);
    builder.content_type(media.content_type());
    if let Some(seconds) = retry_after {
        builder.insert_header((header::RETRY_AFTER, seconds));
    }
    if status == StatusCode::METHOD_NOT_ALLOWED {
        builder.insert_header((header::ALLOW, "POST"));
    }
    // How old a replica's answer may be goes in a header only: the body may be kept and
    // replayed later, when the replica may be fresher or staler.
    if let Some(staleness) = staleness {
        builder.insert_header((STALENESS_HEADER, staleness.as_millis().to_string()));
    }
    if let Some(token) = consistency {
        builder.insert_header((CONSISTENCY_HEADER, token));
    }
    let mut http_response = builder.body(body);
    if let Some(status) = cost.rate_limit() {
        rate_limit_headers(http_response.headers_mut(), &status);
    } else if failure.is_some_and(|f| f.code == ErrorCode::RateLimited) {
        http_response.headers_mut().insert(
            header::HeaderName::from_static("x-ratelimit-remaining"),
            header::HeaderValue::from(0),
        );
    }
    http_response
}

/// The header a write's answer carries its consistency token in, and a read presents it in.
const CONSISTENCY_HEADER: &str = "palimpsest-consistency";

/// The buffer an answer is written into to begin with (it grows as needed).
const RESPONSE_BUFFER_BYTES: usize = 16 * 1024;

/// The header a replica's answer says how old it may be in, in milliseconds.
const STALENESS_HEADER: &str = "palimpsest-staleness-ms";

/// The consistency token the request presents, in its header or in its `extensions`; an
/// error message for one this server did not hand out.
fn consistency_token(
    req: &HttpRequest,
    request: &async_graphql::Request,
) -> Result<Option<ConsistencyToken>, &'static str> {
    let from_header = req.headers().get(CONSISTENCY_HEADER).map(|v| v.to_str().unwrap_or(""));
    let from_extensions = match request.extensions.get("consistency") {
        None => None,
        Some(async_graphql::Value::String(text)) => Some(text.as_str()),
        Some(_) => return Err("extensions.consistency must be the string a mutation handed out"),
    };
    match from_header.or(from_extensions) {
        None => Ok(None),
        Some(text) => ConsistencyToken::parse(text).map(Some).ok_or(
            "the consistency token is not one this server hands out (`v1.` and 16 hex digits)",
        ),
    }
}

fn staleness_header(headers: &mut header::HeaderMap, staleness: std::time::Duration) {
    if let Ok(value) = header::HeaderValue::from_str(&staleness.as_millis().to_string()) {
        headers.insert(header::HeaderName::from_static(STALENESS_HEADER), value);
    }
}

/// The status of an answer: 200 for one with data (field errors included); for a request
/// that failed as a whole, what its code means over HTTP — and, under
/// `application/graphql-response+json`, 400 for the rest, as that media type requires.
fn status_of(failure: Option<&RequestFailure>, media: Media) -> StatusCode {
    let Some(failure) = failure else { return StatusCode::OK };
    match (failure.code, media) {
        _ if failure.write_refused => StatusCode::METHOD_NOT_ALLOWED,
        (ErrorCode::RateLimited, _) => StatusCode::TOO_MANY_REQUESTS,
        (ErrorCode::Unavailable, _) => StatusCode::SERVICE_UNAVAILABLE,
        (_, Media::GraphqlResponseJson) => StatusCode::BAD_REQUEST,
        (_, Media::Json) => StatusCode::OK,
    }
}

/// An answer larger than a response may be, replaced by the error that says so.
fn too_large(media: Media, bytes: usize, max: usize) -> HttpResponse {
    let error = serde_json::json!({ "errors": [{
        "message": format!("the response would be {bytes} bytes; the limit is {max}"),
        "extensions": {
            "code": ErrorCode::QueryTooComplex.as_str(),
            "limit": "responseBytes", "max": max, "actual": bytes,
        }
    }]});
    let status = match media {
        Media::GraphqlResponseJson => StatusCode::BAD_REQUEST,
        Media::Json => StatusCode::OK,
    };
    HttpResponse::build(status).content_type(media.content_type()).body(error.to_string())
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
    let charged = client
        .and_then(|client| state.rate_limiter.charge(client, Charge::Replayed(answer.charged)));
    let mut response = HttpResponse::Ok().content_type(media.content_type()).body(answer.body);
    match charged {
        None => {}
        Some(Ok(status)) => rate_limit_headers(response.headers_mut(), &status),
        Some(Err(_)) => return None,
    }
    if let Some(client) = client {
        state.rate_limiter.charge(client, Charge::Overrun(answer.debt));
    }
    Some(response)
}

pub(super) async fn schema_sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(state.sdl.clone())
}
