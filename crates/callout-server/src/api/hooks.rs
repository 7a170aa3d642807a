//! `/api/hooks`: the call-out URLs of a client, checked by the template engine.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use callout_template::{validate_hook, HookDraft, Warning};
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Id, JsonBody};
use crate::auth::Agent;
use crate::error::{ApiError, ApiResult};
use crate::time::{now_ms, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/{id}", get(read).put(update).delete(remove))
}

#[derive(sqlx::FromRow)]
struct HookRow {
    id: i64,
    url: String,
    target: String,
    event: String,
    enabled: bool,
    created_at: i64,
    updated_at: i64,
}

/// A hook as the API shows it.
#[derive(Serialize)]
pub struct HookView {
    id: i64,
    url: String,
    target: String,
    event: String,
    enabled: bool,
    created_at: String,
    updated_at: String,
    /// Warnings of the template, on create and update only.
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<Warning>>,
}

impl From<HookRow> for HookView {
    fn from(row: HookRow) -> HookView {
        HookView {
            id: row.id,
            url: row.url,
            target: row.target,
            event: row.event,
            enabled: row.enabled,
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            warnings: None,
        }
    }
}

/// A hook as a client sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HookInput {
    url: String,
    target: String,
    event: String,
    #[serde(default = "enabled_by_default")]
    enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

const COLUMNS: &str = "id, url, target, event, enabled, created_at, updated_at";

/// Validates `input` with the engine, answering 422 with every error and warning.
fn check(state: &AppState, input: &HookInput) -> ApiResult<Vec<Warning>> {
    let draft = HookDraft { url: &input.url, target: &input.target, event: &input.event };
    let report = validate_hook(&draft, &state.catalogue);
    if report.is_valid() {
        Ok(report.warnings)
    } else {
        Err(ApiError::HookInvalid { errors: report.errors, warnings: report.warnings })
    }
}

async fn fetch(state: &AppState, agent: &Agent, id: i64) -> ApiResult<HookRow> {
    sqlx::query_as::<_, HookRow>(&format!("SELECT {COLUMNS} FROM hooks WHERE id = ? AND client_id = ?"))
        .bind(id)
        .bind(agent.client_id)
        .fetch_optional(&state.pool)
        .await?
        .ok_or(ApiError::NotFound("hook"))
}

async fn list(State(state): State<AppState>, agent: Agent) -> ApiResult<Json<Vec<HookView>>> {
    let rows = sqlx::query_as::<_, HookRow>(&format!(
        "SELECT {COLUMNS} FROM hooks WHERE client_id = ? ORDER BY id"
    ))
    .bind(agent.client_id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows.into_iter().map(HookView::from).collect()))
}

async fn create(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<HookInput>,
) -> ApiResult<(StatusCode, Json<HookView>)> {
    let warnings = check(&state, &input)?;
    let now = now_ms();
    let row = sqlx::query_as::<_, HookRow>(&format!(
        "INSERT INTO hooks (client_id, url, target, event, enabled, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING {COLUMNS}"
    ))
    .bind(agent.client_id)
    .bind(&input.url)
    .bind(&input.target)
    .bind(&input.event)
    .bind(input.enabled)
    .bind(now)
    .bind(now)
    .fetch_one(&state.pool)
    .await?;
    tracing::info!(hook_id = row.id, client_id = agent.client_id, agent_id = agent.id, "hook created");
    let mut view = HookView::from(row);
    view.warnings = Some(warnings);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn read(State(state): State<AppState>, agent: Agent, Id(id): Id) -> ApiResult<Json<HookView>> {
    Ok(Json(fetch(&state, &agent, id).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
    JsonBody(input): JsonBody<HookInput>,
) -> ApiResult<Json<HookView>> {
    fetch(&state, &agent, id).await?;
    let warnings = check(&state, &input)?;
    let row = sqlx::query_as::<_, HookRow>(&format!(
        "UPDATE hooks SET url = ?, target = ?, event = ?, enabled = ?, updated_at = ? \
         WHERE id = ? AND client_id = ? RETURNING {COLUMNS}"
    ))
    .bind(&input.url)
    .bind(&input.target)
    .bind(&input.event)
    .bind(input.enabled)
    .bind(now_ms())
    .bind(id)
    .bind(agent.client_id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("hook"))?;
    tracing::info!(hook_id = id, agent_id = agent.id, "hook updated");
    let mut view = HookView::from(row);
    view.warnings = Some(warnings);
    Ok(Json(view))
}

async fn remove(State(state): State<AppState>, agent: Agent, Id(id): Id) -> ApiResult<StatusCode> {
    let deleted = sqlx::query("DELETE FROM hooks WHERE id = ? AND client_id = ?")
        .bind(id)
        .bind(agent.client_id)
        .execute(&state.pool)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(ApiError::NotFound("hook"));
    }
    tracing::info!(hook_id = id, agent_id = agent.id, "hook deleted");
    Ok(StatusCode::NO_CONTENT)
}
