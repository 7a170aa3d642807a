//! End to end: the dispatcher of the real `callout` binary against receivers on loopback that
//! succeed, fail, stall, redirect, inflate, send odd bytes or ask for a later retry, and the
//! attempt log that `GET /api/deliveries/{id}` returns for each case. Also crash recovery after
//! SIGKILL, signatures checked by the reference Standard Webhooks package, test-fire,
//! redelivery and auto-disable.
//!
//! Each test starts its own server on a fresh database, with short retry delays and no jitter
//! so that retries come within seconds at known times.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use callout_e2e::{
    Api, Attempt, CapturedRequest, Delivery, NewAgent, NewHook, Response, ScriptedReceiver, Server,
    ServerConfig,
};
use serde_json::{json, Value};

/// How long a test waits for a delivery to reach the state it expects.
const WAIT: Duration = Duration::from_secs(20);

/// Starts a server with `args` added to `callout serve`, loopback call-outs allowed.
fn server_with(args: &[&str]) -> Server {
    Server::start_with(ServerConfig {
        args: args.iter().map(|arg| arg.to_string()).collect(),
        ..ServerConfig::default()
    })
}

/// Creates a client and an agent of it, and returns an API client with the agent's token.
fn tenant(server: &Server) -> (Api, String) {
    let client = server.add_client("Delivery Tests");
    let agent = server.add_agent(&NewAgent::new(client.id, "dispatcher"));
    (server.api(&agent.token), agent.token)
}

/// Creates a `campaigns/create` hook that calls `url` and returns it.
async fn campaign_hook(api: &Api, url: &str) -> callout_e2e::Hook {
    api.create_hook(&NewHook::new(url, "campaigns", "create"))
        .await
}

/// Creates a campaign, which fires the `campaigns/create` hooks, and returns its id.
async fn fire(api: &Api) -> i64 {
    api.create_campaign("Spring", None).await.id
}

/// Creates a campaign and returns the delivery it made for `hook_id`.
async fn fire_one(api: &Api, hook_id: i64) -> Delivery {
    let campaign = fire(api).await;
    let deadline = Instant::now() + WAIT;
    loop {
        let deliveries = api.deliveries(Some(hook_id)).await;
        if let Some(delivery) = deliveries.into_iter().find(|d| d.object_id == campaign) {
            return delivery;
        }
        assert!(
            Instant::now() < deadline,
            "campaign {campaign} made no delivery for hook {hook_id} within {WAIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until a delivery is no longer pending and returns it with its attempt log.
async fn wait_until_done(api: &Api, id: i64) -> Delivery {
    api.wait_for_delivery(id, WAIT, |d| d.status != "pending")
        .await
}

fn parse_time(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|error| panic!("`{text}` is not an RFC 3339 time: {error}"))
        .with_timezone(&chrono::Utc)
}

/// Returns the time from `earlier` to `later`, both RFC 3339, in milliseconds.
fn millis_between(earlier: &str, later: &str) -> i64 {
    (parse_time(later) - parse_time(earlier)).num_milliseconds()
}

fn only_attempt(delivery: &Delivery) -> &Attempt {
    assert_eq!(
        delivery.attempts_log.len(),
        1,
        "expected exactly one attempt: {delivery:#?}"
    );
    &delivery.attempts_log[0]
}

fn seconds_since_epoch() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64
}

/// Returns a script that counts the requests to each path and responds with
/// `respond(path, count)`, where `count` is 0 for the first request to that path.
fn per_path(
    respond: impl Fn(&str, usize) -> Response + Send + Sync + 'static,
) -> impl Fn(&CapturedRequest) -> Response + Send + Sync + 'static {
    let seen: Mutex<HashMap<String, usize>> = Mutex::default();
    move |request| {
        let count = {
            let mut seen = seen.lock().expect("path counter lock");
            let count = seen.entry(request.path().to_string()).or_default();
            *count += 1;
            *count - 1
        };
        respond(request.path(), count)
    }
}

// ---------------------------------------------------------------------------------------------
// Responses and failures, one receiver each

