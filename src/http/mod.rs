//! The actix-web application: GraphQL over HTTP at `/graphql` (POST; GET for GraphiQL and
//! read-only queries in URL parameters), the SDL at `/schema.graphql`, and `/healthz`.
//!
//! `/graphql` follows the GraphQL-over-HTTP specification: the response media type is chosen
//! from `Accept` (`application/graphql-response+json` or `application/json`), a request that
//! cannot be executed gets 400 under the former, a mutation over GET gets 405, an unsupported
//! body type 415, an unacceptable `Accept` 406, an oversized body 413.
//!
//! `memento` serves each document's texts over time (RFC 7089).

mod exports;
mod memento;
mod plain;

use std::net::{IpAddr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::GraphiQLSource;
use futures_util::StreamExt;
use serde::Deserialize;
use tracing::Instrument;

use crate::graphql::auth::Credentials;
use crate::graphql::error::ErrorCode;
use crate::graphql::limits::QueryLimits;
use crate::graphql::{GraphqlService, RequestContext};
use crate::ratelimit::{Client, RateLimitSettings, RateLimitStatus, RateLimiter};
use crate::store::Store;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest response body sent, in bytes; a larger one is replaced by an error.
    pub max_response_bytes: usize,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// The public base URL (`https://corpus.example.org`) permanent links are built on.
    /// Without it, links are built on the address the server listens on, never on anything a
    /// client sends, unless `trust_forwarded` is set.
    pub public_url: Option<String>,
    /// Whether `Forwarded`, `X-Forwarded-For/-Host/-Proto` and `Host` come from a proxy the
    /// operator trusts: then links without `public_url` follow them, and the client address
    /// for rate limits is the forwarded one.
    pub trust_forwarded: bool,
    pub limits: QueryLimits,
    pub rate_limits: RateLimitSettings,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            max_body_bytes: 10 * 1024 * 1024,
            max_response_bytes: 64 * 1024 * 1024,
            workers: None,
            public_url: None,
            trust_forwarded: false,
            limits: QueryLimits::default(),
            rate_limits: RateLimitSettings::default(),
        }
    }
}

/// Where permanent links point.
enum Links {
    /// A base URL fixed at start-up.
    Fixed(String),
    /// The scheme and host a trusted proxy forwarded.
    Forwarded,
}

pub(crate) struct AppState {
    graphql: GraphqlService,
    store: Store,
    sdl: String,
    max_body_bytes: usize,
    max_response_bytes: usize,
    links: Links,
    trust_forwarded: bool,
    rate_limiter: Arc<RateLimiter>,
}

/// The server, bound and ready to run.
pub struct Application {
    port: u16,
    server: actix_web::dev::Server,
}

impl Application {
    /// Binds the listener and builds the server around an injected store, so that tests can
    /// run it on port 0 over a database of their own.
    pub fn build(settings: &HttpSettings, store: Store) -> anyhow::Result<Self> {
        use anyhow::Context;
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("cannot listen on {}", settings.bind))?;
        let local = listener.local_addr()?;
        let links = match (&settings.public_url, settings.trust_forwarded) {
            (Some(url), _) => Links::Fixed(url.trim_end_matches('/').to_owned()),
            (None, true) => Links::Forwarded,
            (None, false) => Links::Fixed(listening_url(local)),
        };
        let rate_limiter = Arc::new(RateLimiter::new(settings.rate_limits));
        let state = web::Data::new(AppState {
            graphql: GraphqlService::new(store.clone(), settings.limits, rate_limiter.clone()),
            store,
            sdl: crate::graphql::sdl(),
            max_body_bytes: settings.max_body_bytes,
            max_response_bytes: settings.max_response_bytes,
            links,
            trust_forwarded: settings.trust_forwarded,
            rate_limiter,
        });
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(state.clone())
                .app_data(web::QueryConfig::default().error_handler(bad_parameters))
                .app_data(web::PathConfig::default().error_handler(bad_parameters))
                .configure(routes)
                .default_service(web::to(no_route))
                .wrap(from_fn(request_context))
        })
        .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self { port: local.port(), server: server.run() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// `http://host:port` for the address the server listens on; a wildcard address becomes
/// `localhost`, since it names no host a client could use.
fn listening_url(local: SocketAddr) -> String {
    match local.ip() {
        ip if ip.is_unspecified() => format!("http://localhost:{}", local.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}", local.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}", local.port()),
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql_post))
        .route("/graphql", web::get().to(graphql_get))
        .route("/schema.graphql", web::get().to(schema_sdl))
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .service(
            web::scope("/documents")
                .wrap(from_fn(rate_limit_plain))
                .route("/{slug}/text", web::get().to(memento::original))
                .route("/{slug}/timemap", web::get().to(memento::timemap))
                .route("/{slug}/revisions/{hash}/text", web::get().to(memento::memento))
                .route("/{slug}", web::get().to(exports::document_page))
                .route("/{slug}/revisions/{hash}", web::get().to(exports::revision_page))
                .route("/{slug}/cite", web::get().to(exports::cite))
                .route("/{slug}/provenance", web::get().to(exports::provenance)),
        )
        .service(
            web::resource("/cite")
                .wrap(from_fn(rate_limit_plain))
                .route(web::get().to(exports::cite_list)),
        );
}

