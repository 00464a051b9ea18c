//! Loads the declarative sample corpus (`seeds/corpus.json` and the text files it names)
//! through the store's ordinary write path. A document whose slug already exists is left
//! exactly as it is, so loading twice changes nothing.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::store::{AgentKind, CreateDocument, Message, Slug, Store, StoreError, Title};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    loader: LoaderAgent,
    documents: Vec<SeedDocument>,
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

    let mut report = SeedReport::default();
    let mut loader = None;
    for document in documents {
        let slug = document.slug.as_str().to_owned();
        if store.document_by_slug(&document.slug).await?.is_some() {
            report.already_present.push(slug);
            continue;
        }
        let agent = match &loader {
            Some(agent) => agent,
            None => loader.insert(store.ensure_agent(&manifest.loader.name, loader_kind).await?),
        };
        match store.create_document(document, agent.id).await {
            Ok(_) => report.created.push(slug),
            // Another process seeded the same document first.
            Err(StoreError::Conflict(_)) => report.already_present.push(slug),
            Err(err) => return Err(err.into()),
        }
    }
    Ok(report)
}
