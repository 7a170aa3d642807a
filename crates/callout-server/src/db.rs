//! The database: connecting, migrating, and creating clients and agents.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use md5::{Digest, Md5};
use rand::RngCore;
use sha2::Sha256;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};
use tokio::sync::OwnedMutexGuard;

use crate::time::now_ms;

/// The connection pool of the server, on SQLite or PostgreSQL.
pub type Pool = AnyPool;

/// The database behind a pool. Queries are written once, with `$1` placeholders and integer
/// flags, for both; only claiming deliveries, write locks and notifications differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, the embedded default: one process.
    Sqlite,
    /// PostgreSQL: any number of processes.
    Postgres,
}

/// Returns the backend of `pool`.
pub fn backend(pool: &Pool) -> Backend {
    backend_of(pool.connect_options().database_url.scheme())
}

fn backend_of(scheme: &str) -> Backend {
    if scheme.starts_with("postgres") {
        Backend::Postgres
    } else {
        Backend::Sqlite
    }
}

/// Opens the database at `url` and runs the migrations. A SQLite file and its folder are
/// created if needed.
pub async fn connect(url: &str) -> Result<Pool, String> {
    sqlx::any::install_default_drivers();
    let scheme = url.split(':').next().unwrap_or_default();
    let url = match scheme {
        "postgres" | "postgresql" => url.to_string(),
        "sqlite" => sqlite_url(url)?,
        _ => {
            return Err(format!(
                "unsupported database URL `{url}`: use sqlite://PATH or postgres://..."
            ))
        }
    };
    let options: AnyConnectOptions = url
        .parse()
        .map_err(|error| format!("invalid database URL `{url}`: {error}"))?;
    let backend = backend_of(scheme);

    let pool = AnyPoolOptions::new()
        .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                if backend == Backend::Sqlite {
                    // WAL lets readers work while one connection writes; the busy timeout
                    // makes writers wait for the lock instead of failing at once.
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;",
                        )
                        .await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await
        .map_err(|error| format!("failed to open database `{url}`: {error}"))?;

    let migrated = match backend {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite").run(&pool).await,
        Backend::Postgres => sqlx::migrate!("./migrations/postgres").run(&pool).await,
    };
    migrated.map_err(|error| format!("failed to migrate database `{url}`: {error}"))?;
    Ok(pool)
}

/// Returns a SQLite URL that creates a missing file, after creating its folder.
fn sqlite_url(url: &str) -> Result<String, String> {
    let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(format!(
            "invalid database URL `{url}`: give a file, such as sqlite://data/callout.db"
        ));
    }
    if let Some(folder) = Path::new(path).parent() {
        if !folder.as_os_str().is_empty() && !folder.exists() {
            std::fs::create_dir_all(folder).map_err(|error| {
                format!(
                    "failed to create the database folder {}: {error}",
                    folder.display()
                )
            })?;
        }
    }
    Ok(if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    })
}

/// Returns the default database URL: a file under `./data/`.
pub fn default_url() -> String {
    format!(
        "sqlite://{}",
        Path::new("data").join("callout.db").display()
    )
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

/// Creates a client and returns its id. `executor` is the pool or a transaction.
pub async fn create_client<'c>(
    executor: impl Executor<'c, Database = sqlx::Any>,
    name: &str,
) -> Result<i64, sqlx::Error> {
    let mut seed = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut seed);
    let identification = hex::encode(Md5::digest(seed));
    let id = sqlx::query_scalar(
        "INSERT INTO clients (name, identification, created_at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(name)
    .bind(identification)
    .bind(now_ms())
    .fetch_one(executor)
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
    let mut transaction = begin_write(pool).await?;
    let id = insert_agent(&mut transaction, agent).await?;
    insert_token(&mut transaction, id, token, Some("first token")).await?;
    transaction.commit().await?;
    Ok(id)
}

