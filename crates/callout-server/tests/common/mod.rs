//! Shared by the handler tests of the API's contract: a fresh SQLite or PostgreSQL database,
//! the router called without a socket, and a check of every response against the OpenAPI
//! description that the server serves at `/api/openapi.json`.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use callout_server::api::AppState;
use callout_server::config::{DispatchSettings, Limits, Settings};
use callout_server::db::{self, NewAgent};
use callout_server::dispatch::Dispatcher;
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// The database a test runs on.
#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// Runs each named test on SQLite and on PostgreSQL, as `sqlite::NAME` and `postgres::NAME`.
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::common::Kind::Sqlite).await
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                super::$name(super::common::Kind::Postgres).await
            })*
        }
    };
}

/// Returns the URL of the tests' PostgreSQL database, or `CALLOUT_TEST_POSTGRES` when set.
pub fn postgres_url() -> String {
    std::env::var("CALLOUT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// A database of one test: a SQLite file in a temporary folder, or a PostgreSQL schema that
/// is dropped with it.
enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(String),
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let TestDatabase::Postgres(schema) = self else {
            return;
        };
        let schema = schema.clone();
        // Drop runs outside async code, so the schema is dropped on a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                sqlx::any::install_default_drivers();
                if let Ok(pool) = sqlx::AnyPool::connect(&postgres_url()).await {
                    // The test's pool may still hold connections, which would make the drop
                    // wait for their locks.
                    let terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                                     WHERE application_name = $1 AND pid <> pg_backend_pid()";
                    let _ = sqlx::query(terminate).bind(&schema).execute(&pool).await;
                    let _ = sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                        .execute(&pool)
                        .await;
                }
            });
        })
        .join();
    }
}

/// Returns a fresh database of `kind` and its URL, or `None` when PostgreSQL cannot be
/// reached outside CI.
async fn test_database(kind: Kind) -> Option<(TestDatabase, String)> {
    match kind {
        Kind::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("test.db").display());
            Some((TestDatabase::Sqlite(dir), url))
        }
        Kind::Postgres => {
            sqlx::any::install_default_drivers();
            let pool = match sqlx::AnyPool::connect(&postgres_url()).await {
                Ok(pool) => pool,
                Err(error) => {
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "PostgreSQL is unreachable: {error}"
                    );
                    eprintln!(
                        "skipped: PostgreSQL is unreachable at {}: {error}",
                        postgres_url()
                    );
                    return None;
                }
            };
            let schema = format!(
                "callout_contract_{}",
                &db::new_token().trim_start_matches("co_")[..16]
            );
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&pool)
                .await
                .unwrap();
            let url = format!(
                "{}?options=-c%20search_path%3D{schema}&application_name={schema}",
                postgres_url()
            );
            Some((TestDatabase::Postgres(schema), url))
        }
    }
}

/// Limits small enough to pass in a test.
pub fn small_limits() -> Limits {
    Limits {
        max_hooks_per_client: 3,
        max_template_bytes: 200,
        max_json_bytes: 4096,
        max_upload_bytes: 4096,
        max_rows_per_import: 5,
    }
}

/// The router on a fresh database, and a client of it that checks every response against
/// the description.
pub struct Fixture {
    pub app: Router,
    pub pool: db::Pool,
    pub description: Arc<Description>,
    /// The notification that wakes the dispatcher, shared with the router's state.
    pub wake: Arc<Notify>,
    /// Every (operation, status) a response was checked for.
    pub checked: Arc<Mutex<BTreeSet<(String, u16)>>>,
    _database: TestDatabase,
}

/// Returns a fixture on `kind` with the deployment's agent column `team` and `limits`.
pub async fn fixture(kind: Kind, limits: Limits) -> Option<Fixture> {
    let (database, url) = test_database(kind).await?;
    let pool = db::connect(&url).await.unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: url,
        web_dir: std::env::temp_dir().join("callout-no-page"),
        agent_columns: vec!["team".to_string()],
        dispatch: DispatchSettings::default(),
        limits,
    };
    let wake = Arc::new(Notify::new());
    let state = AppState {
        pool: pool.clone(),
        catalogue: Arc::new(settings.catalogue()),
        wake: wake.clone(),
        client: settings.dispatch.client(),
        limits: Arc::new(settings.limits.clone()),
        sign_in_failures: Arc::default(),
        metrics: Arc::default(),
    };
    Some(Fixture {
        app: callout_server::cli::app(state, &settings),
        pool,
        description: Arc::new(Description::load()),
        wake,
        checked: Arc::default(),
        _database: database,
    })
}

