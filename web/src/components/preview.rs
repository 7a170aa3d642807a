//! The preview of a hook's URL, with each tag's bytes marked, and the sample values it is
//! rendered with, which the person can change.

use std::collections::BTreeMap;

use callout_template::Tag;
use leptos::prelude::*;

use crate::check::Check;
use crate::components::copy_button::CopyButton;

/// Shows the URL that `check` rendered, marked by the expression that produced each part.
#[component]
pub fn Preview(
    /// The editor's check of the hook.
    check: Memo<Check>,
) -> impl IntoView {
    let pieces = move || {
        check.with(|check| {
            check
                .pieces
                .iter()
                .map(|piece| match &piece.expression {
                    None => view! { <span class="literal">{piece.text.clone()}</span> }.into_any(),
                    Some(expression) => view! {
                        <mark
                            class="expansion"
                            class:empty=piece.text.is_empty()
                            data-expression=expression.clone()
                            title=format!("from {expression}")
                        >
                            {piece.text.clone()}
                        </mark>
                    }
                    .into_any(),
                })
                .collect_view()
        })
    };
    let legend = move || {
        check.with(|check| {
            check
                .pieces
                .iter()
                .filter_map(|piece| {
                    let expression = piece.expression.clone()?;
                    let output = if piece.text.is_empty() {
                        view! { <span class="muted">"nothing (every value undefined)"</span> }
                            .into_any()
                    } else {
                        view! { <code class="expansion">{piece.text.clone()}</code> }.into_any()
                    };
                    Some(view! { <li><code>{expression}</code>" gives "{output}</li> })
                })
                .collect_view()
        })
    };
    let text =
        Signal::derive(move || check.with(|check| check.preview.clone().unwrap_or_default()));

    view! {
        <div class="field">
            <span class="label" id="preview-label">"Preview"</span>
            <output
                id="preview"
                for="hook-url hook-target hook-event"
                aria-labelledby="preview-label"
                data-valid=move || check.with(|check| check.preview.is_some().to_string())
            >
                {pieces}
            </output>
            <p class="hint">
                {move || {
                    if check.with(|check| check.preview.is_none()) {
                        "The preview appears when the URL has no errors."
                    } else {
                        "Each highlighted part is the output of one tag expression, listed below."
                    }
                }}
            </p>
            <ul id="preview-parts">{legend}</ul>
            <CopyButton id="copy-preview" label="Copy the URL" text=text />
        </div>
    }
}

/// Edits the values the preview and the test call-out render with. A tag marked undefined
/// has no value, as an agent without an email has no `agent.email`.
#[component]
pub fn SampleValues(
    /// The values of every tag; `None` is undefined.
    samples: RwSignal<BTreeMap<String, Option<String>>>,
    /// The values the editor started with, for the reset button.
    defaults: BTreeMap<String, Option<String>>,
    /// The tags of the hook's target and event, which get a row each.
    #[prop(into)]
    tags: Signal<Vec<Tag>>,
) -> impl IntoView {
    let defaults = StoredValue::new(defaults);
    let rows = move || {
        tags.get()
            .into_iter()
            .map(|tag| {
                let name = tag.name.clone();
                let id = format!("sample-{}", tag.name.replace('.', "-"));
                let undefined_id = format!("{id}-undefined");
                let (for_value, for_check, for_input, for_toggle) =
                    (name.clone(), name.clone(), name.clone(), name.clone());
                let value = move || {
                    samples.with(|samples| samples.get(&for_value).cloned().flatten().unwrap_or_default())
                };
                let undefined =
                    move || samples.with(|samples| samples.get(&for_check).cloned().flatten().is_none());
                view! {
                    <tr>
                        <th scope="row"><label for=id.clone()><code>{tag.name.clone()}</code></label></th>
                        <td>
                            <input
                                id=id
                                type="text"
                                class="sample"
                                spellcheck="false"
                                autocomplete="off"
                                prop:value=value
                                disabled=undefined.clone()
                                on:input=move |ev| {
                                    let text = event_target_value(&ev);
                                    samples.update(|samples| {
                                        samples.insert(for_input.clone(), Some(text));
                                    });
                                }
                            />
                        </td>
                        <td class="undefined">
                            <input
                                id=undefined_id.clone()
                                type="checkbox"
                                prop:checked=undefined
                                on:change=move |ev| {
                                    let is_undefined = event_target_checked(&ev);
                                    samples.update(|samples| {
                                        let value = (!is_undefined).then(String::new);
                                        samples.insert(for_toggle.clone(), value);
                                    });
                                }
                            />
                            <label for=undefined_id>"undefined"</label>
                        </td>
                    </tr>
                }
            })
            .collect_view()
    };

    view! {
        <details class="samples field">
            <summary>"Values used for the preview and the test call-out"</summary>
            <p class="hint">
                "Your own agent and client values, and sample ids for the object of the event. \
                 Change them to see how the URL encodes other values."
            </p>
            <table id="sample-values">
                <thead>
                    <tr><th>"Tag"</th><th>"Value"</th><th>"Undefined"</th></tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
            <button
                id="reset-samples"
                type="button"
                on:click=move |_| samples.set(defaults.get_value())
            >
                "Reset to my values"
            </button>
        </details>
    }
}
