//! GraphQL over WebSocket at `/graphql`: the `graphql-transport-ws` protocol that Apollo
//! Client, urql and the `graphql-ws` package speak. async-graphql runs the protocol
//! (`http::WebSocket`, with the close codes patched to the protocol's, see
//! vendor/async-graphql/PATCHED.md); this module admits connections, authenticates them in
//! `connection_init`, and moves messages between the socket and the protocol with bounded
//! buffers only.
//!
//! Limits: at most `max_sockets` connections at once (more are answered 503 before the
//! upgrade), each with at most `max_operations` operations running; a connection that has not
//! sent `connection_init` in time (10 s) is closed with 4408; one the server cannot hand a message
//! to within 10 s, or whose subscription fell behind the events, is closed with 1013 (Try Again
//! Later), so that nothing buffers without bound for a subscriber that does not read.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use async_graphql::http::{WebSocket, WebSocketProtocols as Protocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::OwnedSemaphorePermit;

use super::AppState;
use super::cors::SocketAccess;
use super::graphql::{classify_error, credentials, error_response_json};
use super::middleware::client_address;
use crate::graphql::auth::Credentials;
use crate::graphql::error::ErrorCode;
use crate::graphql::subscription::FellBehind;
use crate::graphql::{GraphqlService, RequestContext};

/// The subprotocol spoken.
const PROTOCOL: &str = "graphql-transport-ws";

/// How long the server waits to hand a message to a connection before it gives up on it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Whether a request asks to open a WebSocket (the route's guard).
pub(super) fn is_upgrade(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

pub(super) async fn upgrade(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let offered = req
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == PROTOCOL);
    if !offered {
        return error_response_json(
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            "a WebSocket on /graphql speaks the graphql-transport-ws subprotocol: offer it in \
             Sec-WebSocket-Protocol",
        );
    }
    let origin = req.headers().get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let own = {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    };
    let access = state.cors.socket(origin, &own);
    if access == SocketAccess::Refused {
        return error_response_json(
            StatusCode::FORBIDDEN,
            ErrorCode::Forbidden,
            "pages on this origin may not open a WebSocket here: it is not among the CORS origins",
        );
    }
    let Ok(permit) = state.sockets.clone().try_acquire_owned() else {
        let mut response = error_response_json(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Unavailable,
            &format!("the server holds its limit of {} WebSocket connections", state.max_sockets),
        );
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(5));
        return response;
    };
    let (mut response, session, messages) = match actix_ws::handle(&req, body) {
        Ok(parts) => parts,
        Err(err) => return err.error_response(),
    };
    response
        .headers_mut()
        .insert(header::SEC_WEBSOCKET_PROTOCOL, header::HeaderValue::from_static(PROTOCOL));
    let executor = SocketExecutor {
        graphql: state.graphql.clone(),
        context: Arc::new(RequestContext {
            credentials: credentials(&req),
            base_url: super::base_url(&req),
            client_address: client_address(&req, state.trust_forwarded),
            request_bytes: 0,
            request_id: None,
        }),
        credentials: Arc::default(),
        running: Arc::default(),
        max_operations: state.max_socket_operations,
        anonymous_only: access == SocketAccess::Anonymous,
    };
    let max_message = state.max_body_bytes;
    let incoming = messages
        .max_frame_size(max_message)
        .aggregate_continuations()
        .max_continuation_size(max_message);
    actix_web::rt::spawn(serve(executor, session, incoming, permit, state.socket_init_timeout));
    response
}

