// Over 400 lines, as one file: indexing — what a write adds and closes — and finding — the
// query, the rank, the ranges — share the paragraph model and each backend's SQL, which must
// change together; the query language itself is `crate::fulltext`.

//! Full-text search over current heads and over the whole history (`search_passages`; see its
//! migration). Each distinct paragraph of a document's history is one row, with the revisions
//! it stood in, `[from_number, until_number)`; a write indexes what its revision added and
//! closes what it removed, in its own transaction, so the index is never behind the corpus
//! (but for SQLite's heads' index under a bulk import, `HeadsIndex::Deferred`).
//! The database's own engine finds and ranks (FTS5 `bm25`, PostgreSQL `ts_rank_cd`); this
//! module then reads the hits' revisions and texts and says where the words are.

use std::collections::HashMap;
use std::fmt::Write as _;

use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use uuid::Uuid;

use super::Store;
use super::access::Viewer;
use super::documents::Document;
use super::error::{StoreError, StoreResult};
use super::history::RevisionStamp;
use super::kinds::DocumentKind;
use super::revisions::Revision;
use super::sql::ROWS_PER_STATEMENT;
use super::sql::placeholder;
use super::values::{DocumentId, InvalidValue};
use crate::fulltext::{self, SearchQuery};

/// Where a search looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchScope {
    /// The documents as they are now.
    Heads,
    /// Every revision: each hit says in which revisions the words stood.
    History,
}

/// Where a page of hits starts: after this rank and passage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchCursor {
    pub rank: f64,
    pub passage: i64,
}

#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Only documents this caller may read are searched.
    pub viewer: Viewer,
    pub query: SearchQuery,
    pub scope: SearchScope,
    pub kind: Option<DocumentKind>,
    pub after: Option<SearchCursor>,
    /// 1 to 100.
    pub limit: u64,
}

/// One paragraph (or title) where the words are.
#[derive(Debug, Clone)]
pub struct SearchHit {
    pub cursor: SearchCursor,
    pub document: Document,
    /// The revision the text and ranges are of: the head (`Heads`), or the first revision that
    /// had the words (`History`).
    pub revision: Revision,
    /// The first revision that had them, and the first that no longer did (`None`: the head
    /// still has them).
    pub since: RevisionStamp,
    pub until: Option<RevisionStamp>,
    /// Whether the words are in the title rather than the text.
    pub in_title: bool,
    /// The paragraph around the words, cut with `…` when long.
    pub snippet: String,
    /// Where the words are in `snippet`, in code points.
    pub snippet_matches: Vec<(usize, usize)>,
    /// Where they are in the revision's text (or title), in code points, as a citation
    /// selector counts: `None` when the text was redacted.
    pub matches: Option<Vec<(usize, usize)>>,
}

#[derive(Debug, Clone)]
pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    pub has_more: bool,
}

/// A paragraph row as the engine returned it.
struct Found {
    passage: i64,
    rank: f64,
    document: DocumentId,
    in_title: bool,
    /// The paragraph's key: its text is found again in a revision that holds it.
    key: i64,
    from: i64,
    until: Option<i64>,
}

/// What one revision brings to the index.
pub(crate) struct Indexed<'a> {
    pub document: DocumentId,
    pub number: i64,
    pub title: &'a str,
    /// `None` for a redacted text: its paragraphs are taken as its parent's.
    pub content: Option<&'a str>,
    /// `paragraph_keys` of the title and content, when worked out ahead.
    pub keys: Option<&'a [i64]>,
}

/// The keys `index_revisions` files a revision's title and paragraphs under, in their order.
pub(crate) fn paragraph_keys(title: &str, content: &str) -> Vec<i64> {
    paragraphs_of(title, content)
        .map(|(in_title, text)| fulltext::paragraph_key(in_title, text))
        .collect()
}

/// A revision's title, then its content's paragraphs: what the index holds of it.
fn paragraphs_of<'a>(title: &'a str, content: &'a str) -> impl Iterator<Item = (bool, &'a str)> {
    std::iter::once((true, title)).chain(fulltext::paragraphs(content).map(|p| (false, p)))
}

/// Whether a write keeps SQLite's heads' index (`search_heads_fts`) as it goes, or leaves it to
/// be built once (`rebuild_heads`) when a bulk import ends: a paragraph such an import puts in
/// with one batch, the next batch mostly takes out again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadsIndex {
    AsWritten,
    /// New paragraphs are not put in; closed ones are taken out where the index may hold them,
    /// rows up to `since` (`IndexesPaused`), so that it holds no closed paragraph.
    Deferred {
        since: i64,
    },
}

/// An open paragraph: still in the document's newest revision indexed so far.
struct Open {
    /// The stored row's id, or where it waits in `new` when written in this batch.
    row: Row,
    key: i64,
}

#[derive(Clone, Copy)]
enum Row {
    Stored(i64),
    New(usize),
}

struct NewPassage {
    document: DocumentId,
    in_title: bool,
    key: i64,
    text: String,
    from: i64,
    until: Option<i64>,
}

