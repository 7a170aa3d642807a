//! Support for Callout's end-to-end tests: the real `callout` binary on a fresh database, its
//! command line, a loopback receiver that records call-outs, and a typed client of the JSON API.
//!
//! A test starts a [`Server`], creates clients and agents with [`Server::add_client`] and
//! [`Server::add_agent`], calls the API through an [`Api`] with an agent's token, and points
//! hooks at a [`Receiver`]. A [`ScriptedReceiver`] responds as the test decides instead,
//! including responses a well-behaved server would not send. These tests do not build the
//! binary: run `cargo build -p callout-server` first, or set `CALLOUT_BIN` to a built `callout`.
//!
//! A server runs on a fresh SQLite file, or on a fresh schema of the PostgreSQL server that
//! [`postgres_url`] names (see [`Database`]). `CALLOUT_TEST_DATABASE=postgres` moves every test
//! that does not choose to PostgreSQL. [`Server::start_another`] starts more processes on the
//! same database.
#![forbid(unsafe_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::State;
use axum::http::Uri;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

pub use reqwest::Method;

/// How long a server may take to print its `listening on` line.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// How long [`Api::wait_for_deliveries`] and [`Receiver::wait_for_requests`] wait.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two polls of the deliveries or the receiver.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

// ---------------------------------------------------------------------------------------------
// Paths

/// Returns the workspace root, the parent of this crate's directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is a directory inside the workspace")
        .to_path_buf()
}

/// Returns the `callout` binary to test: `CALLOUT_BIN` when it is set, otherwise `debug/callout`
/// in `CARGO_TARGET_DIR` or in the workspace's `target` directory.
///
/// Panics with the command to run when the binary is missing.
pub fn callout_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("CALLOUT_BIN") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "CALLOUT_BIN is {}, which is not a file: point it at a built `callout` binary",
            path.display()
        );
        return path;
    }

    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace_root().join(dir),
        None => workspace_root().join("target"),
    };
    let path = target_dir
        .join("debug")
        .join(format!("callout{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "the callout binary is missing at {}: run `cargo build -p callout-server` first, or set \
         CALLOUT_BIN to a built binary",
        path.display()
    );
    path
}

/// Returns the `shared` directory beside the checkout, which contains the sample contact files.
///
/// Returns `None` when it is missing, so the test can print that it was skipped. When the
/// environment variable `CI` is `true`, a missing directory is a failure instead.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = workspace_root()
        .parent()
        .expect("the workspace root has a parent directory")
        .join("shared");
    if dir.is_dir() {
        return Some(dir);
    }

    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !in_ci,
        "the shared test material is missing at {}: check it out beside the workspace",
        dir.display()
    );
    None
}

// ---------------------------------------------------------------------------------------------
// Databases

/// Returns the PostgreSQL database that tests on PostgreSQL create their schemas in:
/// `CALLOUT_TEST_POSTGRES` when it is set, otherwise `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("CALLOUT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Returns whether the PostgreSQL server of [`postgres_url`] accepts connections, so a test
/// that needs it can print that it was skipped. When the environment variable `CI` is `true`,
/// an unreachable server is a failure instead.
pub fn postgres_available() -> bool {
    let url = postgres_url();
    let connected = run_on_own_runtime({
        let url = url.clone();
        async move { connect_postgres(&url).await.map(drop) }
    });
    let Err(error) = connected else {
        return true;
    };

    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !in_ci,
        "PostgreSQL is unreachable at {url} ({error}): start it, or set CALLOUT_TEST_POSTGRES"
    );
    eprintln!("skipped: PostgreSQL is unreachable at {url} ({error})");
    false
}

async fn connect_postgres(url: &str) -> Result<sqlx::PgConnection, sqlx::Error> {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await
}

/// Runs `future` on a runtime of its own on a new thread and returns its output. Tests call
/// this from plain functions and from inside their own runtime, where blocking on another
/// runtime in the same thread would panic.
fn run_on_own_runtime<T: Send + 'static>(
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("failed to build a runtime for database set-up")
            .block_on(future)
    })
    .join()
    .expect("the database set-up thread panicked")
}

/// A fresh database of one or more servers, removed when dropped.
struct TestDatabase {
    /// The URL the servers are started with.
    url: String,
    place: DatabasePlace,
}

enum DatabasePlace {
    /// The directory of the SQLite file.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    /// The PostgreSQL schema, also the `application_name` of the servers' connections.
    Postgres(String),
}

impl TestDatabase {
    fn new(kind: Database) -> TestDatabase {
        match kind {
            Database::Sqlite => TestDatabase::sqlite(),
            Database::Postgres => TestDatabase::postgres(),
        }
    }

    fn sqlite() -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("callout-e2e-")
            .tempdir()
            .expect("failed to create a temporary directory for the database");
        TestDatabase {
            url: format!("sqlite://{}", dir.path().join("callout.db").display()),
            place: DatabasePlace::Sqlite(dir),
        }
    }

    /// Creates a schema and returns a URL whose connections use it as their `search_path`, so
    /// the server's migrations and queries stay inside it.
    fn postgres() -> TestDatabase {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let number = COUNT.fetch_add(1, Ordering::Relaxed);
        let schema = format!(
            "callout_e2e_{}_{number}_{:x}",
            std::process::id(),
            nanos & 0xffff_ffff
        );

        let base = postgres_url();
        let created = run_on_own_runtime({
            let (base, schema) = (base.clone(), schema.clone());
            async move {
                let mut connection = connect_postgres(&base).await?;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut connection)
                    .await
                    .map(drop)
            }
        });
        if let Err(error) = created {
            panic!(
                "failed to create the schema {schema} in PostgreSQL at {base} ({error}): start \
                 PostgreSQL, set CALLOUT_TEST_POSTGRES to a reachable database, or unset \
                 CALLOUT_TEST_DATABASE to test on SQLite"
            );
        }

        let separator = if base.contains('?') { '&' } else { '?' };
        TestDatabase {
            url: format!(
                "{base}{separator}options=-c%20search_path%3D{schema}&application_name={schema}"
            ),
            place: DatabasePlace::Postgres(schema),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let DatabasePlace::Postgres(schema) = &self.place else {
            return;
        };
        let name = schema.clone();
        let dropped = run_on_own_runtime(async move {
            let schema = name;
            let mut connection = connect_postgres(&postgres_url()).await?;
            // Connections of killed servers can outlive them for a moment, and `DROP SCHEMA`
            // would wait for their locks.
            sqlx::query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE application_name = $1 AND pid <> pg_backend_pid()",
            )
            .bind(&schema)
            .execute(&mut connection)
            .await?;
            sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                .execute(&mut connection)
                .await
                .map(drop)
        });
        if let Err(error) = dropped {
            eprintln!(
                "failed to drop the test schema {schema}, which stays in PostgreSQL: {error}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

/// Options for [`Server::start_with`].
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// The built admin page to serve (`--web-dir`), if any.
    pub web_dir: Option<PathBuf>,
    /// The token of the admin agent that the server creates in its empty database.
    pub admin_token: String,
    /// More environment variables for the server process.
    pub env: Vec<(String, String)>,
    /// More arguments of `callout serve`.
    pub args: Vec<String>,
    /// Whether call-outs may reach loopback addresses, where test receivers listen. The
    /// address guard denies them otherwise.
    pub allow_loopback: bool,
    /// The `callout` binary to run; `None` runs the one [`callout_bin`] returns.
    pub binary: Option<PathBuf>,
    /// The kind of fresh database the server gets. The default is [`Database::from_env`].
    pub database: Database,
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            web_dir: None,
            admin_token: unique_token("admin"),
            env: Vec::new(),
            args: Vec::new(),
            allow_loopback: true,
            binary: None,
            database: Database::from_env(),
        }
    }
}

