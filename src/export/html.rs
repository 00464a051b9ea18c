//! HTML pages for people and for citation-manager connectors (Zotero, Mendeley): a revision's
//! page (its text, where it stands in the history, its citations with their verdicts, its
//! hashes), a document's history, and a word diff between two revisions. Revision pages carry
//! Highwire `citation_*` meta tags, Dublin Core tags and a COinS span (OpenURL ContextObject),
//! so that a browser connector saves the page with the right fields and the exact revision.
//!
//! Server-rendered with `maud` (which escapes every value), one inline stylesheet allowed by
//! its hash (`STYLE_HASH`), no scripts, nothing loaded from anywhere.

use std::sync::LazyLock;

use base64::Engine;
use chrono::Datelike;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

use super::RecordInput;
use super::cite::{ReferenceStyle, formatted_reference};
use super::item_type::ItemType;
use crate::diff::ChangeOp;
use crate::passage::VerificationStatus;
use crate::store::{
    Agent, CitationVerdict, Document, HistoryPage, Redaction, Revision, RevisionDiff,
    RevisionStamp, Timestamp,
};

/// A revision's page (the head, for a document's page).
pub struct PageInput<'a> {
    pub record: &'a RecordInput,
    /// The text; `None` when it was redacted, and `redaction` says why.
    pub content: Option<&'a str>,
    pub redaction: Option<&'a Redaction>,
    pub author: Option<&'a Agent>,
    /// True for `/documents/{slug}`: the page shows whatever is the head now.
    pub is_document_page: bool,
    pub head: &'a RevisionStamp,
    pub previous: Option<&'a RevisionStamp>,
    pub next: Option<&'a RevisionStamp>,
    pub citations: &'a [CitationVerdict],
    /// How many citations the revision makes in all (the page shows the first few).
    pub citation_count: u64,
}

/// The pages' stylesheet, inline; the Content-Security-Policy allows exactly it.
const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfb; --muted: #5b5b5b;
  --rule: #d8d8d0; --accent: #1a5fb4; --ins: #d7f5dd; --del: #fbdada; --warn: #fff4cc; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8e3; --bg: #161616; --muted: #a8a8a0;
  --rule: #3a3a36; --accent: #8cb4f0; --ins: #1f4a2a; --del: #5a2323; --warn: #4a3d10; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.6 Georgia, "Iowan Old Style", "Times New Roman", serif; }
header, main, footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; font-family: system-ui, sans-serif; font-size: .9rem; }
header a, nav a { color: var(--accent); }
a { color: var(--accent); }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); }
nav.revisions { display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-family: system-ui, sans-serif;
  font-size: .9rem; margin: .5rem 0 1rem; }
.notice { background: var(--warn); border-left: 4px solid #c49a00; padding: .5rem .75rem;
  font-family: system-ui, sans-serif; font-size: .95rem; }
.current { font-family: system-ui, sans-serif; font-size: .9rem; color: var(--muted); }
.text p { margin: 0 0 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem;
  font-family: system-ui, sans-serif; font-size: .9rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; }
code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em;
  overflow-wrap: anywhere; word-break: break-all; }
.hint { font-family: system-ui, sans-serif; font-size: .85rem; color: var(--muted); }
ol.citations { padding-left: 1.25rem; }
ol.citations li { margin-bottom: .75rem; }
.verdict { font-family: system-ui, sans-serif; font-size: .75rem; font-weight: 600;
  letter-spacing: .03em; padding: .05rem .4rem; border-radius: .25rem; border: 1px solid; }
.verdict.verified { color: #1e7b34; } .verdict.altered { color: #a35c00; }
.verdict.not-found { color: #b3261e; } .verdict.unverifiable { color: var(--muted); }
table.history { width: 100%; border-collapse: collapse; font-family: system-ui, sans-serif;
  font-size: .9rem; }
table.history th, table.history td { text-align: left; vertical-align: top; padding: .4rem .3rem;
  border-bottom: 1px solid var(--rule); }
table.history td.why { overflow-wrap: break-word; }
form.compare { font-family: system-ui, sans-serif; font-size: .9rem; display: flex;
  flex-wrap: wrap; gap: .5rem; align-items: end; margin: 1rem 0; }
form.compare label { display: flex; flex-direction: column; }
select, button { font: inherit; max-width: 100%; }
.diff { white-space: pre-wrap; overflow-wrap: anywhere; }
.hunk { border: 1px solid var(--rule); padding: .5rem .75rem; margin: 0 0 1rem; }
.hunk .where { font-family: system-ui, sans-serif; font-size: .8rem; color: var(--muted); }
ins { background: var(--ins); text-decoration: underline; }
del { background: var(--del); text-decoration: line-through; }
.references p { font-size: .95rem; }
footer { margin-top: 3rem; padding-bottom: 2rem; font-family: system-ui, sans-serif;
  font-size: .85rem; color: var(--muted); }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; }
"#;

/// The CSP source expression that allows `STYLE` (CSP 3 hash source).
pub static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
});

