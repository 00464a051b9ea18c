//! A linear pre-scan of markup, before any parser sees it. HTML and XML parsers, and what
//! walks their trees (Readability), recurse: a page of 100,000 nested tags would take them
//! deep into the stack, and a release build's stack overflows. One pass over the bytes bounds
//! how deep elements nest and how many there are, at no more cost than reading them.

/// What a page may hold before it is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkupLimits {
    pub max_bytes: usize,
    /// Open elements inside each other.
    pub max_depth: usize,
    pub max_elements: usize,
}

/// What is wrong with a page's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkupError {
    #[error("the page is {size} bytes; the limit is {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("elements nest {depth} deep; the limit is {limit}")]
    TooDeep { depth: usize, limit: usize },
    #[error("the page has over {limit} elements")]
    TooManyElements { limit: usize },
}

/// Elements HTML never closes: they do not nest.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "!doctype",
];
/// Elements a start tag of the same name closes (`<p>one<p>two`): sloppy pages leave them open.
const SELF_ENDING: &[&str] = &["p", "li", "dt", "dd", "option", "tr", "td", "th"];
/// Elements whose contents are text, not markup.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp"];

/// Checks `markup` against `limits`. Nesting is counted as a tolerant parser would see it:
/// an end tag closes the innermost open element of its name (and those inside it), and one
/// that closes nothing is ignored; self-closing and void elements do not nest.
pub fn check(markup: &str, limits: &MarkupLimits) -> Result<(), MarkupError> {
    if markup.len() > limits.max_bytes {
        return Err(MarkupError::TooLarge { size: markup.len(), limit: limits.max_bytes });
    }
    let bytes = markup.as_bytes();
    let mut open: Vec<&str> = Vec::new();
    let mut elements = 0usize;
    let mut i = 0;
    while let Some(offset) = memchr_lt(&bytes[i..]) {
        i += offset + 1;
        if bytes[i..].starts_with(b"!--") {
            i = find(bytes, i, b"-->").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        if bytes[i..].starts_with(b"![CDATA[") {
            i = find(bytes, i, b"]]>").map_or(bytes.len(), |end| end + 3);
            continue;
        }
        let closing = bytes.get(i) == Some(&b'/');
        let start = if closing { i + 1 } else { i };
        let name_end = bytes[start..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/'))
            .map_or(bytes.len(), |p| start + p);
        if name_end == start || !(bytes[start].is_ascii_alphabetic() || bytes[start] == b'!') {
            continue;
        }
        let name = &markup[start..name_end];
        let Some(tag_end) = bytes[name_end..].iter().position(|b| *b == b'>') else { break };
        let tag_end = name_end + tag_end;
        let self_closing = tag_end > 0 && bytes[tag_end - 1] == b'/';
        i = tag_end + 1;
        if closing {
            if let Some(at) = open.iter().rposition(|o| o.eq_ignore_ascii_case(name)) {
                open.truncate(at);
            }
            continue;
        }
        elements += 1;
        if elements > limits.max_elements {
            return Err(MarkupError::TooManyElements { limit: limits.max_elements });
        }
        let lower = name.to_ascii_lowercase();
        if RAW_TEXT.contains(&lower.as_str()) {
            let close = format!("</{lower}");
            i = find_ignore_case(bytes, i, close.as_bytes()).unwrap_or(bytes.len());
            continue;
        }
        if self_closing || VOID.contains(&lower.as_str()) {
            continue;
        }
        if SELF_ENDING.contains(&lower.as_str())
            && open.last().is_some_and(|o| o.eq_ignore_ascii_case(name))
        {
            open.pop();
        }
        open.push(name);
        if open.len() > limits.max_depth {
            return Err(MarkupError::TooDeep { depth: open.len(), limit: limits.max_depth });
        }
    }
    Ok(())
}

fn memchr_lt(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|b| *b == b'<')
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

fn find_ignore_case(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
        .map(|p| from + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: MarkupLimits =
        MarkupLimits { max_bytes: 1 << 24, max_depth: 256, max_elements: 200_000 };

    #[test]
    fn deep_nesting_is_refused_in_one_pass() {
        let deep = format!("{}x{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
        let started = std::time::Instant::now();
        assert_eq!(check(&deep, &LIMITS), Err(MarkupError::TooDeep { depth: 257, limit: 256 }));
        eprintln!("100,000 nested divs refused in {:?}", started.elapsed());
        let xml = format!("{}{}", "<a>".repeat(1_000), "</a>".repeat(1_000));
        assert!(matches!(check(&xml, &LIMITS), Err(MarkupError::TooDeep { .. })));
    }

    #[test]
    fn ordinary_pages_pass_and_unclosed_or_void_tags_do_not_nest() {
        let page = format!(
            "<!doctype html><html><head><meta charset=utf-8><title>a < b</title>\
             <script>if (a<b) {{ document.write('<div><div>') }}</script></head><body>{}\
             <!-- <div><div> --><p>one<p>two<br><img src=x><hr/>{}</body></html>",
            "<div>".repeat(200),
            "</div>".repeat(200)
        );
        assert_eq!(check(&page, &LIMITS), Ok(()));
        let unclosed = "<p>x".repeat(10_000) + &"<li>y".repeat(10_000);
        assert_eq!(check(&format!("<div>{unclosed}</div>"), &LIMITS), Ok(()));
        assert_eq!(check(&"<br>".repeat(10_000), &LIMITS), Ok(()));
    }

    #[test]
    fn size_and_element_count_are_bounded() {
        let small = MarkupLimits { max_bytes: 100, max_depth: 10, max_elements: 5 };
        assert!(matches!(check(&"x".repeat(101), &small), Err(MarkupError::TooLarge { .. })));
        assert_eq!(
            check(&"<br>".repeat(6), &small),
            Err(MarkupError::TooManyElements { limit: 5 })
        );
    }
}
