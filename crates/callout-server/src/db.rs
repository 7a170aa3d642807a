//! The database: connecting, migrating, and creating clients and agents.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use md5::{Digest, Md5};
use rand::RngCore;
use sha2::Sha256;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use crate::time::now_ms;

/// The connection pool of the server.
pub type Pool = SqlitePool;

/// Opens the database at `url`, creating the file and its folder if needed, and runs the
/// migrations.
pub async fn connect(url: &str) -> Result<Pool, String> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        // Limitation: only SQLite is implemented so far, so a PostgreSQL URL is rejected
        // rather than half supported.
        return Err("PostgreSQL is not supported yet: use a sqlite:// URL".to_string());
    }
    let options = SqliteConnectOptions::from_str(url)
        .map_err(|error| format!("invalid database URL `{url}`: {error}"))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    if let Some(folder) = options.get_filename().parent() {
        if !folder.as_os_str().is_empty() && !folder.exists() {
            std::fs::create_dir_all(folder).map_err(|error| {
                format!("failed to create the database folder {}: {error}", folder.display())
            })?;
        }
    }
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(options)
        .await
        .map_err(|error| format!("failed to open database `{url}`: {error}"))?;
    sqlx::migrate!("./migrations")
        .run(&pool)
        .await
        .map_err(|error| format!("failed to migrate database `{url}`: {error}"))?;
    Ok(pool)
}

/// Returns the default database URL: a file under `./data/`.
pub fn default_url() -> String {
    format!("sqlite://{}", Path::new("data").join("callout.db").display())
}

/// Returns the SHA-256 of an API token, in hex, as it is stored.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Returns a new random API token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("co_{}", hex::encode(bytes))
}

/// Creates a client and returns its id.
pub async fn create_client(pool: &Pool, name: &str) -> Result<i64, sqlx::Error> {
    let mut seed = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut seed);
    let identification = hex::encode(Md5::digest(seed));
    let id = sqlx::query_scalar(
        "INSERT INTO clients (name, identification, created_at) VALUES (?, ?, ?) RETURNING id",
    )
    .bind(name)
    .bind(identification)
    .bind(now_ms())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// An agent to create.
#[derive(Clone, Debug, Default)]
pub struct NewAgent {
    /// The client the agent works for.
    pub client_id: i64,
    /// A unique sign-in name.
    pub username: String,
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Language code.
    pub lang: Option<String>,
    /// Values of the deployment's extra agent columns.
    pub columns: serde_json::Map<String, serde_json::Value>,
    /// Whether the agent administers its client.
    pub is_admin: bool,
}

/// Creates an agent with the API token `token` and returns its id.
pub async fn create_agent(pool: &Pool, agent: &NewAgent, token: &str) -> Result<i64, sqlx::Error> {
    let id = sqlx::query_scalar(
        "INSERT INTO agents (client_id, username, name, email, lang, columns, is_admin, \
         token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(agent.client_id)
    .bind(&agent.username)
    .bind(&agent.name)
    .bind(&agent.email)
    .bind(&agent.lang)
    .bind(serde_json::Value::Object(agent.columns.clone()).to_string())
    .bind(agent.is_admin)
    .bind(token_hash(token))
    .bind(now_ms())
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Creates a demo client and its admin agent when the database has no client yet, and returns
/// the agent's token then. `admin_token` is used as the token when given.
pub async fn bootstrap(pool: &Pool, admin_token: Option<&str>) -> Result<Option<String>, sqlx::Error> {
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients").fetch_one(pool).await?;
    if clients > 0 {
        return Ok(None);
    }
    let client_id = create_client(pool, "Demo").await?;
    let token = admin_token.map_or_else(new_token, str::to_string);
    let agent = NewAgent {
        client_id,
        username: "admin".to_string(),
        name: Some("Admin".to_string()),
        lang: Some("en".to_string()),
        is_admin: true,
        ..NewAgent::default()
    };
    create_agent(pool, &agent, &token).await?;
    Ok(Some(token))
}

/// Begins a transaction that writes. It takes SQLite's write lock at once (`BEGIN IMMEDIATE`),
/// because a transaction that reads first and writes later fails with `SQLITE_BUSY` when
/// another connection wrote in between, instead of waiting for the lock.
pub async fn begin_write(pool: &Pool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, sqlx::Error> {
    pool.begin_with("BEGIN IMMEDIATE").await
}
