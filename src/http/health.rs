//! Liveness (`/healthz`: the process serves requests), readiness (`/readyz`: the database
//! answers; with read replicas, which of them reads go to and how far behind each is) and
//! metrics (`/metrics`: the same of the replicas, and the response cache's counters, in
//! Prometheus's text format).

use std::fmt::Write as _;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::AppState;

/// Liveness: the process serves requests. It says nothing of the database (see `readyz`), so
/// that an orchestrator does not restart a healthy server for a database outage.
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#)
}

/// How long readiness waits for the database.
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// Readiness: the database answers. 503 with `Retry-After` while it does not.
pub(super) async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let reason = match tokio::time::timeout(READY_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => {
            let replicas = state.store.replica_status();
            let body = if replicas.is_empty() {
                serde_json::json!({ "status": "ready" })
            } else {
                // Ready while the primary answers: reads a replica cannot take go there.
                serde_json::json!({ "status": "ready", "replicas": replicas })
            };
            return HttpResponse::Ok().content_type("application/json").body(body.to_string());
        }
        Ok(Err(err)) => {
            tracing::warn!(error = format!("{err:#}"), "not ready");
            "the database is unavailable"
        }
        Err(_) => "the database did not answer in time",
    };
    HttpResponse::ServiceUnavailable()
        .content_type("application/json")
        .insert_header((header::RETRY_AFTER, crate::store::RETRY_AFTER_UNAVAILABLE.as_secs()))
        .body(serde_json::json!({ "status": "unavailable", "reason": reason }).to_string())
}

/// Counters and gauges in Prometheus's text exposition format (0.0.4), for a scraper: what the
/// response cache answered and holds, and each read replica's rotation and lag. Each value is
/// read without waiting on the database.
pub(super) async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let plain = |value: String| vec![(String::new(), value)];
    if let Some(cache) = &state.responses {
        let stats = cache.stats();
        family(
            "palimpsest_response_cache_requests_total",
            "counter",
            "Anonymous queries looked up in the response cache, by whether a kept answer was replayed.",
            &[
                (r#"{result="hit"}"#.to_owned(), stats.hits.to_string()),
                (r#"{result="miss"}"#.to_owned(), stats.misses.to_string()),
            ],
        );
        family(
            "palimpsest_response_cache_dropped_total",
            "counter",
            "Kept answers dropped: made stale by a commit or an embargo lifting, or evicted for room.",
            &[
                (r#"{reason="stale"}"#.to_owned(), stats.dropped_stale.to_string()),
                (r#"{reason="evicted"}"#.to_owned(), stats.evicted.to_string()),
            ],
        );
        family(
            "palimpsest_response_cache_entries",
            "gauge",
            "Answers the response cache holds.",
            &plain(stats.entries.to_string()),
        );
        family(
            "palimpsest_response_cache_bytes",
            "gauge",
            "Bytes the response cache holds (keys, bodies, bookkeeping).",
            &plain(stats.bytes.to_string()),
        );
        family(
            "palimpsest_response_cache_capacity_bytes",
            "gauge",
            "Bytes the response cache may hold (--response-cache-mb).",
            &plain(stats.capacity.to_string()),
        );
    }
    let replicas = state.store.replica_status();
    if !replicas.is_empty() {
        let label = |url: &str| format!("{{replica=\"{}\"}}", escape_label(url));
        let rotation: Vec<_> =
            replicas.iter().map(|r| (label(&r.url), u8::from(r.in_rotation).to_string())).collect();
        family(
            "palimpsest_replica_in_rotation",
            "gauge",
            "1 while reads go to the read replica, 0 while it is out of rotation (/readyz says why).",
            &rotation,
        );
        let staleness: Vec<_> = replicas
            .iter()
            .filter_map(|r| {
                let ms = r.staleness_ms?;
                Some((label(&r.url), format!("{:.3}", ms as f64 / 1000.0)))
            })
            .collect();
        family(
            "palimpsest_replica_staleness_seconds",
            "gauge",
            "The most the read replica's data lagged behind the primary at its last check.",
            &staleness,
        );
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(out)
}

/// A label value as the text format quotes it.
fn escape_label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