/// The kind of database a [`Server`] starts on. Each server started with
/// [`Server::start_with`] gets a fresh, empty one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Database {
    /// A SQLite file in a temporary directory, removed with the server.
    Sqlite,
    /// A schema of its own in the PostgreSQL database at [`postgres_url`], dropped with the
    /// server.
    Postgres,
}

impl Database {
    /// Returns the database that `CALLOUT_TEST_DATABASE` names (`sqlite` or `postgres`), or
    /// SQLite when it is not set. Panics on any other value.
    pub fn from_env() -> Database {
        match std::env::var("CALLOUT_TEST_DATABASE").as_deref() {
            Err(_) | Ok("") | Ok("sqlite") => Database::Sqlite,
            Ok("postgres") => Database::Postgres,
            Ok(other) => panic!(
                "invalid CALLOUT_TEST_DATABASE `{other}`: use `sqlite` or `postgres`, or unset it"
            ),
        }
    }
}

/// A running `callout serve` on a free loopback port with a fresh database. Dropping it kills
/// the process; the database is removed when the last server on it has been dropped.
pub struct Server {
    child: Child,
    url: String,
    database_url: String,
    admin_token: String,
    config: ServerConfig,
    output: Arc<Mutex<Vec<String>>>,
    // Declared last so the database is removed after the process has been killed in `drop`.
    database: Arc<TestDatabase>,
}

impl Server {
    /// Starts a server with the default [`ServerConfig`] and waits until it accepts
    /// connections.
    pub fn start() -> Server {
        Server::start_with(ServerConfig::default())
    }

    /// Starts a server with `config` on a fresh database and waits until it accepts
    /// connections.
    pub fn start_with(config: ServerConfig) -> Server {
        let database = TestDatabase::new(config.database);
        Server::start_on(config, Arc::new(database))
    }

    /// Starts `count` processes with `config` on one fresh database, all at the same moment as
    /// the instances of one deployment may start, and waits until each accepts connections.
    pub fn start_several(config: ServerConfig, count: usize) -> Vec<Server> {
        let database = Arc::new(TestDatabase::new(config.database));
        start_at_once(&config, &database, count)
    }

    /// Starts another process with this server's configuration on this server's database, as
    /// a second instance of one deployment would run, and waits until it accepts connections.
    /// Several processes are meant for PostgreSQL. SQLite allows them, but its writers wait for
    /// one another.
    pub fn start_another(&self) -> Server {
        Server::start_on(self.config.clone(), Arc::clone(&self.database))
    }

    /// Starts `count` more processes like [`Server::start_another`], all at the same moment,
    /// and waits until each accepts connections.
    pub fn start_others(&self, count: usize) -> Vec<Server> {
        start_at_once(&self.config, &self.database, count)
    }

    fn start_on(config: ServerConfig, database: Arc<TestDatabase>) -> Server {
        let database_url = database.url.clone();
        let output = Arc::new(Mutex::new(Vec::new()));
        let (child, url) = spawn_serve(&config, &database_url, &output);

        Server {
            child,
            url,
            database_url,
            admin_token: config.admin_token.clone(),
            config,
            output,
            database,
        }
    }

    /// Kills the process with SIGKILL, as a crash or an out-of-memory kill would end it, and
    /// waits until it has exited. The database stays, for [`Server::restart`].
    pub fn kill(&mut self) {
        self.child
            .kill()
            .expect("failed to send SIGKILL to the callout process");
        self.child
            .wait()
            .expect("failed to wait for the killed callout process");
    }

    /// Starts the server again, with the same configuration, on the same database, and waits
    /// until it accepts connections. It listens on a new port: read [`Server::url`] again.
    pub fn restart(&mut self) {
        // The process may have been killed already, and then both calls only report that.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.output
            .lock()
            .expect("output lock")
            .push("--- restarted on the same database ---".to_string());
        let (child, url) = spawn_serve(&self.config, &self.database_url, &self.output);
        self.child = child;
        self.url = url;
    }

    /// Returns the process id of the running server.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Returns the most resident memory the process has used so far (`VmHWM`), in KiB. Only
    /// Linux reports it, so elsewhere this returns `None`.
    pub fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// Returns the base URL, such as `http://127.0.0.1:41234`, without a final `/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Returns the `sqlite://` or `postgres://` URL of the server's database.
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Returns the kind of database the server runs on.
    pub fn database(&self) -> Database {
        self.config.database
    }

