//! `/api/hooks`: the call-out URLs of a client, checked by the template engine.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use callout_template::{validate_hook, HookDraft, Warning};
use serde::{Deserialize, Serialize};

use crate::api::{AppState, Id, JsonBody};
use crate::auth::Agent;
use crate::db::Flag;
use crate::dispatch::signing::new_secret;
use crate::error::{ApiError, ApiResult};
use crate::time::{now_ms, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/{id}", get(read).put(update).delete(remove))
        .route("/hooks/{id}/secret", post(rotate_secret))
}

#[derive(sqlx::FromRow)]
struct HookRow {
    id: i64,
    url: String,
    target: String,
    event: String,
    method: String,
    enabled: Flag,
    disabled_reason: Option<String>,
    signed: Flag,
    failing_since: Option<i64>,
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
    method: String,
    enabled: bool,
    /// The reason Callout disabled the hook, if it did.
    disabled_reason: Option<String>,
    /// Whether call-outs carry a `webhook-signature`.
    signed: bool,
    /// Start of the current run of failed call-outs.
    failing_since: Option<String>,
    created_at: String,
    updated_at: String,
    /// Warnings of the template, on create and update only.
    #[serde(skip_serializing_if = "Option::is_none")]
    warnings: Option<Vec<Warning>>,
    /// The signing secret, only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// The latest delivery and the outcomes of the last 7 days, in the list only.
    #[serde(skip_serializing_if = "Option::is_none")]
    activity: Option<Activity>,
}

/// Recent deliveries of a hook.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Activity {
    /// Status of the latest delivery.
    last_status: Option<String>,
    /// When the latest delivery ended, or was created if it is pending.
    last_at: Option<String>,
    /// Deliveries of the last 7 days that succeeded.
    succeeded: i64,
    /// Deliveries of the last 7 days that failed for good.
    failed: i64,
    /// `succeeded / (succeeded + failed)`, or null when none has ended.
    success_rate: Option<f64>,
}

/// The period of the success rate.
const ACTIVITY_PERIOD_MS: i64 = 7 * 86400 * 1000;

impl From<HookRow> for HookView {
    fn from(row: HookRow) -> HookView {
        HookView {
            id: row.id,
            url: row.url,
            target: row.target,
            event: row.event,
            method: row.method,
            enabled: row.enabled.0,
            disabled_reason: row.disabled_reason,
            signed: row.signed.0,
            failing_since: row.failing_since.map(rfc3339),
            created_at: rfc3339(row.created_at),
            updated_at: rfc3339(row.updated_at),
            warnings: None,
            secret: None,
            activity: None,
        }
    }
}

/// A hook as a client sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HookInput {
    pub(crate) url: String,
    pub(crate) target: String,
    pub(crate) event: String,
    #[serde(default = "default_method")]
    pub(crate) method: String,
    /// Whether the hook fires; true on create and unchanged on update when left out.
    pub(crate) enabled: Option<bool>,
    /// Whether call-outs are signed: true gives an unsigned hook a secret, shown once; false
    /// removes the secrets. Unchanged on update when left out.
    pub(crate) signed: Option<bool>,
}

fn default_method() -> String {
    "GET".to_string()
}

const COLUMNS: &str = "id, url, target, event, method, enabled, disabled_reason, \
    CASE WHEN secret IS NULL THEN 0 ELSE 1 END AS signed, failing_since, created_at, updated_at";

/// Validates `input` with the engine, responding 422 with every error and warning.
pub(crate) fn check(state: &AppState, input: &HookInput) -> ApiResult<Vec<Warning>> {
    let limit = state.limits.max_template_bytes;
    if input.url.len() > limit {
        return Err(ApiError::LimitReached(format!(
            "the URL is {} bytes long, over the limit of {limit} bytes",
            input.url.len()
        )));
    }
    if input.method != "GET" && input.method != "POST" {
        return Err(ApiError::Unprocessable(format!(
            "invalid method `{}`: use GET or POST",
            input.method
        )));
    }
    let draft = HookDraft {
        url: &input.url,
        target: &input.target,
        event: &input.event,
    };
    let report = validate_hook(&draft, &state.catalogue);
    if report.is_valid() {
        Ok(report.warnings)
    } else {
        Err(ApiError::HookInvalid {
            errors: report.errors,
            warnings: report.warnings,
        })
    }
}