/// Runs one connection until either side closes it.
async fn serve(
    executor: SocketExecutor,
    session: Session,
    incoming: actix_ws::AggregatedMessageStream,
    _permit: OwnedSemaphorePermit,
    init_timeout: Duration,
) {
    let fell_behind = Arc::new(FellBehind::default());
    let initialised = executor.credentials.clone();
    let mut data = Data::default();
    data.insert(fell_behind.clone());
    let credentials = executor.credentials.clone();
    let upgrade_credentials = executor.context.credentials.clone();
    let store = executor.graphql.store().clone();
    let anonymous_only = executor.anonymous_only;
    let protocol =
        WebSocket::new(executor, client_messages(incoming, session.clone()), Protocols::GraphQLWS)
            .connection_data(data)
            .on_connection_init(move |payload| async move {
                let presented = match payload_credentials(&payload) {
                    Ok(Credentials::Anonymous) => upgrade_credentials,
                    Ok(presented) => presented,
                    Err(why) => return Err(async_graphql::Error::new(why)),
                };
                let admitted = admit(&store, presented, anonymous_only).await;
                let _ = credentials.set(admitted.map_err(async_graphql::Error::new)?);
                Ok(Data::default())
            });
    let mut protocol = pin!(protocol);
    let mut session = session;
    let init_deadline = tokio::time::sleep(init_timeout);
    let mut init_deadline = pin!(init_deadline);
    loop {
        let waiting_for_init = initialised.get().is_none();
        let next = tokio::select! {
            message = protocol.next() => message,
            () = fell_behind.wait() => Some(WsMessage::Close(
                1013,
                "a subscription fell behind its events; read what changed and subscribe again"
                    .to_owned(),
            )),
            () = &mut init_deadline, if waiting_for_init => Some(WsMessage::Close(
                4408,
                "Connection initialisation timeout".to_owned(),
            )),
        };
        match next {
            Some(WsMessage::Text(text)) => {
                match tokio::time::timeout(SEND_TIMEOUT, session.text(text)).await {
                    Ok(Ok(())) => {}
                    // Closed by the client, or not reading: nothing more can be sent to it.
                    _ => return,
                }
            }
            Some(WsMessage::Close(code, reason)) => {
                let reason = CloseReason {
                    code: CloseCode::from(code),
                    description: Some(close_reason(reason)),
                };
                let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(Some(reason))).await;
                return;
            }
            None => {
                let _ = tokio::time::timeout(SEND_TIMEOUT, session.close(None)).await;
                return;
            }
        }
    }
}

/// A close frame carries at most 125 bytes, two of them the code: a longer reason (a JSON
/// error quoting the message) is cut at a character boundary rather than break the frame.
fn close_reason(mut reason: String) -> String {
    const MAX: usize = 123;
    if reason.len() > MAX {
        let mut end = MAX - '…'.len_utf8();
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
        reason.push('…');
    }
    reason
}

/// The protocol's messages as the client sends them: text (or binary) frames, whole. Pings
/// are answered here; a close frame, an error or the end of the stream ends it.
fn client_messages(
    incoming: actix_ws::AggregatedMessageStream,
    session: Session,
) -> impl futures_util::Stream<Item = web::Bytes> {
    futures_util::stream::unfold((incoming, session), |(mut incoming, mut session)| async move {
        loop {
            match incoming.next().await {
                Some(Ok(AggregatedMessage::Text(text))) => {
                    return Some((text.into_bytes(), (incoming, session)));
                }
                Some(Ok(AggregatedMessage::Binary(bytes))) => {
                    return Some((bytes, (incoming, session)));
                }
                Some(Ok(AggregatedMessage::Ping(bytes))) => {
                    if session.pong(&bytes).await.is_err() {
                        return None;
                    }
                }
                Some(Ok(AggregatedMessage::Pong(_))) => {}
                Some(Ok(AggregatedMessage::Close(_)) | Err(_)) | None => return None,
            }
        }
    })
}

/// The credentials a connection runs its operations with, once checked; why not, if refused
/// (the connection is then closed with 4403).
async fn admit(
    store: &crate::store::Store,
    presented: Credentials,
    anonymous_only: bool,
) -> Result<Credentials, &'static str> {
    match &presented {
        Credentials::Anonymous => return Ok(presented),
        Credentials::Malformed => return Err("the Authorization header must be `Bearer <token>`"),
        Credentials::Bearer(_) if anonymous_only => {
            return Err("this origin may read anonymously only: tokens are accepted from the \
                        listed CORS origins");
        }
        Credentials::Bearer(token) => match store.authenticate(token).await {
            Ok(Some(_)) => {}
            Ok(None) => return Err("the token is unknown, revoked or expired"),
            Err(err) => {
                tracing::warn!(error = %err, "cannot check a WebSocket's token");
                return Err("the token cannot be checked now");
            }
        },
    }
    Ok(presented)
}