    /// Returns the token of the admin agent of the demo client.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Returns every line the server has printed so far, stdout and stderr interleaved.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().expect("output lock").clone()
    }

    /// Returns an API client that sends `token`.
    pub fn api(&self, token: &str) -> Api {
        Api::new(&self.url, Some(token))
    }

    /// Returns an API client that sends the admin agent's token.
    pub fn admin_api(&self) -> Api {
        self.api(&self.admin_token)
    }

    /// Runs `callout ARGS --database URL` against this server's database and returns the JSON
    /// line it prints. Panics with its output when it fails.
    pub fn run_cli(&self, args: &[&str]) -> Value {
        let binary = self.config.binary.clone().unwrap_or_else(callout_bin);
        let result = Command::new(&binary)
            .args(args)
            .args(["--database", &self.database_url])
            .env_remove("DATABASE_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|error| panic!("failed to run {}: {error}", binary.display()));
        let stdout = String::from_utf8_lossy(&result.stdout);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(
            result.status.success(),
            "`callout {}` failed with {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            args.join(" "),
            result.status
        );

        let line = stdout
            .lines()
            .find(|line| line.trim_start().starts_with('{'));
        let line = line.unwrap_or_else(|| {
            panic!(
                "`callout {}` printed no JSON line\nstdout:\n{stdout}",
                args.join(" ")
            )
        });
        serde_json::from_str(line).unwrap_or_else(|error| {
            panic!(
                "`callout {}` printed invalid JSON ({error}): {line}",
                args.join(" ")
            )
        })
    }

    /// Creates a client with `callout client add`.
    pub fn add_client(&self, name: &str) -> ClientRecord {
        let printed = self.run_cli(&["client", "add", name]);
        from_value(printed, "callout client add")
    }

    /// Creates an agent with `callout agent add`.
    pub fn add_agent(&self, agent: &NewAgent) -> AgentRecord {
        let client_id = agent.client_id.to_string();
        let mut args = vec![
            "agent",
            "add",
            "--client",
            &client_id,
            "--username",
            &agent.username,
        ];
        let options = [
            ("--name", &agent.name),
            ("--email", &agent.email),
            ("--lang", &agent.lang),
        ];
        for (flag, value) in options {
            if let Some(value) = value {
                args.push(flag);
                args.push(value);
            }
        }
        if agent.admin {
            args.push("--admin");
        }
        let printed = self.run_cli(&args);
        from_value(printed, "callout agent add")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `count` servers with `config` on `database` from as many threads, and returns them
/// once each accepts connections.
fn start_at_once(config: &ServerConfig, database: &Arc<TestDatabase>, count: usize) -> Vec<Server> {
    let starting: Vec<_> = (0..count)
        .map(|_| {
            let (config, database) = (config.clone(), Arc::clone(database));
            thread::spawn(move || Server::start_on(config, database))
        })
        .collect();

    // Every thread is joined before a failure is reported, so the servers that did start are
    // dropped, and their processes killed, rather than left running after the test.
    let mut servers = Vec::new();
    let mut failures = 0;
    for start in starting {
        match start.join() {
            Ok(server) => servers.push(server),
            Err(_) => failures += 1,
        }
    }
    assert_eq!(
        failures, 0,
        "{failures} of {count} callout processes failed to start; their messages are above"
    );
    servers
}

/// Starts `callout serve` with `config` on `database_url` and returns the process and its base
/// URL once it prints its `listening on` line. Its output lines are appended to `output`.
fn spawn_serve(
    config: &ServerConfig,
    database_url: &str,
    output: &Arc<Mutex<Vec<String>>>,
) -> (Child, String) {
    let binary = config.binary.clone().unwrap_or_else(callout_bin);
    let mut command = Command::new(&binary);
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        database_url,
    ]);
    if let Some(web_dir) = &config.web_dir {
        command.arg("--web-dir").arg(web_dir);
    }
    if config.allow_loopback {
        command.args([
            "--allow-network",
            "127.0.0.0/8",
            "--allow-network",
            "::1/128",
        ]);
    }
    // Tests send many requests with bad tokens on purpose; the limit on them has a test of
    // its own.
    command.args(["--max-auth-failures", "1000000"]);
    command.args(&config.args);
    // The flags above configure the server, so inherited variables must not override them.
    command
        .env_remove("CALLOUT_LISTEN")
        .env_remove("DATABASE_URL")
        .env_remove("CALLOUT_WEB_DIR")
        .env_remove("CALLOUT_AGENT_COLUMNS")
        .env("CALLOUT_ADMIN_TOKEN", &config.admin_token)
        // Plain log lines read better in a failed test's output than colour codes.
        .env("NO_COLOR", "1")
        .envs(config.env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|error| panic!("failed to start {}: {error}", binary.display()));

    let (url_sender, url_receiver) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    forward_output(stdout, "stdout", Arc::clone(output), Some(url_sender));
    forward_output(stderr, "stderr", Arc::clone(output), None);

    match url_receiver.recv_timeout(STARTUP_TIMEOUT) {
        Ok(url) => (child, url),
        Err(wait_error) => {
            let _ = child.kill();
            let status = child.wait().map(|status| status.to_string());
            let lines = output.lock().expect("output lock").join("\n");
            let failure = match wait_error {
                mpsc::RecvTimeoutError::Timeout => "timed out before `listening on http://…`",
                mpsc::RecvTimeoutError::Disconnected => "exited before it was listening",
            };
            panic!(
                "callout serve --database {database_url} {failure} (exit status: {status:?}); \
                 its output:\n{lines}"
            );
        }
    }
}

/// Copies the lines of `stream` to the test's output and to `output`, and sends the URL of
/// the first `listening on` line to `url_sender`.
///
/// The stream is read until the process ends, because a server whose stdout pipe closed would
/// fail on its next log line.
fn forward_output(
    stream: impl Read + Send + 'static,
    name: &'static str,
    output: Arc<Mutex<Vec<String>>>,
    mut url_sender: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut bytes = Vec::new();
        loop {
            bytes.clear();
            match reader.read_until(b'\n', &mut bytes) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&bytes).trim_end().to_string();
            eprintln!("[callout {name}] {line}");

            if let Some(url) = listening_url(&line) {
                if let Some(sender) = url_sender.take() {
                    let _ = sender.send(url);
                }
            }
            output.lock().expect("output lock").push(line);
        }
    });
}

/// Returns the URL of a line such as `listening on http://127.0.0.1:41234`.
fn listening_url(line: &str) -> Option<String> {
    let rest = &line[line.find("listening on ")? + "listening on ".len()..];
    let url: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '[' | ']'))
        .collect();
    let url = url.trim_end_matches('/');
    url.starts_with("http://").then(|| url.to_string())
}

/// Returns a token that no other test or run uses.
fn unique_token(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{prefix}-{}-{nanos:x}", std::process::id())
}

fn from_value<T: DeserializeOwned>(value: Value, source: &str) -> T {
    serde_json::from_value(value.clone())
        .unwrap_or_else(|error| panic!("unexpected JSON from {source} ({error}): {value}"))
}

// ---------------------------------------------------------------------------------------------
// Command-line records

/// A client as `callout client add` prints it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct ClientRecord {
    /// The client's id.
    pub id: i64,
    /// The client's name.
    pub name: String,
}

/// The options of `callout agent add`.
#[derive(Clone, Debug, Default)]
pub struct NewAgent {
    /// The client the agent belongs to.
    pub client_id: i64,
    /// The login name.
    pub username: String,
    /// The full name, the value of `{agent.name}`.
    pub name: Option<String>,
    /// The email address.
    pub email: Option<String>,
    /// The language code, such as `en`.
    pub lang: Option<String>,
    /// Whether the agent is an admin of its client.
    pub admin: bool,
}

impl NewAgent {
    /// Creates the options for an agent of `client_id` called `username`, with nothing else
    /// set.
    pub fn new(client_id: i64, username: &str) -> NewAgent {
        NewAgent {
            client_id,
            username: username.to_string(),
            ..NewAgent::default()
        }
    }
}

/// An agent as `callout agent add` prints it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct AgentRecord {
    /// The agent's id.
    pub id: i64,
    /// The client the agent belongs to.
    pub client_id: i64,
    /// The login name.
    pub username: String,
    /// The API token.
    pub token: String,
}

