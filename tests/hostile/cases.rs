//! Hostile requests, generated from a fixed seed so that every run sends the same ones: each
//! family of attack the server must survive, in many sizes and shapes. None of them may write:
//! every mutation is refused for its caller or for its input.
//!
//! Longer than our ~400-line rule on purpose: it is a catalogue, one function per family of
//! attack, each read on its own; splitting it would only scatter the list.

use serde_json::{Value, json};

/// xorshift64*: small, fast and reproducible; the suite needs variety, not cryptography.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// What the suite knows of the corpus it attacks.
pub struct Fixture {
    pub reader: String,
    pub editor: String,
    pub admin: String,
    pub revoked: String,
    pub expired: String,
    pub huge_id: String,
    pub huge_head: String,
    pub small_id: String,
    pub small_hashes: Vec<String>,
}

#[derive(Clone, Debug)]
pub enum Body {
    Json(Value),
    Raw { content_type: Option<String>, bytes: Vec<u8> },
}

/// One request: an HTTP request, or bytes written straight to a socket.
#[derive(Clone, Debug)]
pub enum Request {
    Http { post: bool, path: String, headers: Vec<(String, String)>, body: Option<Body> },
    Raw(Vec<u8>),
}

pub struct Case {
    pub family: &'static str,
    pub request: Request,
}

fn graphql(family: &'static str, token: Option<&str>, query: String, variables: Value) -> Case {
    let mut headers = Vec::new();
    if let Some(token) = token {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    Case {
        family,
        request: Request::Http {
            post: true,
            path: "/graphql".into(),
            headers,
            body: Some(Body::Json(json!({ "query": query, "variables": variables }))),
        },
    }
}

/// The longest URL sent: HTTP clients refuse longer ones before the server sees them.
const MAX_URL: usize = 16 * 1024;

/// Header values as an HTTP client can send them: visible ASCII and spaces.
fn header_value(text: &str) -> String {
    text.chars().filter(|c| c.is_ascii_graphic() || *c == ' ').collect()
}

fn get(family: &'static str, mut path: String, headers: Vec<(String, String)>) -> Case {
    if path.len() > MAX_URL {
        let mut cut = MAX_URL;
        while !path.is_char_boundary(cut) {
            cut -= 1;
        }
        path.truncate(cut);
    }
    Case { family, request: Request::Http { post: false, path, headers, body: None } }
}

fn get_graphql(family: &'static str, query: &str, extra: &str) -> Case {
    let encoded: String = url_encode(query);
    get(family, format!("/graphql?query={encoded}{extra}"), Vec::new())
}

pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Ordinary queries an application sends; the fuzzer corrupts them.
const QUERIES: &[&str] = &[
    "{ documents(first: 20) { totalCount nodes { id slug title kind head { hash number } } pageInfo { endCursor hasNextPage } } }",
    "{ document(slug: \"ex-security-chiefs-urge-trump-to-end-gaza-war\") { title head { content header author { name } source { title } } } }",
    "{ document(slug: \"small\") { revisions(first: 5) { edges { cursor node { hash message createdAt } } } } }",
    "{ document(slug: \"small\") { head { diff(granularity: WORD) { stats { insertions deletions similarity } hunks { changes { op text } } } } } }",
    "{ document(slug: \"small\") { head { blame { ranges { startLine endLine revision { number } } } } } }",
    "{ sources { nodes { title kind authors revisions { totalCount } } } }",
    "{ document(slug: \"reading-note-security-chiefs-appeal\") { citations { nodes { relation verification { status similarity } currentVerification { status } } } } }",
    "{ document(slug: \"ex-security-chiefs-urge-trump-to-end-gaza-war\") { cite(format: BIBTEX) { text } apa: reference(style: APA) provenance } }",
    "query($t: DateTime!) { documents { nodes { asOf(time: $t) { number } } } }",
    "{ viewer { name } rateLimit { cost remaining } __schema { types { name } } }",
    "{ transparencyLog { checkpoint size rootHash } consistencyProof(from: 1, to: 2) { hashes } document(slug: \"small\") { head { logIndex inclusionProof(treeSize: 3) { leafIndex hashes } redaction { reason } } } }",
];

const STRINGS: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "a\u{0}b",
    "' OR 1=1 --",
    "\"; DROP TABLE documents; --",
    "../../../../etc/passwd",
    "%00",
    "\u{202e}gnp.exe",
    "😀😀😀",
    "\u{fffd}",
    "Slug-With-Caps",
    "-leading",
    "ex-security-chiefs-urge-trump-to-end-gaza-war--",
    "RG9jdW1lbnQ6MDE5Mjc",
    "Revision:zz",
    "czphAGI",
    "dDo5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTo",
    "bjotMQ",
    "aTpub3QtYS11dWlk",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "DB1B089347BC6E69F252CBD91CECE1DA8AD8A45FD2877BEFC558139F1BBCF990",
    "not-base64-!!!",
    "\\u0000",
    "null",
    "{}",
];

