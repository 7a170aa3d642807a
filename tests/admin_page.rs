//! End to end: the admin page in headless Chromium, served by the real `callout` binary.
//!
//! The first test signs in and types a hook's URL one character at a time, checking that the
//! preview follows every keystroke. It checks the errors shown for bad templates, then saves a
//! hook that calls a loopback receiver, fires it, and finds the call-out in the deliveries.
//! The second drives the URL field's highlighting, tag palette, completion by keyboard, the
//! preview's marked parts and sample values, and test-fire. The third fires a hook for real
//! and checks that the preview shows, byte for byte, the URL the receiver got.
//!
//! See `browser/mod.rs` for what the tests need and where screenshots go.

mod browser;

use std::time::{Duration, Instant};

use browser::{
    Browser, Harness, ARROW_DOWN, ARROW_UP, ENTER, ESCAPE, POLL_INTERVAL, TAB, UI_TIMEOUT,
};
use callout_e2e::{NewAgent, Receiver, ServerConfig};
use serde_json::{json, Value};

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
    let Some(harness) = Harness::start(ServerConfig::default()).await else {
        return;
    };
    let url = harness.server.url().to_string();
    let token = harness.server.admin_token().to_string();
    let receiver = Receiver::start();
    let steps = steps(harness.browser.clone(), url, token, receiver);
    harness.run("admin_page", steps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editor_highlights_completes_and_fires() {
    let Some(harness) = Harness::start(ServerConfig::default()).await else {
        return;
    };
    let url = harness.server.url().to_string();
    let token = harness.server.admin_token().to_string();
    let steps = editor_steps(harness.browser.clone(), url, token);
    harness.run("editor", steps).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_is_url_sent_byte_for_byte() {
    let Some(harness) = Harness::start(ServerConfig::default()).await else {
        return;
    };
    // A client and an agent whose names need encoding: a space, `&` and letters beyond ASCII.
    let client = harness.server.add_client("Café & Co");
    let mut agent = NewAgent::new(client.id, "zoe");
    agent.name = Some("Zoë Ortiz & Søn".to_string());
    let agent = harness.server.add_agent(&agent);
    let url = harness.server.url().to_string();
    let steps = byte_for_byte_steps(harness.browser.clone(), url, agent.token);
    harness.run("byte_for_byte", steps).await;
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
    browser.screenshots("sign-in-rejected").await;

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
    browser.screenshots("hooks").await;

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
    browser.screenshots("deliveries").await;
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

/// Returns the texts of the elements matching `css`, in document order.
async fn texts(browser: &Browser, css: &str) -> Vec<String> {
    let script =
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent);";
    let found = browser.script(script, json!([css])).await;
    found
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| item.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Puts the URL field's cursor at UTF-16 offset `at`.
async fn place_cursor(browser: &Browser, at: usize) {
    let script = "const f = document.getElementById('hook-url'); f.focus(); \
                  f.setSelectionRange(arguments[0], arguments[0]);";
    browser.script(script, json!([at])).await;
}

async fn editor_steps(browser: Browser, base_url: String, token: String) {
    browser::sign_in(&browser, &base_url, &token).await;
    browser.click("#new-hook").await;
    browser.wait_for("#hook-url").await;

    // Tags are highlighted and errors underlined in the field itself, with the message beside.
    let url = "https://example.com/{agent.id}?x={agent.nosuch}";
    browser.type_text("#hook-url", url).await;
    browser
        .wait_for_text("#url-errors li[data-kind='TagUnknown']", "agent.nosuch")
        .await;
    let mirror_text = browser
        .script(
            "return document.querySelector('.url-mirror').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(
        mirror_text,
        json!(format!("{url} ")),
        "the mirror shows the field's text"
    );
    let tags = texts(&browser, ".url-mirror .tag").await.concat();
    assert!(
        tags.contains("{agent.id}"),
        "the known tag is highlighted: {tags:?}"
    );
    let errors = texts(&browser, ".url-mirror .error").await.concat();
    assert_eq!(errors, "agent.nosuch", "only the unknown tag is underlined");
    let described = browser
        .script(
            "return document.getElementById('hook-url').getAttribute('aria-describedby');",
            json!([]),
        )
        .await;
    assert!(
        described
            .as_str()
            .unwrap_or_default()
            .contains("url-errors"),
        "the field points at its errors: {described}"
    );

    // Warnings are listed apart from errors, and marked in the field.
    browser.erase("#hook-url").await;
    browser
        .type_text("#hook-url", "https://example.com/ü/{agent.id}")
        .await;
    browser
        .wait_for("#url-warnings li[data-kind='LiteralEncoded']")
        .await;
    browser.wait_for_none("#url-errors li").await;
    let warned = texts(&browser, ".url-mirror .warning").await.concat();
    assert!(
        warned.contains('ü'),
        "the warned literal is marked: {warned:?}"
    );
    browser.wait_for_text("#preview", "%C3%BC").await;

    // The palette lists the tags of the chosen target and event, with descriptions.
    browser
        .wait_for("#tag-palette button[data-tag='calling_list.id']")
        .await;
    assert!(
        browser
            .find("#tag-palette button[data-tag='campaign.id']")
            .await
            .is_none(),
        "a calling list hook has no campaign tags"
    );
    let palette = browser.text("#tag-palette").await;
    assert!(
        palette.contains("Id of the calling list"),
        "tags have descriptions: {palette:?}"
    );
    browser
        .click("#hook-target option[value='campaigns']")
        .await;
    browser
        .wait_for("#tag-palette button[data-tag='campaign.copy_of']")
        .await;
    browser.click("#hook-event option[value='delete']").await;
    browser
        .wait_for_none("#tag-palette button[data-tag='campaign.copy_of']")
        .await;
    browser
        .click("#hook-target option[value='callinglist']")
        .await;
    browser
        .wait_for("#tag-palette button[data-tag='calling_list.id']")
        .await;

    // A palette button inserts its tag at the cursor.
    browser.erase("#hook-url").await;
    browser
        .type_text("#hook-url", "https://example.com/?id=&a=")
        .await;
    place_cursor(&browser, "https://example.com/?id=".len()).await;
    browser
        .click("#tag-palette button[data-tag='calling_list.id']")
        .await;
    assert_eq!(
        browser.value("#hook-url").await,
        "https://example.com/?id={calling_list.id}&a="
    );
    let cursor = browser
        .script(
            "return document.getElementById('hook-url').selectionStart;",
            json!([]),
        )
        .await;
    assert_eq!(
        cursor,
        json!("https://example.com/?id={calling_list.id}".len()),
        "the cursor lands after the inserted tag"
    );
    browser.type_text("#hook-url", "").await;
    place_cursor(
        &browser,
        "https://example.com/?id={calling_list.id}&a=".len(),
    )
    .await;
    browser
        .click("#tag-palette button[data-tag='agent.id']")
        .await;
    assert_eq!(
        browser.value("#hook-url").await,
        "https://example.com/?id={calling_list.id}&a={agent.id}"
    );

    // After `{` the tags complete from the keyboard: arrows move, Enter takes, Escape closes.
    browser.erase("#hook-url").await;
    browser
        .type_text("#hook-url", "https://example.com/{ag")
        .await;
    browser.wait_for("#tag-completion").await;
    let options = texts(&browser, "#tag-completion li code").await;
    assert_eq!(
        options.first().map(String::as_str),
        Some("agent.id"),
        "options: {options:?}"
    );
    assert!(
        options.iter().all(|name| name.contains("ag")),
        "options: {options:?}"
    );
    browser
        .wait_for("#completion-0[aria-selected='true']")
        .await;
    browser.type_text("#hook-url", ARROW_DOWN).await;
    browser
        .wait_for("#completion-1[aria-selected='true']")
        .await;
    browser.type_text("#hook-url", ARROW_DOWN).await;
    browser
        .wait_for("#completion-2[aria-selected='true']")
        .await;
    browser.type_text("#hook-url", ARROW_UP).await;
    browser
        .wait_for("#completion-1[aria-selected='true']")
        .await;
    let chosen = browser.text("#completion-1 code").await;
    let active = browser
        .script(
            "return document.getElementById('hook-url').getAttribute('aria-activedescendant');",
            json!([]),
        )
        .await;
    assert_eq!(
        active,
        json!("completion-1"),
        "the field names the active option"
    );
    browser.type_text("#hook-url", ENTER).await;
    browser.wait_for_none("#tag-completion").await;
    assert_eq!(
        browser.value("#hook-url").await,
        format!("https://example.com/{{{chosen}}}"),
        "Enter takes the chosen tag and closes the expression"
    );
    browser.type_text("#hook-url", "?x={cl").await;
    browser
        .wait_for("#tag-completion li[data-tag='client.id']")
        .await;
    browser.type_text("#hook-url", ESCAPE).await;
    browser.wait_for_none("#tag-completion").await;
    assert_eq!(
        browser.value("#hook-url").await,
        format!("https://example.com/{{{chosen}}}?x={{cl"),
        "Escape leaves the text as typed"
    );
    browser.type_text("#hook-url", "i").await;
    browser
        .wait_for("#tag-completion li[data-tag='client.id']")
        .await;
    browser.type_text("#hook-url", TAB).await;
    browser.wait_for_none("#tag-completion").await;
    assert_eq!(
        browser.value("#hook-url").await,
        format!("https://example.com/{{{chosen}}}?x={{client.id}}"),
        "Tab takes the first option"
    );
    browser.wait_for_none("#url-errors li").await;

    // The preview marks the bytes of each expression; the sample values can be changed.
    let receiver = Receiver::start();
    let template = format!(
        "{}/p?c={{client.id}}&l={{calling_list.id}}{{&agent.email}}",
        receiver.url()
    );
    browser.erase("#hook-url").await;
    browser.type_text("#hook-url", &template).await;
    let list_mark = "#preview mark[data-expression='{calling_list.id}']";
    browser.wait_for_text(list_mark, "1234").await;
    browser.click(".samples summary").await;
    browser.erase("#sample-calling_list-id").await;
    browser.type_text("#sample-calling_list-id", "77").await;
    browser.wait_for_text(list_mark, "77").await;
    let email_mark = "#preview mark[data-expression='{&agent.email}']";
    assert_eq!(
        browser.text(email_mark).await,
        "",
        "the admin agent has no email"
    );
    browser.click("#sample-agent-email-undefined").await;
    browser
        .type_text("#sample-agent-email", "a+b@example.com")
        .await;
    browser
        .wait_for_text(email_mark, "&agent.email=a%2Bb%40example.com")
        .await;
    let preview = browser.text("#preview").await;
    let marked = texts(&browser, "#preview > *").await.concat();
    assert_eq!(
        marked, preview,
        "the marked parts make up the whole preview"
    );
    let legend = browser.text("#preview-parts").await;
    assert!(
        legend.contains("{calling_list.id} gives 77"),
        "the parts are listed: {legend:?}"
    );

    browser.click("#copy-preview").await;
    browser
        .wait_for_text("#copy-preview-status", "Copied.")
        .await;

    // Test-fire sends the draft with these values and shows the whole exchange.
    browser.click("#test-fire").await;
    let summary = browser
        .wait_for_text("#test-result .attempt-summary", "responded 200")
        .await;
    assert!(summary.starts_with("Succeeded"), "summary: {summary:?}");
    let requests = receiver.wait_for_requests("/p", 1).await;
    assert_eq!(
        format!("{}{}", receiver.url(), requests[0].path_and_query),
        preview,
        "the test call-out used the preview's URL"
    );
    let address = browser.text("#test-result .attempt-address").await;
    assert_eq!(address, format!("127.0.0.1:{}", receiver.port()));
    let headers = browser.text("#test-result .response-headers").await;
    assert!(
        headers.to_lowercase().contains("content-length"),
        "headers: {headers:?}"
    );
    assert_eq!(browser.text("#test-result .response-body").await, "ok");
    let timings = browser.text("#test-result .attempt-timings").await;
    assert!(
        timings.contains("total"),
        "the time taken is shown: {timings:?}"
    );
    browser.screenshots("editor").await;

    // A refused address gives the reason, and nothing is dialled.
    browser.erase("#hook-url").await;
    browser
        .type_text("#hook-url", "http://0.0.0.0:9/{agent.id}")
        .await;
    browser.wait_for_text("#preview", "http://0.0.0.0:9/").await;
    browser.click("#test-fire").await;
    let summary = browser
        .wait_for_text("#test-result .attempt-summary", "address refused")
        .await;
    assert!(
        summary.contains("unspecified"),
        "the reason is given: {summary:?}"
    );
    assert!(
        browser
            .text("#test-result .attempt-address")
            .await
            .starts_with("none"),
        "no address was dialled"
    );
    browser.screenshots("editor-refused").await;
}

async fn byte_for_byte_steps(browser: Browser, base_url: String, token: String) {
    let receiver = Receiver::start();
    browser::sign_in(&browser, &base_url, &token).await;

    // The hook is made in the page, and fired by importing a list in the page.
    let template = format!(
        "{}/real/{{client.name}}?agent={{agent.name}}&list={{calling_list.id}}{{&agent.username,client.id}}",
        receiver.url()
    );
    browser.click("#new-hook").await;
    browser.type_text("#hook-url", &template).await;
    browser.wait_for("#preview[data-valid='true']").await;
    browser.click("#hook-save").await;
    browser.wait_for_text("#hooks-notice", "Saved hook").await;

    let csv = tempfile::Builder::new()
        .prefix("contacts-")
        .suffix(".csv")
        .tempfile()
        .expect("failed to create a CSV file");
    std::fs::write(csv.path(), "Name;Phone\nÅsa;555-0100\n").expect("failed to write the CSV file");
    browser.click("#nav-lists").await;
    browser.type_text("#import-name", "Byte test").await;
    browser.choose_file("#import-file", csv.path()).await;
    browser.click("#import-submit").await;
    let notice = browser
        .wait_for_text("#lists-notice", "Imported 1 row")
        .await;
    let list_id: i64 = notice
        .split("calling list ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("the notice names the list: {notice:?}"));
    let requests = receiver
        .wait_for_requests("/real/Caf%C3%A9%20%26%20Co", 1)
        .await;
    let received = format!("{}{}", receiver.url(), requests[0].path_and_query);

    // The editor's preview, with the list's id as the sample, is the URL that was called.
    browser.click("#nav-hooks").await;
    browser.click("#hooks .hook-row .edit").await;
    browser.wait_for("#preview[data-valid='true']").await;
    browser.click(".samples summary").await;
    browser.erase("#sample-calling_list-id").await;
    browser
        .type_text("#sample-calling_list-id", &list_id.to_string())
        .await;
    browser
        .wait_for_text(
            "#preview mark[data-expression='{calling_list.id}']",
            &list_id.to_string(),
        )
        .await;
    let preview = browser.text("#preview").await;
    let content = browser
        .script(
            "return document.getElementById('preview').textContent;",
            json!([]),
        )
        .await;
    assert_eq!(
        content,
        json!(preview),
        "the shown text is the element's text"
    );
    assert_eq!(preview, received, "the preview is the URL the receiver got");
    for encoded in [
        "Zo%C3%AB%20Ortiz%20%26%20S%C3%B8n",
        "Caf%C3%A9%20%26%20Co",
        "&agent.username=zoe",
    ] {
        assert!(preview.contains(encoded), "{encoded} is in {preview}");
    }

    // A test call-out from the same editor sends the same bytes.
    browser.click("#test-fire").await;
    browser
        .wait_for_text("#test-result .attempt-summary", "responded 200")
        .await;
    let requests = receiver
        .wait_for_requests("/real/Caf%C3%A9%20%26%20Co", 2)
        .await;
    assert_eq!(
        format!("{}{}", receiver.url(), requests[1].path_and_query),
        preview
    );
}
