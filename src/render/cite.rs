//! Citation records for reference managers. One CSL-JSON item per revision is the source of
//! truth: BibTeX and RIS are mapped from the same facts, and formatted references (APA,
//! Chicago, ...) are rendered from the CSL-JSON item by hayagriva's CSL engine with its
//! bundled styles. Every record carries the revision hash and a permanent link to the
//! revision, so a reference always resolves to the exact text cited. Unknown facts (author,
//! publication date) are left out, never guessed.

use std::sync::OnceLock;

use biblatex::{Chunk, Entry, EntryType, Spanned};
use chrono::Datelike;
use hayagriva::citationberg::{Locale, Style};
use hayagriva::{BibliographyDriver, BibliographyRequest, CitationItem, CitationRequest};
use serde_json::{Value, json};

use super::RecordInput;
use super::item_type::{ItemType, revision_lines};
use crate::store::Timestamp;

/// The export formats and their media types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    CslJson,
    Bibtex,
    Ris,
}

impl Format {
    pub const NAMES: &'static str = "csl-json, bibtex, ris";

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "csl-json" | "csljson" | "csl" => Some(Format::CslJson),
            "bibtex" | "biblatex" | "bib" => Some(Format::Bibtex),
            "ris" => Some(Format::Ris),
            _ => None,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Format::CslJson => "application/vnd.citationstyles.csl+json",
            Format::Bibtex => "application/x-bibtex",
            Format::Ris => "application/x-research-info-systems",
        }
    }

    pub fn render(self, records: &[RecordInput]) -> String {
        match self {
            Format::CslJson => {
                let items: Vec<Value> = records.iter().map(csl_item).collect();
                serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
            }
            Format::Bibtex => {
                records.iter().map(bibtex_entry).collect::<Vec<_>>().join("\n\n") + "\n"
            }
            Format::Ris => records.iter().map(ris_record).collect(),
        }
    }
}

/// Reference styles rendered by the CSL engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceStyle {
    Apa,
    ChicagoAuthorDate,
    ChicagoNotes,
    Mla,
}

impl ReferenceStyle {
    fn archived(self) -> hayagriva::archive::ArchivedStyle {
        use hayagriva::archive::ArchivedStyle as S;
        match self {
            ReferenceStyle::Apa => S::AmericanPsychologicalAssociation,
            ReferenceStyle::ChicagoAuthorDate => S::ChicagoAuthorDate,
            ReferenceStyle::ChicagoNotes => S::ChicagoNotes,
            ReferenceStyle::Mla => S::ModernLanguageAssociation,
        }
    }
}

fn date_parts(t: Timestamp) -> Value {
    let d = t.as_datetime();
    json!({ "date-parts": [[d.year(), d.month(), d.day()]] })
}

/// The CSL-JSON item of one revision. The revision's hashes go in `note`, which Zotero keeps
/// as `Extra` and styles do not print; the permanent link is the URL.
pub fn csl_item(record: &RecordInput) -> Value {
    let (document, revision) = (&record.document, &record.revision);
    let item_type = ItemType::of(document.kind);
    let mut item = json!({
        "id": record.key(),
        "type": item_type.csl(),
        "title": revision.title,
        "URL": record.permalink(),
        "accessed": date_parts(revision.created_at),
        "note": revision_lines(&revision.hash, &revision.content_hash),
    });
    if let Some(source) = &record.source {
        let names =
            |names: &[String]| names.iter().map(|n| json!({ "literal": n })).collect::<Vec<_>>();
        if !source.authors.is_empty() {
            item["author"] = json!(names(&source.authors));
        }
        if !source.recipients.is_empty() {
            item["recipient"] = json!(names(&source.recipients));
        }
        if let Some(publisher) = &source.publisher {
            match item_type {
                // The newspaper, or the site that published it.
                ItemType::NewspaperArticle | ItemType::Webpage => {
                    item["container-title"] = json!(publisher)
                }
                ItemType::Letter | ItemType::Report => item["publisher"] = json!(publisher),
            }
        }
        if let Some(published) = source.published_at {
            item["issued"] = date_parts(published);
        }
        if let Some(archive) = &source.archive_url {
            item["archive_location"] = json!(archive);
        }
    }
    item
}

