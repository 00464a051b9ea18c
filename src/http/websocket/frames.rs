//! WebSocket frames in and out of one connection, every byte held from its memory `Account`
//! while the server keeps it: an `Inbox` reads frames from the request's payload (a frame and
//! a message of continuations at most `max_message` bytes), an `Outbox` queues the frames
//! sent and hands them to actix-http in small pieces. A sender waits for room in the outbox;
//! one that cannot get it in time has found a client that does not read, and the connection
//! is dropped (actix-http drops a connection that takes no bytes at all, see
//! vendor/actix-http/PATCHED.md).
//!
//! actix-ws does the same jobs with a queue of 32 messages of any size and no way to drop a
//! connection, so a subscriber that stopped reading held its last 32 events for good.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::ws::{CloseCode, CloseReason, Codec, Frame, Item, Message, ProtocolError};
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::task::AtomicWaker;
use tokio_util::codec::{Decoder, Encoder};

use crate::memory::{Account, Held, OverMemory};

/// The most bytes handed to actix-http at once: it keeps polling for more until its own buffer
/// holds 32 KiB, so what it holds beyond the outbox stays under this and that.
const PIECE: usize = 16 * 1024;

/// What the client sent: a whole message, or how it closed.
#[derive(Debug)]
pub(super) enum Incoming {
    Message(Bytes),
    Ping(Bytes),
    /// A close frame (with the client's code, if it gave one), or the end of the connection.
    Closed(Option<CloseCode>),
}

/// Why reading the client's frames stopped before it closed.
#[derive(Debug, thiserror::Error)]
pub(super) enum InboxError {
    /// Not the WebSocket protocol (RFC 6455), or a frame or message over the size limit.
    #[error("{0}")]
    Protocol(ProtocolError),
    /// What the client sent could not be held: the server's memory for clients is spent.
    #[error("{0}")]
    Memory(OverMemory),
}

impl InboxError {
    /// The close code the connection ends with.
    pub(super) fn close_code(&self) -> CloseCode {
        match self {
            InboxError::Protocol(ProtocolError::Overflow) => CloseCode::Size,
            InboxError::Protocol(_) => CloseCode::Protocol,
            InboxError::Memory(_) => CloseCode::Again,
        }
    }
}

/// The client's frames, read from the request payload.
pub(super) struct Inbox {
    payload: web::Payload,
    codec: Codec,
    max_message: usize,
    buffer: BytesMut,
    /// A message arriving in continuation frames.
    partial: Option<BytesMut>,
    account: Arc<Account>,
    /// What `buffer` and `partial` hold.
    held: Held,
    ended: bool,
}

impl Inbox {
    pub(super) fn new(payload: web::Payload, max_message: usize, account: Arc<Account>) -> Self {
        Inbox {
            payload,
            codec: Codec::new().max_size(max_message),
            max_message,
            buffer: BytesMut::new(),
            partial: None,
            account,
            held: Held::default(),
            ended: false,
        }
    }

    /// The next message, ping or close; `None` once the connection has ended.
    pub(super) async fn next(&mut self) -> Option<Result<Incoming, InboxError>> {
        if self.ended {
            return None;
        }
        let next = self.read().await;
        if !matches!(next, Ok(Incoming::Message(_) | Incoming::Ping(_))) {
            self.ended = true;
        }
        self.hold_what_is_kept();
        Some(next)
    }

    async fn read(&mut self) -> Result<Incoming, InboxError> {
        loop {
            while let Some(frame) =
                self.codec.decode(&mut self.buffer).map_err(InboxError::Protocol)?
            {
                let incoming = self.take(frame)?;
                self.hold_what_is_kept();
                if let Some(incoming) = incoming {
                    return Ok(incoming);
                }
            }
            match self.payload.next().await {
                Some(Ok(chunk)) => {
                    self.account
                        .try_grow(&mut self.held, chunk.len())
                        .map_err(InboxError::Memory)?;
                    self.buffer.extend_from_slice(&chunk);
                }
                Some(Err(_)) | None => return Ok(Incoming::Closed(None)),
            }
        }
    }