// ---------------------------------------------------------------------------------------------
// The loopback receiver

/// A request that reached the [`Receiver`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedRequest {
    /// The method, such as `GET`.
    pub method: String,
    /// The request target exactly as sent: the path and, after `?`, the raw query. Nothing in
    /// it is decoded.
    pub path_and_query: String,
}

impl ReceivedRequest {
    /// Returns the path, still percent-encoded.
    pub fn path(&self) -> &str {
        self.path_and_query
            .split_once('?')
            .map_or(&self.path_and_query, |(path, _)| path)
    }

    /// Returns the raw query without its `?`, if there is one.
    pub fn query(&self) -> Option<&str> {
        self.path_and_query.split_once('?').map(|(_, query)| query)
    }
}

type RequestLog = Arc<Mutex<Vec<ReceivedRequest>>>;

/// An HTTP server on `127.0.0.1` that records every request and responds `200 ok`.
///
/// It runs on its own thread and runtime, so it keeps responding while the test blocks. It
/// stops when dropped.
pub struct Receiver {
    address: SocketAddr,
    requests: RequestLog,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Receiver {
    /// Starts a receiver on a free port.
    pub fn start() -> Receiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("failed to bind the receiver to 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("failed to make the receiver's socket nonblocking");
        let address = listener
            .local_addr()
            .expect("the receiver's socket has an address");

        let requests = RequestLog::default();
        let app = axum::Router::new()
            .fallback(record_request)
            .with_state(Arc::clone(&requests));
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("failed to build the receiver's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("failed to register the receiver's socket");
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = shutdown_signal.await;
                    })
                    .await
                    .expect("the receiver failed");
            });
        });

        Receiver {
            address,
            requests,
            shutdown: Some(shutdown),
        }
    }

    /// Returns the base URL, such as `http://127.0.0.1:41235`, without a final `/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the port.
    pub fn port(&self) -> u16 {
        self.address.port()
    }

    /// Returns every request received so far, oldest first.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.lock().expect("receiver lock").clone()
    }

    /// Returns the requests received so far whose path is `path`, oldest first.
    pub fn requests_to(&self, path: &str) -> Vec<ReceivedRequest> {
        self.requests()
            .into_iter()
            .filter(|request| request.path() == path)
            .collect()
    }

    /// Waits until at least `count` requests to `path` have arrived and returns all requests
    /// to it. Panics after [`DELIVERY_TIMEOUT`] with every request received.
    pub async fn wait_for_requests(&self, path: &str, count: usize) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            let matching = self.requests_to(path);
            if matching.len() >= count {
                return matching;
            }
            if Instant::now() >= deadline {
                panic!(
                    "the receiver got {} of {count} expected requests to {path} within {} s; \
                     all requests: {:#?}",
                    matching.len(),
                    DELIVERY_TIMEOUT.as_secs(),
                    self.requests()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn record_request(
    State(requests): State<RequestLog>,
    method: Method,
    uri: Uri,
) -> &'static str {
    // An origin-form request target arrives in `path_and_query` as the bytes on the wire.
    let path_and_query = uri
        .path_and_query()
        .map_or_else(|| uri.to_string(), |pq| pq.to_string());
    let request = ReceivedRequest {
        method: method.to_string(),
        path_and_query,
    };
    requests.lock().expect("receiver lock").push(request);
    "ok"
}

// ---------------------------------------------------------------------------------------------
// The scripted receiver

/// A request that reached a [`ScriptedReceiver`], as it arrived on the wire.
#[derive(Clone, Debug)]
pub struct CapturedRequest {
    /// Its position among the requests the receiver got, from 0.
    pub index: usize,
    /// The method, such as `POST`.
    pub method: String,
    /// The request target exactly as sent: the path and, after `?`, the raw query.
    pub target: String,
    /// The headers in the order sent, names in lower case, values as the bytes sent.
    pub headers: Vec<(String, Vec<u8>)>,
    /// The body, read as `Content-Length` announced it.
    pub body: Vec<u8>,
    /// When the whole request had arrived, by the wall clock.
    pub received_at: SystemTime,
    /// The same moment by the monotonic clock, for measuring delays within this process.
    pub received_instant: Instant,
    /// When the receiver finished writing its response, if it has.
    pub responded_at: Option<SystemTime>,
    /// When the client closed the connection while waiting for the response, if it did: it
    /// gave up, or its process ended. Recorded for [`Response::Raw`] with a delay and for
    /// [`Response::Silent`].
    pub client_closed_at: Option<SystemTime>,
}

impl CapturedRequest {
    /// Returns the value of the header `name` (any case), if it was sent and is UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .and_then(|(_, value)| std::str::from_utf8(value).ok())
    }

    /// Returns the path of the target, still percent-encoded.
    pub fn path(&self) -> &str {
        self.target
            .split_once('?')
            .map_or(&self.target, |(path, _)| path)
    }
}

/// The response a [`ScriptedReceiver`] sends to one request, or its silence.
#[derive(Clone, Debug)]
pub enum Response {
    /// Waits `delay`, writes `bytes` (a whole HTTP response, sent as is) and closes.
    Raw {
        /// The wait before the first byte.
        delay: Duration,
        /// The response.
        bytes: Vec<u8>,
    },
    /// Writes `head` at once, then `body` in pieces of `chunk` bytes with `pause` after each
    /// piece, and closes.
    Trickle {
        /// The status line and headers, ending with the blank line.
        head: Vec<u8>,
        /// The body.
        body: Vec<u8>,
        /// Bytes written at a time.
        chunk: usize,
        /// The wait after each piece.
        pause: Duration,
    },
    /// Keeps the connection open and writes nothing until the client closes it or the
    /// receiver stops.
    Silent,
}

impl Response {
    /// Returns a response with `status`, `headers` and `body`, adding `Content-Length` and
    /// `Connection: close`. Header values are bytes, so a test can send values that are not
    /// ASCII.
    pub fn new(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Response {
        Response::Raw {
            delay: Duration::ZERO,
            bytes: response_bytes(status, headers, body),
        }
    }

    /// Returns a response with `status` and a short text body.
    pub fn status(status: u16) -> Response {
        let body = format!("status {status}\n");
        Response::new(status, &[("content-type", b"text/plain")], body.as_bytes())
    }

    /// Returns the same response, sent after `delay`. A [`Response::Silent`] stays silent.
    pub fn after(self, delay: Duration) -> Response {
        match self {
            Response::Raw { bytes, .. } => Response::Raw { delay, bytes },
            other => other,
        }
    }
}

/// Returns the bytes of an HTTP/1.1 response with `Content-Length` and `Connection: close`.
pub fn response_bytes(status: u16, headers: &[(&str, &[u8])], body: &[u8]) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Unknown");
    let mut bytes = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        bytes.extend_from_slice(name.as_bytes());
        bytes.extend_from_slice(b": ");
        bytes.extend_from_slice(value);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    bytes.extend_from_slice(b"connection: close\r\n\r\n");
    bytes.extend_from_slice(body);
    bytes
}

