//! The typed client of Callout's JSON API, as `docs/api.md` describes it.
//!
//! Every call sends the agent's API token as a bearer token. Every failure becomes an
//! [`ApiError`], whose `Display` is a sentence the page shows as it is.

use std::collections::BTreeMap;
use std::fmt;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The agent who signed in, with the tag values its hooks are rendered with.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Me {
    /// The agent.
    pub agent: Agent,
    /// The client the agent works for.
    pub client: Client,
    /// Tag values, such as `agent.id`, for the agent and its client. Undefined tags are absent.
    pub values: BTreeMap<String, String>,
}

/// An agent, a person who signs in with an API token.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Agent {
    /// Agent id.
    pub id: i64,
    /// Sign-in name.
    pub username: String,
    /// Full name.
    pub name: Option<String>,
}

/// The client, a company on whose behalf agents work.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Client {
    /// Client id.
    pub id: i64,
    /// Client name.
    pub name: String,
}

/// The targets and events that hooks can watch, and the deployment's extra agent columns.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Catalogue {
    /// Targets in the server's order.
    pub targets: Vec<TargetInfo>,
    /// Extra agent columns, each of which is an `agent.<column>` tag.
    pub agent_columns: Vec<String>,
}

impl Catalogue {
    /// Returns the events of the target called `target`, or none for an unknown target.
    pub fn events_of(&self, target: &str) -> Vec<String> {
        self.targets
            .iter()
            .find(|info| info.name == target)
            .map(|info| info.events.clone())
            .unwrap_or_default()
    }
}

/// A target with its events.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TargetInfo {
    /// Name used in hooks, such as `callinglist`.
    pub name: String,
    /// A sentence for people choosing a target.
    pub description: String,
    /// Event names, such as `import`.
    pub events: Vec<String>,
}

/// A stored hook.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Hook {
    /// Hook id.
    pub id: i64,
    /// URL template.
    pub url: String,
    /// Target name.
    pub target: String,
    /// Event name.
    pub event: String,
    /// HTTP method of the call-outs: `GET`, or `POST` with a JSON description of the event.
    #[serde(default = "default_method")]
    pub method: String,
    /// Whether the hook fires.
    pub enabled: bool,
    /// The reason Callout disabled the hook, such as a receiver that responded 410 Gone.
    #[serde(default)]
    pub disabled_reason: Option<String>,
}

/// Returns the method of hooks that do not name one.
pub fn default_method() -> String {
    "GET".to_string()
}

/// A hook as the page sends it, to create or replace one.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HookInput {
    /// URL template.
    pub url: String,
    /// Target name.
    pub target: String,
    /// Event name.
    pub event: String,
    /// HTTP method, `GET` or `POST`. The server takes a missing method as `GET`, so the page
    /// always sends it to keep a `POST` hook's method when it changes something else.
    pub method: String,
    /// Whether the hook fires.
    pub enabled: bool,
}

impl From<&Hook> for HookInput {
    fn from(hook: &Hook) -> HookInput {
        HookInput {
            url: hook.url.clone(),
            target: hook.target.clone(),
            event: hook.event.clone(),
            method: hook.method.clone(),
            enabled: hook.enabled,
        }
    }
}

/// A hook just saved, with the warnings of its template.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SavedHook {
    /// The hook as stored.
    #[serde(flatten)]
    pub hook: Hook,
    /// Valid but risky parts of the template.
    #[serde(default)]
    pub warnings: Vec<Problem>,
}

/// An error or a warning about a hook, with its place in the field it points into.
///
/// The server sends these in its 422 responses. The page builds the same from the engine's own
/// errors and warnings, so both are shown alike.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Problem {
    /// The kind, such as `TagUnknown`.
    pub kind: String,
    /// A lowercase sentence for a person.
    pub message: String,
    /// The field: `url`, `target` or `event`. Warnings always point into the URL.
    #[serde(default = "url_field")]
    pub field: String,
    /// Byte offset where the span starts.
    pub start: usize,
    /// Byte offset where the span ends.
    pub end: usize,
    /// Line of the start, from 1.
    pub line: usize,
    /// Column of the start, from 1.
    pub column: usize,
    /// Text to put in place of the span, on warnings whose fix is known.
    #[serde(default)]
    pub replacement: Option<String>,
}

fn url_field() -> String {
    "url".to_string()
}

/// The status of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not yet succeeded, with attempts left.
    Pending,
    /// The receiver responded with a 2xx status.
    Succeeded,
    /// Every attempt failed.
    Failed,
}

impl DeliveryStatus {
    /// Returns the name the API uses.
    pub fn name(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }
}

/// One call-out of one hook for one event. The fields about the response describe the
/// latest attempt and are `None` before the first.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Delivery {
    /// Delivery id.
    pub id: i64,
    /// The hook that fired.
    pub hook_id: i64,
    /// Target name.
    pub target: String,
    /// Event name.
    pub event: String,
    /// Whether the call-out is done, and how it ended.
    pub status: DeliveryStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// The URL requested.
    pub url: Option<String>,
    /// The receiver's HTTP status.
    pub response_status: Option<i64>,
    /// Time from sending to the end of the response, in milliseconds.
    pub duration_ms: Option<i64>,
    /// The class of the latest failure, such as `timeout` or `status`.
    #[serde(default)]
    pub error_class: Option<String>,
    /// The reason the latest attempt failed, when it did.
    pub error: Option<String>,
    /// When the event happened, RFC 3339 in UTC.
    pub created_at: String,
}

