//! Read replicas: PostgreSQL standbys streaming the primary's WAL, which answer reads that need
//! not see the newest write. Everything that writes, and everything inside a write, stays on
//! the primary; this module only says which database a read may go to, and how old its answer
//! may be.
//!
//! How old a replica is, is measured against the primary's WAL, not against the commit
//! timestamps it replayed (an idle primary commits nothing, and a replica that has replayed
//! everything is not stale however long ago the last commit was): every `CHECK_EVERY` the
//! primary's write position is sampled, and a replica whose replay position has reached the
//! sample taken at time `t` held everything committed before `t`. Its staleness is the time
//! since the newest sample it has reached — an upper bound, which is what a reader is told.
//!
//! Read-your-writes: a write's answer carries a `ConsistencyToken`, the primary's WAL position
//! after its commit. A read presenting one goes to a replica only if that replica's replay
//! position had reached it at its last check (replay only moves forward), otherwise to the
//! primary: it never waits, and it is never served older than the write it names.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DatabaseBackend, DatabaseConnection, Statement};

use super::Store;
use super::connect::{DatabaseTimeouts, Pooling, connect_lazily, connect_via, redact_password};
use super::error::{StoreError, StoreResult};

/// How often the primary's position and each replica's replay are read.
const CHECK_EVERY: Duration = Duration::from_millis(100);

/// How long one check may take before the replica counts as not answering.
const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// A position in the primary's write-ahead log (`pg_lsn`), as one 64-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lsn(u64);

impl Lsn {
    /// Parses PostgreSQL's text form, `X/Y` in hexadecimal.
    fn parse_pg(text: &str) -> Option<Self> {
        let (high, low) = text.split_once('/')?;
        let high = u64::from_str_radix(high, 16).ok()?;
        let low = u64::from_str_radix(low, 16).ok()?;
        (high <= u64::from(u32::MAX) && low <= u64::from(u32::MAX))
            .then_some(Self(high << 32 | low))
    }
}

/// What a write hands its client so that a later read, on any node, sees it: opaque to the
/// client, `v1.` and the commit's WAL position in hexadecimal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsistencyToken(Lsn);

impl ConsistencyToken {
    const PREFIX: &'static str = "v1.";

    /// Parses a token a client presents; `None` for anything this server did not hand out.
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix(Self::PREFIX)?;
        (hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
            .map(|lsn| Self(Lsn(lsn)))
    }
}

impl fmt::Display for ConsistencyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:016x}", Self::PREFIX, self.0.0)
    }
}

/// Where a read was sent, and how old its answer may be.
#[derive(Clone)]
pub struct ReadRoute {
    /// The store the read runs on: a replica's, or the primary's itself.
    pub store: Store,
    /// `None` on the primary; on a replica, the most its data may lag behind the primary.
    pub staleness: Option<Duration>,
    /// Which replica, if one.
    replica: Option<usize>,
}

/// One replica as the server sees it, for `/readyz` and the logs.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaStatus {
    /// Its URL, without the password.
    pub url: String,
    /// Reads go to it.
    pub in_rotation: bool,
    /// The most its data lagged behind the primary at the last check; `None` if it did not
    /// answer.
    pub staleness_ms: Option<u64>,
    /// Why it is out of rotation.
    pub reason: Option<String>,
}

struct Replica {
    url: String,
    /// A store reading from the replica and writing to the primary.
    store: Store,
    state: Mutex<ReplicaState>,
}

#[derive(Default)]
struct ReplicaState {
    /// The replay position at the last check that answered, and when that check began.
    replayed: Option<(Lsn, Instant)>,
    /// The staleness measured at that check.
    staleness: Option<Duration>,
    /// Why the last check failed, if it did.
    error: Option<String>,
}

/// The replicas a store may read from, and the watch that keeps them measured.
pub(crate) struct Replicas {
    members: Vec<Replica>,
    /// Reached through a transaction pooler: each check also sees that a timeout applies.
    pooled: bool,
    max_lag: Duration,
    /// The primary's write position, sampled at each check, oldest first; kept for `max_lag`.
    samples: Mutex<VecDeque<(Instant, Lsn)>>,
    next: AtomicUsize,
}

