//! The URL template field: tags highlighted and errors underlined as they are typed, tag
//! completion after `{`, and a palette of the tags the hook's target and event have.
//!
//! The field is a transparent `<textarea>` over a mirror that shows the same text with
//! colours. Both wrap the same way, so each character of the mirror sits under its twin.

use callout_template::Tag;
use leptos::ev::KeyboardEvent;
use leptos::html::Textarea;
use leptos::prelude::*;

use crate::api::Problem;
use crate::check::{
    byte_offset, complete, completion_at, highlight, insert_tag, suggestions, utf16_offset,
    Completion,
};

/// The completion list while it is open: what is being typed and where the cursor is.
#[derive(Clone, Debug, PartialEq)]
struct Open {
    completion: Completion,
    cursor: usize,
}

/// Edits `url`, showing `errors` and `warnings` in place and offering `tags`.
#[component]
pub fn UrlField(
    /// The URL template.
    url: RwSignal<String>,
    /// The errors to underline.
    #[prop(into)]
    errors: Signal<Vec<Problem>>,
    /// The warnings to mark.
    #[prop(into)]
    warnings: Signal<Vec<Problem>>,
    /// The tags the hook can use, for the palette and the completion.
    #[prop(into)]
    tags: Signal<Vec<Tag>>,
    /// Called after every change of the text.
    on_edit: Callback<()>,
) -> impl IntoView {
    let field = NodeRef::<Textarea>::new();
    let open = RwSignal::new(None::<Open>);
    let active = RwSignal::new(0usize);
    let options = Memo::new(move |_| {
        let Some(open) = open.get() else {
            return Vec::new();
        };
        let names: Vec<String> =
            tags.with(|tags| tags.iter().map(|tag| tag.name.clone()).collect());
        suggestions(&names, &open.completion.typed)
    });
    let listed = move || open.with(Option::is_some) && options.with(|names| !names.is_empty());

    // Sets the text and the cursor at once, so that the cursor lands after the change.
    let replace = move |text: String, cursor: usize| {
        if let Some(element) = field.get_untracked() {
            element.set_value(&text);
            let at = utf16_offset(&text, cursor) as u32;
            let _ = element.set_selection_range(at, at);
            let _ = element.focus();
        }
        url.set(text);
        on_edit.run(());
    };
    let cursor_of = move || -> Option<(String, usize, usize)> {
        let element = field.get_untracked()?;
        let text = element.value();
        let start = element.selection_start().ok().flatten().unwrap_or(0) as usize;
        let end = element.selection_end().ok().flatten().unwrap_or(0) as usize;
        let (start, end) = (byte_offset(&text, start), byte_offset(&text, end));
        Some((text, start, end))
    };
    let refresh_completion = move || {
        let found = cursor_of().and_then(|(text, start, end)| {
            let completion = (start == end)
                .then(|| completion_at(&text, start))
                .flatten()?;
            Some(Open {
                completion,
                cursor: start,
            })
        });
        if found.as_ref().map(|o| &o.completion)
            != open.get_untracked().as_ref().map(|o| &o.completion)
        {
            active.set(0);
        }
        open.set(found);
    };
    let accept = move |index: usize| {
        let Some(current) = open.get_untracked() else {
            return;
        };
        let Some(name) = options.get_untracked().get(index).cloned() else {
            return;
        };
        let (text, cursor) = complete(
            &url.get_untracked(),
            &current.completion,
            current.cursor,
            &name,
        );
        open.set(None);
        replace(text, cursor);
    };

    let on_input = move |ev| {
        url.set(event_target_value(&ev));
        on_edit.run(());
        refresh_completion();
    };
    let on_keydown = move |ev: KeyboardEvent| {
        let count = options.with_untracked(Vec::len);
        let is_listed = open.with_untracked(Option::is_some) && count > 0;
        match ev.key().as_str() {
            "ArrowDown" if is_listed => {
                ev.prevent_default();
                active.update(|index| *index = (*index + 1) % count);
            }
            "ArrowUp" if is_listed => {
                ev.prevent_default();
                active.update(|index| *index = (*index + count - 1) % count);
            }
            "Enter" | "Tab" if is_listed => {
                ev.prevent_default();
                accept(active.get_untracked());
            }
            "Escape" if is_listed => {
                ev.prevent_default();
                open.set(None);
            }
            // A URL has no line breaks; Enter is kept from adding one.
            "Enter" => ev.prevent_default(),
            _ => {}
        }
    };
    let on_keyup = move |ev: KeyboardEvent| {
        let moves = ["ArrowLeft", "ArrowRight", "Home", "End"];
        if moves.contains(&ev.key().as_str()) {
            refresh_completion();
        }
    };
    let insert = move |name: String| {
        let Some((text, start, end)) = cursor_of() else {
            return;
        };
        let (text, cursor) = insert_tag(&text, start, end, &name);
        open.set(None);
        replace(text, cursor);
    };

    let mirror = move || {
        let runs = errors.with(|errors| {
            warnings.with(|warnings| url.with(|text| highlight(text, errors, warnings)))
        });
        runs.into_iter()
            .map(|run| {
                let empty = run.text.is_empty();
                view! {
                    <span
                        class:tag=run.expression
                        class:error=run.error
                        class:warning=run.warning
                        class:empty=empty
                    >
                        {run.text}
                    </span>
                }
            })
            .collect_view()
    };
    let completion_list = move || {
        if !listed() {
            return None;
        }
        let descriptions: Vec<(String, String)> = tags.with(|tags| {
            tags.iter()
                .map(|tag| (tag.name.clone(), tag.description.clone()))
                .collect()
        });
        let items = options
            .get()
            .into_iter()
            .enumerate()
            .map(|(index, name)| {
                let description = descriptions
                    .iter()
                    .find(|(tag, _)| *tag == name)
                    .map(|(_, text)| text.clone())
                    .unwrap_or_default();
                let data_tag = name.clone();
                view! {
                    <li
                        id=format!("completion-{index}")
                        role="option"
                        data-tag=data_tag
                        aria-selected=move || (active.get() == index).to_string()
                        // Taking the click before the field loses focus keeps the cursor.
                        on:mousedown=move |ev| {
                            ev.prevent_default();
                            accept(index);
                        }
                    >
                        <code>{name}</code>
                        " "
                        <span class="description">{description}</span>
                    </li>
                }
            })
            .collect_view();
        Some(view! { <ul id="tag-completion" role="listbox" aria-label="Tags">{items}</ul> })
    };
    let palette = move || {
        tags.get()
            .into_iter()
            .map(|tag| {
                let name = tag.name.clone();
                let optional = tag.optional.then_some(" (may be undefined)");
                view! {
                    <li>
                        <button
                            type="button"
                            class="tag-insert"
                            data-tag=tag.name.clone()
                            on:click=move |_| insert(name.clone())
                        >
                            {format!("{{{}}}", tag.name)}
                        </button>
                        " "
                        <span class="description">{tag.description}{optional}</span>
                    </li>
                }
            })
            .collect_view()
    };

    view! {
        <div class="url-editor">
            <div class="url-mirror" aria-hidden="true">
                {mirror}
                // Keeps the last line's height when the text ends with a line break.
                " "
            </div>
            <textarea
                id="hook-url"
                node_ref=field
                rows="1"
                spellcheck="false"
                autocomplete="off"
                autocapitalize="off"
                role="combobox"
                aria-autocomplete="list"
                aria-controls="tag-completion"
                aria-expanded=move || listed().to_string()
                aria-activedescendant=move || listed().then(|| format!("completion-{}", active.get()))
                aria-describedby="url-errors url-warnings url-help"
                placeholder="https://example.com/hook?list={calling_list.id}&agent={agent.id}"
                prop:value=move || url.get()
                on:input=on_input
                on:keydown=on_keydown
                on:keyup=on_keyup
                on:click=move |_| refresh_completion()
                on:blur=move |_| open.set(None)
            ></textarea>
            {completion_list}
        </div>
        <p id="url-help" class="hint">
            "Type { to complete a tag: arrows choose, Enter or Tab takes it, Escape closes the list."
        </p>
        <details class="palette" open=true>
            <summary>"Tags this hook can use"</summary>
            <ul id="tag-palette">{palette}</ul>
        </details>
    }
}
