//! `/api/agents` and `/api/tokens`: the agents of a client and their API tokens. An admin
//! agent creates agents and manages every token of its client; any agent can list, create and
//! revoke its own tokens.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use crate::api::{check_agent_lengths, check_length, AppState, Id, JsonBody};
use crate::auth::Agent;
use crate::db::{self, Flag, NewAgent};
use crate::error::{ApiError, ApiResult};
use crate::time::{now_ms, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/agents", get(list_agents).post(create_agent))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

#[derive(sqlx::FromRow)]
struct AgentRow {
    id: i64,
    username: String,
    name: Option<String>,
    email: Option<String>,
    lang: Option<String>,
    is_admin: Flag,
    created_at: i64,
}

#[derive(Serialize)]
struct AgentView {
    id: i64,
    username: String,
    name: Option<String>,
    email: Option<String>,
    lang: Option<String>,
    is_admin: bool,
    created_at: String,
    /// The agent's first token, only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

impl From<AgentRow> for AgentView {
    fn from(row: AgentRow) -> AgentView {
        AgentView {
            id: row.id,
            username: row.username,
            name: row.name,
            email: row.email,
            lang: row.lang,
            is_admin: row.is_admin.0,
            created_at: rfc3339(row.created_at),
            token: None,
        }
    }
}

const AGENT_COLUMNS: &str = "id, username, name, email, lang, is_admin, created_at";

/// Lists the client's agents for an admin, or only the agent itself otherwise.
async fn list_agents(
    State(state): State<AppState>,
    agent: Agent,
) -> ApiResult<Json<Vec<AgentView>>> {
    let rows = sqlx::query_as::<_, AgentRow>(&format!(
        "SELECT {AGENT_COLUMNS} FROM agents WHERE client_id = $1 AND ($2 = 1 OR id = $3) ORDER BY id"
    ))
    .bind(agent.client_id)
    .bind(i64::from(agent.is_admin.0))
    .bind(agent.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(rows.into_iter().map(AgentView::from).collect()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentInput {
    username: String,
    name: Option<String>,
    email: Option<String>,
    lang: Option<String>,
    #[serde(default)]
    is_admin: bool,
    /// Values of the deployment's extra agent columns.
    #[serde(default)]
    columns: serde_json::Map<String, serde_json::Value>,
}

async fn create_agent(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<AgentInput>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    agent.require_admin()?;

    let username = input.username.trim();
    if username.is_empty() {
        return Err(ApiError::Unprocessable("the username is empty".to_string()));
    }
    for (column, value) in &input.columns {
        if !state.catalogue.agent_columns().contains(column) {
            return Err(ApiError::Unprocessable(format!(
                "unknown agent column `{column}`"
            )));
        }
        if !value.is_string() {
            return Err(ApiError::Unprocessable(format!(
                "agent column `{column}` must be a string"
            )));
        }
    }

    let new = NewAgent {
        client_id: agent.client_id,
        username: username.to_string(),
        name: input.name,
        email: input.email,
        lang: input.lang,
        columns: input.columns,
        is_admin: input.is_admin,
    };
    check_agent_lengths(&new).map_err(ApiError::Unprocessable)?;
    let token = db::new_token();
    let id = db::create_agent(&state.pool, &new, &token)
        .await
        .map_err(|error| match error {
            sqlx::Error::Database(ref e) if e.is_unique_violation() => {
                ApiError::Unprocessable(format!("username `{username}` is taken: choose another"))
            }
            other => other.into(),
        })?;

    let row =
        sqlx::query_as::<_, AgentRow>(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE id = $1"))
            .bind(id)
            .fetch_one(&state.pool)
            .await?;
    tracing::info!(agent_id = id, created_by = agent.id, "agent created");
    let mut view = AgentView::from(row);
    view.token = Some(token);
    Ok((StatusCode::CREATED, Json(view)))
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    agent_id: i64,
    label: Option<String>,
    created_at: i64,
    revoked_at: Option<i64>,
}

#[derive(Serialize)]
struct TokenView {
    id: i64,
    agent_id: i64,
    label: Option<String>,
    created_at: String,
    revoked_at: Option<String>,
    /// Whether this is the token of the request that listed it.
    current: bool,
    /// The token itself, only in the response that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<String>,
}

fn token_view(row: TokenRow, agent: &Agent) -> TokenView {
    TokenView {
        id: row.id,
        agent_id: row.agent_id,
        label: row.label,
        created_at: rfc3339(row.created_at),
        revoked_at: row.revoked_at.map(rfc3339),
        current: row.id == agent.token_id,
        token: None,
    }
}

const TOKEN_COLUMNS: &str =
    "tokens.id, tokens.agent_id, tokens.label, tokens.created_at, tokens.revoked_at";

/// Lists the tokens an agent may manage: every token of the client for an admin, its own
/// otherwise. The tokens themselves are never shown again.
async fn list_tokens(
    State(state): State<AppState>,
    agent: Agent,
) -> ApiResult<Json<Vec<TokenView>>> {
    let rows = sqlx::query_as::<_, TokenRow>(&format!(
        "SELECT {TOKEN_COLUMNS} FROM tokens JOIN agents ON agents.id = tokens.agent_id \
         WHERE agents.client_id = $1 AND ($2 = 1 OR agents.id = $3) ORDER BY tokens.id"
    ))
    .bind(agent.client_id)
    .bind(i64::from(agent.is_admin.0))
    .bind(agent.id)
    .fetch_all(&state.pool)
    .await?;
    Ok(Json(
        rows.into_iter()
            .map(|row| token_view(row, &agent))
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    /// The agent to give the token to; the caller by default.
    agent_id: Option<i64>,
    label: Option<String>,
}

async fn create_token(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<TokenInput>,
) -> ApiResult<(StatusCode, Json<TokenView>)> {
    check_length("label", input.label.as_deref().unwrap_or_default())
        .map_err(ApiError::Unprocessable)?;
    let owner = input.agent_id.unwrap_or(agent.id);
    if owner != agent.id {
        agent.require_admin()?;
    }
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM agents WHERE id = $1 AND client_id = $2")
            .bind(owner)
            .bind(agent.client_id)
            .fetch_optional(&state.pool)
            .await?;
    exists.ok_or(ApiError::NotFound("agent"))?;

    let token = db::new_token();
    let mut transaction = db::begin_write(&state.pool).await?;
    let id = db::insert_token(&mut transaction, owner, &token, input.label.as_deref()).await?;
    let row =
        sqlx::query_as::<_, TokenRow>(&format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = $1"))
            .bind(id)
            .fetch_one(&mut *transaction)
            .await?;
    transaction.commit().await?;
    tracing::info!(
        token_id = id,
        agent_id = owner,
        created_by = agent.id,
        "token created"
    );
    let mut view = token_view(row, &agent);
    view.token = Some(token);
    Ok((StatusCode::CREATED, Json(view)))
}

/// Revokes a token at once, so requests made with it get 401 from then on.
async fn revoke_token(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<StatusCode> {
    let gate = crate::db::write_gate(&state.pool).await?;
    let revoked = sqlx::query(
        "UPDATE tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL AND agent_id IN \
         (SELECT id FROM agents WHERE client_id = $3 AND ($4 = 1 OR id = $5))",
    )
    .bind(now_ms())
    .bind(id)
    .bind(agent.client_id)
    .bind(i64::from(agent.is_admin.0))
    .bind(agent.id)
    .execute(&state.pool)
    .await?
    .rows_affected();
    drop(gate);
    if revoked == 0 {
        return Err(ApiError::NotFound("token"));
    }
    tracing::info!(token_id = id, revoked_by = agent.id, "token revoked");
    Ok(StatusCode::NO_CONTENT)
}