async fn fetch(state: &AppState, agent: &Agent, id: i64) -> ApiResult<HookRow> {
    sqlx::query_as::<_, HookRow>(&format!(
        "SELECT {COLUMNS} FROM hooks WHERE id = $1 AND client_id = $2"
    ))
    .bind(id)
    .bind(agent.client_id)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("hook"))
}

async fn list(State(state): State<AppState>, agent: Agent) -> ApiResult<Json<Vec<HookView>>> {
    let rows = sqlx::query_as::<_, HookRow>(&format!(
        "SELECT {COLUMNS} FROM hooks WHERE client_id = $1 ORDER BY id"
    ))
    .bind(agent.client_id)
    .fetch_all(&state.pool)
    .await?;

    let counts: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT hook_id, COUNT(CASE WHEN status = 'succeeded' THEN 1 END), \
         COUNT(CASE WHEN status = 'failed' THEN 1 END) FROM deliveries \
         WHERE client_id = $1 AND created_at >= $2 GROUP BY hook_id",
    )
    .bind(agent.client_id)
    .bind(now_ms() - ACTIVITY_PERIOD_MS)
    .fetch_all(&state.pool)
    .await?;
    let latest: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT d.hook_id, d.status, COALESCE(d.completed_at, d.created_at) FROM deliveries d \
         JOIN (SELECT MAX(id) AS id FROM deliveries WHERE client_id = $1 GROUP BY hook_id) l \
         ON l.id = d.id",
    )
    .bind(agent.client_id)
    .fetch_all(&state.pool)
    .await?;

    let mut activity: HashMap<i64, Activity> = HashMap::new();
    for (hook_id, succeeded, failed) in counts {
        let entry = activity.entry(hook_id).or_default();
        entry.succeeded = succeeded;
        entry.failed = failed;
        let ended = succeeded + failed;
        entry.success_rate = (ended > 0).then(|| succeeded as f64 / ended as f64);
    }
    for (hook_id, status, at) in latest {
        let entry = activity.entry(hook_id).or_default();
        entry.last_status = Some(status);
        entry.last_at = Some(rfc3339(at));
    }

    let views = rows
        .into_iter()
        .map(|row| {
            let id = row.id;
            let mut view = HookView::from(row);
            view.activity = Some(activity.remove(&id).unwrap_or_default());
            view
        })
        .collect();
    Ok(Json(views))
}

