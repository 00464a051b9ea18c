//! A revision's page (the head, for a document's page): its text, where it stands in the
//! history, its citations with their verdicts and its hashes, with the Highwire, Dublin Core
//! and COinS metadata citation-manager connectors read.

use chrono::Datelike;
use maud::{Markup, html};

use super::{diff_url, document_url, history_url, layout, revision_link, when};
use crate::passage::VerificationStatus;
use crate::render::RecordInput;
use crate::render::cite::{ReferenceStyle, formatted_reference};
use crate::render::item_type::ItemType;
use crate::store::{Agent, CitationVerdict, Redaction, RevisionStamp};

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
    layout(base, &title, head, crumbs, body)
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