impl Replicas {
    fn in_rotation(&self, replica: &Replica, now: Instant) -> Option<(Lsn, Duration)> {
        let state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
        let (replayed, checked) = state.replayed?;
        if state.error.is_some() || now.duration_since(checked) > CHECK_TIMEOUT + CHECK_EVERY {
            return None;
        }
        let staleness = state.staleness? + now.duration_since(checked);
        (staleness <= self.max_lag).then_some((replayed, staleness))
    }
}

impl Store {
    /// Opens a pool on each replica and starts checking them; reads may go to them from the
    /// first check that finds them current enough. PostgreSQL only.
    pub async fn attach_replicas(
        &mut self,
        urls: &[String],
        max_lag: Duration,
        timeouts: DatabaseTimeouts,
        pooling: Pooling,
    ) -> anyhow::Result<()> {
        if urls.is_empty() {
            return Ok(());
        }
        if self.db.get_database_backend() != DatabaseBackend::Postgres {
            anyhow::bail!("read replicas are PostgreSQL standbys: the primary must be PostgreSQL");
        }
        // A replica is optional: a read waits for one of its connections no longer than the
        // replica's check does, and fails over (see `replica_failed`) rather than hangs.
        let timeouts =
            DatabaseTimeouts { acquire: timeouts.acquire.min(CHECK_TIMEOUT), ..timeouts };
        let mut members = Vec::with_capacity(urls.len());
        for url in urls {
            // A replica down when the server starts is no reason not to start: it joins the
            // rotation once it answers. One that answers is held to the pooler's rules now.
            let db = match connect_via(url, timeouts, pooling).await {
                Ok(db) => db,
                Err(err) if is_unreachable(&err) => {
                    tracing::warn!(replica = %redact_password(url), error = %format!("{err:#}"),
                        "read replica not answering; out of rotation until it does");
                    connect_lazily(url, timeouts, pooling).await?
                }
                Err(err) => return Err(err),
            };
            members.push(Replica {
                url: redact_password(url),
                store: self.reading_from(db),
                state: Mutex::default(),
            });
        }
        let replicas = Arc::new(Replicas {
            members,
            pooled: pooling == Pooling::Transactions,
            max_lag,
            samples: Mutex::default(),
            next: AtomicUsize::new(0),
        });
        tokio::spawn(watch(Arc::downgrade(&replicas), self.db.clone()));
        self.replicas = Some(replicas);
        Ok(())
    }

    /// A store whose reads go to `replica` and whose writes still go to this store's primary.
    fn reading_from(&self, replica: DatabaseConnection) -> Store {
        let changes = Arc::new(super::changes::ChangeWatch::for_connection(&replica, None));
        Store {
            primary: Some(self.primary().clone()),
            db: replica,
            changes,
            replicas: None,
            ..self.clone()
        }
    }

    /// Where a read goes: a replica in rotation (which has replayed `at_least`, if given),
    /// taken in turn, or else the primary.
    pub fn route_read(&self, at_least: Option<ConsistencyToken>) -> ReadRoute {
        let on_primary = || ReadRoute { store: self.clone(), staleness: None, replica: None };
        let Some(replicas) = &self.replicas else { return on_primary() };
        let now = Instant::now();
        let count = replicas.members.len();
        let first = replicas.next.fetch_add(1, Ordering::Relaxed);
        for offset in 0..count {
            let index = (first + offset) % count;
            let replica = &replicas.members[index];
            let Some((replayed, staleness)) = replicas.in_rotation(replica, now) else {
                continue;
            };
            if at_least.is_some_and(|token| replayed < token.0) {
                continue;
            }
            return ReadRoute {
                store: replica.store.clone(),
                staleness: Some(staleness),
                replica: Some(index),
            };
        }
        on_primary()
    }

    /// A read `route` sent to a replica found it unavailable: out of rotation at once, until
    /// a check finds it answering again, so that the client's retry goes elsewhere. The
    /// request's `UNAVAILABLE` may have come from elsewhere (the primary, the server's own
    /// compute queue); such a false alarm costs a healthy replica at most one check interval
    /// (`CHECK_EVERY`), since the next check that answers puts it back.
    pub fn replica_failed(&self, route: &ReadRoute) {
        let (Some(replicas), Some(index)) = (&self.replicas, route.replica) else { return };
        let replica = &replicas.members[index];
        let mut state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.error.is_none() {
            tracing::warn!(replica = %replica.url, "a read found the replica unavailable; out of rotation");
            state.error = Some("a read found it unavailable".to_owned());
        }
    }

