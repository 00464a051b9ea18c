//! A page's article: its text, as Readability (Firefox's reader view, here `dom_smoothie`)
//! finds it among navigation, ads and footers, and the page's own word on its title, author,
//! publisher, dates and canonical URL (JSON-LD and OpenGraph through `dom_smoothie`; the
//! Highwire `citation_*` tags scholarly publishers use, and `<link rel=canonical>`, here).
//!
//! The text becomes a revision, whose hash covers it byte for byte, so it must be the same for
//! the same page every time: paragraphs, each on one line with runs of white space as one
//! space, separated by one blank line. A page is parsed by `scan`, which bounds what it builds.

use chrono::{DateTime, NaiveDate, Utc};
use dom_smoothie::{Config, Readability, TextMode};
use url::Url;

use super::scan::{self, MarkupError, MarkupLimits};

/// What a page may hold before it is parsed, and its article after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractLimits {
    pub markup: MarkupLimits,
    /// Bytes of article text kept.
    pub max_text_bytes: usize,
}

impl Default for ExtractLimits {
    fn default() -> Self {
        Self {
            markup: MarkupLimits {
                max_bytes: 5 << 20,
                max_depth: 256,
                max_elements: 200_000,
                max_attributes: 256,
            },
            max_text_bytes: 2 << 20,
        }
    }
}

/// A page's article and what the page says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Article {
    pub title: String,
    /// Paragraphs separated by one blank line.
    pub text: String,
    pub byline: Option<String>,
    pub site_name: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub modified_at: Option<DateTime<Utc>>,
    pub canonical_url: Option<Url>,
    pub language: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error(transparent)]
    Markup(#[from] MarkupError),
    #[error("no article text was found in the page")]
    NoArticle,
    #[error("the article is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the page could not be read: {0}")]
    Unreadable(String),
}