#[tokio::test]
async fn success_records_full_attempt() {
    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| {
        Response::new(200, &[("content-type", b"text/plain")], b"thanks")
    });
    let hook = campaign_hook(
        &api,
        &format!("{}/ok?campaign={{campaign.id}}", receiver.url()),
    )
    .await;

    let before = seconds_since_epoch();
    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "succeeded");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.response_status, Some(200));
    assert_eq!(delivery.error_class, None);
    assert!(delivery.completed_at.is_some(), "{delivery:#?}");
    assert_eq!(delivery.next_attempt_at, None);
    assert!(
        delivery.message_id.starts_with("msg_"),
        "{}",
        delivery.message_id
    );

    let attempt = only_attempt(&delivery);
    assert_eq!(attempt.attempt, Some(1));
    assert_eq!(attempt.method, "GET");
    let expected_url = format!("{}/ok?campaign={}", receiver.url(), delivery.object_id);
    assert_eq!(attempt.url, expected_url);
    assert_eq!(
        attempt.address.as_deref(),
        Some(receiver.address().to_string().as_str())
    );
    assert_eq!(attempt.response_status, Some(200));
    assert_eq!(attempt.response_body.as_deref(), Some("thanks"));
    assert!(attempt.response_body_utf8);
    assert!(!attempt.response_body_truncated);
    assert_eq!(attempt.error_class, None);
    assert_eq!(attempt.error, None);
    assert_eq!(attempt.next_attempt_at, None);
    assert_eq!(attempt.response_header("content-type"), Some("text/plain"));

    assert_eq!(
        attempt.request_header("webhook-id"),
        Some(delivery.message_id.as_str())
    );
    let timestamp: i64 = attempt
        .request_header("webhook-timestamp")
        .expect("the attempt sent webhook-timestamp")
        .parse()
        .expect("webhook-timestamp is Unix seconds");
    assert!(
        (before - 1..=seconds_since_epoch() + 1).contains(&timestamp),
        "webhook-timestamp {timestamp} is not the time of the attempt"
    );
    assert!(
        attempt
            .request_header("user-agent")
            .is_some_and(|agent| agent.starts_with("Callout/")),
        "{:?}",
        attempt.request_headers
    );
    assert_eq!(
        attempt.request_header("webhook-signature"),
        None,
        "the hook is not signed"
    );

    let timings = &attempt.timings;
    assert_eq!(timings.dns_ms, None, "an IP address is not resolved");
    assert_eq!(timings.tls_ms, None, "plain http has no TLS step");
    let connect = timings.connect_ms.expect("connect_ms is recorded");
    let first_byte = timings.first_byte_ms.expect("first_byte_ms is recorded");
    assert!(connect <= first_byte, "{timings:?}");
    assert!(first_byte <= timings.total_ms, "{timings:?}");
    assert!(timings.total_ms < 5000.0, "{timings:?}");

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].method, "GET");
    assert_eq!(
        requests[0].target,
        format!("/ok?campaign={}", delivery.object_id)
    );
    assert_eq!(
        requests[0].header("webhook-id"),
        Some(delivery.message_id.as_str())
    );
    assert_eq!(
        requests[0].header("webhook-timestamp"),
        Some(timestamp.to_string().as_str())
    );
}

#[tokio::test]
async fn status_500_retried_with_same_id() {
    let server = server_with(&["--retry-schedule", "1s,1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|request| match request.index {
        0 => Response::status(500),
        _ => Response::status(200),
    });
    let hook = campaign_hook(&api, &format!("{}/flaky", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "succeeded", "{delivery:#?}");
    assert_eq!(delivery.attempts, 2);
    assert_eq!(delivery.attempts_log.len(), 2);
    let (first, second) = (&delivery.attempts_log[0], &delivery.attempts_log[1]);
    assert_eq!(first.response_status, Some(500));
    assert_eq!(first.error_class.as_deref(), Some("status"));
    assert!(
        first.error.as_deref().is_some_and(|e| e.contains("500")),
        "{first:#?}"
    );
    let started = first.started_at.as_deref().expect("started_at");
    let next = first
        .next_attempt_at
        .as_deref()
        .expect("a retry is scheduled");
    let delay = millis_between(started, next);
    let slack = first.timings.total_ms as i64 + 500;
    assert!(
        (1000..=1000 + slack).contains(&delay),
        "the retry is due {delay} ms after the first attempt started, not 1 s after it ended"
    );
    assert_eq!(second.response_status, Some(200));
    assert_eq!(second.error_class, None);
    assert_eq!(second.next_attempt_at, None);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2, "exactly one retry");
    let ids: Vec<_> = requests.iter().map(|r| r.header("webhook-id")).collect();
    assert_eq!(ids, vec![Some(delivery.message_id.as_str()); 2]);
    let timestamps: Vec<i64> = requests
        .iter()
        .map(|r| {
            r.header("webhook-timestamp")
                .expect("webhook-timestamp")
                .parse()
                .expect("seconds")
        })
        .collect();
    assert!(
        timestamps[1] > timestamps[0],
        "the retry has a fresh webhook-timestamp: {timestamps:?}"
    );
    let gap = requests[1].received_instant - requests[0].received_instant;
    assert!(
        gap >= Duration::from_millis(950),
        "the retry came after {gap:?}"
    );
}

#[tokio::test]
async fn silent_receiver_times_out_and_retries() {
    let server = server_with(&[
        "--request-timeout",
        "1s",
        "--retry-schedule",
        "1s",
        "--retry-jitter",
        "0",
    ]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| Response::Silent);
    let hook = campaign_hook(&api, &format!("{}/silent", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "failed", "{delivery:#?}");
    assert_eq!(
        delivery.attempts, 2,
        "the timeout is retried once, as the schedule says"
    );
    assert_eq!(delivery.error_class.as_deref(), Some("timeout"));
    for attempt in &delivery.attempts_log {
        assert_eq!(
            attempt.error_class.as_deref(),
            Some("timeout"),
            "{attempt:#?}"
        );
        assert_eq!(attempt.response_status, None);
        assert_eq!(
            attempt.address.as_deref(),
            Some(receiver.address().to_string().as_str())
        );
        assert!(attempt.timings.connect_ms.is_some(), "{attempt:#?}");
        assert_eq!(attempt.timings.first_byte_ms, None, "no byte came back");
        let total = attempt.timings.total_ms;
        assert!(
            (1000.0..2500.0).contains(&total),
            "the 1 s deadline ended it after {total} ms"
        );
    }
    assert!(delivery.attempts_log[0].next_attempt_at.is_some());
    assert_eq!(
        delivery.attempts_log[1].next_attempt_at, None,
        "the schedule is used up"
    );

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests
        .iter()
        .all(|r| r.header("webhook-id") == Some(delivery.message_id.as_str())));
}

