//! Full-text search: `Query.search` and its hits.

use async_graphql::connection::PageInfo;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};

use crate::fulltext::SearchQuery;
use crate::graphql::connection::{decode_cursor, encode_cursor};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::kinds::DocumentKind;
use crate::graphql::loaders::load_required;
use crate::graphql::nodes::{DocumentNode, RevisionNode};
use crate::store::{self, SearchCursor};

/// Where a search looks.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SearchScope {
    /// The documents as they are now: their heads' titles and texts.
    #[default]
    Heads,
    /// Every revision of every document: each hit says in which revisions the words stood.
    History,
}

impl From<SearchScope> for store::SearchScope {
    fn from(scope: SearchScope) -> Self {
        match scope {
            SearchScope::Heads => store::SearchScope::Heads,
            SearchScope::History => store::SearchScope::History,
        }
    }
}

/// Which documents a search looks in.
#[derive(InputObject, Default)]
pub struct SearchFilter {
    /// Only documents of this kind.
    kind: Option<DocumentKind>,
}

/// Where the words of a hit are.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchField {
    Title,
    Text,
}

/// A stretch of text, in Unicode code points, end exclusive (as `TextSelector` counts).
#[derive(SimpleObject, Debug, Clone, Copy)]
pub struct TextRange {
    pub start: u64,
    pub end: u64,
}

fn ranges(found: &[(usize, usize)]) -> Vec<TextRange> {
    found.iter().map(|&(s, e)| TextRange { start: s as u64, end: e as u64 }).collect()
}

/// A paragraph (or a title) where the words of a search are.
pub struct SearchHitNode(store::SearchHit);

#[Object(name = "SearchHit")]
impl SearchHitNode {
    async fn document(&self) -> DocumentNode {
        DocumentNode::new(self.0.document.clone())
    }

    /// The revision `ranges` are in: the head (scope `HEADS`), or the first revision that had
    /// the words (scope `HISTORY`; the same as `since`).
    async fn revision(&self) -> RevisionNode {
        RevisionNode::new(self.0.revision.clone())
    }

    /// The first revision whose paragraph (or title) held the words as they are here.
    async fn since(&self, ctx: &Context<'_>) -> ApiResult<RevisionNode> {
        Ok(RevisionNode(load_required(ctx, self.0.since.hash.clone()).await?))
    }

    /// The first revision that no longer held them; null while the head still does.
    async fn until(&self, ctx: &Context<'_>) -> ApiResult<Option<RevisionNode>> {
        match &self.0.until {
            Some(stamp) => Ok(Some(RevisionNode(load_required(ctx, stamp.hash.clone()).await?))),
            None => Ok(None),
        }
    }

    /// Whether the words are in the title or in the text.
    async fn field(&self) -> SearchField {
        if self.0.in_title { SearchField::Title } else { SearchField::Text }
    }

    /// The paragraph (or title) around the words, cut with `…` when long.
    async fn snippet(&self) -> &str {
        &self.0.snippet
    }

    /// Where the words are in `snippet`.
    async fn snippet_ranges(&self) -> Vec<TextRange> {
        ranges(&self.0.snippet_matches)
    }

    /// Where the words are in `revision`'s text (or its title, for `field: TITLE`), in code
    /// points as citation selectors count; null when that text was redacted.
    async fn ranges(&self) -> Option<Vec<TextRange>> {
        self.0.matches.as_deref().map(ranges)
    }

    /// How well the paragraph matches, by the database's ranking (higher is better; compare
    /// within one search only).
    async fn score(&self) -> f64 {
        -self.0.cursor.rank
    }
}

#[derive(SimpleObject)]
pub struct SearchHitEdge {
    cursor: String,
    node: SearchHitNode,
}

/// A page of hits, best first. Forward only (`first`, `after`); there is no total, which
/// would cost as much as finding every hit.
pub struct SearchHitConnection(pub store::SearchPage);

#[Object]
impl SearchHitConnection {
    async fn edges(&self) -> Vec<SearchHitEdge> {
        self.0
            .hits
            .iter()
            .map(|hit| SearchHitEdge {
                cursor: cursor_text(hit.cursor),
                node: SearchHitNode(hit.clone()),
            })
            .collect()
    }

    async fn nodes(&self) -> Vec<SearchHitNode> {
        self.0.hits.iter().cloned().map(SearchHitNode).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_previous_page: false,
            has_next_page: self.0.has_more,
            start_cursor: self.0.hits.first().map(|hit| cursor_text(hit.cursor)),
            end_cursor: self.0.hits.last().map(|hit| cursor_text(hit.cursor)),
        }
    }
}

fn cursor_text(cursor: SearchCursor) -> String {
    encode_cursor(&format!("s:{:016x}:{}", cursor.rank.to_bits(), cursor.passage))
}

fn parse_cursor(text: &str) -> Option<SearchCursor> {
    let raw = decode_cursor(text)?;
    let mut parts = raw.strip_prefix("s:")?.splitn(2, ':');
    let rank = f64::from_bits(u64::from_str_radix(parts.next()?, 16).ok()?);
    let passage = parts.next()?.parse().ok()?;
    rank.is_finite().then_some(SearchCursor { rank, passage })
}

/// The arguments of `Query.search`, parsed into the store's request.
pub fn request(
    viewer: store::Viewer,
    query: &str,
    scope: Option<SearchScope>,
    filter: Option<SearchFilter>,
    first: Option<i32>,
    after: Option<String>,
) -> ApiResult<store::SearchRequest> {
    let query =
        SearchQuery::parse(query).map_err(|err| ApiError::bad_input(format!("query: {err}")))?;
    let first = first.unwrap_or(crate::graphql::connection::DEFAULT_PAGE_SIZE);
    if !(1..=crate::graphql::connection::MAX_PAGE_SIZE).contains(&first) {
        return Err(ApiError::bad_input(format!("`first` must be between 1 and 100, not {first}")));
    }
    let after = after
        .map(|text| {
            parse_cursor(&text).ok_or_else(|| {
                ApiError::bad_input(format!(
                    "`after` is not a valid cursor: {}",
                    store::quoted(&text)
                ))
            })
        })
        .transpose()?;
    Ok(store::SearchRequest {
        viewer,
        query,
        scope: scope.unwrap_or_default().into(),
        kind: filter.and_then(|f| f.kind).map(Into::into),
        after,
        limit: first as u64,
    })
}
