//! End to end: the admin page in headless Chromium, served by the real `callout` binary.
//!
//! The test signs in and types a hook's URL one character at a time, checking that the preview
//! follows every keystroke. It checks the errors shown for bad templates, then saves a hook that
//! calls a loopback receiver, fires it, and finds the call-out in the deliveries.
//!
//! It needs Chromium at `/usr/bin/chromium`, its driver at `/usr/bin/chromedriver` and the
//! page built into `web/dist` (`trunk build --offline`). When one is missing the test prints
//! that it was skipped, and fails instead when `CI` is `true`. On failure it saves a
//! screenshot to `tests/screenshots/`.
//!
//! The browser is driven through the W3C WebDriver protocol with `reqwest`, a handful of
//! plain JSON requests, which spares the tests a WebDriver client crate.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callout_e2e::{workspace_root, Receiver, Server, ServerConfig};
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the page may take to show what a step expects.
const UI_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two looks at the page while waiting.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The key W3C WebDriver uses for an element reference in JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The WebDriver code of the Backspace key.
const BACKSPACE: &str = "\u{E003}";

/// Returns the built page's directory when the browser, its driver and the page are all
/// present. Otherwise panics when `CI` is `true`, and returns `None` after printing what is
/// missing.
fn browser_prerequisites() -> Option<PathBuf> {
    let dist = workspace_root().join("web/dist");
    let checks = [
        (
            PathBuf::from(CHROMIUM),
            "install Debian's `chromium` package",
        ),
        (
            PathBuf::from(CHROMEDRIVER),
            "install Debian's `chromium-driver` package",
        ),
        (
            dist.join("index.html"),
            "run `trunk build --offline` in the workspace",
        ),
    ];
    let missing: Vec<String> = checks
        .iter()
        .filter(|(path, _)| !path.is_file())
        .map(|(path, fix)| format!("{} is missing: {fix}", path.display()))
        .collect();
    if missing.is_empty() {
        return Some(dist);
    }

    let in_ci = std::env::var("CI").is_ok_and(|value| value == "true");
    assert!(
        !in_ci,
        "the admin page test cannot run: {}",
        missing.join("; ")
    );
    println!("skipped: {}", missing.join("; "));
    None
}

// ---------------------------------------------------------------------------------------------
// The browser

