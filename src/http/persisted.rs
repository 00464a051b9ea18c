//! Automatic persisted queries, as Apollo's `PersistedQueryLink` speaks them: a client sends
//! `extensions.persistedQuery = { version: 1, sha256Hash }` and no query; if the hash is not
//! known it gets `PERSISTED_QUERY_NOT_FOUND` and sends the query with the hash once, which
//! registers it. A hash-only request can then go over GET, where HTTP caches keep its answer.
//!
//! Resolved here, before anything else reads the request, so that limits, the mutation-over-GET
//! rule, the rate limit and the response cache see the query text as if it had been sent.
//!
//! What anyone may make the server keep is bounded in bytes: a query longer than
//! `PersistedLimits::per_query` runs but is not kept (its client sends it again each time, as
//! the link does after `PERSISTED_QUERY_NOT_FOUND`); the queries one address registered
//! together at most `per_address` (its own least recently used go first); all together at
//! most `total` (the least recently used go first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::ratelimit::Client;

/// What one entry costs besides its text: the hash it is kept under and the bookkeeping.
const ENTRY_OVERHEAD: usize = 160;

/// How much the persisted queries may hold, in bytes of query text (and a little per entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PersistedLimits {
    pub per_query: usize,
    pub per_address: usize,
    pub total: usize,
}

impl Default for PersistedLimits {
    fn default() -> Self {
        Self { per_query: 128 * 1024, per_address: 2 << 20, total: 16 << 20 }
    }
}

/// Known queries by the hex SHA-256 of their text, the least recently used forgotten first.
pub(crate) struct PersistedQueries {
    limits: PersistedLimits,
    known: Mutex<Known>,
}

struct Known {
    queries: lru::LruCache<String, Entry>,
    bytes: usize,
    /// Bytes each address's registrations hold.
    by_owner: HashMap<Option<Client>, usize>,
}

struct Entry {
    query: Arc<str>,
    owner: Option<Client>,
}

impl Entry {
    fn bytes(&self) -> usize {
        self.query.len() + ENTRY_OVERHEAD
    }
}

impl Known {
    fn remove(&mut self, hash: &str) {
        if let Some(entry) = self.queries.pop(hash) {
            self.forget(&entry);
        }
    }

    fn forget(&mut self, entry: &Entry) {
        self.bytes -= entry.bytes();
        if let Some(held) = self.by_owner.get_mut(&entry.owner) {
            *held -= entry.bytes();
            if *held == 0 {
                self.by_owner.remove(&entry.owner);
            }
        }
    }

    /// Forgets `owner`'s least recently used query.
    fn evict_oldest_of(&mut self, owner: Option<Client>) -> bool {
        let oldest = self
            .queries
            .iter()
            .rev()
            .find(|(_, entry)| entry.owner == owner)
            .map(|(hash, _)| hash.clone());
        oldest.inspect(|hash| self.remove(hash)).is_some()
    }

    fn evict_oldest(&mut self) -> bool {
        match self.queries.pop_lru() {
            Some((_, entry)) => {
                self.forget(&entry);
                true
            }
            None => false,
        }
    }
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
    pub(crate) fn new(limits: PersistedLimits) -> Self {
        PersistedQueries {
            limits,
            known: Mutex::new(Known {
                queries: lru::LruCache::unbounded(),
                bytes: 0,
                by_owner: HashMap::new(),
            }),
        }
    }

    fn known(&self) -> std::sync::MutexGuard<'_, Known> {
        self.known.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The query to run: `query` itself, or the one `extension` names. `extension` is the
    /// request's `extensions.persistedQuery`, if it has one; `address` is the client's, which
    /// a query it registers is counted against.
    pub(crate) fn resolve(
        &self,
        query: Option<String>,
        extension: Option<&serde_json::Value>,
        address: Option<IpAddr>,
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
        match query.filter(|q| !q.is_empty()) {
            Some(query) => {
                if hex::encode(Sha256::digest(query.as_bytes())) != hash {
                    return Err(Refused::Invalid("provided sha does not match query".into()));
                }
                self.register(hash, &query, address.map(Client::address));
                Ok(Some(query))
            }
            None => {
                let mut known = self.known();
                let found = known.queries.get(hash).map(|entry| entry.query.to_string());
                found.map(Some).ok_or(Refused::NotFound)
            }
        }
    }