    /// Whether reads may go to replicas here (and writes should hand out tokens).
    pub fn has_replicas(&self) -> bool {
        self.replicas.is_some()
    }

    /// The token a client presents to read what has committed on the primary so far: taken
    /// after a write's commit, it names that write. `None` without replicas.
    pub async fn consistency_token(&self) -> StoreResult<Option<ConsistencyToken>> {
        if self.replicas.is_none() {
            return Ok(None);
        }
        let lsn = wal_position(self.primary(), "SELECT pg_current_wal_lsn()::text AS lsn").await?;
        Ok(Some(ConsistencyToken(lsn)))
    }

    /// Each replica: in rotation or not, and why.
    pub fn replica_status(&self) -> Vec<ReplicaStatus> {
        let Some(replicas) = &self.replicas else { return Vec::new() };
        let now = Instant::now();
        replicas
            .members
            .iter()
            .map(|replica| {
                let rotation = replicas.in_rotation(replica, now);
                let state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
                let reason = match (&rotation, &state.error, state.staleness) {
                    (Some(_), _, _) => None,
                    (None, Some(error), _) => Some(error.clone()),
                    (None, None, None) => Some("not checked yet".to_owned()),
                    (None, None, Some(_)) => Some(format!(
                        "lags more than {} ms behind the primary",
                        replicas.max_lag.as_millis()
                    )),
                };
                ReplicaStatus {
                    url: replica.url.clone(),
                    in_rotation: rotation.is_some(),
                    staleness_ms: rotation
                        .map(|(_, s)| s)
                        .or(state.staleness)
                        .map(|s| s.as_millis() as u64),
                    reason,
                }
            })
            .collect()
    }
}

async fn wal_position(db: &DatabaseConnection, sql: &str) -> StoreResult<Lsn> {
    let row = db
        .query_one_raw(Statement::from_string(DatabaseBackend::Postgres, sql))
        .await?
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("no row for {sql}")))?;
    let text: Option<String> = row.try_get("", "lsn")?;
    let text = text.ok_or_else(|| {
        StoreError::Unexpected(anyhow::anyhow!("not a standby: it replays no WAL"))
    })?;
    if text == NO_TIMEOUT {
        return Err(StoreError::Unexpected(anyhow::anyhow!(
            "the pooler's connections to it carry no statement_timeout (set connect_query in \
             pgbouncer.ini)"
        )));
    }
    Lsn::parse_pg(&text)
        .ok_or_else(|| StoreError::Unexpected(anyhow::anyhow!("a WAL position {text:?}")))
}

/// What a replica's check reads instead of its position when its pooled connections have no
/// statement timeout.
const NO_TIMEOUT: &str = "no statement_timeout";
const REPLAY_POOLED: &str = "SELECT CASE WHEN current_setting('statement_timeout') = '0' \
    THEN 'no statement_timeout' ELSE pg_last_wal_replay_lsn()::text END AS lsn";

/// Whether opening a replica failed because it did not answer, rather than being refused for
/// how it is configured: a login refused (SQLSTATE class 28) or a database missing (3D000)
/// stops the server at start, as for the primary.
fn is_unreachable(err: &anyhow::Error) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let Some(db) = err.downcast_ref::<DbErr>() else { return false };
    let code = match db {
        DbErr::Conn(RuntimeErr::SqlxError(sqlx)) | DbErr::Query(RuntimeErr::SqlxError(sqlx)) => {
            sqlx.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned())
        }
        _ => None,
    };
    !code.is_some_and(|code| code.starts_with("28") || code == "3D000")
}

/// Checks the replicas every `CHECK_EVERY` for as long as the store that holds them lives.
async fn watch(replicas: std::sync::Weak<Replicas>, primary: DatabaseConnection) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(replicas) = replicas.upgrade() else { return };
        check(&replicas, &primary).await;
    }
}

