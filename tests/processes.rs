//! End to end: several `callout` processes on one PostgreSQL schema share one outbox.
//!
//! - Three processes make 10,000 call-outs (100 hooks fired by 100 campaigns, the API calls
//!   spread over the processes) to a loopback receiver: each arrives once, and no two requests
//!   of one delivery overlap in time.
//! - The same with one process killed by SIGKILL halfway: every delivery still arrives, and
//!   only those the dead process had in flight arrive twice, with the same `webhook-id`, after
//!   its leases ended.
//! - Processes started together on an empty database create one demo client between them.
//! - A process busy with a slow receiver leaves the other deliveries to an idle process rather
//!   than holding their leases while it waits.
//!
//! The receiver records when each request arrived and when its response was written or its
//! client closed the connection, keyed by `webhook-id`. The tests need the PostgreSQL server of
//! `callout_e2e::postgres_url`. Without it they print that they were skipped, and fail when
//! `CI=true`.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime};

use callout_e2e::{
    postgres_available, Api, CapturedRequest, Database, Delivery, NewAgent, NewHook, Response,
    ScriptedReceiver, Server, ServerConfig,
};
use serde_json::Value;

const PROCESSES: usize = 3;
const HOOKS: usize = 100;
const CAMPAIGNS: usize = 100;
const DELIVERIES: usize = HOOKS * CAMPAIGNS;

/// How long all deliveries may take to arrive, for the debug build on two cores.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(300);

/// Each server keeps up to 17 connections to PostgreSQL (a pool of 16 and a listener), so the
/// tests run one after another to stay well under PostgreSQL's default limit of 100.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts `count` servers with `args` on one fresh PostgreSQL schema, all at once.
fn start_processes(count: usize, args: &[&str]) -> Vec<Server> {
    let config = ServerConfig {
        database: Database::Postgres,
        args: args.iter().map(|arg| arg.to_string()).collect(),
        // One log line per attempt would be 10,000 lines, so only warnings and errors are kept.
        env: vec![("RUST_LOG".to_string(), "warn".to_string())],
        ..ServerConfig::default()
    };
    Server::start_several(config, count)
}

/// Creates a client and an agent of it, and returns an API client of each server with the
/// agent's token.
fn tenant(servers: &[Server]) -> Vec<Api> {
    let client = servers[0].add_client("Process Tests");
    let agent = servers[0].add_agent(&NewAgent::new(client.id, "processes"));
    servers
        .iter()
        .map(|server| server.api(&agent.token))
        .collect()
}

/// Creates [`HOOKS`] `campaigns/create` hooks calling `/h{n}?campaign={campaign.id}` on the
/// receiver, the calls spread over the processes, and returns the ids in order of `n`.
async fn create_hooks(apis: &[Api], receiver: &ScriptedReceiver) -> Vec<i64> {
    let mut hook_ids = Vec::new();
    for number in 0..HOOKS {
        let url = format!("{}/h{number}?campaign={{campaign.id}}", receiver.url());
        let api = &apis[number % apis.len()];
        let hook = api
            .create_hook(&NewHook::new(&url, "campaigns", "create"))
            .await;
        hook_ids.push(hook.id);
    }
    hook_ids
}

/// Creates [`CAMPAIGNS`] campaigns, each process taking its share of the calls at the same
/// time as the others, and returns their ids.
async fn fire_campaigns(apis: &[Api]) -> Vec<i64> {
    let mut tasks = tokio::task::JoinSet::new();
    for (index, api) in apis.iter().enumerate() {
        let api = api.clone();
        let count = (index..CAMPAIGNS).step_by(apis.len()).count();
        tasks.spawn(async move {
            let mut ids = Vec::new();
            for _ in 0..count {
                ids.push(api.create_campaign("Several processes", None).await.id);
            }
            ids
        });
    }
    let mut ids = Vec::new();
    while let Some(result) = tasks.join_next().await {
        ids.extend(result.expect("a campaign creation failed; see its message above"));
    }
    assert_eq!(ids.len(), CAMPAIGNS);
    ids
}

