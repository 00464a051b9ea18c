//! `Query.changeReceipt`: a change receipt as a file's text.

use async_graphql::{Context, Object};

use crate::graphql::context::{draw_text, store};
use crate::graphql::error::ApiResult;
use crate::graphql::loaders::viewer;
use crate::graphql::objects::integrity::log_key;
use crate::store::{RevisionHash, Slug, Timestamp};

#[derive(Default)]
pub struct ReceiptFields;

#[Object]
impl ReceiptFields {
    /// A change receipt for two revisions of a document: one self-contained JSON file (save it
    /// as it is; its bytes are signed) that anyone can check offline with
    /// `docs/verify_receipt.py` and the log's verifier key: both revisions' headers and texts
    /// (a redacted one's redaction instead), the word changes, their captures' evidence
    /// digests and fetch times, when the page was seen showing each, and inclusion proofs of
    /// both in one signed checkpoint. UNAVAILABLE for a moment after a write, until a
    /// checkpoint covers it. Costs a point per KiB of the two texts, counted twice (see
    /// `rateLimit`).
    async fn change_receipt(
        &self,
        ctx: &Context<'_>,
        document: String,
        from: String,
        to: String,
    ) -> ApiResult<String> {
        let slug = Slug::parse(&document)?;
        let (from, to) = (RevisionHash::parse(&from)?, RevisionHash::parse(&to)?);
        let parts = store(ctx)?.receipt_parts(&viewer(ctx).await?, &slug, &from, &to).await?;
        // Each text is in the receipt twice: whole, and in the word changes.
        let texts = parts.from.revision.content_bytes + parts.to.revision.content_bytes;
        draw_text(ctx, "changeReceipt", texts.saturating_mul(2))?;
        Ok(crate::receipt::receipt(&parts, log_key(ctx)?, Timestamp::now()))
    }
}