/// A response, already checked against the description.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub headers: axum::http::HeaderMap,
}

impl Fixture {
    /// Sends a request with an optional bearer token and a JSON or CSV body, and panics
    /// unless the response is one that the description allows for this operation.
    pub async fn call(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: RequestBody,
    ) -> Reply {
        let request = build_request(method, uri, token, body);
        self.send(request).await
    }

    /// Sends `request` and checks its response against the description.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let method = request.method().to_string();
        let uri = request.uri().to_string();
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();

        let checked = self
            .description
            .check(&method, &uri, status.as_u16(), &headers, &bytes);
        let label = checked.unwrap_or_else(|error| {
            panic!("{method} {uri} returned {status}, which breaks the description: {error}")
        });
        self.checked
            .lock()
            .unwrap()
            .insert((label, status.as_u16()));

        let body = if bytes.is_empty() {
            Value::Null
        } else if headers
            .get("content-type")
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
        {
            serde_json::from_slice(&bytes).unwrap()
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        Reply {
            status,
            body,
            headers,
        }
    }

    /// Sends a request and panics unless its status is `expected`.
    pub async fn expect(
        &self,
        expected: u16,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: RequestBody,
    ) -> Value {
        let reply = self.call(method, uri, token, body).await;
        assert_eq!(
            reply.status.as_u16(),
            expected,
            "{method} {uri}: {}",
            reply.body
        );
        reply.body
    }

    /// Runs a dispatcher that makes one attempt per delivery, until no delivery is pending.
    /// Receivers on loopback are refused by its address guard, so no call-out leaves the
    /// machine and every attempt fails.
    pub async fn dispatch_until_idle(&self) {
        let settings = DispatchSettings {
            retry_delays: Vec::new(),
            ..DispatchSettings::default()
        };
        let dispatcher = Dispatcher::new(
            self.pool.clone(),
            settings.clone(),
            settings.client(),
            self.wake.clone(),
            Arc::default(),
        );
        let (stop, stopping) = watch::channel(false);
        let running = tokio::spawn(dispatcher.run(stopping));
        self.wake.notify_one();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.count("deliveries WHERE status = 'pending'").await > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "deliveries are still pending after 30 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        stop.send(true).unwrap();
        running.await.unwrap();
    }

    /// Returns the number of rows of `table`.
    pub async fn count(&self, table: &str) -> i64 {
        sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }
}

/// The body of a request.
#[derive(Clone, Debug)]
pub enum RequestBody {
    Empty,
    Json(Value),
    Csv(Vec<u8>),
}

pub fn build_request(
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: RequestBody,
) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        RequestBody::Empty => Body::empty(),
        RequestBody::Json(value) => {
            request = request.header("content-type", "application/json");
            Body::from(value.to_string())
        }
        RequestBody::Csv(bytes) => {
            request = request.header("content-type", "text/csv");
            Body::from(bytes)
        }
    };
    request.body(body).unwrap()
}

/// Creates a client and an agent of it, and returns the client's id and the agent's token.
pub async fn client_with_agent(
    pool: &db::Pool,
    client: &str,
    username: &str,
    is_admin: bool,
) -> (i64, String) {
    let client_id = db::create_client(pool, client).await.unwrap();
    let token = db::new_token();
    let agent = NewAgent {
        client_id,
        username: username.to_string(),
        is_admin,
        ..NewAgent::default()
    };
    db::create_agent(pool, &agent, &token).await.unwrap();
    (client_id, token)
}

/// Creates another agent of `client_id` and returns its token.
pub async fn agent_of(pool: &db::Pool, client_id: i64, username: &str, is_admin: bool) -> String {
    let token = db::new_token();
    let agent = NewAgent {
        client_id,
        username: username.to_string(),
        is_admin,
        ..NewAgent::default()
    };
    db::create_agent(pool, &agent, &token).await.unwrap();
    token
}

pub fn json_body(value: Value) -> RequestBody {
    RequestBody::Json(value)
}

pub fn csv_body(text: impl Into<Vec<u8>>) -> RequestBody {
    RequestBody::Csv(text.into())
}

// ---------------------------------------------------------------------------------------------
// The description

/// The OpenAPI description, with its operations ready to match requests against.
pub struct Description {
    pub document: Value,
    pub operations: Vec<Operation>,
}

/// One method of one path of the description.
pub struct Operation {
    pub method: String,
    pub path: String,
    /// Whether the operation needs no token (`security: []`).
    pub public: bool,
    /// The responses by status code, with `$ref`s to shared responses followed.
    pub responses: serde_json::Map<String, Value>,
}