/// Inserts an agent and returns its id.
pub async fn insert_agent(
    connection: &mut sqlx::AnyConnection,
    agent: &NewAgent,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO agents (client_id, username, name, email, lang, columns, is_admin, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(agent.client_id)
    .bind(&agent.username)
    .bind(&agent.name)
    .bind(&agent.email)
    .bind(&agent.lang)
    .bind(serde_json::Value::Object(agent.columns.clone()).to_string())
    .bind(i64::from(agent.is_admin))
    .bind(now_ms())
    .fetch_one(connection)
    .await
}

/// Stores the hash of a new API token of an agent and returns the token's id.
pub async fn insert_token(
    connection: &mut sqlx::AnyConnection,
    agent_id: i64,
    token: &str,
    label: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO tokens (agent_id, token_hash, label, created_at) VALUES ($1, $2, $3, $4) \
         RETURNING id",
    )
    .bind(agent_id)
    .bind(token_hash(token))
    .bind(label)
    .bind(now_ms())
    .fetch_one(connection)
    .await
}

/// The key of the PostgreSQL advisory lock that [`bootstrap`] holds: the ASCII bytes of
/// `callout`, a number other applications on the database are unlikely to lock.
const BOOTSTRAP_LOCK: i64 = 0x63_616c_6c6f_7574;

/// Creates a demo client and its admin agent when the database has no client yet, and returns
/// the agent's token then. `admin_token` is used as the token when given.
///
/// Processes started together on an empty database would each find no client and create one,
/// and all but one would then fail on the agent's unique username. The check and the inserts
/// are one transaction under a lock (an advisory lock on PostgreSQL, the write lock on
/// SQLite), so the first process creates the client and the others find it.
pub async fn bootstrap(
    pool: &Pool,
    admin_token: Option<&str>,
) -> Result<Option<String>, sqlx::Error> {
    let mut transaction = begin_write(pool).await?;
    if backend(pool) == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(BOOTSTRAP_LOCK)
            .execute(&mut *transaction)
            .await?;
    }
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(&mut *transaction)
        .await?;
    if clients > 0 {
        return Ok(None);
    }
    let client_id = create_client(&mut *transaction, "Demo").await?;
    let token = admin_token.map_or_else(new_token, str::to_string);
    let agent = NewAgent {
        client_id,
        username: "admin".to_string(),
        name: Some("Admin".to_string()),
        lang: Some("en".to_string()),
        is_admin: true,
        ..NewAgent::default()
    };
    let agent_id = insert_agent(&mut transaction, &agent).await?;
    insert_token(&mut transaction, agent_id, &token, Some("first token")).await?;
    transaction.commit().await?;
    Ok(Some(token))
}

/// Begins a transaction that writes, in the API's turn at the write gate. On SQLite it first
/// waits for the gate, then takes the write lock at once (`BEGIN IMMEDIATE`), because a
/// transaction that reads first and writes later fails with `SQLITE_BUSY` when another
/// connection wrote in between.
pub async fn begin_write(pool: &Pool) -> Result<WriteTransaction, sqlx::Error> {
    begin_write_as(pool, Writer::Api).await
}

/// Begins a transaction that writes, in `writer`'s turn at the write gate.
pub async fn begin_write_as(pool: &Pool, writer: Writer) -> Result<WriteTransaction, sqlx::Error> {
    let gate = write_gate_as(pool, writer).await?;
    let transaction = match backend(pool) {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    Ok(WriteTransaction {
        transaction,
        _gate: gate,
    })
}

/// The kind of writer, which sets its turn at the SQLite write gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writer {
    /// A request to the API: the changes that fire hooks, among others.
    Api,
    /// The dispatcher, claiming deliveries and storing attempts. It goes ahead of the API's
    /// writers, so that under more load than the database takes, deliveries keep pace with
    /// the events already committed and the API's requests wait instead.
    Dispatcher,
}

