//! Citation records, formatted references and provenance, over GraphQL.

use async_graphql::{Enum, SimpleObject};

use crate::render::cite::{self, Format};

/// A citation-record format for reference managers.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CitationFormat {
    /// CSL-JSON, as Zotero, Mendeley and citeproc engines read it.
    CslJson,
    /// BibLaTeX-friendly BibTeX.
    Bibtex,
    /// RIS, as EndNote and most reference managers read it.
    Ris,
}

impl From<CitationFormat> for Format {
    fn from(f: CitationFormat) -> Self {
        match f {
            CitationFormat::CslJson => Format::CslJson,
            CitationFormat::Bibtex => Format::Bibtex,
            CitationFormat::Ris => Format::Ris,
        }
    }
}

/// A citation style, rendered by a CSL engine (hayagriva, with its bundled styles).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceStyle {
    /// APA, 7th edition.
    Apa,
    /// Chicago Manual of Style, author-date.
    ChicagoAuthorDate,
    /// Chicago Manual of Style, notes and bibliography.
    ChicagoNotes,
    /// MLA Handbook.
    Mla,
}

impl From<ReferenceStyle> for cite::ReferenceStyle {
    fn from(s: ReferenceStyle) -> Self {
        match s {
            ReferenceStyle::Apa => cite::ReferenceStyle::Apa,
            ReferenceStyle::ChicagoAuthorDate => cite::ReferenceStyle::ChicagoAuthorDate,
            ReferenceStyle::ChicagoNotes => cite::ReferenceStyle::ChicagoNotes,
            ReferenceStyle::Mla => cite::ReferenceStyle::Mla,
        }
    }
}

/// A citation record, ready to save as a file or hand to a reference manager.
#[derive(SimpleObject)]
pub struct CitationExport {
    pub format: CitationFormat,
    /// The format's media type.
    pub media_type: String,
    pub text: String,
}

impl CitationExport {
    pub fn new(format: CitationFormat, text: String) -> Self {
        CitationExport { format, media_type: Format::from(format).media_type().to_owned(), text }
    }
}