/// A hostile string: one of the classics, random bytes as text, or something long.
pub fn hostile_string(rng: &mut Rng) -> String {
    match rng.below(6) {
        0..=2 => (*rng.pick(STRINGS)).to_owned(),
        3 => (0..rng.range(1, 40))
            .map(|_| char::from_u32(rng.range(0, 0x2FFF) as u32).unwrap_or('x'))
            .collect(),
        4 => "x".repeat(rng.range(129, 70_000)),
        _ => format!("{}\u{0}{}", rng.pick(STRINGS), rng.pick(STRINGS)),
    }
}

pub fn generate(fixture: &Fixture, rng: &mut Rng) -> Vec<Case> {
    let mut cases = Vec::new();
    fuzzed_queries(rng, &mut cases, 2500);
    nesting(rng, &mut cases, 600);
    alias_bombs(rng, &mut cases, 300);
    fragment_bombs(rng, &mut cases, 300);
    directive_and_token_floods(rng, &mut cases, 300);
    bad_arguments(fixture, rng, &mut cases, 2200);
    nul_bytes(fixture, rng, &mut cases, 600);
    get_mutations(fixture, rng, &mut cases, 300);
    token_cases(fixture, rng, &mut cases, 1200);
    malformed_bodies(rng, &mut cases, 1000);
    oversize(fixture, rng, &mut cases);
    plain_routes(fixture, rng, &mut cases, 1000);
    raw_http(rng, &mut cases, 100);
    heavy_reads(fixture, rng, &mut cases, 40);
    several_heavy_fields(rng, &mut cases, 12);
    schema_and_size_attacks(rng, &mut cases, 200);
    crate::surfaces::hostile_arguments(fixture, rng, &mut cases, 40);
    cases
}

/// Introspection bombs, selection sets nested through fragments measured out of order, very
/// long names, huge syntax errors and bodies of countless tiny values.
fn schema_and_size_attacks(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for i in 0..n {
        match i % 5 {
            0 => {
                let aliases: String = (0..rng.range(2, 80))
                    .map(|a| format!("a{a}: __schema {{ types {{ fields {{ name type {{ ...T ofType {{ ...T ofType {{ ...T }} }} }} }} }} }} "))
                    .collect();
                let query = format!("{{ {aliases} }} fragment T on __Type {{ name kind }}");
                cases.push(graphql("introspection bomb", None, query, json!({})));
            }
            1 => {
                let (fragments, depth) = (rng.range(2, 12), rng.range(5, 70));
                let mut query = String::from("{");
                for f in (0..fragments).rev() {
                    query.push_str(&format!(" ...F{f}"));
                }
                query.push_str(" }");
                for f in 0..fragments {
                    let inner = if f + 1 == fragments {
                        "__typename".to_owned()
                    } else {
                        format!("...F{}", f + 1)
                    };
                    query.push_str(&format!(
                        " fragment F{f} on Query {{ {}{inner} {} }}",
                        "... on Query { ".repeat(depth),
                        "}".repeat(depth)
                    ));
                }
                if rng.chance(50) {
                    cases.push(get_graphql("nesting through fragments (GET)", &query, ""));
                } else {
                    cases.push(graphql("nesting through fragments", None, query, json!({})));
                }
            }
            2 => {
                let name = "n".repeat(rng.range(1025, 3 << 20));
                cases.push(graphql("long name", None, format!("{{ {name} }}"), json!({})));
            }
            3 => {
                let text = "x".repeat(rng.range(1 << 20, 8 << 20));
                let query = format!("{{ documents(filter: \"{text}\" }}");
                cases.push(graphql("huge syntax error", None, query, json!({})));
            }
            _ => {
                let values = vec!["[]"; rng.range(100_001, 2_000_000)].join(",");
                let body =
                    format!("{{\"query\":\"{{__typename}}\",\"variables\":{{\"v\":[{values}]}}}}");
                cases.push(Case {
                    family: "JSON value flood",
                    request: Request::Http {
                        post: true,
                        path: "/graphql".into(),
                        headers: Vec::new(),
                        body: Some(Body::Raw {
                            content_type: Some("application/json".into()),
                            bytes: body.into_bytes(),
                        }),
                    },
                });
            }
        }
    }
}

