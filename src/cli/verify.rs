//! `verify`: every hash recomputed, every chain followed, the transparency log checked, with
//! a progress bar on a terminal and each problem on a line of stdout.

use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::budget::Budget;
use anyhow::Context;

use crate::checkpoint::{Checkpoint, LogKey, VerifierKey};
use crate::store::{DocumentId, Problem, Report, Slug, Store};
use clap::Args;

/// What `verify` checks, and with which key. It reads the database and changes nothing.
/// Exit status: 0 when all is well, 1 when it found a problem, 2 when it could not verify.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Verify only this document (its slug).
    #[arg(long)]
    pub document: Option<String>,
    /// The key that checks the log's checkpoints, as `palimpsest log-key` prints it
    /// (`name+id+key`); an archivist needs no more than this.
    #[arg(long, env = "PALIMPSEST_VERIFIER_KEY")]
    pub verifier_key: Option<String>,
    /// Or the log's signing key file, whose public half is used.
    #[arg(long, env = "PALIMPSEST_LOG_KEY", default_value = "palimpsest-log.key")]
    pub log_key: PathBuf,
    /// A signed checkpoint kept outside the database (a file holding the note, as
    /// `transparencyLog { checkpoint }` served it): the log must still extend it. Repeatable.
    #[arg(long = "checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Verify without a key: checkpoints' signatures are then not checked.
    #[arg(long)]
    pub no_signatures: bool,
}

/// Documents verified per page.
const PAGE: u64 = 500;

/// Verifies the corpus (or one document) and the transparency log as `args` asks, with a
/// progress bar on a terminal, and prints what was checked and every problem found on stdout.
/// Returns whether all is well.
pub(super) async fn verify(store: &Store, args: &VerifyArgs) -> anyhow::Result<bool> {
    let started = Instant::now();
    let budget = Budget::unlimited();
    let key = verifier(args)?;
    let held = held_checkpoints(args, key.as_ref())?;
    let slug = args.document.as_deref();
    if let Some(slug) = slug {
        let slug = Slug::parse(slug)?;
        let document = store
            .document_by_slug(&slug)
            .await?
            .ok_or_else(|| anyhow::anyhow!("no document has the slug {slug}"))?;
        let report = store.verify_document(document.id, &budget).await?;
        let mut out = std::io::stdout().lock();
        summarise(&mut out, &report, started.elapsed())?;
        let clean = print_problems(&mut out, &report)?;
        writeln!(out, "{}", if clean { "all is well" } else { "PROBLEMS FOUND" })?;
        return Ok(clean);
    }
    // The documents and the log are checked side by side: each is half reading, half hashing.
    let total = store.log_size().await?;
    let bar = progress_bar(2 * total, "revisions and leaves");
    let documents = async {
        let mut report = Report::default();
        let mut after: Option<DocumentId> = None;
        loop {
            let page = store.verify_documents(after, PAGE, &budget, &|n| bar.inc(n)).await?;
            report.merge(page.report);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        anyhow::Ok((report, started.elapsed()))
    };
    let log = async { Ok(store.verify_log(key.as_ref(), &held, &budget, &|n| bar.inc(n)).await?) };
    let (documents, log) = tokio::try_join!(documents, log)?;
    bar.finish_and_clear();
    let (report, elapsed) = documents;
    let mut out = std::io::stdout().lock();
    summarise(&mut out, &report, elapsed)?;
    let mut clean = print_problems(&mut out, &report)?;
    writeln!(
        out,
        "transparency log: {} leaves, {} signed checkpoints{}",
        log.size,
        log.checkpoints,
        if log.signatures_checked {
            ", signatures checked"
        } else {
            " (signatures NOT checked: no key)"
        }
    )?;
    clean &= print_problems(&mut out, &log.report)?;
    writeln!(
        out,
        "verified in {:.2} s ({:.0} revisions/s)",
        started.elapsed().as_secs_f64(),
        report.revisions as f64 / started.elapsed().as_secs_f64().max(1e-9)
    )?;
    writeln!(out, "{}", if clean { "all is well" } else { "PROBLEMS FOUND" })?;
    Ok(clean)
}

/// The key checkpoints are checked with: the one given, else the public half of the signing
/// key file; without either, verification stops unless told to go without signatures.
fn verifier(args: &VerifyArgs) -> anyhow::Result<Option<VerifierKey>> {
    if let Some(text) = &args.verifier_key {
        return Ok(Some(VerifierKey::parse(text)?));
    }
    match LogKey::load(&args.log_key) {
        Ok(key) => Ok(Some(key.verifier())),
        Err(_) if args.no_signatures => Ok(None),
        Err(err) => anyhow::bail!(
            "{err}: pass the log's verifier key (--verifier-key, as `palimpsest log-key` prints \
             it) to check its checkpoints, or --no-signatures to verify without"
        ),
    }
}

/// The checkpoints kept outside the database, each opened with the key: one that does not
/// verify is not evidence of anything.
fn held_checkpoints(
    args: &VerifyArgs,
    key: Option<&VerifierKey>,
) -> anyhow::Result<Vec<Checkpoint>> {
    if args.checkpoints.is_empty() {
        return Ok(Vec::new());
    }
    let Some(key) = key else {
        anyhow::bail!("--checkpoint needs the key that signed it (--verifier-key)");
    };
    args.checkpoints
        .iter()
        .map(|path| {
            let note = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the checkpoint {}", path.display()))?;
            key.open(&note).with_context(|| format!("the checkpoint {}", path.display()))
        })
        .collect()
}

fn summarise(out: &mut impl Write, report: &Report, elapsed: Duration) -> io::Result<()> {
    let elapsed = elapsed.as_secs_f64();
    let count = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    writeln!(
        out,
        "checked {} and {} ({} redacted) in {elapsed:.2} s ({:.0} revisions/s)",
        count(report.documents, "document", "documents"),
        count(report.revisions, "revision", "revisions"),
        report.redacted_count,
        report.revisions as f64 / elapsed.max(1e-9),
    )
}

fn progress_bar(total: u64, unit: &'static str) -> ProgressBar {
    // indicatif draws only on a terminal: piped or redirected, the bar stays silent.
    let bar = ProgressBar::new(total);
    let template = format!("{{bar:40}} {{pos}}/{{len}} {unit} ({{per_sec}}, {{eta}} left)");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar
}

/// Prints each problem on a line; returns whether there were none.
fn print_problems(out: &mut impl Write, report: &Report) -> io::Result<bool> {
    for problem in &report.problems {
        writeln!(out, "{}", describe(problem))?;
    }
    let unlisted = report.problem_count - report.problems.len() as u64;
    if unlisted > 0 {
        writeln!(out, "… and {unlisted} more problems")?;
    }
    Ok(report.is_clean())
}

fn describe(problem: &Problem) -> String {
    let mut line = format!("PROBLEM {}", problem.kind);
    if let Some(document) = problem.document {
        line.push_str(&format!(" document {document}"));
    }
    if let Some(revision) = &problem.revision {
        line.push_str(&format!(" revision {revision}"));
    }
    if let Some(field) = problem.field {
        line.push_str(&format!(" field {field}"));
    }
    line.push_str(&format!(": {}", problem.detail));
    line
}
