//! The form that creates or changes a hook, with a preview of its URL on every keystroke.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{default_method, ApiError, Hook, HookInput, Problem};
use crate::app::Session;
use crate::check::{check_hook, Check, SAMPLE_OBJECT_VALUES};
use crate::components::problem_list::ProblemList;

/// The errors and warnings of a hook that the server rejected, with the hook as sent, since
/// their spans point into that text.
#[derive(Clone, Debug, PartialEq)]
struct Rejection {
    sent: HookInput,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// Edits `hook`, or a new hook when it is `None`. Calls `on_done` with a sentence about the
/// saved hook, or with `None` when the person cancels.
#[component]
pub fn HookEditor(
    /// The signed-in agent, its API client and the catalogue.
    session: Session,
    /// The hook to change, or `None` to create one.
    hook: Option<Hook>,
    /// Called once the hook is saved, or the editor is cancelled.
    on_done: Callback<Option<String>>,
) -> impl IntoView {
    let first_target = session
        .catalogue
        .targets
        .first()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let first_event = session
        .catalogue
        .events_of(&first_target)
        .first()
        .cloned()
        .unwrap_or_default();
    let hook_id = hook.as_ref().map(|hook| hook.id);
    let url = RwSignal::new(hook.as_ref().map(|h| h.url.clone()).unwrap_or_default());
    let target = RwSignal::new(
        hook.as_ref()
            .map(|h| h.target.clone())
            .unwrap_or(first_target),
    );
    let event = RwSignal::new(
        hook.as_ref()
            .map(|h| h.event.clone())
            .unwrap_or(first_event),
    );
    let method = RwSignal::new(
        hook.as_ref()
            .map(|h| h.method.clone())
            .unwrap_or_else(default_method),
    );
    let enabled = RwSignal::new(hook.as_ref().map(|h| h.enabled).unwrap_or(true));
    let rejection = RwSignal::new(None::<Rejection>);
    let failure = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);

    let engine_catalogue =
        callout_template::Catalogue::new(session.catalogue.agent_columns.clone());
    let values = session.me.values.clone();
    let check = Memo::new(move |_| {
        check_hook(
            &url.get(),
            &target.get(),
            &event.get(),
            &engine_catalogue,
            &values,
        )
    });
    let catalogue = StoredValue::new(session.catalogue.clone());
    let api = StoredValue::new(session.api.clone());

