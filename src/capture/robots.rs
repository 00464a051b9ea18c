//! robots.txt (RFC 9309), read with `texting_robots` for one product token. What a capture does
//! when there is no robots.txt to read is the RFC's rule (§2.3.1.3, §2.3.1.4): one that is not
//! there (4xx) allows everything, one that cannot be read (5xx, a failed fetch) disallows
//! everything, until it can be read.

use texting_robots::Robot;
use url::Url;

/// The most of a robots.txt that is read (RFC 9309 §2.5: at least 500 KiB).
pub const MAX_ROBOTS_BYTES: usize = 512 * 1024;

/// What a site's robots.txt lets one crawler fetch.
pub struct Robots(Rules);

enum Rules {
    All,
    None,
    Parsed(Box<Robot>),
}

impl Robots {
    /// The rules `bytes` give the crawler named `token`. A file the parser cannot read allows
    /// everything, as a file with no rule for the crawler does.
    pub fn parse(token: &str, bytes: &[u8]) -> Self {
        let bytes = &bytes[..bytes.len().min(MAX_ROBOTS_BYTES)];
        match Robot::new(token, bytes) {
            Ok(robot) => Robots(Rules::Parsed(Box::new(robot))),
            Err(_) => Robots::allow_all(),
        }
    }

    /// No robots.txt (4xx): everything may be fetched.
    pub fn allow_all() -> Self {
        Robots(Rules::All)
    }

    /// A robots.txt that could not be read (5xx, unreachable): nothing may be fetched.
    pub fn disallow_all() -> Self {
        Robots(Rules::None)
    }

    pub fn allows(&self, url: &Url) -> bool {
        match &self.0 {
            Rules::All => true,
            Rules::None => false,
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The `Crawl-delay` the site asks of this crawler, in seconds, if any.
    pub fn crawl_delay(&self) -> Option<f32> {
        match &self.0 {
            Rules::Parsed(robot) => robot.delay,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str) -> Url {
        Url::parse(&format!("https://example.com{path}")).unwrap()
    }

    #[test]
    fn the_longest_match_wins_and_groups_are_by_product_token() {
        // RFC 9309 §2.2.2 and §5.1's examples.
        let txt = b"User-agent: *\nDisallow: /private/\nAllow: /private/public.html\n\n\
                    User-agent: palimpsest\nDisallow: /news/draft\nAllow: /\n";
        let ours = Robots::parse("palimpsest", txt);
        assert!(ours.allows(&url("/private/anything")), "our group, not *");
        assert!(!ours.allows(&url("/news/draft-1")));
        let other = Robots::parse("otherbot", txt);
        assert!(!other.allows(&url("/private/secret")));
        assert!(other.allows(&url("/private/public.html")));
        assert!(other.allows(&url("/news/")));
    }

    #[test]
    fn wildcards_and_end_anchors() {
        let robots =
            Robots::parse("palimpsest", b"User-agent: *\nDisallow: /*.pdf$\nDisallow: /a*b\n");
        assert!(!robots.allows(&url("/files/report.pdf")));
        assert!(robots.allows(&url("/files/report.pdf.html")));
        assert!(!robots.allows(&url("/axxb")));
        assert!(robots.allows(&url("/ba")));
    }

    #[test]
    fn missing_and_unreadable_files_follow_the_rfc() {
        assert!(Robots::allow_all().allows(&url("/x")));
        assert!(!Robots::disallow_all().allows(&url("/x")));
        assert!(Robots::parse("palimpsest", b"\xff\xfe garbage \x00").allows(&url("/x")));
        let huge = "Disallow: /x\n".repeat(100_000);
        let robots = Robots::parse("palimpsest", format!("User-agent: *\n{huge}").as_bytes());
        assert!(!robots.allows(&url("/x")), "the first 512 KiB are read");
    }
}
