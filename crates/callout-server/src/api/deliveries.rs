//! `GET /api/deliveries`: the call-outs made, newest first.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::api::{AppState, QueryParams};
use crate::auth::Agent;
use crate::error::{ApiError, ApiResult};
use crate::time::rfc3339;

/// Deliveries answered by one call, at most.
const PAGE_SIZE: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/deliveries", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    hook_id: Option<i64>,
    status: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    hook_id: i64,
    target: String,
    event: String,
    object_id: i64,
    status: String,
    attempts: i64,
    url: Option<String>,
    response_status: Option<i64>,
    duration_ms: Option<i64>,
    response_body: Option<String>,
    error: Option<String>,
    created_at: i64,
    completed_at: Option<i64>,
    next_attempt_at: i64,
}

#[derive(Serialize)]
struct DeliveryView {
    id: i64,
    hook_id: i64,
    target: String,
    event: String,
    object_id: i64,
    status: String,
    attempts: i64,
    url: Option<String>,
    response_status: Option<i64>,
    duration_ms: Option<i64>,
    response_body: Option<String>,
    error: Option<String>,
    created_at: String,
    completed_at: Option<String>,
    /// When the next attempt is due, for a pending delivery.
    next_attempt_at: Option<String>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> DeliveryView {
        let pending = row.status == "pending";
        DeliveryView {
            id: row.id,
            hook_id: row.hook_id,
            target: row.target,
            event: row.event,
            object_id: row.object_id,
            status: row.status,
            attempts: row.attempts,
            url: row.url,
            response_status: row.response_status,
            duration_ms: row.duration_ms,
            response_body: row.response_body,
            error: row.error,
            created_at: rfc3339(row.created_at),
            completed_at: row.completed_at.map(rfc3339),
            next_attempt_at: pending.then(|| rfc3339(row.next_attempt_at)),
        }
    }
}

async fn list(
    State(state): State<AppState>,
    agent: Agent,
    QueryParams(filter): QueryParams<Filter>,
) -> ApiResult<Json<Vec<DeliveryView>>> {
    if let Some(status) = &filter.status {
        if !["pending", "succeeded", "failed"].contains(&status.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "invalid status `{status}`: use pending, succeeded or failed"
            )));
        }
    }
    let rows = sqlx::query_as::<_, DeliveryRow>(
        "SELECT id, hook_id, target, event, object_id, status, attempts, url, response_status, \
         duration_ms, response_body, error, created_at, completed_at, next_attempt_at \
         FROM deliveries WHERE client_id = ? AND (? IS NULL OR hook_id = ?) \
         AND (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ?",
    )
    .bind(agent.client_id)
    .bind(filter.hook_id)
    .bind(filter.hook_id)
    .bind(&filter.status)
    .bind(&filter.status)
    .bind(PAGE_SIZE)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows.into_iter().map(DeliveryView::from).collect()))
}