/// The Content-Security-Policy of every page: nothing loaded, no scripts, only the inline
/// stylesheet; forms (the diff picker) go to this origin only.
pub static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src {}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
        *STYLE_HASH
    )
});

/// Percent-encodes a value for a KEV (OpenURL) string.
fn percent(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The COinS `title` value: an OpenURL ContextObject in KEV form, in the Dublin Core format
/// whatever the kind, so that `rft.type` can name the item type (Zotero takes its own type
/// names from it; the journal format would make every article a journal article). The
/// permanent link is the identifier, which Zotero keeps as the URL (and then dates the access).
pub fn coins(record: &RecordInput) -> String {
    let (document, revision) = (&record.document, &record.revision);
    let item_type = ItemType::of(document.kind);
    let source = record.source.as_ref();
    let mut kev: Vec<(&str, String)> = vec![
        ("ctx_ver", "Z39.88-2004".into()),
        ("rft_val_fmt", "info:ofi/fmt:kev:mtx:dc".into()),
        ("rft.type", item_type.zotero().into()),
        ("rft.title", revision.title.clone()),
    ];
    for author in source.map(|s| s.authors.as_slice()).unwrap_or_default() {
        kev.push(("rft.creator", author.clone()));
    }
    if let Some(publisher) = source.and_then(|s| s.publisher.clone()) {
        match item_type {
            // The newspaper, or the site: Zotero's publication (website) title.
            ItemType::NewspaperArticle | ItemType::Webpage => kev.push(("rft.source", publisher)),
            ItemType::Letter | ItemType::Report => kev.push(("rft.publisher", publisher)),
        }
    }
    if let Some(published) = source.and_then(|s| s.published_at) {
        kev.push(("rft.date", published.as_datetime().format("%Y-%m-%d").to_string()));
    }
    kev.push(("rft.identifier", record.permalink()));
    kev.iter().map(|(k, v)| format!("{k}={}", percent(v))).collect::<Vec<_>>().join("&")
}

/// The Highwire and Dublin Core meta tags of a revision, as connectors read them. `DC.type`
/// is the item type in Zotero's words (its Embedded Metadata translator takes it as it is);
/// no Highwire tag that implies another type is given (`citation_journal_title` would make an
/// article a journal article), so the newspaper or site is `og:site_name`. A publication date
/// is given only when the source says it; when the revision was recorded is not one.
fn citation_meta(record: &RecordInput) -> Vec<(&'static str, String)> {
    let (document, revision) = (&record.document, &record.revision);
    let item_type = ItemType::of(document.kind);
    let mut meta: Vec<(&str, String)> = vec![("citation_title", revision.title.clone())];
    if let Some(source) = &record.source {
        meta.extend(source.authors.iter().map(|a| ("citation_author", a.clone())));
        if let Some(published) = source.published_at {
            let d = published.as_datetime();
            meta.push((
                "citation_publication_date",
                format!("{}/{:02}/{:02}", d.year(), d.month(), d.day()),
            ));
        }
        if let Some(publisher) = &source.publisher {
            let name = match item_type {
                ItemType::NewspaperArticle | ItemType::Webpage => "og:site_name",
                ItemType::Report => "citation_technical_report_institution",
                ItemType::Letter => "citation_publisher",
            };
            meta.push((name, publisher.clone()));
        }
    }
    meta.push(("citation_public_url", record.permalink()));
    meta.push(("citation_fulltext_html_url", record.permalink()));
    meta.push(("DC.title", revision.title.clone()));
    meta.push(("DC.identifier", record.permalink()));
    meta.push(("DC.type", item_type.zotero().to_owned()));
    meta
}

/// A time as people read it, in a `<time>` element machines read.
fn when(at: Timestamp) -> Markup {
    html! { time datetime=(at) { (at.as_datetime().format("%Y-%m-%d %H:%M UTC")) } }
}

fn document_url(base: &str, document: &Document) -> String {
    format!("{base}/documents/{}", document.slug)
}

fn revision_link(base: &str, document: &Document, hash: &impl std::fmt::Display) -> String {
    format!("{base}/documents/{}/revisions/{hash}", document.slug)
}

fn history_url(base: &str, document: &Document) -> String {
    format!("{base}/documents/{}/history", document.slug)
}

fn diff_url(
    base: &str,
    document: &Document,
    from: &impl std::fmt::Display,
    to: &impl std::fmt::Display,
) -> String {
    format!("{base}/documents/{}/diff?from={from}&to={to}", document.slug)
}

/// Which lines of one side a hunk covers, as a person reads it.
fn lines(word: &str, start: usize, count: usize) -> String {
    match count {
        0 => "nothing".to_owned(),
        1 => format!("{} {start}", word.trim_end_matches('s')),
        _ => format!("{word} {start}–{}", start + count - 1),
    }
}

/// The frame every page shares.
fn layout(title: &str, head: Markup, crumbs: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (head)
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to the text" }
                header { nav aria-label="Breadcrumbs" { (crumbs) } }
                main id="main" { (body) }
                footer {
                    p { "Palimpsest keeps every revision of this document, hashed (SHA-256) and chained: nothing here changes once recorded." }
                }
            }
        }
    }
    .into_string()
}

