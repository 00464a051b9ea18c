//! sea-orm entities, one file per table. These are storage rows: only the store uses them,
//! and nothing outside the store sees them.

pub mod agent;
pub mod api_token;
pub mod audit_event;
pub mod blob;
pub mod capture;
pub mod capture_record;
pub mod citation;
pub mod collection;
pub mod collection_member;
pub mod document;
pub mod log_checkpoint;
pub mod log_node;
pub mod redaction;
pub mod revision;
pub mod source;
pub mod watch;
