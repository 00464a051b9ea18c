//! Each hostile page here got past the earlier pre-scan, which read tags as it guessed a
//! parser would: every one is refused by a limit, and quickly (the time is printed; the
//! release build's hostile suite runs them through a whole capture).

use std::time::Instant;

use super::*;

const LIMITS: MarkupLimits =
    MarkupLimits { max_bytes: 5 << 20, max_depth: 256, max_elements: 200_000, max_attributes: 256 };

fn refused(name: &str, page: &str) -> MarkupError {
    let started = Instant::now();
    let refused = parse_html(page, &LIMITS).err();
    eprintln!("{name}: {refused:?} in {:?}", started.elapsed());
    refused.unwrap_or_else(|| panic!("{name} was parsed"))
}

fn deep(name: &str, page: String) {
    assert_eq!(refused(name, &page), MarkupError::TooDeep { limit: 256 }, "{name}");
}

#[test]
fn nesting_is_counted_as_the_parser_builds_it() {
    let n = 100_000;
    deep("nested divs", format!("{}x{}", "<div>".repeat(n), "</div>".repeat(n)));
    // HTML ignores `/>` on a div: each opens one.
    deep("self-closed divs", "<div/>".repeat(n));
    // A quoted `/>` is an attribute's value.
    deep("quoted slash", r#"<div title="/>">"#.repeat(n));
    // Inside <svg>, <title> holds markup, not text; a CDATA section there is data.
    deep("svg title", format!("<svg><title>{}", "<g>".repeat(n)));
    deep("cdata in svg", format!("<svg><![CDATA[x]]>{}", "<g>".repeat(n)));
    // Formatting elements the parser reopens for every paragraph, each inside the last.
    let reopened: String = (0..n).map(|i| format!("<p><b class=c{i}>x</p>")).collect();
    let error = refused("reopened formatting", &reopened);
    assert!(matches!(error, MarkupError::TooDeep { .. } | MarkupError::TooManyElements { .. }));
    // Fostered out of a table, then nested in each other.
    deep("fostered", format!("<table>{}", "<div>".repeat(n)));
    // A template's contents are outside the tree, but nest all the same.
    deep("templates", "<template>".repeat(n));
    // A script end tag that is not one leaves the parser in the script's text, and back.
    deep("script escape", format!("<script><!--<script></script>--></script>{}", "<i>".repeat(n)));
}

#[test]
fn elements_and_attributes_are_counted() {
    assert_eq!(
        refused("many elements", &"<br>".repeat(300_000)),
        MarkupError::TooManyElements { limit: 200_000 }
    );
    let attributes: String = (0..100_000).map(|i| format!(" a{i}")).collect();
    assert_eq!(
        refused("one tag's attributes", &format!("<div{attributes}>x</div>")),
        MarkupError::TooManyAttributes { limit: 256 }
    );
    // Each later <html> tag adds its attributes to the first one's.
    let merged: String = (0..100_000).map(|i| format!("<html a{i}>")).collect();
    assert_eq!(
        refused("attributes merged into <html>", &merged),
        MarkupError::TooManyAttributes { limit: 256 }
    );
    assert!(matches!(parse_html(&"x".repeat(6 << 20), &LIMITS), Err(MarkupError::TooLarge { .. })));
}

#[test]
fn ordinary_pages_parse_whole() {
    let page = format!(
        "<!doctype html><html><head><meta charset=utf-8><title>a < b</title>\
         <script>if (a<b) {{ document.write('<div><div>') }}</script></head><body>{}\
         <!-- <div><div> --><p>one<p>two<br><img src=x><hr/><p title=\"/>\">three{}</body></html>",
        "<div>".repeat(200),
        "</div>".repeat(200)
    );
    let document = parse_html(&page, &LIMITS).unwrap();
    assert_eq!(document.select("p").length(), 3);
    assert_eq!(document.select("div").length(), 200);
    // Slices end inside tags and characters: the tree is the one a whole parse builds.
    let long: String = (0..5_000).map(|i| format!("<p class=\"é{i}\">ünïcödé {i}</p>")).collect();
    let sliced = parse_html(&long, &LIMITS).unwrap();
    assert_eq!(sliced.html(), Document::from(long.as_str()).html());
    let unclosed = "<p>x".repeat(10_000) + &"<li>y".repeat(10_000);
    assert!(parse_html(&format!("<div>{unclosed}</div>"), &LIMITS).is_ok());
}

#[test]
fn xml_is_read_as_xml() {
    let limits = MarkupLimits { max_depth: 64, ..LIMITS };
    let feed = r#"<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "<x>">]><rss><channel>
        <title type="xhtml"><div>a</div></title><!-- <a><a> --><![CDATA[<a><a>]]>
        <item><link href="/x" rel='a>b'/></item></channel></rss>"#;
    assert_eq!(check_xml(feed, &limits), Ok(()));
    // A feed's <title> holds markup like any element; a quoted `/>` closes nothing.
    let deep = format!("<rss><title>{}", "<a>".repeat(1_000));
    assert_eq!(check_xml(&deep, &limits), Err(MarkupError::TooDeep { limit: 64 }));
    let quoted = r#"<a x="/>">"#.repeat(1_000);
    assert_eq!(check_xml(&quoted, &limits), Err(MarkupError::TooDeep { limit: 64 }));
    let attributes: String = (0..10_000).map(|i| format!(" a{i}='1'")).collect();
    assert_eq!(
        check_xml(&format!("<rss{attributes}/>"), &limits),
        Err(MarkupError::TooManyAttributes { limit: 256 })
    );
}
