//! Headless Chromium for the admin page's end-to-end tests, driven through the W3C WebDriver
//! protocol with `reqwest`: a handful of plain JSON requests, which spares the tests a
//! WebDriver client crate.
//!
//! The tests need Chromium at `/usr/bin/chromium`, its driver at `/usr/bin/chromedriver` and the
//! page built into `web/dist` (`trunk build --offline`). When one is missing a test prints that
//! it was skipped, and fails instead when `CI` is `true`. Screenshots go to `tests/screenshots/`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use callout_e2e::{workspace_root, Server, ServerConfig};
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long the page may take to show what a step expects.
pub const UI_TIMEOUT: Duration = Duration::from_secs(10);

/// The pause between two looks at the page while waiting.
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// The key W3C WebDriver uses for an element reference in JSON.
pub const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The WebDriver code of the Backspace key.
pub const BACKSPACE: &str = "\u{E003}";

/// Returns the built page's directory when the browser, its driver and the page are all
/// present. Otherwise panics when `CI` is `true`, and returns `None` after printing what is
/// missing.
pub fn browser_prerequisites() -> Option<PathBuf> {
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
pub struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    /// Starts chromedriver and waits until it reports that it is ready.
    pub async fn start() -> Driver {
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
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("failed to bind 127.0.0.1:0");
    listener
        .local_addr()
        .expect("a bound socket has an address")
        .port()
}

/// A WebDriver session of headless Chromium. Cloning shares the session.
#[derive(Clone)]
pub struct Browser {
    http: reqwest::Client,
    /// The session's URL, such as `http://127.0.0.1:9515/session/abc`.
    session: String,
}

impl Browser {
    /// Opens headless Chromium with a fresh profile in `profile_dir`.
    pub async fn open(driver: &Driver, profile_dir: &std::path::Path) -> Browser {
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
    pub async fn command(
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

    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, body)
            .await
            .unwrap_or_else(|error| panic!("{error}"))
    }

    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    /// Returns the first element that matches `css`, if any.
    pub async fn find(&self, css: &str) -> Option<String> {
        let body = json!({ "using": "css selector", "value": css });
        let found = self
            .command(reqwest::Method::POST, "/element", body)
            .await
            .ok()?;
        found[ELEMENT_KEY].as_str().map(str::to_string)
    }

    /// Waits until an element matches `css` and returns it.
    pub async fn wait_for(&self, css: &str) -> String {
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
    pub async fn wait_for_none(&self, css: &str) {
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

    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        self.post(&format!("/element/{element}/click"), json!({}))
            .await;
    }

    /// Types `text` into the element matching `css`, as key presses.
    pub async fn type_text(&self, css: &str, text: &str) {
        let element = self.wait_for(css).await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        )
        .await;
    }

    /// Empties a text field with Backspace presses, so that the page gets `input` events.
    pub async fn erase(&self, css: &str) {
        let length = self
            .script(&format!("return {}.value.length;", by_id(css)), json!([]))
            .await;
        let length = length.as_u64().unwrap_or(0) as usize;
        self.type_text(css, &BACKSPACE.repeat(length)).await;
    }

    pub async fn text(&self, css: &str) -> String {
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
    pub async fn wait_for_text(&self, css: &str, expected: &str) -> String {
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
    pub async fn script(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    pub async fn accept_alert(&self) {
        self.post("/alert/accept", json!({})).await;
    }

    pub async fn dismiss_alert(&self) {
        self.post("/alert/dismiss", json!({})).await;
    }

    /// Saves a screenshot as `path`, for a failed test's reader.
    pub async fn save_screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        let value = self
            .command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await?;
        let png = decode_base64(value.as_str().unwrap_or_default())?;
        std::fs::create_dir_all(path.parent().expect("a screenshot path has a parent"))
            .map_err(|error| error.to_string())?;
        std::fs::write(path, png).map_err(|error| error.to_string())
    }

    pub async fn close(&self) {
        let _ = self.command(reqwest::Method::DELETE, "", Value::Null).await;
    }
}

/// Returns a JavaScript expression for the element of an `#id` selector.
pub fn by_id(css: &str) -> String {
    let id = css.strip_prefix('#').expect("an id selector");
    format!("document.getElementById({})", json!(id))
}

/// Decodes standard base64 with padding, as WebDriver sends screenshots.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
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

/// WebDriver codes of the keys the tests press.
pub const ARROW_DOWN: &str = "\u{E015}";
pub const ARROW_UP: &str = "\u{E013}";
pub const ENTER: &str = "\u{E007}";
pub const ESCAPE: &str = "\u{E00C}";
pub const TAB: &str = "\u{E004}";

/// The widths the screenshots are taken at: a large screen and a small phone.
pub const SCREENSHOT_WIDTHS: [u32; 2] = [1280, 360];

/// The window height between screenshots.
const WINDOW_HEIGHT: u32 = 900;

/// The tallest screenshot, so that a runaway page does not make a huge image.
const MAX_SCREENSHOT_HEIGHT: u64 = 5000;

/// Returns the folder the screenshots are saved in.
pub fn screenshot_dir() -> PathBuf {
    workspace_root().join("tests/screenshots")
}

impl Browser {
    /// Resizes the window.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    /// Saves the whole page as `tests/screenshots/NAME-WIDTH.png` at each width of
    /// [`SCREENSHOT_WIDTHS`], then restores the large window.
    pub async fn screenshots(&self, name: &str) {
        for width in SCREENSHOT_WIDTHS {
            self.set_window_size(width, WINDOW_HEIGHT).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let height = self
                .script("return document.documentElement.scrollHeight;", json!([]))
                .await
                .as_u64()
                .unwrap_or(u64::from(WINDOW_HEIGHT))
                .clamp(u64::from(WINDOW_HEIGHT), MAX_SCREENSHOT_HEIGHT);
            self.set_window_size(width, height as u32 + 100).await;
            self.script("window.scrollTo(0, 0);", json!([])).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            let path = screenshot_dir().join(format!("{name}-{width}.png"));
            self.save_screenshot(&path)
                .await
                .unwrap_or_else(|error| panic!("failed to save {}: {error}", path.display()));
        }
        self.set_window_size(SCREENSHOT_WIDTHS[0], WINDOW_HEIGHT)
            .await;
    }

    /// Puts the file at `path` in the file input matching `css`.
    pub async fn choose_file(&self, css: &str, path: &std::path::Path) {
        let element = self.wait_for(css).await;
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": path.display().to_string() }),
        )
        .await;
    }

    /// Waits until `script` returns `true`, and panics naming `what` otherwise.
    pub async fn wait_until(&self, script: &str, what: &str) {
        let deadline = Instant::now() + UI_TIMEOUT;
        loop {
            if self.script(script, json!([])).await == json!(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: still not so after {} s",
                UI_TIMEOUT.as_secs()
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Returns the value of the form field matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let script = "return document.querySelector(arguments[0]).value;";
        let value = self.script(script, json!([css])).await;
        value.as_str().unwrap_or_default().to_string()
    }
}

/// A served page, a receiver-ready server, and a browser open on nothing yet.
pub struct Harness {
    /// The `callout serve` process, serving the built page.
    pub server: Server,
    /// The browser session.
    pub browser: Browser,
    driver: Driver,
    _profile: tempfile::TempDir,
}

impl Harness {
    /// Starts the server with `config` and the page, chromedriver and a browser. Returns `None`
    /// when the browser, its driver or the page is missing (outside CI).
    pub async fn start(config: ServerConfig) -> Option<Harness> {
        let dist = browser_prerequisites()?;
        let server = Server::start_with(ServerConfig {
            web_dir: Some(dist),
            ..config
        });
        let driver = Driver::start().await;
        let profile = tempfile::Builder::new()
            .prefix("callout-chromium-")
            .tempdir()
            .expect("failed to create a browser profile directory");
        let browser = Browser::open(&driver, profile.path()).await;
        Some(Harness {
            server,
            browser,
            driver,
            _profile: profile,
        })
    }

    /// Runs `steps` in their own task, so that the browser is closed, and a screenshot and the
    /// server's output kept, even when a step panics. Then prints the screenshot folder.
    pub async fn run(
        self,
        name: &str,
        steps: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let outcome = tokio::spawn(steps).await;
        if outcome.is_err() {
            eprintln!("the server's output:\n{}", self.server.output().join("\n"));
            let path = screenshot_dir().join(format!("{name}-failed.png"));
            match self.browser.save_screenshot(&path).await {
                Ok(()) => eprintln!("screenshot of the failed page: {}", path.display()),
                Err(error) => eprintln!("failed to save a screenshot of the failed page: {error}"),
            }
        }
        self.browser.close().await;
        drop(self.driver);
        if let Err(error) = outcome {
            std::panic::resume_unwind(error.into_panic());
        }
        println!("screenshots: {}", screenshot_dir().display());
    }
}

/// Signs in on the page at `base_url` with `token` and waits for the hooks view.
pub async fn sign_in(browser: &Browser, base_url: &str, token: &str) {
    browser.goto(&format!("{base_url}/")).await;
    browser.type_text("#token", token).await;
    browser.click("#sign-in").await;
    browser.wait_for("#sign-out").await;
}
