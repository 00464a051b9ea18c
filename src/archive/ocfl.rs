//! `palimpsest export --ocfl DIR`: the corpus as an OCFL 1.1 storage root
//! (<https://ocfl.io/1.1/spec/>), the layout digital archives keep and validate.
//!
//! One OCFL object per document (id `urn:uuid:<document id>`, at the path of its slug), one
//! version per revision (`v1` is revision 1). Each version's state holds `content.txt` (the
//! text, stored once per object however many versions share it) and `header.json` (the
//! revision's canonical header, whose SHA-256 is the revision hash: `docs/hashing.md`). The
//! version's `message` carries the revision's message and hash, its `user` the author (name,
//! and `urn:uuid:` of the agent), `created` the revision's time. Digests are SHA-512, as the
//! specification recommends. A revision a capture wrote also holds `capture.warc.gz`, the HTTP
//! evidence of that capture (the file `GET …/capture.warc.gz` serves). A redacted revision's
//! version holds its header only.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha512};

use crate::capture::warc::gzip_member;
use crate::store::{
    AgentId, CaptureId, CorpusRevision, DocumentId, EvidenceKind, FrameCache, RevisionHash, Store,
};

/// Revisions read per query.
const PAGE: u64 = 500;

/// What an OCFL export wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OcflExported {
    pub objects: u64,
    pub versions: u64,
}

#[derive(Serialize)]
struct Inventory {
    id: String,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(rename = "digestAlgorithm")]
    digest_algorithm: &'static str,
    head: String,
    #[serde(rename = "contentDirectory")]
    content_directory: &'static str,
    manifest: BTreeMap<String, Vec<String>>,
    versions: BTreeMap<String, Version>,
}

#[derive(Serialize)]
struct Version {
    created: String,
    message: String,
    user: User,
    state: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize)]
struct User {
    name: String,
    address: String,
}

/// Writes an OCFL storage root at `root`, which must not exist or be empty, holding every
/// document (or `documents`).
pub async fn export_ocfl(
    store: &Store,
    documents: Option<&[DocumentId]>,
    root: &Path,
) -> anyhow::Result<OcflExported> {
    use anyhow::Context;
    if root.exists() && std::fs::read_dir(root)?.next().is_some() {
        anyhow::bail!("{} is not empty: an OCFL export writes a new storage root", root.display());
    }
    std::fs::create_dir_all(root).with_context(|| format!("cannot create {}", root.display()))?;
    std::fs::write(root.join("0=ocfl_1.1"), "ocfl_1.1\n")?;

    let mut counts = OcflExported::default();
    let mut names: BTreeMap<AgentId, String> = BTreeMap::new();
    let mut after = None;
    loop {
        let page = store.corpus_documents(after, PAGE).await?;
        for (id, slug) in &page {
            if documents.is_some_and(|wanted| !wanted.contains(id)) {
                continue;
            }
            counts.versions += write_object(store, *id, &root.join(slug), &mut names).await?;
            counts.objects += 1;
        }
        match page.last() {
            Some((last, _)) if page.len() as u64 == PAGE => after = Some(*last),
            _ => break,
        }
    }
    Ok(counts)
}