impl Operation {
    /// Returns `METHOD /path/{template}`.
    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// The methods an OpenAPI path item can describe.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl Description {
    /// Parses the description the server serves.
    pub fn load() -> Description {
        let document: Value = serde_json::from_str(callout_server::api::openapi::DESCRIPTION)
            .expect("openapi.json is not valid JSON");
        let mut operations = Vec::new();
        for (path, item) in document["paths"]
            .as_object()
            .expect("openapi.json has no paths")
        {
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                let public = operation
                    .get("security")
                    .is_some_and(|security| security == &json!([]));
                let responses = operation["responses"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{method} {path} has no responses"))
                    .iter()
                    .map(|(status, response)| {
                        (status.clone(), resolve(&document, response).clone())
                    })
                    .collect();
                operations.push(Operation {
                    method: method.to_uppercase(),
                    path: path.clone(),
                    public,
                    responses,
                });
            }
        }
        Description {
            document,
            operations,
        }
    }

    /// Returns every operation as `METHOD /path`, sorted.
    pub fn labels(&self) -> BTreeSet<String> {
        self.operations.iter().map(Operation::label).collect()
    }

    /// Returns the operation that `method` and the path of `uri` name. A path matches the
    /// template with the most literal segments, as the router prefers `/api/hooks/test` over
    /// `/api/hooks/{id}`.
    pub fn find(&self, method: &str, uri: &str) -> Option<&Operation> {
        let path = uri.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').collect();
        let mut best: Option<(&str, usize)> = None;
        for template in self
            .operations
            .iter()
            .map(|operation| operation.path.as_str())
        {
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let matches = parts
                .iter()
                .zip(&segments)
                .all(|(part, segment)| part.starts_with('{') || part == segment);
            let literal = parts.iter().filter(|part| !part.starts_with('{')).count();
            if matches && best.is_none_or(|(_, most)| literal > most) {
                best = Some((template, literal));
            }
        }
        let (template, _) = best?;
        self.operations
            .iter()
            .find(|operation| operation.path == template && operation.method == method)
    }

    /// Checks a response against the description of its operation: a status the operation
    /// lists, its media type, every required header, and a body that validates against the
    /// schema (JSON Schema 2020-12, formats checked). Returns the operation's label.
    pub fn check(
        &self,
        method: &str,
        uri: &str,
        status: u16,
        headers: &axum::http::HeaderMap,
        body: &[u8],
    ) -> Result<String, String> {
        let operation = self
            .find(method, uri)
            .ok_or("no operation of the description matches")?;
        let response = operation
            .responses
            .get(&status.to_string())
            .ok_or_else(|| format!("{} does not list status {status}", operation.label()))?;

        for (name, header) in response
            .get("headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if header["required"] == json!(true) && !headers.contains_key(name.as_str()) {
                return Err(format!("the required header {name} is missing"));
            }
        }

        let Some(content) = response.get("content").and_then(Value::as_object) else {
            return if body.is_empty() {
                Ok(operation.label())
            } else {
                Err("a body where none is described".into())
            };
        };
        let media_type = headers
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .map(|value| {
                value
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            })
            .ok_or("no content-type header")?;
        let described = content
            .get(&media_type)
            .ok_or_else(|| format!("media type {media_type} is not described"))?;
        let instance = if media_type == "application/json" {
            serde_json::from_slice(body)
                .map_err(|error| format!("the body is not JSON: {error}"))?
        } else {
            Value::String(String::from_utf8(body.to_vec()).map_err(|_| "the body is not UTF-8")?)
        };
        if let Some(schema) = described.get("schema") {
            self.validate(schema, &instance)?;
        }
        Ok(operation.label())
    }

    /// Validates `instance` against `schema`, whose `$ref`s point into the description's
    /// components.
    pub fn validate(&self, schema: &Value, instance: &Value) -> Result<(), String> {
        // The schema is wrapped in a document that also carries the components, so that
        // `#/components/...` references resolve inside it.
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": self.document["components"],
            "allOf": [schema],
        });
        let validator = jsonschema::draft202012::options()
            .should_validate_formats(true)
            .build(&root)
            .map_err(|error| format!("the schema does not compile: {error}"))?;
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|error| format!("at `{}`: {error}", error.instance_path()))
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{} in {instance}", errors.join("; ")))
        }
    }
}

/// Follows a `$ref` of the form `#/a/b` to what it names in `document`.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external reference {reference}"));
            document
                .pointer(pointer)
                .unwrap_or_else(|| panic!("unresolved reference {reference}"))
        }
        None => value,
    }
}
