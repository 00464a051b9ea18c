//! Keyset pagination: every list the store serves is read by an indexed key, a bounded number
//! of rows at a time, never by offset.

/// Which way a page is read along a list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the start of the order (or from just after `after`).
    Forward,
    /// From the end of the order (or from just before `before`), returned in list order.
    Backward,
}

/// A bounded window of a list: rows strictly between `after` and `before`, `limit` of them,
/// taken from the start (`Forward`) or the end (`Backward`) of that window.
#[derive(Debug, Clone)]
pub struct PageRequest<K> {
    pub after: Option<K>,
    pub before: Option<K>,
    pub limit: u64,
    pub direction: Direction,
}

impl<K> PageRequest<K> {
    /// The first `limit` rows in list order.
    pub fn first(limit: u64) -> Self {
        Self { after: None, before: None, limit, direction: Direction::Forward }
    }
}

/// A page in list order, and whether the window held more rows than the page shows in the
/// direction it was read.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_more: bool,
}

impl<T> Page<T> {
    /// Builds a page from rows fetched with `limit + 1` in reading order: the extra row only
    /// tells whether there is more.
    pub(crate) fn from_probe(mut rows: Vec<T>, limit: u64, direction: Direction) -> Self {
        let has_more = rows.len() as u64 > limit;
        rows.truncate(limit as usize);
        if direction == Direction::Backward {
            rows.reverse();
        }
        Page { items: rows, has_more }
    }
}

/// Narrows `query` to the window of `page` over a UUID v7 key (time-ordered, so the list is
/// oldest first), sorted in reading order, with one row more than the page to probe for more.
pub(crate) fn uuid_window<E: sea_orm::EntityTrait>(
    query: sea_orm::Select<E>,
    key: E::Column,
    page: &PageRequest<uuid::Uuid>,
) -> sea_orm::Select<E> {
    use sea_orm::{ColumnTrait, QueryFilter, QueryOrder, QuerySelect};
    let mut query = query;
    if let Some(after) = page.after {
        query = query.filter(key.gt(after));
    }
    if let Some(before) = page.before {
        query = query.filter(key.lt(before));
    }
    let query = match page.direction {
        Direction::Forward => query.order_by_asc(key),
        Direction::Backward => query.order_by_desc(key),
    };
    query.limit(page.limit + 1)
}
