//! `seed`, `import` and `export`: the corpus in and out, as archives, OCFL or the seeds.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::ProblemsFound;
use crate::archive::import::ImportOptions;
use crate::seed::Seeds;
use crate::store::{self, Slug, Store, StoreLimits};

/// Refusals listed one per line; past this many, only counted.
const LISTED_REFUSALS: usize = 100;

pub(super) async fn seed(store: &Store, dir: Option<PathBuf>) -> anyhow::Result<()> {
    let seeds = dir.map_or_else(Seeds::default_source, Seeds::Dir);
    let report = crate::seed::load(store, &seeds)
        .await
        .with_context(|| format!("cannot load seeds from {seeds}"))?;
    eprintln!(
        "seeds from {}: {} created, {} already present",
        seeds,
        report.created.len(),
        report.already_present.len()
    );
    Ok(())
}

pub(super) async fn import(database_url: &str, file: &Path, batch: usize) -> anyhow::Result<()> {
    let db = store::connect_for_bulk(database_url).await?;
    store::migrate(&db).await?;
    let store = Store::new(db, StoreLimits::default());
    let options = ImportOptions { batch: batch.max(1), ..ImportOptions::default() };
    let report = crate::archive::import::import(&store, file, options).await?;
    for refusal in report.refusals.iter().take(LISTED_REFUSALS) {
        let document = refusal.document.map(|d| format!(" (document {d})")).unwrap_or_default();
        eprintln!("line {}{document}: {}", refusal.line, refusal.reason);
    }
    if report.refusals.len() > LISTED_REFUSALS {
        eprintln!("... and {} more refused lines", report.refusals.len() - LISTED_REFUSALS);
    }
    let seconds = report.elapsed.as_secs_f64();
    eprintln!(
        "imported {} revisions ({} new documents) in {seconds:.2} s ({:.2} s checking): \
         {:.0} revisions/s; {} already stored; {} agents and {} sources in the archive; \
         {} documents refused{}{}",
        report.revisions,
        report.documents,
        report.checking.as_secs_f64(),
        report.revisions as f64 / seconds.max(1e-3),
        report.present,
        report.agents,
        report.sources,
        report.refused_documents,
        if report.compacted { "; database compacted" } else { "" },
        match report.captures + report.captures_present {
            0 => String::new(),
            _ => format!(
                "; {} captures with their evidence ({} already stored)",
                report.captures, report.captures_present
            ),
        },
    );
    if !report.refusals.is_empty() {
        return Err(ProblemsFound(
            "lines were refused (listed above); nothing of their documents was written",
        )
        .into());
    }
    Ok(())
}

pub(super) async fn export(
    store: &Store,
    slugs: &[String],
    output: Option<PathBuf>,
    ocfl: Option<PathBuf>,
    warc: Option<PathBuf>,
) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for slug in slugs {
        let slug = Slug::parse(slug)?;
        let document = store
            .document_by_slug(&slug)
            .await?
            .with_context(|| format!("no document has the slug {slug}"))?;
        ids.push(document.id);
    }
    let selected = (!slugs.is_empty()).then_some(ids.as_slice());
    if let Some(path) = warc {
        return export_warc(store, selected, &path).await;
    }
    if let Some(root) = ocfl {
        let counts = crate::archive::ocfl::export_ocfl(store, selected, &root).await?;
        eprintln!(
            "wrote {} OCFL objects ({} versions) under {}",
            counts.objects,
            counts.versions,
            root.display()
        );
        return Ok(());
    }
    let counts = match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            crate::archive::export::export(store, selected, &mut out).await?
        }
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            crate::archive::export::export(store, selected, &mut out).await?
        }
    };
    let captures = match counts.captures {
        0 => String::new(),
        n => format!(" and {n} captures with their evidence"),
    };
    eprintln!(
        "exported {} agents, {} sources and {} revisions{captures}",
        counts.agents, counts.sources, counts.revisions
    );
    Ok(())
}

/// `export --warc FILE`: the evidence of every capture that wrote a revision (of the selected
/// documents), in one `.warc.gz` that warcio and pywb read.
async fn export_warc(
    store: &Store,
    selected: Option<&[crate::store::DocumentId]>,
    path: &std::path::Path,
) -> anyhow::Result<()> {
    use crate::capture::warc::{WarcDate, gzip_member, warcinfo, write_gz};
    use std::io::Write;
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    out.write_all(&write_gz(&warcinfo(WarcDate::now())))?;
    let (mut captures, mut records) = (0, 0);
    let mut after = None;
    loop {
        let page = store.captures_with_evidence(selected, after, 500).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id);
        for capture in &page {
            for record in store.evidence_of_capture(capture.id).await? {
                out.write_all(&gzip_member(&record.bytes))?;
                records += 1;
            }
            captures += 1;
        }
    }
    out.flush()?;
    eprintln!("wrote {records} WARC records of {captures} captures to {}", path.display());
    Ok(())
}
