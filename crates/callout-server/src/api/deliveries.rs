//! `GET /api/deliveries`: the call-outs made, newest first.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Id, JsonBody, QueryParams};
use crate::auth::Agent;
use crate::db::Flag;
use crate::error::{ApiError, ApiResult};
use crate::time::{now_ms, rfc3339};

/// Maximum number of deliveries returned by one call.
const PAGE_SIZE: i64 = 200;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/deliveries", get(list))
        .route("/deliveries/stats", get(stats))
        .route("/deliveries/{id}", get(read))
        .route("/deliveries/{id}/redeliver", post(redeliver))
        .route("/hooks/{id}/redeliver", post(redeliver_failed))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Filter {
    hook_id: Option<i64>,
    status: Option<String>,
    target: Option<String>,
    event: Option<String>,
    /// Only deliveries created at or after this RFC 3339 time.
    since: Option<String>,
    /// Only deliveries created before this RFC 3339 time.
    until: Option<String>,
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
    error_class: Option<String>,
    error: Option<String>,
    created_at: i64,
    completed_at: Option<i64>,
    next_attempt_at: i64,
    message_id: String,
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
    error_class: Option<String>,
    error: Option<String>,
    created_at: String,
    completed_at: Option<String>,
    /// When the next attempt is due, for a pending delivery.
    next_attempt_at: Option<String>,
    /// The `webhook-id` header of every attempt.
    message_id: String,
    /// Every attempt, in the response for one delivery only.
    #[serde(skip_serializing_if = "Option::is_none")]
    attempts_log: Option<Vec<AttemptView>>,
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
            error_class: row.error_class,
            error: row.error,
            created_at: rfc3339(row.created_at),
            completed_at: row.completed_at.map(rfc3339),
            next_attempt_at: pending.then(|| rfc3339(row.next_attempt_at)),
            message_id: row.message_id,
            attempts_log: None,
        }
    }
}

const SELECT: &str = "SELECT id, hook_id, target, event, object_id, status, attempts, url, \
    response_status, duration_ms, response_body, error_class, error, created_at, completed_at, \
    next_attempt_at, message_id FROM deliveries";

fn parse_time(name: &str, value: &Option<String>) -> ApiResult<Option<i64>> {
    value
        .as_deref()
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .map(|time| time.timestamp_millis())
                .map_err(|_| ApiError::BadRequest(format!("invalid `{name}` time `{text}`: use RFC 3339, such as 2026-12-04T10:00:00Z")))
        })
        .transpose()
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
    let since = parse_time("since", &filter.since)?;
    let until = parse_time("until", &filter.until)?;
    let rows = sqlx::query_as::<_, DeliveryRow>(&format!(
        "{SELECT} WHERE client_id = $1 AND ($2 IS NULL OR hook_id = $2) \
         AND ($3 IS NULL OR status = $3) AND ($4 IS NULL OR target = $4) \
         AND ($5 IS NULL OR event = $5) AND ($6 IS NULL OR created_at >= $6) \
         AND ($7 IS NULL OR created_at < $7) ORDER BY id DESC LIMIT $8"
    ))
    .bind(agent.client_id)
    .bind(filter.hook_id)
    .bind(&filter.status)
    .bind(&filter.target)
    .bind(&filter.event)
    .bind(since)
    .bind(until)
    .bind(PAGE_SIZE)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows.into_iter().map(DeliveryView::from).collect()))
}

#[derive(sqlx::FromRow)]
struct AttemptRow {
    attempt: i64,
    method: String,
    url: String,
    address: Option<String>,
    request_headers: String,
    response_status: Option<i64>,
    response_headers: String,
    response_body: Option<String>,
    response_body_utf8: Flag,
    response_body_truncated: Flag,
    error_class: Option<String>,
    error: Option<String>,
    dns_ms: Option<f64>,
    connect_ms: Option<f64>,
    tls_ms: Option<f64>,
    first_byte_ms: Option<f64>,
    total_ms: f64,
    started_at: i64,
    next_attempt_at: Option<i64>,
}