/// Returns the response to send to a request.
type Script = Arc<dyn Fn(&CapturedRequest) -> Response + Send + Sync>;

type CapturedLog = Arc<Mutex<Vec<CapturedRequest>>>;

/// The maximum size in bytes of a request head that a [`ScriptedReceiver`] reads.
const REQUEST_HEAD_LIMIT: usize = 64 * 1024;

/// An HTTP/1.1 server on `127.0.0.1`, written on raw TCP so that it can misbehave: it records
/// every request with its headers and body and responds as a script decides, including responses
/// that a well-behaved HTTP library would not send.
///
/// It reads one request per connection and then closes the connection. A chunked request body
/// is not decoded, because the call-outs it receives announce `Content-Length`. It runs on its
/// own thread and runtime and stops when dropped, closing the connections it kept open.
pub struct ScriptedReceiver {
    address: SocketAddr,
    requests: CapturedLog,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ScriptedReceiver {
    /// Starts a receiver on a free port that responds to every request with `script(request)`.
    pub fn start(
        script: impl Fn(&CapturedRequest) -> Response + Send + Sync + 'static,
    ) -> ScriptedReceiver {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("failed to bind the scripted receiver to 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("failed to make the scripted receiver's socket nonblocking");
        let address = listener
            .local_addr()
            .expect("the scripted receiver's socket has an address");

        let requests = CapturedLog::default();
        let script: Script = Arc::new(script);
        let (shutdown, shutdown_signal) = tokio::sync::oneshot::channel::<()>();
        let log = Arc::clone(&requests);
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("failed to build the scripted receiver's runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)
                    .expect("failed to register the scripted receiver's socket");
                tokio::select! {
                    _ = accept_loop(listener, log, script) => {}
                    _ = shutdown_signal => {}
                }
            });
            // Dropping the runtime cancels the connection tasks, so silent ones close too.
            drop(runtime);
        });

        ScriptedReceiver {
            address,
            requests,
            shutdown: Some(shutdown),
        }
    }

    /// Returns the base URL, such as `http://127.0.0.1:41236`, without a final `/`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns the address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Returns every request received so far, in the order they arrived.
    pub fn requests(&self) -> Vec<CapturedRequest> {
        self.requests
            .lock()
            .expect("scripted receiver lock")
            .clone()
    }

    /// Returns how many requests have arrived.
    pub fn count(&self) -> usize {
        self.requests.lock().expect("scripted receiver lock").len()
    }

    /// Waits until at least `count` requests have arrived and returns all of them. Panics
    /// after `timeout` with the requests received.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<CapturedRequest> {
        let deadline = Instant::now() + timeout;
        loop {
            let requests = self.requests();
            if requests.len() >= count {
                return requests;
            }
            if Instant::now() >= deadline {
                let targets: Vec<&str> = requests.iter().map(|r| r.target.as_str()).collect();
                panic!(
                    "the scripted receiver got {} of {count} expected requests within {:?}; \
                     their targets: {targets:?}",
                    requests.len(),
                    timeout
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Drop for ScriptedReceiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn accept_loop(listener: tokio::net::TcpListener, log: CapturedLog, script: Script) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&log),
            Arc::clone(&script),
        ));
    }
}

/// Reads one request from `stream`, records it, and responds as `script` decides.
async fn serve_connection(mut stream: tokio::net::TcpStream, log: CapturedLog, script: Script) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let Some(mut request) = read_request(&mut stream).await else {
        return;
    };
    let index = {
        let mut requests = log.lock().expect("scripted receiver lock");
        request.index = requests.len();
        requests.push(request.clone());
        request.index
    };

    let written = match script(&request) {
        Response::Raw { delay, bytes } => {
            if delay_unless_closed(&mut stream, delay).await {
                stream.write_all(&bytes).await.is_ok()
            } else {
                record_client_close(&log, index);
                false
            }
        }
        Response::Trickle {
            head,
            body,
            chunk,
            pause,
        } => {
            let mut written = stream.write_all(&head).await.is_ok();
            for piece in body.chunks(chunk.max(1)) {
                if !written {
                    break;
                }
                written = stream.write_all(piece).await.is_ok();
                tokio::time::sleep(pause).await;
            }
            written
        }
        Response::Silent => {
            // Reads until the client gives up, so the connection stays open until then.
            let mut sink = [0u8; 1024];
            while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
            record_client_close(&log, index);
            false
        }
    };
    if written {
        let _ = stream.shutdown().await;
        let mut requests = log.lock().expect("scripted receiver lock");
        requests[index].responded_at = Some(SystemTime::now());
    }
}

/// Waits `delay` and returns true, or returns false as soon as the client closes the
/// connection. A client only closes before the response when it gives up or its process ends.
async fn delay_unless_closed(stream: &mut tokio::net::TcpStream, delay: Duration) -> bool {
    use tokio::io::AsyncReadExt;

    if delay.is_zero() {
        return true;
    }
    let closed = async {
        let mut sink = [0u8; 1024];
        while matches!(stream.read(&mut sink).await, Ok(read) if read > 0) {}
    };
    // A client that is gone by the time the response is due was cut off. Checking for that
    // first keeps a receiver that was descheduled past the delay, as on a loaded machine,
    // from counting the request as responded to.
    tokio::select! {
        biased;
        _ = closed => false,
        _ = tokio::time::sleep(delay) => true,
    }
}

fn record_client_close(log: &CapturedLog, index: usize) {
    let mut requests = log.lock().expect("scripted receiver lock");
    requests[index].client_closed_at = Some(SystemTime::now());
}

/// Reads a request head and its `Content-Length` body. Returns `None` when the client closes
/// the connection first or sends something that is not an HTTP/1.1 request.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<CapturedRequest> {
    use tokio::io::AsyncReadExt;

    let mut buffer = Vec::new();
    let head_end = loop {
        if let Some(position) = find_subsequence(&buffer, b"\r\n\r\n") {
            break position;
        }
        if buffer.len() > REQUEST_HEAD_LIMIT {
            return None;
        }
        let mut chunk = [0u8; 8192];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        buffer.extend_from_slice(&chunk[..read]);
    };

    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let target = request_line.next()?.to_string();
    // The values are taken from the raw bytes, so non-UTF-8 values keep their bytes.
    let mut headers = Vec::new();
    let mut offset = head.find("\r\n").map_or(head_end, |end| end + 2);
    while offset < head_end {
        let end =
            find_subsequence(&buffer[offset..head_end], b"\r\n").map_or(head_end, |e| offset + e);
        let line = &buffer[offset..end];
        if let Some(colon) = line.iter().position(|&byte| byte == b':') {
            let name = String::from_utf8_lossy(&line[..colon]).to_ascii_lowercase();
            let value = line[colon + 1..].trim_ascii().to_vec();
            headers.push((name, value));
        }
        offset = end + 2;
    }
    let length: usize = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| std::str::from_utf8(value).ok()?.trim().parse().ok())
        .unwrap_or(0);

    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let mut chunk = vec![0u8; (length - body.len()).min(64 * 1024)];
        let read = stream.read(&mut chunk).await.ok()?;
        if read == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..read]);
    }
    body.truncate(length);

    Some(CapturedRequest {
        index: 0,
        method,
        target,
        headers,
        body,
        received_at: SystemTime::now(),
        received_instant: Instant::now(),
        responded_at: None,
        client_closed_at: None,
    })
}

