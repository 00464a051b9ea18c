//! Feeds (RSS 0.9 to 2.0, Atom, JSON Feed, through `feed-rs`): the pages a feed lists, each to
//! become a page watch. A feed is checked by `scan` before it is parsed, as a page is.

use chrono::{DateTime, Utc};
use url::Url;

use super::scan::{self, MarkupError, MarkupLimits};

/// What a feed may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedLimits {
    pub markup: MarkupLimits,
    /// Entries kept, the newest first when the feed dates them.
    pub max_entries: usize,
}

impl Default for FeedLimits {
    fn default() -> Self {
        Self {
            markup: MarkupLimits {
                max_bytes: 5 << 20,
                max_depth: 64,
                max_elements: 200_000,
                max_attributes: 256,
            },
            max_entries: 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feed {
    pub title: Option<String>,
    pub entries: Vec<FeedEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub url: Url,
    pub title: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Markup(#[from] MarkupError),
    #[error("{0}")]
    Parse(String),
}

/// The entries of the feed `bytes`, fetched from `feed_url`: each entry's page (its
/// `alternate` link, or its first http(s) link, resolved against the feed's URL), once, at
/// most `max_entries`.
pub fn parse_feed(bytes: &[u8], feed_url: &Url, limits: &FeedLimits) -> Result<Feed, FeedError> {
    if bytes.len() > limits.markup.max_bytes {
        let size = bytes.len();
        return Err(MarkupError::TooLarge { size, limit: limits.markup.max_bytes }.into());
    }
    // JSON Feed is JSON (serde_json bounds its own recursion); XML feeds are scanned first.
    let text = String::from_utf8_lossy(bytes);
    if !text.trim_start().starts_with('{') {
        scan::check_xml(&text, &limits.markup)?;
    }
    let parsed = feed_rs::parser::Builder::new()
        .base_uri(Some(feed_url.as_str()))
        .build()
        .parse(bytes)
        .map_err(|e| FeedError::Parse(e.to_string()))?;
    let mut entries: Vec<FeedEntry> = Vec::new();
    for entry in parsed.entries {
        let link = entry
            .links
            .iter()
            .filter(|l| l.rel.as_deref().is_none_or(|rel| rel == "alternate"))
            .chain(entry.links.iter())
            .find_map(|l| {
                feed_url.join(l.href.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
            });
        let Some(url) = link else { continue };
        if entries.iter().any(|e| e.url == url) {
            continue;
        }
        entries.push(FeedEntry {
            url,
            title: entry.title.map(|t| t.content.trim().to_owned()).filter(|t| !t.is_empty()),
            published_at: entry.published.or(entry.updated),
        });
    }
    if entries.iter().all(|e| e.published_at.is_some()) {
        entries.sort_by_key(|e| std::cmp::Reverse(e.published_at));
    }
    entries.truncate(limits.max_entries);
    Ok(Feed { title: parsed.title.map(|t| t.content.trim().to_owned()), entries })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://news.example/feeds/main.xml").unwrap()
    }

    fn urls(feed: &Feed) -> Vec<&str> {
        feed.entries.iter().map(|e| e.url.as_str()).collect()
    }

    #[test]
    fn rss_2_with_relative_links_and_repeats() {
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><title>News</title>
<item><title>One</title><link>https://news.example/one</link><pubDate>Tue, 01 Dec 2026 08:00:00 GMT</pubDate></item>
<item><title>Two</title><link>/two</link><pubDate>Wed, 02 Dec 2026 08:00:00 GMT</pubDate></item>
<item><title>One again</title><link>https://news.example/one</link><pubDate>Mon, 30 Nov 2026 08:00:00 GMT</pubDate></item>
<item><title>No link</title></item>
</channel></rss>"#;
        let feed = parse_feed(rss, &base(), &FeedLimits::default()).unwrap();
        assert_eq!(feed.title.as_deref(), Some("News"));
        assert_eq!(urls(&feed), ["https://news.example/two", "https://news.example/one"]);
    }

    #[test]
    fn atom_rss_1_and_json_feed() {
        let atom = br#"<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Atom news</title><id>urn:x</id><updated>2026-12-01T00:00:00Z</updated>
<entry><title>A</title><id>urn:a</id><updated>2026-12-01T00:00:00Z</updated>
<link rel="edit" href="https://news.example/edit/a"/><link rel="alternate" href="https://news.example/a"/></entry>
</feed>"#;
        assert_eq!(
            urls(&parse_feed(atom, &base(), &FeedLimits::default()).unwrap()),
            ["https://news.example/a"]
        );
        let rdf = br#"<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
<channel rdf:about="https://news.example/"><title>RSS 1</title><link>https://news.example/</link><description>d</description></channel>
<item rdf:about="https://news.example/r1"><title>R1</title><link>https://news.example/r1</link></item>
</rdf:RDF>"#;
        assert_eq!(
            urls(&parse_feed(rdf, &base(), &FeedLimits::default()).unwrap()),
            ["https://news.example/r1"]
        );
        let json = br#"{"version":"https://jsonfeed.org/version/1.1","title":"JSON news",
"items":[{"id":"1","url":"https://news.example/j1","title":"J1"},{"id":"2","url":"ftp://news.example/x"}]}"#;
        assert_eq!(
            urls(&parse_feed(json, &base(), &FeedLimits::default()).unwrap()),
            ["https://news.example/j1"]
        );
    }

    #[test]
    fn the_entry_cap_garbage_and_deep_nesting() {
        let items: String = (0..50).map(|i| format!("<item><link>/n/{i}</link></item>")).collect();
        let rss = format!(r#"<rss version="2.0"><channel><title>t</title>{items}</channel></rss>"#);
        let limits = FeedLimits { max_entries: 10, ..FeedLimits::default() };
        assert_eq!(parse_feed(rss.as_bytes(), &base(), &limits).unwrap().entries.len(), 10);
        assert!(parse_feed(b"this is not a feed", &base(), &FeedLimits::default()).is_err());
        let deep = format!("<rss>{}{}</rss>", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert!(matches!(
            parse_feed(deep.as_bytes(), &base(), &FeedLimits::default()),
            Err(FeedError::Markup(MarkupError::TooDeep { .. }))
        ));
    }
}
