//! The typed client of Callout's JSON API, as `docs/api.md` describes it.
//!
//! Every call sends the agent's API token as a bearer token. Every failure becomes an
//! [`ApiError`], whose `Display` is a sentence the page shows as it is. A 401 also calls the
//! handler set with [`on_unauthorized`], so that a token rejected at any time ends the session.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

thread_local! {
    static UNAUTHORIZED_HANDLER: RefCell<Option<Rc<dyn Fn()>>> = RefCell::new(None);
}

/// Sets the function called whenever the server rejects the token with 401.
pub fn on_unauthorized(handler: impl Fn() + 'static) {
    UNAUTHORIZED_HANDLER.with(|slot| *slot.borrow_mut() = Some(Rc::new(handler)));
}

/// Calls the handler set with [`on_unauthorized`], if any.
pub fn report_unauthorized() {
    let handler = UNAUTHORIZED_HANDLER.with(|slot| slot.borrow().clone());
    if let Some(handler) = handler {
        handler();
    }
}

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
    /// Whether call-outs carry a `webhook-signature` header.
    #[serde(default)]
    pub signed: bool,
    /// The latest delivery and the outcomes of the last 7 days, in the list only.
    #[serde(default)]
    pub activity: Option<Activity>,
}

/// Recent deliveries of a hook.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Activity {
    /// Status of the latest delivery.
    pub last_status: Option<String>,
    /// When the latest delivery ended, or was created when it is still pending.
    pub last_at: Option<String>,
    /// Deliveries of the last 7 days that succeeded.
    pub succeeded: i64,
    /// Deliveries of the last 7 days that failed for good.
    pub failed: i64,
    /// `succeeded / (succeeded + failed)`, or `None` while no delivery has ended.
    pub success_rate: Option<f64>,
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
    /// On create only: whether the server generates a signing secret. `PUT` rejects the field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed: Option<bool>,
}

impl From<&Hook> for HookInput {
    fn from(hook: &Hook) -> HookInput {
        HookInput {
            url: hook.url.clone(),
            target: hook.target.clone(),
            event: hook.event.clone(),
            method: hook.method.clone(),
            enabled: hook.enabled,
            signed: None,
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
    /// The signing secret of a hook just created as signed. The server shows it only once.
    #[serde(default)]
    pub secret: Option<String>,
}

/// A new signing secret of a hook.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SecretRotation {
    /// The secret, shown only in this response.
    pub secret: String,
    /// Until when call-outs are also signed with the secret it replaced, if there was one.
    pub previous_valid_until: Option<String>,
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

/// A draft or saved hook to call once, through `POST /api/hooks/test`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TestFire {
    /// A saved hook whose secret signs the call; the other fields replace its own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hook_id: Option<i64>,
    /// URL template.
    pub url: String,
    /// Target name.
    pub target: String,
    /// Event name.
    pub event: String,
    /// `GET` or `POST`.
    pub method: String,
    /// Tag values to render with. `None` makes a tag undefined.
    pub values: BTreeMap<String, Option<String>>,
}

/// Time spent in each step of an attempt, in milliseconds.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Timings {
    /// Resolving the host; none for an IP address.
    pub dns_ms: Option<f64>,
    /// Until the TCP connection was open.
    pub connect_ms: Option<f64>,
    /// Until the TLS handshake was done, for https.
    pub tls_ms: Option<f64>,
    /// Until the status line and headers arrived.
    pub first_byte_ms: Option<f64>,
    /// The whole exchange.
    pub total_ms: f64,
}

