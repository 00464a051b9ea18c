//! The `Citation` object type, its passages (W3C Web Annotation selectors) and quote
//! verification, computed on read against the cited text.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, Object, SimpleObject};

use super::history::DiffChange;
use crate::graphql::context::{draw_text, store};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::ids::GlobalId;
use crate::graphql::kinds::{CitationAnchor, CitationRelation};
use crate::graphql::loaders::{load_optional, load_required};
use crate::graphql::nodes::{AgentNode, CitationNode, DocumentNode, RevisionNode, SourceNode};
use crate::graphql::scalars::DateTime;
use crate::passage::{self, QuoteCheck, VerificationStatus as Status};
use crate::store::{
    self, CitationTarget, DocumentId, RevisionHash, StoredSelector, UnredactedText,
};

/// The outcome of checking a quotation against the cited text.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerificationStatus {
    /// The exact words are in the cited revision.
    Verified,
    /// A close passage is there, but not the exact words.
    Altered,
    /// Neither the words nor a close passage are there.
    NotFound,
    /// There is no cited text in the corpus to check against, or nothing quoted to check.
    Unverifiable,
}

/// A passage as a W3C Web Annotation TextQuoteSelector (`exact`, `prefix`, `suffix`) and
/// TextPositionSelector (`start`, `end`: code points, end exclusive).
#[derive(SimpleObject, Clone)]
pub struct TextSelector {
    pub exact: Option<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
    pub start: Option<u64>,
    pub end: Option<u64>,
}

impl From<&StoredSelector> for TextSelector {
    fn from(s: &StoredSelector) -> Self {
        TextSelector {
            exact: s.exact.clone(),
            prefix: s.prefix.clone(),
            suffix: s.suffix.clone(),
            start: s.start.map(|v| v as u64),
            end: s.end.map(|v| v as u64),
        }
    }
}

/// What a quotation check found.
pub struct QuoteVerification {
    result: QuoteCheck,
    against: Option<RevisionHash>,
}

#[Object]
impl QuoteVerification {
    async fn status(&self) -> VerificationStatus {
        match self.result.status {
            Status::Verified => VerificationStatus::Verified,
            Status::Altered => VerificationStatus::Altered,
            Status::NotFound => VerificationStatus::NotFound,
            Status::Unverifiable => VerificationStatus::Unverifiable,
        }
    }

    /// Why, in words.
    async fn reason(&self) -> &str {
        &self.result.reason
    }

    /// The revision checked against.
    async fn against(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionNode>> {
        match &self.against {
            // Null, too, where the caller may not read it.
            Some(hash) => Ok(load_optional(ctx, hash.clone()).await?.map(RevisionNode)),
            None => Ok(None),
        }
    }

    /// Where the words (VERIFIED) or the close passage (ALTERED) are in that revision.
    async fn passage(&self) -> Option<TextSelector> {
        self.result.found.clone().map(|p| TextSelector::from(&StoredSelector::from(p)))
    }

    /// Whether they are at the position the citation gives; null if it gives none.
    async fn at_given_position(&self) -> Option<bool> {
        self.result.at_given_position
    }

    /// Word similarity of the quotation and the passage (1 when verified).
    async fn similarity(&self) -> Option<f64> {
        self.result.similarity
    }

    /// For ALTERED: a word diff from the quotation to the passage in the cited text.
    async fn changes(&self) -> Option<Vec<DiffChange>> {
        let diff = self.result.diff.as_ref()?;
        Some(diff.hunks.iter().flat_map(|h| &h.changes).map(DiffChange::from).collect())
    }
}

impl CitationNode {
    /// Checks the quoted words against `revision` of the cited document.
    async fn verify_against(
        &self,
        ctx: &Context<'_>,
        revision: RevisionHash,
    ) -> ApiResult<QuoteVerification> {
        let Some(quote) = self.0.quoted_words().map(str::to_owned) else {
            return Ok(QuoteVerification {
                result: QuoteCheck::no_passage(),
                against: Some(revision),
            });
        };
        let (target, readable) = match load_optional(ctx, revision.clone()).await? {
            Some(target) => (target, true),
            // A cited revision the caller may not read: its verdict, and nothing of its text.
            None => match hidden_revision(ctx, &revision).await? {
                Some(target) => (Arc::new(target), false),
                None => return Ok(no_text()),
            },
        };
        let Some(unredacted) = UnredactedText::of(&target) else {
            return Ok(QuoteVerification {
                result: QuoteCheck::redacted(),
                against: readable.then_some(revision),
            });
        };
        draw_text(ctx, "verification", target.content_bytes)?;
        let text: Arc<str> = load_required(ctx, unredacted).await?;
        let given = self.0.target_position();
        let result = store(ctx)?
            .compute()
            .run(move || passage::check_quote(&quote, &text, given))
            .await
            .map_err(|err| ApiError::from(crate::store::StoreError::from(err)))?;
        if !readable {
            return Ok(QuoteVerification { result: result.withheld(), against: None });
        }
        Ok(QuoteVerification { result, against: Some(revision) })
    }

