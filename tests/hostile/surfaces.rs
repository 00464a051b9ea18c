//! Every surface a client can reach, with the attacks the suite sends it: each root field of
//! the schema (queries, mutations, subscriptions) and each HTTP route. The lists are written by
//! hand on purpose: `every_surface_is_listed_with_its_attacks` fails when the schema or the
//! route table gains a surface the lists do not name, or names an attack family the suite does
//! not send, so that a new surface is attacked before it ships.
//!
//! Every root field also gets `hostile arguments`: values built from the schema's own types
//! (right and wrong kinds, extremes, NUL bytes, huge lists, input objects with every field
//! spoiled), sent anonymously or with a reader's token, so that no mutation may write.

use async_graphql::parser::types::{
    BaseType, ServiceDocument, Type, TypeDefinition, TypeKind, TypeSystemDefinition,
};
use serde_json::{Map, Value, json};

use crate::cases::{Body, Case, Fixture, Request, Rng, hostile_string};

/// The families every root field gets besides its own.
const EVERY_FIELD: &[&str] = &["hostile arguments", "fuzzed query", "alias bomb", "token case"];

/// Each root field, and the attacks aimed at it beyond `EVERY_FIELD`.
pub const FIELDS: &[(&str, &[&str])] = &[
    ("Query.auditEvents", &["bad id, cursor, hash or slug"]),
    ("Query.changeReceipt", &["bad id, cursor, hash or slug", "heavy read"]),
    ("Query.collection", &["bad id, cursor, hash or slug"]),
    ("Query.collections", &["token case"]),
    ("Query.cite", &["bad id, cursor, hash or slug", "heavy read"]),
    ("Query.consistencyProof", &["fuzzed query"]),
    ("Query.diff", &["bad id, cursor, hash or slug", "heavy read", "several heavy fields"]),
    (
        "Query.document",
        &["bad id, cursor, hash or slug", "NUL bytes", "heavy read", "several heavy fields"],
    ),
    ("Query.documents", &["bad id, cursor, hash or slug", "heavy read", "nesting"]),
    ("Query.driftedCitations", &["bad id, cursor, hash or slug"]),
    ("Query.node", &["bad id, cursor, hash or slug"]),
    ("Query.nodes", &["bad id, cursor, hash or slug"]),
    ("Query.queryCost", &["bad id, cursor, hash or slug", "nesting through fragments"]),
    ("Query.rateLimit", &["fuzzed query"]),
    ("Query.revision", &["bad id, cursor, hash or slug"]),
    ("Query.search", &["bad id, cursor, hash or slug"]),
    ("Query.sources", &["bad id, cursor, hash or slug"]),
    ("Query.transparencyLog", &["fuzzed query"]),
    ("Query.verification", &["token case"]),
    ("Query.viewer", &["token case"]),
    ("Query.watches", &["bad id, cursor, hash or slug", "token case"]),
    ("Mutation.addCitation", &["NUL bytes", "mutation over GET"]),
    ("Mutation.createAgent", &["NUL bytes", "mutation over GET"]),
    ("Mutation.createDocument", &["NUL bytes", "mutation over GET", "oversize body"]),
    ("Mutation.createSource", &["NUL bytes", "mutation over GET"]),
    ("Mutation.redactRevision", &["token case", "mutation over GET"]),
    ("Mutation.reviseDocument", &["NUL bytes", "mutation over GET", "oversize body"]),
    ("Mutation.watchPage", &["NUL bytes", "mutation over GET", "token case"]),
    ("Mutation.watchFeed", &["NUL bytes", "mutation over GET", "token case"]),
    ("Mutation.pauseWatch", &["bad id, cursor, hash or slug", "mutation over GET"]),
    ("Mutation.resumeWatch", &["bad id, cursor, hash or slug", "mutation over GET"]),
    ("Mutation.captureWatchNow", &["bad id, cursor, hash or slug", "mutation over GET"]),
    ("Mutation.removeWatch", &["bad id, cursor, hash or slug", "mutation over GET"]),
    ("Mutation.createCollection", &["token case", "mutation over GET"]),
    ("Mutation.setCollectionVisibility", &["token case", "mutation over GET"]),
    ("Mutation.setCollectionMember", &["token case", "mutation over GET"]),
    ("Mutation.removeCollectionMember", &["token case", "mutation over GET"]),
    ("Mutation.moveDocument", &["token case", "mutation over GET"]),
    ("Mutation.setEmbargo", &["token case", "mutation over GET"]),
    (
        "Subscription.citationDrift",
        &[
            "hostile arguments, every subscription",
            "expensive or bad subscriptions",
            "operation flood",
        ],
    ),
    (
        "Subscription.documentChanged",
        &[
            "hostile arguments, every subscription",
            "expensive or bad subscriptions",
            "operation flood",
            "stalled subscribers",
            "subscriptions priced by their events",
            "a crowd of cheap subscriptions",
        ],
    ),
];

