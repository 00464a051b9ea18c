//! What a document of each kind becomes in a citation manager, named in each format's own
//! vocabulary so that every route lands on the same item. The names are those Zotero's own
//! importers map to its item types (its RIS, CSL-JSON, COinS, Embedded Metadata and BibTeX
//! translators, checked with translation-server: see `tests/zotero/`):
//!
//! | kind | Zotero | CSL | RIS | BibLaTeX | DC.type / rft.type |
//! |---|---|---|---|---|---|
//! | article | newspaperArticle | article-newspaper | NEWS | @article, entrysubtype newspaper | newspaperArticle |
//! | letter | letter | personal_communication | PCOMM | @letter | letter |
//! | report | report | report | RPRT | @report | report |
//! | statement, other | webpage | webpage | ELEC | @online | webpage |
//!
//! A statement or note lives on a page of the corpus, so it is cited as one (with the site that
//! published it, when known): RIS has no type Zotero reads as a plain document (its `GEN` is
//! imported as a journal article). Zotero's BibTeX importer reads every `@article` as a journal
//! article (its type map has no newspaper); `entrysubtype = {newspaper}` is BibLaTeX's own way
//! of saying it, which biblatex styles follow.

use crate::store::DocumentKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemType {
    NewspaperArticle,
    Letter,
    Report,
    Webpage,
}

impl ItemType {
    pub fn of(kind: DocumentKind) -> Self {
        match kind {
            DocumentKind::Article => ItemType::NewspaperArticle,
            DocumentKind::Letter => ItemType::Letter,
            DocumentKind::Report => ItemType::Report,
            DocumentKind::Statement | DocumentKind::Other => ItemType::Webpage,
        }
    }

    /// Zotero's name, which Zotero's COinS and Embedded Metadata translators take as it is
    /// from `rft.type` and `DC.type`.
    pub fn zotero(self) -> &'static str {
        match self {
            ItemType::NewspaperArticle => "newspaperArticle",
            ItemType::Letter => "letter",
            ItemType::Report => "report",
            ItemType::Webpage => "webpage",
        }
    }

    pub fn csl(self) -> &'static str {
        match self {
            ItemType::NewspaperArticle => "article-newspaper",
            ItemType::Letter => "personal_communication",
            ItemType::Report => "report",
            ItemType::Webpage => "webpage",
        }
    }

    pub fn ris(self) -> &'static str {
        match self {
            ItemType::NewspaperArticle => "NEWS",
            ItemType::Letter => "PCOMM",
            ItemType::Report => "RPRT",
            ItemType::Webpage => "ELEC",
        }
    }
}

/// What identifies the revision, in the form Zotero keeps unknown fields in `Extra` (one
/// `Name: value` per line): kept with the item, printed by no style.
pub fn revision_lines(
    revision: &crate::store::RevisionHash,
    content: &crate::store::ContentHash,
) -> String {
    format!("Palimpsest revision: {revision}\nPalimpsest content SHA-256: {content}")
}