    /// The cited document's head: a document the caller may not read has one too, whose
    /// verdict `verify_against` gives without its text.
    async fn head_of_target(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionHash>> {
        match &self.0.target {
            CitationTarget::Document { id, .. } => {
                match load_optional::<DocumentId>(ctx, *id).await? {
                    Some(document) => Ok(Some(document.head)),
                    None => Ok(store(ctx)?.documents_by_ids(&[*id]).await?.pop().map(|d| d.head)),
                }
            }
            CitationTarget::Source(_) => Ok(None),
        }
    }
}

/// A cited revision the caller may not read, read for its verdict alone.
async fn hidden_revision(
    ctx: &Context<'_>,
    revision: &RevisionHash,
) -> ApiResult<Option<store::Revision>> {
    let everything = store::Viewer::everything();
    let found =
        store(ctx)?.revisions_by_hashes(&everything, std::slice::from_ref(revision)).await?;
    Ok(found.into_iter().next())
}

fn no_text() -> QuoteVerification {
    QuoteVerification { result: QuoteCheck::no_text(), against: None }
}

#[Object(name = "Citation")]
impl CitationNode {
    /// An opaque global id of this citation as recorded in this revision.
    pub async fn id(&self) -> ID {
        GlobalId::Citation(self.0.id).encode()
    }

    /// The same for every revision this citation followed into.
    async fn lineage_id(&self) -> ID {
        GlobalId::Citation(self.0.lineage).encode()
    }

    async fn relation(&self) -> CitationRelation {
        self.0.relation.into()
    }

    /// How the citation came to be in its citing revision.
    async fn anchor(&self) -> CitationAnchor {
        self.0.anchor.into()
    }

    /// The row of the previous revision this one continues.
    async fn origin(&self, ctx: &Context<'_>) -> ApiResult<Option<CitationNode>> {
        match self.0.origin {
            Some(id) => Ok(load_optional(ctx, id).await?.map(CitationNode)),
            None => Ok(None),
        }
    }

    async fn citing_document(&self, ctx: &Context<'_>) -> ApiResult<DocumentNode> {
        Ok(DocumentNode::new(load_required(ctx, self.0.citing_document).await?))
    }

