//! The `callout` command line: `serve`, `client add` and `agent add`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::{Args, Parser, Subcommand};
use tokio::sync::{watch, Notify};
use tower_http::trace::TraceLayer;

use crate::api::{self, check_agent_lengths, check_length, AppState};
use crate::config::{DispatchSettings, Limits, Settings, DEFAULT_RETRY_SCHEDULE};
use crate::db::{self, NewAgent};
use crate::dispatch::retry::{parse_duration, parse_schedule};
use crate::dispatch::Dispatcher;
use crate::http_server::ClientDeadlines;
use crate::metrics::Metrics;
use ipnet::IpNet;

/// Callout: call-out URLs fired when contact lists and campaigns change.
#[derive(Parser, Debug)]
#[command(name = "callout", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Format of the logs on standard error: text for people, json for log collectors.
    #[arg(
        long,
        global = true,
        env = "CALLOUT_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
}

/// The format of the logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line per event, for people.
    Text,
    /// One JSON object per line, with the span fields, for log collectors.
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API and the admin page, and dispatch call-outs.
    Serve(ServeArgs),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage agents.
    #[command(subcommand)]
    Agent(AgentCommand),
}

#[derive(Args, Debug)]
struct DatabaseArg {
    /// Database URL; the default is a SQLite file under ./data/.
    #[arg(long, env = "DATABASE_URL")]
    database: Option<String>,
}

impl DatabaseArg {
    fn url(&self) -> String {
        self.database.clone().unwrap_or_else(db::default_url)
    }
}

#[derive(Args, Debug)]
struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port.
    #[arg(long, env = "CALLOUT_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    #[command(flatten)]
    database: DatabaseArg,
    /// Folder of the built admin page.
    #[arg(long, env = "CALLOUT_WEB_DIR", default_value = "web/dist")]
    web_dir: PathBuf,
    /// An extra agent column of this deployment, which becomes an `agent.<column>` tag;
    /// repeat the flag or separate names with commas.
    #[arg(
        long = "agent-column",
        env = "CALLOUT_AGENT_COLUMNS",
        value_delimiter = ','
    )]
    agent_columns: Vec<String>,
    /// API token of the admin agent created on first start, instead of a random one.
    #[arg(long, env = "CALLOUT_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Deadline for resolving a receiver's host and connecting to it, such as 5s or 500ms.
    #[arg(long, env = "CALLOUT_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Deadline for a whole call-out, connection included.
    #[arg(long, env = "CALLOUT_REQUEST_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    request_timeout: Duration,
    /// Delays before the second and later attempts of a failed call-out, comma-separated.
    #[arg(long, env = "CALLOUT_RETRY_SCHEDULE", default_value = DEFAULT_RETRY_SCHEDULE, value_parser = parse_retry_schedule)]
    retry_schedule: RetrySchedule,
    /// How much each retry delay varies at random, as a fraction from 0 to 1.
    #[arg(long, env = "CALLOUT_RETRY_JITTER", default_value_t = 0.2)]
    retry_jitter: f64,
    /// A network that call-outs may reach although it is private, loopback or otherwise
    /// denied, such as 10.20.0.0/16; repeat the flag or separate networks with commas.
    #[arg(
        long = "allow-network",
        env = "CALLOUT_ALLOW_NETWORKS",
        value_delimiter = ','
    )]
    allowed_networks: Vec<IpNet>,
    /// Disable a hook whose call-outs have all failed for this long.
    #[arg(long, env = "CALLOUT_DISABLE_AFTER", default_value = "5d", value_parser = parse_duration)]
    disable_after: Duration,
    /// Call-outs made at the same time, at most.
    #[arg(long, env = "CALLOUT_DISPATCH_CONCURRENCY", default_value_t = 64)]
    dispatch_concurrency: usize,
    /// Largest CSV upload, in bytes.
    #[arg(long, env = "CALLOUT_MAX_UPLOAD_BYTES", default_value_t = Limits::default().max_upload_bytes)]
    max_upload_bytes: usize,
    /// Largest JSON request body, in bytes.
    #[arg(long, env = "CALLOUT_MAX_JSON_BYTES", default_value_t = Limits::default().max_json_bytes)]
    max_json_bytes: usize,
    /// Maximum length of a hook URL template, in bytes.
    #[arg(long, env = "CALLOUT_MAX_TEMPLATE_BYTES", default_value_t = Limits::default().max_template_bytes)]
    max_template_bytes: usize,
    /// Most hooks one client may have.
    #[arg(long, env = "CALLOUT_MAX_HOOKS_PER_CLIENT", default_value_t = Limits::default().max_hooks_per_client)]
    max_hooks_per_client: i64,
    /// Requests with invalid tokens one address may make per minute before it is blocked for
    /// the rest of the minute.
    #[arg(long, env = "CALLOUT_MAX_AUTH_FAILURES", default_value_t = crate::auth::MAX_FAILURES)]
    max_auth_failures: u32,
    /// Most contacts one CSV upload may hold.
    #[arg(long, env = "CALLOUT_MAX_ROWS_PER_IMPORT", default_value_t = Limits::default().max_rows_per_import)]
    max_rows_per_import: usize,
    /// Deadline for a client of the API to send its request line and headers; the connection
    /// is closed when it passes.
    #[arg(long, env = "CALLOUT_HEADER_READ_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// Maximum pause within a request body that a client of the API may make. The request is
    /// rejected with 408 when it passes.
    #[arg(long, env = "CALLOUT_BODY_IDLE_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    body_idle_timeout: Duration,
}

