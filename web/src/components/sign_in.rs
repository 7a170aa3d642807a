//! The sign-in form: an agent's API token, checked against the server before it is kept.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::Api;
use crate::app::{open_session, Session};

/// Asks for an API token and calls `on_signed_in` with the session it opens, along with the
/// token so that the page can keep it.
#[component]
pub fn SignIn(
    /// Called once the server accepts the token.
    on_signed_in: Callback<(String, Session)>,
    /// A sentence to show above the form, such as why the last session ended.
    message: Option<String>,
) -> impl IntoView {
    let token = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let entered = token.get_untracked().trim().to_string();
        if entered.is_empty() {
            failure.set(Some(
                "Enter the API token of an agent to sign in.".to_string(),
            ));
            return;
        }
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            let result = open_session(Api::new(entered.clone())).await;
            busy.set(false);
            match result {
                Ok(session) => on_signed_in.run((entered, session)),
                Err(error) => failure.set(Some(error.to_string())),
            }
        });
    };

    view! {
        <section class="sign-in">
            <h2>"Sign in"</h2>
            {message.map(|message| view! { <p id="sign-in-message" class="notice">{message}</p> })}
            <form on:submit=submit>
                <div class="field">
                    <label for="token">"API token"</label>
                    <input
                        id="token"
                        type="password"
                        autocomplete="current-password"
                        prop:value=move || token.get()
                        on:input=move |ev| token.set(event_target_value(&ev))
                    />
                </div>
                <Show when=move || failure.get().is_some()>
                    <p id="sign-in-failure" class="failure" role="alert">
                        {move || failure.get().unwrap_or_default()}
                    </p>
                </Show>
                <button id="sign-in" type="submit" disabled=move || busy.get()>
                    {move || if busy.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
        </section>
    }
}