fn find_subsequence(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

// ---------------------------------------------------------------------------------------------
// The JSON API

/// A client of Callout's JSON API that sends one agent's bearer token.
///
/// The typed methods panic, naming the request and the response, when the status is not the
/// one the API documents for success. [`Api::send`] returns any response.
#[derive(Clone, Debug)]
pub struct Api {
    base_url: String,
    authorization: Option<String>,
    http: reqwest::Client,
}

/// A body for [`Api::send`].
#[derive(Clone, Debug)]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document.
    Json(Value),
    /// A CSV file, sent as `text/csv`.
    Csv(String),
}

/// A response of the API, read whole.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The request, such as `POST /api/hooks`, for failure messages.
    pub request: String,
    /// The HTTP status code.
    pub status: u16,
    /// The body as text.
    pub text: String,
    /// The body as JSON, or `Value::Null` when it is empty or not JSON.
    pub body: Value,
}

impl Reply {
    /// Panics, showing the request and the response, unless the status is `expected`.
    pub fn expect_status(&self, expected: u16) -> &Reply {
        assert_eq!(
            self.status, expected,
            "{} returned {} instead of {expected}, with body: {}",
            self.request, self.status, self.text
        );
        self
    }

    /// Deserializes the body as `T`, panicking with the body when it does not fit.
    pub fn json<T: DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!(
                "{} returned an unexpected body ({error}): {}",
                self.request, self.text
            )
        })
    }

    /// Returns the body as an API error, after checking the status is `status`.
    pub fn error(&self, status: u16) -> ApiError {
        self.expect_status(status);
        self.json()
    }
}

impl Api {
    /// Creates a client of the server at `base_url` that sends `token`, or no
    /// `Authorization` header when it is `None`.
    pub fn new(base_url: &str, token: Option<&str>) -> Api {
        Api::with_authorization(base_url, token.map(|token| format!("Bearer {token}")))
    }

    /// Creates a client that sends `authorization` verbatim as the `Authorization` header,
    /// for tests of malformed headers.
    pub fn with_authorization(base_url: &str, authorization: Option<String>) -> Api {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("failed to build the HTTP client");
        Api {
            base_url: base_url.trim_end_matches('/').to_string(),
            authorization,
            http,
        }
    }