#[tokio::test]
async fn slow_responses_time_out() {
    let server = server_with(&[
        "--request-timeout",
        "1s",
        "--retry-schedule",
        "1s",
        "--retry-jitter",
        "0",
    ]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|request| match request.path() {
        // The whole response comes 3 s late.
        "/late" => Response::status(200).after(Duration::from_secs(3)),
        // The head comes at once and the body a few bytes at a time, past the deadline.
        _ => Response::Trickle {
            head: b"HTTP/1.1 200 OK\r\ncontent-length: 40\r\nconnection: close\r\n\r\n".to_vec(),
            body: vec![b'x'; 40],
            chunk: 2,
            pause: Duration::from_millis(200),
        },
    });
    let late = campaign_hook(&api, &format!("{}/late", receiver.url())).await;
    let trickle = campaign_hook(&api, &format!("{}/trickle", receiver.url())).await;

    let campaign = fire(&api).await;
    let late_delivery = wait_until_done(&api, api.first_delivery(late.id).await.id).await;
    let trickle_delivery = wait_until_done(&api, api.first_delivery(trickle.id).await.id).await;
    assert_eq!(late_delivery.object_id, campaign);

    assert_eq!(late_delivery.status, "failed", "{late_delivery:#?}");
    assert_eq!(late_delivery.attempts, 2, "a timeout is retried");
    for attempt in &late_delivery.attempts_log {
        assert_eq!(
            attempt.error_class.as_deref(),
            Some("timeout"),
            "{attempt:#?}"
        );
        assert_eq!(attempt.response_status, None);
        assert!(attempt.timings.total_ms < 2500.0, "{attempt:#?}");
    }

    assert_eq!(trickle_delivery.status, "failed", "{trickle_delivery:#?}");
    assert_eq!(trickle_delivery.attempts, 2);
    for attempt in &trickle_delivery.attempts_log {
        assert_eq!(
            attempt.error_class.as_deref(),
            Some("timeout"),
            "{attempt:#?}"
        );
        assert_eq!(
            attempt.response_status,
            Some(200),
            "the head arrived in time"
        );
        assert!(attempt.timings.first_byte_ms.is_some(), "{attempt:#?}");
        assert!(attempt.timings.total_ms < 2500.0, "{attempt:#?}");
    }
}

#[tokio::test]
async fn redirect_is_recorded_not_followed() {
    let server = server_with(&["--retry-schedule", "1s,1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let elsewhere = ScriptedReceiver::start(|_| Response::status(200));
    let location = format!("{}/moved-here", elsewhere.url());
    let location_header = location.clone().into_bytes();
    let receiver = ScriptedReceiver::start(move |_| {
        Response::new(301, &[("location", &location_header)], b"")
    });
    let hook = campaign_hook(&api, &format!("{}/old", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "failed", "{delivery:#?}");
    assert_eq!(delivery.attempts, 1, "a redirect is final, not retried");
    let attempt = only_attempt(&delivery);
    assert_eq!(attempt.response_status, Some(301));
    assert_eq!(attempt.error_class.as_deref(), Some("redirect"));
    assert_eq!(attempt.response_header("location"), Some(location.as_str()));
    let error = attempt.error.as_deref().unwrap_or_default();
    assert!(
        error.contains(&location),
        "the error names the Location: {error}"
    );
    assert_eq!(attempt.next_attempt_at, None);

    // Longer than the retry delay, so a wrong retry or a followed redirect would have come.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 1);
    assert_eq!(
        elsewhere.count(),
        0,
        "the redirect target must never be called"
    );
}

#[tokio::test]
async fn gone_disables_hook() {
    let server = server_with(&["--retry-schedule", "1s,1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|request| match request.path() {
        "/gone" => Response::status(410),
        _ => Response::status(200),
    });
    let gone = campaign_hook(&api, &format!("{}/gone", receiver.url())).await;
    let control = campaign_hook(&api, &format!("{}/control", receiver.url())).await;

    let pending = fire_one(&api, gone.id).await;
    let delivery = wait_until_done(&api, pending.id).await;
    assert_eq!(delivery.status, "failed", "{delivery:#?}");
    assert_eq!(delivery.attempts, 1, "410 is final");
    let attempt = only_attempt(&delivery);
    assert_eq!(attempt.response_status, Some(410));
    assert_eq!(attempt.error_class.as_deref(), Some("status"));

    let hook = api.hook(gone.id).await;
    assert!(!hook.enabled, "a 410 disables the hook: {hook:#?}");
    let reason = hook.disabled_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("410"),
        "the reason names the 410: {reason:?}"
    );
    assert!(
        api.hook(control.id).await.enabled,
        "other hooks stay enabled"
    );

    // A later event calls the control hook but not the disabled one.
    fire(&api).await;
    api.wait_for_deliveries(control.id, 2).await;
    assert_eq!(api.deliveries(Some(gone.id)).await.len(), 1);
    let gone_requests = receiver
        .requests()
        .iter()
        .filter(|r| r.path() == "/gone")
        .count();
    assert_eq!(gone_requests, 1);
}

/// Returns `length` bytes of `a`, gzip-compressed.
fn gzip_of_letters(length: usize) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let block = vec![b'a'; 1024 * 1024];
    let mut left = length;
    while left > 0 {
        let piece = left.min(block.len());
        encoder
            .write_all(&block[..piece])
            .expect("gzip into memory");
        left -= piece;
    }
    encoder.finish().expect("gzip into memory")
}

#[tokio::test]
async fn gzip_bomb_cut_at_limit() {
    const INFLATED: usize = 512 * 1024 * 1024;
    let compressed = gzip_of_letters(INFLATED);
    assert!(
        compressed.len() < 2 * 1024 * 1024,
        "{} bytes",
        compressed.len()
    );

    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(move |_| {
        Response::new(
            200,
            &[
                ("content-encoding", b"gzip"),
                ("content-type", b"text/plain"),
            ],
            &compressed,
        )
    });
    let hook = campaign_hook(&api, &format!("{}/bomb", receiver.url())).await;
    let memory_before = server
        .peak_memory_kib()
        .expect("/proc reports the server's memory");

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "succeeded", "{delivery:#?}");
    let attempt = only_attempt(&delivery);
    assert!(
        attempt.response_body_truncated,
        "the body went past the limit"
    );
    assert!(attempt.response_body_utf8);
    let body = attempt.response_body.as_deref().unwrap_or_default();
    assert_eq!(
        body.len(),
        64 * 1024,
        "the body is kept up to 64 KiB after inflating"
    );
    assert!(body.bytes().all(|byte| byte == b'a'));
    assert_eq!(delivery.response_body.as_deref().map(str::len), Some(1024));

    let memory_after = server
        .peak_memory_kib()
        .expect("/proc reports the server's memory");
    let grown_mib = memory_after.saturating_sub(memory_before) / 1024;
    assert!(
        grown_mib < 32,
        "the server's peak memory grew by {grown_mib} MiB for a body that inflates to 512 MiB"
    );
    // The server is still up and serving the API.
    api.me().await;
}

