//! A WebSocket client's text frame written by hand (RFC 6455 5.2), for tests that speak to the
//! server below a WebSocket library: frames a library would never send, or sent byte by byte.
//! Test binaries share it through `#[path = "../common/websocket_frame.rs"] mod websocket_frame;`.

/// A final text frame of `text`, masked as RFC 6455 requires of clients.
pub fn client_frame(text: &str) -> Vec<u8> {
    let mask = [0x12, 0x34, 0x56, 0x78];
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n if n <= 0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}