/// Indexes `revisions` (in history order per document, each one the successor of the last
/// indexed of its document), in the caller's transaction: the paragraphs each adds are written,
/// those it drops are closed at its number. A few statements whatever their number.
#[tracing::instrument(level = "debug", name = "search_index", skip_all)]
pub(crate) async fn index_revisions(
    conn: &impl ConnectionTrait,
    revisions: &[Indexed<'_>],
    heads: HeadsIndex,
) -> StoreResult<()> {
    if revisions.is_empty() {
        return Ok(());
    }
    let backend = conn.get_database_backend();
    let mut documents: Vec<DocumentId> = revisions.iter().map(|r| r.document).collect();
    documents.sort();
    documents.dedup();
    let mut open: HashMap<DocumentId, Vec<Open>> = HashMap::new();
    for chunk in documents.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "SELECT id, document_id, paragraph_key FROM search_passages \
             WHERE until_number IS NULL AND document_id IN ({})",
            (1..=chunk.len()).map(|i| placeholder(backend, i)).collect::<Vec<_>>().join(",")
        );
        let values: Vec<Value> = chunk.iter().map(|d| Value::from(d.as_uuid())).collect();
        for row in conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await? {
            let id: i64 = row.try_get_by_index(0)?;
            let document: Uuid = row.try_get_by_index(1)?;
            let key: i64 = row.try_get_by_index(2)?;
            open.entry(document.into()).or_default().push(Open { row: Row::Stored(id), key });
        }
    }
    let mut new: Vec<NewPassage> = Vec::new();
    // Stored rows closed, by their document (which names the partition that holds them, on
    // PostgreSQL), each with the number that closed it.
    let mut closed: HashMap<DocumentId, Vec<(i64, i64)>> = HashMap::new();
    for revision in revisions {
        let Some(content) = revision.content else { continue };
        let paragraphs = paragraphs_of(revision.title, content);
        let mut keys = revision.keys.map(|keys| keys.iter().copied());
        let still = open.remove(&revision.document).unwrap_or_default();
        let mut unmatched: HashMap<i64, Vec<Row>> = HashMap::new();
        for o in still {
            unmatched.entry(o.key).or_default().push(o.row);
        }
        let mut kept = Vec::new();
        for (in_title, text) in paragraphs {
            let key = match keys.as_mut().and_then(Iterator::next) {
                Some(key) => key,
                None => fulltext::paragraph_key(in_title, text),
            };
            match unmatched.get_mut(&key).and_then(Vec::pop) {
                Some(row) => kept.push(Open { row, key }),
                None => {
                    new.push(NewPassage {
                        document: revision.document,
                        in_title,
                        key,
                        text: text.to_owned(),
                        from: revision.number,
                        until: None,
                    });
                    kept.push(Open { row: Row::New(new.len() - 1), key });
                }
            }
        }
        for row in unmatched.into_values().flatten() {
            match row {
                Row::Stored(id) => {
                    closed.entry(revision.document).or_default().push((id, revision.number))
                }
                Row::New(at) => new[at].until = Some(revision.number),
            }
        }
        open.insert(revision.document, kept);
    }
    if backend == DbBackend::Postgres {
        // One statement per document, whatever number of its revisions closed paragraphs (an
        // import in time order closes some at nearly every revision). Not one for all
        // documents: PostgreSQL plans a join against a list of them as a hash join over every
        // partition.
        for (document, rows) in closed {
            close_postgres(conn, document, &rows).await?;
        }
    } else {
        let rows: Vec<(i64, i64)> = closed.into_values().flatten().collect();
        close_sqlite(conn, &rows, heads).await?;
    }
    match backend {
        DbBackend::Sqlite => insert_sqlite(conn, &new, heads).await?,
        _ => insert_postgres(conn, &new).await?,
    }
    Ok(())
}

/// Closes `rows` (stored ids, each with the number that closed it) of `document` in one
/// statement, the pairs passed as two arrays. Lists of placeholders cost PostgreSQL a pass over
/// every row of the document per chunk (`id IN (…)` filtered, or hashed against, a scan of the
/// document's rows): a 4 MiB revision that closed 70,000 line paragraphs took 140 statements
/// of 0.5 s each.
async fn close_postgres(
    conn: &impl ConnectionTrait,
    document: DocumentId,
    rows: &[(i64, i64)],
) -> StoreResult<()> {
    // Bound as their text (`{1,2,3}`) and cast: sea-orm is built without `postgres-array`,
    // so an array cannot be bound as itself; integers need no quoting.
    let ids = array_text(rows.iter().map(|&(id, _)| id));
    let numbers = array_text(rows.iter().map(|&(_, number)| number));
    let sql = "UPDATE search_passages AS sp SET until_number = closed.number \
               FROM unnest($1::text::bigint[], $2::text::bigint[]) AS closed (id, number) \
               WHERE sp.document_id = $3 AND sp.id = closed.id";
    let values = vec![Value::from(ids), Value::from(numbers), Value::from(document.as_uuid())];
    let closed =
        conn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, values)).await?;
    all_closed(closed.rows_affected(), rows.len())
}

/// Every open paragraph a revision closes was read from the index in the same transaction:
/// one not found to close is a bug, or a write behind the store's back, and is not committed
/// over.
fn all_closed(closed: u64, asked: usize) -> StoreResult<()> {
    if closed != asked as u64 {
        return Err(StoreError::Unexpected(anyhow::anyhow!(
            "{closed} of {asked} open paragraphs to close were found"
        )));
    }
    Ok(())
}

/// PostgreSQL's text form of an array of integers: `{1,2,3}`.
fn array_text(values: impl Iterator<Item = i64>) -> String {
    let mut text = String::from("{");
    for (i, value) in values.enumerate() {
        if i > 0 {
            text.push(',');
        }
        text.push_str(&value.to_string());
    }
    text.push('}');
    text
}

