//! W3C PROV-JSON (https://www.w3.org/submissions/prov-json/) of a document's history:
//! revisions are entities (`wasRevisionOf` their parent), each revision's making is an
//! activity (an edit, or a capture when its text came from a source), agents are PROV agents
//! (`wasAttributedTo`, `wasAssociatedWith`), sources are primary sources
//! (`hadPrimarySource`), and quotations are `wasQuotedFrom`. Revision, quotation and primary
//! source are written as PROV-JSON writes them: `wasDerivedFrom` with a `prov:type`.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};

use crate::store::{AgentKind, CitationRelation, CitationTarget, Provenance};

fn qualified(name: &str) -> Value {
    json!({ "$": name, "type": "prov:QUALIFIED_NAME" })
}

fn time(t: crate::store::Timestamp) -> Value {
    json!({ "$": t.to_string(), "type": "xsd:dateTime" })
}

fn revision_id(hash: &str) -> String {
    format!("pal:revision-{hash}")
}

/// The PROV document of `input`, with permanent links on `base_url`.
pub fn prov_json(input: &Provenance, base_url: &str) -> Value {
    let mut entity = Map::new();
    let mut activity = Map::new();
    let mut agent = Map::new();
    let mut relations: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
    let mut relate = |kind: &'static str, id: String, body: Value| {
        relations.entry(kind).or_default().insert(id, body);
    };
    let slug_of = |id: crate::store::DocumentId| {
        input.documents.iter().find(|d| d.id == id).map(|d| d.slug.to_string())
    };
    let described: HashSet<&str> = input.revisions.iter().map(|r| r.hash.hex()).collect();

    for r in &input.revisions {
        let id = revision_id(r.hash.hex());
        let mut attributes = json!({
            "prov:type": qualified("pal:Revision"),
            "prov:label": r.title,
            "pal:hash": r.hash.hex(),
            "pal:contentSha256": r.content_hash.hex(),
            "pal:number": r.number,
            "pal:document": r.document_id.to_string(),
            "pal:header": r.header(),
        });
        if let Some(slug) = slug_of(r.document_id) {
            attributes["prov:location"] =
                json!(format!("{}/documents/{slug}/revisions/{}", base_url, r.hash));
        }
        entity.insert(id.clone(), attributes);

        let act = format!("pal:making-{}", r.hash);
        let kind = match (r.parent.is_some(), r.source.is_some()) {
            (_, true) => "pal:Capture",
            (false, false) => "pal:Creation",
            (true, false) => "pal:Edit",
        };
        activity.insert(
            act.clone(),
            json!({
                "prov:type": qualified(kind),
                "prov:label": r.message,
                "prov:startTime": time(r.created_at),
                "prov:endTime": time(r.created_at),
            }),
        );
        relate(
            "wasGeneratedBy",
            format!("_:gen-{}", r.hash),
            json!({ "prov:entity": id, "prov:activity": act, "prov:time": time(r.created_at) }),
        );
        let agent_id = format!("pal:agent-{}", r.author);
        relate(
            "wasAttributedTo",
            format!("_:attr-{}", r.hash),
            json!({ "prov:entity": id, "prov:agent": agent_id }),
        );
        relate(
            "wasAssociatedWith",
            format!("_:assoc-{}", r.hash),
            json!({ "prov:activity": act, "prov:agent": agent_id }),
        );
        if let Some(parent) = &r.parent {
            let parent_id = revision_id(parent.hex());
            if !described.contains(parent.hex()) {
                entity.insert(
                    parent_id.clone(),
                    json!({ "prov:type": qualified("pal:Revision"), "pal:hash": parent.hex() }),
                );
            }
            relate(
                "used",
                format!("_:used-{}", r.hash),
                json!({ "prov:activity": act, "prov:entity": parent_id }),
            );
            relate(
                "wasDerivedFrom",
                format!("_:rev-{}", r.hash),
                json!({
                    "prov:generatedEntity": id, "prov:usedEntity": parent_id,
                    "prov:activity": act, "prov:type": qualified("prov:Revision"),
                }),
            );
        }
        if let Some(source) = r.source {
            let source_id = format!("pal:source-{source}");
            relate(
                "used",
                format!("_:capture-{}", r.hash),
                json!({ "prov:activity": act, "prov:entity": source_id }),
            );
            relate(
                "wasDerivedFrom",
                format!("_:primary-{}", r.hash),
                json!({
                    "prov:generatedEntity": id, "prov:usedEntity": source_id,
                    "prov:type": qualified("prov:PrimarySource"),
                }),
            );
        }
    }

    for c in &input.citations {
        let citing = revision_id(c.citing_revision.hex());
        let cited = match &c.target {
            CitationTarget::Document { pinned: Some(hash), .. } => {
                let id = revision_id(hash.hex());
                entity.entry(id.clone()).or_insert_with(
                    || json!({ "prov:type": qualified("pal:Revision"), "pal:hash": hash.hex() }),
                );
                id
            }
            CitationTarget::Document { id, .. } => {
                let entity_id = format!("pal:document-{id}");
                let mut attributes = json!({ "prov:type": qualified("pal:Document") });
                if let Some(slug) = slug_of(*id) {
                    attributes["prov:location"] = json!(format!("{}/documents/{slug}", base_url));
                }
                entity.entry(entity_id.clone()).or_insert(attributes);
                entity_id
            }
            CitationTarget::Source(id) => format!("pal:source-{id}"),
        };
        let body = |kind: Option<&str>| {
            let mut body = json!({
                "prov:generatedEntity": citing, "prov:usedEntity": cited,
                "pal:relation": c.relation.as_str(), "pal:citation": c.id.to_string(),
            });
            if let Some(kind) = kind {
                body["prov:type"] = qualified(kind);
            }
            if let Some(exact) = c.citing_passage.as_ref().and_then(|p| p.exact.as_ref()) {
                body["pal:passage"] = json!(exact);
            }
            body
        };
        match c.relation {
            CitationRelation::Quotes => {
                relate("wasDerivedFrom", format!("_:quote-{}", c.id), body(Some("prov:Quotation")))
            }
            CitationRelation::Paraphrases => {
                relate("wasDerivedFrom", format!("_:para-{}", c.id), body(None))
            }
            _ => relate(
                "wasInfluencedBy",
                format!("_:cite-{}", c.id),
                json!({
                    "prov:influencee": citing, "prov:influencer": cited,
                    "pal:relation": c.relation.as_str(), "pal:citation": c.id.to_string(),
                }),
            ),
        }
    }

    for s in &input.sources {
        let mut attributes = json!({
            "prov:type": qualified("pal:Source"),
            "pal:kind": s.kind.as_str(),
        });
        for (key, value) in [
            ("prov:label", &s.title),
            ("prov:location", &s.url),
            ("pal:publisher", &s.publisher),
            ("pal:archiveUrl", &s.archive_url),
            ("pal:license", &s.license),
        ] {
            if let Some(value) = value {
                attributes[key] = json!(value);
            }
        }
        if !s.authors.is_empty() {
            attributes["pal:authors"] = json!(s.authors.join("; "));
        }
        if !s.recipients.is_empty() {
            attributes["pal:recipients"] = json!(s.recipients.join("; "));
        }
        if let Some(published) = s.published_at {
            attributes["pal:publishedAt"] = time(published);
        }
        entity.insert(format!("pal:source-{}", s.id), attributes);
    }

    for a in &input.agents {
        let kind = match a.kind {
            AgentKind::Person => "prov:Person",
            AgentKind::Organization => "prov:Organization",
            AgentKind::Software => "prov:SoftwareAgent",
        };
        agent.insert(
            format!("pal:agent-{}", a.id),
            json!({ "prov:type": qualified(kind), "prov:label": a.name }),
        );
    }

    let mut document = json!({
        "prefix": {
            "pal": format!("{}/ns/palimpsest#", base_url),
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "entity": entity,
        "activity": activity,
        "agent": agent,
    });
    for (kind, body) in relations {
        document[kind] = Value::Object(body);
    }
    document
}