async fn check(replicas: &Replicas, primary: &DatabaseConnection) {
    let began = Instant::now();
    let sql = "SELECT pg_current_wal_lsn()::text AS lsn";
    match tokio::time::timeout(CHECK_TIMEOUT, wal_position(primary, sql)).await {
        Ok(Ok(lsn)) => {
            let mut samples = replicas.samples.lock().unwrap_or_else(|e| e.into_inner());
            samples.push_back((began, lsn));
            let keep = replicas.max_lag + CHECK_TIMEOUT;
            while samples.front().is_some_and(|(at, _)| began.duration_since(*at) > keep) {
                samples.pop_front();
            }
        }
        // The primary is down: no new sample, so every replica's staleness grows from its
        // last one, as it should (what the replicas hold grows no newer than what they had).
        Ok(Err(err)) => tracing::debug!(error = %err, "cannot read the primary's WAL position"),
        Err(_) => tracing::debug!("the primary's WAL position took too long"),
    }
    // Through a transaction pooler, each check also sees that the pooler's connections to the
    // replica carry a statement timeout (it cannot be sent from here); one without stays out.
    let replay = if replicas.pooled {
        REPLAY_POOLED
    } else {
        "SELECT pg_last_wal_replay_lsn()::text AS lsn"
    };
    let checks = replicas.members.iter().map(|replica| async move {
        let result = tokio::time::timeout(CHECK_TIMEOUT, wal_position(replica.store.db(), replay))
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unexpected(anyhow::anyhow!("did not answer within a second")))
            });
        (replica, result)
    });
    for (replica, result) in futures_util::future::join_all(checks).await {
        let was_in = replicas.in_rotation(replica, Instant::now()).is_some();
        {
            let mut state = replica.state.lock().unwrap_or_else(|e| e.into_inner());
            match result {
                Ok(replayed) => {
                    let samples = replicas.samples.lock().unwrap_or_else(|e| e.into_inner());
                    // The newest sample the replica has reached: it held everything up to then.
                    let reached = samples.iter().rev().find(|(_, lsn)| *lsn <= replayed);
                    state.staleness = Some(match reached {
                        Some((at, _)) => began.saturating_duration_since(*at),
                        None => replicas.max_lag + CHECK_TIMEOUT,
                    });
                    state.replayed = Some((replayed, began));
                    state.error = None;
                }
                Err(err) => state.error = Some(format!("{err}")),
            }
        }
        let now_in = replicas.in_rotation(replica, Instant::now()).is_some();
        if was_in != now_in {
            if now_in {
                tracing::info!(replica = %replica.url, "replica back in rotation");
            } else {
                let status = replica.state.lock().unwrap_or_else(|e| e.into_inner());
                tracing::warn!(replica = %replica.url, error = ?status.error, staleness = ?status.staleness, "replica out of rotation");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pooled_replica_without_a_timeout_is_told_apart_from_a_position() {
        assert!(REPLAY_POOLED.contains(&format!("'{NO_TIMEOUT}'")));
        assert_eq!(Lsn::parse_pg(NO_TIMEOUT), None);
    }

    #[test]
    fn wal_positions_parse_from_postgres_text() {
        assert_eq!(Lsn::parse_pg("0/16B3A1C0"), Some(Lsn(0x16B3_A1C0)));
        assert_eq!(Lsn::parse_pg("1/0"), Some(Lsn(1 << 32)));
        assert_eq!(Lsn::parse_pg("16B3A1C0"), None);
        assert_eq!(Lsn::parse_pg("x/0"), None);
    }

    #[test]
    fn tokens_round_trip_and_refuse_what_was_not_handed_out() {
        let token = ConsistencyToken(Lsn(0x1_16B3_A1C0));
        assert_eq!(token.to_string(), "v1.0000000116b3a1c0");
        assert_eq!(ConsistencyToken::parse(&token.to_string()), Some(token));
        for bad in ["", "v1.", "v1.16b3a1c0", "v2.0000000116b3a1c0", "v1.000000011xb3a1c0"] {
            assert_eq!(ConsistencyToken::parse(bad), None, "{bad:?}");
        }
    }
}
