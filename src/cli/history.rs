//! `log`, `diff` and `receipt`: a document's history and what changed, as git shows them,
//! and as a signed file anyone can check.

use std::io::Write;

use anyhow::bail;

use crate::budget::Budget;
use crate::store::{Direction, PageRequest, RevisionHash, Slug, Store, Viewer};
use crate::textdiff::{ContextLines, Granularity};

/// Revisions read per page.
const PAGE: usize = 100;

pub(super) async fn log(store: &Store, slug: &str, max_count: usize) -> anyhow::Result<()> {
    let slug = Slug::parse(slug)?;
    let document = store
        .document_by_slug(&slug)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no document has the slug {slug}"))?;
    let mut out = std::io::stdout().lock();
    let mut after = None;
    let mut shown = 0;
    while shown < max_count {
        let limit = (max_count - shown).min(PAGE) as u64;
        let page = store
            .list_revisions(
                document.id,
                PageRequest { after, before: None, limit, direction: Direction::Forward },
            )
            .await?;
        let authors =
            store.agents_by_ids(&page.items.iter().map(|r| r.author).collect::<Vec<_>>()).await?;
        for revision in &page.items {
            let author = authors.iter().find(|a| a.id == revision.author);
            writeln!(out, "revision {} {}", revision.number, revision.hash)?;
            match author {
                Some(a) => writeln!(out, "Author: {} ({}, {})", a.name, a.kind, a.id)?,
                None => writeln!(out, "Author: {}", revision.author)?,
            }
            writeln!(out, "Date:   {}", revision.created_at)?;
            writeln!(out, "Title:  {}", revision.title)?;
            writeln!(out)?;
            for line in revision.message.lines() {
                writeln!(out, "    {line}")?;
            }
            writeln!(out)?;
        }
        shown += page.items.len();
        after = page.items.last().map(|r| r.number);
        if !page.has_more {
            break;
        }
    }
    Ok(())
}

pub(super) async fn diff(
    database_url: &str,
    from: &str,
    to: &str,
    granularity: &str,
    context: usize,
) -> anyhow::Result<()> {
    let granularity = match granularity {
        "line" => Granularity::Line,
        "word" => Granularity::Word,
        "char" => Granularity::Char,
        other => bail!("--granularity must be line, word or char, not {other:?}"),
    };
    let (from, to) = (RevisionHash::parse(from)?, RevisionHash::parse(to)?);
    let context = ContextLines::new(i64::try_from(context).unwrap_or(i64::MAX))
        .map_err(|e| anyhow::anyhow!("--context {e}"))?;
    let store = super::open(database_url).await?;
    let diff = store
        .diff_revisions(
            &Viewer::everything(),
            Some(&from),
            &to,
            granularity,
            context,
            &Budget::unlimited(),
        )
        .await?;
    if diff.result.fell_back {
        eprintln!("note: the diff's time budget ran out; the result is coarser than asked");
    }
    let mut out = std::io::stdout().lock();
    match granularity {
        Granularity::Line => write!(out, "{}", diff.result.unified)?,
        _ => write!(out, "{}", diff.result.inline_text())?,
    }
    Ok(())
}

/// `receipt SLUG FROM TO`: a change receipt, signed with the log's key, into `output` (or on
/// standard output).
pub(super) async fn receipt(
    store: &Store,
    key_path: &std::path::Path,
    slug: &str,
    from: &str,
    to: &str,
    output: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let key = crate::checkpoint::LogKey::load(key_path)
        .with_context(|| "the receipt is signed with the log's key (see --log-key)")?;
    let slug = Slug::parse(slug)?;
    let parts = store
        .receipt_parts(
            &Viewer::everything(),
            &slug,
            &RevisionHash::parse(from)?,
            &RevisionHash::parse(to)?,
        )
        .await?;
    let receipt = crate::receipt::receipt(&parts, &key, crate::store::Timestamp::now());
    match output {
        Some(path) => {
            std::fs::write(&path, &receipt)?;
            eprintln!("wrote the receipt to {} ({} bytes)", path.display(), receipt.len());
        }
        None => std::io::stdout().lock().write_all(receipt.as_bytes())?,
    }
    Ok(())
}
