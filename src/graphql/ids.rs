//! Opaque global ids for `Node` (GitHub-style): base64url of `Type:key`. Clients treat them
//! as opaque; the store never sees them.

use async_graphql::ID;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::ApiError;
use crate::store::{
    AgentId, CitationId, CollectionId, DocumentId, RevisionHash, SourceId, WatchId, quoted,
};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobalId {
    Document(DocumentId),
    Revision(RevisionHash),
    Agent(AgentId),
    Source(SourceId),
    Citation(CitationId),
    Watch(WatchId),
    Collection(CollectionId),
}

impl GlobalId {
    pub fn encode(&self) -> ID {
        let raw = match self {
            GlobalId::Document(id) => format!("Document:{id}"),
            GlobalId::Revision(hash) => format!("Revision:{hash}"),
            GlobalId::Agent(id) => format!("Agent:{id}"),
            GlobalId::Source(id) => format!("Source:{id}"),
            GlobalId::Citation(id) => format!("Citation:{id}"),
            GlobalId::Watch(id) => format!("Watch:{id}"),
            GlobalId::Collection(id) => format!("Collection:{id}"),
        };
        ID(URL_SAFE_NO_PAD.encode(raw))
    }

    pub fn decode(id: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::bad_input(format!("{} is not a valid node id", quoted(id)));
        let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid())?;
        let raw = String::from_utf8(bytes).map_err(|_| invalid())?;
        let (kind, key) = raw.split_once(':').ok_or_else(invalid)?;
        let parsed = match kind {
            "Document" => DocumentId::parse(key).map(GlobalId::Document),
            "Revision" => RevisionHash::parse(key).map(GlobalId::Revision),
            "Agent" => AgentId::parse(key).map(GlobalId::Agent),
            "Source" => SourceId::parse(key).map(GlobalId::Source),
            "Citation" => CitationId::parse(key).map(GlobalId::Citation),
            "Watch" => WatchId::parse(key).map(GlobalId::Watch),
            "Collection" => CollectionId::parse(key).map(GlobalId::Collection),
            _ => return Err(invalid()),
        };
        parsed.map_err(|_| invalid())
    }

    /// A document reference as clients hold it: its global id, or the bare UUID that revision
    /// headers carry.
    pub fn document(field: &str, id: &str) -> Result<DocumentId, ApiError> {
        if let Ok(uuid) = DocumentId::parse(id) {
            return Ok(uuid);
        }
        match GlobalId::decode(id) {
            Ok(GlobalId::Document(id)) => Ok(id),
            _ => Err(ApiError::bad_input(format!("{field}: {} is not a document id", quoted(id)))),
        }
    }

    /// An agent reference: its global id or its bare UUID.
    pub fn agent(field: &str, id: &str) -> Result<AgentId, ApiError> {
        if let Ok(uuid) = AgentId::parse(id) {
            return Ok(uuid);
        }
        match GlobalId::decode(id) {
            Ok(GlobalId::Agent(id)) => Ok(id),
            _ => Err(ApiError::bad_input(format!("{field}: {} is not an agent id", quoted(id)))),
        }
    }

    /// A collection reference: its global id or its bare UUID.
    pub fn collection(field: &str, id: &str) -> Result<CollectionId, ApiError> {
        if let Ok(uuid) = CollectionId::parse(id) {
            return Ok(uuid);
        }
        match GlobalId::decode(id) {
            Ok(GlobalId::Collection(id)) => Ok(id),
            _ => {
                Err(ApiError::bad_input(format!("{field}: {} is not a collection id", quoted(id))))
            }
        }
    }

    /// A source reference: its global id or its bare UUID.
    pub fn source(field: &str, id: &str) -> Result<SourceId, ApiError> {
        if let Ok(uuid) = SourceId::parse(id) {
            return Ok(uuid);
        }
        match GlobalId::decode(id) {
            Ok(GlobalId::Source(id)) => Ok(id),
            _ => Err(ApiError::bad_input(format!("{field}: {} is not a source id", quoted(id)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_round_trip_and_reject_garbage() {
        let id = GlobalId::Document(DocumentId::generate());
        assert_eq!(GlobalId::decode(&id.encode()).unwrap(), id);
        assert!(GlobalId::decode("not base64!").is_err());
        assert!(GlobalId::decode(&URL_SAFE_NO_PAD.encode("Nope:1")).is_err());
        assert!(GlobalId::decode(&URL_SAFE_NO_PAD.encode("Revision:abc")).is_err());
    }
}