/// One document as an OCFL object at `path`; returns its number of versions.
async fn write_object(
    store: &Store,
    document: DocumentId,
    path: &Path,
    names: &mut BTreeMap<AgentId, String>,
) -> anyhow::Result<u64> {
    std::fs::create_dir_all(path)?;
    std::fs::write(path.join("0=ocfl_object_1.1"), "ocfl_object_1.1\n")?;
    let mut inventory = Inventory {
        id: format!("urn:uuid:{document}"),
        kind: "https://ocfl.io/1.1/spec/#inventory",
        digest_algorithm: "sha512",
        head: String::new(),
        content_directory: "content",
        manifest: BTreeMap::new(),
        versions: BTreeMap::new(),
    };
    let mut after = None;
    let mut versions = 0;
    let mut cache =
        FrameCache::new(super::export::FRAME_CACHE_BYTES, super::export::TEXT_CACHE_BYTES);
    loop {
        let page = store.corpus_revisions(after, PAGE, Some(&[document]), &mut cache).await?;
        let full = page.len() as u64 == PAGE;
        let last = page.last().and_then(|r| r.revision.log_index);
        let mut evidence = evidence_of(store, &page).await?;
        for exported in page {
            versions += 1;
            let warc = evidence.remove(&exported.revision.hash);
            add_version(store, path, &mut inventory, exported, warc, names).await?;
        }
        match last {
            Some(last) if full => after = Some(last),
            _ => break,
        }
    }
    // The root inventory, and its copy in the head version (which the specification requires
    // to be the same); earlier versions' copies are optional and left out, so an object of n
    // versions costs O(n) to write.
    let json = serde_json::to_vec_pretty(&inventory)?;
    let sidecar = format!("{} inventory.json\n", hex::encode(Sha512::digest(&json)));
    for dir in [path.to_owned(), path.join(&inventory.head)] {
        std::fs::write(dir.join("inventory.json"), &json)?;
        std::fs::write(dir.join("inventory.json.sha512"), &sidecar)?;
    }
    Ok(versions)
}

/// For the revisions of `page` a capture wrote, its evidence as one `.warc.gz` (a gzip member
/// per record), read in two queries for the page.
async fn evidence_of(
    store: &Store,
    page: &[CorpusRevision],
) -> anyhow::Result<HashMap<RevisionHash, Vec<u8>>> {
    let hashes: Vec<RevisionHash> =
        page.iter().filter(|r| !r.revision.redacted).map(|r| r.revision.hash.clone()).collect();
    let captures = store.captures_of_revisions(&hashes).await?;
    let ids: Vec<CaptureId> = captures.iter().map(|c| c.id).collect();
    let mut records = store.evidence_of_captures(&ids).await?;
    let mut files = HashMap::new();
    for capture in captures {
        let (Some(revision), Some(mut kept)) = (capture.revision, records.remove(&capture.id))
        else {
            continue;
        };
        // A request before its response, as the route serves an exchange.
        kept.sort_by_key(|r| r.kind != EvidenceKind::Request);
        files.insert(revision, kept.iter().flat_map(|r| gzip_member(&r.bytes)).collect());
    }
    Ok(files)
}

async fn add_version(
    store: &Store,
    path: &Path,
    inventory: &mut Inventory,
    exported: CorpusRevision,
    warc: Option<Vec<u8>>,
    names: &mut BTreeMap<AgentId, String>,
) -> anyhow::Result<()> {
    let revision = exported.revision;
    let version = format!("v{}", revision.number);
    let content_dir = path.join(&version).join("content");
    std::fs::create_dir_all(&content_dir)?;
    let mut state = BTreeMap::new();
    let header = revision.header();
    let mut files: Vec<(&str, &[u8])> = vec![("header.json", header.as_bytes())];
    if let Some(content) = &exported.content {
        files.push(("content.txt", content.as_bytes()));
    }
    if let Some(warc) = &warc {
        files.push(("capture.warc.gz", warc));
    }
    for (name, bytes) in files {
        let digest = hex::encode(Sha512::digest(bytes));
        if !inventory.manifest.contains_key(&digest) {
            std::fs::write(content_dir.join(name), bytes)?;
            inventory.manifest.insert(digest.clone(), vec![format!("{version}/content/{name}")]);
        }
        state.insert(digest, vec![name.to_owned()]);
    }
    if std::fs::read_dir(&content_dir)?.next().is_none() {
        std::fs::remove_dir(&content_dir)?;
    }
    let author = match names.get(&revision.author) {
        Some(name) => name.clone(),
        None => {
            let name = store
                .agent(revision.author)
                .await?
                .map_or_else(|| revision.author.to_string(), |a| a.name);
            names.insert(revision.author, name.clone());
            name
        }
    };
    let redacted = if revision.redacted { "; its text was redacted" } else { "" };
    inventory.versions.insert(
        version.clone(),
        Version {
            created: revision.created_at.to_string(),
            message: format!("{} (revision {}{redacted})", revision.message, revision.hash),
            user: User { name: author, address: format!("urn:uuid:{}", revision.author) },
            state,
        },
    );
    inventory.head = version;
    Ok(())
}
