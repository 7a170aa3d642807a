//! Callout's dispatcher beside a plain HTTP client loop, both calling the same loopback
//! receiver in the same run.
//!
//! 1. Callout, paced: campaigns are created through the API at a fixed rate (1,000 a second by
//!    default) for a fixed time (10 s), each firing one GET call-out. The delay of a delivery
//!    runs from the moment the API call that fired it returned (its commit) to the moment the
//!    receiver got the request (its first attempt).
//! 2. Plain client, paced: `reqwest` GETs at the same rate, with the same concurrency as the
//!    dispatcher and a new connection each, as Callout makes them. The delay runs from the
//!    moment the request was started to the moment the receiver got it.
//! 3. Plain client, as fast as it goes, with the same concurrency, for the same time.
//! 4. Callout, burst: lists imported as fast as the API takes them, each firing ten hooks, so
//!    the dispatcher works through a backlog. It measures deliveries per second from the first
//!    import to the last call-out.
//!
//! It runs the release build of `callout` (`cargo build --release -p callout-server`), or the
//! binary in `CALLOUT_BIN`. `CALLOUT_BENCH_RATE` and `CALLOUT_BENCH_SECONDS` change the rate and
//! the time. Every phase has a deadline, and the whole run is stopped after five minutes.

use std::collections::HashMap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_benches::release_binary;
use callout_e2e::{
    Api, CapturedRequest, NewAgent, NewHook, Response, ScriptedReceiver, Server, ServerConfig,
};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

/// Call-outs in flight at once, at most: the server's default `--dispatch-concurrency`, and the
/// number of requests the plain client keeps in flight.
const CONCURRENCY: usize = 64;

/// API calls the load generator keeps open at once, at most. When the API is slower than the
/// rate, the achieved rate drops below it and the report prints a note.
const API_CALLS_IN_FLIGHT: usize = 32;

/// How long the deliveries of a phase may take to arrive after the last event.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Lists imported in the burst phase, each firing [`BURST_HOOKS`] call-outs.
const BURST_IMPORTS: usize = 300;
const BURST_HOOKS: usize = 10;

/// The whole run is stopped after this long, whatever it is doing.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn main() {
    // `cargo bench` passes `--bench`; this harness has no options of its own.
    let rate: f64 = env_number("CALLOUT_BENCH_RATE", 1000.0);
    let seconds: f64 = env_number("CALLOUT_BENCH_SECONDS", 10.0);
    let duration = Duration::from_secs_f64(seconds);

    std::thread::spawn(|| {
        std::thread::sleep(RUN_LIMIT);
        eprintln!("the delivery benchmark ran longer than {RUN_LIMIT:?} and was stopped");
        std::process::exit(2);
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("failed to build the benchmark's runtime");
    runtime.block_on(run(rate, duration));
}

fn env_number(name: &str, default: f64) -> f64 {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .ok()
            .filter(|value: &f64| *value > 0.0)
            .unwrap_or_else(|| panic!("invalid {name} `{text}`: use a positive number")),
        Err(_) => default,
    }
}