#[tokio::test]
async fn non_utf8_body_kept_as_base64() {
    const BYTES: &[u8] = &[0xff, 0xfe, 0x00, b'o', b'k', 0x80, 0xc3, 0x28];
    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| {
        Response::new(200, &[("content-type", b"application/octet-stream")], BYTES)
    });
    let hook = campaign_hook(&api, &format!("{}/binary", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "succeeded", "{delivery:#?}");
    let attempt = only_attempt(&delivery);
    assert!(!attempt.response_body_utf8, "{attempt:#?}");
    assert!(!attempt.response_body_truncated);
    let encoded = attempt.response_body.as_deref().expect("the body is kept");
    let decoded = STANDARD
        .decode(encoded)
        .unwrap_or_else(|error| panic!("the body `{encoded}` is not base64: {error}"));
    assert_eq!(decoded, BYTES);
}

#[tokio::test]
async fn non_ascii_headers_recorded() {
    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| {
        Response::new(
            200,
            &[
                ("x-greeting", "café ünïcode".as_bytes()),
                ("x-latin1", b"caf\xe9"),
                ("x-plain", b"ascii"),
            ],
            b"ok",
        )
    });
    let hook = campaign_hook(&api, &format!("{}/headers", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;

    assert_eq!(delivery.status, "succeeded", "{delivery:#?}");
    let attempt = only_attempt(&delivery);
    assert_eq!(attempt.response_header("x-greeting"), Some("café ünïcode"));
    assert_eq!(
        attempt.response_header("x-latin1"),
        Some("caf\u{fffd}"),
        "a byte that is not UTF-8 is replaced, the rest kept"
    );
    assert_eq!(attempt.response_header("x-plain"), Some("ascii"));
}

/// Formats a time as an HTTP date, such as `Tue, 14 Nov 2023 22:15:20 GMT`.
fn http_date(time: chrono::DateTime<chrono::Utc>) -> String {
    time.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

#[tokio::test]
async fn retry_after_schedules_next_attempt() {
    let server = server_with(&["--retry-schedule", "1s,1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(per_path(|path, count| match (path, count) {
        ("/seconds", 0) => Response::new(503, &[("retry-after", b"3")], b"busy"),
        ("/date", 0) => {
            let at = http_date(chrono::Utc::now() + chrono::Duration::seconds(5));
            Response::new(429, &[("retry-after", at.as_bytes())], b"slow down")
        }
        ("/far", _) => Response::new(503, &[("retry-after", b"999999")], b"closed"),
        _ => Response::status(200),
    }));
    let seconds = campaign_hook(&api, &format!("{}/seconds", receiver.url())).await;
    let date = campaign_hook(&api, &format!("{}/date", receiver.url())).await;
    let far = campaign_hook(&api, &format!("{}/far", receiver.url())).await;

    fire(&api).await;
    let seconds_delivery = api.first_delivery(seconds.id).await;
    let date_delivery = api.first_delivery(date.id).await;
    let far_delivery = api.first_delivery(far.id).await;

    // `Retry-After: 3` replaces the 1 s of the schedule.
    let done = wait_until_done(&api, seconds_delivery.id).await;
    assert_eq!(done.status, "succeeded", "{done:#?}");
    assert_eq!(done.attempts, 2);
    let first = &done.attempts_log[0];
    let delay = millis_between(
        first.started_at.as_deref().expect("started_at"),
        first.next_attempt_at.as_deref().expect("next_attempt_at"),
    );
    let slack = first.timings.total_ms as i64 + 500;
    assert!(
        (3000..=3000 + slack).contains(&delay),
        "the retry is due after {delay} ms, not 3 s"
    );
    let arrivals: Vec<_> = receiver
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/seconds")
        .map(|r| r.received_instant)
        .collect();
    assert_eq!(arrivals.len(), 2);
    let gap = arrivals[1] - arrivals[0];
    // The dispatcher looks for due deliveries at least once a second.
    assert!(
        gap >= Duration::from_millis(2900) && gap <= Duration::from_millis(5000),
        "the retry came {gap:?} after the first attempt, not about 3 s"
    );

    // An HTTP date about 5 s ahead, on a 429.
    let done = wait_until_done(&api, date_delivery.id).await;
    assert_eq!(done.status, "succeeded", "{done:#?}");
    let first = &done.attempts_log[0];
    let delay = millis_between(
        first.started_at.as_deref().expect("started_at"),
        first.next_attempt_at.as_deref().expect("next_attempt_at"),
    );
    // The header has whole seconds, so the requested time is 4 to 5 s after the response.
    assert!(
        (3500..=6000).contains(&delay),
        "the retry is due after {delay} ms, not about 5 s"
    );

    // 999999 s is kept within the upper bound of 24 hours.
    let pending = api
        .wait_for_delivery(far_delivery.id, WAIT, |d| d.attempts >= 1)
        .await;
    assert_eq!(pending.status, "pending", "{pending:#?}");
    let first = &pending.attempts_log[0];
    let delay = millis_between(
        first.started_at.as_deref().expect("started_at"),
        first.next_attempt_at.as_deref().expect("next_attempt_at"),
    );
    let day = 24 * 3600 * 1000;
    assert!(
        (day..=day + 5000).contains(&delay),
        "Retry-After: 999999 scheduled the retry {delay} ms ahead, not 24 h"
    );
    assert_eq!(pending.next_attempt_at, first.next_attempt_at);
}

// ---------------------------------------------------------------------------------------------
// Crash recovery

/// Finds the `(hook number, list id)` a request was sent for, from `/h{n}?list={id}`.
fn delivery_key(request: &CapturedRequest) -> (String, String) {
    let list = request
        .target
        .split_once("list=")
        .map(|(_, id)| id.to_string())
        .unwrap_or_default();
    (request.path().to_string(), list)
}

#[tokio::test]
async fn sigkill_repeats_only_in_flight() {
    const HOOKS: usize = 10;
    const IMPORTS: usize = 100;
    const CONCURRENCY: usize = 16;
    let concurrency = CONCURRENCY.to_string();
    let mut server = server_with(&[
        "--request-timeout",
        "2s",
        "--retry-schedule",
        "1s,1s,1s",
        "--retry-jitter",
        "0",
        "--dispatch-concurrency",
        &concurrency,
    ]);
    let (api, token) = tenant(&server);
    // Slow responses keep many call-outs in flight, and the whole run lasts several seconds.
    let receiver =
        ScriptedReceiver::start(|_| Response::status(200).after(Duration::from_millis(100)));
    for number in 0..HOOKS {
        let url = format!("{}/h{number}?list={{calling_list.id}}", receiver.url());
        api.create_hook(&NewHook::new(&url, "callinglist", "import"))
            .await;
    }
    let mut lists = Vec::new();
    for number in 0..IMPORTS {
        let csv = format!("Phone\n+1555{number:07}\n");
        lists.push(api.import_list(&format!("List {number}"), &csv).await.id);
    }
    let expected: HashSet<(String, String)> = (0..HOOKS)
        .flat_map(|hook| {
            lists
                .iter()
                .map(move |list| (format!("/h{hook}"), list.to_string()))
        })
        .collect();
    assert_eq!(expected.len(), HOOKS * IMPORTS);

    // Kill the server part-way through, while call-outs are waiting for their responses.
    receiver.wait_for(300, Duration::from_secs(60)).await;
    server.kill();
    let killed_at = SystemTime::now();
    let at_kill = receiver.requests();
    let in_flight: HashSet<(String, String)> = at_kill
        .iter()
        .filter(|request| request.responded_at.is_none())
        .map(delivery_key)
        .collect();
    assert!(
        at_kill.len() < expected.len(),
        "all {} call-outs were made before the kill, so the test shows nothing",
        at_kill.len()
    );
    assert!(
        !in_flight.is_empty(),
        "no call-out was in flight at the kill"
    );

    server.restart();
    let api = server.api(&token);
    // Leases of the killed process end 2 s + 10 s after their claim, then those deliveries go
    // out again.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let received: HashSet<_> = receiver.requests().iter().map(delivery_key).collect();
        let pending = api
            .get("/api/deliveries?status=pending")
            .await
            .expect_status(200)
            .json::<Vec<Value>>();
        if received.len() >= expected.len() && pending.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "after the restart {} of {} call-outs arrived and {} deliveries are pending",
            received.len(),
            expected.len(),
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let failed = api
        .get("/api/deliveries?status=failed")
        .await
        .expect_status(200)
        .json::<Vec<Value>>();
    assert!(failed.is_empty(), "failed deliveries: {failed:#?}");

    let requests = receiver.requests();
    let mut by_key: BTreeMap<(String, String), Vec<&CapturedRequest>> = BTreeMap::new();
    for request in &requests {
        by_key
            .entry(delivery_key(request))
            .or_default()
            .push(request);
    }
    let received: HashSet<_> = by_key.keys().cloned().collect();
    assert_eq!(received, expected, "every delivery reached the receiver");

    let mut message_ids = HashSet::new();
    let mut repeated = HashSet::new();
    for (key, copies) in &by_key {
        let id = copies[0].header("webhook-id").expect("webhook-id");
        assert!(
            message_ids.insert(id.to_string()),
            "{key:?} shares webhook-id {id}"
        );
        for copy in copies {
            assert_eq!(
                copy.header("webhook-id"),
                Some(id),
                "a repeat of {key:?} changed its webhook-id"
            );
        }
        if copies.len() > 1 {
            assert_eq!(copies.len(), 2, "{key:?} arrived {} times", copies.len());
            assert!(
                copies[0].received_at < killed_at,
                "{key:?} first arrived after the kill"
            );
            assert!(
                copies[1].received_at > killed_at,
                "{key:?} repeated before the kill"
            );
            repeated.insert(key.clone());
        }
    }
    assert!(
        repeated.len() <= CONCURRENCY,
        "{} deliveries came twice, more than the {CONCURRENCY} that can be in flight",
        repeated.len()
    );
    let missing: Vec<_> = in_flight.difference(&repeated).collect();
    assert!(
        missing.is_empty(),
        "call-outs unanswered at the kill were not made again: {missing:?}"
    );
    println!(
        "{} call-outs, {} in flight at the kill, {} repeated, {} requests in all",
        expected.len(),
        in_flight.len(),
        repeated.len(),
        requests.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Signatures checked by the reference implementation

/// Returns whether `python3` can import `standardwebhooks`. When it cannot, fails under
/// `CI=true` and otherwise prints that the test was skipped.
fn reference_verifier_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import standardwebhooks"])
        .output()
        .is_ok_and(|output| output.status.success());
    if found {
        return true;
    }
    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !in_ci,
        "python3 with the standardwebhooks package is missing: run `scripts/install-tools --test`"
    );
    println!("skipped: python3 with the standardwebhooks package is missing (pip install standardwebhooks)");
    false
}

/// Returns one signature check for the Python script.
fn signature_case(
    name: &str,
    secret: &str,
    request: &CapturedRequest,
    body: &[u8],
    valid: bool,
) -> Value {
    let headers: BTreeMap<&str, &str> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .into_iter()
        .map(|name| (name, request.header(name).unwrap_or_default()))
        .collect();
    json!({
        "name": name,
        "secret": secret,
        "headers": headers,
        "body_base64": STANDARD.encode(body),
        "valid": valid,
    })
}

#[tokio::test]
async fn signatures_verify_with_reference() {
    if !reference_verifier_available() {
        return;
    }
    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| Response::status(204));
    let post_url = format!("{}/signed-post", receiver.url());
    let post = api
        .create_hook(
            &NewHook::new(&post_url, "campaigns", "create")
                .method("POST")
                .signed(),
        )
        .await;
    let get_url = format!("{}/signed-get?campaign={{campaign.id}}", receiver.url());
    let get = api
        .create_hook(&NewHook::new(&get_url, "campaigns", "create").signed())
        .await;
    let post_secret = post
        .secret
        .clone()
        .expect("a signed hook's secret is returned on create");
    let get_secret = get
        .secret
        .clone()
        .expect("a signed hook's secret is returned on create");
    assert!(post.signed);
    assert!(get.signed);
    assert!(
        api.hook(post.id).await.secret.is_none(),
        "the secret is shown only on create"
    );

    fire(&api).await;
    let requests = receiver.wait_for(2, WAIT).await;
    let post_request = requests
        .iter()
        .find(|r| r.path() == "/signed-post")
        .expect("POST call-out")
        .clone();
    let get_request = requests
        .iter()
        .find(|r| r.path() == "/signed-get")
        .expect("GET call-out")
        .clone();
    assert_eq!(post_request.method, "POST");
    assert_eq!(
        post_request.header("content-type"),
        Some("application/json")
    );
    let payload: Value = serde_json::from_slice(&post_request.body).expect("the POST body is JSON");
    assert_eq!(payload["id"].as_str(), post_request.header("webhook-id"));
    assert!(get_request.body.is_empty());

    let rotation = api.rotate_secret(post.id).await;
    let new_secret = rotation["secret"]
        .as_str()
        .expect("the new secret")
        .to_string();
    assert_ne!(new_secret, post_secret);
    assert!(rotation["previous_valid_until"].is_string(), "{rotation}");

    fire(&api).await;
    let requests = receiver.wait_for(4, WAIT).await;
    let rotated = requests
        .iter()
        .filter(|r| r.path() == "/signed-post")
        .nth(1)
        .expect("a second POST call-out")
        .clone();
    let signatures: Vec<&str> = rotated
        .header("webhook-signature")
        .unwrap_or_default()
        .split(' ')
        .collect();
    assert_eq!(
        signatures.len(),
        2,
        "signed with the new and the old secret: {signatures:?}"
    );
    assert!(
        signatures.iter().all(|s| s.starts_with("v1,")),
        "{signatures:?}"
    );

    let unrelated = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let mut tampered = post_request.body.clone();
    tampered.extend_from_slice(b" ");
    let cases = json!([
        signature_case(
            "post",
            &post_secret,
            &post_request,
            &post_request.body,
            true
        ),
        signature_case(
            "get, empty body",
            &get_secret,
            &get_request,
            &get_request.body,
            true
        ),
        signature_case(
            "post with another hook's secret",
            &get_secret,
            &post_request,
            &post_request.body,
            false
        ),
        signature_case(
            "post, body changed",
            &post_secret,
            &post_request,
            &tampered,
            false
        ),
        signature_case(
            "after rotation, new secret",
            &new_secret,
            &rotated,
            &rotated.body,
            true
        ),
        signature_case(
            "after rotation, old secret",
            &post_secret,
            &rotated,
            &rotated.body,
            true
        ),
        signature_case(
            "after rotation, unrelated secret",
            unrelated,
            &rotated,
            &rotated.body,
            false
        ),
    ]);
    let file = tempfile::NamedTempFile::new().expect("a temporary file for the cases");
    std::fs::write(file.path(), cases.to_string()).expect("write the cases");
    let script = callout_e2e::workspace_root().join("tests/python/verify_signatures.py");
    let output = Command::new("python3")
        .arg(&script)
        .arg(file.path())
        .output()
        .expect("failed to run python3");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({}):\n{stdout}\n{stderr}",
        script.display(),
        output.status
    );
    assert!(stdout.contains("7 of 7 cases as expected"), "{stdout}");
}