/// The Content-Security-Policy of the HTML pages: they load nothing and may not be framed.
pub(crate) const PAGE_CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// GraphiQL's page loads its scripts and styles from unpkg.com and talks to this origin.
const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'unsafe-inline' https://unpkg.com; \
     style-src 'unsafe-inline' https://unpkg.com; img-src https://graphql.org data:; \
     font-src https://unpkg.com data:; connect-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'none'";

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, as its `x-request-id` header and the log carry it.
pub(crate) fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Gives every request an id (in the log span, in `x-request-id`, and to errors that carry
/// one) and every response the headers that keep browsers from misreading it.
async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let span = tracing::info_span!("request", request_id = %id);
    let forwarded_links = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| matches!(state.links, Links::Forwarded));
    let mut response = REQUEST_ID.scope(id.clone(), next.call(req).instrument(span)).await?;
    let headers = response.headers_mut();
    if let Ok(value) = header::HeaderValue::from_str(&id) {
        headers.insert(header::HeaderName::from_static("x-request-id"), value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, header::HeaderValue::from_static("nosniff"));
    if forwarded_links {
        // Links in the body follow these headers, so caches must key on them.
        headers.append(
            header::VARY,
            header::HeaderValue::from_static(
                "Host, Forwarded, X-Forwarded-Host, X-Forwarded-Proto",
            ),
        );
    }
    Ok(response)
}

/// Points each plain (non-GraphQL) request costs the client's rate limit.
const PLAIN_ROUTE_COST: u64 = 10;

/// Charges plain routes to the client's address, as GraphQL charges its queries.
async fn rate_limit_plain(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let charged = req.app_data::<web::Data<AppState>>().and_then(|state| {
        let address = client_address(req.request(), state.trust_forwarded)?;
        state.rate_limiter.charge(Client::address(address), PLAIN_ROUTE_COST)
    });
    match charged {
        Some(Err(refused)) => {
            let retry_after = refused.retry_after.as_secs_f64().ceil().max(1.0) as u64;
            let response = HttpResponse::TooManyRequests()
                .content_type("text/plain; charset=utf-8")
                .insert_header((header::RETRY_AFTER, retry_after))
                .insert_header(("x-ratelimit-limit", refused.limit))
                .insert_header(("x-ratelimit-remaining", 0))
                .body(format!("the rate limit is spent; retry in {retry_after} s\n"));
            Ok(req.into_response(response))
        }
        Some(Ok(status)) => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            rate_limit_headers(response.headers_mut(), &status);
            Ok(response)
        }
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

fn rate_limit_headers(headers: &mut header::HeaderMap, status: &RateLimitStatus) {
    let reset = status
        .reset_at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs_f64().ceil() as u64);
    for (name, value) in [
        ("x-ratelimit-limit", status.limit),
        ("x-ratelimit-remaining", status.remaining),
        ("x-ratelimit-used", status.limit.saturating_sub(status.remaining)),
        ("x-ratelimit-reset", reset),
    ] {
        headers.insert(header::HeaderName::from_static(name), header::HeaderValue::from(value));
    }
}

