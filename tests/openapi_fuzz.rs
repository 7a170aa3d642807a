//! End to end: schemathesis, from PyPI, reads the OpenAPI description that a real `callout`
//! serves at `/api/openapi.json` and sends requests generated from it with an admin token.
//! It must find no server error and no response that the description does not allow, and
//! the server must log no error, on SQLite and on PostgreSQL.
//!
//! Generated hooks point at any host, and the server calls them out, so the server and
//! schemathesis run in a network namespace of their own (`unshare --net`) that has only
//! loopback: no call-out can leave the machine. The test re-runs itself inside it. PostgreSQL
//! is reached there through its Unix socket. Without schemathesis 4 or a way to make the
//! namespace, the test prints that it was skipped, and fails when `CI` is `true`.

use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use callout_e2e::{postgres_available, Api, Body, Database, Method, Server, ServerConfig};
use serde_json::json;

/// Set in the copy of the test that runs inside the namespace.
const INSIDE: &str = "CALLOUT_FUZZ_IN_NAMESPACE";

/// Test cases per operation and phase, and the seed, so that a run can be repeated. 100 cases
/// take about 35 s per database on two cores.
const MAX_EXAMPLES: &str = "100";
const SEED: &str = "20261204";

/// How long one schemathesis run may take before the test gives up on it.
const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// The PostgreSQL database inside the namespace, where only the Unix socket reaches it. A
/// `CALLOUT_TEST_POSTGRES` set by the caller replaces it, and must reach it the same way.
const POSTGRES_SOCKET_URL: &str = "postgres://postgres@localhost/test?host=/var/run/postgresql";

#[test]
fn schemathesis_finds_no_fault_on_sqlite() {
    fuzz("schemathesis_finds_no_fault_on_sqlite", Database::Sqlite);
}

#[test]
fn schemathesis_finds_no_fault_on_postgres() {
    fuzz(
        "schemathesis_finds_no_fault_on_postgres",
        Database::Postgres,
    );
}

fn fuzz(test: &str, database: Database) {
    if std::env::var_os(INSIDE).is_some() {
        fuzz_inside_namespace(database);
        return;
    }
    let Some(problem) = missing_tool().or_else(|| missing_database(database)) else {
        run_in_namespace(test, database);
        return;
    };
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(!in_ci, "{problem}");
    println!("skipped: {problem}");
}

/// Returns why the test cannot run here, if it cannot.
fn missing_tool() -> Option<String> {
    let version = Command::new("schemathesis").arg("--version").output();
    let version = match version {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).trim().to_string()
        }
        _ => {
            return Some(
                "schemathesis is not installed: run `scripts/install-tools --test`".to_string(),
            )
        }
    };
    if !version.starts_with("schemathesis, version 4.") {
        return Some(format!("{version} is installed, but the test needs version 4: run `scripts/install-tools --test`"));
    }
    let namespace = Command::new("unshare")
        .args(["--net", "ip", "link", "set", "lo", "up"])
        .output();
    match namespace {
        Ok(output) if output.status.success() => None,
        Ok(output) => Some(format!(
            "cannot make a network namespace with `unshare --net` and `ip` (it needs root or \
             CAP_SYS_ADMIN): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
        Err(error) => Some(format!("cannot run `unshare` from util-linux: {error}")),
    }
}

fn missing_database(database: Database) -> Option<String> {
    if database != Database::Postgres {
        return None;
    }
    if std::env::var_os("CALLOUT_TEST_POSTGRES").is_none()
        && !Path::new("/var/run/postgresql").is_dir()
    {
        return Some(
            "PostgreSQL's socket folder /var/run/postgresql is missing: set CALLOUT_TEST_POSTGRES"
                .to_string(),
        );
    }
    // postgres_available itself fails under CI when the server is unreachable.
    (!postgres_available()).then(|| "PostgreSQL is unreachable".to_string())
}

/// Runs this test again inside a new network namespace and fails with its output unless it
/// passes there.
fn run_in_namespace(test: &str, database: Database) {
    let binary = std::env::current_exe().expect("the test binary has a path");
    let mut command = Command::new("unshare");
    command
        .arg("--net")
        .arg(binary)
        .args([test, "--exact", "--nocapture", "--test-threads", "1"])
        .env(INSIDE, "1")
        .stdin(Stdio::null());
    if database == Database::Postgres && std::env::var_os("CALLOUT_TEST_POSTGRES").is_none() {
        command.env("CALLOUT_TEST_POSTGRES", POSTGRES_SOCKET_URL);
    }
    let output = command
        .output()
        .expect("failed to run the test again under `unshare --net`");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "inside the network namespace:\n{text}"
    );
    println!("{text}");
}