fn fuzzed_queries(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let mut query: Vec<char> = rng.pick(QUERIES).chars().collect();
        for _ in 0..rng.range(0, 6) {
            let at = rng.below(query.len());
            match rng.below(4) {
                0 => {
                    query.remove(at);
                }
                1 => query.insert(
                    at,
                    *rng.pick(&[
                        '{', '}', '(', ')', '[', ']', '"', '$', '@', '.', ':', '\u{0}', '#',
                    ]),
                ),
                2 => query[at] = char::from_u32(rng.range(0x20, 0x7e) as u32).unwrap_or('x'),
                _ => {
                    let from = rng.below(query.len());
                    let len = rng.range(1, 30).min(query.len() - from);
                    let piece: Vec<char> = query[from..from + len].to_vec();
                    let at = rng.below(query.len());
                    query.splice(at..at, piece);
                }
            }
        }
        let variables = if rng.chance(30) {
            json!({ "t": hostile_string(rng) })
        } else {
            json!({ "t": "2026-01-01T00:00:00Z" })
        };
        let query: String = query.into_iter().collect();
        if rng.chance(20) {
            cases.push(get_graphql("fuzzed query (GET)", &query, ""));
        } else {
            cases.push(graphql("fuzzed query", None, query, variables));
        }
    }
}

fn nesting(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for i in 0..n {
        let depth = if rng.chance(50) { rng.range(1, 100) } else { rng.range(100, 5000) };
        let query = match i % 4 {
            0 => format!(
                "{{ documents(filter: {{kind: {}ARTICLE{}}}) {{ totalCount }} }}",
                "[".repeat(depth),
                "]".repeat(depth)
            ),
            1 => format!(
                "{{ documents(orderBy: {}CREATED_AT{}) {{ totalCount }} }}",
                "{field: ".repeat(depth),
                "}".repeat(depth)
            ),
            2 => format!(
                "{{ {}__typename{} }}",
                "document(slug: \"small\") { head { parent { ".repeat(depth / 3 + 1),
                " } } }".repeat(depth / 3 + 1)
            ),
            _ => {
                let mut value = json!("ARTICLE");
                for _ in 0..depth.min(120) {
                    value = json!([value]);
                }
                let query =
                    "query($k: [DocumentKind!]) { documents(filter: {kind: $k}) { totalCount } }";
                cases.push(graphql("nested variables", None, query.into(), json!({ "k": value })));
                continue;
            }
        };
        if rng.chance(30) {
            cases.push(get_graphql("nesting (GET)", &query, ""));
        } else {
            cases.push(graphql("nesting", None, query, json!({})));
        }
    }
}

