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

/// `bytes` (an SQL expression: a digest column, a part of one) as the lowercase hex digits
/// the store writes digests as in text (audit targets, sealing buckets).
pub(super) fn hex_text(backend: sea_orm::DatabaseBackend, bytes: &str) -> String {
    match backend {
        sea_orm::DatabaseBackend::Postgres => format!("encode({bytes}, 'hex')"),
        _ => format!("lower(hex({bytes}))"),
    }
}

/// A condition a partial index is defined by, written as the same literal SQL the index's
/// `WHERE` has. SQLite uses a partial index only when the query's terms match the index's
/// own; under the planner's stability guarantee (`SQLITE_ENABLE_QPSG`, `.cargo/config.toml`)
/// it never matches a bound parameter against the index's constant, so `sealed = ?` would read
/// the whole table where `sealed = FALSE` reads the (nearly always empty) index.
pub(crate) fn partial_index_term(sql: &'static str) -> sea_orm::sea_query::Expr {
    sea_orm::sea_query::Expr::cust(sql)
}
