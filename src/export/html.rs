//! HTML pages for people and for citation-manager connectors (Zotero, Mendeley): Highwire
//! `citation_*` meta tags, Dublin Core tags, and a COinS span (OpenURL ContextObject), so that
//! a browser connector saves the page with the right fields and the exact revision.

use chrono::Datelike;

use super::RecordInput;
use super::cite::{ReferenceStyle, formatted_reference};
use crate::store::{Agent, DocumentKind, Redaction};

/// A page of one revision (the head, for a document's page).
pub struct PageInput<'a> {
    pub record: &'a RecordInput,
    /// The text; `None` when it was redacted, and `redaction` says why.
    pub content: Option<&'a str>,
    pub redaction: Option<&'a Redaction>,
    pub author: Option<&'a Agent>,
    /// True for `/documents/{slug}`: the page shows whatever is the head now.
    pub is_document_page: bool,
}

/// Escapes text for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

/// The COinS `title` value: an OpenURL ContextObject in KEV form.
pub fn coins(record: &RecordInput) -> String {
    let (document, revision) = (&record.document, &record.revision);
    let mut kev: Vec<(&str, String)> = vec![("ctx_ver", "Z39.88-2004".into())];
    let source = record.source.as_ref();
    let date =
        source.and_then(|s| s.published_at).map(|t| t.as_datetime().format("%Y-%m-%d").to_string());
    if document.kind == DocumentKind::Article {
        kev.push(("rft_val_fmt", "info:ofi/fmt:kev:mtx:journal".into()));
        kev.push(("rft.genre", "article".into()));
        kev.push(("rft.atitle", revision.title.clone()));
        if let Some(publisher) = source.and_then(|s| s.publisher.clone()) {
            kev.push(("rft.jtitle", publisher));
        }
        for author in source.map(|s| s.authors.as_slice()).unwrap_or_default() {
            kev.push(("rft.au", author.clone()));
        }
        if let Some(date) = date {
            kev.push(("rft.date", date));
        }
    } else {
        kev.push(("rft_val_fmt", "info:ofi/fmt:kev:mtx:dc".into()));
        kev.push(("rft.type", document.kind.as_str().into()));
        kev.push(("rft.title", revision.title.clone()));
        for author in source.map(|s| s.authors.as_slice()).unwrap_or_default() {
            kev.push(("rft.creator", author.clone()));
        }
        if let Some(publisher) = source.and_then(|s| s.publisher.clone()) {
            kev.push(("rft.publisher", publisher));
        }
        if let Some(date) = date {
            kev.push(("rft.date", date));
        }
    }
    kev.push(("rft_id", record.permalink()));
    kev.push(("rft.identifier", format!("urn:palimpsest:revision:{}", revision.hash)));
    kev.iter().map(|(k, v)| format!("{k}={}", percent(v))).collect::<Vec<_>>().join("&")
}

pub fn page(input: &PageInput<'_>) -> String {
    let record = input.record;
    let (document, revision) = (&record.document, &record.revision);
    let base = &record.base_url;
    let slug = document.slug.as_str();
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
            meta.push(("citation_publisher", publisher.clone()));
            if document.kind == DocumentKind::Article {
                meta.push(("citation_journal_title", publisher.clone()));
            }
        }
    }
    let online = revision.created_at.as_datetime();
    meta.push((
        "citation_online_date",
        format!("{}/{:02}/{:02}", online.year(), online.month(), online.day()),
    ));
    meta.push(("citation_public_url", record.permalink()));
    meta.push(("citation_fulltext_html_url", record.permalink()));
    meta.push(("citation_technical_report_number", revision.hash.to_string()));
    meta.push(("DC.title", revision.title.clone()));
    meta.push(("DC.identifier", format!("urn:palimpsest:revision:{}", revision.hash)));
    meta.push(("DC.type", document.kind.as_str().to_owned()));

    let mut html =
        String::from("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    html.push_str(&format!("<title>{}</title>\n", escape(&revision.title)));
    for (name, content) in &meta {
        html.push_str(&format!("<meta name=\"{name}\" content=\"{}\">\n", escape(content)));
    }
    html.push_str(&format!("<link rel=\"canonical\" href=\"{}\">\n", escape(&record.permalink())));
    html.push_str(&format!(
        "<link rel=\"timemap\" type=\"application/link-format\" href=\"{base}/documents/{slug}/timemap\">\n"
    ));
    html.push_str("</head>\n<body>\n<article>\n");
    html.push_str(&format!("<h1>{}</h1>\n", escape(&revision.title)));
    html.push_str(&format!("<span class=\"Z3988\" title=\"{}\"></span>\n", escape(&coins(record))));
    html.push_str("<dl class=\"revision\">\n");
    html.push_str(&format!(
        "<dt>Revision</dt><dd>{} (number {})</dd>\n",
        revision.hash, revision.number
    ));
    html.push_str(&format!("<dt>Content SHA-256</dt><dd>{}</dd>\n", revision.content_hash));
    html.push_str(&format!(
        "<dt>Recorded</dt><dd><time datetime=\"{0}\">{0}</time></dd>\n",
        revision.created_at
    ));
    if let Some(author) = input.author {
        html.push_str(&format!(
            "<dt>Recorded by</dt><dd>{} ({})</dd>\n",
            escape(&author.name),
            author.kind
        ));
    }
    if !revision.message.is_empty() {
        html.push_str(&format!("<dt>Message</dt><dd>{}</dd>\n", escape(&revision.message)));
    }
    if input.is_document_page {
        html.push_str(&format!(
            "<dt>Permanent link</dt><dd><a href=\"{0}\">{0}</a></dd>\n",
            escape(&record.permalink())
        ));
    }
    html.push_str("</dl>\n<div class=\"text\">\n");
    match (input.content, input.redaction) {
        (Some(content), _) => {
            for paragraph in content.lines() {
                html.push_str(&format!("<p>{}</p>\n", escape(paragraph)));
            }
        }
        (None, redaction) => html.push_str(&format!(
            "<p class=\"redacted\"><b>This revision's text was redacted</b>{}. Its header and \
             hashes remain, and still verify.</p>\n",
            redaction.map_or(String::new(), |r| format!(" on {}: {}", r.at, escape(&r.reason)))
        )),
    }
    html.push_str("</div>\n");
    for (label, style) in
        [("APA", ReferenceStyle::Apa), ("Chicago", ReferenceStyle::ChicagoAuthorDate)]
    {
        if let Some(reference) = formatted_reference(record, style) {
            html.push_str(&format!(
                "<p class=\"reference\"><b>{label}:</b> {}</p>\n",
                escape(&reference)
            ));
        }
    }
    let cite = format!("{base}/documents/{slug}/cite?revision={}", revision.hash);
    html.push_str(&format!(
        "<nav><a href=\"{base}/documents/{slug}/revisions/{hash}/text\">text</a> · \
         <a href=\"{cite}&amp;format=bibtex\">BibTeX</a> · <a href=\"{cite}&amp;format=ris\">RIS</a> · \
         <a href=\"{cite}&amp;format=csl-json\">CSL-JSON</a> · \
         <a href=\"{base}/documents/{slug}/provenance?revision={hash}\">provenance</a> · \
         <a href=\"{base}/documents/{slug}/timemap\">history</a></nav>\n",
        hash = revision.hash
    ));
    html.push_str("</article>\n</body>\n</html>\n");
    html
}