fn alias_bombs(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let fields = [
        "content",
        "blame { lines { number } }",
        "diff(granularity: CHAR) { unified }",
        "header",
        "provenance",
        "citations { nodes { currentVerification { status } } }",
    ];
    for _ in 0..n {
        let count = if rng.chance(50) { rng.range(2, 100) } else { rng.range(100, 3000) };
        let field = rng.pick(&fields);
        let slug = if rng.chance(50) { "huge" } else { "small" };
        let aliases: String = (0..count).map(|i| format!("a{i}: {field} ")).collect();
        let query = format!("{{ document(slug: \"{slug}\") {{ head {{ {aliases} }} }} }}");
        cases.push(graphql("alias bomb", None, query, json!({})));
    }
}

fn fragment_bombs(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for i in 0..n {
        let levels = rng.range(2, 60);
        let width = rng.range(2, 4);
        let mut query = String::from("query { ...F0 }");
        for level in 0..levels {
            let spreads: String = (0..width).map(|_| format!("...F{} ", level + 1)).collect();
            query.push_str(&format!(" fragment F{level} on Query {{ {spreads} }}"));
        }
        let last = if i % 3 == 0 { "...F0" } else { "__typename documents { totalCount }" };
        query.push_str(&format!(" fragment F{levels} on Query {{ {last} }}"));
        cases.push(graphql("fragment bomb", None, query, json!({})));
    }
}

fn directive_and_token_floods(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for i in 0..n {
        let count = if i % 10 == 0 { rng.range(20_000, 100_000) } else { rng.range(10, 5000) };
        let query = if i % 2 == 0 {
            format!("{{ __typename {} }}", "@skip(if: false) ".repeat(count))
        } else {
            format!("{{ {} }}", "__typename ".repeat(count))
        };
        cases.push(graphql("directive or token flood", None, query, json!({})));
    }
}

fn bad_arguments(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let shapes = [
        "query($v: String!) { document(slug: $v) { id } }",
        "query($v: ID) { document(id: $v) { id } }",
        "query($v: ID!) { node(id: $v) { id } }",
        "query($v: [ID!]!) { nodes(ids: $v) { id } }",
        "query($v: String!) { revision(hash: $v) { id } }",
        "query($v: String) { documents(after: $v) { totalCount } }",
        "query($v: String) { documents(before: $v, last: 5) { totalCount } }",
        "query($v: String) { documents(after: $v, orderBy: {field: SLUG, direction: DESC}) { totalCount } }",
        "query($v: String!) { diff(from: $v, to: $v) { unified } }",
        "query($v: String) { document(slug: \"small\") { revisions(after: $v) { totalCount } } }",
        "query($v: String!) { document(slug: \"small\") { revision(hash: $v) { id } } }",
        "query($v: DateTime!) { document(slug: \"small\") { asOf(time: $v) { id } } }",
        "query($v: String) { sources(after: $v) { totalCount } }",
        "query($v: Int) { documents(first: $v) { totalCount } }",
        "query($v: Int) { document(slug: \"small\") { head { diff(context: $v) { unified } } } }",
        "query($v: String!) { document(slug: \"small\") { cite(format: RIS, revision: $v) { text } } }",
        "query($v: [ID!]!) { cite(documents: $v, format: BIBTEX) { text } }",
        "query($v: String!) { search(query: $v) { edges { node { snippet ranges { start end } } } } }",
        "query($v: String!) { search(query: $v, scope: HISTORY) { pageInfo { endCursor } } }",
        "query($v: String) { search(query: \"small\", after: $v) { pageInfo { endCursor } } }",
        "query($v: Int) { search(query: \"small\", first: $v) { pageInfo { hasNextPage } } }",
        "query($v: String) { driftedCitations(after: $v) { hasNextPage } }",
        "query($v: String!) { queryCost(query: $v) { cost } }",
    ];
    for _ in 0..n {
        let shape = rng.pick(&shapes);
        let value = match rng.below(5) {
            0 => json!(rng.range(0, 2_000_000_000) as i64 - 1_000_000_000),
            1 => json!((0..rng.range(0, 150)).map(|_| hostile_string(rng)).collect::<Vec<_>>()),
            2 => json!(fixture.small_hashes[rng.below(fixture.small_hashes.len())].to_uppercase()),
            _ => json!(hostile_string(rng)),
        };
        cases.push(graphql(
            "bad id, cursor, hash or slug",
            None,
            (*shape).into(),
            json!({ "v": value }),
        ));
    }
}

