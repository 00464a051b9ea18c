//! Loads the declarative sample corpus (`seeds/corpus.json` and the text files it names)
//! through the store's ordinary write commands, all in one transaction, so that a load lands
//! whole or not at all. A document whose slug already exists is left exactly as it is, so
//! loading twice changes nothing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use std::collections::HashMap;

use crate::passage::Selector;
use crate::store::{
    Actor, AddCitation, AgentKind, AgentName, CitationTarget, CreateDocument, Document, Message,
    NewSource, Slug, SourceFields, SourceId, Store, Title, WriteTransaction,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    loader: LoaderAgent,
    #[serde(default)]
    sources: Vec<SeedSource>,
    documents: Vec<SeedDocument>,
    #[serde(default)]
    citations: Vec<SeedCitation>,
}

/// A source, named by a key that citations refer to. Only what is known is given.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedSource {
    key: String,
    kind: String,
    title: Option<String>,
    url: Option<String>,
    publisher: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    recipients: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedCitation {
    /// The citing document's slug.
    from: String,
    relation: String,
    target: SeedTarget,
    passage: Option<SeedPassage>,
    target_passage: Option<SeedPassage>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedTarget {
    /// A source key.
    source: Option<String>,
    /// A document slug.
    document: Option<String>,
    /// Pin the citation to the cited document's head at load time.
    #[serde(default)]
    pin_head: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedPassage {
    exact: String,
    prefix: Option<String>,
    suffix: Option<String>,
}

impl SeedPassage {
    fn selector(&self) -> anyhow::Result<Selector> {
        Ok(Selector::parse(
            Some(self.exact.clone()),
            self.prefix.clone(),
            self.suffix.clone(),
            None,
            None,
        )?)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoaderAgent {
    name: String,
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedDocument {
    slug: String,
    kind: String,
    title: String,
    content_file: PathBuf,
    #[serde(default)]
    message: String,
}

/// What a seed run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub created: Vec<String>,
    pub already_present: Vec<String>,
}

/// The seeds folder: `seeds/` in the working directory, else the one this binary was built
/// from (so `cargo run` works from anywhere in the checkout).
pub fn default_dir() -> PathBuf {
    let local = PathBuf::from("seeds");
    if local.join("corpus.json").exists() {
        local
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds")
    }
}

pub async fn load(store: &Store, dir: &Path) -> anyhow::Result<SeedReport> {
    let manifest_path = dir.join("corpus.json");
    let manifest: Manifest = serde_json::from_str(
        &std::fs::read_to_string(&manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?,
    )
    .with_context(|| format!("{} is not a valid seed manifest", manifest_path.display()))?;

    // Parse everything before writing anything, so a bad manifest writes nothing.
    let mut documents = Vec::with_capacity(manifest.documents.len());
    for seed in manifest.documents {
        let path = dir.join(&seed.content_file);
        let content = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
        documents.push(CreateDocument {
            slug: Slug::parse(&seed.slug)?,
            kind: seed.kind.parse()?,
            title: Title::parse(&seed.title)?,
            content,
            message: Message::parse(&seed.message)?,
            source: None,
        });
    }
    let loader_kind: AgentKind = manifest.loader.kind.parse()?;
    let loader_name = AgentName::parse(&manifest.loader.name)?;

    // One transaction: an interrupted or failed load leaves nothing half-written.
    let transaction = store.begin().await?;
    let mut report = SeedReport::default();
    let mut loader = None;
    for document in documents {
        let slug = document.slug.as_str().to_owned();
        if transaction.document_by_slug(&document.slug).await?.is_some() {
            report.already_present.push(slug);
            continue;
        }
        let agent = match &loader {
            Some(agent) => agent,
            None => loader.insert(transaction.ensure_agent(&loader_name, loader_kind).await?),
        };
        transaction.create_document(document, &Actor::agent(agent.id)).await?;
        report.created.push(slug);
    }

    // Citations of the documents created in this run; sources are created on first use.
    let mut sources: HashMap<String, SourceId> = HashMap::new();
    for seed in manifest.citations.iter().filter(|c| report.created.contains(&c.from)) {
        let agent = loader.as_ref().context("a document was created without the loader")?;
        let citing = find(&transaction, &seed.from).await?;
        let target = match (&seed.target.source, &seed.target.document) {
            (Some(key), None) => {
                let id = match sources.get(key) {
                    Some(id) => *id,
                    None => {
                        let declared =
                            manifest.sources.iter().find(|s| &s.key == key).with_context(|| {
                                format!("citation names an undeclared source {key:?}")
                            })?;
                        let source = transaction
                            .create_source(
                                NewSource::parse(SourceFields {
                                    kind: Some(declared.kind.parse()?),
                                    title: declared.title.as_deref(),
                                    url: declared.url.as_deref(),
                                    publisher: declared.publisher.as_deref(),
                                    authors: &declared.authors,
                                    recipients: &declared.recipients,
                                    ..SourceFields::default()
                                })?,
                                &Actor::agent(agent.id),
                            )
                            .await?;
                        sources.insert(key.clone(), source.id);
                        source.id
                    }
                };
                CitationTarget::Source(id)
            }
            (None, Some(slug)) => {
                let cited = find(&transaction, slug).await?;
                CitationTarget::Document {
                    id: cited.id,
                    pinned: seed.target.pin_head.then(|| cited.head.clone()),
                }
            }
            _ => anyhow::bail!("a seed citation's target needs exactly one of source and document"),
        };
        transaction
            .add_citation(
                AddCitation {
                    document: citing.id,
                    expected_head: None,
                    relation: seed.relation.parse()?,
                    target,
                    citing: seed.passage.as_ref().map(SeedPassage::selector).transpose()?,
                    target_selector: seed
                        .target_passage
                        .as_ref()
                        .map(SeedPassage::selector)
                        .transpose()?,
                },
                &Actor::agent(agent.id),
            )
            .await
            .with_context(|| format!("cannot record a citation from {}", seed.from))?;
    }
    transaction.commit().await?;
    Ok(report)
}

async fn find(transaction: &WriteTransaction<'_>, slug: &str) -> anyhow::Result<Document> {
    transaction
        .document_by_slug(&Slug::parse(slug)?)
        .await?
        .with_context(|| format!("no document has the slug {slug}"))
}
