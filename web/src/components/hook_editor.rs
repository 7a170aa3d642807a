//! The form that creates or changes a hook: the URL field, a preview rendered on every
//! keystroke, the values it is rendered with, and a test call-out.

use std::collections::BTreeMap;

use callout_template::{Event, Tag, Target};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{default_method, ApiError, Hook, HookInput, Problem, TestFire};
use crate::app::{Outcome, Session};
use crate::check::{check_hook, sample_values, Check};
use crate::components::hooks_list::ShownSecret;
use crate::components::preview::{Preview, SampleValues};
use crate::components::problem_list::ProblemList;
use crate::components::test_fire::TestFirePanel;
use crate::components::url_field::UrlField;

/// The errors and warnings of a hook that the server rejected, with the hook as sent, since
/// their spans point into that text.
#[derive(Clone, Debug, PartialEq)]
struct Rejection {
    sent: HookInput,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
}

/// Edits `hook`, or a new hook when it is `None`. Calls `on_done` with the outcome once the
/// hook is saved, or with an empty outcome when the person cancels.
#[component]
pub fn HookEditor(
    /// The signed-in agent, its API client and the catalogue.
    session: Session,
    /// The hook to change, or `None` to create one.
    hook: Option<Hook>,
    /// Called once the hook is saved, or the editor is cancelled.
    on_done: Callback<Outcome>,
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
    let signed = RwSignal::new(false);
    let rejection = RwSignal::new(None::<Rejection>);
    let failure = RwSignal::new(None::<String>);
    let saving = RwSignal::new(false);

    let engine_catalogue = StoredValue::new(callout_template::Catalogue::new(
        session.catalogue.agent_columns.clone(),
    ));
    let defaults =
        engine_catalogue.with_value(|catalogue| sample_values(catalogue, &session.me.values));
    let samples = RwSignal::new(defaults.clone());
    let check = Memo::new(move |_| {
        engine_catalogue.with_value(|catalogue| {
            samples.with(|samples| {
                check_hook(&url.get(), &target.get(), &event.get(), catalogue, samples)
            })
        })
    });
    let tags = Signal::derive(move || {
        let hook = Target::from_name(&target.get()).zip(Event::from_name(&event.get()));
        engine_catalogue.with_value(|catalogue| match hook {
            Some((target, event)) => catalogue.tags_for(target, event),
            None => catalogue.tags(),
        })
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
            signed: hook_id.is_none().then(|| signed.get_untracked()),
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
                Ok(saved) => on_done.run(saved_outcome(&saved)),
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
                ..Check::default()
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
                signed: None,
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
    let shown_errors = Signal::derive(move || displayed().0.errors);
    let shown_warnings = Signal::derive(move || displayed().0.warnings);

    let draft = Signal::derive(move || {
        check
            .with(|check| check.preview.is_some())
            .then(|| TestFire {
                hook_id,
                url: url.get(),
                target: target.get(),
                event: event.get(),
                method: method.get(),
                values: test_values(&samples.get(), &tags.get()),
            })
    });

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
    let signed_field = hook_id.is_none().then(|| {
        view! {
            <div class="field checkbox">
                <input
                    id="hook-signed"
                    type="checkbox"
                    prop:checked=move || signed.get()
                    on:change=move |ev| signed.set(event_target_checked(&ev))
                />
                <label for="hook-signed">
                    "Signed: call-outs carry a webhook-signature header made with a secret shown once after saving"
                </label>
            </div>
        }
    });

    view! {
        <section class="editor">
            <h2>{title}</h2>
            <form on:submit=save novalidate=true>
                <div class="field-row">
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
                        <label for="hook-method">"Method"</label>
                        <select id="hook-method" aria-describedby="method-help" on:change=move |ev| method.set(event_target_value(&ev))>
                            {["GET", "POST"].map(|name| view! {
                                <option value=name selected=move || method.get() == name>{name}</option>
                            })}
                        </select>
                    </div>
                </div>
                <p id="method-help" class="hint">
                    "GET sends the data in the URL only. POST also sends a JSON description of the event as the body."
                </p>
                <div class="field">
                    <label for="hook-url">"URL template"</label>
                    <UrlField
                        url=url
                        errors=shown_errors
                        warnings=shown_warnings
                        tags=tags
                        on_edit=Callback::new(move |()| edited())
                    />
                    {field_problems("url", "url-errors")}
                    {warnings}
                </div>
                <Preview check=check />
                <SampleValues samples=samples defaults=defaults tags=tags />
                <TestFirePanel api=session.api.clone() draft=draft />
                <div class="field checkbox">
                    <input
                        id="hook-enabled"
                        type="checkbox"
                        prop:checked=move || enabled.get()
                        on:change=move |ev| enabled.set(event_target_checked(&ev))
                    />
                    <label for="hook-enabled">"Enabled: the hook fires when its event happens"</label>
                </div>
                {signed_field}
                <Show when=move || failure.get().is_some()>
                    <p id="editor-failure" class="failure" role="alert">
                        {move || failure.get().unwrap_or_default()}
                    </p>
                </Show>
                <div class="actions">
                    <button id="hook-save" type="submit" disabled=move || saving.get()>
                        {move || if saving.get() { "Saving…" } else { "Save" }}
                    </button>
                    <button id="hook-cancel" type="button" on:click=move |_| on_done.run(Outcome::default())>
                        "Cancel"
                    </button>
                </div>
            </form>
        </section>
    }
}

/// Returns the values a test call-out sends: one entry per tag of the hook, so that the server
/// renders with exactly the values of the preview, undefined ones included.
fn test_values(
    samples: &BTreeMap<String, Option<String>>,
    tags: &[Tag],
) -> BTreeMap<String, Option<String>> {
    tags.iter()
        .map(|tag| (tag.name.clone(), samples.get(&tag.name).cloned().flatten()))
        .collect()
}

fn saved_outcome(saved: &crate::api::SavedHook) -> Outcome {
    let id = saved.hook.id;
    let notice = match saved.warnings.len() {
        0 => format!("Saved hook {id}."),
        count => format!("Saved hook {id}, with {count} warning(s): open it to read them."),
    };
    Outcome {
        notice: Some(notice),
        secret: saved.secret.clone().map(|secret| ShownSecret {
            hook_id: id,
            secret,
            previous_valid_until: None,
        }),
    }
}
