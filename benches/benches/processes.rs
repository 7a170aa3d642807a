//! Deliveries a second with one, two and three `callout` processes on one PostgreSQL database,
//! beside one process on SQLite, in the same run.
//!
//! Each setup starts its processes on a fresh database (a new schema on PostgreSQL) and a
//! loopback receiver that responds `200` at once. Then:
//!
//! 1. Pick-up: one `callinglist/import` hook, and 20 lists imported one at a time, each firing
//!    one call-out, the API calls taking turns between the processes. The delay runs from the
//!    return of the API call to the request's arrival, so it shows how soon an idle dispatcher,
//!    in any process, picks up a new delivery.
//! 2. Backlog: 100 `campaigns/create` hooks, and campaigns created as fast as the API takes
//!    them, four calls at a time spread over the processes, each firing 100 call-outs. The rate
//!    is the number of deliveries divided by the time from the first API call to the last
//!    arrival.
//!
//! It runs the release build of `callout` (`cargo build --release -p callout-server`), or the
//! binary in `CALLOUT_BIN`, and PostgreSQL at `CALLOUT_TEST_POSTGRES` or the local default.
//! `CALLOUT_BENCH_CAMPAIGNS` sets the campaigns of the backlog (50, so 5,000 deliveries). Every
//! phase has a deadline, and the whole run is stopped after five minutes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_benches::release_binary;
use callout_e2e::{
    postgres_available, postgres_url, Api, Database, NewAgent, NewHook, Response, ScriptedReceiver,
    Server, ServerConfig,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Hooks fired by each campaign of the backlog.
const HOOKS: usize = 100;

/// Lists imported one at a time in the pick-up phase.
const PICKUPS: usize = 20;

/// API calls the backlog phase keeps open at once.
const API_CALLS_IN_FLIGHT: usize = 4;

/// How long the deliveries of a phase may take to arrive after the last event.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The whole run is stopped after this long, whatever it is doing.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn main() {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let campaigns = campaigns_from_env();
    std::thread::spawn(|| {
        std::thread::sleep(RUN_LIMIT);
        eprintln!("the processes benchmark ran longer than {RUN_LIMIT:?} and was stopped");
        std::process::exit(2);
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("failed to build the benchmark's runtime");
    runtime.block_on(run(campaigns));
}

fn campaigns_from_env() -> usize {
    match std::env::var("CALLOUT_BENCH_CAMPAIGNS") {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|count: &usize| *count > 0)
            .unwrap_or_else(|| {
                panic!("invalid CALLOUT_BENCH_CAMPAIGNS `{text}`: use a positive whole number")
            }),
        Err(_) => 50,
    }
}

/// The measurements of one setup.
struct Outcome {
    database: Database,
    processes: usize,
    pickup_median: Duration,
    pickup_max: Duration,
    deliveries: usize,
    expected: usize,
    firing: Duration,
    elapsed: Duration,
    /// CPU time spent during the backlog by the `callout` processes, by PostgreSQL's backends
    /// that serve them, and by this benchmark (receiver and load generator).
    cpu: Option<CpuSpent>,
}

/// CPU time of the parts of a setup over one phase.
struct CpuSpent {
    callout: Duration,
    postgres: Duration,
    benchmark: Duration,
}

impl Outcome {
    fn per_second(&self) -> f64 {
        self.deliveries as f64 / self.elapsed.as_secs_f64()
    }
}

async fn run(campaigns: usize) {
    let binary = release_binary();
    println!(
        "callout: {}; {HOOKS} hooks, {campaigns} campaigns ({} deliveries) per setup\n",
        binary.display(),
        HOOKS * campaigns
    );

    let mut setups = vec![(Database::Sqlite, 1)];
    if postgres_available() {
        setups.extend([
            (Database::Postgres, 1),
            (Database::Postgres, 2),
            (Database::Postgres, 3),
        ]);
    }
    let mut outcomes = Vec::new();
    for (database, processes) in setups {
        outcomes.push(measure(&binary, database, processes, campaigns).await);
    }
    report(&outcomes);
}

/// Starts `count` processes on one fresh database of kind `database`.
fn start_processes(binary: &Path, database: Database, count: usize) -> Vec<Server> {
    let first = Server::start_with(ServerConfig {
        binary: Some(binary.to_path_buf()),
        database,
        // One log line per attempt would cost time and flood the terminal.
        env: vec![("RUST_LOG".to_string(), "warn".to_string())],
        ..ServerConfig::default()
    });
    let mut servers = vec![first];
    while servers.len() < count {
        let server = servers[0].start_another();
        servers.push(server);
    }
    servers
}

async fn measure(binary: &Path, database: Database, count: usize, campaigns: usize) -> Outcome {
    let servers = start_processes(binary, database, count);
    let client = servers[0].add_client("Benchmark");
    let agent = servers[0].add_agent(&NewAgent::new(client.id, "bench"));
    let apis: Vec<Api> = servers
        .iter()
        .map(|server| server.api(&agent.token))
        .collect();
    let receiver = ScriptedReceiver::start(|_| Response::new(200, &[], b"ok"));

    let (pickup_median, pickup_max) = pickup(&apis, &receiver).await;

    for number in 0..HOOKS {
        let url = format!(
            "{}/backlog{number}?campaign={{campaign.id}}",
            receiver.url()
        );
        apis[number % apis.len()]
            .create_hook(&NewHook::new(&url, "campaigns", "create"))
            .await;
    }
    let cpu_before = CpuSnapshot::take(&servers).await;
    let limit = Arc::new(Semaphore::new(API_CALLS_IN_FLIGHT));
    let mut calls = JoinSet::new();
    let already = receiver.count();
    let start = Instant::now();
    for number in 0..campaigns {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let api = apis[number % apis.len()].clone();
        calls.spawn(async move {
            api.create_campaign("backlog", None).await;
            drop(permit);
        });
    }
    while let Some(result) = calls.join_next().await {
        result.expect("a campaign creation failed; see its message above");
    }
    let firing = start.elapsed();

    let expected = HOOKS * campaigns;
    let arrived = wait_for_count(&receiver, already + expected).await - already;
    let last = receiver
        .requests()
        .iter()
        .map(|request| request.received_instant)
        .max()
        .unwrap_or(start);
    let cpu_after = CpuSnapshot::take(&servers).await;
    Outcome {
        database,
        processes: count,
        pickup_median,
        pickup_max,
        deliveries: arrived,
        expected,
        firing,
        elapsed: last.saturating_duration_since(start),
        cpu: cpu_before.and_then(|before| Some(cpu_after?.since(&before))),
    }
}

/// CPU time used so far by the `callout` processes, by each PostgreSQL backend of their
/// schema, and by this process.
struct CpuSnapshot {
    callout: Duration,
    postgres: HashMap<u32, Duration>,
    benchmark: Duration,
}

impl CpuSnapshot {
    /// Reads the times from `/proc`, so it returns `None` except on Linux. PostgreSQL backends
    /// are only counted when the server runs on this machine.
    async fn take(servers: &[Server]) -> Option<CpuSnapshot> {
        let mut callout = Duration::ZERO;
        for server in servers {
            callout += cpu_time(server.pid())?;
        }
        let mut postgres = HashMap::new();
        if servers[0].database() == Database::Postgres {
            for pid in backend_pids(servers[0].database_url()).await {
                if let Some(time) = cpu_time(pid) {
                    postgres.insert(pid, time);
                }
            }
        }
        Some(CpuSnapshot {
            callout,
            postgres,
            benchmark: cpu_time(std::process::id())?,
        })
    }

    /// Returns the CPU time spent from `before` to this snapshot. A backend that was not there
    /// before started within the phase, so all of its time counts.
    fn since(&self, before: &CpuSnapshot) -> CpuSpent {
        let postgres = self
            .postgres
            .iter()
            .map(|(pid, time)| {
                time.saturating_sub(before.postgres.get(pid).copied().unwrap_or_default())
            })
            .sum();
        CpuSpent {
            callout: self.callout.saturating_sub(before.callout),
            postgres,
            benchmark: self.benchmark.saturating_sub(before.benchmark),
        }
    }
}

/// Returns the user and system CPU time of process `pid` from `/proc/PID/stat`, or `None`
/// where that file is missing.
fn cpu_time(pid: u32) -> Option<Duration> {
    /// Clock ticks a second of the times in `/proc`: `USER_HZ`, 100 on Linux's usual
    /// architectures (x86, Arm), which `getconf CLK_TCK` prints.
    const TICKS_PER_SECOND: u64 = 100;

    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name in brackets may contain spaces, so fields are counted after it: the
    // state is field 3, `utime` field 14 and `stime` field 15.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_millis(
        (user + system) * 1000 / TICKS_PER_SECOND,
    ))
}