    fn take(&mut self, frame: Frame) -> Result<Option<Incoming>, InboxError> {
        let part = match frame {
            Frame::Text(bytes) | Frame::Binary(bytes) => return Ok(Some(Incoming::Message(bytes))),
            Frame::Ping(bytes) => return Ok(Some(Incoming::Ping(bytes))),
            Frame::Pong(_) => return Ok(None),
            Frame::Close(reason) => return Ok(Some(Incoming::Closed(reason.map(|r| r.code)))),
            Frame::Continuation(item) => item,
        };
        let (first, last, bytes) = match part {
            Item::FirstText(bytes) | Item::FirstBinary(bytes) => (true, false, bytes),
            Item::Continue(bytes) => (false, false, bytes),
            Item::Last(bytes) => (false, true, bytes),
        };
        let message = match (&mut self.partial, first) {
            (None, true) => self.partial.insert(BytesMut::new()),
            (Some(message), false) => message,
            // The codec refuses continuations out of order before they get here.
            _ => return Err(InboxError::Protocol(ProtocolError::ContinuationNotStarted)),
        };
        if message.len() + bytes.len() > self.max_message {
            return Err(InboxError::Protocol(ProtocolError::Overflow));
        }
        message.extend_from_slice(&bytes);
        if !last {
            return Ok(None);
        }
        let message = self.partial.take().unwrap_or_default();
        Ok(Some(Incoming::Message(message.freeze())))
    }

    /// Gives back what was read out of the buffers.
    fn hold_what_is_kept(&mut self) {
        let kept = self.buffer.len() + self.partial.as_ref().map_or(0, BytesMut::len);
        self.held.release(self.held.bytes().saturating_sub(kept));
    }
}

/// Why a frame could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stalled {
    /// The outbox did not empty enough in time: the client is not reading.
    NotReading,
    /// The connection is closed or being closed.
    Closed,
}

/// The frames on their way to the client.
#[derive(Clone)]
pub(super) struct Outbox {
    shared: Arc<Shared>,
    account: Arc<Account>,
}

struct Shared {
    queue: Mutex<Queue>,
    /// The response body, waiting for frames.
    body: AtomicWaker,
}

#[derive(Default)]
struct Queue {
    frames: VecDeque<(Bytes, Held)>,
    /// No more frames will come: the body ends once these are out.
    finished: bool,
}

