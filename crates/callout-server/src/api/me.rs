//! `GET /api/me` and `GET /api/catalogue`.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use callout_template::{Tag, Target};
use serde::Serialize;

use crate::api::AppState;
use crate::auth::Agent;
use crate::error::ApiResult;
use crate::values::agent_values;

pub fn router() -> Router<AppState> {
    Router::new().route("/me", get(me)).route("/catalogue", get(catalogue))
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
    let client = ClientView { id: agent.client_id, name: agent.client_name.clone() };
    Ok(Json(MeView { agent, client, values }))
}

#[derive(Serialize)]
struct TargetView {
    name: &'static str,
    description: &'static str,
    events: Vec<&'static str>,
}

#[derive(Serialize)]
struct CatalogueView {
    targets: Vec<TargetView>,
    tags: Vec<Tag>,
    agent_columns: Vec<String>,
}

async fn catalogue(State(state): State<AppState>, _agent: Agent) -> ApiResult<Json<CatalogueView>> {
    let targets = Target::ALL
        .into_iter()
        .map(|target| TargetView {
            name: target.name(),
            description: target.description(),
            events: target.events().iter().map(|event| event.name()).collect(),
        })
        .collect();
    Ok(Json(CatalogueView {
        targets,
        tags: state.catalogue.tags(),
        agent_columns: state.catalogue.agent_columns().to_vec(),
    }))
}