/// Returns the process ids of the PostgreSQL backends whose `application_name` is the one in
/// `database_url`, which the test support sets to the schema's name.
async fn backend_pids(database_url: &str) -> Vec<u32> {
    use sqlx::Connection;

    let Some(application) = database_url
        .split("application_name=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
    else {
        return Vec::new();
    };
    let Ok(mut connection) = sqlx::PgConnection::connect(&postgres_url()).await else {
        return Vec::new();
    };
    let pids: Vec<i32> =
        sqlx::query_scalar("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(application)
            .fetch_all(&mut connection)
            .await
            .unwrap_or_default();
    pids.into_iter()
        .filter_map(|pid| u32::try_from(pid).ok())
        .collect()
}

/// Imports [`PICKUPS`] lists one at a time, taking turns between the processes, and returns
/// the median and maximum delay from the API call's return to the call-out's arrival.
async fn pickup(apis: &[Api], receiver: &ScriptedReceiver) -> (Duration, Duration) {
    let url = format!("{}/pickup?list={{calling_list.id}}", receiver.url());
    apis[0]
        .create_hook(&NewHook::new(&url, "callinglist", "import"))
        .await;
    let mut delays = Vec::new();
    for number in 0..PICKUPS {
        let before = receiver.count();
        let csv = format!("Phone\n+1555{number:07}\n");
        apis[number % apis.len()]
            .import_list(&format!("Pick-up {number}"), &csv)
            .await;
        let returned = Instant::now();
        wait_for_count(receiver, before + 1).await;
        let arrived = receiver.requests()[before].received_instant;
        // The call-out can arrive a hair before the API call's response reaches the client:
        // the dispatchers are woken at the commit. That counts as no delay.
        delays.push(arrived.saturating_duration_since(returned));
    }
    delays.sort();
    (delays[delays.len() / 2], delays[delays.len() - 1])
}

/// Waits until the receiver has `count` requests, or until [`DRAIN_TIMEOUT`], and returns how
/// many it has.
async fn wait_for_count(receiver: &ScriptedReceiver, count: usize) -> usize {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let arrived = receiver.count();
        if arrived >= count {
            return arrived;
        }
        if Instant::now() >= deadline {
            eprintln!("only {arrived} of {count} requests arrived within {DRAIN_TIMEOUT:?}");
            return arrived;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn report(outcomes: &[Outcome]) {
    println!(
        "database   | processes | deliveries/s | delivered     | firing (s) | pick-up median / max \
         (ms) | CPU ms per delivery: callout / postgres / benchmark"
    );
    println!(
        "-----------|-----------|--------------|---------------|------------|---------------------\
         -----|----------------------------------------------------"
    );
    for outcome in outcomes {
        let database = match outcome.database {
            Database::Sqlite => "SQLite",
            Database::Postgres => "PostgreSQL",
        };
        let cpu = match &outcome.cpu {
            Some(cpu) => {
                let per_delivery = |time: Duration| millis(time) / outcome.deliveries.max(1) as f64;
                format!(
                    "{:.3} / {:.3} / {:.3}",
                    per_delivery(cpu.callout),
                    per_delivery(cpu.postgres),
                    per_delivery(cpu.benchmark)
                )
            }
            None => "not measured".to_string(),
        };
        println!(
            "{database:<10} | {:>9} | {:>12.0} | {:>5} of {:>5} | {:>10.2} | {:>8.2} / {:<11.2} | {cpu}",
            outcome.processes,
            outcome.per_second(),
            outcome.deliveries,
            outcome.expected,
            outcome.firing.as_secs_f64(),
            millis(outcome.pickup_median),
            millis(outcome.pickup_max)
        );
    }
    let base = outcomes
        .iter()
        .find(|outcome| outcome.database == Database::Postgres && outcome.processes == 1);
    if let Some(base) = base {
        for outcome in outcomes.iter().filter(|o| o.database == Database::Postgres) {
            let plural = if outcome.processes == 1 { "" } else { "es" };
            println!(
                "PostgreSQL, {} process{plural}: {:.2} times the rate of one",
                outcome.processes,
                outcome.per_second() / base.per_second()
            );
        }
    } else {
        println!("PostgreSQL was not reachable, so only SQLite was measured");
    }
}