const CREATE: &str =
    "mutation($input: CreateDocumentInput!) { createDocument(input: $input) { document { id } } }";
const REVISE: &str = "mutation($input: ReviseDocumentInput!) { reviseDocument(input: $input) { revision { hash } } }";
const CITE: &str =
    "mutation($input: AddCitationInput!) { addCitation(input: $input) { citation { id } } }";
const SOURCE: &str =
    "mutation($input: CreateSourceInput!) { createSource(input: $input) { source { id } } }";
const AGENT: &str =
    "mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }";

fn nul_bytes(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let nul = format!("{}\u{0}{}", rng.pick(STRINGS), "x".repeat(rng.range(0, 50)));
        let (query, variables) = match rng.below(7) {
            0 => (
                CREATE,
                json!({ "input": { "slug": "nul-doc", "title": "T", "kind": "ARTICLE", "content": nul } }),
            ),
            1 => (
                CREATE,
                json!({ "input": { "slug": "nul-doc", "title": "T", "kind": "ARTICLE", "content": "c", "message": nul } }),
            ),
            2 => (
                CREATE,
                json!({ "input": { "slug": "nul-doc", "title": nul, "kind": "ARTICLE", "content": "c" } }),
            ),
            3 => (
                REVISE,
                json!({ "input": { "documentId": fixture.small_id, "expectedHead": fixture.small_hashes.last(), "content": nul } }),
            ),
            4 => (
                REVISE,
                json!({ "input": { "documentId": fixture.small_id, "expectedHead": fixture.small_hashes.last(), "content": "new", "message": nul } }),
            ),
            5 => (
                CITE,
                json!({ "input": { "documentId": fixture.small_id, "relation": "QUOTES", "target": { "documentId": fixture.huge_id }, "passage": { "exact": nul } } }),
            ),
            _ => (
                CITE,
                json!({ "input": { "documentId": fixture.small_id, "relation": "QUOTES", "target": { "documentId": fixture.huge_id }, "passage": { "exact": "version" }, "targetPassage": { "exact": "line", "suffix": nul } } }),
            ),
        };
        cases.push(graphql("NUL bytes", Some(&fixture.editor), query.into(), variables));
    }
}

fn get_mutations(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for i in 0..n {
        // A document, or (as an admin would) a collection.
        let query = match i % 2 {
            0 => format!(
                "mutation {{ createDocument(input: {{slug: \"via-get-{i}\", title: \"T\", kind: ARTICLE, content: \"c\"}}) {{ document {{ id }} }} }}"
            ),
            _ => format!(
                "mutation {{ createCollection(input: {{slug: \"via-get-{i}\", name: \"T\", visibility: RESTRICTED}}) {{ collection {{ id }} }} }}"
            ),
        };
        let extra = match rng.below(3) {
            0 => String::new(),
            1 => "&operationName=x".into(),
            _ => format!("&variables={}", url_encode(&hostile_string(rng))),
        };
        let mut case = get_graphql("mutation over GET", &query, &extra);
        let token = if i % 2 == 0 { &fixture.editor } else { &fixture.admin };
        if let Request::Http { headers, .. } = &mut case.request {
            headers.push(("authorization".into(), format!("Bearer {token}")));
        }
        cases.push(case);
    }
}