/// A revision's page: its text, where it stands, its citations and how to check it.
pub fn page(input: &PageInput<'_>) -> String {
    let record = input.record;
    let (document, revision) = (&record.document, &record.revision);
    let base = &record.base_url;
    let is_head = input.head.hash == revision.hash;
    let permalink = record.permalink();
    let text_url = format!("{permalink}/text");
    let head = html! {
        @for (name, content) in citation_meta(record) {
            // Open Graph names its tags by `property`.
            @if name.starts_with("og:") {
                meta property=(name) content=(content);
            } @else {
                meta name=(name) content=(content);
            }
        }
        link rel="canonical" href=(permalink);
        link rel="timemap" type="application/link-format" href={ (document_url(base, document)) "/timemap" };
        @if let Some(previous) = input.previous {
            link rel="prev" href=(revision_link(base, document, &previous.hash));
        }
        @if let Some(next) = input.next {
            link rel="next" href=(revision_link(base, document, &next.hash));
        }
    };
    let crumbs = html! {
        a href=(document_url(base, document)) { (document.slug.as_str()) }
        " › "
        a href=(history_url(base, document)) { "history" }
        " › revision " (revision.number)
    };
    let body = html! {
        article {
            h1 { (revision.title) }
            span.Z3988 title=(coins(record)) {}
            @if !is_head {
                p.notice.superseded role="note" {
                    strong { "Superseded." }
                    " This is revision " (revision.number) " of " (input.head.number) "; the current text is "
                    a href=(revision_link(base, document, &input.head.hash)) { "revision " (input.head.number) }
                    " (" (when(input.head.created_at)) ")."
                }
            } @else {
                p.current { "The current revision (" (revision.number) " of " (input.head.number) ")." }
            }
            nav.revisions aria-label="Revisions" {
                @if let Some(previous) = input.previous {
                    a rel="prev" href=(revision_link(base, document, &previous.hash)) { "← Revision " (previous.number) }
                    a href=(diff_url(base, document, &previous.hash, &revision.hash)) { "Changes from revision " (previous.number) }
                }
                a href=(history_url(base, document)) { "History" }
                @if let Some(next) = input.next {
                    a rel="next" href=(revision_link(base, document, &next.hash)) { "Revision " (next.number) " →" }
                }
            }
            @match (input.content, input.redaction) {
                (Some(content), _) => {
                    div.text {
                        @for paragraph in content.lines() { p { (paragraph) } }
                    }
                }
                (None, redaction) => {
                    p.notice.redacted role="note" {
                        strong { "This revision's text was redacted" }
                        @if let Some(r) = redaction { " on " (when(r.at)) ": " (r.reason) }
                        ". Its header and hashes remain, and still verify."
                    }
                }
            }
        }
        section aria-labelledby="citations" {
            h2 id="citations" { "Citations (" (input.citation_count) ")" }
            @if input.citations.is_empty() {
                p { "This revision cites nothing." }
            } @else {
                ol.citations {
                    @for verdict in input.citations { li { (citation(base, verdict)) } }
                }
                @if input.citation_count > input.citations.len() as u64 {
                    p.hint { "The first " (input.citations.len()) " are shown; the GraphQL API lists them all (Revision.citations)." }
                }
            }
        }
        section aria-labelledby="about" {
            h2 id="about" { "About this revision" }
            dl.facts {
                dt { "Revision" } dd { (revision.number) " of " (input.head.number) }
                dt { "Recorded" } dd { (when(revision.created_at)) }
                @if let Some(author) = input.author {
                    dt { "By" } dd { (author.name) " (" (author.kind) ")" }
                }
                dt { "Why" } dd { @if revision.message.is_empty() { "(no message)" } @else { (revision.message) } }
                @if let Some(source) = &record.source {
                    dt { "Source" }
                    dd {
                        @match (&source.title, &source.url) {
                            (Some(title), Some(url)) => { a href=(url) { (title) } }
                            (None, Some(url)) => { a href=(url) { (url) } }
                            (Some(title), None) => { (title) }
                            (None, None) => { (source.kind) }
                        }
                    }
                }
                dt { "Permanent link" } dd { a.hash href=(permalink) { (permalink) } }
                dt { "Revision SHA-256" } dd.hash { (revision.hash) }
                dt { "Content SHA-256" } dd.hash { (revision.content_hash) }
            }
            @if input.content.is_some() {
                p.hint {
                    "Verify it yourself: " code { "curl -s " (text_url) " | sha256sum" } " prints the content SHA-256."
                }
            }
        }
        section.references aria-labelledby="cite" {
            h2 id="cite" { "Cite this revision" }
            @for (label, style) in [("APA", ReferenceStyle::Apa), ("Chicago", ReferenceStyle::ChicagoAuthorDate)] {
                @if let Some(reference) = formatted_reference(record, style) {
                    p.reference { b { (label) ": " } (reference) }
                }
            }
            @let cite = format!("{base}/documents/{}/cite?revision={}", document.slug, revision.hash);
            nav.revisions aria-label="Exports" {
                a href=(text_url) { "Plain text" }
                a href={ (cite) "&format=bibtex" } { "BibTeX" }
                a href={ (cite) "&format=ris" } { "RIS" }
                a href={ (cite) "&format=csl-json" } { "CSL-JSON" }
                a href={ (document_url(base, document)) "/provenance?revision=" (revision.hash) } { "Provenance (PROV-JSON)" }
                a href={ (document_url(base, document)) "/timemap" } { "TimeMap" }
            }
        }
    };
    let title = if is_head {
        revision.title.clone()
    } else {
        format!("{} (revision {})", revision.title, revision.number)
    };
    layout(&title, head, crumbs, body)
}

