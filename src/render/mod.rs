//! The store's records rendered in the formats people and other tools read: citation records
//! (CSL-JSON, BibTeX/BibLaTeX, RIS, and formatted references rendered by a CSL engine), W3C
//! PROV-JSON, and HTML pages carrying citation metadata. Pure functions over store read
//! models; nothing here touches the database or HTTP. (Archives — the corpus out and back in
//! — are `crate::archive`.)

pub mod cite;
pub mod html;
pub mod item_type;
pub mod prov;

use crate::store::{Document, DocumentAt, Revision, Source};

/// Everything a citation record of one revision needs.
#[derive(Debug, Clone)]
pub struct RecordInput {
    pub document: Document,
    pub revision: Revision,
    /// The source the revision was captured from, for authors, publisher and dates.
    pub source: Option<Source>,
    /// The public base URL (`https://host`), for permanent links.
    pub base_url: String,
}

impl RecordInput {
    pub fn new(at: DocumentAt, base_url: &str) -> Self {
        let DocumentAt { document, revision, source } = at;
        RecordInput { document, revision, source, base_url: base_url.to_owned() }
    }

    /// The permanent link to this exact revision's page.
    pub fn permalink(&self) -> String {
        revision_url(&self.base_url, &self.document, &self.revision)
    }

    /// A citation key: the slug and the first 12 hex digits of the revision hash.
    pub fn key(&self) -> String {
        format!("{}-{}", self.document.slug, &self.revision.hash.hex()[..12])
    }
}

pub fn revision_url(base_url: &str, document: &Document, revision: &Revision) -> String {
    format!("{base_url}/documents/{}/revisions/{}", document.slug, revision.hash)
}