// ---------------------------------------------------------------------------------------------
// Test-fire, redelivery and auto-disable

#[tokio::test]
async fn test_fire_stores_nothing() {
    let server = server_with(&[]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| Response::new(200, &[], b"pong"));
    let url = format!("{}/try?campaign={{campaign.id}}", receiver.url());

    let reply = api
        .test_fire(json!({ "url": url, "target": "campaigns", "event": "create" }))
        .await;
    reply.expect_status(200);
    let body = &reply.body;
    assert_eq!(body["succeeded"], true, "{}", reply.text);
    assert_eq!(body["values"]["campaign.id"], "1", "{}", reply.text);
    let record: Attempt = reply.json();
    assert_eq!(record.method, "GET");
    assert_eq!(record.url, format!("{}/try?campaign=1", receiver.url()));
    assert_eq!(
        record.address.as_deref(),
        Some(receiver.address().to_string().as_str())
    );
    assert_eq!(record.response_status, Some(200), "{}", reply.text);
    assert_eq!(record.response_body.as_deref(), Some("pong"));
    assert!(record.response_body_utf8);
    assert!(!record.response_body_truncated);
    assert_eq!(record.error_class, None);
    assert!(record.timings.connect_ms.is_some(), "{}", reply.text);
    assert!(record.timings.total_ms > 0.0, "{}", reply.text);
    let message_id = record
        .request_header("webhook-id")
        .expect("webhook-id is sent")
        .to_string();
    assert!(record.request_header("webhook-timestamp").is_some());

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("webhook-id"), Some(message_id.as_str()));
    assert!(
        api.deliveries(None).await.is_empty(),
        "a test-fire stores no delivery"
    );
    assert!(api.hooks().await.is_empty(), "a test-fire stores no hook");
}

