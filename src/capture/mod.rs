//! Capturing web pages as revisions (issue 25): a watched URL is fetched, its article text
//! extracted and, when it changed, written as a revision with the HTTP exchange kept as WARC
//! evidence. A server that fetches URLs its users name is an SSRF target, so every address it
//! would connect to passes `guard` first.

pub mod evidence;
pub mod extract;
pub mod feed;
pub mod fetch;
pub mod guard;
mod politeness;
mod recorder;
pub mod robots;
mod run;
pub mod scan;
pub mod warc;
pub mod worker;

pub use run::{CAPTURE_AGENT, CaptureError, CaptureSettings, Capturer, DEFAULT_CONCURRENCY};