fn token_cases(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let credential = match rng.below(9) {
            0 => None,
            1 => Some("Bearer".to_owned()),
            2 => Some(format!("Basic {}", header_value(&hostile_string(rng)))),
            3 => Some(format!("Bearer pal_{}", "A".repeat(rng.range(1, 20_000)))),
            4 => Some(format!("Bearer {}", fixture.revoked)),
            5 => Some(format!("Bearer {}", fixture.expired)),
            6 => Some(format!("Bearer {}", fixture.reader)),
            7 => Some(format!("Bearer {}", fixture.admin)),
            _ => Some(format!("Bearer {}", fixture.editor)),
        };
        // Every write is refused: by the credential, or (for editors and admins) by its input.
        let public = "00000000-0000-0000-0000-000000000000";
        let (query, variables) = match rng.below(14) {
            0 => (
                CREATE,
                json!({ "input": { "slug": "huge", "title": "Taken slug", "kind": "ARTICLE", "content": "c" } }),
            ),
            1 => (
                REVISE,
                json!({ "input": { "documentId": fixture.small_id, "expectedHead": fixture.small_hashes[0], "content": "stale head" } }),
            ),
            2 => (
                SOURCE,
                json!({ "input": { "kind": "WEB_PAGE", "url": hostile_string(rng) + " not a url" } }),
            ),
            3 => (AGENT, json!({ "input": { "name": "", "kind": "PERSON" } })),
            4 => (
                CITE,
                json!({ "input": { "documentId": fixture.small_id, "relation": "QUOTES", "target": { "documentId": fixture.huge_id }, "passage": { "start": 5, "end": 1 } } }),
            ),
            5 => (
                // A reason is required: even an admin's redaction is refused for its input.
                "mutation($i: RedactRevisionInput!) { redactRevision(input: $i) { revision { hash } } }",
                json!({ "input": { "hash": fixture.small_hashes[0], "reason": rng.pick(&["", " ", "\u{0}"]) } }),
            ),
            6 => (
                "{ auditEvents(last: 5) { totalCount nodes { action outcome } } verification(first: 2) { report { ok } } }",
                json!({}),
            ),
            // The admins' own commands, each refused for its input even to an admin.
            7 => (
                "mutation($i: CreateCollectionInput!) { createCollection(input: $i) { collection { id } } }",
                json!({ "input": { "slug": "public", "name": "Taken slug", "visibility": "RESTRICTED" } }),
            ),
            8 => (
                "mutation($i: SetCollectionVisibilityInput!) { setCollectionVisibility(input: $i) { collection { id } } }",
                json!({ "input": { "collectionId": public, "visibility": "RESTRICTED" } }),
            ),
            9 => (
                "mutation($i: MoveDocumentInput!) { moveDocument(input: $i) { document { id } } }",
                json!({ "input": { "documentId": fixture.small_id, "collectionId": uuid::Uuid::now_v7().to_string() } }),
            ),
            10 => (
                "mutation($i: SetCollectionMemberInput!) { setCollectionMember(input: $i) { member { role } } }",
                json!({ "input": { "collectionId": public, "agentId": uuid::Uuid::now_v7().to_string(), "role": "EDITOR" } }),
            ),
            11 => (
                "mutation($i: SetEmbargoInput!) { setEmbargo(input: $i) { document { id } } }",
                json!({ "input": { "documentId": uuid::Uuid::now_v7().to_string(), "publishAt": "2999-01-01T00:00:00Z" } }),
            ),
            12 => (
                "mutation($i: RemoveCollectionMemberInput!) { removeCollectionMember(input: $i) { collection { id } } }",
                json!({ "input": { "collectionId": public, "agentId": uuid::Uuid::now_v7().to_string() } }),
            ),
            _ => (
                "{ viewer { name } collections { slug } document(slug: \"small\") { head { hash } } }",
                json!({}),
            ),
        };
        let mut case = graphql("token case", None, query.into(), variables);
        if let (Request::Http { headers, .. }, Some(credential)) = (&mut case.request, credential) {
            headers.push(("authorization".into(), credential));
        }
        cases.push(case);
    }
}