/// Waits for the write gate of `pool`'s SQLite database in the API's turn and returns its
/// guard, or `None` on PostgreSQL, which has no gate. Hold it around a statement that writes
/// outside [`begin_write`]. A writer that waits longer than [`WRITE_GATE_TIMEOUT`], say behind
/// a long import, gets an error that the API turns into 503 `busy`.
///
/// SQLite lets one connection write at a time. Without the gate, connections of this process
/// would meet at SQLite's lock. There the busy handler makes a waiting writer sleep for 1 ms,
/// then 2, 5, 10 and up to 100 ms between tries (`sqliteDefaultBusyCallback` in SQLite 3.46,
/// as libsqlite3-sys 0.30 bundles it). Under load those sleeps, not the writes, set the pace. The gate is a queue that hands the lock over without sleeping. The busy
/// timeout remains for another process that opens the same file.
pub async fn write_gate(pool: &Pool) -> Result<Option<WriteGuard>, sqlx::Error> {
    write_gate_as(pool, Writer::Api).await
}

/// Waits for the write gate in `writer`'s turn; see [`write_gate`].
pub async fn write_gate_as(pool: &Pool, writer: Writer) -> Result<Option<WriteGuard>, sqlx::Error> {
    write_gate_within(pool, writer, WRITE_GATE_TIMEOUT).await
}

/// Time a writer waits for the write gate, the same as SQLite's busy timeout.
pub const WRITE_GATE_TIMEOUT: Duration = Duration::from_secs(30);

/// The turn at a database's write gate, held until it is dropped.
#[derive(Debug)]
pub struct WriteGuard {
    _write: OwnedMutexGuard<()>,
    _api_queue: Option<OwnedMutexGuard<()>>,
}

/// The two locks of one SQLite database's write gate. The holder of `write` writes. The API's
/// writers first take `api_queue`, so at most one of them waits for `write` at a time. The
/// dispatcher takes `write` alone, so it waits only for the writers in front of it, and at
/// most one of those is the API's. Each lock serves its waiters first come, first served.
#[derive(Default)]
struct Gate {
    write: Arc<tokio::sync::Mutex<()>>,
    api_queue: Arc<tokio::sync::Mutex<()>>,
}

async fn write_gate_within(
    pool: &Pool,
    writer: Writer,
    timeout: Duration,
) -> Result<Option<WriteGuard>, sqlx::Error> {
    if backend(pool) != Backend::Sqlite {
        return Ok(None);
    }
    let url = pool.connect_options().database_url.to_string();
    let (write, api_queue) = {
        let mut gates = WRITE_GATES
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let gate = gates.entry(url).or_default();
        (gate.write.clone(), gate.api_queue.clone())
    };
    let turn = async {
        let api_queue = match writer {
            Writer::Api => Some(api_queue.lock_owned().await),
            Writer::Dispatcher => None,
        };
        WriteGuard {
            _write: write.lock_owned().await,
            _api_queue: api_queue,
        }
    };
    match tokio::time::timeout(timeout, turn).await {
        Ok(guard) => Ok(Some(guard)),
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            WriteGateTimedOut(timeout),
        ))),
    }
}

/// The error of a writer that waited too long for the SQLite write gate.
#[derive(Debug)]
pub struct WriteGateTimedOut(Duration);

impl std::fmt::Display for WriteGateTimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "timed out after {} s waiting for another write to the SQLite database to finish",
            self.0.as_secs_f64()
        )
    }
}

impl std::error::Error for WriteGateTimedOut {}

/// Tells whether `error` comes from a writer that timed out waiting for the write gate.
pub fn is_write_gate_timeout(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(io) => io
            .get_ref()
            .is_some_and(|inner| inner.is::<WriteGateTimedOut>()),
        _ => false,
    }
}

/// The write gates of the SQLite databases this process has open, by URL. Pools opened on the
/// same file, as tests do, share one gate.
static WRITE_GATES: LazyLock<std::sync::Mutex<HashMap<String, Gate>>> =
    LazyLock::new(Default::default);

/// A transaction that writes, holding the write gate on SQLite until it ends. It dereferences to
/// its connection, so statements run on `&mut *transaction`; dropped without
/// [`WriteTransaction::commit`], it rolls back.
pub struct WriteTransaction {
    transaction: sqlx::Transaction<'static, sqlx::Any>,
    _gate: Option<WriteGuard>,
}