/// `(…),(…)` for `rows` rows of `columns` placeholders each, numbered from 1; `cell` writes
/// column `c` (from 1) around its placeholder.
fn value_rows(
    backend: DbBackend,
    rows: usize,
    columns: usize,
    cell: impl Fn(usize, String) -> String,
) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> =
                (1..=columns).map(|c| cell(c, placeholder(backend, r * columns + c))).collect();
            format!("({})", cells.join(","))
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Closes `rows` (stored ids, each with the number that closed it) in one statement, the pairs
/// passed as one JSON array that SQLite walks, finding each row by its id (a `CASE` over the
/// ids would try each `WHEN` in turn for every row), and takes them out of the heads' index.
async fn close_sqlite(
    conn: &impl ConnectionTrait,
    rows: &[(i64, i64)],
    heads: HeadsIndex,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let backend = DbBackend::Sqlite;
    let mut pairs = String::with_capacity(rows.len() * 16);
    pairs.push('[');
    for (i, (id, number)) in rows.iter().enumerate() {
        if i > 0 {
            pairs.push(',');
        }
        // Integers need no quoting.
        let _ = write!(pairs, "[{id},{number}]");
    }
    pairs.push(']');
    let sql = "UPDATE search_passages SET until_number = closed.value ->> 1 \
               FROM json_each(?) AS closed WHERE search_passages.id = closed.value ->> 0";
    let closing = Statement::from_sql_and_values(backend, sql, [Value::from(pairs.as_str())]);
    let closed = conn.execute_raw(closing).await?;
    all_closed(closed.rows_affected(), rows.len())?;
    let since = match heads {
        HeadsIndex::AsWritten => i64::MAX,
        HeadsIndex::Deferred { since } => since,
    };
    let sql = "DELETE FROM search_heads_fts WHERE rowid IN \
               (SELECT closed.value ->> 0 FROM json_each(?) AS closed WHERE closed.value ->> 0 <= ?)";
    let values = [Value::from(pairs), Value::from(since)];
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// On SQLite, the largest passage id ever given: never one a deleted row had, since the
/// indexes may still remember it as deleted until they are merged (`sqlite_sequence` keeps
/// the largest ever given, as AUTOINCREMENT does).
pub(crate) async fn last_passage_id(conn: &impl ConnectionTrait) -> StoreResult<i64> {
    let row = conn
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'search_passages'), 0), \
             COALESCE((SELECT MAX(id) FROM search_passages), 0))",
        ))
        .await?;
    Ok(row.map(|row| row.try_get_by_index(0)).transpose()?.unwrap_or(0))
}

/// On SQLite the rows take their ids here, under the transaction's write lock, so that the
/// contentless FTS5 tables can be given each paragraph's words under its row's id.
async fn insert_sqlite(
    conn: &impl ConnectionTrait,
    new: &[NewPassage],
    heads: HeadsIndex,
) -> StoreResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    let backend = DbBackend::Sqlite;
    let ids = (last_passage_id(conn).await? + 1..).take(new.len());
    const COLUMNS: usize = 6;
    let rows: Vec<(i64, &NewPassage)> = ids.zip(new).collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT / COLUMNS) {
        let sql = format!(
            "INSERT INTO search_passages \
             (id, document_id, in_title, paragraph_key, from_number, until_number) VALUES {}",
            value_rows(backend, chunk.len(), COLUMNS, |_, p| p)
        );
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS);
        for (id, p) in chunk {
            values.push(Value::from(*id));
            values.push(Value::from(p.document.as_uuid()));
            values.push(Value::from(p.in_title));
            values.push(Value::from(p.key));
            values.push(Value::from(p.from));
            values.push(Value::from(p.until));
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    let words: Vec<(i64, &str)> = rows.iter().map(|(id, p)| (*id, p.text.as_str())).collect();
    insert_words(conn, "search_passages_fts", &words).await?;
    if heads == HeadsIndex::AsWritten {
        let open: Vec<(i64, &str)> = rows
            .iter()
            .filter(|(_, p)| p.until.is_none())
            .map(|(id, p)| (*id, p.text.as_str()))
            .collect();
        insert_words(conn, "search_heads_fts", &open).await?;
    }
    Ok(())
}

/// Gives SQLite's FTS5 `table` (one of `SQLITE_INDEXES`) each paragraph's words under its row's id.
async fn insert_words(
    conn: &impl ConnectionTrait,
    table: &str,
    rows: &[(i64, &str)],
) -> StoreResult<()> {
    for chunk in rows.chunks(ROWS_PER_STATEMENT / 2) {
        let sql = format!(
            "INSERT INTO {table} (rowid, text) VALUES {}",
            value_rows(DbBackend::Sqlite, chunk.len(), 2, |_, p| p)
        );
        let mut values = Vec::with_capacity(chunk.len() * 2);
        for &(id, text) in chunk {
            values.push(Value::from(id));
            values.push(Value::from(text));
        }
        conn.execute_raw(Statement::from_sql_and_values(DbBackend::Sqlite, sql, values)).await?;
    }
    Ok(())
}

/// On PostgreSQL the words are computed in the insert; the text itself is not kept.
async fn insert_postgres(conn: &impl ConnectionTrait, new: &[NewPassage]) -> StoreResult<()> {
    let backend = DbBackend::Postgres;
    const COLUMNS: usize = 6;
    for chunk in new.chunks(ROWS_PER_STATEMENT / COLUMNS) {
        // The first 100,000 characters of a paragraph: a tsvector holds at most 1 MB, and a
        // longer paragraph would refuse the write that brings it.
        let rows = value_rows(backend, chunk.len(), COLUMNS, |c, p| match c {
            COLUMNS => format!("to_tsvector('simple', left({p}, 100000))"),
            _ => p,
        });
        let sql = format!(
            "INSERT INTO search_passages \
             (document_id, in_title, paragraph_key, from_number, until_number, tsv) VALUES {rows}"
        );
        let mut values = Vec::with_capacity(chunk.len() * COLUMNS);
        for p in chunk {
            values.push(Value::from(p.document.as_uuid()));
            values.push(Value::from(p.in_title));
            values.push(Value::from(p.key));
            values.push(Value::from(p.from));
            values.push(Value::from(p.until));
            values.push(Value::from(p.text.as_str()));
        }
        conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    }
    Ok(())
}

