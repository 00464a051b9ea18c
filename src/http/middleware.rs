//! What every request passes through: an id (in its log span and `x-request-id`), the headers
//! that keep browsers from misreading a response, the rate limit of the plain routes, and
//! the errors of bad parameters and unknown routes.

use std::net::{IpAddr, SocketAddr};

use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use tracing::Instrument;

use super::plain::Failure;
use super::{AppState, Links};
use crate::graphql::auth::Credentials;
use crate::ratelimit::{Charge, Client, RateLimitStatus};
use crate::store::quoted;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, as its `x-request-id` header and the log carry it.
pub(crate) fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Gives every request an id (in the log span, in `x-request-id`, and to errors that carry
/// one) and every response the headers that keep browsers from misreading it, and counts the
/// time it took to answer (`crate::foreground`: captures give way to requests).
pub(super) async fn request_context(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let id = uuid::Uuid::now_v7().simple().to_string();
    let span = tracing::info_span!("request", request_id = %id);
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let forwarded_links =
        state.as_ref().is_some_and(|state| matches!(state.links, Links::Forwarded));
    let response = REQUEST_ID.scope(id.clone(), next.call(req).instrument(span)).await;
    if let Some(state) = &state {
        state.foreground.served(started.elapsed());
    }
    let mut response = response?;
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

/// Charges plain routes to the client's address, as GraphQL charges its queries: a fixed
/// admission before the route runs, and then a point per KiB of the response as a debt.
pub(super) async fn rate_limit_plain(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let client = client_address(req.request(), state.trust_forwarded).map(Client::address);
    let charged = client.and_then(|client| state.rate_limiter.charge(client, Charge::PlainRoute));
    match charged {
        Some(Err(refused)) => {
            let retry_after = refused.retry_after_secs();
            let mut response = HttpResponse::from_error(Failure {
                status: StatusCode::TOO_MANY_REQUESTS,
                message: format!("the rate limit is spent; retry in {retry_after} s"),
                retry_after: Some(std::time::Duration::from_secs(retry_after)),
            });
            let headers = response.headers_mut();
            headers
                .insert(header::HeaderName::from_static("x-ratelimit-limit"), refused.limit.into());
            headers.insert(header::HeaderName::from_static("x-ratelimit-remaining"), 0.into());
            Ok(req.into_response(response))
        }
        Some(Ok(status)) => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            rate_limit_headers(response.headers_mut(), &status);
            if let (Some(client), BodySize::Sized(bytes)) =
                (client, response.response().body().size())
            {
                state.rate_limiter.charge(client, Charge::Sent { bytes });
            }
            Ok(response)
        }
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}

pub(super) fn rate_limit_headers(headers: &mut header::HeaderMap, status: &RateLimitStatus) {
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
pub(super) fn client_address(req: &HttpRequest, trust_forwarded: bool) -> Option<IpAddr> {
    if trust_forwarded
        && let Some(real) = req.connection_info().realip_remote_addr()
        && let Ok(address) = real.parse::<SocketAddr>().map(|a| a.ip()).or_else(|_| real.parse())
    {
        return Some(address);
    }
    req.peer_addr().map(|a| a.ip())
}

/// Bad path or query parameters: a 400 that says what was wrong.
pub(super) fn bad_parameters(err: impl std::fmt::Display, _req: &HttpRequest) -> actix_web::Error {
    Failure::bad(format!("bad request parameters: {err}")).into()
}

/// A path no route serves (or a method it does not answer).
pub(super) async fn no_route(req: HttpRequest) -> Result<HttpResponse, Failure> {
    let status = if req.method() == actix_web::http::Method::GET
        || req.method() == actix_web::http::Method::HEAD
    {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::METHOD_NOT_ALLOWED
    };
    Err(Failure::new(
        status,
        format!(
            "nothing answers {} {} here: the API is /graphql, the home page /",
            req.method(),
            quoted(req.path())
        ),
    ))
}

/// The credentials a request presents: none, a bearer token, or an `Authorization` header that
/// is not one (refused when it is used, never taken for anonymous).
pub(super) fn credentials(req: &HttpRequest) -> Credentials {
    match req.headers().get(header::AUTHORIZATION) {
        None => Credentials::Anonymous,
        Some(value) => match value.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(token) if !token.trim().is_empty() => Credentials::Bearer(token.trim().to_owned()),
            _ => Credentials::Malformed,
        },
    }
}

impl actix_web::FromRequest for Credentials {
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        std::future::ready(Ok(credentials(req)))
    }
}
