//! An enumeration attack on restricted documents: an anonymous client and an editor of no
//! collection try to learn that a restricted document exists, or what it says, by its id, its
//! global id, its slug, its revision hashes, words only its text holds, the plain routes and
//! writes that name it — and by the time each answer takes. Every request is sent twice: once
//! naming the restricted document, once naming one that does not exist (ids and words of the
//! same shape); the two answers, with the names put back, must be the same, and the times of
//! the two kinds alike.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::server::{Database, Server, cli};

/// What names the document an attack aims at.
struct Target {
    uuid: String,
    gid: String,
    slug: String,
    hash: String,
    word: String,
}

impl Target {
    fn fill(&self, template: &str) -> String {
        template
            .replace("{UUID}", &self.uuid)
            .replace("{GID}", &self.gid)
            .replace("{SLUG}", &self.slug)
            .replace("{HASH}", &self.hash)
            .replace("{WORD}", &self.word)
    }

    fn scrub(&self, text: &str) -> String {
        text.replace(&self.gid, "<GID>")
            .replace(&self.uuid, "<UUID>")
            .replace(&self.hash, "<HASH>")
            .replace(&self.slug, "<SLUG>")
            .replace(&self.word, "<WORD>")
    }
}

const QUERIES: &[&str] = &[
    r#"{ document(slug: "{SLUG}") { id title head { content } } }"#,
    r#"{ document(id: "{UUID}") { id slug } }"#,
    r#"{ document(id: "{GID}") { id slug } }"#,
    r#"{ node(id: "{GID}") { id } }"#,
    r#"{ nodes(ids: ["{GID}"]) { id } }"#,
    r#"{ revision(hash: "{HASH}") { hash content header } }"#,
    r#"{ diff(from: "{HASH}", to: "{HASH}") { stats { insertions } } }"#,
    r#"{ search(query: "{WORD}") { nodes { snippet score document { slug } } } }"#,
    r#"{ search(query: "{WORD}", scope: HISTORY) { nodes { revision { hash } } } }"#,
    r#"{ documents(first: 100) { totalCount nodes { slug } } }"#,
    r#"{ cite(documents: ["{GID}"], format: RIS) { text } }"#,
    r#"{ changeReceipt(document: "{SLUG}", from: "{HASH}", to: "{HASH}") }"#,
    r#"{ sources(first: 20) { nodes { revisions(first: 20) { totalCount nodes { hash } } } } }"#,
    r#"{ driftedCitations(first: 20) { drifts { citation { id } } } }"#,
    r#"mutation { reviseDocument(input: { documentId: "{GID}", expectedHead: "{HASH}", content: "x" }) { revision { hash } } }"#,
    r#"mutation { redactRevision(input: { hash: "{HASH}", reason: "probe" }) { revision { hash } } }"#,
    r#"mutation { addCitation(input: { documentId: "{PUBLIC}", relation: CITES, target: { documentId: "{GID}" } }) { citation { id } } }"#,
];

const PATHS: &[&str] = &[
    "/documents/{SLUG}",
    "/documents/{SLUG}/text",
    "/documents/{SLUG}/timemap",
    "/documents/{SLUG}/history",
    "/documents/{SLUG}/provenance",
    "/documents/{SLUG}/cite?format=csl-json",
    "/documents/{SLUG}/revisions/{HASH}",
    "/documents/{SLUG}/revisions/{HASH}/text",
    "/documents/{SLUG}/receipt?from={HASH}&to={HASH}",
    "/cite?documents={SLUG}&format=bibtex",
    "/search?q={WORD}",
];

/// What the attack found.
#[derive(Default)]
pub struct Findings {
    pub requests: usize,
    /// Requests whose answer for the restricted document differed from the one for none.
    pub leaks: Vec<String>,
    /// Median time of a lookup naming the restricted document, and naming none (µs).
    pub medians: (u128, u128),
}

fn global_id(kind: &str, key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{key}"))
}

/// A target of the restricted document's shape that names nothing.
fn nothing(n: usize) -> Target {
    let uuid = uuid::Uuid::now_v7().to_string();
    Target {
        gid: global_id("Document", &uuid),
        uuid,
        slug: format!("sealed-memo-{n}"),
        hash: format!("{:064x}", n as u128 * 0x9e37_79b9_7f4a_7c15),
        word: format!("quixotry{n}"),
    }
}