    /// Sends `method path_and_query` with `body` and returns the response, whatever its status.
    pub async fn send(&self, method: Method, path_and_query: &str, body: Body) -> Reply {
        let request = format!("{method} {path_and_query}");
        let url = format!("{}{path_and_query}", self.base_url);
        let mut builder = self.http.request(method, &url);
        if let Some(authorization) = &self.authorization {
            builder = builder.header(reqwest::header::AUTHORIZATION, authorization);
        }
        builder = match body {
            Body::Empty => builder,
            Body::Json(value) => builder.json(&value),
            Body::Csv(text) => builder
                .header(reqwest::header::CONTENT_TYPE, "text/csv")
                .body(text),
        };

        let response = builder
            .send()
            .await
            .unwrap_or_else(|error| panic!("{request} failed before a response: {error}"));
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .unwrap_or_else(|error| panic!("{request}: failed to read the body: {error}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            request,
            status,
            text,
            body,
        }
    }

    /// Sends a `GET`.
    pub async fn get(&self, path_and_query: &str) -> Reply {
        self.send(Method::GET, path_and_query, Body::Empty).await
    }

    /// Returns `GET /api/me`.
    pub async fn me(&self) -> Value {
        self.get("/api/me").await.expect_status(200).json()
    }

    /// Creates a hook, expecting 201.
    pub async fn create_hook(&self, hook: &NewHook) -> Hook {
        let reply = self
            .send(Method::POST, "/api/hooks", Body::Json(hook.to_json()))
            .await;
        reply.expect_status(201).json()
    }

    /// Replaces a hook, expecting 200.
    pub async fn update_hook(&self, id: i64, hook: &NewHook) -> Hook {
        let path = format!("/api/hooks/{id}");
        let reply = self
            .send(Method::PUT, &path, Body::Json(hook.to_json()))
            .await;
        reply.expect_status(200).json()
    }

    /// Returns the client's hooks.
    pub async fn hooks(&self) -> Vec<Hook> {
        self.get("/api/hooks").await.expect_status(200).json()
    }

    /// Returns one hook.
    pub async fn hook(&self, id: i64) -> Hook {
        self.get(&format!("/api/hooks/{id}"))
            .await
            .expect_status(200)
            .json()
    }

    /// Imports a calling list called `name` from `csv`, expecting 201.
    pub async fn import_list(&self, name: &str, csv: &str) -> CallingList {
        let path = format!("/api/calling-lists?name={}", encode_query_value(name));
        let reply = self
            .send(Method::POST, &path, Body::Csv(csv.to_string()))
            .await;
        reply.expect_status(201).json()
    }

    /// Adds the contacts of `csv` to a calling list, expecting 200.
    pub async fn add_contacts(&self, list_id: i64, csv: &str) -> AddedContacts {
        let path = format!("/api/calling-lists/{list_id}/contacts");
        let reply = self
            .send(Method::POST, &path, Body::Csv(csv.to_string()))
            .await;
        reply.expect_status(200).json()
    }

    /// Returns the client's calling lists.
    pub async fn calling_lists(&self) -> Vec<CallingList> {
        self.get("/api/calling-lists")
            .await
            .expect_status(200)
            .json()
    }

    /// Returns one calling list.
    pub async fn calling_list(&self, id: i64) -> CallingList {
        self.get(&format!("/api/calling-lists/{id}"))
            .await
            .expect_status(200)
            .json()
    }

    /// Deletes a calling list, expecting 204.
    pub async fn delete_list(&self, id: i64) {
        let path = format!("/api/calling-lists/{id}");
        self.send(Method::DELETE, &path, Body::Empty)
            .await
            .expect_status(204);
    }

    /// Creates a campaign, a copy of `copy_of` when it is set, expecting 201.
    pub async fn create_campaign(&self, name: &str, copy_of: Option<i64>) -> Campaign {
        let mut body = serde_json::json!({ "name": name });
        if let Some(copy_of) = copy_of {
            body["copy_of"] = copy_of.into();
        }
        let reply = self
            .send(Method::POST, "/api/campaigns", Body::Json(body))
            .await;
        reply.expect_status(201).json()
    }

    /// Deletes a campaign, expecting 204.
    pub async fn delete_campaign(&self, id: i64) {
        let path = format!("/api/campaigns/{id}");
        self.send(Method::DELETE, &path, Body::Empty)
            .await
            .expect_status(204);
    }

    /// Returns the deliveries of `hook_id`, or of every hook of the client, newest first.
    pub async fn deliveries(&self, hook_id: Option<i64>) -> Vec<Delivery> {
        let path = match hook_id {
            Some(id) => format!("/api/deliveries?hook_id={id}"),
            None => "/api/deliveries".to_string(),
        };
        self.get(&path).await.expect_status(200).json()
    }

    /// Returns one delivery with its `attempts_log`.
    pub async fn delivery(&self, id: i64) -> Delivery {
        self.get(&format!("/api/deliveries/{id}"))
            .await
            .expect_status(200)
            .json()
    }

    /// Polls one delivery until `done` holds for it and returns it. Panics after `timeout`
    /// with the delivery as it was last seen.
    pub async fn wait_for_delivery(
        &self,
        id: i64,
        timeout: Duration,
        done: impl Fn(&Delivery) -> bool,
    ) -> Delivery {
        let deadline = Instant::now() + timeout;
        loop {
            let delivery = self.delivery(id).await;
            if done(&delivery) {
                return delivery;
            }
            if Instant::now() >= deadline {
                panic!("delivery {id} did not reach the expected state within {timeout:?}: {delivery:#?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until `hook_id` has at least one delivery and returns the oldest. Panics after
    /// [`DELIVERY_TIMEOUT`].
    pub async fn first_delivery(&self, hook_id: i64) -> Delivery {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            if let Some(delivery) = self.deliveries(Some(hook_id)).await.pop() {
                return delivery;
            }
            if Instant::now() >= deadline {
                panic!("hook {hook_id} has no delivery after {DELIVERY_TIMEOUT:?}");
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Gives a hook a new signing secret and returns the response body, `{ secret,
    /// previous_valid_until }`.
    pub async fn rotate_secret(&self, hook_id: i64) -> Value {
        let path = format!("/api/hooks/{hook_id}/secret");
        self.send(Method::POST, &path, Body::Empty)
            .await
            .expect_status(200)
            .json()
    }

    /// Attempts a delivery that has ended again, expecting 202.
    pub async fn redeliver(&self, id: i64) -> Delivery {
        let path = format!("/api/deliveries/{id}/redeliver");
        self.send(Method::POST, &path, Body::Empty)
            .await
            .expect_status(202)
            .json()
    }

    /// Attempts every failed delivery of a hook created since `since` (RFC 3339) again,
    /// expecting 202, and returns how many there were.
    pub async fn redeliver_failed(&self, hook_id: i64, since: &str) -> u64 {
        let path = format!("/api/hooks/{hook_id}/redeliver");
        let body = serde_json::json!({ "since": since });
        let reply = self.send(Method::POST, &path, Body::Json(body)).await;
        let answer: Value = reply.expect_status(202).json();
        answer["redelivered"].as_u64().unwrap_or_else(|| {
            panic!(
                "{} returned no `redelivered` count: {}",
                reply.request, reply.text
            )
        })
    }

    /// Test-fires a draft or saved hook with `POST /api/hooks/test` and returns the response,
    /// whatever its status.
    pub async fn test_fire(&self, draft: Value) -> Reply {
        self.send(Method::POST, "/api/hooks/test", Body::Json(draft))
            .await
    }

    /// Waits until `hook_id` has at least `count` succeeded deliveries and returns all of its
    /// deliveries, newest first. Panics after [`DELIVERY_TIMEOUT`] with the deliveries seen.
    pub async fn wait_for_deliveries(&self, hook_id: i64, count: usize) -> Vec<Delivery> {
        let deadline = Instant::now() + DELIVERY_TIMEOUT;
        loop {
            let deliveries = self.deliveries(Some(hook_id)).await;
            let succeeded = deliveries
                .iter()
                .filter(|d| d.status == "succeeded")
                .count();
            if succeeded >= count {
                return deliveries;
            }
            if Instant::now() >= deadline {
                panic!(
                    "hook {hook_id} has {succeeded} of {count} expected succeeded deliveries \
                     after {} s; its deliveries: {deliveries:#?}",
                    DELIVERY_TIMEOUT.as_secs()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Percent-encodes `value` for a query string: everything but `A-Z a-z 0-9 - . _ ~`.
pub fn encode_query_value(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// The body of `POST /api/hooks` and `PUT /api/hooks/{id}`.
#[derive(Clone, Debug)]
pub struct NewHook {
    /// The URL template.
    pub url: String,
    /// The target, such as `callinglist`.
    pub target: String,
    /// The event, such as `import`.
    pub event: String,
    /// Whether the hook fires. `None` leaves it out, so a new hook is enabled.
    pub enabled: Option<bool>,
    /// `GET` or `POST`. `None` leaves it out, so the hook uses `GET`.
    pub method: Option<String>,
    /// Whether call-outs are signed; sent on create only.
    pub signed: bool,
}

impl NewHook {
    /// Creates the body of an enabled hook.
    pub fn new(url: &str, target: &str, event: &str) -> NewHook {
        NewHook {
            url: url.to_string(),
            target: target.to_string(),
            event: event.to_string(),
            enabled: None,
            method: None,
            signed: false,
        }
    }

    /// Returns the same hook with `method` (`GET` or `POST`) set explicitly.
    pub fn method(self, method: &str) -> NewHook {
        NewHook {
            method: Some(method.to_string()),
            ..self
        }
    }

    /// Returns the same hook with signed call-outs: creating it returns its secret.
    pub fn signed(self) -> NewHook {
        NewHook {
            signed: true,
            ..self
        }
    }

    /// Returns the same hook with `enabled` set explicitly.
    pub fn enabled(self, enabled: bool) -> NewHook {
        NewHook {
            enabled: Some(enabled),
            ..self
        }
    }

    /// Returns the JSON body.
    pub fn to_json(&self) -> Value {
        let mut body = serde_json::json!({
            "url": self.url,
            "target": self.target,
            "event": self.event,
        });
        if let Some(enabled) = self.enabled {
            body["enabled"] = enabled.into();
        }
        if let Some(method) = &self.method {
            body["method"] = method.as_str().into();
        }
        if self.signed {
            body["signed"] = true.into();
        }
        body
    }
}

/// A hook as the API returns it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Hook {
    /// The hook's id.
    pub id: i64,
    /// The URL template.
    pub url: String,
    /// The target.
    pub target: String,
    /// The event.
    pub event: String,
    /// Whether it fires.
    pub enabled: bool,
    /// `GET` or `POST`.
    #[serde(default)]
    pub method: String,
    /// Why Callout disabled the hook, if it did.
    #[serde(default)]
    pub disabled_reason: Option<String>,
    /// Whether call-outs carry a `webhook-signature`.
    #[serde(default)]
    pub signed: bool,
    /// The start of the current run of failed call-outs, as RFC 3339.
    #[serde(default)]
    pub failing_since: Option<String>,
    /// The signing secret, present only in the response that created it.
    #[serde(default)]
    pub secret: Option<String>,
    /// The template's warnings, present on create and update.
    #[serde(default)]
    pub warnings: Vec<TemplateIssue>,
}

/// An error or warning about a hook's template.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct TemplateIssue {
    /// The kind, such as `TagUnknown`.
    pub kind: String,
    /// A sentence for a person.
    pub message: String,
    /// The input the span points into (`url`, `target` or `event`), on errors only.
    #[serde(default)]
    pub field: Option<String>,
    /// Byte offset where the problem starts.
    pub start: usize,
    /// Byte offset one past where it ends.
    pub end: usize,
    /// Line of `start`, from 1.
    pub line: usize,
    /// Column of `start` in characters, from 1.
    pub column: usize,
    /// The text to put in place of the span, on warnings where the fix is known.
    #[serde(default)]
    pub replacement: Option<String>,
}

/// The body of an API error response.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct ApiError {
    /// The machine-readable code, such as `csv_invalid`.
    pub code: String,
    /// A sentence for a person.
    pub detail: String,
    /// The line of a CSV file that could not be read, from 1.
    #[serde(default)]
    pub line: Option<u64>,
    /// The errors of a hook that does not validate.
    #[serde(default)]
    pub errors: Vec<TemplateIssue>,
    /// The warnings of a hook that does not validate.
    #[serde(default)]
    pub warnings: Vec<TemplateIssue>,
}

/// A calling list as the API returns it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct CallingList {
    /// The list's id.
    pub id: i64,
    /// The list's name.
    pub name: String,
    /// The header of the imported file.
    pub columns: Vec<String>,
    /// The number of contacts.
    pub contacts: u64,
}

/// The response body of `POST /api/calling-lists/{id}/contacts`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct AddedContacts {
    /// The list after the addition.
    #[serde(flatten)]
    pub list: CallingList,
    /// The number of contacts added.
    pub added: u64,
}

/// A campaign as the API returns it.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Campaign {
    /// The campaign's id.
    pub id: i64,
    /// The campaign's name.
    pub name: String,
    /// The campaign this one copies.
    pub copy_of: Option<i64>,
}

/// One call-out of one hook for one event.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Delivery {
    /// The delivery's id.
    pub id: i64,
    /// The hook that fired.
    pub hook_id: i64,
    /// The hook's target.
    pub target: String,
    /// The event.
    pub event: String,
    /// The id of the calling list or campaign the event happened to.
    pub object_id: i64,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// The number of attempts made.
    pub attempts: u32,
    /// The URL of the latest attempt.
    pub url: Option<String>,
    /// The receiver's status code at the latest attempt.
    pub response_status: Option<u16>,
    /// The latest attempt's duration in milliseconds.
    pub duration_ms: Option<u64>,
    /// The receiver's response body at the latest attempt, possibly cut short by the server.
    pub response_body: Option<String>,
    /// Why the latest attempt failed.
    pub error: Option<String>,
    /// The class of the latest attempt's failure, such as `timeout`.
    #[serde(default)]
    pub error_class: Option<String>,
    /// The `webhook-id` header of every attempt.
    #[serde(default)]
    pub message_id: String,
    /// When the event happened, as RFC 3339.
    #[serde(default)]
    pub created_at: String,
    /// When the delivery succeeded or failed for good, as RFC 3339.
    #[serde(default)]
    pub completed_at: Option<String>,
    /// When the next attempt is due, for a pending delivery, as RFC 3339.
    #[serde(default)]
    pub next_attempt_at: Option<String>,
    /// Every attempt's full record, present only in `GET /api/deliveries/{id}`.
    #[serde(default)]
    pub attempts_log: Vec<Attempt>,
}

/// One attempt of a delivery, or the record that a test-fire returns.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Attempt {
    /// The attempt's number, from 1; absent from a test-fire.
    #[serde(default)]
    pub attempt: Option<u32>,
    /// The method.
    pub method: String,
    /// The URL called, passwords masked.
    pub url: String,
    /// The IP address and port dialled, such as `127.0.0.1:41234`.
    pub address: Option<String>,
    /// The headers sent, as `[name, value]` pairs.
    pub request_headers: Vec<(String, String)>,
    /// The receiver's status code.
    pub response_status: Option<u16>,
    /// The headers received, as `[name, value]` pairs.
    pub response_headers: Vec<(String, String)>,
    /// The start of the body: text, or base64 when `response_body_utf8` is false.
    pub response_body: Option<String>,
    /// Whether `response_body` is the body's text rather than base64 of its bytes.
    pub response_body_utf8: bool,
    /// Whether the body went on past what was kept.
    pub response_body_truncated: bool,
    /// The class of failure, such as `timeout`, if the attempt failed.
    pub error_class: Option<String>,
    /// What went wrong, if the attempt failed.
    pub error: Option<String>,
    /// Time spent in each step.
    pub timings: Timings,
    /// When the attempt started, as RFC 3339; absent from a test-fire.
    #[serde(default)]
    pub started_at: Option<String>,
    /// When the next attempt is due, if one was scheduled, as RFC 3339.
    #[serde(default)]
    pub next_attempt_at: Option<String>,
}

impl Attempt {
    /// Returns the value of the request header `name` (any case), if it was sent.
    pub fn request_header(&self, name: &str) -> Option<&str> {
        find_header(&self.request_headers, name)
    }

    /// Returns the value of the response header `name` (any case), if it was received.
    pub fn response_header(&self, name: &str) -> Option<&str> {
        find_header(&self.response_headers, name)
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(header, _)| header.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Milliseconds spent in each step of an attempt, from its start.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct Timings {
    /// Resolving the host; none for an IP address.
    pub dns_ms: Option<f64>,
    /// Until the TCP connection was open.
    pub connect_ms: Option<f64>,
    /// Until the TLS handshake was done, for https.
    pub tls_ms: Option<f64>,
    /// Until the response's status line and headers arrived.
    pub first_byte_ms: Option<f64>,
    /// The whole attempt.
    pub total_ms: f64,
}
