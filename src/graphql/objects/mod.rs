//! The fields of each object type clients see: one file per object type, each resolving the
//! fields of a wrapper from `nodes`. Resolvers parse their arguments, make one store call (or
//! one loader call), and wrap the result.

mod agent;
pub mod capture;
mod citation;
pub mod citation_export;
pub mod collection;
mod document;
pub mod history;
pub mod integrity;
pub mod receipt;
mod revision;
pub mod search;
mod source;
pub mod watch;

pub use citation::{CitationDriftPage, QuoteVerification, TextSelector, VerificationStatus};
