//! End to end: a server stopped with SIGTERM while call-outs are under way finishes them,
//! hands back the claims it has not started, and loses nothing: after a restart every
//! delivery has arrived exactly once.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use callout_e2e::{NewAgent, NewHook, Response, ScriptedReceiver, Server, ServerConfig};
use serde_json::Value;

/// Waits until the process `pid` has exited (it stays a zombie until it is reaped).
fn wait_for_exit(pid: u32, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let exited = status.is_empty()
            || status
                .lines()
                .any(|line| line.starts_with("State:") && line.contains('Z'));
        if exited {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "process {pid} did not exit within {within:?} of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn sigterm_under_load_loses_nothing() {
    const HOOKS: usize = 5;
    const EVENTS: usize = 60;
    let mut server = Server::start_with(ServerConfig {
        args: ["--dispatch-concurrency", "8", "--request-timeout", "5s"]
            .iter()
            .map(|a| a.to_string())
            .collect(),
        ..ServerConfig::default()
    });
    let client = server.add_client("Shutdown Tests");
    let agent = server.add_agent(&NewAgent::new(client.id, "stopper"));
    let api = server.api(&agent.token);
    // Slow responses keep call-outs in flight when the signal comes.
    let receiver =
        ScriptedReceiver::start(|_| Response::status(200).after(Duration::from_millis(150)));
    for number in 0..HOOKS {
        let url = format!("{}/h{number}?campaign={{campaign.id}}", receiver.url());
        api.create_hook(&NewHook::new(&url, "campaigns", "create"))
            .await;
    }
    for _ in 0..EVENTS {
        api.create_campaign("Autumn", None).await;
    }
    let expected = HOOKS * EVENTS;

    receiver.wait_for(60, Duration::from_secs(60)).await;
    let pid = server.pid();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    wait_for_exit(pid, Duration::from_secs(20));
    let at_stop = receiver.requests();
    assert!(
        at_stop.len() < expected,
        "every call-out was made before the signal, so the test shows nothing"
    );
    assert!(
        at_stop.iter().all(|request| request.responded_at.is_some()),
        "a call-out was cut off by the shutdown"
    );
    assert!(server
        .output()
        .iter()
        .any(|line| line.contains("every attempt under way was recorded")));

    server.restart();
    let api = server.api(&agent.token);
    let deadline = Instant::now() + Duration::from_secs(60);
    while receiver.count() < expected {
        assert!(
            Instant::now() < deadline,
            "only {} of {expected} call-outs arrived",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment for a call-out that should not come.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let requests = receiver.requests();
    assert_eq!(requests.len(), expected, "some deliveries arrived twice");
    let mut seen: HashMap<String, usize> = HashMap::new();
    for request in &requests {
        *seen
            .entry(request.header("webhook-id").unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), expected);
    assert!(seen.values().all(|&count| count == 1));
    let pending = api
        .get("/api/deliveries?status=pending")
        .await
        .expect_status(200)
        .json::<Vec<Value>>();
    assert!(
        pending.is_empty(),
        "{} deliveries are still pending",
        pending.len()
    );
}