/// One attempt's full record.
#[derive(Serialize)]
struct AttemptView {
    attempt: i64,
    method: String,
    /// The URL called, passwords masked.
    url: String,
    /// The IP address and port dialled.
    address: Option<String>,
    request_headers: serde_json::Value,
    response_status: Option<i64>,
    response_headers: serde_json::Value,
    /// The start of the body: text, or base64 when `response_body_utf8` is false.
    response_body: Option<String>,
    response_body_utf8: bool,
    response_body_truncated: bool,
    error_class: Option<String>,
    error: Option<String>,
    timings: serde_json::Value,
    started_at: String,
    next_attempt_at: Option<String>,
}

impl From<AttemptRow> for AttemptView {
    fn from(row: AttemptRow) -> AttemptView {
        AttemptView {
            attempt: row.attempt,
            method: row.method,
            url: row.url,
            address: row.address,
            request_headers: serde_json::from_str(&row.request_headers).unwrap_or_default(),
            response_status: row.response_status,
            response_headers: serde_json::from_str(&row.response_headers).unwrap_or_default(),
            response_body: row.response_body,
            response_body_utf8: row.response_body_utf8.0,
            response_body_truncated: row.response_body_truncated.0,
            error_class: row.error_class,
            error: row.error,
            timings: serde_json::json!({
                "dns_ms": row.dns_ms,
                "connect_ms": row.connect_ms,
                "tls_ms": row.tls_ms,
                "first_byte_ms": row.first_byte_ms,
                "total_ms": row.total_ms,
            }),
            started_at: rfc3339(row.started_at),
            next_attempt_at: row.next_attempt_at.map(rfc3339),
        }
    }
}

async fn fetch(state: &AppState, agent: &Agent, id: i64) -> ApiResult<DeliveryRow> {
    sqlx::query_as::<_, DeliveryRow>(&format!("{SELECT} WHERE id = $1 AND client_id = $2"))
        .bind(id)
        .bind(agent.client_id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::NotFound("delivery"))
}

async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<Json<DeliveryView>> {
    let row = fetch(&state, &agent, id).await?;
    let attempts = sqlx::query_as::<_, AttemptRow>(
        "SELECT attempt, method, url, address, request_headers, response_status, \
         response_headers, response_body, response_body_utf8, response_body_truncated, \
         error_class, error, dns_ms, connect_ms, tls_ms, first_byte_ms, total_ms, started_at, \
         next_attempt_at FROM delivery_attempts WHERE delivery_id = $1 ORDER BY attempt",
    )
    .bind(id)
    .fetch_all(&state.pool)
    .await?;
    let mut view = DeliveryView::from(row);
    view.attempts_log = Some(attempts.into_iter().map(AttemptView::from).collect());
    Ok(Json(view))
}

