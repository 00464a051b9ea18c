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

use std::net::TcpListener;

use actix_web::http::{StatusCode, header};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use futures_util::StreamExt;
use serde::Deserialize;
use tracing::Instrument;

use crate::graphql::auth::{Credentials, RequestAuth};
use crate::graphql::error::ErrorCode;
use crate::graphql::{AppSchema, build_schema, loaders};
use crate::store::Store;

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Address to listen on; port 0 picks a free port.
    pub bind: String,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// The public base URL (`https://corpus.example.org`) permanent links are built on;
    /// `None` to use the scheme and host each request was made to.
    pub public_url: Option<String>,
}

pub(crate) struct AppState {
    schema: AppSchema,
    store: Store,
    sdl: String,
    max_body_bytes: usize,
    public_url: Option<String>,
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
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            schema: build_schema(store.clone()),
            store,
            sdl: crate::graphql::sdl(),
            max_body_bytes: settings.max_body_bytes,
            public_url: settings.public_url.as_ref().map(|u| u.trim_end_matches('/').to_owned()),
        });
        let mut server =
            HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
                .listen(listener)?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Self { port, server: server.run() })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::post().to(graphql_post))
        .route("/graphql", web::get().to(graphql_get))
        .route("/schema.graphql", web::get().to(schema_sdl))
        .route("/healthz", web::get().to(healthz))
        .route("/documents/{slug}/text", web::get().to(memento::original))
        .route("/documents/{slug}/timemap", web::get().to(memento::timemap))
        .route("/documents/{slug}/revisions/{hash}/text", web::get().to(memento::memento))
        .route("/documents/{slug}", web::get().to(exports::document_page))
        .route("/documents/{slug}/revisions/{hash}", web::get().to(exports::revision_page))
        .route("/documents/{slug}/cite", web::get().to(exports::cite))
        .route("/documents/{slug}/provenance", web::get().to(exports::provenance))
        .route("/cite", web::get().to(exports::cite_list));
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

/// The base URL for absolute links: the configured public URL, else the scheme and host the
/// request was made to.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    if let Some(url) = req.app_data::<web::Data<AppState>>().and_then(|s| s.public_url.clone()) {
        return url;
    }
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

fn new_request_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
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
            return HttpResponse::Ok().content_type("text/html; charset=utf-8").body(page);
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
    if selects_mutation(&query, params.operation_name.as_deref()) {
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

/// Whether the operation a GET request would run is a mutation. A document that does not
/// parse is left for the executor to report.
fn selects_mutation(query: &str, operation_name: Option<&str>) -> bool {
    let Ok(document) = async_graphql::parser::parse_query(query) else {
        return false;
    };
    let selected = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    selected.is_some_and(|op| op.node.ty == OperationType::Mutation)
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
    let request_id = new_request_id();
    let span = tracing::info_span!("graphql", request_id = %request_id);
    let request = request
        .data(RequestAuth::new(credentials(req)))
        .data(crate::graphql::BaseUrl(base_url(req)))
        .data(loaders::for_request(state.store.clone()));
    let mut response = state.schema.execute(request).instrument(span).await;
    for error in &mut response.errors {
        classify_error(error, &request_id);
    }
    // A request error (the document did not parse or validate, so nothing ran) has no
    // `data` and, under application/graphql-response+json, status 400. Field errors always
    // carry a path.
    let request_error = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| e.path.is_empty());
    let (status, body) = if request_error {
        let status = match media {
            Media::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            Media::Json => StatusCode::OK,
        };
        (status, serde_json::json!({ "errors": response.errors }).to_string())
    } else {
        match serde_json::to_string(&response) {
            Ok(body) => (StatusCode::OK, body),
            Err(err) => {
                tracing::error!(request_id = %request_id, error = %err, "cannot serialise a response");
                return error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    media,
                    ErrorCode::Internal,
                    &format!("internal error (request id {request_id})"),
                );
            }
        }
    };
    HttpResponse::build(status)
        .content_type(media.content_type())
        .insert_header(("x-request-id", request_id))
        .body(body)
}

/// Gives every error a code: ours carry one already; the rest come from parsing, validation
/// and input coercion (BAD_USER_INPUT) or from the depth and complexity limits
/// (QUERY_TOO_COMPLEX). Internal errors get the request id and nothing else.
fn classify_error(error: &mut async_graphql::ServerError, request_id: &str) {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    let code = match extensions.get("code") {
        Some(async_graphql::Value::String(code)) => code.clone(),
        _ => {
            let code = if error.message.starts_with("Query is too complex")
                || error.message.starts_with("Query is nested too deep")
            {
                ErrorCode::QueryTooComplex
            } else {
                ErrorCode::BadUserInput
            };
            extensions.set("code", code.as_str());
            code.as_str().to_owned()
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

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}