async fn create(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<HookInput>,
) -> ApiResult<(StatusCode, Json<HookView>)> {
    let warnings = check(&state, &input)?;

    // The count and the insert share a transaction under a lock, so requests at the same
    // moment cannot pass the limit together.
    let mut transaction = crate::db::begin_write(&state.pool).await?;
    if crate::db::backend(&state.pool) == crate::db::Backend::Postgres {
        sqlx::query("SELECT id FROM clients WHERE id = $1 FOR UPDATE")
            .bind(agent.client_id)
            .execute(&mut *transaction)
            .await?;
    }

    let hooks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM hooks WHERE client_id = $1")
        .bind(agent.client_id)
        .fetch_one(&mut *transaction)
        .await?;
    let limit = state.limits.max_hooks_per_client;
    if hooks >= limit {
        return Err(ApiError::LimitReached(format!(
            "this client has {hooks} hooks, and the maximum is {limit}: delete one first"
        )));
    }

    let now = now_ms();
    let secret = input.signed.unwrap_or(false).then(new_secret);
    let row = sqlx::query_as::<_, HookRow>(&format!(
        "INSERT INTO hooks (client_id, url, target, event, method, enabled, secret, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(agent.client_id)
    .bind(&input.url)
    .bind(&input.target)
    .bind(&input.event)
    .bind(&input.method)
    .bind(i64::from(input.enabled.unwrap_or(true)))
    .bind(&secret)
    .bind(now)
    .bind(now)
    .fetch_one(&mut *transaction)
    .await?;
    transaction.commit().await?;

    tracing::info!(
        hook_id = row.id,
        client_id = agent.client_id,
        agent_id = agent.id,
        "hook created"
    );
    let mut view = HookView::from(row);
    view.warnings = Some(warnings);
    view.secret = secret;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<Json<HookView>> {
    Ok(Json(fetch(&state, &agent, id).await?.into()))
}

async fn update(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
    JsonBody(input): JsonBody<HookInput>,
) -> ApiResult<Json<HookView>> {
    let current = fetch(&state, &agent, id).await?;
    let warnings = check(&state, &input)?;
    let enabled = input.enabled.unwrap_or(current.enabled.0);
    // A new secret only when an unsigned hook becomes signed; false removes every secret.
    let (secret_change, new_secret_value): (i64, Option<String>) = match input.signed {
        Some(true) if !current.signed.0 => (1, Some(new_secret())),
        Some(false) => (2, None),
        _ => (0, None),
    };

    // Enabling a hook again starts its record of failures afresh.
    let gate = crate::db::write_gate(&state.pool).await?;
    let row = sqlx::query_as::<_, HookRow>(&format!(
        "UPDATE hooks SET url = $1, target = $2, event = $3, method = $4, \
         disabled_reason = CASE WHEN $5 = 1 THEN NULL ELSE disabled_reason END, \
         failing_since = CASE WHEN $5 = 1 AND enabled = 0 THEN NULL ELSE failing_since END, \
         enabled = $5, updated_at = $6, \
         secret = CASE WHEN $9 = 1 THEN $10 WHEN $9 = 2 THEN NULL ELSE secret END, \
         previous_secret = CASE WHEN $9 = 2 THEN NULL ELSE previous_secret END, \
         previous_secret_until = CASE WHEN $9 = 2 THEN NULL ELSE previous_secret_until END \
         WHERE id = $7 AND client_id = $8 RETURNING {COLUMNS}"
    ))
    .bind(&input.url)
    .bind(&input.target)
    .bind(&input.event)
    .bind(&input.method)
    .bind(i64::from(enabled))
    .bind(now_ms())
    .bind(id)
    .bind(agent.client_id)
    .bind(secret_change)
    .bind(&new_secret_value)
    .fetch_optional(&state.pool)
    .await?
    .ok_or(ApiError::NotFound("hook"))?;
    drop(gate);
    tracing::info!(hook_id = id, agent_id = agent.id, "hook updated");
    let mut view = HookView::from(row);
    view.warnings = Some(warnings);
    view.secret = new_secret_value;
    Ok(Json(view))
}

async fn remove(State(state): State<AppState>, agent: Agent, Id(id): Id) -> ApiResult<StatusCode> {
    let gate = crate::db::write_gate(&state.pool).await?;
    let deleted = sqlx::query("DELETE FROM hooks WHERE id = $1 AND client_id = $2")
        .bind(id)
        .bind(agent.client_id)
        .execute(&state.pool)
        .await?
        .rows_affected();
    drop(gate);
    if deleted == 0 {
        return Err(ApiError::NotFound("hook"));
    }
    tracing::info!(hook_id = id, agent_id = agent.id, "hook deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// How long a replaced secret stays valid, so receivers can switch without losing call-outs.
const PREVIOUS_SECRET_VALIDITY_MS: i64 = 24 * 3600 * 1000;

#[derive(Serialize)]
struct SecretView {
    /// The new secret, shown only in this response.
    secret: String,
    /// Until when call-outs are also signed with the secret it replaced, if there was one.
    previous_valid_until: Option<String>,
}

/// Gives the hook a new signing secret. The old one keeps signing call-outs, beside the new
/// one, for 24 hours.
async fn rotate_secret(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<Json<SecretView>> {
    let secret = new_secret();
    let until = now_ms() + PREVIOUS_SECRET_VALIDITY_MS;
    let gate = crate::db::write_gate(&state.pool).await?;
    let previous: Option<Option<String>> = sqlx::query_scalar(
        "UPDATE hooks SET previous_secret = secret, \
         previous_secret_until = CASE WHEN secret IS NULL THEN NULL ELSE $1 END, \
         secret = $2, updated_at = $3 WHERE id = $4 AND client_id = $5 RETURNING previous_secret",
    )
    .bind(until)
    .bind(&secret)
    .bind(now_ms())
    .bind(id)
    .bind(agent.client_id)
    .fetch_optional(&state.pool)
    .await?;
    drop(gate);
    let previous = previous.ok_or(ApiError::NotFound("hook"))?;
    tracing::info!(hook_id = id, agent_id = agent.id, "signing secret rotated");
    Ok(Json(SecretView {
        secret,
        previous_valid_until: previous.map(|_| rfc3339(until)),
    }))
}
