//! A document's history and a word diff between two of its revisions.

use maud::html;

use super::{diff_url, document_url, history_url, layout, lines, receipt_url, revision_link, when};
use crate::store::{Document, HistoryPage, Revision, RevisionDiff};
use crate::textdiff::ChangeOp;

/// The most revisions one history page lists.
pub const HISTORY_PAGE: u64 = 50;

/// A document's history, newest first, with a form to compare any two revisions listed.
pub fn history(history: &HistoryPage, base: &str) -> String {
    let document = &history.document;
    let title = format!("History of {}", history.head.title);
    let crumbs = html! {
        a href=(document_url(base, document)) { (document.slug.as_str()) } " › history"
    };
    let revisions = &history.revisions;
    let body = html! {
        h1 { (title) }
        p { (history.head.number) " revisions, the newest first; each links to its page, with its text and hashes." }
        @if revisions.len() > 1 {
            form.compare method="get" action={ (document_url(base, document)) "/diff" } {
                label { "From" select name="from" {
                    @for (i, (r, _)) in revisions.iter().enumerate() {
                        option value=(r.hash) selected[i == 1] { "Revision " (r.number) " · " (r.created_at.as_datetime().format("%Y-%m-%d")) }
                    }
                } }
                label { "To" select name="to" {
                    @for (i, (r, _)) in revisions.iter().enumerate() {
                        option value=(r.hash) selected[i == 0] { "Revision " (r.number) " · " (r.created_at.as_datetime().format("%Y-%m-%d")) }
                    }
                } }
                button type="submit" { "Compare" }
            }
        }
        table.history {
            caption.hint { "Who changed what, when and why" }
            thead { tr { th scope="col" { "Revision" } th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "Why" } th scope="col" { "Changes" } } }
            tbody {
                @for (revision, author) in revisions {
                    tr {
                        td { a href=(revision_link(base, document, &revision.hash)) { (revision.number) }
                            @if revision.hash == document.head { " (current)" }
                            @if revision.redacted { " (redacted)" } }
                        td { (when(revision.created_at)) }
                        td { (author.name) }
                        td.why { @if revision.message.is_empty() { "—" } @else { (revision.message) } }
                        td { @if let Some(parent) = &revision.parent {
                            a href=(diff_url(base, document, parent, &revision.hash)) { "diff" }
                            " · "
                            a href=(receipt_url(base, document, parent, &revision.hash)) title="A signed file that proves both texts and what changed, checked offline" { "receipt" }
                        } @else { "first" } }
                    }
                }
            }
        }
        @if history.has_older {
            @if let Some((oldest, _)) = revisions.last() {
                nav.revisions aria-label="Pages" {
                    a href={ (history_url(base, document)) "?before=" (oldest.number) } { "Older revisions →" }
                }
            }
        }
    };
    layout(base, &title, html! {}, crumbs, body)
}

/// A word diff between two revisions of one document.
pub fn diff(document: &Document, diff: &RevisionDiff, base: &str) -> String {
    let to = &diff.to;
    let from = diff.from.as_ref();
    let title = match from {
        Some(from) => format!("{}: revision {} → {}", to.title, from.number, to.number),
        None => format!("{}: revision {}", to.title, to.number),
    };
    let stats = &diff.result.stats;
    let side = |revision: &Revision| {
        html! {
            a href=(revision_link(base, document, &revision.hash)) { "Revision " (revision.number) }
            " · " (when(revision.created_at))
            @if !revision.message.is_empty() { " · " (revision.message) }
        }
    };
    let crumbs = html! {
        a href=(document_url(base, document)) { (document.slug.as_str()) } " › "
        a href=(history_url(base, document)) { "history" } " › diff"
    };
    let body = html! {
        h1 { (title) }
        dl.facts {
            dt { "From" } dd { @if let Some(from) = from { (side(from)) } @else { "(the empty text)" } }
            dt { "To" } dd { (side(to)) }
            dt { "Changed" } dd { (stats.insertions) " words inserted, " (stats.deletions) " deleted" }
            @if let Some(from) = from {
                dt { "Receipt" } dd {
                    a href=(receipt_url(base, document, &from.hash, &to.hash)) { "Download the change receipt" }
                    " — both texts, what changed and their proofs in the transparency log, signed: anyone can check it offline with "
                    code { "docs/verify_receipt.py" } "."
                }
            }
        }
        @if diff.result.fell_back {
            p.notice role="note" { "The texts are large: the changes are shown by line rather than by word." }
        }
        @if diff.result.hunks.is_empty() {
            p { "The two texts are the same." }
        }
        @for hunk in &diff.result.hunks {
            section.hunk {
                p.where { (lines("Lines", hunk.old_start, hunk.old_lines)) " → " (lines("lines", hunk.new_start, hunk.new_lines)) }
                div.diff {
                    @for change in &hunk.changes {
                        @match change.op {
                            ChangeOp::Equal => { (change.text) }
                            ChangeOp::Insert => { ins { (change.text) } }
                            ChangeOp::Delete => { del { (change.text) } }
                        }
                    }
                }
            }
        }
    };
    layout(base, &title, html! {}, crumbs, body)
}