    async fn citing_revision(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.citing_revision.clone()).await?))
    }

    /// The passage of the citing revision that cites; for an orphaned citation, the words
    /// that are no longer there (without a position).
    async fn citing_passage(&self) -> Option<TextSelector> {
        self.0.citing_passage.as_ref().map(TextSelector::from)
    }

    /// The cited document, if the citation cites one.
    async fn target_document(&self, ctx: &Context<'_>) -> ApiResult<Option<DocumentNode>> {
        match &self.0.target {
            CitationTarget::Document { id, .. } => {
                Ok(load_optional::<DocumentId>(ctx, *id).await?.map(DocumentNode::new))
            }
            CitationTarget::Source(_) => Ok(None),
        }
    }

    /// The revision of the cited document the citation is pinned to, if any.
    async fn target_revision(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionNode>> {
        match &self.0.target {
            CitationTarget::Document { pinned: Some(hash), .. } => {
                Ok(load_optional(ctx, hash.clone()).await?.map(RevisionNode))
            }
            _ => Ok(None),
        }
    }

    /// The external source, if the citation cites one.
    async fn target_source(&self, ctx: &Context<'_>) -> ApiResult<Option<SourceNode>> {
        match &self.0.target {
            CitationTarget::Source(id) => Ok(Some(SourceNode(load_required(ctx, *id).await?))),
            CitationTarget::Document { .. } => Ok(None),
        }
    }

    /// The cited passage, as the citation gives it.
    async fn target_passage(&self) -> Option<TextSelector> {
        self.0.target_passage.as_ref().map(TextSelector::from)
    }

    async fn created_by(&self, ctx: &Context<'_>) -> ApiResult<AgentNode> {
        Ok(AgentNode(load_required(ctx, self.0.created_by).await?))
    }

    async fn created_at(&self) -> DateTime {
        self.0.created_at.into()
    }

    /// Are the quoted words (`targetPassage.exact`, else `citingPassage.exact`) in the cited
    /// revision: the pinned one, or the cited document's head if unpinned.
    #[graphql(complexity = 20)]
    async fn verification(&self, ctx: &Context<'_>) -> ApiResult<QuoteVerification> {
        match &self.0.target {
            CitationTarget::Document { pinned: Some(hash), .. } => {
                self.verify_against(ctx, hash.clone()).await
            }
            CitationTarget::Document { .. } => match self.head_of_target(ctx).await? {
                Some(head) => self.verify_against(ctx, head).await,
                None => Ok(no_text()),
            },
            CitationTarget::Source(_) => Ok(no_text()),
        }
    }

    /// The same check against the cited document's current head, so that drift after later
    /// edits of the cited document shows.
    #[graphql(complexity = 20)]
    async fn current_verification(&self, ctx: &Context<'_>) -> ApiResult<QuoteVerification> {
        match self.head_of_target(ctx).await? {
            Some(head) => self.verify_against(ctx, head).await,
            None => Ok(no_text()),
        }
    }
}

/// A pinned citation whose quote fares differently against the cited document's head than
/// against the revision it is pinned to (`Query.driftedCitations`).
pub struct CitationDriftNode(pub store::CitationDrift);

#[Object(name = "CitationDrift")]
impl CitationDriftNode {
    async fn citation(&self) -> CitationNode {
        CitationNode(self.0.pinned.citation.clone())
    }

    /// The verdict against the pinned revision (the citation's `verification`).
    async fn pinned(&self) -> QuoteVerification {
        QuoteVerification::of(&self.0.pinned)
    }

    /// The verdict against the cited document's head (its `currentVerification`).
    async fn current(&self) -> QuoteVerification {
        QuoteVerification::of(&self.0.current)
    }
}

impl QuoteVerification {
    /// A verdict the store reached.
    pub(crate) fn of(verdict: &store::CitationVerdict) -> Self {
        QuoteVerification {
            result: verdict.verification.clone(),
            against: verdict.target.as_ref().map(|(_, revision)| revision.hash.clone()),
        }
    }
}

/// Drifted citations found in a window of candidates (`Query.driftedCitations`).
#[derive(SimpleObject)]
pub struct CitationDriftPage {
    drifts: Vec<CitationDriftNode>,
    /// Whether candidates follow the window, and the cursor to pass as `after` for them.
    has_next_page: bool,
    end_cursor: Option<String>,
}

impl CitationDriftPage {
    pub fn new(page: store::DriftPage) -> Self {
        Self {
            drifts: page.drifts.into_iter().map(CitationDriftNode).collect(),
            has_next_page: page.next.is_some(),
            end_cursor: page
                .next
                .map(|id| crate::graphql::connection::encode_cursor(&format!("d:{id}"))),
        }
    }

    /// The candidate an `after` cursor names.
    pub fn after(cursor: &str) -> ApiResult<store::CitationId> {
        crate::graphql::connection::decode_cursor(cursor)
            .and_then(|raw| raw.strip_prefix("d:").and_then(|id| store::CitationId::parse(id).ok()))
            .ok_or_else(|| {
                ApiError::bad_input(format!(
                    "`after` is not a valid cursor: {}",
                    store::quoted(cursor)
                ))
            })
    }
}