/// Makes a delivery pending again, due now, with a fresh retry schedule. It keeps its
/// `webhook-id`, so receivers that deduplicate see the same message.
async fn redeliver(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<(StatusCode, Json<DeliveryView>)> {
    let delivery = fetch(&state, &agent, id).await?;
    let enabled: Option<Flag> = sqlx::query_scalar("SELECT enabled FROM hooks WHERE id = $1")
        .bind(delivery.hook_id)
        .fetch_optional(&state.pool)
        .await?;
    match enabled {
        None => {
            return Err(ApiError::Unprocessable(format!(
                "the hook of delivery {id} was deleted, so it cannot be sent again"
            )))
        }
        Some(Flag(false)) => {
            return Err(ApiError::Unprocessable(format!(
                "the hook of delivery {id} is disabled: enable it first"
            )))
        }
        Some(Flag(true)) => {}
    }
    let gate = crate::db::write_gate(&state.pool).await?;
    let updated = sqlx::query(
        "UPDATE deliveries SET status = 'pending', round_attempts = 0, next_attempt_at = $1, \
         completed_at = NULL WHERE id = $2 AND client_id = $3 AND status != 'pending'",
    )
    .bind(now_ms())
    .bind(id)
    .bind(agent.client_id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    drop(gate);
    let row = fetch(&state, &agent, id).await?;
    if updated == 0 {
        return Err(ApiError::Unprocessable(format!(
            "delivery {id} is still pending: it is attempted again on its own"
        )));
    }
    state.wake.notify_one();
    tracing::info!(
        delivery_id = id,
        agent_id = agent.id,
        "delivery redelivered"
    );
    Ok((StatusCode::ACCEPTED, Json(row.into())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeliverInput {
    /// Failed deliveries created at or after this RFC 3339 time are sent again.
    since: String,
}

#[derive(Serialize)]
struct RedeliverView {
    redelivered: u64,
}

/// Makes every failed delivery of a hook since a time pending again.
async fn redeliver_failed(
    State(state): State<AppState>,
    agent: Agent,
    Id(hook_id): Id,
    JsonBody(input): JsonBody<RedeliverInput>,
) -> ApiResult<(StatusCode, Json<RedeliverView>)> {
    let since = parse_time("since", &Some(input.since))?.unwrap_or_default();
    let hook: Option<i64> =
        sqlx::query_scalar("SELECT id FROM hooks WHERE id = $1 AND client_id = $2")
            .bind(hook_id)
            .bind(agent.client_id)
            .fetch_optional(&state.pool)
            .await?;
    hook.ok_or(ApiError::NotFound("hook"))?;
    let gate = crate::db::write_gate(&state.pool).await?;
    let redelivered = sqlx::query(
        "UPDATE deliveries SET status = 'pending', round_attempts = 0, next_attempt_at = $1, \
         completed_at = NULL WHERE hook_id = $2 AND client_id = $3 AND status = 'failed' \
         AND created_at >= $4",
    )
    .bind(now_ms())
    .bind(hook_id)
    .bind(agent.client_id)
    .bind(since)
    .execute(&state.pool)
    .await?
    .rows_affected();
    drop(gate);
    if redelivered > 0 {
        state.wake.notify_one();
    }
    tracing::info!(
        hook_id,
        agent_id = agent.id,
        redelivered,
        "failed deliveries redelivered"
    );
    Ok((StatusCode::ACCEPTED, Json(RedeliverView { redelivered })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatsParams {
    /// Hours back from now, 1 to 720; 24 by default.
    hours: Option<i64>,
    hook_id: Option<i64>,
}

/// Deliveries created in one hour, by outcome.
#[derive(Serialize)]
struct HourView {
    /// Start of the hour.
    hour: String,
    succeeded: i64,
    failed: i64,
    pending: i64,
    /// Mean time of the latest attempts, in milliseconds.
    mean_duration_ms: Option<f64>,
}

/// Counts deliveries per hour by outcome, with their mean call time, for a chart.
async fn stats(
    State(state): State<AppState>,
    agent: Agent,
    QueryParams(params): QueryParams<StatsParams>,
) -> ApiResult<Json<Vec<HourView>>> {
    const HOUR_MS: i64 = 3_600_000;
    let hours = params.hours.unwrap_or(24);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::BadRequest(format!(
            "invalid hours {hours}: use 1 to 720"
        )));
    }
    let first_hour = now_ms() / HOUR_MS - (hours - 1);
    let rows: Vec<(i64, i64, i64, i64, Option<f64>)> = sqlx::query_as(
        "SELECT created_at / 3600000 AS hour, COUNT(CASE WHEN status = 'succeeded' THEN 1 END), \
         COUNT(CASE WHEN status = 'failed' THEN 1 END), \
         COUNT(CASE WHEN status = 'pending' THEN 1 END), \
         CAST(AVG(duration_ms) AS DOUBLE PRECISION) FROM deliveries \
         WHERE client_id = $1 AND created_at >= $2 AND ($3 IS NULL OR hook_id = $3) \
         GROUP BY created_at / 3600000",
    )
    .bind(agent.client_id)
    .bind(first_hour * HOUR_MS)
    .bind(params.hook_id)
    .fetch_all(&state.pool)
    .await?;
    let by_hour: std::collections::HashMap<i64, _> =
        rows.into_iter().map(|row| (row.0, row)).collect();
    let view = (first_hour..first_hour + hours)
        .map(|hour| {
            let (succeeded, failed, pending, mean) = by_hour
                .get(&hour)
                .map_or((0, 0, 0, None), |row| (row.1, row.2, row.3, row.4));
            HourView {
                hour: rfc3339(hour * HOUR_MS),
                succeeded,
                failed,
                pending,
                mean_duration_ms: mean,
            }
        })
        .collect();
    Ok(Json(view))
}