#[derive(Subcommand, Debug)]
enum ClientCommand {
    /// Create a client and print it as JSON.
    Add {
        /// The client's name.
        name: String,
        #[command(flatten)]
        database: DatabaseArg,
    },
}

#[derive(Subcommand, Debug)]
enum AgentCommand {
    /// Create an agent and print it, with its API token, as JSON.
    Add(AgentAddArgs),
}

#[derive(Args, Debug)]
struct AgentAddArgs {
    /// Id of the agent's client.
    #[arg(long)]
    client: i64,
    /// Unique sign-in name.
    #[arg(long)]
    username: String,
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Language code, such as `en`.
    #[arg(long)]
    lang: Option<String>,
    /// Make the agent an administrator of its client.
    #[arg(long)]
    admin: bool,
    /// Value of an extra agent column, as COLUMN=VALUE; repeat for several.
    #[arg(long = "column", value_parser = parse_column)]
    columns: Vec<(String, String)>,
    #[command(flatten)]
    database: DatabaseArg,
}

/// A retry schedule as one argument; clap would take a bare `Vec` for a repeated flag.
#[derive(Clone, Debug)]
struct RetrySchedule(Vec<Duration>);

fn parse_retry_schedule(text: &str) -> Result<RetrySchedule, String> {
    parse_schedule(text).map(RetrySchedule)
}

fn parse_column(text: &str) -> Result<(String, String), String> {
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("invalid column `{text}`: write COLUMN=VALUE"))?;
    check_column_name(name)?;
    Ok((name.to_string(), value.to_string()))
}

/// Accepts column names that are valid in a tag: letters, digits and `_`.
fn check_column_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "invalid agent column `{name}`: use letters, digits and `_`"
        ))
    }
}

/// Sets up logs on standard error; `RUST_LOG` chooses what is shown.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| LossyStderr);
    match format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
}

/// Standard error for logs, dropping what cannot be written. The default writer panics in the
/// thread that logs when standard error is a closed pipe, which stopped the signal handler
/// from shutting the server down.
struct LossyStderr;

impl std::io::Write for LossyStderr {
    fn write(&mut self, buffer: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buffer);
        Ok(buffer.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// Runs the command that `cli` names.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Client(ClientCommand::Add { name, database }) => {
            if name.trim().is_empty() {
                return Err("the client name is empty".to_string());
            }
            check_length("client name", &name)?;
            let pool = db::connect(&database.url()).await?;
            let id = db::create_client(&pool, &name)
                .await
                .map_err(|error| format!("failed to create the client: {error}"))?;
            println!("{}", serde_json::json!({ "id": id, "name": name }));
            Ok(())
        }
        Command::Agent(AgentCommand::Add(args)) => add_agent(args).await,
    }
}

async fn add_agent(args: AgentAddArgs) -> Result<(), String> {
    let pool = db::connect(&args.database.url()).await?;
    let client: Option<i64> = sqlx::query_scalar("SELECT id FROM clients WHERE id = $1")
        .bind(args.client)
        .fetch_optional(&pool)
        .await
        .map_err(|error| format!("failed to read clients: {error}"))?;
    if client.is_none() {
        return Err(format!(
            "client {} not found: create it with `callout client add NAME`",
            args.client
        ));
    }
    let username = args.username.trim().to_string();
    if username.is_empty() {
        return Err("the username is empty: give --username a name".to_string());
    }
    let agent = NewAgent {
        client_id: args.client,
        username: username.clone(),
        name: args.name,
        email: args.email,
        lang: args.lang,
        columns: args
            .columns
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
        is_admin: args.admin,
    };
    check_agent_lengths(&agent)?;
    let token = db::new_token();
    let id = db::create_agent(&pool, &agent, &token)
        .await
        .map_err(|error| match error {
            sqlx::Error::Database(ref e) if e.is_unique_violation() => {
                format!("username `{}` is taken: choose another", args.username)
            }
            other => format!("failed to create the agent: {other}"),
        })?;
    let output = serde_json::json!({
        "id": id,
        "client_id": args.client,
        "username": args.username,
        "token": token,
    });
    println!("{output}");
    Ok(())
}