/// Forgets, when revision `number` of `document` is redacted (after it is marked so, in the
/// same transaction), every paragraph that no unredacted revision holds any more: those that
/// stood only in it, and those that stood only in it and other redacted revisions. The others
/// are still in revisions that keep their text.
pub(crate) async fn unindex_redacted(
    conn: &impl ConnectionTrait,
    document: DocumentId,
    number: i64,
) -> StoreResult<()> {
    let backend = conn.get_database_backend();
    let p = |i| placeholder(backend, i);
    let sql = format!(
        "DELETE FROM search_passages WHERE document_id = {} AND from_number <= {} \
         AND (until_number IS NULL OR until_number > {}) \
         AND NOT EXISTS (SELECT 1 FROM revisions r \
           WHERE r.document_id = search_passages.document_id \
           AND r.number >= search_passages.from_number \
           AND (search_passages.until_number IS NULL OR r.number < search_passages.until_number) \
           AND r.redacted = {})",
        p(1),
        p(2),
        p(3),
        p(4)
    );
    let values = vec![
        Value::from(document.as_uuid()),
        Value::from(number),
        Value::from(number),
        Value::from(false),
    ];
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(())
}

/// The engine's side of a search: a page of matching paragraphs, best first, one more than
/// asked to tell whether there are more.
#[tracing::instrument(level = "debug", name = "search_find", skip_all)]
async fn find(conn: &impl ConnectionTrait, request: &SearchRequest) -> StoreResult<Vec<Found>> {
    let backend = conn.get_database_backend();
    let p = |i| placeholder(backend, i);
    let mut values: Vec<Value> = Vec::new();
    let (matched, rank, partition) = match backend {
        DbBackend::Sqlite => {
            values.push(request.query.to_fts5().into());
            let table = match request.scope {
                SearchScope::Heads => "search_heads_fts",
                SearchScope::History => "search_passages_fts",
            };
            (
                format!(
                    "(SELECT rowid AS id, bm25({table}) AS rank FROM {table} \
                     WHERE {table} MATCH {})",
                    p(1)
                ),
                "m.rank",
                "",
            )
        }
        _ => {
            values.push(request.query.to_tsquery().into());
            (
                format!(
                    "(SELECT sp.id, sp.document_id, \
                     -CAST(ts_rank_cd(sp.tsv, q) AS DOUBLE PRECISION) AS rank \
                     FROM search_passages sp, to_tsquery('simple', {}) q WHERE sp.tsv @@ q{})",
                    p(1),
                    // Written out here so that the planner takes the heads' partial index.
                    if request.scope == SearchScope::Heads {
                        " AND sp.until_number IS NULL"
                    } else {
                        ""
                    }
                ),
                "m.rank",
                // The partition holding the row, found by its document.
                ", m.document_id",
            )
        }
    };
    let mut conditions = Vec::new();
    // Documents the caller may not read are not searched: their passages are cut before the
    // page is, so a page is never short for them (nor its `hasMore` telling of them).
    if let Some(hidden) = request.viewer.hidden_documents_sql(backend, &mut values) {
        conditions.push(if partition.is_empty() {
            format!(
                "m.id NOT IN (SELECT sp.id FROM search_passages sp \
                 WHERE sp.document_id IN ({hidden}))"
            )
        } else {
            format!("m.document_id NOT IN ({hidden})")
        });
    }
    if let Some(kind) = request.kind {
        values.push(kind.as_str().into());
        conditions.push(format!("d.kind = {}", p(values.len())));
    }
    if let Some(after) = request.after {
        // A placeholder per use: SQLite's `?` are positional.
        values.push(after.rank.into());
        let above = p(values.len());
        values.push(after.rank.into());
        let level = p(values.len());
        values.push(after.passage.into());
        let id = p(values.len());
        conditions.push(format!("({rank} > {above} OR ({rank} = {level} AND m.id > {id}))"));
    }
    values.push(((request.limit + 1) as i64).into());
    let limit = p(values.len());
    let columns = "s.document_id, s.in_title, s.paragraph_key, s.from_number, s.until_number";
    // SQLite's heads' index holds open paragraphs only; should it hold a closed one (a bug, or
    // a store written beside an import by an older build), the hit is not shown.
    let open_only = if backend == DbBackend::Sqlite && request.scope == SearchScope::Heads {
        " AND s.until_number IS NULL"
    } else {
        ""
    };
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    // Without a filter by kind, the page is cut from the engine's matches before anything is
    // joined to them: joining every match first cost most of a search for a common word.
    let sql = if request.kind.is_none() {
        let on_partition =
            if partition.is_empty() { "" } else { " AND s.document_id = t.document_id" };
        format!(
            "SELECT t.id, t.rank, {columns} FROM \
             (SELECT m.id{partition}, {rank} AS rank FROM {matched} m {filter} \
              ORDER BY {rank}, m.id LIMIT {limit}) t \
             JOIN search_passages s ON s.id = t.id{on_partition}{open_only} ORDER BY t.rank, t.id"
        )
    } else {
        format!(
            "SELECT s.id, {rank}, {columns} FROM {matched} m \
             JOIN search_passages s ON s.id = m.id{}{open_only} \
             JOIN documents d ON d.id = s.document_id {filter} ORDER BY {rank}, m.id LIMIT {limit}",
            if partition.is_empty() { "" } else { " AND s.document_id = m.document_id" }
        )
    };
    let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    rows.iter()
        .map(|row| {
            let document: Uuid = row.try_get_by_index(2)?;
            Ok(Found {
                passage: row.try_get_by_index(0)?,
                rank: row.try_get_by_index(1)?,
                document: document.into(),
                in_title: row.try_get_by_index(3)?,
                key: row.try_get_by_index(4)?,
                from: row.try_get_by_index(5)?,
                until: row.try_get_by_index(6)?,
            })
        })
        .collect()
}