/// The article of `html`, fetched from `page_url`.
pub fn extract(
    html: &str,
    page_url: &Url,
    limits: &ExtractLimits,
) -> Result<Article, ExtractError> {
    let document = scan::parse_html(html, &limits.markup)?;
    let meta = |name: &str| {
        let value = document.select(&format!(r#"meta[name="{name}"]"#)).attr("content")?;
        let value = one_line(&value);
        (!value.is_empty()).then_some(value)
    };
    let highwire_title = meta("citation_title");
    let highwire_author = meta("citation_author");
    let highwire_date = meta("citation_publication_date").or_else(|| meta("citation_date"));
    let canonical = document
        .select(r#"link[rel="canonical"]"#)
        .attr("href")
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|url| matches!(url.scheme(), "http" | "https"));
    let config = Config {
        max_elements_to_parse: limits.markup.max_elements,
        text_mode: TextMode::Formatted,
        ..Config::default()
    };
    let mut readability =
        Readability::with_document(document, Some(page_url.as_str()), Some(config))
            .map_err(|e| ExtractError::Unreadable(e.to_string()))?;
    let article = readability.parse().map_err(|e| match e {
        dom_smoothie::ReadabilityError::GrabFailed => ExtractError::NoArticle,
        other => ExtractError::Unreadable(other.to_string()),
    })?;
    let text = paragraphs(&article.text_content);
    if text.is_empty() {
        return Err(ExtractError::NoArticle);
    }
    if text.len() > limits.max_text_bytes {
        return Err(ExtractError::TooLarge { size: text.len(), limit: limits.max_text_bytes });
    }
    let nonempty = |value: Option<String>| value.map(|v| one_line(&v)).filter(|v| !v.is_empty());
    Ok(Article {
        title: highwire_title.unwrap_or_else(|| one_line(&article.title)),
        text,
        byline: highwire_author.or_else(|| nonempty(article.byline)),
        site_name: nonempty(article.site_name),
        published_at: highwire_date.or(article.published_time).as_deref().and_then(parse_date),
        modified_at: article.modified_time.as_deref().and_then(parse_date),
        canonical_url: canonical,
        language: nonempty(article.lang),
    })
}

/// `text` as paragraphs: each line with its white space and control characters collapsed,
/// empty lines dropped, joined by one blank line.
fn paragraphs(text: &str) -> String {
    text.lines().map(one_line).filter(|line| !line.is_empty()).collect::<Vec<_>>().join("\n\n")
}

/// `text` on one line: control characters and runs of white space as one space, trimmed.
pub(super) fn one_line(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A date as pages write them: RFC 3339, or a day (`2026-12-01`, `2026/12/01`) taken as its
/// midnight in UTC. Anything else is no date: a page's metadata is never a reason to fail.
fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    ["%Y-%m-%d", "%Y/%m/%d"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text.get(..10)?, format).ok())
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|time| time.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(url: &str) -> Url {
        Url::parse(url).unwrap()
    }

    const NEWS: &str = r#"<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Council votes to close bridge | The Daily Fixture</title>
<link rel="canonical" href="/news/bridge">
<meta property="og:site_name" content="The Daily Fixture">
<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",
 "headline":"Council votes to close bridge","datePublished":"2026-12-01T08:00:00Z",
 "dateModified":"2026-12-02T09:30:00+01:00","author":{"@type":"Person","name":"Ada Reporter"},
 "publisher":{"@type":"Organization","name":"The Daily Fixture"}}</script>
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li></ul></nav>
<aside class="ad">Buy a boat today! Limited offer.</aside>
<article><h1>Council votes to close bridge</h1>
<p>The city council voted on Tuesday to close the old harbour bridge to cars from next
   spring, after an inspection found corrosion in two of its supporting piers.</p>
<p>Engineers told the council that repairs would take at least eighteen months and cost more
   than the bridge's original construction, adjusted for inflation.</p>
<p>"We cannot keep asking people to drive over a structure we know is failing," the mayor
   said after the vote, which passed by seven votes to two.</p>
</article>
<section class="comments"><h2>Comments</h2><p>First!</p></section>
<footer>Copyright The Daily Fixture. <a href="/privacy">Privacy</a></footer>
</body></html>"#;

    #[test]
    fn the_article_and_its_metadata_without_the_rest_of_the_page() {
        let article =
            extract(NEWS, &page("https://news.example/a?utm=x"), &ExtractLimits::default())
                .unwrap();
        assert_eq!(article.title, "Council votes to close bridge");
        assert_eq!(article.byline.as_deref(), Some("Ada Reporter"));
        assert_eq!(article.site_name.as_deref(), Some("The Daily Fixture"));
        assert_eq!(article.published_at.unwrap().to_rfc3339(), "2026-12-01T08:00:00+00:00");
        assert_eq!(article.modified_at.unwrap().to_rfc3339(), "2026-12-02T08:30:00+00:00");
        assert_eq!(article.canonical_url.unwrap().as_str(), "https://news.example/news/bridge");
        assert_eq!(article.language.as_deref(), Some("en"));
        let paragraphs: Vec<&str> = article.text.split("\n\n").collect();
        assert!(paragraphs.iter().any(|p| p.starts_with("The city council voted on Tuesday to close the old harbour bridge to cars from next spring,")), "{}", article.text);
        for gone in ["Buy a boat", "Privacy", "World", "First!"] {
            assert!(!article.text.contains(gone), "{gone:?} kept: {}", article.text);
        }
        assert!(!article.text.contains("  ") && !article.text.contains("\n\n\n"));
    }

    #[test]
    fn the_same_page_gives_the_same_bytes_and_an_edit_changes_only_its_paragraph() {
        let url = page("https://news.example/a");
        let limits = ExtractLimits::default();
        let once = extract(NEWS, &url, &limits).unwrap().text;
        assert_eq!(extract(NEWS, &url, &limits).unwrap().text, once);
        let edited = NEWS.replace("at least eighteen months", "at least two years");
        let twice = extract(&edited, &url, &limits).unwrap().text;
        let before: Vec<&str> = once.split("\n\n").collect();
        let after: Vec<&str> = twice.split("\n\n").collect();
        assert_eq!(before.len(), after.len());
        let changed: Vec<usize> = (0..before.len()).filter(|&i| before[i] != after[i]).collect();
        assert_eq!(changed.len(), 1, "{changed:?}");
        assert!(after[changed[0]].contains("two years"));
    }

    #[test]
    fn highwire_tags_and_plain_dates() {
        let html = r#"<html><head><title>x</title>
<meta name="citation_title" content="On  the Corrosion of Piers">
<meta name="citation_author" content="Grace Engineer">
<meta name="citation_publication_date" content="2025/03/04">
</head><body><div><p>Piers corrode where salt water meets the air, and the harbour bridge's
piers have stood in it for ninety years, with inspections every five years since 1990.</p>
<p>The latest inspection found the corrosion had passed the point at which repairs are cheaper
than replacement, for two of the seven piers.</p></div></body></html>"#;
        let article =
            extract(html, &page("https://journal.example/p"), &ExtractLimits::default()).unwrap();
        assert_eq!(article.title, "On the Corrosion of Piers");
        assert_eq!(article.byline.as_deref(), Some("Grace Engineer"));
        assert_eq!(article.published_at.unwrap().to_rfc3339(), "2025-03-04T00:00:00+00:00");
        assert_eq!(article.text.split("\n\n").count(), 2, "{}", article.text);
    }

    #[test]
    fn pages_without_an_article_or_too_deep_are_refused() {
        let url = page("https://news.example/");
        let limits = ExtractLimits::default();
        assert_eq!(
            extract("<html><body></body></html>", &url, &limits),
            Err(ExtractError::NoArticle)
        );
        let deep = format!(
            "<html><body>{}deep{}</body></html>",
            "<div>".repeat(100_000),
            "</div>".repeat(100_000)
        );
        let started = std::time::Instant::now();
        assert!(matches!(
            extract(&deep, &url, &limits),
            Err(ExtractError::Markup(MarkupError::TooDeep { .. }))
        ));
        eprintln!("100,000 nested divs refused in {:?}", started.elapsed());
        let wrapped = format!(
            "<html><body>{}{}{}</body></html>",
            "<div>".repeat(200),
            &NEWS[NEWS.find("<article>").unwrap()..NEWS.find("</article>").unwrap() + 10],
            "</div>".repeat(200)
        );
        assert!(extract(&wrapped, &url, &limits).unwrap().text.contains("harbour bridge"));
    }
}