/// The error body the server sends with every failed call.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    detail: String,
    #[serde(default)]
    errors: Vec<Problem>,
    #[serde(default)]
    warnings: Vec<Problem>,
}

/// A failed call.
#[derive(Clone, Debug, PartialEq)]
pub enum ApiError {
    /// The server returned 401 because the token is missing or no agent has it.
    Unauthorized,
    /// The server rejected a hook (422 `hook_invalid`) with these errors and warnings.
    HookInvalid {
        /// The errors that stop the hook being saved.
        errors: Vec<Problem>,
        /// Risky parts, which alone would not stop it.
        warnings: Vec<Problem>,
    },
    /// Any other error status, with the server's code and detail.
    Status {
        /// HTTP status.
        status: u16,
        /// The `code` of the error body, or empty when the body had none.
        code: String,
        /// The `detail` of the error body, or the body's text.
        detail: String,
    },
    /// The request did not reach the server, or its response did not arrive.
    Network(String),
    /// The response was not the JSON the page expects.
    Decode(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Unauthorized => f.write_str(
                "The server rejected the API token. Check the token, then sign in again.",
            ),
            ApiError::HookInvalid { errors, .. } => {
                write!(
                    f,
                    "The server rejected the hook: it has {} error(s), listed below.",
                    errors.len()
                )
            }
            ApiError::Status {
                status,
                code,
                detail,
            } if code.is_empty() => {
                write!(f, "The server returned {status}: {detail}")
            }
            ApiError::Status {
                status,
                code,
                detail,
            } => {
                write!(f, "The server returned {status} ({code}): {detail}")
            }
            ApiError::Network(cause) => write!(
                f,
                "The request to the Callout server failed ({cause}). Check that the server is \
                 running, then try again."
            ),
            ApiError::Decode(cause) => write!(
                f,
                "The server's response could not be read ({cause}). The page and the server may \
                 be of different versions: reload the page."
            ),
        }
    }
}

/// A client of the API that signs every call with one agent's token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Api {
    token: String,
}

impl Api {
    /// Creates a client that sends `token`.
    pub fn new(token: impl Into<String>) -> Api {
        Api {
            token: token.into(),
        }
    }

    /// Fetches the signed-in agent and its tag values.
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.json(Request::get("/api/me")).await
    }

    /// Fetches the targets, events and agent columns of the deployment.
    pub async fn catalogue(&self) -> Result<Catalogue, ApiError> {
        self.json(Request::get("/api/catalogue")).await
    }

    /// Fetches the client's hooks, oldest first.
    pub async fn hooks(&self) -> Result<Vec<Hook>, ApiError> {
        self.json(Request::get("/api/hooks")).await
    }

    /// Creates a hook.
    pub async fn create_hook(&self, input: &HookInput) -> Result<SavedHook, ApiError> {
        let request = self
            .sign(Request::post("/api/hooks"))
            .json(input)
            .map_err(encode_error)?;
        decode(send(request).await?).await
    }

    /// Replaces the hook `id` with `input`.
    pub async fn update_hook(&self, id: i64, input: &HookInput) -> Result<SavedHook, ApiError> {
        let path = format!("/api/hooks/{id}");
        let request = self
            .sign(Request::put(&path))
            .json(input)
            .map_err(encode_error)?;
        decode(send(request).await?).await
    }

    /// Deletes the hook `id`.
    pub async fn delete_hook(&self, id: i64) -> Result<(), ApiError> {
        let path = format!("/api/hooks/{id}");
        let request = self
            .sign(Request::delete(&path))
            .build()
            .map_err(encode_error)?;
        send(request).await.map(|_| ())
    }

    /// Fetches deliveries, newest first, of one hook or of all.
    pub async fn deliveries(&self, hook_id: Option<i64>) -> Result<Vec<Delivery>, ApiError> {
        let path = match hook_id {
            Some(id) => format!("/api/deliveries?hook_id={id}"),
            None => "/api/deliveries".to_string(),
        };
        self.json(Request::get(&path)).await
    }

    fn sign(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.header("Authorization", &format!("Bearer {}", self.token))
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ApiError> {
        let request = self.sign(builder).build().map_err(encode_error)?;
        decode(send(request).await?).await
    }
}

fn encode_error(error: gloo_net::Error) -> ApiError {
    ApiError::Network(error.to_string())
}

/// Sends `request` and turns an error status into an [`ApiError`].
async fn send(request: Request) -> Result<Response, ApiError> {
    let response = request
        .send()
        .await
        .map_err(|error| ApiError::Network(error.to_string()))?;
    if response.ok() {
        return Ok(response);
    }

    let status = response.status();
    if status == 401 {
        return Err(ApiError::Unauthorized);
    }
    let text = response.text().await.unwrap_or_default();
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(body) if body.code == "hook_invalid" => Err(ApiError::HookInvalid {
            errors: body.errors,
            warnings: body.warnings,
        }),
        Ok(body) => Err(ApiError::Status {
            status,
            code: body.code,
            detail: body.detail,
        }),
        Err(_) => {
            let detail = if text.trim().is_empty() {
                response.status_text()
            } else {
                text
            };
            Err(ApiError::Status {
                status,
                code: String::new(),
                detail,
            })
        }
    }
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response
        .json()
        .await
        .map_err(|error| ApiError::Decode(error.to_string()))
}