/// A chromedriver process on a free loopback port. Dropping it kills the process.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits until it reports that it is ready.
    async fn start() -> Driver {
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {CHROMEDRIVER}: {error}"));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };

        let http = reqwest::Client::new();
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let status = http.get(format!("{}/status", driver.url)).send().await;
            if let Ok(response) = status {
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if body["value"]["ready"] == json!(true) {
                    return driver;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} was not ready after {} s",
                UI_TIMEOUT.as_secs()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Returns a loopback port that was free a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("failed to bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}

/// A WebDriver session of headless Chromium. Cloning shares the session.
#[derive(Clone)]
struct Browser {
    http: reqwest::Client,
    /// The session's URL, such as `http://127.0.0.1:9515/session/abc`.
    session: String,
}

impl Browser {
    /// Opens headless Chromium with a fresh profile in `profile_dir`.
    async fn open(driver: &Driver, profile_dir: &std::path::Path) -> Browser {
        let args = [
            "--headless".to_string(),
            "--no-sandbox".to_string(),
            "--disable-gpu".to_string(),
            "--disable-quic".to_string(),
            "--no-first-run".to_string(),
            "--disable-background-networking".to_string(),
            "--disable-component-update".to_string(),
            "--disable-sync".to_string(),
            "--window-size=1280,900".to_string(),
            format!("--user-data-dir={}", profile_dir.display()),
        ];
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
                }
            }
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("failed to build the HTTP client");
        let response = http
            .post(format!("{}/session", driver.url))
            .json(&capabilities)
            .send()
            .await
            .expect("failed to ask chromedriver for a session");
        let body: Value = response
            .json()
            .await
            .expect("chromedriver sent invalid JSON");
        let id = body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver did not open a session: {body}"));
        Browser {
            http,
            session: format!("{}/session/{id}", driver.url),
        }
    }

    /// Sends one WebDriver command and returns its `value`, or the error it reported.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, String> {
        let url = format!("{}{path}", self.session);
        let mut request = self.http.request(method.clone(), &url);
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| format!("{method} {path} failed: {error}"))?;
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .map_err(|error| format!("{method} {path} returned invalid JSON: {error}"))?;
        if status.is_success() {
            Ok(body["value"].clone())
        } else {
            Err(format!(
                "{method} {path} returned {status}: {}",
                body["value"]
            ))
        }
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, body)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    /// Returns the first element that matches `css`, if any.
    async fn find(&self, css: &str) -> Option<String> {
        let body = json!({ "using": "css selector", "value": css });
        let found = self
            .command(reqwest::Method::POST, "/element", body)
            .await
            .ok()?;
        found[ELEMENT_KEY].as_str().map(str::to_string)
    }

    /// Waits until an element matches `css` and returns it.
    async fn wait_for(&self, css: &str) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if let Some(element) = self.find(css).await {
                return element;
            }
            assert!(
                Instant::now() < deadline,
                "no element matches `{css}` after {} s",
                UI_TIMEOUT.as_secs()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until nothing matches `css`.
    async fn wait_for_none(&self, css: &str) {
        let deadline = Instant::now() + UI_TIMEOUT;
        while self.find(css).await.is_some() {
            assert!(
                Instant::now() < deadline,
                "`{css}` still matches after {} s",
                UI_TIMEOUT.as_secs()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Types `text` into the element matching `css`, as key presses.
    async fn type_text(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Empties a text field with Backspace presses, so that the page gets `input` events.
    async fn erase(&self, css: &str) {
        let length = self
            .script(&format!("return {}.value.length;", by_id(css)), json!([]))
            .await;
        let length = length.as_u64().unwrap_or(0) as usize;
        self.type_text(css, &BACKSPACE.repeat(length)).await;
    }

    async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        let value = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{element}/text"),
                Value::Null,
            )
            .await;
        value
            .unwrap_or_else(|error| panic!("{error}"))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until the text of the element matching `css` contains `expected`, and returns it.
    async fn wait_for_text(&self, css: &str, expected: &str) -> String {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            let text = self.text(css).await;
            if text.contains(expected) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "`{css}` shows {text:?}, which lacks {expected:?}, after {} s",
                UI_TIMEOUT.as_secs()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Runs `script` in the page, with `args` as `arguments`, and returns what it returns.
    async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    async fn accept_alert(&self) {
        self.post("/alert/accept", json!({})).await;
    }

    async fn dismiss_alert(&self) {
        self.post("/alert/dismiss", json!({})).await;
    }

    /// Saves a screenshot as `path`, for a failed test's reader.
    async fn save_screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        let value = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let png = decode_base64(value.as_str().unwrap_or_default())?;
        std::fs::create_dir_all(path.parent().expect("a screenshot path has a parent"))
            .map_err(|error| error.to_string())?;
        std::fs::write(path, png).map_err(|error| error.to_string())
    }

    async fn close(&self) {
        let _ = self.command(reqwest::Method::DELETE, "", Value::Null).await;
    }
}

/// Returns a JavaScript expression for the element of an `#id` selector.
fn by_id(css: &str) -> String {
    let id = css.strip_prefix('#').expect("an id selector");
    format!("document.getElementById({})", json!(id))
}

/// Decodes standard base64 with padding, as WebDriver sends screenshots.
fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("invalid base64 byte {c:#04x}")),
        };
        buffer = (buffer << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------------------------
// The editor's state, as the test reads it

/// What the editor shows: the URL field, the preview and whether the URL has errors listed.
#[derive(Debug, PartialEq)]
struct EditorState {
    url: String,
    preview: String,
    preview_valid: bool,
    url_errors_listed: bool,
}

const READ_EDITOR: &str = "\
    const preview = document.getElementById('preview');\
    return {\
        url: document.getElementById('hook-url').value,\
        preview: preview.textContent,\
        valid: preview.dataset.valid,\
        errors: document.querySelectorAll('#url-errors li').length,\
    };";

async fn read_editor(browser: &Browser) -> EditorState {
    let state = browser.script(READ_EDITOR, json!([])).await;
    EditorState {
        url: state["url"].as_str().unwrap_or_default().to_string(),
        preview: state["preview"].as_str().unwrap_or_default().to_string(),
        preview_valid: state["valid"] == json!("true"),
        url_errors_listed: state["errors"].as_u64().unwrap_or(0) > 0,
    }
}

/// Waits until the editor shows `expected`, and panics with what it shows otherwise.
async fn wait_for_editor(browser: &Browser, expected: &EditorState) {
    let deadline = Instant::now() + UI_TIMEOUT;
    loop {
        let actual = read_editor(browser).await;
        if actual == *expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after typing {:?} the editor shows {actual:#?} instead of {expected:#?}",
            expected.url
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Returns what the editor should show once `typed` is in the URL field, worked out without
/// the engine. A URL without a host yet, or with an unclosed `{`, has errors and no preview.
/// Otherwise every tag is replaced by its value, and none of these values needs encoding.
fn expected_editor(typed: &str, host_start: usize, values: &[(&str, &str)]) -> EditorState {
    let unclosed = typed.matches('{').count() > typed.matches('}').count();
    let valid = typed.len() > host_start && !unclosed;
    let preview = if valid {
        values.iter().fold(typed.to_string(), |url, (tag, value)| {
            url.replace(tag, value)
        })
    } else {
        String::new()
    };
    EditorState {
        url: typed.to_string(),
        preview,
        preview_valid: valid,
        url_errors_listed: !valid,
    }
}

// ---------------------------------------------------------------------------------------------
// The test

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_page_previews_saves_and_lists() {
    let Some(dist) = browser_prerequisites() else {
        return;
    };
    let server = Server::start_with(ServerConfig {
        web_dir: Some(dist),
        ..ServerConfig::default()
    });
    let receiver = Receiver::start();
    let driver = Driver::start().await;
    let profile = tempfile::Builder::new()
        .prefix("callout-chromium-")
        .tempdir()
        .expect("failed to create a browser profile directory");
    let browser = Browser::open(&driver, profile.path()).await;

    // The steps run in their own task so that the browser is closed, and a screenshot and
    // the server's output kept, even when one of them panics.
    let url = server.url().to_string();
    let token = server.admin_token().to_string();
    let outcome = tokio::spawn(steps(browser.clone(), url, token, receiver)).await;
    if outcome.is_err() {
        eprintln!("the server's output:\n{}", server.output().join("\n"));
        let path = workspace_root().join("tests/screenshots/admin_page.png");
        match browser.save_screenshot(&path).await {
            Ok(()) => eprintln!("screenshot of the failed page: {}", path.display()),
            Err(error) => eprintln!("failed to save a screenshot of the failed page: {error}"),
        }
    }
    browser.close().await;
    drop(driver);
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

async fn steps(browser: Browser, base_url: String, token: String, receiver: Receiver) {
    let api = callout_e2e::Api::new(&base_url, Some(&token));
    let me = api.me().await;
    let agent_id = me["agent"]["id"]
        .as_i64()
        .expect("GET /api/me has agent.id")
        .to_string();
    // The header names the agent by its full name, or by its username when it has none.
    let agent_name = me["agent"]["name"]
        .as_str()
        .or(me["agent"]["username"].as_str())
        .expect("GET /api/me has agent.username")
        .to_string();

    // A wrong token is rejected with a sentence in the page.
    browser.goto(&format!("{base_url}/")).await;
    browser.type_text("#token", "not-a-token").await;
    browser.click("#sign-in").await;
    let failure = browser
        .wait_for_text("#sign-in-failure", "rejected the API token")
        .await;
    assert!(
        failure.contains("sign in again"),
        "the sign-in failure says what to do: {failure:?}"
    );

    browser.erase("#token").await;
    browser.type_text("#token", &token).await;
    browser.click("#sign-in").await;
    browser.wait_for("#hooks-empty").await;
    let signed_in_as = browser.text("#signed-in-as").await;
    assert!(
        signed_in_as.contains(&agent_name),
        "the header names the agent: {signed_in_as:?}"
    );
    let stored = browser
        .script("return localStorage.getItem('callout.token');", json!([]))
        .await;
    assert_eq!(stored, json!(token), "the token is kept in localStorage");

    // The event choices follow the target.
    browser.click("#new-hook").await;
    browser.wait_for("#hook-url").await;
    let read_selects = "return {\
        target: document.getElementById('hook-target').value,\
        event: document.getElementById('hook-event').value,\
        events: Array.from(document.querySelectorAll('#hook-event option')).map(o => o.value),\
    };";
    let selects = browser.script(read_selects, json!([])).await;
    assert_eq!(selects["target"], json!("callinglist"));
    assert_eq!(selects["events"], json!(["import", "add", "delete"]));
    assert_eq!(selects["event"], json!("import"));
    browser
        .click("#hook-target option[value='campaigns']")
        .await;
    browser.wait_for("#hook-event option[value='create']").await;
    let selects = browser.script(read_selects, json!([])).await;
    assert_eq!(selects["events"], json!(["create", "delete"]));
    assert_eq!(
        selects["event"],
        json!("create"),
        "an event the new target lacks is replaced"
    );
    browser
        .click("#hook-target option[value='callinglist']")
        .await;
    browser.wait_for("#hook-event option[value='import']").await;

    // The preview follows every keystroke.
    let template = format!(
        "{}/hook?agent={{agent.id}}&list={{calling_list.id}}",
        receiver.url()
    );
    assert!(template.is_ascii(), "one byte is one keystroke");
    let host_start = "http://".len();
    let values = [
        ("{agent.id}", agent_id.as_str()),
        ("{calling_list.id}", "1234"),
    ];
    for end in 1..=template.len() {
        let typed = &template[..end];
        browser
            .type_text("#hook-url", &template[end - 1..end])
            .await;
        wait_for_editor(&browser, &expected_editor(typed, host_start, &values)).await;
    }
    let preview = browser.text("#preview").await;
    assert_eq!(
        preview,
        format!("{}/hook?agent={agent_id}&list=1234", receiver.url())
    );

    // An unknown tag is an error with its position and the tag marked.
    browser.erase("#hook-url").await;
    let unknown = "https://example.com/{agent.nosuch}";
    browser.type_text("#hook-url", unknown).await;
    let error = "#url-errors li[data-kind='TagUnknown']";
    let text = browser.wait_for_text(error, "agent.nosuch").await;
    assert!(
        text.contains("line 1, column 22"),
        "the error gives its position: {text:?}"
    );
    assert_eq!(browser.text(&format!("{error} mark")).await, "agent.nosuch");
    assert_eq!(
        browser.text("#preview").await,
        "",
        "an invalid URL has no preview"
    );

    // So is an unclosed brace, and the server's rejection on save is shown the same way.
    browser.erase("#hook-url").await;
    let unclosed = "https://example.com/?list={calling_list.id";
    browser.type_text("#hook-url", unclosed).await;
    let error = "#url-errors li[data-kind='ExpressionUnclosed']";
    let text = browser.wait_for_text(error, "not closed").await;
    assert!(
        text.contains("line 1, column 27"),
        "the error gives its position: {text:?}"
    );
    assert_eq!(
        browser.text(&format!("{error} mark")).await,
        "{calling_list.id"
    );
    browser.click("#hook-save").await;
    browser
        .wait_for_text("#editor-failure", "rejected the hook")
        .await;
    let text = browser.wait_for_text(error, "not closed").await;
    assert!(
        text.contains("line 1, column 27"),
        "the server's error gives its position: {text:?}"
    );
    assert!(api.hooks().await.is_empty(), "an invalid hook is not saved");

    // A valid hook is saved and listed.
    browser.erase("#hook-url").await;
    browser.type_text("#hook-url", &template).await;
    wait_for_editor(&browser, &expected_editor(&template, host_start, &values)).await;
    browser.click("#hook-method option[value='POST']").await;
    browser.click("#hook-save").await;
    browser.wait_for_text("#hooks-notice", "Saved hook").await;
    let hooks = api.hooks().await;
    assert_eq!(hooks.len(), 1, "one hook is saved: {hooks:?}");
    let hook = &hooks[0];
    assert_eq!(hook.url, template);
    assert_eq!(
        (hook.target.as_str(), hook.event.as_str()),
        ("callinglist", "import")
    );
    assert!(hook.enabled);
    let row = format!("#hook-{}", hook.id);
    let row_text = browser.text(&row).await;
    assert!(
        row_text.contains(&template),
        "the row shows the URL template: {row_text:?}"
    );
    assert!(
        row_text.contains("callinglist"),
        "the row shows the target: {row_text:?}"
    );

    // Editing opens the hook as saved.
    browser.click(&format!("{row} .edit")).await;
    wait_for_editor(&browser, &expected_editor(&template, host_start, &values)).await;
    let method = browser
        .script(
            "return document.getElementById('hook-method').value;",
            json!([]),
        )
        .await;
    assert_eq!(method, json!("POST"), "the editor shows the saved method");
    browser.click("#hook-cancel").await;
    browser.wait_for(&row).await;

    // The hook fires, and its call-out is listed with the URL that was sent.
    let list = api
        .import_list("Admin page test", "Phone\n555-0100\n")
        .await;
    let requests = receiver.wait_for_requests("/hook", 1).await;
    let sent = format!("/hook?agent={agent_id}&list={}", list.id);
    assert_eq!(requests[0].path_and_query, sent);
    assert_eq!(requests[0].method, "POST");
    browser.click("#nav-deliveries").await;
    let delivery_row = "#deliveries .delivery-row[data-status='succeeded']";
    let deadline = Instant::now() + UI_TIMEOUT;
    while browser.find(delivery_row).await.is_none() {
        assert!(Instant::now() < deadline, "no succeeded delivery is listed");
        browser.click("#deliveries-refresh").await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let text = browser.text(delivery_row).await;
    assert!(
        text.contains(&format!("{}{sent}", receiver.url())),
        "the row shows the URL sent: {text:?}"
    );
    assert!(
        text.contains("200"),
        "the row shows the response status: {text:?}"
    );
    assert!(
        text.contains("callinglist/import"),
        "the row shows the event: {text:?}"
    );
    let hook_cell = browser.text(&format!("{delivery_row} .hook-id")).await;
    assert_eq!(hook_cell, hook.id.to_string());
    browser
        .click(&format!("#deliveries-hook option[value='{}']", hook.id))
        .await;
    browser.wait_for(delivery_row).await;

    // Disabling is stored.
    browser.click("#nav-hooks").await;
    browser.click(&format!("{row} .toggle")).await;
    browser
        .wait_for_text(&format!("{row} .enabled"), "no")
        .await;
    let stored = api.get(&format!("/api/hooks/{}", hook.id)).await;
    assert_eq!(
        stored.body["enabled"],
        json!(false),
        "the hook is disabled on the server"
    );
    assert_eq!(
        stored.body["method"],
        json!("POST"),
        "disabling keeps the method"
    );

    // Deleting needs a confirmation. Dismissing it keeps the hook, accepting it deletes the hook.
    browser.click(&format!("{row} .delete")).await;
    browser.dismiss_alert().await;
    assert_eq!(
        api.hooks().await.len(),
        1,
        "a dismissed confirmation keeps the hook"
    );
    browser.click(&format!("{row} .delete")).await;
    browser.accept_alert().await;
    browser.wait_for("#hooks-empty").await;
    assert!(
        api.hooks().await.is_empty(),
        "an accepted confirmation deletes the hook"
    );

    // The token survives a reload, and signing out removes it.
    browser.refresh().await;
    browser.wait_for("#sign-out").await;
    browser.click("#sign-out").await;
    browser.wait_for("#token").await;
    browser.refresh().await;
    browser.wait_for("#token").await;
    browser.wait_for_none("#sign-out").await;
    let stored = browser
        .script("return localStorage.getItem('callout.token');", json!([]))
        .await;
    assert_eq!(stored, Value::Null, "signing out removes the token");
}