fn citation(base: &str, verdict: &CitationVerdict) -> Markup {
    let c = &verdict.citation;
    let (class, label) = match verdict.verification.status {
        VerificationStatus::Verified => ("verified", "VERIFIED"),
        VerificationStatus::Altered => ("altered", "ALTERED"),
        VerificationStatus::NotFound => ("not-found", "NOT FOUND"),
        VerificationStatus::Unverifiable => ("unverifiable", "UNVERIFIABLE"),
    };
    html! {
        span class={ "verdict " (class) } { (label) }
        " " (c.relation) " "
        @if let Some((document, at)) = &verdict.target {
            a href=(revision_link(base, document, &at.hash)) { (at.title) }
            " (revision " (at.number) ")"
        } @else if let Some(source) = &verdict.source {
            @match (&source.title, &source.url) {
                (Some(title), Some(url)) => { a href=(url) { (title) } }
                (None, Some(url)) => { a href=(url) { (url) } }
                (Some(title), None) => { (title) }
                (None, None) => { "a source outside the corpus" }
            }
        }
        @if let Some(quote) = c.quoted_words() {
            ": " q { (quote) }
        }
        br;
        span.hint { (verdict.verification.reason) }
    }
}

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
    layout(&title, html! {}, crumbs, body)
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
    layout(&title, html! {}, crumbs, body)
}