/// The address a request is counted under: the peer, or with trusted proxies the client
/// they forwarded for.
fn client_address(req: &HttpRequest, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded
        && let Some(real) = req.connection_info().realip_remote_addr()
        && let Ok(address) = real.parse::<SocketAddr>().map(|a| a.ip()).or_else(|_| real.parse())
    {
        return Some(address);
    }
    req.peer_addr().map(|a| a.ip())
}

/// Bad path or query parameters, as a plain-text 400 that says what was wrong.
fn bad_parameters(err: impl std::fmt::Display, _req: &HttpRequest) -> actix_web::Error {
    let message = format!("bad request parameters: {err}\n");
    actix_web::error::InternalError::from_response(
        message.clone(),
        HttpResponse::BadRequest().content_type("text/plain; charset=utf-8").body(message),
    )
    .into()
}

async fn no_route(req: HttpRequest) -> HttpResponse {
    let status = if req.method() == actix_web::http::Method::GET
        || req.method() == actix_web::http::Method::HEAD
    {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    HttpResponse::build(status)
        .content_type("text/plain; charset=utf-8")
        .body(format!("no route for {} here; see /graphql\n", req.method()))
}

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

/// The base URL for absolute links: fixed at start-up, or (with trusted proxies only) the
/// scheme and host the proxy forwarded.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    match req.app_data::<web::Data<AppState>>().map(|state| &state.links) {
        Some(Links::Fixed(url)) => url.clone(),
        _ => {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        }
    }
}

fn credentials(req: &HttpRequest) -> Credentials {
    match req.headers().get(header::AUTHORIZATION) {
        None => Credentials::Anonymous,
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) if !token.trim().is_empty() => Credentials::Bearer(token.trim().to_owned()),
            _ => Credentials::Malformed,
        },
    }
}

async fn graphql_post(
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
        body.extend_from_slice(&chunk);
    }
    let request: async_graphql::Request = match serde_json::from_slice(&body) {
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
    if request.query.trim().is_empty() {
        return error_response(
            StatusCode::BAD_REQUEST,
            media,
            ErrorCode::BadUserInput,
            "the request has no `query`",
        );
    }
    execute(&state, &req, request, media).await
}

#[derive(Deserialize)]
struct GetParams {
    query: Option<String>,
    variables: Option<String>,
    #[serde(rename = "operationName")]
    operation_name: Option<String>,
}

async fn graphql_get(
    state: web::Data<AppState>,
    req: HttpRequest,
    params: web::Query<GetParams>,
) -> HttpResponse {
    let params = params.into_inner();
    let Some(query) = params.query else {
        let wants_html = req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
        if wants_html {
            let page = GraphiQLSource::build().endpoint("/graphql").title("Palimpsest").finish();
            return HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
                .insert_header((header::X_FRAME_OPTIONS, "DENY"))
                .body(page);
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
    execute(&state, &req, request, media).await
}

fn not_acceptable() -> HttpResponse {
    error_response(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        ErrorCode::BadUserInput,
        "Accept must allow application/graphql-response+json or application/json",
    )
}

async fn execute(
    state: &AppState,
    req: &HttpRequest,
    request: async_graphql::Request,
    media: Media,
) -> HttpResponse {
    let request_id = request_id().unwrap_or_default();
    let context = RequestContext {
        credentials: credentials(req),
        base_url: base_url(req),
        client_address: client_address(req, state.trust_forwarded),
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
fn classify_error(error: &mut async_graphql::ServerError, request_id: &str) {
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

async fn schema_sdl(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(state.sdl.clone())
}

/// Liveness: the process serves requests. It says nothing of the database (see `readyz`), so
/// that an orchestrator does not restart a healthy server for a database outage.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers. 503 with `Retry-After` while it does not.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let reason = match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {
            return HttpResponse::Ok()
                .content_type("application/json")
                .body(r#"{"status":"ready"}"#);
        }
        Ok(Err(err)) => {
            tracing::warn!(error = format!("{err:#}"), "not ready");
            "the database is unavailable"
        }
        Err(_) => "the database did not answer in time",
    };
    HttpResponse::ServiceUnavailable()
        .content_type("application/json")
        .insert_header((header::RETRY_AFTER, crate::store::RETRY_AFTER_UNAVAILABLE.as_secs()))
        .body(serde_json::json!({ "status": "unavailable", "reason": reason }).to_string())
}
