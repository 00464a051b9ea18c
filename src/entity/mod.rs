//! sea-orm entities, one file per table. These are storage rows: only the store uses them,
//! and nothing outside the store sees them.

pub mod agent;
pub mod api_token;
pub mod blob;
pub mod citation;
pub mod document;
pub mod revision;
pub mod source;
