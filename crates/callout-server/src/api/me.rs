//! `GET /api/me` and `GET /api/catalogue`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use callout_template::Catalogue;
use serde::Serialize;

use crate::api::AppState;
use crate::auth::Agent;
use crate::error::ApiResult;
use crate::values::agent_values;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/catalogue", get(catalogue))
}

#[derive(Serialize)]
struct ClientView {
    id: i64,
    name: String,
}

#[derive(Serialize)]
struct MeView {
    agent: Agent,
    client: ClientView,
    /// The tag values that hooks fired by this agent are rendered with.
    values: BTreeMap<String, String>,
}

async fn me(State(state): State<AppState>, agent: Agent) -> ApiResult<Json<MeView>> {
    let values = agent_values(&agent, state.catalogue.agent_columns());
    let client = ClientView {
        id: agent.client_id,
        name: agent.client_name.clone(),
    };
    Ok(Json(MeView {
        agent,
        client,
        values,
    }))
}

/// Returns the deployment's targets, events and tags.
async fn catalogue(
    State(state): State<AppState>,
    _agent: Agent,
) -> ApiResult<Json<Arc<Catalogue>>> {
    Ok(Json(state.catalogue.clone()))
}
