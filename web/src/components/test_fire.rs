//! Test-fire: calls the hook being edited once through the server, and shows the attempt.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Api, Attempt, TestFire, TestFireResult};
use crate::format::millis;

/// Renders a button that sends `draft` through `POST /api/hooks/test`, and the attempt it made.
#[component]
pub fn TestFirePanel(
    /// The API client of the signed-in agent.
    api: Api,
    /// The hook as it is in the editor, or `None` while it has errors.
    #[prop(into)]
    draft: Signal<Option<TestFire>>,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let result = RwSignal::new(None::<TestFireResult>);
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let fire = move |_| {
        let Some(draft) = draft.get_untracked() else {
            failure.set(Some(
                "Fix the errors in the URL before sending a test call-out.".to_string(),
            ));
            return;
        };
        busy.set(true);
        failure.set(None);
        result.set(None);
        let api = api.get_value();
        spawn_local(async move {
            let outcome = api.test_fire(&draft).await;
            busy.set(false);
            match outcome {
                Ok(fired) => result.set(Some(fired)),
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    view! {
        <section class="test-fire" aria-labelledby="test-fire-heading">
            <h3 id="test-fire-heading">"Test call-out"</h3>
            <p class="hint">
                "Sends the hook as it stands, with the values above, through the server's own \
                 client and address checks. Nothing is saved and no delivery is logged."
            </p>
            <button
                id="test-fire"
                type="button"
                disabled=move || busy.get() || draft.with(Option::is_none)
                on:click=fire
            >
                {move || if busy.get() { "Sending…" } else { "Send a test call-out" }}
            </button>
            <Show when=move || failure.get().is_some()>
                <p id="test-failure" class="failure" role="alert">
                    {move || failure.get().unwrap_or_default()}
                </p>
            </Show>
            {move || result.get().map(|fired| view! {
                <div id="test-result" data-succeeded=fired.succeeded.to_string()>
                    <AttemptRecord attempt=fired.attempt succeeded=fired.succeeded />
                </div>
            })}
        </section>
    }
}

/// Returns the sentence that sums up an attempt: the status and time, or why it failed.
pub fn attempt_summary(attempt: &Attempt, succeeded: bool) -> String {
    let time = millis(attempt.timings.total_ms);
    match (
        &attempt.error_class,
        &attempt.error,
        attempt.response_status,
    ) {
        (Some(class), Some(error), _) if class != "status" => {
            format!(
                "Failed after {time} ({}): {error}.",
                class.replace('_', " ")
            )
        }
        (_, _, Some(status)) if succeeded => {
            format!("Succeeded: the receiver responded {status} in {time}.")
        }
        (_, _, Some(status)) => format!("Failed: the receiver responded {status} in {time}."),
        (_, Some(error), None) => format!("Failed after {time}: {error}."),
        _ => format!("No response after {time}."),
    }
}

/// Shows one attempt's full record: summary, URL, address, timings, headers and body.
#[component]
pub fn AttemptRecord(
    /// The attempt.
    attempt: Attempt,
    /// Whether it counts as a success.
    succeeded: bool,
) -> impl IntoView {
    let summary = attempt_summary(&attempt, succeeded);
    let timings = &attempt.timings;
    let steps: Vec<(&str, Option<f64>)> = vec![
        ("DNS", timings.dns_ms),
        ("connect", timings.connect_ms),
        ("TLS", timings.tls_ms),
        ("first byte", timings.first_byte_ms),
        ("total", Some(timings.total_ms)),
    ];
    let timing_text = steps
        .into_iter()
        .filter_map(|(step, ms)| Some(format!("{step} {}", millis(ms?))))
        .collect::<Vec<_>>()
        .join(", ");
    let body = match (&attempt.response_body, attempt.response_body_utf8) {
        (None, _) => None,
        (Some(text), true) => Some(text.clone()),
        (Some(text), false) => Some(format!("(not UTF-8; base64) {text}")),
    };
    let truncated = attempt
        .response_body_truncated
        .then_some(" The body was cut at the size the server keeps.");
    view! {
        <p class=if succeeded { "attempt-summary ok" } else { "attempt-summary failed" }>{summary}</p>
        <dl class="attempt">
            <dt>"Request"</dt>
            <dd><code class="attempt-url">{format!("{} {}", attempt.method, attempt.url)}</code></dd>
            <dt>"Address dialled"</dt>
            <dd class="attempt-address">{attempt.address.clone().unwrap_or_else(|| "none: no connection was made".to_string())}</dd>
            <dt>"Status"</dt>
            <dd class="attempt-status">{attempt.response_status.map_or_else(|| "no response".to_string(), |status| status.to_string())}</dd>
            <dt>"Time taken"</dt>
            <dd class="attempt-timings">{timing_text}</dd>
        </dl>
        <HeaderTable class="request-headers" caption="Request headers" headers=attempt.request_headers.clone() />
        <HeaderTable class="response-headers" caption="Response headers" headers=attempt.response_headers.clone() />
        {body.map(|body| view! {
            <h4>"Response body"</h4>
            <pre class="response-body">{body}</pre>
            <p class="hint">{truncated}</p>
        })}
    }
}

#[component]
fn HeaderTable(
    class: &'static str,
    caption: &'static str,
    headers: Vec<(String, String)>,
) -> impl IntoView {
    if headers.is_empty() {
        return view! { <p class=class>{format!("{caption}: none.")}</p> }.into_any();
    }
    let rows = headers
        .into_iter()
        .map(|(name, value)| view! { <tr><th scope="row">{name}</th><td>{value}</td></tr> })
        .collect_view();
    view! {
        <table class=format!("headers {class}")>
            <caption>{caption}</caption>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