impl WriteTransaction {
    /// Commits the transaction, then opens the gate to the next writer.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.transaction.commit().await
    }
}

impl std::ops::Deref for WriteTransaction {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &sqlx::AnyConnection {
        &self.transaction
    }
}

impl std::ops::DerefMut for WriteTransaction {
    fn deref_mut(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.transaction
    }
}

/// A yes or no stored as the integer 0 or 1, which both databases read the same way through
/// sqlx's `Any` driver (it does not turn SQLite's integers into booleans).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Flag(pub bool);

impl sqlx::Type<sqlx::Any> for Flag {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <i64 as sqlx::Type<sqlx::Any>>::type_info()
    }

    fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
        <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for Flag {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Flag, sqlx::error::BoxDynError> {
        Ok(Flag(<i64 as sqlx::Decode<sqlx::Any>>::decode(value)? != 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiError;

    async fn open(folder: &tempfile::TempDir, name: &str) -> Pool {
        let url = format!("sqlite://{}", folder.path().join(name).display());
        connect(&url).await.unwrap()
    }

    #[tokio::test]
    async fn write_gate_timeout_is_busy() {
        let folder = tempfile::tempdir().unwrap();
        let pool = open(&folder, "gate.db").await;
        let wait = Duration::from_millis(200);

        let occupied = write_gate(&pool).await.unwrap();
        let started = std::time::Instant::now();
        let error = write_gate_within(&pool, Writer::Api, wait)
            .await
            .unwrap_err();

        assert!(
            started.elapsed() >= wait,
            "gave up after {:?}",
            started.elapsed()
        );
        assert!(is_write_gate_timeout(&error), "unexpected error: {error}");
        assert!(matches!(ApiError::from(error), ApiError::Busy));
        drop(occupied);
        assert!(write_gate_within(&pool, Writer::Api, wait)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn write_gate_is_per_database() {
        let folder = tempfile::tempdir().unwrap();
        let first = open(&folder, "first.db").await;
        let second = open(&folder, "second.db").await;

        let _occupied = write_gate(&first).await.unwrap();
        let other = write_gate_within(&second, Writer::Api, Duration::from_millis(200)).await;

        assert!(
            other.unwrap().is_some(),
            "the second database waited for the first"
        );
    }

    #[tokio::test]
    async fn dispatcher_goes_ahead_of_api() {
        let folder = tempfile::tempdir().unwrap();
        let pool = open(&folder, "turns.db").await;
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let take_turn = |writer: Writer, name: &'static str| {
            let (pool, order) = (pool.clone(), order.clone());
            tokio::spawn(async move {
                let _turn = write_gate_as(&pool, writer).await.unwrap();
                order.lock().unwrap().push(name);
                tokio::time::sleep(Duration::from_millis(10)).await;
            })
        };

        let occupied = write_gate_as(&pool, Writer::Dispatcher).await.unwrap();
        let mut writers = Vec::new();
        for name in ["api 1", "api 2", "api 3"] {
            writers.push(take_turn(Writer::Api, name));
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        writers.push(take_turn(Writer::Dispatcher, "dispatcher"));
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(occupied);
        for writer in writers {
            writer.await.unwrap();
        }

        // The first API writer was already waiting for the write lock. The others waited
        // behind it for the API's queue, so the dispatcher came before them.
        let order = order.lock().unwrap().clone();
        assert_eq!(order, ["api 1", "dispatcher", "api 2", "api 3"]);
    }

    #[tokio::test]
    async fn write_transaction_holds_gate() {
        let folder = tempfile::tempdir().unwrap();
        let pool = open(&folder, "held.db").await;
        let wait = Duration::from_millis(200);

        let transaction = begin_write(&pool).await.unwrap();
        let blocked = write_gate_within(&pool, Writer::Api, wait).await;
        assert!(
            blocked.is_err(),
            "the gate opened while a transaction wrote"
        );
        transaction.commit().await.unwrap();

        assert!(write_gate_within(&pool, Writer::Api, wait)
            .await
            .unwrap()
            .is_some());
    }
}
