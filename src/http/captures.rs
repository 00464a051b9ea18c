//! The evidence of captured revisions as WARC files any web-archive tool reads, and change
//! receipts as files anyone can check offline.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::AppState;
use super::plain::{Failure, anyone, revision_hash};
use crate::capture::warc::gzip_member;
use crate::store::Slug;

/// GET /documents/{slug}/revisions/{hash}/capture.warc.gz: the request and response records
/// of the capture that wrote the revision, each its own gzip member, as kept. 404 for a
/// revision no capture wrote, 410 once it is redacted (its evidence holds its text).
pub(super) async fn capture_warc(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Failure> {
    let (slug, hash) = path.into_inner();
    let slug = Slug::parse(&slug).map_err(crate::graphql::error::ApiError::from)?;
    let hash = revision_hash(Some(&hash))?.expect("a path segment is given");
    let (_, records) = state.store.capture_evidence(&anyone(), &slug, &hash).await?;
    let body: Vec<u8> = records.iter().flat_map(|record| gzip_member(&record.bytes)).collect();
    let filename = format!("{}-{}.warc.gz", slug.as_str(), &hash.hex()[..12]);
    Ok(HttpResponse::Ok()
        .content_type("application/warc")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        // Evidence never changes, but it can be redacted away: revalidate, as revision pages do.
        .insert_header((header::CACHE_CONTROL, super::REVISION_CACHE))
        .insert_header((header::ETAG, format!("\"warc-{hash}\"")))
        .body(body))
}

#[derive(serde::Deserialize)]
pub(super) struct ReceiptParams {
    from: Option<String>,
    to: Option<String>,
}

/// GET /documents/{slug}/receipt?from={hash}&to={hash}: the change receipt of two revisions
/// (`crate::receipt`), as a file to keep: its bytes are what its signature covers.
pub(super) async fn receipt(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    params: web::Query<ReceiptParams>,
) -> Result<HttpResponse, Failure> {
    let slug = Slug::parse(&slug).map_err(crate::graphql::error::ApiError::from)?;
    let hash = |value: Option<&str>, name: &str| {
        revision_hash(value)?
            .ok_or_else(|| Failure::bad(format!("give {name}= the hash of a revision")))
    };
    let from = hash(params.from.as_deref(), "from")?;
    let to = hash(params.to.as_deref(), "to")?;
    let parts = state.store.receipt_parts(&anyone(), &slug, &from, &to).await?;
    let receipt = crate::receipt::receipt(&parts, &state.log_key, crate::store::Timestamp::now());
    let filename =
        format!("{}-{}-{}.receipt.json", slug.as_str(), &from.hex()[..12], &to.hex()[..12]);
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        // Each receipt is signed when issued: not one to cache.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(receipt))
}