/// Each route (path and methods, as `palimpsest::http::ROUTES` names them) and its attacks.
pub const ROUTES: &[(&str, &str, &[&str])] = &[
    (
        "/graphql",
        "GET with Upgrade: websocket",
        &[
            "garbage after init",
            "binary before init",
            "subscribe before init",
            "bad tokens",
            "oversized frame",
            "connection flood",
            "duplicate ids",
            "connection_init that is not an object",
            "a close answered and ended",
            "stalled subscribers",
        ],
    ),
    (
        "/graphql",
        "POST",
        &[
            "malformed body",
            "oversize body",
            "JSON value flood",
            "malformed HTTP",
            "persisted query flood",
            "database removed under the server",
        ],
    ),
    (
        "/graphql",
        "GET, HEAD",
        &["mutation over GET", "nesting through fragments (GET)", "plain route"],
    ),
    ("/graphiql/{file}", "GET, HEAD", &["plain route"]),
    ("/schema.graphql", "GET, HEAD", &["plain route"]),
    ("/healthz", "GET, HEAD", &["malformed HTTP"]),
    ("/readyz", "GET, HEAD", &["plain route"]),
    ("/metrics", "GET, HEAD", &["plain route"]),
    ("/", "GET, HEAD", &["plain route"]),
    ("/search", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/text", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/timemap", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/revisions/{hash}/text", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/revisions/{hash}", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/revisions/{hash}/capture.warc.gz", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/receipt", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/history", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/diff", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/cite", "GET, HEAD", &["plain route"]),
    ("/documents/{slug}/provenance", "GET, HEAD", &["plain route"]),
    ("/cite", "GET, HEAD", &["plain route"]),
];

/// The attack families the WebSocket half and the resource tests send (`sockets`,
/// `resources`), which `cases::generate` does not.
pub const SOCKET_AND_RESOURCE_FAMILIES: &[&str] = &[
    "garbage after init",
    "binary before init",
    "subscribe before init",
    "bad tokens",
    "oversized frame",
    "expensive or bad subscriptions",
    "operation flood",
    "duplicate ids",
    "connection flood",
    "connection_init that is not an object",
    "a close answered and ended",
    "hostile arguments, every subscription",
    "stalled subscribers",
    "subscriptions priced by their events",
    "a crowd of cheap subscriptions",
    "persisted query flood",
    "an archive without end",
    "database removed under the server",
];

/// The schema, parsed.
pub fn schema() -> ServiceDocument {
    async_graphql::parser::parse_schema(palimpsest::graphql::sdl()).expect("the SDL parses")
}

fn type_named<'a>(schema: &'a ServiceDocument, name: &str) -> Option<&'a TypeDefinition> {
    schema.definitions.iter().find_map(|d| match d {
        TypeSystemDefinition::Type(t) if t.node.name.node == name => Some(&t.node),
        _ => None,
    })
}

/// `Root.field` for every field of the three root types.
pub fn root_fields(schema: &ServiceDocument) -> Vec<String> {
    let mut fields = Vec::new();
    for root in ["Query", "Mutation", "Subscription"] {
        if let Some(TypeKind::Object(object)) = type_named(schema, root).map(|t| &t.kind) {
            fields.extend(object.fields.iter().map(|f| format!("{root}.{}", f.node.name.node)));
        }
    }
    fields
}

/// A query (or mutation, or subscription) calling `root.field` with every argument a variable
/// holding a hostile value of (or against) its type.
pub fn hostile_call(
    schema: &ServiceDocument,
    root: &str,
    field: &str,
    rng: &mut Rng,
) -> (String, Value) {
    let Some(TypeKind::Object(object)) = type_named(schema, root).map(|t| &t.kind) else {
        return ("{ __typename }".into(), json!({}));
    };
    let Some(definition) = object.fields.iter().find(|f| f.node.name.node == field) else {
        return ("{ __typename }".into(), json!({}));
    };
    let mut declared = Vec::new();
    let mut passed = Vec::new();
    let mut variables = Map::new();
    for (i, argument) in definition.node.arguments.iter().enumerate() {
        let argument = &argument.node;
        // Sometimes an argument is left out, even a required one.
        if rng.chance(10) {
            continue;
        }
        declared.push(format!("$a{i}: {}", argument.ty.node));
        passed.push(format!("{}: $a{i}", argument.name.node));
        variables.insert(format!("a{i}"), hostile_value(schema, &argument.ty.node, rng, 0));
    }
    let returns = base_name(&definition.node.ty.node);
    let selection = match type_named(schema, returns).map(|t| &t.kind) {
        Some(TypeKind::Object(_) | TypeKind::Interface(_) | TypeKind::Union(_)) => {
            " { __typename }"
        }
        _ => "",
    };
    let operation = root.to_lowercase();
    let declared =
        if declared.is_empty() { String::new() } else { format!("({})", declared.join(", ")) };
    let passed = if passed.is_empty() { String::new() } else { format!("({})", passed.join(", ")) };
    (format!("{operation}{declared} {{ {field}{passed}{selection} }}"), Value::Object(variables))
}

fn base_name(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => base_name(inner),
    }
}

