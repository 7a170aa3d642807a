//! End to end: the admin page's views other than the editor, in headless Chromium against the
//! real `callout` binary. The first test covers the hooks list with activity, signing secrets
//! and their rotation, then calling lists and campaigns, then the deliveries with filters,
//! attempt records, redelivery, refresh and chart. The second ends a session by having the
//! server reject the token.
//!
//! See `browser/mod.rs` for what the tests need and where screenshots go.

mod browser;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use browser::{Browser, Harness};
use callout_e2e::{Api, Response, ScriptedReceiver, ServerConfig};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_manage_hooks_lists_and_deliveries() {
    let Some(harness) = Harness::start(ServerConfig::default()).await else {
        return;
    };
    let url = harness.server.url().to_string();
    let token = harness.server.admin_token().to_string();
    let steps = view_steps(harness.browser.clone(), url, token);
    harness.run("views", steps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_token_returns_to_sign_in() {
    let Some(harness) = Harness::start(ServerConfig::default()).await else {
        return;
    };
    let url = harness.server.url().to_string();
    let token = harness.server.admin_token().to_string();
    let steps = session_steps(harness.browser.clone(), url, token);
    harness.run("session", steps).await;
}

/// Returns how many elements match `css`.
async fn count(browser: &Browser, css: &str) -> u64 {
    let found = browser
        .script(
            "return document.querySelectorAll(arguments[0]).length;",
            json!([css]),
        )
        .await;
    found.as_u64().unwrap_or(0)
}

/// Writes `text` to a temporary `.csv` file.
fn csv_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .prefix("contacts-")
        .suffix(".csv")
        .tempfile()
        .expect("failed to create a CSV file");
    std::fs::write(file.path(), text).expect("failed to write the CSV file");
    file
}

async fn view_steps(browser: Browser, base_url: String, token: String) {
    let api = Api::new(&base_url, Some(&token));
    // The first call-out gets 404, a final failure, and every later one gets 200.
    let receiver = ScriptedReceiver::start(|request| {
        if request.index == 0 {
            Response::status(404)
        } else {
            Response::status(200)
        }
    });
    browser::sign_in(&browser, &base_url, &token).await;

    // A hook created as signed shows its secret once, with a copy button.
    browser.click("#new-hook").await;
    browser
        .click("#hook-target option[value='campaigns']")
        .await;
    browser.wait_for("#hook-event option[value='create']").await;
    browser
        .type_text(
            "#hook-url",
            &format!("{}/campaign/{{campaign.id}}", receiver.url()),
        )
        .await;
    browser.click("#hook-signed").await;
    browser.click("#hook-save").await;
    browser.wait_for_text("#hooks-notice", "Saved hook").await;
    let first_secret = browser.text("#secret-value").await;
    assert!(
        first_secret.len() >= 16,
        "a secret is shown: {first_secret:?}"
    );
    browser.click("#copy-secret").await;
    browser
        .wait_for_text("#copy-secret-status", "Copied.")
        .await;
    let hook = api.hooks().await.pop().expect("the hook is saved");
    let row = format!("#hook-{}", hook.id);
    assert_eq!(browser.text(&format!("{row} .signed")).await, "yes");
    browser.screenshots("hooks-secret").await;
    browser.click("#hide-secret").await;
    browser.wait_for_none("#secret-panel").await;

    // Rotating needs a confirmation, then shows the new secret once.
    browser.click(&format!("{row} .rotate")).await;
    browser.dismiss_alert().await;
    assert!(
        browser.find("#secret-panel").await.is_none(),
        "a dismissed rotation does nothing"
    );
    browser.click(&format!("{row} .rotate")).await;
    browser.accept_alert().await;
    let panel = browser
        .wait_for_text("#secret-panel", "previous secret")
        .await;
    let second_secret = browser.text("#secret-value").await;
    assert_ne!(
        second_secret, first_secret,
        "the rotated secret is new: {panel:?}"
    );
    let last = browser.text(&format!("{row} .last-delivery")).await;
    assert_eq!(last, "none yet");

    // Campaigns: one created plainly and one as a copy, each firing the hook.
    browser.click("#nav-lists").await;
    browser.type_text("#campaign-name", "Spring").await;
    browser.click("#campaign-create").await;
    browser
        .wait_for_text("#campaigns-notice", "Created campaign")
        .await;
    let original = api.get("/api/campaigns").await.body[0]["id"]
        .as_i64()
        .expect("a campaign id");
    receiver
        .wait_for(1, std::time::Duration::from_secs(10))
        .await;
    browser.type_text("#campaign-name", "Spring again").await;
    browser
        .click(&format!("#campaign-copy-of option[value='{original}']"))
        .await;
    browser.click("#campaign-create").await;
    let notice = browser
        .wait_for_text("#campaigns-notice", "a copy of campaign")
        .await;
    assert!(notice.contains(&original.to_string()), "notice: {notice:?}");
    receiver
        .wait_for(2, std::time::Duration::from_secs(10))
        .await;
    let copies = api.get("/api/campaigns").await.body;
    let copy = copies
        .as_array()
        .and_then(|all| all.iter().find(|c| c["copy_of"] == json!(original)))
        .expect("the copy is stored")
        .clone();
    let copy_row = format!("#campaign-{}", copy["id"]);
    assert_eq!(
        browser.text(&format!("{copy_row} .copy-of")).await,
        format!("campaign {original}")
    );

    // Calling lists: an import with progress and a summary, a rejected file naming its line,
    // rows added, and a delete that needs a confirmation.
    let good = csv_file("Name,Phone\nAda,555-0101\nBo,555-0102\n");
    browser.type_text("#import-name", "March leads").await;
    browser.choose_file("#import-file", good.path()).await;
    browser.click("#import-submit").await;
    let notice = browser
        .wait_for_text("#lists-notice", "Imported 2 row(s)")
        .await;
    assert!(
        notice.contains("Name, Phone"),
        "the summary names the columns: {notice:?}"
    );
    let progress = browser
        .script(
            "return document.getElementById('upload-progress').value;",
            json!([]),
        )
        .await;
    assert_eq!(progress, json!(100), "the progress bar is full");
    assert_eq!(browser.text("#upload-percent").await, "100 %");
    let list_id = api.get("/api/calling-lists").await.body[0]["id"]
        .as_i64()
        .expect("a list id");
    let list_row = format!("#list-{list_id}");
    assert_eq!(browser.text(&format!("{list_row} .contacts")).await, "2");

    let bad = csv_file("Name,Phone\nCy,555-0103\nDee,555-0104,extra\n");
    browser.erase("#import-name").await;
    browser.type_text("#import-name", "Broken").await;
    browser.choose_file("#import-file", bad.path()).await;
    browser.click("#import-submit").await;
    let failure = browser.wait_for_text("#lists-failure", "line 3").await;
    assert!(
        failure.contains("Nothing of it was stored"),
        "failure: {failure:?}"
    );
    let lists = api.get("/api/calling-lists").await.body;
    assert_eq!(
        lists.as_array().map(Vec::len),
        Some(1),
        "the rejected file is not stored"
    );

    let more = csv_file("Name,Phone\nEd,555-0105\n");
    browser
        .choose_file(&format!("#add-file-{list_id}"), more.path())
        .await;
    browser.click(&format!("{list_row} .add-rows")).await;
    browser
        .wait_for_text("#lists-notice", "Added 1 row(s)")
        .await;
    browser
        .wait_for_text(&format!("{list_row} .contacts"), "3")
        .await;
    browser.screenshots("lists").await;

    browser.click(&format!("{copy_row} .delete")).await;
    browser.accept_alert().await;
    browser.wait_for_none(&copy_row).await;
    browser.click(&format!("{list_row} .delete")).await;
    browser.dismiss_alert().await;
    assert!(
        browser.find(&list_row).await.is_some(),
        "a dismissed delete keeps the list"
    );
    browser.click(&format!("{list_row} .delete")).await;
    browser.accept_alert().await;
    browser.wait_for("#lists-empty").await;

    // Deliveries: filters, each attempt's record, redelivery seen through the refresh.
    browser.click("#nav-deliveries").await;
    browser.wait_for("#deliveries .delivery-row").await;
    browser
        .click("#deliveries-status option[value='failed']")
        .await;
    browser
        .wait_until(
            "const rows = document.querySelectorAll('#deliveries .delivery-row'); \
         return rows.length == 1 && rows[0].dataset.status == 'failed';",
            "the status filter leaves the failed delivery",
        )
        .await;
    let failed_row = browser.wait_for("#deliveries .delivery-row").await;
    let failed_id = browser
        .script(
            "return arguments[0].id;",
            json!([{ browser::ELEMENT_KEY: failed_row }]),
        )
        .await;
    let failed_row = format!("#{}", failed_id.as_str().expect("the row has an id"));
    browser.click(&format!("{failed_row} .expand")).await;
    let detail = browser
        .wait_for_text(
            &format!("{failed_row}-detail .attempt-summary"),
            "responded 404",
        )
        .await;
    assert!(detail.starts_with("Failed"), "detail: {detail:?}");
    let headers = browser
        .text(&format!("{failed_row}-detail .request-headers"))
        .await;
    assert!(
        headers.contains("webhook-signature"),
        "the signed call-out shows its headers: {headers:?}"
    );
    browser.screenshots("deliveries-detail").await;

    browser.click("#deliveries-status option[value='']").await;
    browser
        .wait_until(
            "return document.querySelectorAll('#deliveries .delivery-row').length == 2;",
            "both deliveries are listed again",
        )
        .await;
    assert!(
        browser
            .find(&format!("{failed_row}-detail"))
            .await
            .is_some(),
        "an open row stays open across a reload"
    );
    browser.click(&format!("{failed_row} .redeliver")).await;
    browser.wait_for_text("#deliveries-notice", "queued").await;
    browser
        .wait_for(&format!("{failed_row}[data-status='succeeded']"))
        .await;
    receiver
        .wait_for(3, std::time::Duration::from_secs(10))
        .await;
    // No click from here on: the view refreshes on its own.
    let before = browser.text("#refreshed-at").await;
    browser
        .wait_until(
            &format!(
                "return document.getElementById('refreshed-at').textContent != {};",
                json!(before)
            ),
            "the view refreshes within 10 s",
        )
        .await;

    browser
        .click("#deliveries-event option[value='callinglist/import']")
        .await;
    browser.wait_for("#deliveries-empty").await;
    browser
        .click("#deliveries-event option[value='campaigns/create']")
        .await;
    browser
        .wait_until(
            "return document.querySelectorAll('#deliveries .delivery-row').length == 2;",
            "the event filter keeps the campaign deliveries",
        )
        .await;
    browser
        .script(
            "const f = document.getElementById('deliveries-since'); f.value = '2099-01-01T00:00'; \
             f.dispatchEvent(new Event('change', { bubbles: true }));",
            json!([]),
        )
        .await;
    browser.wait_for("#deliveries-empty").await;
    browser
        .script(
            "const f = document.getElementById('deliveries-since'); f.value = ''; \
             f.dispatchEvent(new Event('change', { bubbles: true }));",
            json!([]),
        )
        .await;
    browser.wait_for("#deliveries .delivery-row").await;

    // The chart counts what the stats endpoint counts.
    let stats = api.get("/api/deliveries/stats?hours=24").await.body;
    let sum = |field: &str| -> i64 {
        stats.as_array().map_or(0, |hours| {
            hours.iter().map(|h| h[field].as_i64().unwrap_or(0)).sum()
        })
    };
    browser
        .wait_until(
            &format!(
                "return document.getElementById('deliveries-chart').dataset.succeeded == '{}';",
                sum("succeeded")
            ),
            "the chart counts the succeeded deliveries",
        )
        .await;
    assert_eq!(sum("succeeded"), 2, "stats: {stats}");
    assert_eq!(count(&browser, "#deliveries-chart rect.succeeded").await, 1);
    let summary = browser.text("#chart-summary").await;
    assert!(
        summary.contains("2 succeeded, 0 failed"),
        "summary: {summary:?}"
    );
    assert!(summary.contains("mean call time"), "summary: {summary:?}");

    // The hooks list shows the latest delivery and the success rate.
    browser.click("#nav-hooks").await;
    let last = browser
        .wait_for_text(&format!("{row} .last-delivery"), "succeeded")
        .await;
    assert!(last.contains("UTC"), "the time is shown: {last:?}");
    let rate = browser.text(&format!("{row} .success-rate")).await;
    assert_eq!(rate, "100 % (2 of 2)");
}

/// A loopback proxy in front of the server that can replace the page's token with one the
/// server has never issued, as a revoked or expired token would be.
struct Proxy {
    upstream: String,
    client: reqwest::Client,
    revoked: AtomicBool,
}

async fn forward(
    State(proxy): State<Arc<Proxy>>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 16 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut outgoing = proxy
        .client
        .request(parts.method.clone(), format!("{}{path}", proxy.upstream))
        .body(body);
    for (name, value) in &parts.headers {
        if name == "host" {
            continue;
        }
        if name == "authorization" && proxy.revoked.load(Ordering::SeqCst) {
            outgoing = outgoing.header(name, "Bearer revoked-token");
        } else {
            outgoing = outgoing.header(name, value);
        }
    }
    let upstream_response = outgoing.send().await.expect("the proxy reaches the server");
    let mut response = axum::response::Response::builder().status(upstream_response.status());
    for (name, value) in upstream_response.headers() {
        response = response.header(name, value);
    }
    let bytes = upstream_response.bytes().await.unwrap_or_default();
    response
        .body(axum::body::Body::from(bytes))
        .expect("a valid response")
}

async fn session_steps(browser: Browser, base_url: String, token: String) {
    // An empty token is rejected with a sentence, and the field has its label.
    browser.goto(&format!("{base_url}/")).await;
    browser.click("#sign-in").await;
    browser
        .wait_for_text("#sign-in-failure", "Enter the API token")
        .await;
    let label = browser
        .script(
            "return document.querySelector('label[for=token]').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(label, json!("API token"), "the field has a label");

    // A saved token that the server no longer accepts leads to the sign-in page.
    browser
        .script(
            "localStorage.setItem('callout.token', 'no-such-token');",
            json!([]),
        )
        .await;
    browser.refresh().await;
    browser
        .wait_for_text("#sign-in-message", "no longer accepted")
        .await;
    let stored = browser
        .script("return localStorage.getItem('callout.token');", json!([]))
        .await;
    assert_eq!(stored, Value::Null, "the rejected token is forgotten");

    // A token rejected in the middle of a session ends it, wherever the page is.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("failed to bind the proxy");
    let proxy_url = format!("http://{}", listener.local_addr().expect("an address"));
    let proxy = Arc::new(Proxy {
        upstream: base_url.clone(),
        client: reqwest::Client::new(),
        revoked: AtomicBool::new(false),
    });
    let app = axum::Router::new()
        .fallback(forward)
        .with_state(Arc::clone(&proxy));
    let serving = tokio::spawn(async move { axum::serve(listener, app).await });
    browser::sign_in(&browser, &proxy_url, &token).await;
    browser.click("#nav-deliveries").await;
    browser.wait_for("#deliveries-empty").await;
    proxy.revoked.store(true, Ordering::SeqCst);
    // The deliveries view refreshes every 5 s, so its next call meets the 401.
    let message = browser
        .wait_for_text("#sign-in-message", "session has ended")
        .await;
    assert!(message.contains("Sign in again"), "message: {message:?}");
    assert!(
        browser.find("#sign-out").await.is_none(),
        "the views are gone"
    );
    let stored = browser
        .script("return localStorage.getItem('callout.token');", json!([]))
        .await;
    assert_eq!(stored, Value::Null, "the rejected token is forgotten");
    browser.screenshots("session-ended").await;
    serving.abort();
}
