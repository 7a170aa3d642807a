//! A button that copies a text to the clipboard and shows whether it did.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Copies `text` when pressed, then shows "Copied." or why it could not copy.
#[component]
pub fn CopyButton(
    /// The button's `id`; the sentence after it has this `id` plus `-status`.
    id: &'static str,
    /// The button's label.
    label: &'static str,
    /// The text to copy, read when the button is pressed.
    #[prop(into)]
    text: Signal<String>,
) -> impl IntoView {
    let status = RwSignal::new(None::<String>);
    let copy = move |_| {
        let value = text.get_untracked();
        spawn_local(async move {
            let sentence = match copy_text(&value).await {
                Ok(()) => "Copied.".to_string(),
                Err(sentence) => sentence,
            };
            status.set(Some(sentence));
        });
    };
    view! {
        <button id=id type="button" class="copy" on:click=copy>{label}</button>
        <span id=format!("{id}-status") class="copy-status" role="status">
            {move || status.get()}
        </span>
    }
}

/// Writes `text` to the clipboard with the Clipboard API, and falls back on a selected text
/// field and `execCommand("copy")` where the API is refused.
async fn copy_text(text: &str) -> Result<(), String> {
    let clipboard = window().navigator().clipboard();
    if JsFuture::from(clipboard.write_text(text)).await.is_ok() {
        return Ok(());
    }

    let refused = "The browser refused to copy: select the text and copy it by hand.".to_string();
    let document = document();
    let field = document
        .create_element("textarea")
        .map_err(|_| refused.clone())?
        .unchecked_into::<web_sys::HtmlTextAreaElement>();
    field.set_value(text);
    let body = document.body().ok_or_else(|| refused.clone())?;
    body.append_child(&field).map_err(|_| refused.clone())?;
    field.select();
    let copied = document
        .dyn_ref::<web_sys::HtmlDocument>()
        .and_then(|html| html.exec_command("copy").ok())
        .unwrap_or(false);
    field.remove();
    if copied {
        Ok(())
    } else {
        Err(refused)
    }
}