fn malformed_bodies(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let valid = serde_json::to_vec(&json!({ "query": QUERIES[0] })).unwrap();
    for _ in 0..n {
        let (content_type, bytes): (Option<&str>, Vec<u8>) = match rng.below(10) {
            0 => (Some("application/json"), valid[..rng.below(valid.len())].to_vec()),
            1 => (
                Some("application/json"),
                (0..rng.range(1, 500)).map(|_| rng.next() as u8).collect(),
            ),
            2 => (
                Some("application/json"),
                b"{\"query\": \"{ __typename }\", \"x\": \"\xff\xfe\"}".to_vec(),
            ),
            3 => (Some("application/json"), br#"{"query": 42}"#.to_vec()),
            4 => (
                Some("application/json"),
                br#"{"query": "{ __typename }", "variables": [1, 2]}"#.to_vec(),
            ),
            5 => (
                Some("application/json"),
                format!("{}{}", "[".repeat(rng.range(100, 100_000)), "]").into_bytes(),
            ),
            6 => (
                Some(*rng.pick(&[
                    "text/plain",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                    "application/graphql",
                    "",
                ])),
                valid.clone(),
            ),
            7 => (None, valid.clone()),
            8 => (Some("application/json"), Vec::new()),
            _ => (
                Some("application/json; charset=utf-16"),
                br#"{"query": "", "operationName": null}"#.to_vec(),
            ),
        };
        let body = Body::Raw { content_type: content_type.map(str::to_owned), bytes };
        let mut headers = Vec::new();
        if rng.chance(20) {
            headers.push((
                "accept".into(),
                (*rng.pick(&[
                    "application/graphql-response+json",
                    "text/html",
                    "image/png",
                    "*/*;q=0",
                    "application/json;q=abc",
                ]))
                .into(),
            ));
        }
        cases.push(Case {
            family: "malformed body",
            request: Request::Http {
                post: true,
                path: "/graphql".into(),
                headers,
                body: Some(body),
            },
        });
    }
}

fn oversize(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>) {
    for _ in 0..5 {
        let bytes = vec![b' '; 11 * 1024 * 1024];
        cases.push(Case {
            family: "oversize body",
            request: Request::Http {
                post: true,
                path: "/graphql".into(),
                headers: Vec::new(),
                body: Some(Body::Raw { content_type: Some("application/json".into()), bytes }),
            },
        });
    }
    for i in 0..40 {
        // Past the 4 MiB content limit, within the 10 MiB body limit.
        let long = "y".repeat(rng.range((4 << 20) + 1, 9 << 20));
        let (token, query, variables) = match i % 4 {
            0 => (
                Some(fixture.editor.as_str()),
                CREATE,
                json!({ "input": { "slug": "too-big", "title": "T", "kind": "ARTICLE", "content": long } }),
            ),
            1 => (None, "query($v: String!) { document(slug: $v) { id } }", json!({ "v": long })),
            2 => (
                Some(fixture.editor.as_str()),
                CREATE,
                json!({ "input": { "slug": "too-big", "title": long, "kind": "ARTICLE", "content": "c" } }),
            ),
            _ => (None, "{ __typename }", json!({ "padding": long })),
        };
        cases.push(graphql("oversize string", token, query.into(), variables));
    }
}

fn plain_routes(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    for _ in 0..n {
        let slug =
            if rng.chance(40) { "small".to_owned() } else { url_encode(&hostile_string(rng)) };
        let hash = if rng.chance(40) {
            fixture.small_hashes[0].clone()
        } else {
            url_encode(&hostile_string(rng))
        };
        let junk = url_encode(&hostile_string(rng));
        let browser = ("accept".to_owned(), "text/html,*/*;q=0.8".to_owned());
        let (path, headers): (String, Vec<(String, String)>) = match rng.below(18) {
            0 => (format!("/documents/{slug}"), vec![]),
            1 => (format!("/documents/{slug}/revisions/{hash}"), vec![]),
            2 => (
                format!("/documents/{slug}/text"),
                vec![("accept-datetime".into(), header_value(&hostile_string(rng)))],
            ),
            3 => (
                format!("/documents/{slug}/revisions/{hash}/text"),
                vec![("if-none-match".into(), junk.clone())],
            ),
            4 => (format!("/documents/{slug}/timemap"), vec![]),
            5 => (format!("/documents/{slug}/cite?format={junk}&revision={hash}"), vec![]),
            6 => (format!("/documents/{slug}/provenance?revision={hash}"), vec![]),
            7 => (
                format!(
                    "/cite?format=ris&documents={}",
                    (0..rng.range(0, 150)).map(|_| slug.clone()).collect::<Vec<_>>().join(",")
                ),
                vec![],
            ),
            8 => (format!("/{junk}/{junk}"), vec![("host".into(), "evil.example".into())]),
            9 => (format!("/documents/{slug}/history?before={junk}"), vec![]),
            10 => (format!("/documents/{slug}/diff?from={hash}&to={junk}"), vec![]),
            11 => (format!("/graphiql/{junk}"), vec![("if-none-match".into(), junk.clone())]),
            12 => ("/".into(), vec![("accept".into(), header_value(&hostile_string(rng)))]),
            13 => (format!("/search?q={junk}"), vec![browser]),
            14 => (format!("/{junk}?q={junk}"), vec![browser]),
            15 => (format!("/documents/{slug}/revisions/{hash}/capture.warc.gz"), vec![]),
            16 => (format!("/documents/{slug}/receipt?from={hash}&to={junk}"), vec![]),
            _ => ("/graphql".into(), vec![("accept".into(), "text/html".into())]),
        };
        cases.push(get("plain route", path, headers));
    }
}

fn raw_http(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let heads: &[&[u8]] = &[
        b"GET /gra phql HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"GET /healthz HTTP/9.9\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
    ];
    for _ in 0..n {
        let bytes = if rng.chance(70) {
            rng.pick(heads).to_vec()
        } else {
            let mut bytes = b"GET /healthz HTTP/1.1\r\nHost: x\r\n".to_vec();
            bytes.extend((0..rng.range(1, 200)).map(|_| rng.next() as u8));
            bytes.extend_from_slice(b"\r\n\r\n");
            bytes
        };
        cases.push(Case { family: "malformed HTTP", request: Request::Raw(bytes) });
    }
}

fn heavy_reads(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let queries = [
        "{ document(slug: \"huge\") { head { content } } }",
        "{ document(slug: \"huge\") { head { blame { lines { number } } } } }",
        "{ document(slug: \"huge\") { head { diff(granularity: WORD) { unified } } } }",
        "{ document(slug: \"huge\") { head { a: content b: content c: content d: content e: content f: content } } }",
        "{ documents(first: 100) { nodes { head { content } revisions(first: 100) { nodes { header } } } } }",
    ];
    for i in 0..n {
        if i % 10 == 7 {
            let query = "query($hash: String!) { changeReceipt(document: \"huge\", from: $hash, to: $hash) }";
            let variables = json!({ "hash": fixture.huge_head });
            cases.push(graphql("heavy read", None, query.into(), variables));
        } else if i % 5 == 0 {
            let query = "query($from: String!, $to: String!) { diff(from: $from, to: $to, granularity: WORD) { stats { similarity } } }";
            let variables = json!({ "from": fixture.small_hashes[0], "to": fixture.huge_head });
            cases.push(graphql("heavy read", None, query.into(), variables));
        } else {
            cases.push(graphql("heavy read", None, (*rng.pick(&queries)).into(), json!({})));
        }
    }
}

/// Several diffs and blames of large texts in one anonymous request: each is priced within the
/// cost limit, and together they share one time limit, so the answer stays under `SLOW`.
fn several_heavy_fields(rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let queries = [
        "{ document(slug: \"medium\") { revisions(first: 4) { nodes { diff(granularity: WORD) { stats { insertions } } } } } }",
        "{ document(slug: \"medium\") { revisions(first: 4) { nodes { blame { ranges { startLine } } } } } }",
        "{ document(slug: \"medium\") { revisions(first: 4) { nodes { a: diff(granularity: LINE) { unified } b: blame { lines { number } } } } } }",
    ];
    for _ in 0..n {
        cases.push(graphql("several heavy fields", None, (*rng.pick(&queries)).into(), json!({})));
    }
}