/// A BibLaTeX entry (which BibTeX tools also read). The revision's hashes go in `note`.
pub fn bibtex_entry(record: &RecordInput) -> String {
    let (document, revision) = (&record.document, &record.revision);
    let item_type = ItemType::of(document.kind);
    let entry_type = match item_type {
        ItemType::NewspaperArticle => EntryType::Article,
        // Written as `@letter` below.
        ItemType::Letter => EntryType::Misc,
        ItemType::Report => EntryType::Report,
        ItemType::Webpage => EntryType::Online,
    };
    let mut entry = Entry::new(record.key(), entry_type);
    let text = |value: &str| vec![Spanned::detached(Chunk::Normal(value.to_owned()))];
    // Braced, so that BibTeX does not split an organisation's name into first and last names.
    let names = |names: &[String]| {
        let mut chunks = Vec::new();
        for (i, name) in names.iter().enumerate() {
            if i > 0 {
                chunks.push(Spanned::detached(Chunk::Normal(" and ".into())));
            }
            chunks.push(Spanned::detached(Chunk::Verbatim(name.clone())));
        }
        chunks
    };
    entry.set("title", text(&revision.title));
    entry.set("url", text(&record.permalink()));
    entry.set("urldate", text(&revision.created_at.as_datetime().format("%Y-%m-%d").to_string()));
    entry.set("note", text(&revision_lines(&revision.hash, &revision.content_hash)));
    match item_type {
        ItemType::NewspaperArticle => entry.set("entrysubtype", text("newspaper")),
        ItemType::Report => entry.set("type", text("report")),
        ItemType::Letter | ItemType::Webpage => {}
    }
    if let Some(source) = &record.source {
        if !source.authors.is_empty() {
            entry.set("author", names(&source.authors));
        }
        if let Some(publisher) = &source.publisher {
            let field = match item_type {
                ItemType::NewspaperArticle => "journaltitle",
                ItemType::Report => "institution",
                // The site it was published on (Zotero's website title).
                ItemType::Webpage => "organization",
                ItemType::Letter => "publisher",
            };
            entry.set(field, text(publisher));
        }
        if let Some(published) = source.published_at {
            entry.set("date", text(&published.as_datetime().format("%Y-%m-%d").to_string()));
        }
    }
    let written = entry.to_biblatex_string();
    match item_type {
        // `@letter` is one of BibLaTeX's non-standard types, which the biblatex crate writes as
        // `@misc`; Zotero reads `@letter` as a letter and `@misc` as a document.
        ItemType::Letter => written.replacen("@misc{", "@letter{", 1),
        _ => written,
    }
}

/// A RIS record, lines ending in CR LF as the format specifies. The revision's hashes go in a
/// note (`N1`): RIS has no field for a version that Zotero would not print as something else
/// (it reads `ET` as an edition).
pub fn ris_record(record: &RecordInput) -> String {
    let (document, revision) = (&record.document, &record.revision);
    let item_type = ItemType::of(document.kind);
    let mut lines = vec![
        ("TY", item_type.ris().to_owned()),
        ("ID", record.key()),
        ("TI", one_line(&revision.title)),
    ];
    if let Some(source) = &record.source {
        lines.extend(source.authors.iter().map(|a| ("AU", one_line(a))));
        if let Some(publisher) = &source.publisher {
            match item_type {
                // The newspaper, or the website.
                ItemType::NewspaperArticle | ItemType::Webpage => {
                    lines.push(("T2", one_line(publisher)))
                }
                ItemType::Letter | ItemType::Report => lines.push(("PB", one_line(publisher))),
            }
        }
        if let Some(published) = source.published_at {
            let d = published.as_datetime();
            lines.push(("PY", d.year().to_string()));
            lines.push(("DA", d.format("%Y/%m/%d/").to_string()));
        }
    }
    lines.push(("Y2", revision.created_at.as_datetime().format("%Y/%m/%d/").to_string()));
    lines.push(("UR", record.permalink()));
    lines.push(("N1", revision_lines(&revision.hash, &revision.content_hash).replace('\n', "; ")));
    // Where the record came from: Zotero's "Library Catalog", which styles do not print.
    lines.push(("DP", "Palimpsest".into()));
    lines.push(("ER", String::new()));
    lines.iter().map(|(tag, value)| format!("{tag}  - {value}\r\n")).collect()
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn locales() -> &'static [Locale] {
    static LOCALES: OnceLock<Vec<Locale>> = OnceLock::new();
    LOCALES.get_or_init(hayagriva::archive::locales)
}

