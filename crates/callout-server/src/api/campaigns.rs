//! `/api/campaigns`. Creating and deleting a campaign fire `campaigns` hooks.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use callout_template::{Event, Target};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::api::{check_length, AppState, Id, JsonBody};
use crate::auth::Agent;
use crate::error::{ApiError, ApiResult};
use crate::outbox::{enqueue, Change};
use crate::time::{now_ms, rfc3339};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(read).delete(remove))
}

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: i64,
    name: String,
    copy_of: Option<i64>,
    created_at: i64,
}

#[derive(Serialize)]
struct CampaignView {
    id: i64,
    name: String,
    copy_of: Option<i64>,
    created_at: String,
}

impl From<CampaignRow> for CampaignView {
    fn from(row: CampaignRow) -> CampaignView {
        CampaignView {
            id: row.id,
            name: row.name,
            copy_of: row.copy_of,
            created_at: rfc3339(row.created_at),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CampaignInput {
    name: String,
    copy_of: Option<i64>,
}

const SELECT: &str = "SELECT id, name, copy_of, created_at FROM campaigns";

async fn fetch(connection: &mut AnyConnection, agent: &Agent, id: i64) -> ApiResult<CampaignRow> {
    sqlx::query_as::<_, CampaignRow>(&format!("{SELECT} WHERE id = $1 AND client_id = $2"))
        .bind(id)
        .bind(agent.client_id)
        .fetch_optional(connection)
        .await?
        .ok_or(ApiError::NotFound("campaign"))
}

async fn list(State(state): State<AppState>, agent: Agent) -> ApiResult<Json<Vec<CampaignView>>> {
    let rows =
        sqlx::query_as::<_, CampaignRow>(&format!("{SELECT} WHERE client_id = $1 ORDER BY id"))
            .bind(agent.client_id)
            .fetch_all(&state.pool)
            .await?;
    Ok(Json(rows.into_iter().map(CampaignView::from).collect()))
}

async fn read(
    State(state): State<AppState>,
    agent: Agent,
    Id(id): Id,
) -> ApiResult<Json<CampaignView>> {
    let mut connection = state.pool.acquire().await?;
    Ok(Json(fetch(&mut connection, &agent, id).await?.into()))
}

async fn create(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<CampaignInput>,
) -> ApiResult<(StatusCode, Json<CampaignView>)> {
    let name = input.name.trim();
    if name.is_empty() {
        return Err(ApiError::Unprocessable(
            "the campaign name is empty".to_string(),
        ));
    }
    check_length("campaign name", name).map_err(ApiError::Unprocessable)?;

    let mut transaction = crate::db::begin_write(&state.pool).await?;
    if let Some(original) = input.copy_of {
        if fetch(&mut transaction, &agent, original).await.is_err() {
            return Err(ApiError::Unprocessable(format!(
                "`copy_of` names campaign {original}, which does not exist"
            )));
        }
    }
    let row = sqlx::query_as::<_, CampaignRow>(
        "INSERT INTO campaigns (client_id, name, copy_of, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id, name, copy_of, created_at",
    )
    .bind(agent.client_id)
    .bind(name)
    .bind(input.copy_of)
    .bind(agent.id)
    .bind(now_ms())
    .fetch_one(&mut *transaction)
    .await?;

    let mut object_values = vec![("campaign.id", row.id.to_string())];
    if let Some(original) = row.copy_of {
        object_values.push(("campaign.copy_of", original.to_string()));
    }
    let change = Change {
        agent: &agent,
        target: Target::Campaigns,
        event: Event::Create,
        object_id: row.id,
        object_values,
    };
    let fired = enqueue(&mut transaction, &change, state.catalogue.agent_columns()).await?;
    transaction.commit().await?;
    if fired > 0 {
        state.wake.notify_one();
    }
    tracing::info!(
        campaign_id = row.id,
        agent_id = agent.id,
        fired,
        "campaign created"
    );
    Ok((StatusCode::CREATED, Json(row.into())))
}

async fn remove(State(state): State<AppState>, agent: Agent, Id(id): Id) -> ApiResult<StatusCode> {
    let mut transaction = crate::db::begin_write(&state.pool).await?;
    fetch(&mut transaction, &agent, id).await?;
    sqlx::query("DELETE FROM campaigns WHERE id = $1 AND client_id = $2")
        .bind(id)
        .bind(agent.client_id)
        .execute(&mut *transaction)
        .await?;
    let change = Change {
        agent: &agent,
        target: Target::Campaigns,
        event: Event::Delete,
        object_id: id,
        object_values: vec![("campaign.id", id.to_string())],
    };
    let fired = enqueue(&mut transaction, &change, state.catalogue.agent_columns()).await?;
    transaction.commit().await?;
    if fired > 0 {
        state.wake.notify_one();
    }
    tracing::info!(
        campaign_id = id,
        agent_id = agent.id,
        fired,
        "campaign deleted"
    );
    Ok(StatusCode::NO_CONTENT)
}
