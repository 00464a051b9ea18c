//! The evidence of captured revisions as WARC files any web-archive tool reads.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::AppState;
use super::plain::{Failure, revision_hash};
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
    let (_, records) = state.store.capture_evidence(&slug, &hash).await?;
    let body: Vec<u8> = records.iter().flat_map(|record| gzip_member(&record.bytes)).collect();
    let filename = format!("{}-{}.warc.gz", slug.as_str(), &hash.as_str()[..12]);
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
