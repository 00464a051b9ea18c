//! A GraphQL request in a POST body, read as the transport allows: JSON only, no larger than
//! the body limit, held from the client's share of the server's memory while it is read and
//! until the request ends, its values counted before it is parsed, and a persisted query
//! resolved. Whatever is refused is answered in the negotiated media type with its code.

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use super::media::{Media, memory_spent, not_acceptable, persisted_refused, refusal};
use crate::graphql::error::ErrorCode;
use crate::http::AppState;
use crate::http::middleware::client_address;
use crate::memory::Held;

/// A POST body that holds a GraphQL request, and the bytes it came as (the response cache's
/// key, and what its admission to the rate limit is charged by).
pub(in crate::http) struct GraphqlPost {
    pub request: async_graphql::Request,
    pub body: web::Bytes,
    pub media: Media,
    /// The body's share of the client's memory, given back when the request ends.
    _held: Held,
}

impl FromRequest for GraphqlPost {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            read(&req, &mut payload).await.map_err(|response| {
                actix_web::error::InternalError::from_response("", response).into()
            })
        })
    }
}

async fn read(req: &HttpRequest, payload: &mut Payload) -> Result<GraphqlPost, HttpResponse> {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return Err(HttpResponse::InternalServerError().finish());
    };
    let media = Media::negotiate(req).ok_or_else(not_acceptable)?;
    let refused = |status, code, message: &str| refusal(status, media, code, message);
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let is_json = content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|ct| ct.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "POST /graphql takes a body of Content-Type application/json",
        ));
    }
    let max = state.max_body_bytes;
    let too_large = || {
        refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            &format!("the request body is larger than {max} bytes"),
        )
    };
    let declared_length = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared_length.is_some_and(|len| len > max) {
        return Err(too_large());
    }
    let account = state.memory.account(client_address(req, state.trust_forwarded));
    let mut held = Held::default();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Err(refused(
                StatusCode::BAD_REQUEST,
                ErrorCode::BadUserInput,
                "the request body could not be read",
            ));
        };
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        account.try_grow(&mut held, chunk.len()).map_err(|over| memory_spent(media, over))?;
        body.extend_from_slice(&chunk);
    }
    if json_values(&body) > state.max_json_values {
        return Err(refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            &format!("the request body holds more than {} JSON values", state.max_json_values),
        ));
    }
    let mut request: async_graphql::Request = serde_json::from_slice(&body).map_err(|err| {
        refused(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            &format!("the request body is not a GraphQL request in JSON: {err}"),
        )
    })?;
    if let Some(extension) = request.extensions.remove("persistedQuery") {
        let extension = extension.into_json().unwrap_or_default();
        let query = std::mem::take(&mut request.query);
        let address = client_address(req, state.trust_forwarded);
        let resolved = state.persisted.resolve(Some(query), Some(&extension), address);
        request.query = resolved.map_err(|why| persisted_refused(media, why))?.unwrap_or_default();
    }
    if request.query.trim().is_empty() {
        return Err(refused(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "the request has no `query`",
        ));
    }
    Ok(GraphqlPost { request, body: body.freeze(), media, _held: held })
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