impl Outbox {
    pub(super) fn new(account: Arc<Account>) -> Self {
        Outbox {
            shared: Arc::new(Shared { queue: Mutex::default(), body: AtomicWaker::new() }),
            account,
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.shared.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a text message, waiting up to `wait` for room.
    pub(super) async fn text(&self, text: String, wait: Duration) -> Result<(), Stalled> {
        self.send(Message::Text(text.into()), wait).await
    }

    /// Queues a pong; a control frame is small and never waits, but is held like any other.
    pub(super) async fn pong(&self, bytes: Bytes) -> Result<(), Stalled> {
        self.send(Message::Pong(bytes), Duration::ZERO).await
    }

    /// Queues the close frame (a reason cut to fit one) and ends the body after it.
    pub(super) async fn close(&self, code: CloseCode, reason: Option<String>, wait: Duration) {
        let reason = CloseReason { code, description: reason.map(fit_close_frame) };
        let _ = self.send(Message::Close(Some(reason)), wait).await;
        self.finish();
    }

    /// Ends the body after what is queued.
    pub(super) fn finish(&self) {
        self.queue().finished = true;
        self.shared.body.wake();
    }

    /// Drops what is queued and ends the body: for a client that does not read.
    pub(super) fn abandon(&self) {
        let mut queue = self.queue();
        queue.frames.clear();
        queue.finished = true;
        drop(queue);
        self.shared.body.wake();
    }

    async fn send(&self, message: Message, wait: Duration) -> Result<(), Stalled> {
        let mut frame = BytesMut::new();
        // Encoding a message the codec was built for cannot fail (the server's codec has no
        // size limit on what it sends).
        if Codec::new().encode(message, &mut frame).is_err() {
            return Err(Stalled::Closed);
        }
        if self.queue().finished {
            return Err(Stalled::Closed);
        }
        let held = if wait.is_zero() {
            self.account.try_hold(frame.len())
        } else {
            self.account.hold(frame.len(), wait).await
        }
        .map_err(|_| Stalled::NotReading)?;
        let mut queue = self.queue();
        if queue.finished {
            return Err(Stalled::Closed);
        }
        queue.frames.push_back((frame.freeze(), held));
        drop(queue);
        self.shared.body.wake();
        Ok(())
    }

    /// The response body: the queued frames, a piece at a time.
    pub(super) fn body(&self) -> OutboxBody {
        OutboxBody { shared: self.shared.clone() }
    }
}

/// A close frame carries at most 125 bytes, two of them the code: a longer reason (a JSON
/// error quoting the message) is cut at a character boundary rather than break the frame.
pub(super) fn fit_close_frame(mut reason: String) -> String {
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

pub(super) struct OutboxBody {
    shared: Arc<Shared>,
}

impl futures_util::Stream for OutboxBody {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.shared.body.register(cx.waker());
        let mut queue = self.shared.queue.lock().unwrap_or_else(|e| e.into_inner());
        let Some((frame, held)) = queue.frames.front_mut() else {
            return if queue.finished { Poll::Ready(None) } else { Poll::Pending };
        };
        let piece = frame.split_to(frame.len().min(PIECE));
        held.release(piece.len());
        if frame.is_empty() {
            queue.frames.pop_front();
        }
        Poll::Ready(Some(Ok(piece)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Memory, MemoryLimits};

    #[test]
    fn close_reasons_fit_a_close_frame() {
        assert_eq!(fit_close_frame("short".into()), "short");
        for reason in ["x".repeat(500), "é".repeat(100), format!("a{}", "€".repeat(60))] {
            let cut = fit_close_frame(reason.clone());
            assert!(cut.len() <= 123, "{} bytes", cut.len());
            assert!(cut.ends_with('…'));
            assert!(reason.starts_with(cut.trim_end_matches('…')));
        }
    }

    #[tokio::test]
    async fn an_outbox_holds_what_it_queues_until_the_body_takes_it() {
        let memory = Memory::new(MemoryLimits {
            per_connection: 100_000,
            per_address: 1 << 20,
            total: 1 << 20,
        });
        let outbox = Outbox::new(Arc::new(memory.account(None)));
        let mut body = outbox.body();
        outbox.text("x".repeat(60_000), Duration::from_millis(10)).await.unwrap();
        assert_eq!(memory.held(), 60_004);
        let refused = outbox.text("y".repeat(60_000), Duration::from_millis(10)).await;
        assert_eq!(refused, Err(Stalled::NotReading));
        let first = body.next().await.unwrap().unwrap();
        assert_eq!(first.len(), PIECE);
        assert_eq!(memory.held(), 60_004 - PIECE);
        let mut rest = 0;
        for _ in 0..3 {
            rest += body.next().await.unwrap().unwrap().len();
        }
        assert_eq!(PIECE + rest, 60_004);
        assert_eq!(memory.held(), 0);
        outbox.close(CloseCode::Normal, Some("bye".into()), Duration::from_millis(10)).await;
        let close = body.next().await.unwrap().unwrap();
        assert_eq!(&close[..], b"\x88\x05\x03\xe8bye");
        assert!(body.next().await.is_none());
        assert_eq!(outbox.text("late".into(), Duration::ZERO).await, Err(Stalled::Closed));
    }

    #[tokio::test]
    async fn abandoning_an_outbox_gives_back_what_it_held() {
        let memory = Memory::new(MemoryLimits::default());
        let outbox = Outbox::new(Arc::new(memory.account(None)));
        let mut body = outbox.body();
        for _ in 0..4 {
            outbox.text("z".repeat(10_000), Duration::from_millis(10)).await.unwrap();
        }
        assert!(memory.held() > 40_000);
        outbox.abandon();
        assert_eq!(memory.held(), 0);
        assert!(body.next().await.is_none());
    }
}
