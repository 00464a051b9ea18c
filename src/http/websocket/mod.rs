//! GraphQL over WebSocket at `/graphql`: the `graphql-transport-ws` protocol that Apollo
//! Client, urql and the `graphql-ws` package speak. async-graphql runs the protocol
//! (`http::WebSocket`, with the close codes patched to the protocol's, see
//! vendor/async-graphql/PATCHED.md); this module admits connections, authenticates them in
//! `connection_init`, and moves frames between the socket and the protocol (`frames`), every
//! byte held from the connection's memory account.
//!
//! Limits: at most `max_sockets` connections at once (more are answered 503 before the
//! upgrade), each with at most `max_operations` operations running; a connection that has not
//! sent `connection_init` in time (10 s) is closed with 4408; one whose outbox stays full for
//! 10 s (a client that does not read) is dropped, and one whose subscription fell behind the
//! events is closed with 1013 (Try Again Later), so that nothing is buffered without bound for
//! a subscriber that does not read. A close from the client is answered with its own code, and
//! the connection ends as soon as the close frame is out.

mod frames;

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use actix_http::ws::CloseCode;
use actix_web::body::{BodyStream, MessageBody};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use async_graphql::http::{WebSocket, WebSocketProtocols as Protocols, WsMessage};
use async_graphql::{Data, Executor, Request, Response};
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::sync::OwnedSemaphorePermit;

use self::frames::{Inbox, Incoming, Outbox, Stalled};
use super::AppState;
use super::cors::SocketAccess;
use super::graphql::{Media, refusal as refused_request};
use super::middleware::{client_address, credentials};
use crate::graphql::auth::Credentials;
use crate::graphql::error::ErrorCode;
use crate::graphql::subscription::FellBehind;
use crate::graphql::{GraphqlService, RequestContext};

/// The subprotocol spoken.
const PROTOCOL: &str = "graphql-transport-ws";

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
        return refused_request(
            StatusCode::BAD_REQUEST,
            Media::Json,
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
        return refused_request(
            StatusCode::FORBIDDEN,
            Media::Json,
            ErrorCode::Forbidden,
            "pages on this origin may not open a WebSocket here: it is not among the CORS origins",
        );
    }
    let Ok(permit) = state.sockets.clone().try_acquire_owned() else {
        let mut response = refused_request(
            StatusCode::SERVICE_UNAVAILABLE,
            Media::Json,
            ErrorCode::Unavailable,
            &format!("the server holds its limit of {} WebSocket connections", state.max_sockets),
        );
        response.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(5));
        return response;
    };
    let mut handshake = match actix_http::ws::handshake(req.head()) {
        Ok(handshake) => handshake,
        Err(err) => {
            let status = actix_http::Response::from(&err).status();
            return refused_request(status, Media::Json, ErrorCode::BadUserInput, &err.to_string());
        }
    };
    handshake.insert_header((header::SEC_WEBSOCKET_PROTOCOL, PROTOCOL));
    let address = client_address(&req, state.trust_forwarded);
    let account = Arc::new(state.memory.account(address));
    let outbox = Outbox::new(account.clone());
    let response = match handshake.message_body(BodyStream::new(outbox.body()).boxed()) {
        Ok(response) => HttpResponse::from(response),
        Err(err) => return HttpResponse::from_error(err),
    };
    let executor = SocketExecutor {
        graphql: state.graphql.clone(),
        context: Arc::new(RequestContext {
            credentials: credentials(&req),
            base_url: super::base_url(&req),
            client_address: address,
            request_bytes: 0,
            request_id: None,
            read_only: false,
            // A socket's operations read the primary: a subscription's events must be visible
            // where they are read, and NOTIFY reaches no replica.
            read_choice: None,
        }),
        credentials: Arc::default(),
        running: Arc::default(),
        max_operations: state.max_socket_operations,
        anonymous_only: access == SocketAccess::Anonymous,
    };
    let inbox = Inbox::new(body, state.max_body_bytes, account);
    let timeouts = Timeouts { init: state.socket_init_timeout, send: state.socket_send_timeout };
    actix_web::rt::spawn(serve(executor, inbox, outbox, permit, timeouts));
    response
}

/// How the client's side of a connection ended.
#[derive(Debug, Clone, Copy)]
enum ClientEnd {
    /// It sent a close frame (with this code), or the connection dropped.
    Closed(Option<CloseCode>),
    /// It broke the WebSocket protocol, sent too much, or could not be kept up with.
    Refused(CloseCode),
}

/// How long a connection may take to send `connection_init`, and the server to find room in
/// its outbox for the next message.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    init: Duration,
    send: Duration,
}