    fn register(&self, hash: &str, query: &str, owner: Option<Client>) {
        let limits = self.limits;
        let entry = Entry { query: Arc::from(query), owner };
        let bytes = entry.bytes();
        if query.len() > limits.per_query || bytes > limits.per_address || bytes > limits.total {
            return;
        }
        let mut known = self.known();
        known.remove(hash);
        while known.by_owner.get(&owner).copied().unwrap_or(0) + bytes > limits.per_address {
            if !known.evict_oldest_of(owner) {
                break;
            }
        }
        while known.bytes + bytes > limits.total {
            if !known.evict_oldest() {
                break;
            }
        }
        known.bytes += bytes;
        *known.by_owner.entry(owner).or_default() += bytes;
        known.queries.put(hash.to_owned(), entry);
    }

    /// Bytes kept now, in all.
    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.known().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hash(query: &str) -> String {
        hex::encode(Sha256::digest(query.as_bytes()))
    }

    fn ext(query: &str) -> serde_json::Value {
        json!({ "version": 1, "sha256Hash": hash(query) })
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)));
    const AWAY: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2)));

    #[test]
    fn a_hash_is_unknown_until_sent_with_its_query() {
        let queries = PersistedQueries::new(PersistedLimits::default());
        let query = "{ documents { totalCount } }";
        assert_eq!(queries.resolve(None, Some(&ext(query)), HOME), Err(Refused::NotFound));
        assert_eq!(
            queries.resolve(Some(query.into()), Some(&ext(query)), HOME),
            Ok(Some(query.into()))
        );
        assert_eq!(queries.resolve(None, Some(&ext(query)), AWAY), Ok(Some(query.into())));
        assert_eq!(queries.resolve(Some(query.into()), None, HOME), Ok(Some(query.into())));
    }

    #[test]
    fn a_wrong_hash_or_version_is_refused() {
        let queries = PersistedQueries::new(PersistedLimits::default());
        let wrong = json!({ "version": 1, "sha256Hash": hash("{ other }") });
        assert!(matches!(
            queries.resolve(Some("{ a }".into()), Some(&wrong), HOME),
            Err(Refused::Invalid(_))
        ));
        let v2 = json!({ "version": 2, "sha256Hash": hash("{ a }") });
        assert!(matches!(
            queries.resolve(Some("{ a }".into()), Some(&v2), HOME),
            Err(Refused::Invalid(_))
        ));
        let short = json!({ "version": 1, "sha256Hash": "abc" });
        assert!(matches!(queries.resolve(None, Some(&short), HOME), Err(Refused::Invalid(_))));
    }

    #[test]
    fn what_is_kept_is_bounded_in_bytes_per_query_per_address_and_in_all() {
        let limits = PersistedLimits { per_query: 1000, per_address: 3000, total: 5000 };
        let queries = PersistedQueries::new(limits);
        let query = |n: usize| format!("{{ a{n} }} #{}", "x".repeat(790));
        // Too long to keep: it runs, and is not known afterwards.
        let long = format!("{{ a }} #{}", "x".repeat(1000));
        assert_eq!(
            queries.resolve(Some(long.clone()), Some(&ext(&long)), HOME),
            Ok(Some(long.clone()))
        );
        assert_eq!(queries.resolve(None, Some(&ext(&long)), HOME), Err(Refused::NotFound));
        // An address keeps at most three of these (about 960 bytes each): its oldest goes.
        for n in 0..5 {
            queries.resolve(Some(query(n)), Some(&ext(&query(n))), HOME).unwrap();
        }
        assert_eq!(queries.resolve(None, Some(&ext(&query(1))), HOME), Err(Refused::NotFound));
        assert!(queries.resolve(None, Some(&ext(&query(4))), HOME).is_ok());
        assert!(queries.bytes() <= 3000);
        // Another address's registrations push out the least recently used overall.
        for n in 10..13 {
            queries.resolve(Some(query(n)), Some(&ext(&query(n))), AWAY).unwrap();
        }
        assert!(queries.bytes() <= 5000, "{}", queries.bytes());
        assert!(queries.resolve(None, Some(&ext(&query(12))), AWAY).is_ok());
        assert_eq!(queries.resolve(None, Some(&ext(&query(2))), HOME), Err(Refused::NotFound));
    }
}
