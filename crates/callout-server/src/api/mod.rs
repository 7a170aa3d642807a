//! The JSON API under `/api`. One module per resource contains its types, handlers and routes.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Router;
use callout_template::Catalogue;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use crate::auth::FailureLimiter;
use crate::config::Limits;
use crate::db::Pool;
use crate::dispatch::http::Client;
use crate::error::ApiError;
use crate::metrics::Metrics;

pub mod agents;
pub mod calling_lists;
pub mod campaigns;
pub mod deliveries;
pub mod hooks;
pub mod me;
pub mod openapi;
pub mod test_fire;

/// The state every handler can reach.
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
        .merge(openapi::router())
        .layer(DefaultBodyLimit::max(limits.max_json_bytes))
        .merge(calling_lists::router().layer(DefaultBodyLimit::max(limits.max_upload_bytes)))
        .fallback(unknown_path)
        .method_not_allowed_fallback(method_not_allowed)
}

/// Responds 404 in the API's format to a path under `/api` that no route has, rather than
/// letting the admin page's files respond.
async fn unknown_path(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFoundPath(uri.path().to_string())
}

/// Responds 405 in the API's format; axum keeps the `Allow` header.
async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{method} is not allowed on {}", uri.path()))
}

/// Maximum length of a name, email address or label the API stores, in characters.
pub const MAX_NAME_CHARS: usize = 200;

/// Rejects a name, email address or label longer than [`MAX_NAME_CHARS`], with a message that
/// names `field`.
pub fn check_length(field: &str, value: &str) -> Result<(), String> {
    let length = value.chars().count();
    if length > MAX_NAME_CHARS {
        return Err(format!(
            "the {field} is {length} characters long: use at most {MAX_NAME_CHARS}"
        ));
    }
    Ok(())
}

/// Rejects an agent whose username, name, email address or language is longer than
/// [`MAX_NAME_CHARS`], for the API and the command line alike.
pub fn check_agent_lengths(agent: &crate::db::NewAgent) -> Result<(), String> {
    check_length("username", &agent.username)?;
    let texts = [
        ("name", &agent.name),
        ("email", &agent.email),
        ("lang", &agent.lang),
    ];
    for (field, value) in texts {
        check_length(field, value.as_deref().unwrap_or_default())?;
    }
    Ok(())
}

/// A JSON body whose rejection responds in the API's error format.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        // serde's derived structs also accept a JSON array of the fields in order, so
        // `["Spring", null]` would create a campaign: only an object is let through.
        let (parts, body) = request.into_parts();
        let (headers, extensions) = (parts.headers.clone(), parts.extensions.clone());
        let request = Request::from_parts(parts, body);
        let bytes = read_body(request, state, state.limits.max_json_bytes).await?;
        if bytes
            .iter()
            .find(|byte| !byte.is_ascii_whitespace())
            .is_some_and(|&first| first != b'{')
        {
            return Err(ApiError::BadRequest(
                "invalid JSON body: expected a JSON object".to_string(),
            ));
        }
        let mut request = Request::new(axum::body::Body::from(bytes.clone()));
        *request.headers_mut() = headers;
        *request.extensions_mut() = extensions;
        let value = match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_rejection(rejection, state.limits.max_json_bytes)),
        };
        reject_nul(&bytes)?;
        Ok(JsonBody(value))
    }
}

/// Rejects a JSON body with U+0000 in a string, which PostgreSQL's text cannot hold, so it
/// would fail there as a server error. JSON carries it only as the escape `\u0000`; the
/// byte search is a quick filter, and the parse distinguishes an escaped backslash (`\\u0000`).
fn reject_nul(bytes: &[u8]) -> Result<(), ApiError> {
    let maybe_nul = bytes.windows(6).any(|window| window == b"\\u0000");
    if maybe_nul
        && serde_json::from_slice::<serde_json::Value>(bytes)
            .is_ok_and(|parsed| contains_nul(&parsed))
    {
        return Err(ApiError::BadRequest(
            "invalid JSON body: a string contains the NUL character `\\u0000`, which cannot be stored: \
             remove it"
                .to_string(),
        ));
    }
    Ok(())
}

/// Tells whether a string or an object key anywhere in `value` contains U+0000.
fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(fields) => fields
            .iter()
            .any(|(key, field)| key.contains('\0') || contains_nul(field)),
        _ => false,
    }
}

fn json_rejection(rejection: JsonRejection, limit: usize) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::PayloadTooLarge(limit);
    }
    if body_timed_out(&rejection) {
        return ApiError::BodyTimeout;
    }
    ApiError::BadRequest(format!("invalid JSON body: {}", rejection.body_text()))
}

/// Tells whether reading a body failed because the body paused for longer than the server's
/// deadline (`RequestBodyTimeoutLayer` in the HTTP server).
fn body_timed_out(rejection: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(rejection);
    while let Some(error) = cause {
        if error.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = error.source();
    }
    false
}

/// A whole request body, such as a CSV upload, whose rejection responds in the API's format.
pub struct UploadBody(pub Bytes);

impl FromRequest<AppState> for UploadBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let bytes = read_body(request, state, state.limits.max_upload_bytes).await?;
        Ok(UploadBody(bytes))
    }
}

/// Reads a whole request body. `limit` is the body limit the route set, for the message.
async fn read_body(request: Request, state: &AppState, limit: usize) -> Result<Bytes, ApiError> {
    match Bytes::from_request(request, state).await {
        Ok(bytes) => Ok(bytes),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(ApiError::PayloadTooLarge(limit))
        }
        Err(rejection) if body_timed_out(&rejection) => Err(ApiError::BodyTimeout),
        Err(rejection) => Err(ApiError::BadRequest(format!(
            "failed to read the body: {}",
            rejection.body_text()
        ))),
    }
}

/// A query string whose rejection responds in the API's error format.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        // A query can only carry U+0000 as `%00`, which PostgreSQL's text cannot store.
        if parts.uri.query().is_some_and(|query| query.contains("%00")) {
            return Err(ApiError::BadRequest(
                "invalid query string: a value contains the NUL character `%00`, which cannot be stored"
                    .to_string(),
            ));
        }
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::BadRequest(format!("invalid query string: {}", rejection.body_text()))
}

/// An id in the path. A malformed id gets 404, as an id that does not exist does.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| ApiError::NotFound("object"))?;
        raw.parse()
            .map(Id)
            .map_err(|_| ApiError::NotFound("object"))
    }
}