pub async fn attack(database: &Database) -> Findings {
    cli(database, &["migrate"]);
    let member = cli(database, &["token", "create", "--agent", "Vault Keeper", "--role", "reader"]);
    let outsider =
        cli(database, &["token", "create", "--agent", "Nosy Editor", "--role", "editor"]);
    cli(database, &["collection", "create", "vault", "--name", "The vault", "--restricted"]);
    cli(
        database,
        &["collection", "add-member", "vault", "--agent", "Vault Keeper", "--role", "editor"],
    );
    let server =
        Server::start(database, &["--rate-limit-anonymous", "0", "--rate-limit-token", "0"]).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let post = |token: Option<&str>, query: String| {
        let mut request =
            client.post(format!("{}/graphql", server.address)).json(&json!({ "query": query }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().text().await.unwrap() }
    };

    // The restricted document, written by its collection's member through the API, and a
    // public one to cite from.
    let public = post(
        Some(&outsider),
        r#"mutation { createDocument(input: { slug: "public-note", title: "Note", kind: OTHER, content: "A public note.\n" }) { document { id } } }"#.into(),
    )
    .await;
    let public: Value = serde_json::from_str(&public).unwrap();
    let public = public["data"]["createDocument"]["document"]["id"].as_str().unwrap().to_owned();
    let vault: Value = serde_json::from_str(
        &post(Some(&member), r#"{ collection(slug: "vault") { id } }"#.into()).await,
    )
    .unwrap();
    let vault = vault["data"]["collection"]["id"].as_str().unwrap().to_owned();
    let created = post(
        Some(&member),
        format!(
            r#"mutation {{ createDocument(input: {{ slug: "sealed-memo", title: "Sealed memo", kind: LETTER, content: "The bandersnatch ledger is sealed.\n", collectionId: "{vault}" }}) {{ document {{ id uuid }} revision {{ hash }} }} }}"#
        ),
    )
    .await;
    let created: Value = serde_json::from_str(&created).unwrap();
    let document = &created["data"]["createDocument"];
    let hidden = Target {
        uuid: document["document"]["uuid"].as_str().unwrap().to_owned(),
        gid: document["document"]["id"].as_str().unwrap().to_owned(),
        slug: "sealed-memo".into(),
        hash: document["revision"]["hash"].as_str().unwrap().to_owned(),
        word: "bandersnatch".into(),
    };

    let mut findings = Findings::default();
    let callers: [Option<&str>; 2] = [None, Some(&outsider)];
    for round in 0..6 {
        let missing = nothing(round);
        for token in callers {
            for template in QUERIES {
                let template = template.replace("{PUBLIC}", &public);
                let seen = post(token, hidden.fill(&template)).await;
                let none = post(token, missing.fill(&template)).await;
                findings.requests += 2;
                if hidden.scrub(&seen) != missing.scrub(&none) {
                    findings.leaks.push(format!("{template} → {seen} (for none: {none})"));
                }
            }
        }
        for path in PATHS {
            let get = |target: &Target| {
                let url = format!("{}{}", server.address, target.fill(path));
                let request = client.get(url);
                async move {
                    let response = request.send().await.unwrap();
                    let status = response.status().as_u16();
                    format!("{status} {}", response.text().await.unwrap())
                }
            };
            let seen = get(&hidden).await;
            let none = get(&missing).await;
            findings.requests += 2;
            if hidden.scrub(&seen) != missing.scrub(&none) {
                findings.leaks.push(format!("GET {path} → {seen:.300} (for none: {none:.300})"));
            }
        }
    }

    // Found (but hidden) against not found, interleaved, by a token (never a cached answer).
    let mut times: [Vec<u128>; 2] = [Vec::new(), Vec::new()];
    for n in 0..300 {
        let missing = nothing(1000 + n);
        for (which, target) in [&hidden, &missing].into_iter().enumerate() {
            let query = target
                .fill(r#"{ document(slug: "{SLUG}") { id } b: document(id: "{GID}") { id } }"#);
            let started = Instant::now();
            post(Some(&outsider), query).await;
            times[which].push(started.elapsed().as_micros());
            findings.requests += 1;
        }
    }
    for list in &mut times {
        list.sort_unstable();
    }
    findings.medians = (times[0][times[0].len() / 2], times[1][times[1].len() / 2]);
    findings
}
