//! What GraphQL over HTTP answers in: the media type chosen from `Accept`, and the response of
//! a request that failed before it ran (in the shape of a GraphQL response, with its code).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, Header};
use actix_web::{HttpRequest, HttpResponse};

use super::super::persisted;
use crate::graphql::error::ErrorCode;
use crate::memory::{Bound, OverMemory};

/// The response media types of GraphQL over HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::http) enum Media {
    GraphqlResponseJson,
    Json,
}

impl Media {
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        }
    }

    /// Picks the response type from `Accept`: the acceptable one with the highest quality
    /// (the first of equals), `application/json` for a missing header or wildcards (what
    /// legacy clients expect); `None` when nothing acceptable is offered.
    pub(super) fn negotiate(req: &HttpRequest) -> Option<Media> {
        if !req.headers().contains_key(header::ACCEPT) {
            return Some(Media::Json);
        }
        let accept = header::Accept::parse(req).ok()?;
        let mut best: Option<(header::Quality, Media)> = None;
        for item in accept.iter() {
            let candidate = match item.item.essence_str() {
                "application/graphql-response+json" => Media::GraphqlResponseJson,
                "application/json" | "application/*" | "*/*" => Media::Json,
                _ => continue,
            };
            if item.quality > header::Quality::ZERO && best.is_none_or(|(q, _)| item.quality > q) {
                best = Some((item.quality, candidate));
            }
        }
        best.map(|(_, media)| media)
    }
}

/// A response carrying only request-level errors, in the shape of a GraphQL response.
pub(in crate::http) fn refusal(
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

/// A persisted-query request that cannot run. Not found is answered 200 under
/// `application/json`, where Apollo's link reads it and retries with the query; under
/// `application/graphql-response+json` a request error is a 4xx, as that media type requires.
pub(super) fn persisted_refused(media: Media, refused: persisted::Refused) -> HttpResponse {
    match refused {
        persisted::Refused::NotFound => {
            let status = match media {
                Media::Json => StatusCode::OK,
                _ => StatusCode::BAD_REQUEST,
            };
            refusal(status, media, ErrorCode::PersistedQueryNotFound, "PersistedQueryNotFound")
        }
        persisted::Refused::Invalid(why) => {
            refusal(StatusCode::BAD_REQUEST, media, ErrorCode::BadUserInput, &why)
        }
    }
}

/// A body that cannot be held now: the server holds as much of what clients sent as it may
/// (from this address, or from everyone). Nothing was read of it; the client may retry.
pub(super) fn memory_spent(media: Media, refused: OverMemory) -> HttpResponse {
    let whose = match refused.bound {
        Bound::Connection | Bound::Address => "this client's",
        Bound::Total => "all clients'",
    };
    let mut response = refusal(
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

pub(super) fn not_acceptable() -> HttpResponse {
    refusal(
        StatusCode::NOT_ACCEPTABLE,
        Media::Json,
        ErrorCode::BadUserInput,
        "Accept must allow application/graphql-response+json or application/json",
    )
}
