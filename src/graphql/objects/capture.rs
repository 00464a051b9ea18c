//! What captures say of a revision: `Revision.capture` (what was fetched, when, and its WARC
//! evidence) and `Revision.sightings` (from when to when the page showed it).

use async_graphql::{Context, Object, SimpleObject};

use crate::graphql::context::base_url;
use crate::graphql::error::ApiResult;
use crate::graphql::loaders::{CaptureOf, SightingsOf, load_optional};
use crate::graphql::scalars::DateTime;
use crate::store::{self, Capture, Sighting, Slug};

/// The capture that wrote a revision: what was fetched, when, and the WARC evidence of it.
pub struct RevisionCapture(pub Capture, pub String);

#[Object]
impl RevisionCapture {
    /// The URL the capture asked for.
    async fn url(&self) -> &str {
        &self.0.url
    }

    /// The URL its redirects ended at.
    async fn final_url(&self) -> Option<&str> {
        self.0.final_url.as_deref()
    }

    /// The HTTP status of the response.
    async fn status(&self) -> Option<i32> {
        self.0.status.map(i32::from)
    }

    async fn fetched_at(&self) -> DateTime {
        DateTime(self.0.fetched_at)
    }

    /// The response's `WARC-Payload-Digest`: SHA-256 of the body as sent, `sha256:` and
    /// base32, as WARC tools print it.
    async fn payload_digest(&self) -> Option<&str> {
        self.0.payload_digest.as_deref()
    }

    /// The `WARC-Record-ID` of the response record (`urn:uuid:…`).
    async fn warc_record_id(&self) -> Option<String> {
        self.0.response_record.map(|id| format!("urn:uuid:{id}"))
    }

    /// Where the WARC file of this capture (request and response records) is served.
    async fn warc_url(&self) -> &str {
        &self.1
    }
}

/// From when to when captures saw a revision's text on its page.
#[derive(SimpleObject)]
pub struct RevisionSightings {
    /// The first capture that saw it (the one that wrote it, for a captured revision).
    first_seen_at: DateTime,
    /// The last capture that saw it.
    last_seen_at: DateTime,
    /// How many captures saw it.
    count: u64,
}

impl From<Sighting> for RevisionSightings {
    fn from(sighting: Sighting) -> Self {
        Self {
            first_seen_at: DateTime(sighting.first),
            last_seen_at: DateTime(sighting.last),
            count: sighting.count,
        }
    }
}

/// A revision's capture, for `Revision.capture`.
pub async fn capture_of(
    ctx: &Context<'_>,
    revision: &store::Revision,
    slug: &Slug,
) -> ApiResult<Option<RevisionCapture>> {
    let key = CaptureOf(revision.hash.clone());
    let Some(capture) = load_optional(ctx, key).await? else { return Ok(None) };
    let url = format!(
        "{}/documents/{}/revisions/{}/capture.warc.gz",
        base_url(ctx)?,
        slug.as_str(),
        revision.hash
    );
    Ok(Some(RevisionCapture(capture, url)))
}

/// A revision's sightings, for `Revision.sightings`.
pub async fn sightings_of(
    ctx: &Context<'_>,
    revision: &store::Revision,
) -> ApiResult<Option<RevisionSightings>> {
    let key = SightingsOf(revision.hash.clone());
    Ok(load_optional(ctx, key).await?.map(Into::into))
}