fn fuzz_inside_namespace(database: Database) {
    let lo = Command::new("ip")
        .args(["link", "set", "lo", "up"])
        .status()
        .expect("failed to run `ip`");
    assert!(lo.success(), "`ip link set lo up` failed in the namespace");

    // With a page to serve, paths outside the API return 200 instead of logging a 503.
    let web_dir = tempfile::tempdir().unwrap();
    std::fs::write(
        web_dir.path().join("index.html"),
        "<!doctype html><title>Callout</title>\n",
    )
    .unwrap();
    let config = ServerConfig {
        database,
        web_dir: Some(web_dir.path().to_path_buf()),
        // The address guard refuses every generated hook's host, loopback included.
        allow_loopback: false,
        args: ["--retry-schedule", "1s", "--request-timeout", "2s"]
            .map(String::from)
            .to_vec(),
        ..ServerConfig::default()
    };
    let server = Server::start_with(config);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(seed(&server.admin_api()));

    let work = tempfile::tempdir().unwrap();
    // Revoking tokens goes last and alone: a generated id may name the run's own token, and
    // every later request would then be rejected with 401. Alone, it has no links to follow, and
    // schemathesis reports a stateful phase without links as an error.
    let runs: [&[&str]; 2] = [
        &["--exclude-operation-id", "revokeToken"],
        &[
            "--include-operation-id",
            "revokeToken",
            "--phases",
            "examples,coverage,fuzzing",
        ],
    ];
    for filter in runs {
        let (status, text) = schemathesis(&server, work.path(), filter);
        println!("{text}");
        assert!(
            status.success(),
            "schemathesis {filter:?} found faults ({status}):\n{text}"
        );
        assert!(
            text.contains(" passed"),
            "schemathesis {filter:?} tested nothing:\n{text}"
        );
    }

    let errors: Vec<String> = server
        .output()
        .into_iter()
        .filter(|line| line.contains(" ERROR "))
        .collect();
    assert!(
        errors.is_empty(),
        "the server logged errors during the run:\n{}",
        errors.join("\n")
    );
}

/// Creates one object of each kind, with ids that generated requests are likely to name,
/// and waits until their deliveries have failed, so redeliveries have something to do.
async fn seed(api: &Api) {
    let hooks = [
        json!({ "url": "http://192.0.2.1/list?id={calling_list.id}", "target": "callinglist", "event": "import", "signed": true }),
        json!({ "url": "http://192.0.2.1/campaign?id={campaign.id}", "target": "campaigns", "event": "create", "method": "POST" }),
    ];
    for hook in hooks {
        api.send(Method::POST, "/api/hooks", Body::Json(hook))
            .await
            .expect_status(201);
    }
    let list = "name,phone\nAda,1\n".to_string();
    api.send(
        Method::POST,
        "/api/calling-lists?name=Seed",
        Body::Csv(list),
    )
    .await
    .expect_status(201);
    api.send(
        Method::POST,
        "/api/campaigns",
        Body::Json(json!({ "name": "Seed" })),
    )
    .await
    .expect_status(201);

    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending = api.get("/api/deliveries?status=pending").await;
        if pending
            .expect_status(200)
            .json::<Vec<serde_json::Value>>()
            .is_empty()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the seeded deliveries are still pending after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Runs schemathesis against `server` with the admin token, every check but
/// `positive_data_acceptance`, and returns its exit status and output. It is killed after
/// [`RUN_TIMEOUT`].
fn schemathesis(server: &Server, work_dir: &Path, filter: &[&str]) -> (ExitStatus, String) {
    // Its report can outgrow a pipe, which would block it while this waits, so it goes to a file.
    let log_path = work_dir.join("schemathesis.log");
    let log = std::fs::File::create(&log_path).expect("failed to create the schemathesis log");
    // The description cannot state which URL templates or CSV files are valid, so a request
    // that matches its schemas may still be rejected with a described 4xx.
    let mut child = Command::new("schemathesis")
        .arg("run")
        .arg(format!("{}/api/openapi.json", server.url()))
        .args(["--url", server.url()])
        .args([
            "--header",
            &format!("Authorization: Bearer {}", server.admin_token()),
        ])
        .args(["--max-examples", MAX_EXAMPLES, "--seed", SEED])
        .args(["--exclude-checks", "positive_data_acceptance"])
        .args(["--generation-database", "none", "--no-color"])
        .args(filter)
        .current_dir(work_dir)
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("ALL_PROXY")
        .stdin(Stdio::null())
        .stdout(
            log.try_clone()
                .expect("failed to share the schemathesis log"),
        )
        .stderr(log)
        .spawn()
        .expect("failed to start schemathesis");

    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("failed to wait for schemathesis") {
            break status;
        }
        if started.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let text = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!("schemathesis {filter:?} ran for more than {RUN_TIMEOUT:?}:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    (
        status,
        std::fs::read_to_string(&log_path).expect("failed to read the schemathesis log"),
    )
}
