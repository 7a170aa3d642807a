//! The client's hooks with their recent deliveries, and buttons to enable, disable, edit,
//! delete and rotate the signing secret of each.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Activity, Api, Hook, HookInput};
use crate::app::Outcome;
use crate::components::copy_button::CopyButton;
use crate::format::{percent, time};

/// A signing secret to show once, right after the server created it.
#[derive(Clone, Debug, PartialEq)]
pub struct ShownSecret {
    /// The hook it signs.
    pub hook_id: i64,
    /// The secret.
    pub secret: String,
    /// Until when the secret it replaced still signs call-outs, after a rotation.
    pub previous_valid_until: Option<String>,
}

/// Lists the hooks of the signed-in agent's client. Calls `on_edit` with a hook to change it,
/// or with `None` to create one.
#[component]
pub fn HooksList(
    /// The API client of the signed-in agent.
    api: Api,
    /// Called to open the editor.
    on_edit: Callback<Option<Hook>>,
    /// The outcome of the last change, such as a saved hook and its new secret.
    outcome: Outcome,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let hooks = RwSignal::new(None::<Vec<Hook>>);
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(outcome.notice);
    let secret = RwSignal::new(outcome.secret);

    let load = move || {
        let api = api.get_value();
        spawn_local(async move {
            match api.hooks().await {
                Ok(list) => {
                    hooks.set(Some(list));
                    failure.set(None);
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    load();

    let toggle = move |hook: Hook| {
        let api = api.get_value();
        let input = HookInput {
            enabled: !hook.enabled,
            ..HookInput::from(&hook)
        };
        spawn_local(async move {
            match api.update_hook(hook.id, &input).await {
                Ok(saved) => {
                    let state = if saved.hook.enabled {
                        "enabled"
                    } else {
                        "disabled"
                    };
                    notice.set(Some(format!("Hook {} is {state}.", saved.hook.id)));
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    let delete = move |hook: Hook| {
        let question = format!(
            "Delete hook {} ({})? This cannot be undone.",
            hook.id, hook.url
        );
        // A browser that blocks dialogs returns `Err`, which counts as a no.
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let api = api.get_value();
        spawn_local(async move {
            match api.delete_hook(hook.id).await {
                Ok(()) => {
                    notice.set(Some(format!("Deleted hook {}.", hook.id)));
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };
    let rotate = move |hook: Hook| {
        let question = format!(
            "Give hook {} a new signing secret? Call-outs are signed with the old secret too \
             for 24 hours, so give the receiver the new one within that time.",
            hook.id
        );
        if !window().confirm_with_message(&question).unwrap_or(false) {
            return;
        }
        let api = api.get_value();
        spawn_local(async move {
            match api.rotate_secret(hook.id).await {
                Ok(rotation) => {
                    notice.set(Some(format!("Hook {} has a new signing secret.", hook.id)));
                    secret.set(Some(ShownSecret {
                        hook_id: hook.id,
                        secret: rotation.secret,
                        previous_valid_until: rotation.previous_valid_until,
                    }));
                    load();
                }
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    let row = move |hook: Hook| {
        let row_id = format!("hook-{}", hook.id);
        let (for_toggle, for_edit, for_delete, for_rotate) =
            (hook.clone(), hook.clone(), hook.clone(), hook.clone());
        let toggle_label = if hook.enabled { "Disable" } else { "Enable" };
        let rotate_label = if hook.signed {
            "Rotate secret"
        } else {
            "Sign with a secret"
        };
        let activity = hook.activity.clone().unwrap_or_default();
        view! {
            <tr id=row_id class="hook-row" data-hook-id=hook.id.to_string()>
                <td class="url" data-label="URL template"><code>{hook.url.clone()}</code></td>
                <td class="target" data-label="Target">{hook.target.clone()}</td>
                <td class="event" data-label="Event">{hook.event.clone()}</td>
                <td class="method" data-label="Method">{hook.method.clone()}</td>
                <td class="enabled" data-label="Enabled">{enabled_text(hook.enabled, hook.disabled_reason.clone())}</td>
                <td class="signed" data-label="Signed">{if hook.signed { "yes" } else { "no" }}</td>
                <td class="last-delivery" data-label="Last delivery" data-status=activity.last_status.clone().unwrap_or_default()>
                    {last_delivery_text(&activity)}
                </td>
                <td class="success-rate" data-label="Success, 7 days">{success_text(&activity)}</td>
                <td class="actions">
                    <button class="toggle" type="button" on:click=move |_| toggle(for_toggle.clone())>
                        {toggle_label}
                    </button>
                    <button class="edit" type="button" on:click=move |_| on_edit.run(Some(for_edit.clone()))>
                        "Edit"
                    </button>
                    <button class="rotate" type="button" on:click=move |_| rotate(for_rotate.clone())>
                        {rotate_label}
                    </button>
                    <button class="delete danger" type="button" on:click=move |_| delete(for_delete.clone())>
                        "Delete"
                    </button>
                </td>
            </tr>
        }
    };
    let body = move || match hooks.get() {
        None => view! { <p>"Loading hooks…"</p> }.into_any(),
        Some(list) if list.is_empty() => view! {
            <p id="hooks-empty">"No hooks yet. Create one to be called when something happens."</p>
        }
        .into_any(),
        Some(list) => view! {
            <table id="hooks" class="cards">
                <thead>
                    <tr>
                        <th>"URL template"</th>
                        <th>"Target"</th>
                        <th>"Event"</th>
                        <th>"Method"</th>
                        <th>"Enabled"</th>
                        <th>"Signed"</th>
                        <th>"Last delivery"</th>
                        <th>"Success, 7 days"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
            </table>
        }
        .into_any(),
    };
    let secret_panel = move || {
        secret.get().map(|shown| {
            let text = shown.secret.clone();
            let previous = shown.previous_valid_until.as_deref().map(|until| {
                format!(" The previous secret also signs call-outs until {}.", time(until))
            });
            view! {
                <div id="secret-panel" class="secret" role="status">
                    <p>
                        {format!("The signing secret of hook {}. It is shown only now: copy it to the receiver.", shown.hook_id)}
                        {previous}
                    </p>
                    <code id="secret-value">{shown.secret.clone()}</code>
                    <div class="actions">
                        <CopyButton id="copy-secret" label="Copy the secret" text=Signal::derive(move || text.clone()) />
                        <button id="hide-secret" type="button" on:click=move |_| secret.set(None)>
                            "I have kept it: hide it"
                        </button>
                    </div>
                </div>
            }
        })
    };

    view! {
        <section class="hooks">
            <div class="heading">
                <h2>"Hooks"</h2>
                <button id="new-hook" type="button" on:click=move |_| on_edit.run(None)>"New hook"</button>
            </div>
            <Show when=move || notice.get().is_some()>
                <p id="hooks-notice" class="notice" role="status">{move || notice.get().unwrap_or_default()}</p>
            </Show>
            {secret_panel}
            <Show when=move || failure.get().is_some()>
                <p id="hooks-failure" class="failure" role="alert">{move || failure.get().unwrap_or_default()}</p>
            </Show>
            {body}
        </section>
    }
}

/// Returns the text of the enabled column, with the reason when Callout disabled the hook.
fn enabled_text(enabled: bool, disabled_reason: Option<String>) -> String {
    match (enabled, disabled_reason) {
        (true, _) => "yes".to_string(),
        (false, Some(reason)) => format!("no: {reason}"),
        (false, None) => "no".to_string(),
    }
}

fn last_delivery_text(activity: &Activity) -> String {
    match (&activity.last_status, &activity.last_at) {
        (Some(status), Some(at)) => format!("{status}, {}", time(at)),
        (Some(status), None) => status.clone(),
        _ => "none yet".to_string(),
    }
}

fn success_text(activity: &Activity) -> String {
    match activity.success_rate {
        Some(rate) => format!(
            "{} ({} of {})",
            percent(rate),
            activity.succeeded,
            activity.succeeded + activity.failed
        ),
        None => "no delivery ended".to_string(),
    }
}