/// The full record of one attempt of a call-out.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Attempt {
    /// The attempt's number, from 1. A test-fire has none.
    #[serde(default)]
    pub attempt: Option<i64>,
    /// HTTP method.
    pub method: String,
    /// The URL called, passwords masked.
    pub url: String,
    /// The IP address and port dialled, when a connection was tried.
    #[serde(default)]
    pub address: Option<String>,
    /// The headers sent, secrets masked.
    #[serde(default)]
    pub request_headers: Vec<(String, String)>,
    /// The receiver's HTTP status.
    pub response_status: Option<i64>,
    /// The response headers.
    #[serde(default)]
    pub response_headers: Vec<(String, String)>,
    /// The start of the body: text, or base64 when `response_body_utf8` is false.
    #[serde(default)]
    pub response_body: Option<String>,
    /// Whether `response_body` is text.
    #[serde(default = "utf8_by_default")]
    pub response_body_utf8: bool,
    /// Whether the body went on past what was kept.
    #[serde(default)]
    pub response_body_truncated: bool,
    /// The class of failure, such as `timeout` or `address_refused`.
    pub error_class: Option<String>,
    /// The reason the attempt failed, if it did.
    pub error: Option<String>,
    /// Time spent in each step.
    pub timings: Timings,
    /// When the attempt started, in the attempt log.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When the next attempt is due, after a failure that is retried.
    #[serde(default)]
    pub next_attempt_at: Option<String>,
}

fn utf8_by_default() -> bool {
    true
}

/// The response to a test-fire: the attempt, the values used and whether it succeeded.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct TestFireResult {
    /// The attempt's full record.
    #[serde(flatten)]
    pub attempt: Attempt,
    /// The values the URL was rendered with.
    pub values: BTreeMap<String, String>,
    /// Whether the receiver responded with a 2xx status.
    pub succeeded: bool,
}

/// The status of a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
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
    /// The id of the object the event is about, such as the calling list.
    #[serde(default)]
    pub object_id: Option<i64>,
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
    /// When the delivery ended, if it has.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// When the next attempt is due, for a pending delivery.
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    /// The `webhook-id` header of every attempt.
    #[serde(default)]
    pub message_id: Option<String>,
    /// Every attempt, in the response for one delivery only.
    #[serde(default)]
    pub attempts_log: Option<Vec<Attempt>>,
}

/// The filters of the deliveries list. Empty fields do not filter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct DeliveryFilter {
    /// Only this hook's deliveries.
    pub hook_id: Option<i64>,
    /// Only deliveries with this status.
    pub status: Option<String>,
    /// Only deliveries of this target.
    pub target: Option<String>,
    /// Only deliveries of this event.
    pub event: Option<String>,
    /// Only deliveries created at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only deliveries created before this RFC 3339 time.
    pub until: Option<String>,
}

impl DeliveryFilter {
    /// Returns the query string, with a leading `?` unless it is empty.
    pub fn query(&self) -> String {
        let hook_id = self.hook_id.map(|id| id.to_string());
        let pairs = [
            ("hook_id", hook_id.as_ref()),
            ("status", self.status.as_ref()),
            ("target", self.target.as_ref()),
            ("event", self.event.as_ref()),
            ("since", self.since.as_ref()),
            ("until", self.until.as_ref()),
        ];
        let encoded: Vec<String> = pairs
            .into_iter()
            .filter_map(|(name, value)| value.map(|value| format!("{name}={}", encode(value))))
            .collect();
        if encoded.is_empty() {
            String::new()
        } else {
            format!("?{}", encoded.join("&"))
        }
    }
}

/// Deliveries created in one hour, by outcome.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct HourStats {
    /// Start of the hour, RFC 3339 in UTC.
    pub hour: String,
    /// Deliveries that succeeded.
    pub succeeded: i64,
    /// Deliveries that failed for good.
    pub failed: i64,
    /// Deliveries still pending.
    pub pending: i64,
    /// Mean time of their latest attempts, in milliseconds.
    pub mean_duration_ms: Option<f64>,
}

