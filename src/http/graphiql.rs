//! GraphiQL from the binary itself: its page and the scripts and styles it loads, embedded at
//! build time from `assets/graphiql/` (pinned versions, fetched with npm; see its README), so
//! the IDE works offline and loads nothing from another origin.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use super::plain::{Failure, client_holds};

/// GraphiQL's page and scripts ask for nothing but this origin; styles may be set inline (the
/// editor positions itself with `style` attributes) and its fonts are `data:` URLs.
pub(crate) const GRAPHIQL_CSP: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src data:; \
     connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const PAGE: &str = include_str!("../../assets/graphiql/index.html");

/// The files under `/graphiql/`: name, media type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("init.js", JS, include_bytes!("../../assets/graphiql/init.js")),
    ("graphiql.min.js", JS, include_bytes!("../../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", CSS, include_bytes!("../../assets/graphiql/graphiql.min.css")),
    (
        "react.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        JS,
        include_bytes!("../../assets/graphiql/react-dom.production.min.js"),
    ),
    ("LICENSE.graphiql", TEXT, include_bytes!("../../assets/graphiql/LICENSE.graphiql")),
    ("LICENSE.react", TEXT, include_bytes!("../../assets/graphiql/LICENSE.react")),
    ("LICENSE.react-dom", TEXT, include_bytes!("../../assets/graphiql/LICENSE.react-dom")),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// The IDE's page (`GET /graphql` asking for HTML).
pub(crate) fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, GRAPHIQL_CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(PAGE)
}

/// `GET /graphiql/{file}`: one of the embedded files. They change only with the binary, so a
/// browser may keep one for an hour and then revalidates it by its ETag (the build's version
/// and the file's name).
pub(crate) async fn asset(
    req: HttpRequest,
    file: web::Path<String>,
) -> Result<HttpResponse, Failure> {
    let Some((name, media, bytes)) = ASSETS.iter().find(|(name, ..)| *name == file.as_str()) else {
        return super::middleware::no_route(req).await;
    };
    let etag = header::EntityTag::new_strong(format!("{}-{name}", env!("CARGO_PKG_VERSION")));
    let fresh = client_holds(&req, &etag);
    let mut response = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    response
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(header::ETag(etag));
    if fresh {
        return Ok(response.finish());
    }
    Ok(response.content_type(*media).body(*bytes))
}