/// Runs one connection until either side closes it.
async fn serve(
    executor: SocketExecutor,
    inbox: Inbox,
    outbox: Outbox,
    _permit: OwnedSemaphorePermit,
    timeouts: Timeouts,
) {
    let fell_behind = Arc::new(FellBehind::default());
    let initialised = executor.credentials.clone();
    let mut data = Data::default();
    data.insert(fell_behind.clone());
    let credentials = executor.credentials.clone();
    let upgrade_credentials = executor.context.credentials.clone();
    let store = executor.graphql.store().clone();
    let anonymous_only = executor.anonymous_only;
    let client_end = Arc::new(Mutex::new(None));
    let messages = client_messages(inbox, outbox.clone(), client_end.clone());
    let protocol = WebSocket::new(executor, messages, Protocols::GraphQLWS)
        .connection_data(data)
        .on_connection_init(move |payload| async move {
            // A socket's operations read the primary, which is never behind a token: one
            // presented is checked, so that a client learns of a bad one, and needs no more.
            if let Err(why) = payload_consistency(&payload) {
                return Err(async_graphql::Error::new(why));
            }
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
    let init_deadline = tokio::time::sleep(timeouts.init);
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
            Some(WsMessage::Text(text)) => match outbox.text(text, timeouts.send).await {
                Ok(()) => {}
                // Not reading: what is queued for it goes, and actix-http drops the
                // connection once it has taken no bytes for as long.
                Err(Stalled::NotReading) => {
                    tracing::debug!("dropping a WebSocket client that does not read");
                    return outbox.abandon();
                }
                Err(Stalled::Closed) => return,
            },
            Some(WsMessage::Close(code, reason)) => {
                return outbox.close(CloseCode::from(code), Some(reason), timeouts.send).await;
            }
            None => {
                let ended = *client_end.lock().unwrap_or_else(|e| e.into_inner());
                let (code, reason) = match ended {
                    // As RFC 6455 (5.5.1) asks: the client's own code back.
                    Some(ClientEnd::Closed(Some(code))) => (code, None),
                    Some(ClientEnd::Closed(None)) | None => (CloseCode::Normal, None),
                    Some(ClientEnd::Refused(code)) => (code, Some(refusal(code))),
                };
                return outbox.close(code, reason, timeouts.send).await;
            }
        }
    }
}

/// Why the server closed a connection the client broke.
fn refusal(code: CloseCode) -> String {
    match code {
        CloseCode::Size => "a frame or message is larger than the server accepts",
        CloseCode::Again => "the server cannot hold more of what clients send; try again later",
        _ => "not the WebSocket protocol",
    }
    .to_owned()
}

/// The protocol's messages as the client sends them: text (or binary) frames, whole. Pings
/// are answered here; a close frame, an error or the end of the connection ends it, and
/// `ended` says which.
fn client_messages(
    inbox: Inbox,
    outbox: Outbox,
    ended: Arc<Mutex<Option<ClientEnd>>>,
) -> impl futures_util::Stream<Item = web::Bytes> {
    futures_util::stream::unfold((inbox, outbox, ended), |(mut inbox, outbox, ended)| async move {
        loop {
            let end = match inbox.next().await? {
                Ok(Incoming::Message(bytes)) => return Some((bytes, (inbox, outbox, ended))),
                Ok(Incoming::Ping(bytes)) => match outbox.pong(bytes).await {
                    Ok(()) => continue,
                    Err(_) => ClientEnd::Refused(CloseCode::Again),
                },
                Ok(Incoming::Closed(code)) => ClientEnd::Closed(code),
                Err(err) => {
                    tracing::debug!(error = %err, "closing a WebSocket whose frames were refused");
                    ClientEnd::Refused(err.close_code())
                }
            };
            *ended.lock().unwrap_or_else(|e| e.into_inner()) = Some(end);
            return None;
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

/// The consistency token `connection_init` may present (`{"consistency": "v1.…"}`, as a
/// mutation's answer carried it); none is fine.
fn payload_consistency(
    payload: &serde_json::Value,
) -> Result<Option<crate::store::ConsistencyToken>, String> {
    match payload.get("consistency") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(text)) => {
            crate::store::ConsistencyToken::parse(text).map(Some).ok_or_else(|| {
                "`consistency` is not a token this server hands out (`v1.` and 16 hex digits)"
                    .to_owned()
            })
        }
        Some(_) => Err("`consistency` must be the string a mutation's answer carried".to_owned()),
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
            .map(move |response| {
                let _running = &running;
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

    #[test]
    fn connection_init_may_present_a_consistency_token_it_was_handed() {
        let parse = |v: serde_json::Value| payload_consistency(&v);
        assert_eq!(parse(serde_json::json!({})), Ok(None));
        assert_eq!(parse(serde_json::json!({ "consistency": null })), Ok(None));
        let token = parse(serde_json::json!({ "consistency": "v1.0000000116b3a1c0" }));
        assert_eq!(token.unwrap().unwrap().to_string(), "v1.0000000116b3a1c0");
        assert!(parse(serde_json::json!({ "consistency": "v1.16b3a1c0" })).is_err());
        assert!(parse(serde_json::json!({ "consistency": 7 })).is_err());
    }
}
