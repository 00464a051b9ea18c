//! Liveness (`/healthz`: the process serves requests) and readiness (`/readyz`: the database
//! answers; with read replicas, which of them reads go to and how far behind each is).

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
