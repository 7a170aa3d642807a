//! The JSON API under `/api`. One module per resource holds its types, handlers and routes.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::Router;
use callout_template::Catalogue;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::db::Pool;
use crate::dispatch::http::Client;
use crate::error::ApiError;

pub mod calling_lists;
pub mod campaigns;
pub mod deliveries;
pub mod hooks;
pub mod me;
pub mod test_fire;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: Pool,
    /// The deployment's targets, events and tags.
    pub catalogue: Arc<Catalogue>,
    /// Notified after a transaction writes deliveries, to wake the dispatcher.
    pub wake: Arc<Notify>,
    /// The HTTP client of call-outs, also used by test-fire.
    pub client: Client,
}

/// Returns the router of every API route, to be nested under `/api`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(me::router())
        .merge(hooks::router())
        .merge(calling_lists::router())
        .merge(campaigns::router())
        .merge(deliveries::router())
        .merge(test_fire::router())
}

/// A JSON body whose rejection answers in the API's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

/// A query string whose rejection answers in the API's error format.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
}

/// An id in the path. A malformed id answers 404, as an id that does not exist does.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound("object"))?;
        raw.parse().map(Id).map_err(|_| ApiError::NotFound("object"))
    }
}
