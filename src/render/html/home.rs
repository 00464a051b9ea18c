//! The pages a browser lands on first or last: the home page (recent documents, a search box,
//! where the API and the guide are), search results, and an error page with a way back.

use maud::{Markup, html};

use super::{document_url, layout, revision_link, when};
use crate::store::{DocumentWithHead, SearchHit};

/// Recent documents the home page lists.
pub const RECENT_DOCUMENTS: u64 = 20;

/// Hits one search page lists.
pub const SEARCH_PAGE: u64 = 20;

/// Where the API and the documentation are, on every page that has nothing else to offer.
fn elsewhere(base: &str) -> Markup {
    html! {
        h2 { "For programs" }
        ul {
            li { a href={ (base) "/graphql" } { "GraphiQL" } ": the GraphQL API (POST " code { (base) "/graphql" } "), to explore in the browser" }
            li { a href={ (base) "/schema.graphql" } { "The schema" } " (SDL)" }
            li { "The guide: " code { "docs/" } " in Palimpsest's source (" code { "mdbook serve docs" } ")" }
        }
    }
}

fn search_form(base: &str, query: &str) -> Markup {
    html! {
        form.search method="get" action={ (base) "/search" } role="search" {
            label for="q" { "Search every document" }
            " "
            input #q type="search" name="q" value=(query) maxlength="1000" required;
            " "
            button type="submit" { "Search" }
        }
    }
}

/// `/`: the documents changed most recently, a search box, and where the API is.
pub fn home(recent: &[DocumentWithHead], has_more: bool, base: &str) -> String {
    let body = html! {
        h1 { "Palimpsest" }
        p { "A corpus whose history can be trusted: every revision of every document is kept, hashed (SHA-256) and chained, with who changed what, when and why." }
        (search_form(base, ""))
        h2 { "Recently changed" }
        @if recent.is_empty() {
            p { "No documents yet: the " code { "createDocument" } " mutation writes one, " code { "palimpsest import" } " an archive." }
        } @else {
            ul.documents {
                @for entry in recent {
                    li {
                        a href=(document_url(base, &entry.document)) { (entry.head.title) }
                        " · revision " (entry.head.number) " · " (when(entry.document.updated_at))
                    }
                }
            }
            @if has_more { p.hint { "The " (recent.len()) " changed last; the API lists them all." } }
        }
        (elsewhere(base))
    };
    layout(base, "Palimpsest", html! {}, html! { "Home" }, body)
}

/// `/search?q=…`: the paragraphs of the documents as they are now that hold the words.
pub fn search(query: &str, hits: &[SearchHit], has_more: bool, base: &str) -> String {
    let title = format!("Search: {query}");
    let body = html! {
        h1 { "Search" }
        (search_form(base, query))
        @if hits.is_empty() && !query.is_empty() {
            p { "No document holds these words now." }
        }
        ol.hits {
            @for hit in hits {
                li {
                    a href=(document_url(base, &hit.document)) { (hit.revision.title) }
                    @if hit.in_title { " (in the title)" }
                    p.snippet { (hit.snippet) }
                    p.hint { "Since " a href=(revision_link(base, &hit.document, &hit.since.hash)) { "revision " (hit.since.number) } }
                }
            }
        }
        @if has_more { p.hint { "The first " (hits.len()) " hits; the GraphQL " code { "search" } " field pages through them all." } }
    };
    layout(base, &title, html! {}, html! { "search" }, body)
}

/// An error as a page: what went wrong, in words, and the ways back.
pub fn error(base: &str, status: u16, reason: &str, message: &str) -> String {
    let title = format!("{status} {reason}");
    let body = html! {
        h1 { (title) }
        p.notice role="alert" { (message) }
        p { a href={ (base) "/" } { "Back to the home page" } }
        (elsewhere(base))
    };
    layout(base, &title, html! {}, html! { (reason) }, body)
}
