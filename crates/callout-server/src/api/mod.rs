//! The JSON API under `/api`. One module per resource holds its types, handlers and routes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::Router;
use callout_template::Catalogue;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::auth::FailureLimiter;
use crate::config::Limits;
use crate::db::Pool;
use crate::dispatch::http::Client;
use crate::metrics::Metrics;
use crate::error::ApiError;

pub mod agents;
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
    /// Limits on input.
    pub limits: Arc<Limits>,
    /// Failed authentications per address.
    pub sign_in_failures: Arc<FailureLimiter>,
    /// Counters for `/metrics`, shared with the dispatcher.
    pub metrics: Arc<Metrics>,
}

/// Returns the router of every API route, to be nested under `/api`.
pub fn router(limits: &Limits) -> Router<AppState> {
    Router::new()
        .merge(me::router())
        .merge(agents::router())
        .merge(hooks::router())
        .merge(campaigns::router())
        .merge(deliveries::router())
        .merge(test_fire::router())
        .layer(DefaultBodyLimit::max(limits.max_json_bytes))
        .merge(calling_lists::router().layer(DefaultBodyLimit::max(limits.max_upload_bytes)))
}

/// A JSON body whose rejection answers in the API's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection, state.limits.max_json_bytes)),
        }
    }
}

fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(limit);
    }
    ApiError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

/// A whole request body, such as a CSV upload, whose rejection answers in the API's format.
pub struct UploadBody(pub Bytes);

impl FromRequest<AppState> for UploadBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        match Bytes::from_request(request, state).await {
            Ok(bytes) => Ok(UploadBody(bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge(state.limits.max_upload_bytes))
            }
            Err(rejection) => Err(ApiError::BadRequest(format!("failed to read the body: {}", rejection.body_text()))),
        }
    }
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