#[tokio::test]
async fn test_fire_explains_refusal() {
    let server = Server::start_with(ServerConfig {
        allow_loopback: false,
        args: vec![
            "--retry-schedule".into(),
            "1s".into(),
            "--retry-jitter".into(),
            "0".into(),
        ],
        ..ServerConfig::default()
    });
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| Response::status(200));
    let url = format!("{}/private", receiver.url());

    let reply = api
        .test_fire(json!({ "url": url, "target": "campaigns", "event": "create" }))
        .await;
    reply.expect_status(200);
    assert_eq!(reply.body["succeeded"], false, "{}", reply.text);
    let record: Attempt = reply.json();
    assert_eq!(
        record.error_class.as_deref(),
        Some("address_refused"),
        "{}",
        reply.text
    );
    let error = record.error.clone().unwrap_or_default();
    assert!(
        error.contains("127.0.0.1"),
        "the error names the address: {error}"
    );
    assert!(
        error.contains("loopback"),
        "the error names the address class: {error}"
    );
    assert_eq!(record.address, None, "a refused address is never dialled");
    assert_eq!(record.response_status, None);

    // A saved hook is refused the same way, once: the refusal is final.
    let hook = campaign_hook(&api, &url).await;
    let pending = fire_one(&api, hook.id).await;
    let delivery = wait_until_done(&api, pending.id).await;
    assert_eq!(delivery.status, "failed");
    assert_eq!(delivery.attempts, 1);
    assert_eq!(delivery.error_class.as_deref(), Some("address_refused"));
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn redeliver_one_keeps_webhook_id() {
    let server = server_with(&["--retry-schedule", "1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let healthy = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&healthy);
    // 404 is final, so the delivery fails at once until the receiver is healthy.
    let receiver = ScriptedReceiver::start(move |_| {
        Response::status(if switch.load(Ordering::SeqCst) {
            200
        } else {
            404
        })
    });
    let hook = campaign_hook(&api, &format!("{}/again", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let failed = wait_until_done(&api, pending.id).await;
    assert_eq!(failed.status, "failed", "{failed:#?}");
    assert_eq!(failed.attempts, 1);

    healthy.store(true, Ordering::SeqCst);
    let redelivered = api.redeliver(failed.id).await;
    assert_eq!(redelivered.id, failed.id);
    let done = api
        .wait_for_delivery(failed.id, WAIT, |d| d.status == "succeeded")
        .await;
    assert_eq!(done.attempts, 2);
    assert_eq!(done.message_id, failed.message_id);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        assert_eq!(
            request.header("webhook-id"),
            Some(failed.message_id.as_str())
        );
    }

    // A delivery that does not exist is not found.
    let reply = api
        .send(
            callout_e2e::Method::POST,
            &format!("/api/deliveries/{}/redeliver", i64::MAX),
            callout_e2e::Body::Empty,
        )
        .await;
    reply.expect_status(404);
}

#[tokio::test]
async fn redeliver_failed_since_keeps_ids() {
    let server = server_with(&["--retry-schedule", "1s", "--retry-jitter", "0"]);
    let (api, _) = tenant(&server);
    let healthy = Arc::new(AtomicBool::new(false));
    let switch = Arc::clone(&healthy);
    let receiver = ScriptedReceiver::start(move |_| {
        Response::status(if switch.load(Ordering::SeqCst) {
            200
        } else {
            400
        })
    });
    let hook = campaign_hook(&api, &format!("{}/batch?c={{campaign.id}}", receiver.url())).await;

    let mut failed = Vec::new();
    for _ in 0..3 {
        let pending = fire_one(&api, hook.id).await;
        failed.push(wait_until_done(&api, pending.id).await);
        // Keeps creation times apart, so `since` can split them.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        failed
            .iter()
            .all(|d| d.status == "failed" && d.attempts == 1),
        "{failed:#?}"
    );
    let (older, newer) = failed.split_at(1);

    healthy.store(true, Ordering::SeqCst);
    let count = api.redeliver_failed(hook.id, &newer[0].created_at).await;
    assert_eq!(
        count, 2,
        "the two deliveries created since the first of them"
    );

    for delivery in newer {
        let done = api
            .wait_for_delivery(delivery.id, WAIT, |d| d.status == "succeeded")
            .await;
        assert_eq!(done.attempts, 2);
        assert_eq!(done.message_id, delivery.message_id);
        let copies: Vec<_> = receiver
            .requests()
            .into_iter()
            .filter(|r| r.target.ends_with(&format!("c={}", delivery.object_id)))
            .collect();
        assert_eq!(copies.len(), 2);
        for copy in &copies {
            assert_eq!(
                copy.header("webhook-id"),
                Some(delivery.message_id.as_str())
            );
        }
    }
    let untouched = api.delivery(older[0].id).await;
    assert_eq!(untouched.status, "failed");
    assert_eq!(
        untouched.attempts, 1,
        "a delivery older than `since` is left alone"
    );
}

#[tokio::test]
async fn failing_hook_disabled_after_period() {
    let server = server_with(&[
        "--disable-after",
        "2s",
        "--retry-schedule",
        "1s,1s,1s,1s,1s,1s",
        "--retry-jitter",
        "0",
    ]);
    let (api, _) = tenant(&server);
    let receiver = ScriptedReceiver::start(|_| Response::status(500));
    let hook = campaign_hook(&api, &format!("{}/down", receiver.url())).await;

    let pending = fire_one(&api, hook.id).await;
    let deadline = Instant::now() + WAIT;
    let disabled = loop {
        let current = api.hook(hook.id).await;
        if !current.enabled {
            break current;
        }
        assert!(
            Instant::now() < deadline,
            "the hook is still enabled: {current:#?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let reason = disabled.disabled_reason.clone().unwrap_or_default();
    assert!(
        reason.contains("every call-out failed"),
        "the reason says why: {reason:?}"
    );
    assert!(disabled.failing_since.is_some(), "{disabled:#?}");

    let requests = receiver.requests();
    assert!(requests.len() >= 2, "{} attempts", requests.len());
    let span = requests[requests.len() - 1].received_instant - requests[0].received_instant;
    assert!(
        span >= Duration::from_millis(1900),
        "disabled after failing for only {span:?}"
    );

    // The delivery stops, and no further call-out is made.
    let delivery = wait_until_done(&api, pending.id).await;
    assert_eq!(delivery.status, "failed", "{delivery:#?}");
    let calls = receiver.count();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        receiver.count(),
        calls,
        "a disabled hook made another call-out"
    );

    // Enabling it again clears the reason and the run of failures.
    let enabled = api
        .update_hook(
            hook.id,
            &NewHook::new(&disabled.url, "campaigns", "create").enabled(true),
        )
        .await;
    assert!(enabled.enabled);
    assert_eq!(enabled.disabled_reason, None);
    assert_eq!(enabled.failing_since, None);
}