/// A value for `ty`: usually of its kind with hostile contents, sometimes of another kind.
fn hostile_value(schema: &ServiceDocument, ty: &Type, rng: &mut Rng, depth: usize) -> Value {
    if depth > 3 || rng.chance(15) {
        return match rng.below(6) {
            0 => Value::Null,
            1 => json!(rng.next() as i64),
            2 => json!(hostile_string(rng)),
            3 => json!([hostile_string(rng), 1, null]),
            4 => json!({ "x": hostile_string(rng) }),
            _ => json!(true),
        };
    }
    match &ty.base {
        BaseType::List(inner) => {
            let n = if rng.chance(20) { rng.range(100, 2_000) } else { rng.range(0, 5) };
            Value::Array((0..n).map(|_| hostile_value(schema, inner, rng, depth + 1)).collect())
        }
        BaseType::Named(name) => match name.as_str() {
            "String" | "ID" => json!(hostile_string(rng)),
            "Int" => json!(*rng.pick(&[0i64, -1, 1, i32::MAX as i64, i32::MIN as i64, 1 << 40])),
            "Float" => json!(*rng.pick(&[0.0, -1e308, 1e308, 0.5])),
            "Boolean" => json!(rng.chance(50)),
            "DateTime" => json!(*rng.pick(&[
                "2026-13-45T25:61:61Z",
                "0000-01-01T00:00:00Z",
                "9999-12-31T23:59:59.999999999Z",
                "yesterday",
                "2026-01-01T00:00:00+14:00",
            ])),
            "JSON" => {
                let mut value = json!(hostile_string(rng));
                for _ in 0..rng.range(0, 40) {
                    value = json!([value]);
                }
                value
            }
            other => match type_named(schema, other).map(|t| &t.kind) {
                Some(TypeKind::Enum(values)) => {
                    if rng.chance(80) {
                        json!(rng.pick(&values.values).node.value.node.as_str())
                    } else {
                        json!(hostile_string(rng))
                    }
                }
                Some(TypeKind::InputObject(input)) => {
                    let mut object = Map::new();
                    for field in &input.fields {
                        if rng.chance(85) {
                            let value = hostile_value(schema, &field.node.ty.node, rng, depth + 1);
                            object.insert(field.node.name.node.to_string(), value);
                        }
                    }
                    if rng.chance(10) {
                        object.insert("notAField".into(), json!(hostile_string(rng)));
                    }
                    Value::Object(object)
                }
                _ => json!(hostile_string(rng)),
            },
        },
    }
}

/// `n` calls of each query and mutation root field with hostile arguments, anonymously or as
/// a reader (who may write nothing).
pub fn hostile_arguments(fixture: &Fixture, rng: &mut Rng, cases: &mut Vec<Case>, n: usize) {
    let schema = schema();
    for name in root_fields(&schema) {
        let (root, field) = name.split_once('.').expect("Root.field");
        if root == "Subscription" {
            continue;
        }
        for _ in 0..n {
            let (query, variables) = hostile_call(&schema, root, field, rng);
            let mut headers = Vec::new();
            if rng.chance(50) {
                headers.push(("authorization".into(), format!("Bearer {}", fixture.reader)));
            }
            cases.push(Case {
                family: "hostile arguments",
                request: Request::Http {
                    post: true,
                    path: "/graphql".into(),
                    headers,
                    body: Some(Body::Json(json!({ "query": query, "variables": variables }))),
                },
            });
        }
    }
}

/// The consistency of the lists with the server and with the suite (no server needed).
#[test]
fn every_surface_is_listed_with_its_attacks() {
    let schema = schema();
    let mut in_schema = root_fields(&schema);
    let mut listed: Vec<String> = FIELDS.iter().map(|(f, _)| (*f).to_owned()).collect();
    in_schema.sort();
    listed.sort();
    assert_eq!(
        listed, in_schema,
        "every root field of the schema, and only those, is in `surfaces::FIELDS` with the \
         attacks it gets"
    );
    let mut routes: Vec<(String, String)> = palimpsest::http::ROUTES
        .iter()
        .map(|r| (r.path.to_owned(), r.methods.to_owned()))
        .collect();
    let mut listed: Vec<(String, String)> =
        ROUTES.iter().map(|(p, m, _)| ((*p).to_owned(), (*m).to_owned())).collect();
    routes.sort();
    listed.sort();
    assert_eq!(listed, routes, "every route, and only those, is in `surfaces::ROUTES`");

    // Every family named is one the suite sends.
    let fixture = Fixture {
        reader: "r".into(),
        editor: "e".into(),
        admin: "a".into(),
        revoked: "v".into(),
        expired: "x".into(),
        huge_id: "h".into(),
        huge_head: "0".repeat(64),
        small_id: "s".into(),
        small_hashes: vec!["1".repeat(64)],
    };
    let mut sent: Vec<&str> =
        crate::cases::generate(&fixture, &mut Rng::new(1)).iter().map(|c| c.family).collect();
    sent.extend_from_slice(SOCKET_AND_RESOURCE_FAMILIES);
    let named = FIELDS
        .iter()
        .flat_map(|(_, families)| families.iter().chain(EVERY_FIELD))
        .chain(ROUTES.iter().flat_map(|(_, _, families)| families.iter()));
    for family in named {
        assert!(sent.contains(family), "no attack of the family {family:?} is sent");
    }
}
