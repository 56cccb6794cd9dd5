//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::db::replicas::ReplicaStatus;
use crate::error::{AppError, AppResult};
use crate::problem_responses;

problem_responses!(
    /// Errors of the readiness probe.
    ReadinessErrors: 500, 503
);

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    #[schema(example = "ok", pattern = "^ok$")]
    pub status: &'static str,
}

/// The process is up and serving HTTP. Touches nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses((status = 200, description = "Up", body = HealthResponse))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse { status: "ok" })
}

/// The readiness probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    #[schema(example = "ok", pattern = "^ok$")]
    pub status: &'static str,
    /// Each read replica (`DATABASE_REPLICA_URL`) and whether reads go to it; a replica that is
    /// down or behind does not make the node unready (the primary serves its reads).
    pub replicas: Vec<ReplicaStatus>,
}

/// The database answers and carries every migration this build expects; the read replicas'
/// health besides.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses((status = 200, description = "Ready", body = ReadyResponse), ReadinessErrors)
)]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let db = state.db.clone();
    let ready = crate::app::off_executor(move || db.is_ready()).await??;
    if !ready {
        return Err(AppError::Unavailable(
            "database migrations are pending".into(),
        ));
    }
    let replicas = state.db.replicas().map(|r| r.status()).unwrap_or_default();
    Ok(HttpResponse::Ok().json(ReadyResponse {
        status: "ok",
        replicas,
    }))
}