    // An edit makes the server's last response stale, so the page's own check takes over.
    let edited = move || {
        rejection.set(None);
        failure.set(None);
    };
    let on_target = move |ev| {
        let chosen = event_target_value(&ev);
        let events = catalogue.with_value(|catalogue| catalogue.events_of(&chosen));
        if !events.contains(&event.get_untracked()) {
            event.set(events.first().cloned().unwrap_or_default());
        }
        target.set(chosen);
        edited();
    };

    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let input = HookInput {
            url: url.get_untracked(),
            target: target.get_untracked(),
            event: event.get_untracked(),
            method: method.get_untracked(),
            enabled: enabled.get_untracked(),
        };
        saving.set(true);
        edited();
        let api = api.get_value();
        spawn_local(async move {
            let result = match hook_id {
                Some(id) => api.update_hook(id, &input).await,
                None => api.create_hook(&input).await,
            };
            saving.set(false);
            match result {
                Ok(saved) => on_done.run(Some(saved_sentence(saved.hook.id, saved.warnings.len()))),
                Err(error) => {
                    failure.set(Some(error.to_string()));
                    if let ApiError::HookInvalid { errors, warnings } = error {
                        rejection.set(Some(Rejection {
                            sent: input,
                            errors,
                            warnings,
                        }));
                    }
                }
            }
        });
    };

    // The server's rejection while it is current, and the page's own check otherwise.
    let displayed = move || match rejection.get() {
        Some(rejection) => {
            let check = Check {
                errors: rejection.errors,
                warnings: rejection.warnings,
                preview: None,
            };
            (check, rejection.sent)
        }
        None => {
            let sent = HookInput {
                url: url.get(),
                target: target.get(),
                event: event.get(),
                method: method.get(),
                enabled: enabled.get(),
            };
            (check.get(), sent)
        }
    };
    let field_problems = move |field: &'static str, id: &'static str| {
        move || {
            let (check, sent) = displayed();
            let source = match field {
                "target" => sent.target,
                "event" => sent.event,
                _ => sent.url,
            };
            let problems: Vec<Problem> = check
                .errors
                .into_iter()
                .filter(|problem| problem.field == field)
                .collect();
            view! { <ProblemList id=id class="error" problems=problems source=source /> }
        }
    };
    let warnings = move || {
        let (check, sent) = displayed();
        view! { <ProblemList id="url-warnings" class="warning" problems=check.warnings source=sent.url /> }
    };

    let title = match hook_id {
        Some(id) => format!("Edit hook {id}"),
        None => "New hook".to_string(),
    };
    let target_options = move || {
        catalogue.with_value(|catalogue| {
            catalogue
                .targets
                .iter()
                .map(|info| {
                    let is_chosen = info.name.clone();
                    let label = format!("{} ({})", info.name, info.description);
                    view! {
                        <option value=info.name.clone() selected=move || target.get() == is_chosen>
                            {label}
                        </option>
                    }
                })
                .collect_view()
        })
    };
    let event_options = move || {
        let events = catalogue.with_value(|catalogue| catalogue.events_of(&target.get()));
        events
            .into_iter()
            .map(|name| {
                let is_chosen = name.clone();
                let label = name.clone();
                view! {
                    <option value=name selected=move || event.get() == is_chosen>
                        {label}
                    </option>
                }
            })
            .collect_view()
    };

    view! {
        <section class="editor">
            <h2>{title}</h2>
            <form on:submit=save novalidate=true>
                <div class="field">
                    <label for="hook-target">"Target"</label>
                    <select id="hook-target" on:change=on_target>{target_options}</select>
                    {field_problems("target", "target-errors")}
                </div>
                <div class="field">
                    <label for="hook-event">"Event"</label>
                    <select
                        id="hook-event"
                        on:change=move |ev| {
                            event.set(event_target_value(&ev));
                            edited();
                        }
                    >
                        {event_options}
                    </select>
                    {field_problems("event", "event-errors")}
                </div>
                <div class="field">
                    <label for="hook-url">"URL template"</label>
                    <input
                        id="hook-url"
                        type="text"
                        spellcheck="false"
                        autocomplete="off"
                        placeholder="https://example.com/hook?list={calling_list.id}&agent={agent.id}"
                        prop:value=move || url.get()
                        on:input=move |ev| {
                            url.set(event_target_value(&ev));
                            edited();
                        }
                    />
                    {field_problems("url", "url-errors")}
                    {warnings}
                </div>
                <div class="field">
                    <span class="label">"Preview"</span>
                    <output
                        id="preview"
                        for="hook-url hook-target hook-event"
                        data-valid=move || check.with(|check| check.preview.is_some().to_string())
                    >
                        {move || check.with(|check| check.preview.clone().unwrap_or_default())}
                    </output>
                    <p class="hint">
                        {move || check.with(preview_hint)}
                    </p>
                </div>
                <div class="field">
                    <label for="hook-method">"Method"</label>
                    <select id="hook-method" on:change=move |ev| method.set(event_target_value(&ev))>
                        {["GET", "POST"].map(|name| view! {
                            <option value=name selected=move || method.get() == name>{name}</option>
                        })}
                    </select>
                    <p class="hint">
                        "GET sends the data in the URL only. POST also sends a JSON description of the event as the body."
                    </p>
                </div>
                <div class="field checkbox">
                    <input
                        id="hook-enabled"
                        type="checkbox"
                        prop:checked=move || enabled.get()
                        on:change=move |ev| enabled.set(event_target_checked(&ev))
                    />
                    <label for="hook-enabled">"Enabled: the hook fires when its event happens"</label>
                </div>
                <Show when=move || failure.get().is_some()>
                    <p id="editor-failure" class="failure" role="alert">
                        {move || failure.get().unwrap_or_default()}
                    </p>
                </Show>
                <div class="actions">
                    <button id="hook-save" type="submit" disabled=move || saving.get()>
                        {move || if saving.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button id="hook-cancel" type="button" on:click=move |_| on_done.run(None)>
                        "Cancel"
                    </button>
                </div>
            </form>
        </section>
    }
}

fn preview_hint(check: &Check) -> String {
    if check.preview.is_none() {
        return "The preview appears when the URL has no errors.".to_string();
    }
    let samples: Vec<String> = SAMPLE_OBJECT_VALUES
        .iter()
        .map(|(tag, value)| format!("{tag} = {value}"))
        .collect();
    format!(
        "Rendered with your own agent and client values and sample object ids ({}); \
         campaign.copy_of is undefined.",
        samples.join(", ")
    )
}

fn saved_sentence(id: i64, warnings: usize) -> String {
    match warnings {
        0 => format!("Saved hook {id}."),
        count => format!("Saved hook {id}, with {count} warning(s): open it to read them."),
    }
}