/// A calling list: contacts that dialers work through.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct CallingList {
    /// List id.
    pub id: i64,
    /// List name.
    pub name: String,
    /// The header row of the file it was imported from.
    pub columns: Vec<String>,
    /// Number of contacts.
    pub contacts: i64,
    /// When it was imported, RFC 3339 in UTC.
    pub created_at: String,
    /// Rows taken from the file just sent, on import and add only.
    #[serde(default)]
    pub added: Option<i64>,
}

/// A campaign.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Campaign {
    /// Campaign id.
    pub id: i64,
    /// Campaign name.
    pub name: String,
    /// The campaign this one was copied from, if any.
    pub copy_of: Option<i64>,
    /// When it was created, RFC 3339 in UTC.
    pub created_at: String,
}

#[derive(Serialize)]
struct NewCampaign<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    copy_of: Option<i64>,
}

/// The error body the server sends with every failed call.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub(crate) code: String,
    pub(crate) detail: String,
    #[serde(default)]
    pub(crate) errors: Vec<Problem>,
    #[serde(default)]
    pub(crate) warnings: Vec<Problem>,
    #[serde(default)]
    pub(crate) line: Option<u64>,
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
    /// The server rejected a CSV file (422 `csv_invalid`) at this line.
    CsvInvalid {
        /// The line of the file, from 1.
        line: u64,
        /// The reason the server gives.
        detail: String,
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

impl ApiError {
    /// Builds the error for a status that is not a success, from the response body's text.
    pub(crate) fn from_status(status: u16, text: &str, status_text: String) -> ApiError {
        if status == 401 {
            return ApiError::Unauthorized;
        }
        match serde_json::from_str::<ErrorBody>(text) {
            Ok(body) if body.code == "hook_invalid" => ApiError::HookInvalid {
                errors: body.errors,
                warnings: body.warnings,
            },
            Ok(ErrorBody {
                code,
                detail,
                line: Some(line),
                ..
            }) if code == "csv_invalid" => ApiError::CsvInvalid { line, detail },
            Ok(body) => ApiError::Status {
                status,
                code: body.code,
                detail: body.detail,
            },
            Err(_) => {
                let detail = if text.trim().is_empty() {
                    status_text
                } else {
                    text.to_string()
                };
                ApiError::Status {
                    status,
                    code: String::new(),
                    detail,
                }
            }
        }
    }
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
            ApiError::CsvInvalid { line, detail } => write!(
                f,
                "The server rejected the file at line {line}: {detail}. Nothing of it was \
                 stored; fix the line and send the file again."
            ),
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

/// Percent-encodes `value` for a query string or a path segment.
pub fn encode(value: &str) -> String {
    String::from(js_sys::encode_uri_component(value))
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

    /// Returns the `Authorization` header value of every call.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.token)
    }

    /// Fetches the signed-in agent and its tag values.
    pub async fn me(&self) -> Result<Me, ApiError> {
        self.json(Request::get("/api/me")).await
    }

    /// Fetches the targets, events and agent columns of the deployment.
    pub async fn catalogue(&self) -> Result<Catalogue, ApiError> {
        self.json(Request::get("/api/catalogue")).await
    }

    /// Fetches the client's hooks, oldest first, with their recent activity.
    pub async fn hooks(&self) -> Result<Vec<Hook>, ApiError> {
        self.json(Request::get("/api/hooks")).await
    }

    /// Creates a hook.
    pub async fn create_hook(&self, input: &HookInput) -> Result<SavedHook, ApiError> {
        self.send_json(Request::post("/api/hooks"), input).await
    }

    /// Replaces the hook `id` with `input`.
    pub async fn update_hook(&self, id: i64, input: &HookInput) -> Result<SavedHook, ApiError> {
        let input = HookInput {
            signed: None,
            ..input.clone()
        };
        self.send_json(Request::put(&format!("/api/hooks/{id}")), &input)
            .await
    }

    /// Deletes the hook `id`.
    pub async fn delete_hook(&self, id: i64) -> Result<(), ApiError> {
        self.empty(Request::delete(&format!("/api/hooks/{id}")))
            .await
    }

    /// Gives the hook `id` a new signing secret.
    pub async fn rotate_secret(&self, id: i64) -> Result<SecretRotation, ApiError> {
        self.json(Request::post(&format!("/api/hooks/{id}/secret")))
            .await
    }

    /// Calls a draft hook once, without storing anything.
    pub async fn test_fire(&self, draft: &TestFire) -> Result<TestFireResult, ApiError> {
        self.send_json(Request::post("/api/hooks/test"), draft)
            .await
    }

    /// Fetches deliveries, newest first, that pass `filter`.
    pub async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, ApiError> {
        let path = format!("/api/deliveries{}", filter.query());
        self.json(Request::get(&path)).await
    }

    /// Fetches one delivery with every attempt's record.
    pub async fn delivery(&self, id: i64) -> Result<Delivery, ApiError> {
        self.json(Request::get(&format!("/api/deliveries/{id}")))
            .await
    }

    /// Attempts a delivery that has ended once more.
    pub async fn redeliver(&self, id: i64) -> Result<Delivery, ApiError> {
        self.json(Request::post(&format!("/api/deliveries/{id}/redeliver")))
            .await
    }

    /// Fetches deliveries per hour for the last `hours` hours, optionally of one hook.
    pub async fn delivery_stats(
        &self,
        hours: u32,
        hook_id: Option<i64>,
    ) -> Result<Vec<HourStats>, ApiError> {
        let mut path = format!("/api/deliveries/stats?hours={hours}");
        if let Some(id) = hook_id {
            path.push_str(&format!("&hook_id={id}"));
        }
        self.json(Request::get(&path)).await
    }

    /// Fetches the client's calling lists.
    pub async fn calling_lists(&self) -> Result<Vec<CallingList>, ApiError> {
        self.json(Request::get("/api/calling-lists")).await
    }

    /// Deletes the calling list `id`.
    pub async fn delete_calling_list(&self, id: i64) -> Result<(), ApiError> {
        self.empty(Request::delete(&format!("/api/calling-lists/{id}")))
            .await
    }

    /// Fetches the client's campaigns.
    pub async fn campaigns(&self) -> Result<Vec<Campaign>, ApiError> {
        self.json(Request::get("/api/campaigns")).await
    }

    /// Creates a campaign, as a copy of `copy_of` when it is set.
    pub async fn create_campaign(
        &self,
        name: &str,
        copy_of: Option<i64>,
    ) -> Result<Campaign, ApiError> {
        let body = NewCampaign { name, copy_of };
        self.send_json(Request::post("/api/campaigns"), &body).await
    }

    /// Deletes the campaign `id`.
    pub async fn delete_campaign(&self, id: i64) -> Result<(), ApiError> {
        self.empty(Request::delete(&format!("/api/campaigns/{id}")))
            .await
    }

    fn sign(&self, builder: RequestBuilder) -> RequestBuilder {
        builder.header("Authorization", &self.authorization())
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ApiError> {
        let request = self.sign(builder).build().map_err(encode_error)?;
        decode(send(request).await?).await
    }

    async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        builder: RequestBuilder,
        body: &B,
    ) -> Result<T, ApiError> {
        let request = self.sign(builder).json(body).map_err(encode_error)?;
        decode(send(request).await?).await
    }

    async fn empty(&self, builder: RequestBuilder) -> Result<(), ApiError> {
        let request = self.sign(builder).build().map_err(encode_error)?;
        send(request).await.map(|_| ())
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
    let text = response.text().await.unwrap_or_default();
    let error = ApiError::from_status(status, &text, response.status_text());
    if error == ApiError::Unauthorized {
        report_unauthorized();
    }
    Err(error)
}

async fn decode<T: DeserializeOwned>(response: Response) -> Result<T, ApiError> {
    response
        .json()
        .await
        .map_err(|error| ApiError::Decode(error.to_string()))
}