async fn run(rate: f64, duration: Duration) {
    let binary = release_binary();
    let receiver = ScriptedReceiver::start(|_| Response::new(200, &[], b"ok"));
    let server = Server::start_with(ServerConfig {
        binary: Some(binary.clone()),
        args: vec![
            "--dispatch-concurrency".to_string(),
            CONCURRENCY.to_string(),
        ],
        ..ServerConfig::default()
    });
    let client = server.add_client("Benchmark");
    let agent = server.add_agent(&NewAgent::new(client.id, "bench"));
    let api = server.api(&agent.token);

    println!(
        "callout: {}, SQLite, {CONCURRENCY} call-outs at once; receiver on {}",
        binary.display(),
        receiver.url()
    );
    println!(
        "offered load: {rate} events a second for {:.1} s\n",
        duration.as_secs_f64()
    );

    let callout = callout_paced(&api, &receiver, rate, duration).await;
    let plain = plain_paced(&receiver, rate, duration).await;
    let plain_max = plain_unpaced(&receiver, duration).await;
    let burst = callout_burst(&api, &receiver).await;

    report(&callout, &plain, &plain_max, &burst);
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// The median, 99th percentile and maximum of a set of delays.
struct Spread {
    median: Duration,
    p99: Duration,
    max: Duration,
}

fn spread(mut samples: Vec<Duration>) -> Spread {
    assert!(!samples.is_empty(), "no samples to summarize");
    samples.sort();
    let at = |fraction: f64| {
        let index = ((samples.len() - 1) as f64 * fraction).round() as usize;
        samples[index]
    };
    Spread {
        median: at(0.5),
        p99: at(0.99),
        max: samples[samples.len() - 1],
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The measurements of a paced phase.
struct Paced {
    /// The events a second the phase tried to fire.
    offered_rate: f64,
    /// Events fired, and how long firing them took.
    events: usize,
    firing: Duration,
    /// Requests that reached the receiver, and the time from the first event to the last.
    delivered: usize,
    elapsed: Duration,
    /// From the event to the receiver.
    delay: Spread,
    /// How long the calls that fired the events took, for Callout.
    api_call: Option<Spread>,
}

impl Paced {
    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.firing.as_secs_f64()
    }

    fn delivered_per_second(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64()
    }
}

/// Waits until `count` requests to paths starting with `prefix` have arrived, or until
/// [`DRAIN_TIMEOUT`], and returns them.
async fn wait_for_path(
    receiver: &ScriptedReceiver,
    prefix: &str,
    count: usize,
) -> Vec<CapturedRequest> {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        let arrived: Vec<_> = receiver
            .requests()
            .into_iter()
            .filter(|request| request.target.starts_with(prefix))
            .collect();
        if arrived.len() >= count || Instant::now() >= deadline {
            if arrived.len() < count {
                eprintln!(
                    "only {} of {count} requests to {prefix} arrived within {DRAIN_TIMEOUT:?}",
                    arrived.len()
                );
            }
            return arrived;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Returns the number after `name=` in a request target.
fn query_number(target: &str, name: &str) -> Option<i64> {
    let start = target.find(&format!("{name}="))? + name.len() + 1;
    target[start..].split('&').next()?.parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Phases

async fn callout_paced(
    api: &Api,
    receiver: &ScriptedReceiver,
    rate: f64,
    duration: Duration,
) -> Paced {
    let url = format!("{}/callout?campaign={{campaign.id}}", receiver.url());
    api.create_hook(&NewHook::new(&url, "campaigns", "create"))
        .await;

    // A few events first, so connections and caches are warm.
    for _ in 0..20 {
        api.create_campaign("warm-up", None).await;
    }
    wait_for_path(receiver, "/callout", 20).await;

    let limit = Arc::new(Semaphore::new(API_CALLS_IN_FLIGHT));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut calls = JoinSet::new();
    let start = Instant::now();
    while start.elapsed() < duration {
        ticker.tick().await;
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let api = api.clone();
        calls.spawn(async move {
            let called = Instant::now();
            let campaign = api.create_campaign("paced", None).await;
            drop(permit);
            (campaign.id, called, Instant::now())
        });
    }
    let mut committed: HashMap<i64, Instant> = HashMap::new();
    let mut api_calls = Vec::new();
    while let Some(result) = calls.join_next().await {
        let (id, called, returned) = result.expect("an API call failed; see its message above");
        committed.insert(id, returned);
        api_calls.push(returned - called);
    }
    let firing = start.elapsed();

    let arrived = wait_for_path(receiver, "/callout", 20 + committed.len()).await;
    let mut delays = Vec::new();
    let mut last = start;
    for request in &arrived {
        let Some(committed_at) =
            query_number(&request.target, "campaign").and_then(|id| committed.get(&id))
        else {
            continue;
        };
        // A receipt a hair before the API call's return is possible: the dispatcher is woken
        // at commit, before the response reaches the client. It counts as no delay.
        delays.push(
            request
                .received_instant
                .saturating_duration_since(*committed_at),
        );
        last = last.max(request.received_instant);
    }
    Paced {
        offered_rate: rate,
        events: committed.len(),
        firing,
        delivered: delays.len(),
        elapsed: last - start,
        delay: spread(delays),
        api_call: Some(spread(api_calls)),
    }
}

/// Returns a client that opens a new connection for every request, as the dispatcher does.
fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(15))
        .build()
        .expect("failed to build the plain HTTP client")
}

async fn plain_paced(receiver: &ScriptedReceiver, rate: f64, duration: Duration) -> Paced {
    let client = plain_client();
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut ticker = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut requests = JoinSet::new();
    let mut sent: HashMap<i64, Instant> = HashMap::new();
    let start = Instant::now();
    let mut number = 0;
    while start.elapsed() < duration {
        ticker.tick().await;
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        number += 1;
        let url = format!("{}/plain?n={number}", receiver.url());
        sent.insert(number, Instant::now());
        let client = client.clone();
        requests.spawn(async move {
            let outcome = client.get(&url).send().await;
            drop(permit);
            outcome.map(|response| response.status().as_u16())
        });
    }
    let mut failures = 0;
    while let Some(result) = requests.join_next().await {
        if !matches!(result, Ok(Ok(200))) {
            failures += 1;
        }
    }
    let firing = start.elapsed();
    if failures > 0 {
        eprintln!("{failures} plain requests failed");
    }

    let arrived = wait_for_path(receiver, "/plain", sent.len()).await;
    let mut delays = Vec::new();
    let mut last = start;
    for request in &arrived {
        let Some(sent_at) = query_number(&request.target, "n").and_then(|n| sent.get(&n)) else {
            continue;
        };
        delays.push(request.received_instant.saturating_duration_since(*sent_at));
        last = last.max(request.received_instant);
    }
    Paced {
        offered_rate: rate,
        events: sent.len(),
        firing,
        delivered: delays.len(),
        elapsed: last - start,
        delay: spread(delays),
        api_call: None,
    }
}

/// Returns the requests per second of [`CONCURRENCY`] loops that each send the next GET as
/// soon as the previous one has its response, for `duration`.
async fn plain_unpaced(receiver: &ScriptedReceiver, duration: Duration) -> f64 {
    let client = plain_client();
    let start = Instant::now();
    let mut loops = JoinSet::new();
    for worker in 0..CONCURRENCY {
        let client = client.clone();
        let url = format!("{}/max?worker={worker}", receiver.url());
        loops.spawn(async move {
            let mut completed = 0u64;
            while start.elapsed() < duration {
                if client.get(&url).send().await.is_ok() {
                    completed += 1;
                }
            }
            completed
        });
    }
    let mut completed = 0;
    while let Some(result) = loops.join_next().await {
        completed += result.expect("a plain loop panicked");
    }
    completed as f64 / start.elapsed().as_secs_f64()
}

/// The measurements of the burst phase.
struct Burst {
    deliveries: usize,
    elapsed: Duration,
    imports: Duration,
}

async fn callout_burst(api: &Api, receiver: &ScriptedReceiver) -> Burst {
    for number in 0..BURST_HOOKS {
        let url = format!("{}/burst{number}?list={{calling_list.id}}", receiver.url());
        api.create_hook(&NewHook::new(&url, "callinglist", "import"))
            .await;
    }
    let limit = Arc::new(Semaphore::new(4));
    let mut imports = JoinSet::new();
    let start = Instant::now();
    for number in 0..BURST_IMPORTS {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let api = api.clone();
        imports.spawn(async move {
            let csv = format!("Phone\n+1555{number:07}\n");
            api.import_list(&format!("Burst {number}"), &csv).await;
            drop(permit);
        });
    }
    while let Some(result) = imports.join_next().await {
        result.expect("an import failed; see its message above");
    }
    let imported = start.elapsed();

    let expected = BURST_IMPORTS * BURST_HOOKS;
    let arrived = wait_for_path(receiver, "/burst", expected).await;
    let last = arrived
        .iter()
        .map(|request| request.received_instant)
        .max()
        .unwrap_or(start);
    Burst {
        deliveries: arrived.len(),
        elapsed: last - start,
        imports: imported,
    }
}

// ---------------------------------------------------------------------------------------------
// Output

fn report(callout: &Paced, plain: &Paced, plain_max: &f64, burst: &Burst) {
    println!("paced phase                 | callout          | plain client     | ratio");
    println!("----------------------------|------------------|------------------|------");
    println!(
        "events fired per second     | {:>16.0} | {:>16.0} |",
        callout.events_per_second(),
        plain.events_per_second()
    );
    println!(
        "deliveries per second       | {:>16.0} | {:>16.0} | {:.2}",
        callout.delivered_per_second(),
        plain.delivered_per_second(),
        callout.delivered_per_second() / plain.delivered_per_second()
    );
    println!(
        "delivered of fired          | {:>7} of {:>6} | {:>7} of {:>6} |",
        callout.delivered, callout.events, plain.delivered, plain.events
    );
    for (name, ours, theirs) in [
        (
            "delay, median (ms)",
            callout.delay.median,
            plain.delay.median,
        ),
        ("delay, p99 (ms)", callout.delay.p99, plain.delay.p99),
        ("delay, max (ms)", callout.delay.max, plain.delay.max),
    ] {
        println!(
            "{name:<28}| {:>16.2} | {:>16.2} | {:.1}",
            millis(ours),
            millis(theirs),
            millis(ours) / millis(theirs)
        );
    }
    for (name, phase) in [("callout", callout), ("the plain client", plain)] {
        if phase.events_per_second() < 0.95 * phase.offered_rate {
            println!(
                "note: {name} reached {:.0} of the {:.0} events a second offered: it is \
                 saturated, and its delays include queueing",
                phase.events_per_second(),
                phase.offered_rate
            );
        }
    }
    if let Some(api_call) = &callout.api_call {
        println!(
            "\nAPI call that fired an event: median {:.2} ms, p99 {:.2} ms",
            millis(api_call.median),
            millis(api_call.p99)
        );
    }

    let burst_rate = burst.deliveries as f64 / burst.elapsed.as_secs_f64();
    println!(
        "\nburst: {} deliveries from {BURST_IMPORTS} imports ({:.2} s to import) in {:.2} s: \
         {burst_rate:.0} deliveries per second",
        burst.deliveries,
        burst.imports.as_secs_f64(),
        burst.elapsed.as_secs_f64()
    );
    println!("plain client, unpaced: {plain_max:.0} requests per second");
    println!(
        "ratio of callout's burst rate to the unpaced plain client: {:.2}",
        burst_rate / plain_max
    );
}
