//! The client's hooks, with buttons to enable, disable, edit and delete each.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{Api, Hook, HookInput};

/// Lists the hooks of the signed-in agent's client. Calls `on_edit` with a hook to change it,
/// or with `None` to create one.
#[component]
pub fn HooksList(
    /// The API client of the signed-in agent.
    api: Api,
    /// Called to open the editor.
    on_edit: Callback<Option<Hook>>,
    /// A sentence about the last change, such as a saved hook.
    notice: Option<String>,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let hooks = RwSignal::new(None::<Vec<Hook>>);
    let failure = RwSignal::new(None::<String>);
    let notice = RwSignal::new(notice);

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

    let row = move |hook: Hook| {
        let row_id = format!("hook-{}", hook.id);
        let (for_toggle, for_edit, for_delete) = (hook.clone(), hook.clone(), hook.clone());
        let toggle_label = if hook.enabled { "Disable" } else { "Enable" };
        view! {
            <tr id=row_id class="hook-row" data-hook-id=hook.id.to_string()>
                <td class="url"><code>{hook.url}</code></td>
                <td class="target">{hook.target}</td>
                <td class="event">{hook.event}</td>
                <td class="method">{hook.method}</td>
                <td class="enabled">{enabled_text(hook.enabled, hook.disabled_reason)}</td>
                <td class="actions">
                    <button class="toggle" type="button" on:click=move |_| toggle(for_toggle.clone())>
                        {toggle_label}
                    </button>
                    <button class="edit" type="button" on:click=move |_| on_edit.run(Some(for_edit.clone()))>
                        "Edit"
                    </button>
                    <button class="delete" type="button" on:click=move |_| delete(for_delete.clone())>
                        "Delete"
                    </button>
                </td>
            </tr>
        }
    };
    let body = move || {
        match hooks.get() {
        None => view! { <p>"Loading hooks…"</p> }.into_any(),
        Some(list) if list.is_empty() => {
            view! { <p id="hooks-empty">"No hooks yet. Create one to be called when something happens."</p> }
                .into_any()
        }
        Some(list) => view! {
            <table id="hooks">
                <thead>
                    <tr>
                        <th>"URL template"</th>
                        <th>"Target"</th>
                        <th>"Event"</th>
                        <th>"Method"</th>
                        <th>"Enabled"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr>
                </thead>
                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
            </table>
        }
        .into_any(),
    }
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
