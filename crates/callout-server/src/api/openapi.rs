//! `GET /api/openapi.json`: the OpenAPI description of the API, served without a token so
//! that clients and API tools can read it before they have one.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::api::AppState;

/// The hand-written description in the crate's root. `tests/openapi.rs` checks that it names
/// every route and that the handlers' responses match it.
pub const DESCRIPTION: &str = include_str!("../../openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/openapi.json", get(description))
}

async fn description() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DESCRIPTION)
}