impl Store {
    /// A page of hits for `request`, best first: each with its document, its revision (and the
    /// range of revisions the words stood in), a snippet and where the words are.
    pub async fn search(&self, request: &SearchRequest) -> StoreResult<SearchPage> {
        if !(1..=100).contains(&request.limit) {
            return Err(InvalidValue::new("first", "a page holds 1 to 100 hits").into());
        }
        let mut found = find(&self.db, request).await?;
        let has_more = found.len() as u64 > request.limit;
        found.truncate(request.limit as usize);
        let mut document_ids: Vec<DocumentId> = found.iter().map(|f| f.document).collect();
        document_ids.sort();
        document_ids.dedup();
        let documents = self.documents_by_ids(&document_ids).await?;
        // The revisions the hits name, by document and number, in one query per document.
        let mut numbers: HashMap<DocumentId, Vec<i64>> = HashMap::new();
        for f in &found {
            let wanted = numbers.entry(f.document).or_default();
            wanted.push(f.from);
            wanted.extend(f.until);
        }
        let revisions: HashMap<(DocumentId, i64), Revision> = self
            .revisions_numbered(numbers)
            .await?
            .into_iter()
            .map(|r| ((r.document_id, r.number), r))
            .collect();
        let heads: Vec<_> = documents.iter().map(|d| d.head.clone()).collect();
        let head_revisions = self.revisions_with_hashes(&heads).await?;
        // The revision each hit shows, and the one its paragraph is read from: the same unless
        // the shown one is redacted, when it is the first in the passage's range that is not
        // (every unredacted revision in the range holds the paragraph).
        let mut shown = Vec::with_capacity(found.len());
        for f in &found {
            let document =
                documents.iter().find(|d| d.id == f.document).cloned().ok_or_else(|| {
                    StoreError::Unexpected(anyhow::anyhow!("a hit's document is missing"))
                })?;
            let revision_at = |n: i64| {
                revisions.get(&(f.document, n)).cloned().ok_or_else(|| {
                    StoreError::Unexpected(anyhow::anyhow!(
                        "revision {n} of {} is missing",
                        f.document
                    ))
                })
            };
            let since = revision_at(f.from)?;
            let until = f.until.map(revision_at).transpose()?;
            let revision = match request.scope {
                SearchScope::History => since.clone(),
                SearchScope::Heads => {
                    head_revisions.iter().find(|r| r.hash == document.head).cloned().ok_or_else(
                        || StoreError::Unexpected(anyhow::anyhow!("a head is missing")),
                    )?
                }
            };
            let source = if revision.redacted {
                self.first_unredacted(f.document, f.from, f.until).await?
            } else {
                Some(revision.clone())
            };
            shown.push((document, since, until, revision, source));
        }
        let mut contents: Vec<_> = shown
            .iter()
            .filter_map(|(.., source)| source.as_ref())
            .filter(|r| !r.redacted)
            .map(|r| r.content_hash.clone())
            .collect();
        contents.sort();
        contents.dedup();
        let texts: HashMap<_, _> = self.contents_by_hashes(&contents).await?.into_iter().collect();
        let mut hits = Vec::with_capacity(found.len());
        for (f, (document, since, until, revision, source)) in found.iter().zip(shown) {
            let paragraph = source.as_ref().and_then(|source| {
                if f.in_title {
                    (fulltext::paragraph_key(true, &source.title) == f.key)
                        .then_some((0, source.title.as_str()))
                } else {
                    texts
                        .get(&source.content_hash)
                        .and_then(|text| fulltext::find_paragraph(text, f.key))
                }
            });
            let Some((at, paragraph)) = paragraph else {
                // The index names a paragraph no readable revision of its range holds: left
                // out of the page rather than failing the search, and said.
                tracing::error!(
                    document = %f.document,
                    passage = f.passage,
                    "a search hit's paragraph is in none of its revisions"
                );
                continue;
            };
            let in_paragraph = request.query.matches_in(paragraph);
            let snippet = fulltext::snippet(paragraph, &in_paragraph);
            // Where the words are in the shown revision's text: known when it is the one read.
            let matches = source
                .as_ref()
                .filter(|source| source.hash == revision.hash)
                .map(|_| in_paragraph.iter().map(|&(s, e)| (s + at, e + at)).collect());
            hits.push(SearchHit {
                cursor: SearchCursor { rank: f.rank, passage: f.passage },
                document,
                since: RevisionStamp::of(&since),
                until: until.as_ref().map(RevisionStamp::of),
                revision,
                in_title: f.in_title,
                snippet: snippet.text,
                snippet_matches: snippet.matches,
                matches,
            });
        }
        Ok(SearchPage { hits, has_more })
    }
}

