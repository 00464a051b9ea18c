//! What raw statements share: bind parameters as each backend writes them, and how many rows
//! one multi-row statement carries.

/// Rows per INSERT: under SQLite's limit of bound parameters for the widest row.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// The `i`th (from 1) bind parameter of a raw statement, as `backend` writes it.
pub(super) fn placeholder(backend: sea_orm::DatabaseBackend, i: usize) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("${i}"),
        _ => "?".to_owned(),
    }
}