/// A formatted bibliography entry, rendered by the CSL engine from the CSL-JSON item.
pub fn formatted_reference(record: &RecordInput, style: ReferenceStyle) -> Option<String> {
    let Style::Independent(style) = style.archived().get() else { return None };
    let item: hayagriva::citationberg::json::Item =
        serde_json::from_value(csl_item(record)).ok()?;
    let locales = locales();
    let mut driver = BibliographyDriver::new();
    driver.citation(CitationRequest::from_items(
        vec![CitationItem::with_entry(&item)],
        &style,
        locales,
    ));
    let rendered =
        driver.finish(BibliographyRequest { style: &style, locale: None, locale_files: locales });
    let entry = rendered.bibliography?.items.into_iter().next()?;
    Some(format!("{:#}", entry.content))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        AgentId, ContentHash, Document, DocumentId, DocumentKind, Revision, RevisionHash, Slug,
        Source, SourceId, SourceKind,
    };

    pub(crate) fn record(kind: DocumentKind, with_source: bool) -> RecordInput {
        let hash = RevisionHash::parse(&"ab".repeat(32)).unwrap();
        let id = DocumentId::generate();
        let created = Timestamp::parse("t", "2026-11-25T10:00:00Z").unwrap();
        RecordInput {
            document: Document {
                id,
                slug: Slug::parse("gaza-letter").unwrap(),
                kind,
                head: hash.clone(),
                created_at: created,
                updated_at: created,
                collection: crate::store::CollectionId::PUBLIC,
                publish_at: None,
                public_from: Some(Timestamp::from_micros(0)),
            },
            revision: Revision {
                hash,
                document_id: id,
                number: 1,
                parent: None,
                title: "550 Ex-Mossad and Shin Bet Chiefs Urge Trump to End the War".into(),
                content_hash: ContentHash::of("text"),
                content_bytes: 4,
                author: AgentId::generate(),
                message: String::new(),
                source: None,
                created_at: created,
                stored_header: crate::store::StoredHeader::Plain(String::new()),
                log_index: Some(0),
                redacted: false,
            },
            source: with_source.then(|| Source {
                id: SourceId::generate(),
                kind: SourceKind::Print,
                title: None,
                url: None,
                publisher: Some("The Example Times".into()),
                authors: vec!["Jane Reporter".into()],
                recipients: vec![],
                published_at: Some(Timestamp::parse("t", "2025-08-04T00:00:00Z").unwrap()),
                retrieved_at: None,
                archive_url: None,
                license: None,
                created_at: created,
            }),
            base_url: "http://localhost:8080".into(),
        }
    }

    #[test]
    fn references_are_rendered_by_the_csl_engine() {
        let r = record(DocumentKind::Article, true);
        let apa = formatted_reference(&r, ReferenceStyle::Apa).unwrap();
        assert!(apa.starts_with("Jane Reporter. (2025, August 4). 550 Ex-Mossad"), "{apa}");
        assert!(apa.contains("2025"), "{apa}");
        assert!(apa.contains("550 Ex-Mossad"), "{apa}");
        let chicago = formatted_reference(&r, ReferenceStyle::ChicagoAuthorDate).unwrap();
        assert!(chicago.starts_with("Jane Reporter. 2025."), "{chicago}");
        let unknown =
            formatted_reference(&record(DocumentKind::Article, false), ReferenceStyle::Apa)
                .unwrap();
        assert!(unknown.contains("n.d."), "an unknown date stays unknown: {unknown}");
    }

    #[test]
    fn every_format_carries_the_hash_and_the_permalink() {
        let r = record(DocumentKind::Letter, true);
        for format in [Format::CslJson, Format::Bibtex, Format::Ris] {
            let text = format.render(std::slice::from_ref(&r));
            assert!(text.contains(r.revision.hash.hex()), "{format:?}: {text}");
            assert!(text.contains(&r.permalink()), "{format:?}: {text}");
        }
    }
}