impl Store {
    /// The revisions with these numbers of these documents, in one query.
    async fn revisions_numbered(
        &self,
        numbers: HashMap<DocumentId, Vec<i64>>,
    ) -> StoreResult<Vec<Revision>> {
        use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter};

        use crate::entity::revision;
        if numbers.is_empty() {
            return Ok(Vec::new());
        }
        let mut any = Condition::any();
        for (document, wanted) in numbers {
            any = any.add(
                Condition::all()
                    .add(revision::Column::DocumentId.eq(document.as_uuid()))
                    .add(revision::Column::Number.is_in(wanted)),
            );
        }
        Ok(revision::Entity::find()
            .filter(any)
            .all(&self.db)
            .await?
            .into_iter()
            .map(Revision::from)
            .collect())
    }

    /// The first revision of `document` in `[from, until)` whose text is not redacted.
    async fn first_unredacted(
        &self,
        document: DocumentId,
        from: i64,
        until: Option<i64>,
    ) -> StoreResult<Option<Revision>> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

        use crate::entity::revision;
        let mut query = revision::Entity::find()
            .filter(revision::Column::DocumentId.eq(document.as_uuid()))
            .filter(revision::Column::Number.gte(from))
            .filter(revision::Column::Redacted.eq(false));
        if let Some(until) = until {
            query = query.filter(revision::Column::Number.lt(until));
        }
        Ok(query.order_by_asc(revision::Column::Number).one(&self.db).await?.map(Revision::from))
    }
}

/// The most revisions (and their texts) held in memory at once while indexing older documents.
const BACKFILL_REVISIONS: u64 = 500;

/// Indexes the documents that have no passages yet (written before full-text search), each
/// in a transaction of its own, its history read `BACKFILL_REVISIONS` at a time, oldest first.
/// Interrupted, it goes on where it stopped: a document is indexed whole or not at all.
/// Returns how many revisions it indexed.
pub(crate) async fn index_unindexed(db: &sea_orm::DatabaseConnection) -> StoreResult<u64> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

    use crate::entity::revision;

    let backend = db.get_database_backend();
    let mut indexed = 0;
    let mut after: Option<Uuid> = None;
    loop {
        let (condition, values) = match after {
            Some(id) => (format!("AND d.id > {}", placeholder(backend, 1)), vec![Value::from(id)]),
            None => (String::new(), Vec::new()),
        };
        let sql = format!(
            "SELECT d.id FROM documents d WHERE NOT EXISTS \
             (SELECT 1 FROM search_passages s WHERE s.document_id = d.id) {condition} \
             ORDER BY d.id LIMIT 100"
        );
        let rows = db.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let ids: Vec<Uuid> =
            rows.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
        let Some(last) = ids.last() else { break };
        after = Some(*last);
        for id in ids {
            let tx = super::transaction::begin_write(db).await?;
            let mut from = 0;
            loop {
                let chunk: Vec<Revision> = revision::Entity::find()
                    .filter(revision::Column::DocumentId.eq(id))
                    .filter(revision::Column::Number.gt(from))
                    .order_by_asc(revision::Column::Number)
                    .limit(BACKFILL_REVISIONS)
                    .all(&tx)
                    .await?
                    .into_iter()
                    .map(Revision::from)
                    .collect();
                let Some(newest) = chunk.last() else { break };
                from = newest.number;
                let mut contents: Vec<_> =
                    chunk.iter().filter(|r| !r.redacted).map(|r| r.content_hash.clone()).collect();
                contents.sort();
                contents.dedup();
                let texts = super::texts::texts_of(&tx, &contents).await?;
                let text_of = |r: &Revision| match texts.get(r.content_hash.hex()) {
                    Some(super::texts::packing::Unpacked::Text(text)) if !r.redacted => {
                        Some(text.as_str())
                    }
                    _ => None,
                };
                let revisions: Vec<Indexed<'_>> = chunk
                    .iter()
                    .map(|r| Indexed {
                        document: id.into(),
                        number: r.number,
                        title: &r.title,
                        content: text_of(r),
                        keys: None,
                    })
                    .collect();
                index_revisions(&tx, &revisions, HeadsIndex::AsWritten).await?;
                indexed += chunk.len() as u64;
                if (chunk.len() as u64) < BACKFILL_REVISIONS {
                    break;
                }
            }
            // The search index, which only answers that read everything read.
            super::changes::log(&tx, &super::changes::Changed::no_document()).await?;
            tx.commit().await?;
        }
    }
    Ok(indexed)
}

/// The table that holds `document`'s passages on PostgreSQL: its partition of
/// `search_passages` (partitioned by a hash of the document), or the table itself where it is
/// not partitioned.
pub(crate) async fn relation_of(
    conn: &impl ConnectionTrait,
    document: uuid::Uuid,
) -> StoreResult<String> {
    let sql = "SELECT format('search_passages_p%s', lpad(r::text, 2, '0')) \
               FROM pg_class c, generate_series(0, 15) r \
               WHERE c.oid = 'search_passages'::regclass AND c.relkind = 'p' \
               AND satisfies_hash_partition(c.oid, 16, r, $1::uuid)";
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(DbBackend::Postgres, sql, [document.into()]))
        .await?;
    Ok(row
        .map(|row| row.try_get_by_index::<String>(0))
        .transpose()?
        .unwrap_or_else(|| "search_passages".to_owned()))
}

