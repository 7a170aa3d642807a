//! The call-outs made, newest first: filters, each attempt's record, redelivery, a chart per
//! hour, and a refresh every few seconds while the view is open.

use std::collections::HashSet;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Api, Catalogue, Delivery, DeliveryFilter, DeliveryStatus, Hook, HourStats};
use crate::components::chart::DeliveryChart;
use crate::components::test_fire::AttemptRecord;
use crate::format::{local_to_rfc3339, time};

/// How often the open view fetches the deliveries again.
const REFRESH_INTERVAL: Duration = Duration::from_secs(5);

/// The hours the chart covers.
const CHART_HOURS: u32 = 24;

/// Lists deliveries with filters, a chart, and a detail view of each.
#[component]
pub fn DeliveriesView(
    /// The API client of the signed-in agent.
    api: Api,
    /// The targets and events, for the event filter.
    catalogue: Catalogue,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let filter = RwSignal::new(DeliveryFilter::default());
    let hooks = RwSignal::new(Vec::<Hook>::new());
    let deliveries = RwSignal::new(None::<Vec<Delivery>>);
    let stats = RwSignal::new(None::<Vec<HourStats>>);
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(None::<String>);
    let loading = RwSignal::new(false);
    let auto_refresh = RwSignal::new(true);
    let expanded = RwSignal::new(HashSet::<i64>::new());
    let refreshed_at = RwSignal::new(None::<String>);

    let load = move || {
        let api = api.get_value();
        let current = filter.get_untracked();
        loading.set(true);
        spawn_local(async move {
            let listed = api.deliveries(&current).await;
            let counted = api.delivery_stats(CHART_HOURS, current.hook_id).await;
            loading.set(false);
            match (listed, counted) {
                (Ok(list), Ok(hours)) => {
                    deliveries.set(Some(list));
                    stats.set(Some(hours));
                    failure.set(None);
                    refreshed_at.set(Some(String::from(
                        js_sys::Date::new_0().to_locale_time_string("en-GB"),
                    )));
                }
                (Err(error), _) | (_, Err(error)) => failure.set(Some(error.to_string())),
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
    if let Ok(interval) = set_interval_with_handle(
        move || {
            if auto_refresh.get_untracked() && !loading.get_untracked() {
                load();
            }
        },
        REFRESH_INTERVAL,
    ) {
        on_cleanup(move || interval.clear());
    }

    let redeliver = move |id: i64| {
        let api = api.get_value();
        spawn_local(async move {
            match api.redeliver(id).await {
                Ok(_) => {
                    notice.set(Some(format!(
                        "Delivery {id} is queued to be attempted again."
                    )));
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    let set_filter = move |change: &dyn Fn(&mut DeliveryFilter)| {
        filter.update(|filter| change(filter));
        load();
    };

    let hook_options = move || {
        hooks
            .get()
            .into_iter()
            .map(|hook| {
                let label = format!("{}: {} ({}/{})", hook.id, hook.url, hook.target, hook.event);
                view! { <option value=hook.id.to_string()>{label}</option> }
            })
            .collect_view()
    };
    let event_options = catalogue
        .targets
        .iter()
        .flat_map(|target| {
            target.events.iter().map(move |event| {
                let value = format!("{}/{event}", target.name);
                view! { <option value=value.clone()>{value.clone()}</option> }
            })
        })
        .collect_view();

    let row = move |delivery: Delivery| {
        let id = delivery.id;
        let status = delivery.status.name();
        let attempts = match delivery.attempts {
            1 => "1 attempt".to_string(),
            count => format!("{count} attempts"),
        };
        let is_open = move || expanded.with(|open| open.contains(&id));
        let toggle = move |_| {
            expanded.update(|open| {
                if !open.remove(&id) {
                    open.insert(id);
                }
            })
        };
        let can_redeliver = delivery.status != DeliveryStatus::Pending;
        view! {
            <tr id=format!("delivery-{id}") class="delivery-row" data-status=status>
                <td class=format!("status {status}") data-label="Status">{status}" "<span class="muted">{format!("({attempts})")}</span></td>
                <td class="hook-id" data-label="Hook">{delivery.hook_id}</td>
                <td class="event" data-label="Event">{format!("{}/{}", delivery.target, delivery.event)}</td>
                <td class="url" data-label="URL sent"><code>{delivery.url.clone().unwrap_or_else(|| "not sent yet".to_string())}</code></td>
                <td class="response-status" data-label="Response">{delivery.response_status.map(|status| status.to_string())}</td>
                <td class="duration" data-label="Time taken">{delivery.duration_ms.map(|ms| format!("{ms} ms"))}</td>
                <td class="error" data-label="Error">{error_text(delivery.error_class.clone(), delivery.error.clone())}</td>
                <td class="created" data-label="Created"><time datetime=delivery.created_at.clone()>{time(&delivery.created_at)}</time></td>
                <td class="actions">
                    <button
                        class="expand"
                        type="button"
                        aria-expanded=move || is_open().to_string()
                        aria-controls=format!("delivery-{id}-detail")
                        on:click=toggle
                    >
                        {move || if is_open() { "Hide attempts" } else { "Attempts" }}
                    </button>
                    {can_redeliver.then(|| view! {
                        <button class="redeliver" type="button" on:click=move |_| redeliver(id)>"Redeliver"</button>
                    })}
                </td>
            </tr>
            <Show when=is_open>
                <tr id=format!("delivery-{id}-detail") class="detail">
                    <td colspan="9"><DeliveryDetail api=api.get_value() id=id /></td>
                </tr>
            </Show>
        }
    };

    // The table is built once and its rows are keyed, so a refresh keeps open rows open.
    let shape = Memo::new(move |_| deliveries.with(|list| list.as_ref().map(Vec::is_empty)));
    let body = move || {
        match shape.get() {
        None => view! { <p>"Loading deliveries…"</p> }.into_any(),
        Some(true) => {
            view! { <p id="deliveries-empty">"No deliveries match: hooks have not fired, or the filters leave none."</p> }
                .into_any()
        }
        Some(false) => view! {
            <table id="deliveries" class="cards">
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
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For
                        each=move || deliveries.get().unwrap_or_default()
                        key=|delivery| (delivery.id, delivery.status, delivery.attempts)
                        children=row
                    />
                </tbody>
            </table>
        }
        .into_any(),
    }
    };

    view! {
        <section class="deliveries">
            <div class="heading">
                <h2>"Deliveries"</h2>
                <span id="refreshed-at" class="muted" role="status">
                    {move || refreshed_at.get().map(|at| format!("Updated at {at}"))}
                </span>
            </div>
            <form class="filters" on:submit=move |ev| { ev.prevent_default(); load(); }>
                <div class="field">
                    <label for="deliveries-hook">"Hook"</label>
                    <select id="deliveries-hook" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        set_filter(&|filter| filter.hook_id = value.parse().ok());
                    }>
                        <option value="">"All hooks"</option>
                        {hook_options}
                    </select>
                </div>
                <div class="field">
                    <label for="deliveries-event">"Event"</label>
                    <select id="deliveries-event" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        set_filter(&|filter| {
                            let (target, event) = match value.split_once('/') {
                                Some((target, event)) => (Some(target.to_string()), Some(event.to_string())),
                                None => (None, None),
                            };
                            filter.target = target;
                            filter.event = event;
                        });
                    }>
                        <option value="">"All events"</option>
                        {event_options}
                    </select>
                </div>
                <div class="field">
                    <label for="deliveries-status">"Status"</label>
                    <select id="deliveries-status" on:change=move |ev| {
                        let value = event_target_value(&ev);
                        set_filter(&|filter| filter.status = (!value.is_empty()).then(|| value.clone()));
                    }>
                        <option value="">"Any status"</option>
                        <option value="pending">"pending"</option>
                        <option value="succeeded">"succeeded"</option>
                        <option value="failed">"failed"</option>
                    </select>
                </div>
                <div class="field">
                    <label for="deliveries-since">"Created from (your time)"</label>
                    <input id="deliveries-since" type="datetime-local" on:change=move |ev| {
                        let value = local_to_rfc3339(&event_target_value(&ev));
                        set_filter(&|filter| filter.since = value.clone());
                    } />
                </div>
                <div class="field">
                    <label for="deliveries-until">"Created before (your time)"</label>
                    <input id="deliveries-until" type="datetime-local" on:change=move |ev| {
                        let value = local_to_rfc3339(&event_target_value(&ev));
                        set_filter(&|filter| filter.until = value.clone());
                    } />
                </div>
                <div class="field checkbox">
                    <input
                        id="auto-refresh"
                        type="checkbox"
                        prop:checked=move || auto_refresh.get()
                        on:change=move |ev| auto_refresh.set(event_target_checked(&ev))
                    />
                    <label for="auto-refresh">"Refresh every 5 s"</label>
                </div>
                <button id="deliveries-refresh" type="submit" disabled=move || loading.get()>
                    "Refresh"
                </button>
            </form>
            <Show when=move || notice.get().is_some()>
                <p id="deliveries-notice" class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            <Show when=move || failure.get().is_some()>
                <p id="deliveries-failure" class="failure" role="alert">
                    {move || failure.get().unwrap_or_default()}
                </p>
            </Show>
            {move || stats.get().map(|hours| view! { <DeliveryChart hours=hours /> })}
            {body}
        </section>
    }
}

/// Fetches one delivery and shows every attempt's record.
#[component]
fn DeliveryDetail(api: Api, id: i64) -> impl IntoView {
    let detail = RwSignal::new(None::<Result<Delivery, String>>);
    spawn_local(async move {
        detail.set(Some(
            api.delivery(id).await.map_err(|error| error.to_string()),
        ));
    });
    move || match detail.get() {
        None => view! { <p>"Loading the attempts…"</p> }.into_any(),
        Some(Err(sentence)) => view! { <p class="failure" role="alert">{sentence}</p> }.into_any(),
        Some(Ok(delivery)) => {
            let message = delivery
                .message_id
                .clone()
                .map(|id| format!("webhook-id {id}; "))
                .unwrap_or_default();
            let next = delivery
                .next_attempt_at
                .as_deref()
                .map(|at| format!("next attempt at {}", time(at)))
                .unwrap_or_else(|| "no attempt is due".to_string());
            let attempts = delivery.attempts_log.clone().unwrap_or_default();
            let count = attempts.len();
            let items = attempts
                .into_iter()
                .map(|attempt| {
                    let number = attempt.attempt.unwrap_or_default();
                    let succeeded = attempt.error.is_none()
                        && attempt
                            .response_status
                            .is_some_and(|status| (200..300).contains(&status));
                    let started = attempt.started_at.as_deref().map(time).unwrap_or_default();
                    view! {
                        <li class="attempt-record" data-attempt=number.to_string()>
                            <h4>{format!("Attempt {number}, {started}")}</h4>
                            <AttemptRecord attempt=attempt succeeded=succeeded />
                        </li>
                    }
                })
                .collect_view();
            view! {
                <div class="delivery-detail">
                    <p class="muted">{format!("{}; {message}{count} attempt(s); {next}.", delivery_object(&delivery))}</p>
                    <ol class="attempts">{items}</ol>
                </div>
            }
            .into_any()
        }
    }
}

fn delivery_object(delivery: &Delivery) -> String {
    let object = delivery
        .object_id
        .map(|id| format!(" {id}"))
        .unwrap_or_default();
    format!("{}/{}, object{object}", delivery.target, delivery.event)
}

/// Returns the error column's text: the failure's class, then its message.
fn error_text(class: Option<String>, message: Option<String>) -> String {
    match (class, message) {
        (Some(class), Some(message)) => format!("{class}: {message}"),
        (class, message) => class.or(message).unwrap_or_default(),
    }
}
