//! The call-outs made, newest first, optionally of one hook.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Api, Delivery, Hook};

/// Lists deliveries with a hook filter and a refresh button.
#[component]
pub fn DeliveriesList(
    /// The API client of the signed-in agent.
    api: Api,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let hook_filter = RwSignal::new(None::<i64>);
    let hooks = RwSignal::new(Vec::<Hook>::new());
    let deliveries = RwSignal::new(None::<Vec<Delivery>>);
    let failure = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);

    let load = move || {
        let api = api.get_value();
        let hook_id = hook_filter.get_untracked();
        loading.set(true);
        spawn_local(async move {
            let result = api.deliveries(hook_id).await;
            loading.set(false);
            match result {
                Ok(list) => {
                    deliveries.set(Some(list));
                    failure.set(None);
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    load();
    // The filter lists the hooks by id and URL. Without them it still offers "All hooks".
    spawn_local({
        let api = api.get_value();
        async move {
            match api.hooks().await {
                Ok(list) => hooks.set(list),
                Err(error) => failure.set(Some(error.to_string())),
            }
        }
    });

    let on_filter = move |ev| {
        hook_filter.set(event_target_value(&ev).parse().ok());
        load();
    };
    let filter_options = move || {
        hooks
            .get()
            .into_iter()
            .map(|hook| {
                let label = format!("{}: {} {}/{}", hook.id, hook.url, hook.target, hook.event);
                view! { <option value=hook.id.to_string()>{label}</option> }
            })
            .collect_view()
    };

    let body = move || match deliveries.get() {
        None => view! { <p>"Loading deliveries…"</p> }.into_any(),
        Some(list) if list.is_empty() => {
            view! { <p id="deliveries-empty">"No deliveries yet: hooks have not fired."</p> }
                .into_any()
        }
        Some(list) => view! {
            <table id="deliveries">
                <thead>
                    <tr>
                        <th>"Status"</th>
                        <th>"Hook"</th>
                        <th>"Event"</th>
                        <th>"URL sent"</th>
                        <th>"Response"</th>
                        <th>"Time taken"</th>
                        <th>"Error"</th>
                        <th>"Created"</th>
                    </tr>
                </thead>
                <tbody>{list.into_iter().map(delivery_row).collect_view()}</tbody>
            </table>
        }
        .into_any(),
    };

    view! {
        <section class="deliveries">
            <div class="heading">
                <h2>"Deliveries"</h2>
                <label for="deliveries-hook">"Hook"</label>
                <select id="deliveries-hook" on:change=on_filter>
                    <option value="">"All hooks"</option>
                    {filter_options}
                </select>
                <button id="deliveries-refresh" type="button" on:click=move |_| load() disabled=move || loading.get()>
                    "Refresh"
                </button>
            </div>
            <Show when=move || failure.get().is_some()>
                <p id="deliveries-failure" class="failure" role="alert">
                    {move || failure.get().unwrap_or_default()}
                </p>
            </Show>
            {body}
        </section>
    }
}

fn delivery_row(delivery: Delivery) -> impl IntoView {
    let status = delivery.status.name();
    let attempts = match delivery.attempts {
        1 => "1 attempt".to_string(),
        count => format!("{count} attempts"),
    };
    view! {
        <tr id=format!("delivery-{}", delivery.id) class="delivery-row" data-status=status>
            <td class=format!("status {status}") title=attempts>{status}</td>
            <td class="hook-id">{delivery.hook_id}</td>
            <td class="event">{format!("{}/{}", delivery.target, delivery.event)}</td>
            <td class="url"><code>{delivery.url.unwrap_or_else(|| "not sent yet".to_string())}</code></td>
            <td class="response-status">{delivery.response_status.map(|status| status.to_string())}</td>
            <td class="duration">{delivery.duration_ms.map(|ms| format!("{ms} ms"))}</td>
            <td class="error">{error_text(delivery.error_class, delivery.error)}</td>
            <td class="created"><time datetime=delivery.created_at.clone()>{delivery.created_at.clone()}</time></td>
        </tr>
    }
}

/// Returns the error column's text: the failure's class, then its message.
fn error_text(class: Option<String>, message: Option<String>) -> String {
    match (class, message) {
        (Some(class), Some(message)) => format!("{class}: {message}"),
        (class, message) => class.or(message).unwrap_or_default(),
    }
}