/// The search index's partitions on PostgreSQL (the table itself where it is not
/// partitioned), by name.
pub(crate) async fn partitions(conn: &impl ConnectionTrait) -> StoreResult<Vec<String>> {
    let sql = "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
               WHERE i.inhparent = 'search_passages'::regclass ORDER BY c.relname";
    let rows = conn.query_all_raw(Statement::from_string(DbBackend::Postgres, sql)).await?;
    let names: Vec<String> =
        rows.iter().map(|row| row.try_get_by_index(0)).collect::<Result<_, _>>()?;
    Ok(if names.is_empty() { vec!["search_passages".to_owned()] } else { names })
}

/// The search indexes on SQLite: FTS5 tables, which add a segment with each write that
/// changes them and merge segments as they accumulate.
const SQLITE_INDEXES: [&str; 2] = ["search_passages_fts", "search_heads_fts"];

/// FTS5's own default for `automerge`: a write merges a level once it holds this many
/// segments.
const AUTOMERGE: u32 = 4;

/// On SQLite, whether writes to the indexes merge their segments (`automerge` above 0).
pub(crate) async fn merging(conn: &impl ConnectionTrait) -> StoreResult<bool> {
    for table in SQLITE_INDEXES {
        let sql = format!("SELECT v FROM {table}_config WHERE k = 'automerge'");
        let row = conn.query_one_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
        if row.map(|row| row.try_get_by_index::<i64>(0)).transpose()? == Some(0) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// On SQLite, lets writes merge the indexes' segments (`true`, as FTS5 does by default) or
/// stops them (`false`); each index's setting is kept in the database.
pub(crate) async fn set_merging(conn: &impl ConnectionTrait, on: bool) -> StoreResult<()> {
    let segments = if on { AUTOMERGE } else { 0 };
    for table in SQLITE_INDEXES {
        let sql = format!("INSERT INTO {table}({table}, rank) VALUES ('automerge', {segments})");
        conn.execute_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    }
    Ok(())
}

/// PostgreSQL's word indexes over the search index, by name, each with the statement that
/// builds it (as `m20261206_000002_search_partitions` made them; a migration that changes them
/// changes these). A bulk import that outgrows
/// the store drops them while it writes and builds them once after: kept as it went, every
/// closed paragraph (whose `until_number` the partial indexes' predicates name, so never a HOT
/// update) wrote all its words into the GIN index again.
const POSTGRES_WORD_INDEXES: [(&str, &str); 2] = [
    (
        "search_passages_tsv",
        "CREATE INDEX IF NOT EXISTS search_passages_tsv ON search_passages USING GIN (tsv)",
    ),
    (
        "search_passages_heads_tsv",
        "CREATE INDEX IF NOT EXISTS search_passages_heads_tsv ON search_passages USING GIN (tsv) \
         WHERE until_number IS NULL",
    ),
];

/// Drops PostgreSQL's word indexes (`POSTGRES_WORD_INDEXES`); false, with a warning, when a
/// transaction held the table past the lock timeout (they are kept, and the import keeps them
/// as it writes).
pub(crate) async fn drop_word_indexes(db: &sea_orm::DatabaseConnection) -> StoreResult<bool> {
    let names = POSTGRES_WORD_INDEXES.map(|(name, _)| name).join(", ");
    let drop = format!("DROP INDEX IF EXISTS {names}");
    match super::upkeep::maintain_postgres(db, &drop).await? {
        Ok(()) => Ok(true),
        Err(error) => {
            tracing::warn!(%error, "the search's word indexes are kept while the import writes");
            Ok(false)
        }
    }
}

/// Builds whichever of PostgreSQL's word indexes is missing (after `drop_word_indexes`):
/// how many it built, or why one was not (a transaction holding the table past the lock
/// timeout, a full disk), the others built all the same; the next `migrate` tries again.
/// While a build runs, writes to the search index wait (a `SHARE` lock on every partition).
pub(crate) async fn build_word_indexes(
    db: &sea_orm::DatabaseConnection,
) -> StoreResult<Result<usize, String>> {
    let (mut built, mut failed) = (0, None);
    for (name, create) in POSTGRES_WORD_INDEXES {
        // By the search path, as the statements name them.
        let present = db
            .query_one_raw(Statement::from_sql_and_values(
                DbBackend::Postgres,
                "SELECT 1 WHERE to_regclass($1::text) IS NOT NULL",
                [Value::from(name)],
            ))
            .await?
            .is_some();
        if present {
            continue;
        }
        match super::upkeep::maintain_postgres(db, create).await? {
            Ok(()) => built += 1,
            Err(error) => failed = Some(format!("{name}: {error}")),
        }
    }
    Ok(failed.map_or(Ok(built), Err))
}

/// On SQLite, after writes that deferred the heads' index (`Store::pause_index_merges`):
/// builds it (`rebuild_heads`), merges each index into one segment and lets writes merge them
/// again, in the caller's transaction. Returns how many paragraphs the heads' index holds.
pub(crate) async fn resume_indexing(conn: &impl ConnectionTrait) -> StoreResult<u64> {
    let indexed = rebuild_heads(conn).await?;
    merge_all(conn).await?;
    set_merging(conn, true).await?;
    Ok(indexed)
}

/// Builds the heads' index anew from the open paragraphs: their words are read again from
/// each document's newest unredacted revision, which holds every paragraph still open (a
/// redacted text's paragraphs are its parent's, and a redaction forgets those no unredacted
/// revision holds). In the caller's transaction, so no search sees it half built and no write
/// adds to it meanwhile; texts of at most `REBUILT_BYTES` in memory at a time.
async fn rebuild_heads(conn: &impl ConnectionTrait) -> StoreResult<u64> {
    let backend = DbBackend::Sqlite;
    conn.execute_raw(Statement::from_string(
        backend,
        "INSERT INTO search_heads_fts(search_heads_fts) VALUES ('delete-all')",
    ))
    .await?;
    let mut after: Option<Uuid> = None;
    let (mut indexed, mut missing) = (0, 0);
    loop {
        let (condition, values) = match after {
            Some(id) => ("AND d.id > ?", vec![Value::from(id)]),
            None => ("", Vec::new()),
        };
        // A document with no unredacted revision has no open paragraph.
        let sql = format!(
            "SELECT d.id, r.title, r.content_sha256, r.content_bytes FROM documents d \
             JOIN revisions r ON r.document_id = d.id AND r.number = \
             (SELECT MAX(n.number) FROM revisions n WHERE n.document_id = d.id \
              AND n.redacted = 0) \
             WHERE 1 = 1 {condition} ORDER BY d.id LIMIT {REBUILT_DOCUMENTS}"
        );
        let rows = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
        let mut newest = Vec::with_capacity(rows.len());
        for row in &rows {
            let document: Uuid = row.try_get_by_index(0)?;
            let title: String = row.try_get_by_index(1)?;
            let content: super::values::ContentHash = row.try_get_by_index(2)?;
            let bytes: i64 = row.try_get_by_index(3)?;
            newest.push((document, title, content, bytes.max(0) as u64));
        }
        let Some(last) = newest.last() else { break };
        after = Some(last.0);
        // The page's documents in runs whose texts fit `REBUILT_BYTES` (a run holds one at
        // least).
        let mut runs: Vec<&[_]> = Vec::new();
        let (mut start, mut bytes) = (0, 0);
        for (at, (.., size)) in newest.iter().enumerate() {
            if at > start && bytes + size > REBUILT_BYTES {
                runs.push(&newest[start..at]);
                (start, bytes) = (at, 0);
            }
            bytes += size;
        }
        runs.push(&newest[start..]);
        for run in runs {
            let (found, lost) = rebuild_heads_of(conn, run).await?;
            indexed += found;
            missing += lost;
        }
    }
    if missing > 0 {
        tracing::warn!(
            missing,
            "open paragraphs not found in their document's newest unredacted revision: left out \
             of the heads' search index"
        );
    }
    tracing::debug!(indexed, "the heads' search index built");
    Ok(indexed)
}

/// `rebuild_heads` for `documents` (each with its newest unredacted revision's title, text and
/// the text's size): the open paragraphs put in, and how many were not found.
async fn rebuild_heads_of(
    conn: &impl ConnectionTrait,
    documents: &[(Uuid, String, super::values::ContentHash, u64)],
) -> StoreResult<(u64, u64)> {
    let backend = DbBackend::Sqlite;
    let contents: Vec<_> = documents.iter().map(|(_, _, content, _)| content.clone()).collect();
    let texts = super::texts::texts_of(conn, &contents).await?;
    // Each document's paragraphs by key, the title's among them.
    let mut words_of: HashMap<(Uuid, i64), &str> = HashMap::new();
    for (document, title, content, _) in documents {
        let text = match texts.get(content.hex()) {
            Some(super::texts::packing::Unpacked::Text(text)) => text,
            other => {
                let state = if other.is_some() { "purged or damaged" } else { "missing" };
                tracing::error!(%document, %content, state, "the heads' search index skips the text");
                continue;
            }
        };
        for (in_title, paragraph) in paragraphs_of(title, text) {
            words_of.insert((*document, fulltext::paragraph_key(in_title, paragraph)), paragraph);
        }
    }
    let list = (1..=documents.len()).map(|i| placeholder(backend, i)).collect::<Vec<_>>().join(",");
    let values: Vec<Value> = documents.iter().map(|(id, ..)| Value::from(*id)).collect();
    let sql = format!(
        "SELECT id, document_id, paragraph_key FROM search_passages \
         WHERE until_number IS NULL AND document_id IN ({list})"
    );
    let open = conn.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    let (mut words, mut missing) = (Vec::with_capacity(open.len()), 0);
    for row in &open {
        let (id, document, key): (i64, Uuid, i64) =
            (row.try_get_by_index(0)?, row.try_get_by_index(1)?, row.try_get_by_index(2)?);
        match words_of.get(&(document, key)) {
            Some(text) => words.push((id, *text)),
            None => missing += 1,
        }
    }
    // In the order of their ids: FTS5 writes what it holds in memory out as a segment of its
    // own whenever a row's id is below the one before (put in by document, the reference
    // corpus's 12,000 open paragraphs took 180 ms to insert, not 70).
    words.sort_unstable_by_key(|&(id, _)| id);
    insert_words(conn, "search_heads_fts", &words).await?;
    Ok((words.len() as u64, missing))
}

/// The documents `rebuild_heads` reads at a time.
const REBUILT_DOCUMENTS: usize = 100;
/// The most bytes of their texts `rebuild_heads` holds at a time (one text at least).
const REBUILT_BYTES: u64 = 32 << 20;

/// On SQLite, merges each index into one segment (which drops what deleted rows left).
pub(crate) async fn merge_all(conn: &impl ConnectionTrait) -> StoreResult<()> {
    for table in SQLITE_INDEXES {
        let sql = format!("INSERT INTO {table}({table}) VALUES ('optimize')");
        conn.execute_raw(Statement::from_string(DbBackend::Sqlite, sql)).await?;
    }
    Ok(())
}
