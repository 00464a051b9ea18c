//! Automatic persisted queries, as Apollo's `PersistedQueryLink` speaks them: a client sends
//! `extensions.persistedQuery = { version: 1, sha256Hash }` and no query; if the hash is not
//! known it gets `PERSISTED_QUERY_NOT_FOUND` and sends the query with the hash once, which
//! registers it. A hash-only request can then go over GET, where HTTP caches keep its answer.
//!
//! Resolved here, before anything else reads the request, so that limits, the mutation-over-GET
//! rule, the rate limit and the response cache see the query text as if it had been sent.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

/// Known queries by the hex SHA-256 of their text, the least recently used forgotten first.
pub(crate) struct PersistedQueries {
    known: Mutex<lru::LruCache<String, Arc<str>>>,
}

/// Why a persisted-query request cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The hash was sent without its query and is not known (or was forgotten).
    NotFound,
    /// The extension is malformed, of another version, or its hash is not the query's.
    Invalid(String),
}

impl PersistedQueries {
    /// At most `capacity` queries are kept (each is bounded by the request body limit).
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        PersistedQueries { known: Mutex::new(lru::LruCache::new(capacity)) }
    }

    /// The query to run: `query` itself, or the one `extension` names. `extension` is the
    /// request's `extensions.persistedQuery`, if it has one.
    pub(crate) fn resolve(
        &self,
        query: Option<String>,
        extension: Option<&serde_json::Value>,
    ) -> Result<Option<String>, Refused> {
        let Some(extension) = extension else { return Ok(query) };
        let version = extension.get("version").and_then(serde_json::Value::as_i64);
        if version != Some(1) {
            return Err(Refused::Invalid(
                "only version 1 of the persistedQuery extension is supported".into(),
            ));
        }
        let hash = extension
            .get("sha256Hash")
            .and_then(serde_json::Value::as_str)
            .filter(|h| h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .ok_or_else(|| {
                Refused::Invalid("persistedQuery.sha256Hash must be 64 lowercase hex digits".into())
            })?;
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        match query.filter(|q| !q.is_empty()) {
            Some(query) => {
                if hex::encode(Sha256::digest(query.as_bytes())) != hash {
                    return Err(Refused::Invalid("provided sha does not match query".into()));
                }
                known.put(hash.to_owned(), Arc::from(query.as_str()));
                Ok(Some(query))
            }
            None => known.get(hash).map(|q| Some(q.to_string())).ok_or(Refused::NotFound),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hash(query: &str) -> String {
        hex::encode(Sha256::digest(query.as_bytes()))
    }

    #[test]
    fn a_hash_is_unknown_until_sent_with_its_query() {
        let queries = PersistedQueries::new(2);
        let query = "{ documents { totalCount } }";
        let ext = json!({ "version": 1, "sha256Hash": hash(query) });
        assert_eq!(queries.resolve(None, Some(&ext)), Err(Refused::NotFound));
        assert_eq!(queries.resolve(Some(query.into()), Some(&ext)), Ok(Some(query.into())));
        assert_eq!(queries.resolve(None, Some(&ext)), Ok(Some(query.into())));
        assert_eq!(queries.resolve(Some(query.into()), None), Ok(Some(query.into())));
    }

    #[test]
    fn a_wrong_hash_or_version_is_refused_and_the_oldest_is_forgotten() {
        let queries = PersistedQueries::new(1);
        let wrong = json!({ "version": 1, "sha256Hash": hash("{ other }") });
        assert!(matches!(
            queries.resolve(Some("{ a }".into()), Some(&wrong)),
            Err(Refused::Invalid(_))
        ));
        let v2 = json!({ "version": 2, "sha256Hash": hash("{ a }") });
        assert!(matches!(
            queries.resolve(Some("{ a }".into()), Some(&v2)),
            Err(Refused::Invalid(_))
        ));
        let short = json!({ "version": 1, "sha256Hash": "abc" });
        assert!(matches!(queries.resolve(None, Some(&short)), Err(Refused::Invalid(_))));
        for q in ["{ a }", "{ b }"] {
            let ext = json!({ "version": 1, "sha256Hash": hash(q) });
            queries.resolve(Some(q.into()), Some(&ext)).unwrap();
        }
        let first = json!({ "version": 1, "sha256Hash": hash("{ a }") });
        assert_eq!(queries.resolve(None, Some(&first)), Err(Refused::NotFound));
    }
}
