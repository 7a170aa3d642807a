//! The API's error type, which becomes the HTTP response.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use callout_template::{Error as TemplateError, Warning};
use serde_json::{json, Value};

/// An error returned by an API call, as the HTTP response. Client errors carry `{code, detail}`
/// and maybe more fields. Server errors return a generic body and are logged once with their
/// cause.
#[derive(Debug)]
pub enum ApiError {
    /// 400: a body or query that cannot be read.
    BadRequest(String),
    /// 401: no token, or a token no agent has.
    Unauthorized,
    /// 403: the agent may not do this.
    Forbidden(String),
    /// 404: no such object for this client.
    NotFound(&'static str),
    /// 404: no route has this path.
    NotFoundPath(String),
    /// 405: the route does not take this method.
    MethodNotAllowed(String),
    /// 408: the request body stopped arriving for longer than the server waits.
    BodyTimeout,
    /// 413: a body over the limit, in bytes.
    PayloadTooLarge(usize),
    /// 422: a limit on the client's data was reached.
    LimitReached(String),
    /// 429: too many failed sign-ins from one address; retry after the seconds given.
    TooManyAttempts(u64),
    /// 422: a hook that does not validate.
    HookInvalid {
        errors: Vec<TemplateError>,
        warnings: Vec<Warning>,
    },
    /// 422: a CSV file that cannot be read, with the line (from 1) where it fails.
    CsvInvalid { line: u64, detail: String },
    /// 422: a request that is well formed but refers to something that cannot be used.
    Unprocessable(String),
    /// 503: the database is busy with another write; try again shortly.
    Busy,
    /// 500: a fault of the server or its database.
    Internal(String),
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String, Value) {
        match self {
            ApiError::BadRequest(detail) => {
                (StatusCode::BAD_REQUEST, "request_invalid", detail.clone(), json!({}))
            }
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "missing or invalid API token: send `Authorization: Bearer TOKEN`".to_string(),
                json!({}),
            ),
            ApiError::NotFound(what) => {
                (StatusCode::NOT_FOUND, "not_found", format!("{what} not found"), json!({}))
            }
            ApiError::Forbidden(detail) => (StatusCode::FORBIDDEN, "forbidden", detail.clone(), json!({})),
            ApiError::NotFoundPath(path) => (
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no API route has the path {path}: see docs/api.md"),
                json!({}),
            ),
            ApiError::MethodNotAllowed(detail) => {
                (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", detail.clone(), json!({}))
            }
            ApiError::BodyTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "body_timeout",
                "the request body stopped arriving before it was complete: send it again without pausing"
                    .to_string(),
                json!({}),
            ),
            ApiError::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is larger than the limit of {limit} bytes: send less, or ask the operator to raise the limit"),
                json!({ "limit": limit }),
            ),
            ApiError::LimitReached(detail) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "limit_reached", detail.clone(), json!({}))
            }
            ApiError::TooManyAttempts(seconds) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many requests with invalid tokens from this address: try again in {seconds} s"),
                json!({ "retry_after": seconds }),
            ),
            ApiError::HookInvalid { errors, warnings } => {
                let detail = match errors.as_slice() {
                    [only] => format!("the hook is invalid: {only}"),
                    _ => format!("the hook is invalid: {} errors", errors.len()),
                };
                let extra = json!({ "errors": errors, "warnings": warnings });
                (StatusCode::UNPROCESSABLE_ENTITY, "hook_invalid", detail, extra)
            }
            ApiError::CsvInvalid { line, detail } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "csv_invalid",
                format!("line {line}: {detail}"),
                json!({ "line": line }),
            ),
            ApiError::Unprocessable(detail) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "request_invalid", detail.clone(), json!({}))
            }
            ApiError::Busy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "the database is busy with another write: try again in a few seconds".to_string(),
                json!({ "retry_after": 5 }),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the server failed to handle the request; the cause is in its log".to_string(),
                json!({}),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "request failed");
        }
        let (status, code, detail, mut body) = self.parts();
        let retry_after = match &self {
            ApiError::TooManyAttempts(seconds) => Some(seconds.to_string()),
            ApiError::Busy => Some("5".to_string()),
            _ => None,
        };
        body["code"] = json!(code);
        body["detail"] = json!(detail);
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after.and_then(|s| axum::http::HeaderValue::from_str(&s).ok())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds);
        }
        response
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> ApiError {
        // SQLite lets one connection write at a time. A writer that waited past the busy
        // timeout, for example behind a long import, gets 503 and may try again.
        let locked = crate::db::is_write_gate_timeout(&error)
            || error
                .as_database_error()
                .is_some_and(|e| e.message().contains("database is locked"));
        if locked {
            tracing::warn!(%error, "database busy");
            return ApiError::Busy;
        }
        ApiError::Internal(format!("database: {error}"))
    }
}

/// The result of a handler.
pub type ApiResult<T> = Result<T, ApiError>;
