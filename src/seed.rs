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
    NewSource, Placement, Slug, SourceFields, SourceId, Store, Title, WriteTransaction,
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

/// Where the seeds are read from.
#[derive(Debug, Clone)]
pub enum Seeds {
    /// A folder holding `corpus.json` and the text files it names.
    Dir(PathBuf),
    /// The sample corpus built into the binary (this checkout's `seeds/`), so an installed
    /// binary seeds from wherever it runs, with no path of the machine it was built on.
    BuiltIn,
}

/// The files of `seeds/`, built in. A file added there is added here too (the test
/// `the_built_in_seeds_are_the_seeds_folder` says so if not).
const BUILT_IN: &[(&str, &str)] = &[
    ("corpus.json", include_str!("../seeds/corpus.json")),
    ("000_29be97726b5e019a.txt", include_str!("../seeds/000_29be97726b5e019a.txt")),
    ("001_reading_note.txt", include_str!("../seeds/001_reading_note.txt")),
];

impl Seeds {
    /// `seeds/` in the working directory if it has a manifest, else the built-in corpus.
    pub fn default_source() -> Self {
        let local = PathBuf::from("seeds");
        if local.join("corpus.json").exists() { Seeds::Dir(local) } else { Seeds::BuiltIn }
    }

    fn read(&self, name: &Path) -> anyhow::Result<String> {
        match self {
            Seeds::Dir(dir) => {
                let path = dir.join(name);
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))
            }
            Seeds::BuiltIn => BUILT_IN
                .iter()
                .find(|(file, _)| Path::new(file) == name)
                .map(|(_, text)| (*text).to_owned())
                .with_context(|| format!("the built-in seeds have no {}", name.display())),
        }
    }
}

impl std::fmt::Display for Seeds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Seeds::Dir(dir) => write!(f, "{}", dir.display()),
            Seeds::BuiltIn => f.write_str("the built-in sample corpus"),
        }
    }
}

pub async fn load(store: &Store, seeds: &Seeds) -> anyhow::Result<SeedReport> {
    let manifest: Manifest = serde_json::from_str(&seeds.read(Path::new("corpus.json"))?)
        .with_context(|| format!("the manifest of {seeds} is not a valid seed manifest"))?;

    // Parse everything before writing anything, so a bad manifest writes nothing.
    let mut documents = Vec::with_capacity(manifest.documents.len());
    for seed in manifest.documents {
        let content = seeds.read(&seed.content_file)?;
        documents.push(CreateDocument {
            slug: Slug::parse(&seed.slug)?,
            kind: seed.kind.parse()?,
            title: Title::parse(&seed.title)?,
            content,
            message: Message::parse(&seed.message)?,
            source: None,
            placement: Placement::PUBLIC,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_seeds_are_the_seeds_folder() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut built_in: Vec<String> = BUILT_IN.iter().map(|(f, _)| (*f).to_owned()).collect();
        built_in.sort();
        assert_eq!(files, built_in, "add the file to BUILT_IN");
        for (file, text) in BUILT_IN {
            assert_eq!(Seeds::Dir(dir.clone()).read(Path::new(file)).unwrap(), *text);
        }
    }
}