/// Waits until the receiver has `count` requests and `api` reports no pending delivery, then
/// one more second for any request still on its way. Panics after [`DRAIN_TIMEOUT`].
async fn wait_until_drained(api: &Api, receiver: &ScriptedReceiver, count: usize) {
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    loop {
        if receiver.count() >= count {
            let pending: Vec<Value> = api
                .get("/api/deliveries?status=pending")
                .await
                .expect_status(200)
                .json();
            if pending.is_empty() {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} requests arrived within {DRAIN_TIMEOUT:?}",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Returns every delivery, read hook by hook. Each hook has [`CAMPAIGNS`] of them, which fit
/// in one page of the API.
async fn all_deliveries(api: &Api, hook_ids: &[i64]) -> Vec<Delivery> {
    let mut deliveries = Vec::new();
    for &hook_id in hook_ids {
        let of_hook = api.deliveries(Some(hook_id)).await;
        assert_eq!(
            of_hook.len(),
            CAMPAIGNS,
            "hook {hook_id} has {} deliveries",
            of_hook.len()
        );
        deliveries.extend(of_hook);
    }
    deliveries
}

/// Groups the requests by their `webhook-id`, each group in order of arrival.
fn by_webhook_id(requests: &[CapturedRequest]) -> BTreeMap<String, Vec<&CapturedRequest>> {
    let mut groups: BTreeMap<String, Vec<&CapturedRequest>> = BTreeMap::new();
    for request in requests {
        let id = request
            .header("webhook-id")
            .unwrap_or_else(|| panic!("request {} has no webhook-id header", request.target));
        groups.entry(id.to_string()).or_default().push(request);
    }
    for group in groups.values_mut() {
        group.sort_by_key(|request| request.received_at);
    }
    groups
}

/// Checks that every request went to the URL of its delivery, that every delivery of every
/// hook and campaign was requested, that no request carries an unknown `webhook-id`, and that
/// every delivery succeeded.
fn check_every_delivery_arrived(
    deliveries: &[Delivery],
    groups: &BTreeMap<String, Vec<&CapturedRequest>>,
    hook_ids: &[i64],
    campaign_ids: &[i64],
) {
    let hook_numbers: HashMap<i64, usize> = hook_ids
        .iter()
        .enumerate()
        .map(|(number, &id)| (id, number))
        .collect();
    let mut pairs = HashSet::new();
    let mut message_ids = HashSet::new();
    for delivery in deliveries {
        assert_eq!(delivery.status, "succeeded", "{delivery:#?}");
        assert!(
            message_ids.insert(delivery.message_id.as_str()),
            "two deliveries share webhook-id {}",
            delivery.message_id
        );
        pairs.insert((delivery.hook_id, delivery.object_id));

        let requests = groups.get(&delivery.message_id).unwrap_or_else(|| {
            panic!(
                "delivery {} never reached the receiver: {delivery:#?}",
                delivery.id
            )
        });
        let number = hook_numbers[&delivery.hook_id];
        let target = format!("/h{number}?campaign={}", delivery.object_id);
        for request in requests {
            assert_eq!(
                request.target, target,
                "a request of delivery {} went to the wrong URL",
                delivery.id
            );
        }
    }
    assert_eq!(deliveries.len(), DELIVERIES);
    let expected: HashSet<(i64, i64)> = hook_ids
        .iter()
        .flat_map(|&hook| campaign_ids.iter().map(move |&campaign| (hook, campaign)))
        .collect();
    assert_eq!(pairs, expected, "every hook fired once for every campaign");

    let unknown: Vec<&String> = groups
        .keys()
        .filter(|id| !message_ids.contains(id.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "requests with webhook-ids of no delivery: {unknown:?}"
    );
}

/// Returns when a request ended: its response was written, or its client closed the
/// connection first.
fn ended_at(request: &CapturedRequest) -> Option<SystemTime> {
    request.responded_at.or(request.client_closed_at)
}

/// Checks that no request of a delivery arrived before the previous one had ended.
fn check_no_overlap(groups: &BTreeMap<String, Vec<&CapturedRequest>>) {
    for (id, requests) in groups {
        for pair in requests.windows(2) {
            let ended = ended_at(pair[0]).unwrap_or_else(|| {
                panic!("a request of {id} was followed by another but never ended: {pair:#?}")
            });
            assert!(
                pair[1].received_at >= ended,
                "two requests of {id} overlapped: the second arrived before the first ended: \
                 {pair:#?}"
            );
        }
    }
}

/// Returns the `callout_attempts_total` of every outcome that `server` reports on `/metrics`:
/// the attempts this process made.
async fn attempts_made(server: &Server) -> u64 {
    let text = reqwest::get(format!("{}/metrics", server.url()))
        .await
        .and_then(|response| response.error_for_status())
        .unwrap_or_else(|error| panic!("GET /metrics failed on {}: {error}", server.url()))
        .text()
        .await
        .expect("failed to read the body of /metrics");
    let counts: Vec<u64> = text
        .lines()
        .filter(|line| line.starts_with("callout_attempts_total{"))
        .map(|line| {
            let value = line.rsplit(' ').next().unwrap_or_default();
            value
                .parse()
                .unwrap_or_else(|_| panic!("invalid metric line `{line}`"))
        })
        .collect();
    assert!(
        !counts.is_empty(),
        "/metrics of {} has no callout_attempts_total: {text}",
        server.url()
    );
    counts.iter().sum()
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Connects to the database of `server`.
async fn connect(server: &Server) -> sqlx::PgConnection {
    use sqlx::Connection;

    sqlx::PgConnection::connect(server.database_url())
        .await
        .unwrap_or_else(|error| panic!("failed to connect to {}: {error}", server.database_url()))
}

/// Returns the `application_name` of the connections of `server`, which the support library
/// sets to the name of its schema.
fn application_name(server: &Server) -> String {
    let url = server.database_url();
    url.split("application_name=")
        .nth(1)
        .and_then(|rest| rest.split('&').next())
        .unwrap_or_else(|| panic!("the database URL {url} sets no application_name"))
        .to_string()
}

/// Waits until `count` connections named `application` are waiting for a lock. Panics after
/// a minute.
async fn wait_for_lock_waiters(
    connection: &mut sqlx::PgConnection,
    application: &str,
    count: usize,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE application_name = $1 AND wait_event_type = 'Lock'",
        )
        .bind(application)
        .fetch_one(&mut *connection)
        .await
        .expect("failed to read pg_stat_activity");
        if waiting >= count as i64 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {waiting} of {count} processes reached the locked clients table within a minute"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn simultaneous_start_creates_one_demo_client() {
    const STARTS: usize = 8;

    if !postgres_available() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    // A migrated database without a client, as after running the migrations before the first
    // start.
    let mut first = start_processes(1, &[]).remove(0);
    let mut connection = connect(&first).await;
    for table in ["tokens", "agents", "clients"] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&mut connection)
            .await
            .unwrap_or_else(|error| panic!("failed to empty {table}: {error}"));
    }
    first.kill();

    // The processes look for a client while this lock holds, so that they all look at the
    // same moment once it is released.
    let mut gate = connect(&first).await;
    sqlx::query("BEGIN")
        .execute(&mut gate)
        .await
        .expect("failed to begin");
    sqlx::query("LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
        .execute(&mut gate)
        .await
        .expect("failed to lock the clients table");
    let application = application_name(&first);
    let starting = std::thread::spawn(move || {
        let others = first.start_others(STARTS);
        (first, others)
    });
    wait_for_lock_waiters(&mut connection, &application, STARTS).await;
    sqlx::query("COMMIT")
        .execute(&mut gate)
        .await
        .expect("failed to release the lock");

    // Only one process may create the demo client and its admin agent. The others must find
    // them and start all the same.
    let (_first, servers) = tokio::task::spawn_blocking(move || starting.join())
        .await
        .expect("the starting thread was cancelled")
        .expect("a callout process failed to start; its message is above");
    let clients: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM clients")
        .fetch_one(&mut connection)
        .await
        .expect("failed to count the clients");
    assert_eq!(clients, 1, "the processes created {clients} demo clients");
    for server in &servers {
        let me = server.admin_api().me().await;
        assert_eq!(me["agent"]["username"], "admin", "{me}");
        assert_eq!(me["client"]["name"], "Demo", "{me}");
    }
}

#[tokio::test]
async fn three_processes_deliver_each_once() {
    if !postgres_available() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let servers = start_processes(PROCESSES, &[]);
    let apis = tenant(&servers);
    let receiver = ScriptedReceiver::start(|_| Response::new(200, &[], b"ok"));
    let hook_ids = create_hooks(&apis, &receiver).await;

    let start = Instant::now();
    let campaign_ids = fire_campaigns(&apis).await;
    let fired = start.elapsed();
    wait_until_drained(&apis[0], &receiver, DELIVERIES).await;
    let drained = start.elapsed();

    let requests = receiver.requests();
    let groups = by_webhook_id(&requests);
    let deliveries = all_deliveries(&apis[2], &hook_ids).await;
    check_every_delivery_arrived(&deliveries, &groups, &hook_ids, &campaign_ids);
    check_no_overlap(&groups);
    assert_eq!(
        requests.len(),
        DELIVERIES,
        "the receiver got {} requests for {DELIVERIES} deliveries",
        requests.len()
    );
    for delivery in &deliveries {
        assert_eq!(delivery.attempts, 1, "{delivery:#?}");
    }

    let mut shares = Vec::new();
    for server in &servers {
        shares.push(attempts_made(server).await);
    }
    assert_eq!(
        shares.iter().sum::<u64>(),
        DELIVERIES as u64,
        "the processes' attempts {shares:?} do not add up to the deliveries"
    );
    assert!(
        shares.iter().all(|&share| share > 0),
        "a process made no attempt: {shares:?}"
    );
    println!(
        "{DELIVERIES} deliveries by {PROCESSES} processes (attempts per process {shares:?}): \
         fired in {:.1} s, all arrived after {:.1} s ({:.0} a second)",
        fired.as_secs_f64(),
        drained.as_secs_f64(),
        per_second(DELIVERIES, drained)
    );
}

#[tokio::test]
async fn sigkill_of_one_repeats_its_in_flight() {
    const CONCURRENCY: usize = 16;
    /// `--request-timeout` plus the 10 s the dispatcher adds for recording the attempt.
    const LEASE: Duration = Duration::from_secs(12);

    if !postgres_available() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let concurrency = CONCURRENCY.to_string();
    let mut servers = start_processes(
        PROCESSES,
        &[
            "--request-timeout",
            "2s",
            "--retry-schedule",
            "1s,1s,1s",
            "--retry-jitter",
            "0",
            "--dispatch-concurrency",
            &concurrency,
        ],
    );
    let apis = tenant(&servers);
    // Slow responses keep every process's call-outs in flight, so the kill catches some.
    let receiver =
        ScriptedReceiver::start(|_| Response::status(200).after(Duration::from_millis(50)));
    let hook_ids = create_hooks(&apis, &receiver).await;
    let campaign_ids = fire_campaigns(&apis).await;

    receiver.wait_for(DELIVERIES / 2, DRAIN_TIMEOUT).await;
    servers[1].kill();
    let killed_at = SystemTime::now();
    let at_kill = receiver.count();
    assert!(
        at_kill < DELIVERIES,
        "all {at_kill} call-outs were made before the kill, so the test shows nothing"
    );

    wait_until_drained(&apis[0], &receiver, DELIVERIES).await;
    let requests = receiver.requests();
    let groups = by_webhook_id(&requests);
    let deliveries = all_deliveries(&apis[2], &hook_ids).await;
    check_every_delivery_arrived(&deliveries, &groups, &hook_ids, &campaign_ids);
    check_no_overlap(&groups);

    // The survivors record every attempt they make, so a request without a recorded attempt
    // was made by the killed process, which died before recording it.
    let mut repeated = HashSet::new();
    for delivery in &deliveries {
        let copies = &groups[&delivery.message_id];
        assert_eq!(
            delivery.attempts, 1,
            "delivery {} needed more than one recorded attempt: {delivery:#?}",
            delivery.id
        );
        match copies.len() {
            1 => {}
            2 => {
                assert!(
                    copies[0].received_at < killed_at,
                    "delivery {} first arrived after the kill: {copies:#?}",
                    delivery.id
                );
                assert!(
                    copies[1].received_at > killed_at,
                    "delivery {} repeated before the kill: {copies:#?}",
                    delivery.id
                );
                let gap = copies[1]
                    .received_at
                    .duration_since(copies[0].received_at)
                    .unwrap_or_default();
                // The lease starts at the claim, a moment before the first request.
                assert!(
                    gap >= LEASE - Duration::from_secs(2),
                    "delivery {} was attempted again {gap:?} after the first request, inside \
                     the killed process's lease",
                    delivery.id
                );
                repeated.insert(delivery.message_id.clone());
            }
            count => panic!(
                "delivery {} arrived {count} times: {copies:#?}",
                delivery.id
            ),
        }
    }

    // A request whose client closed the connection before the response was in flight in the
    // killed process, so it must have been made again.
    let cut_off: HashSet<&str> = requests
        .iter()
        .filter(|request| request.client_closed_at.is_some())
        .filter_map(|request| request.header("webhook-id"))
        .collect();
    assert!(
        !cut_off.is_empty(),
        "no call-out of the killed process was in flight at the kill"
    );
    let lost: Vec<&&str> = cut_off
        .iter()
        .filter(|id| !repeated.contains(**id))
        .collect();
    assert!(
        lost.is_empty(),
        "call-outs cut off by the kill were not made again: {lost:?}"
    );
    assert!(
        repeated.len() <= CONCURRENCY,
        "{} deliveries came twice, more than the {CONCURRENCY} the killed process could have in \
         flight",
        repeated.len()
    );

    let survivors = [&servers[0], &servers[2]];
    let mut shares = Vec::new();
    for server in survivors {
        shares.push(attempts_made(server).await);
    }
    println!(
        "{DELIVERIES} deliveries, {at_kill} requests before the kill, {} cut off by it, {} \
         repeated, {} requests in all; the survivors made {shares:?} attempts",
        cut_off.len(),
        repeated.len(),
        requests.len()
    );
}

#[tokio::test]
async fn slow_receiver_keeps_attempts_apart() {
    /// Close to the default `--request-timeout` of 15 s, so that a delivery that waited for a
    /// free slot through one whole response and then took another would outlast its lease of
    /// 15 s + 10 s.
    const RESPONSE_DELAY: Duration = Duration::from_millis(14_200);

    if !postgres_available() {
        return;
    }
    let _turn = ONE_AT_A_TIME.lock().await;
    let first = Server::start_with(ServerConfig {
        database: Database::Postgres,
        args: ["--request-timeout", "15s", "--dispatch-concurrency", "1"]
            .iter()
            .map(|arg| arg.to_string())
            .collect(),
        ..ServerConfig::default()
    });
    let api = tenant(std::slice::from_ref(&first)).remove(0);
    let receiver = ScriptedReceiver::start(|_| Response::status(200).after(RESPONSE_DELAY));
    let mut hook_ids = Vec::new();
    for number in 0..2 {
        let url = format!("{}/h{number}?campaign={{campaign.id}}", receiver.url());
        let hook = api
            .create_hook(&NewHook::new(&url, "campaigns", "create"))
            .await;
        hook_ids.push(hook.id);
    }

    // The first process can make one call-out at a time and is busy with one of the two
    // deliveries. The second process, started then, is idle and takes the other one, unless
    // the first process holds its lease while it waits for a free slot.
    api.create_campaign("Slow receiver", None).await;
    receiver.wait_for(1, Duration::from_secs(10)).await;
    let second = first.start_another();

    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let deliveries = api.deliveries(None).await;
        let done = deliveries.iter().filter(|d| d.status != "pending").count();
        if done == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{done} of 2 deliveries ended within 90 s: {deliveries:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let requests = receiver.requests();
    let groups = by_webhook_id(&requests);
    check_no_overlap(&groups);
    assert_eq!(
        requests.len(),
        2,
        "two deliveries made {} requests: {requests:#?}",
        requests.len()
    );
    drop(second);
}