/// The credentials `connection_init` presents: `{"authorization": "Bearer <token>"}` (the key
/// in any case, as Apollo's and urql's `connectionParams` carry it); none is anonymous.
fn payload_credentials(payload: &serde_json::Value) -> Result<Credentials, String> {
    let value = payload
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("authorization")))
        .map(|(_, v)| v);
    match value {
        None | Some(serde_json::Value::Null) => Ok(Credentials::Anonymous),
        Some(serde_json::Value::String(value)) => match value.strip_prefix("Bearer ") {
            Some(token) if !token.trim().is_empty() => {
                Ok(Credentials::Bearer(token.trim().to_owned()))
            }
            _ => Err("`authorization` must be `Bearer <token>`".to_owned()),
        },
        Some(_) => Err("`authorization` must be a string: `Bearer <token>`".to_owned()),
    }
}

/// Runs a connection's operations as GraphQL over HTTP runs requests: with the credentials
/// the connection presented, its client's address for the rate limit, and a cap on how many
/// run at once.
#[derive(Clone)]
struct SocketExecutor {
    graphql: GraphqlService,
    context: Arc<RequestContext>,
    /// Set when `connection_init` is accepted.
    credentials: Arc<OnceLock<Credentials>>,
    running: Arc<AtomicUsize>,
    max_operations: usize,
    /// A page on an origin allowed anonymous reads only (`*`): no token is accepted.
    anonymous_only: bool,
}

impl Executor for SocketExecutor {
    async fn execute(&self, request: Request) -> Response {
        self.execute_stream(request, None).next().await.unwrap_or_default()
    }

    fn execute_stream(
        &self,
        request: Request,
        connection: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        if self.running.fetch_add(1, Ordering::AcqRel) >= self.max_operations {
            self.running.fetch_sub(1, Ordering::AcqRel);
            let error = crate::graphql::error::ApiError::new(
                ErrorCode::BadUserInput,
                format!(
                    "this connection runs {} operations, its limit; complete one first",
                    self.max_operations
                ),
            );
            let response = Response::from_errors(vec![error.into_server_error()]);
            return futures_util::stream::once(async move { response }).boxed();
        }
        let credentials = self.credentials.get().cloned().unwrap_or(Credentials::Anonymous);
        // Each operation is a request of its own in the logs and the audit log.
        let request_id = uuid::Uuid::now_v7().simple().to_string();
        let context = RequestContext {
            credentials,
            request_bytes: request.query.len() as u64,
            request_id: Some(request_id.clone()),
            ..(*self.context).clone()
        };
        let running = Running(self.running.clone());
        self.graphql
            .execute_stream(request, context, connection.unwrap_or_default())
            .map(move |mut response| {
                let _running = &running;
                for error in &mut response.errors {
                    classify_error(error, &request_id);
                }
                response
            })
            .boxed()
    }
}

/// An operation of a connection, counted while its stream lives.
struct Running(Arc<AtomicUsize>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(close_reason("short".into()), "short");
        for reason in ["x".repeat(500), "é".repeat(100), format!("a{}", "€".repeat(60))] {
            let cut = close_reason(reason.clone());
            assert!(cut.len() <= 123, "{} bytes", cut.len());
            assert!(cut.ends_with('…'));
            assert!(reason.starts_with(cut.trim_end_matches('…')));
        }
    }

    #[test]
    fn connection_init_presents_a_bearer_token_or_nothing() {
        let parse = |v: serde_json::Value| payload_credentials(&v);
        assert_eq!(parse(serde_json::json!(null)), Ok(Credentials::Anonymous));
        assert_eq!(parse(serde_json::json!({})), Ok(Credentials::Anonymous));
        assert_eq!(
            parse(serde_json::json!({ "Authorization": "Bearer abc " })),
            Ok(Credentials::Bearer("abc".into()))
        );
        assert!(parse(serde_json::json!({ "authorization": "Basic abc" })).is_err());
        assert!(parse(serde_json::json!({ "authorization": "Bearer  " })).is_err());
        assert!(parse(serde_json::json!({ "authorization": 7 })).is_err());
    }
}