async fn serve(args: ServeArgs) -> Result<(), String> {
    for column in &args.agent_columns {
        check_column_name(column)?;
    }
    if !(0.0..=1.0).contains(&args.retry_jitter) {
        return Err(format!(
            "invalid --retry-jitter {}: use a fraction from 0 to 1",
            args.retry_jitter
        ));
    }
    let timeouts = [
        ("--connect-timeout", args.connect_timeout),
        ("--request-timeout", args.request_timeout),
        ("--header-read-timeout", args.header_read_timeout),
        ("--body-idle-timeout", args.body_idle_timeout),
    ];
    if let Some((flag, _)) = timeouts.iter().find(|(_, timeout)| timeout.is_zero()) {
        return Err(format!("invalid {flag}: use a duration longer than zero"));
    }
    if let Some(token) = &args.admin_token {
        if token.len() < 16 {
            return Err("CALLOUT_ADMIN_TOKEN is too short: use at least 16 characters".to_string());
        }
    }
    let settings = Settings {
        listen: args.listen,
        database_url: args.database.url(),
        web_dir: args.web_dir,
        agent_columns: args.agent_columns,
        dispatch: DispatchSettings {
            connect_timeout: args.connect_timeout,
            request_timeout: args.request_timeout,
            retry_delays: args.retry_schedule.0,
            jitter: args.retry_jitter,
            concurrency: args.dispatch_concurrency.max(1),
            allowed_networks: args.allowed_networks,
            disable_after: args.disable_after,
        },
        limits: Limits {
            max_upload_bytes: args.max_upload_bytes,
            max_json_bytes: args.max_json_bytes,
            max_template_bytes: args.max_template_bytes,
            max_hooks_per_client: args.max_hooks_per_client,
            max_rows_per_import: args.max_rows_per_import,
        },
    };

    // The port is taken first, so a start that cannot listen creates nothing, and the token of
    // the first admin agent is never printed by a process that then fails.
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|error| format!("failed to listen on {}: {error}", settings.listen))?;
    let pool = db::connect(&settings.database_url).await?;
    let created = db::bootstrap(&pool, args.admin_token.as_deref())
        .await
        .map_err(|error| format!("failed to create the demo client: {error}"))?;
    if let Some(token) = created {
        if args.admin_token.is_some() {
            println!(
                "created client `Demo` and agent `admin` with the token from CALLOUT_ADMIN_TOKEN"
            );
        } else {
            println!("created client `Demo` and agent `admin`; its API token, shown only now:");
            println!("{token}");
        }
    }

    let wake = Arc::new(Notify::new());
    let client = settings.dispatch.client();
    let metrics = Arc::new(Metrics::default());
    let dispatcher = Dispatcher::new(
        pool.clone(),
        settings.dispatch.clone(),
        client.clone(),
        wake.clone(),
        metrics.clone(),
    );
    let (stop, stopping) = watch::channel(false);
    let dispatching = tokio::spawn(dispatcher.run(stopping.clone()));
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });

    let state = AppState {
        pool,
        catalogue: Arc::new(settings.catalogue()),
        wake,
        client,
        limits: Arc::new(settings.limits.clone()),
        sign_in_failures: Arc::new(crate::auth::FailureLimiter::new(args.max_auth_failures)),
        metrics,
    };
    let app = app(state, &settings);
    let address = listener.local_addr().map_err(|error| error.to_string())?;
    tracing::info!(%address, database = %settings.database_url, "serving");
    println!("listening on http://{address}");
    println!("open http://{address}/ and sign in with an agent's API token");

    let deadlines = ClientDeadlines {
        header_read: args.header_read_timeout,
        body_idle: args.body_idle_timeout,
    };
    crate::http_server::serve(listener, app, deadlines, stopping).await;
    // The API has stopped taking requests; wait for the dispatcher to finish its attempts.
    let _ = dispatching.await;
    tracing::info!("stopped");
    Ok(())
}

/// Returns the whole application: the API under `/api` and the admin page elsewhere.
pub fn app(state: AppState, settings: &Settings) -> Router {
    Router::new()
        .nest("/api", api::router(&settings.limits))
        .merge(crate::metrics::router())
        .merge(crate::web::router(&settings.web_dir))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down");
}
