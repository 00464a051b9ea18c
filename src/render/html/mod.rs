//! HTML pages for people and for citation-manager connectors (Zotero, Mendeley): a revision's
//! page (its text, where it stands in the history, its citations with their verdicts, its
//! hashes), a document's history, a word diff between two revisions, and the home, search
//! and error pages. Revision pages carry
//! Highwire `citation_*` meta tags, Dublin Core tags and a COinS span (OpenURL ContextObject),
//! so that a browser connector saves the page with the right fields and the exact revision.
//!
//! Server-rendered with `maud` (which escapes every value), one inline stylesheet allowed by
//! its hash (`STYLE_HASH`), no scripts, nothing loaded from anywhere.

mod history;
mod home;
mod record;

use std::sync::LazyLock;

use base64::Engine;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use sha2::{Digest, Sha256};

pub use history::{HISTORY_PAGE, diff, history};
pub use home::{RECENT_DOCUMENTS, SEARCH_PAGE, error, home, search};
pub use record::{PageInput, coins, page};

use crate::store::{Document, Timestamp};

/// The pages' stylesheet, inline; the Content-Security-Policy allows exactly it.
const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfb; --muted: #5b5b5b;
  --rule: #d8d8d0; --accent: #1a5fb4; --ins: #d7f5dd; --del: #fbdada; --warn: #fff4cc; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8e3; --bg: #161616; --muted: #a8a8a0;
  --rule: #3a3a36; --accent: #8cb4f0; --ins: #1f4a2a; --del: #5a2323; --warn: #4a3d10; } }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 1.0625rem/1.6 Georgia, "Iowan Old Style", "Times New Roman", serif; }
header, main, footer { max-width: 46rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1rem; font-family: system-ui, sans-serif; font-size: .9rem; }
header a, nav a { color: var(--accent); }
a { color: var(--accent); }
h1 { font-size: 1.75rem; line-height: 1.25; margin: .5rem 0 1rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); }
nav.revisions { display: flex; flex-wrap: wrap; gap: .25rem 1rem; font-family: system-ui, sans-serif;
  font-size: .9rem; margin: .5rem 0 1rem; }
.notice { background: var(--warn); border-left: 4px solid #c49a00; padding: .5rem .75rem;
  font-family: system-ui, sans-serif; font-size: .95rem; }
.current { font-family: system-ui, sans-serif; font-size: .9rem; color: var(--muted); }
.text p { margin: 0 0 1rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem;
  font-family: system-ui, sans-serif; font-size: .9rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; min-width: 0; }
code, .hash { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .85em;
  overflow-wrap: anywhere; word-break: break-all; }
.hint { font-family: system-ui, sans-serif; font-size: .85rem; color: var(--muted); }
ol.citations { padding-left: 1.25rem; }
ol.citations li { margin-bottom: .75rem; }
.verdict { font-family: system-ui, sans-serif; font-size: .75rem; font-weight: 600;
  letter-spacing: .03em; padding: .05rem .4rem; border-radius: .25rem; border: 1px solid; }
.verdict.verified { color: #1e7b34; } .verdict.altered { color: #a35c00; }
.verdict.not-found { color: #b3261e; } .verdict.unverifiable { color: var(--muted); }
table.history { width: 100%; border-collapse: collapse; font-family: system-ui, sans-serif;
  font-size: .9rem; }
table.history th, table.history td { text-align: left; vertical-align: top; padding: .4rem .3rem;
  border-bottom: 1px solid var(--rule); }
table.history td.why { overflow-wrap: break-word; }
form.compare { font-family: system-ui, sans-serif; font-size: .9rem; display: flex;
  flex-wrap: wrap; gap: .5rem; align-items: end; margin: 1rem 0; }
form.compare label { display: flex; flex-direction: column; }
select, button, input { font: inherit; max-width: 100%; }
form.search { font-family: system-ui, sans-serif; margin: 1rem 0; }
form.search input { width: min(100%, 24rem); }
ul.documents, ol.hits { padding-left: 1.25rem; }
ul.documents li, ol.hits li { margin-bottom: .5rem; }
.snippet { margin: .15rem 0; }
.diff { white-space: pre-wrap; overflow-wrap: anywhere; }
.hunk { border: 1px solid var(--rule); padding: .5rem .75rem; margin: 0 0 1rem; }
.hunk .where { font-family: system-ui, sans-serif; font-size: .8rem; color: var(--muted); }
ins { background: var(--ins); text-decoration: underline; }
del { background: var(--del); text-decoration: line-through; }
.references p { font-size: .95rem; }
footer { margin-top: 3rem; padding-bottom: 2rem; font-family: system-ui, sans-serif;
  font-size: .85rem; color: var(--muted); }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: 1rem; }
"#;

/// The CSP source expression that allows `STYLE` (CSP 3 hash source).
pub static STYLE_HASH: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(STYLE.as_bytes());
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(digest))
});

/// The Content-Security-Policy of every page: nothing loaded, no scripts, only the inline
/// stylesheet; forms (the diff picker) go to this origin only.
pub static PAGE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src {}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'",
        *STYLE_HASH
    )
});

/// A time as people read it, in a `<time>` element machines read.
fn when(at: Timestamp) -> Markup {
    html! { time datetime=(at) { (at.as_datetime().format("%Y-%m-%d %H:%M UTC")) } }
}

fn document_url(base: &str, document: &Document) -> String {
    format!("{base}/documents/{}", document.slug)
}

fn revision_link(base: &str, document: &Document, hash: &impl std::fmt::Display) -> String {
    format!("{base}/documents/{}/revisions/{hash}", document.slug)
}

fn history_url(base: &str, document: &Document) -> String {
    format!("{base}/documents/{}/history", document.slug)
}

/// Where a change receipt of two revisions is served (a signed file to check offline).
fn receipt_url(
    base: &str,
    document: &Document,
    from: &impl std::fmt::Display,
    to: &impl std::fmt::Display,
) -> String {
    format!("{base}/documents/{}/receipt?from={from}&to={to}", document.slug)
}

fn diff_url(
    base: &str,
    document: &Document,
    from: &impl std::fmt::Display,
    to: &impl std::fmt::Display,
) -> String {
    format!("{base}/documents/{}/diff?from={from}&to={to}", document.slug)
}

/// Which lines of one side a hunk covers, as a person reads it.
fn lines(word: &str, start: usize, count: usize) -> String {
    match count {
        0 => "nothing".to_owned(),
        1 => format!("{} {start}", word.trim_end_matches('s')),
        _ => format!("{word} {start}–{}", start + count - 1),
    }
}

/// The frame every page shares.
fn layout(base: &str, title: &str, head: Markup, crumbs: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                (head)
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to the text" }
                header { nav aria-label="Breadcrumbs" { a href={ (base) "/" } { "Palimpsest" } " › " (crumbs) } }
                main id="main" { (body) }
                footer {
                    p { "Palimpsest keeps every revision of every document, hashed (SHA-256) and chained: nothing here changes once recorded." }
                }
            }
        }
    }
    .into_string()
}
