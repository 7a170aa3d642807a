//! The page as a whole: the session of the signed-in agent, and which view it shows.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api::{on_unauthorized, Api, ApiError, Catalogue, Hook, Me};
use crate::components::deliveries::DeliveriesView;
use crate::components::hook_editor::HookEditor;
use crate::components::hooks_list::{HooksList, ShownSecret};
use crate::components::lists::ListsView;
use crate::components::sign_in::SignIn;

/// The `localStorage` key under which the API token is kept between visits.
const TOKEN_KEY: &str = "callout.token";

/// The sentence shown on the sign-in page when the server rejects the token mid-session.
const SESSION_ENDED: &str = "Your session has ended: the server no longer accepts your API \
                             token. Sign in again with a valid token.";

/// The signed-in agent's session: its API client, its agent record and the catalogue.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    /// The API client, signing with the agent's token.
    pub api: Api,
    /// The agent, its client and its tag values.
    pub me: Me,
    /// The targets and events hooks can use.
    pub catalogue: Catalogue,
}

/// Checks a token by fetching the agent it belongs to and the catalogue.
pub async fn open_session(api: Api) -> Result<Session, ApiError> {
    let me = api.me().await?;
    let catalogue = api.catalogue().await?;
    Ok(Session { api, me, catalogue })
}

/// The notice and the secret shown above the hooks list after a change.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    /// A sentence about the last change, such as a saved hook.
    pub notice: Option<String>,
    /// A signing secret just created, shown once.
    pub secret: Option<ShownSecret>,
}

/// The view shown to a signed-in agent.
#[derive(Clone, Debug, PartialEq)]
enum View {
    /// The hooks, with the outcome of the last change.
    Hooks(Outcome),
    /// The editor, of an existing hook or of a new one.
    Editor(Option<Hook>),
    /// The deliveries.
    Deliveries,
    /// Calling lists and campaigns.
    Lists,
}

/// Renders the admin page: the sign-in form, or the views of the signed-in agent.
#[component]
pub fn App() -> impl IntoView {
    let session = RwSignal::new(None::<Session>);
    let view = RwSignal::new(View::Hooks(Outcome::default()));
    let sign_in_message = RwSignal::new(None::<String>);
    let restoring = RwSignal::new(false);

    // A 401 at any time ends the session. While signing in there is no session yet, and the
    // sign-in form shows the rejection itself.
    on_unauthorized(move || {
        if session.get_untracked().is_none() {
            return;
        }
        let message = match forget_token() {
            Ok(()) => SESSION_ENDED.to_string(),
            Err(sentence) => format!("{SESSION_ENDED} {sentence}"),
        };
        session.set(None);
        view.set(View::Hooks(Outcome::default()));
        sign_in_message.set(Some(message));
    });

    match stored_token() {
        Ok(Some(token)) => {
            restoring.set(true);
            spawn_local(async move {
                match open_session(Api::new(token)).await {
                    Ok(opened) => session.set(Some(opened)),
                    Err(error) => {
                        // Only a rejected token is dropped: after a network failure the same
                        // token works once the server is back.
                        let message = if error == ApiError::Unauthorized {
                            let _ = forget_token();
                            "The saved API token is no longer accepted: it may have been \
                             replaced or the agent removed. Sign in again with a valid token."
                                .to_string()
                        } else {
                            error.to_string()
                        };
                        sign_in_message.set(Some(message));
                    }
                }
                restoring.set(false);
            });
        }
        Ok(None) => {}
        Err(sentence) => sign_in_message.set(Some(sentence)),
    }

    let on_signed_in = Callback::new(move |(token, opened): (String, Session)| {
        let notice = store_token(&token).err();
        session.set(Some(opened));
        view.set(View::Hooks(Outcome {
            notice,
            secret: None,
        }));
    });
    let sign_out = move |_| {
        let message = match forget_token() {
            Ok(()) => "Signed out.".to_string(),
            Err(sentence) => sentence,
        };
        session.set(None);
        view.set(View::Hooks(Outcome::default()));
        sign_in_message.set(Some(message));
    };
    let on_edit = Callback::new(move |hook: Option<Hook>| view.set(View::Editor(hook)));
    let on_done = Callback::new(move |outcome: Outcome| view.set(View::Hooks(outcome)));

    let signed_in = move |current: Session| {
        let agent_label = current
            .me
            .agent
            .name
            .clone()
            .unwrap_or_else(|| current.me.agent.username.clone());
        let client_name = current.me.client.name.clone();
        let current_view = move || match (view.get(), current.clone()) {
            (View::Hooks(outcome), current) => {
                view! { <HooksList api=current.api on_edit=on_edit outcome=outcome /> }.into_any()
            }
            (View::Editor(hook), current) => {
                view! { <HookEditor session=current hook=hook on_done=on_done /> }.into_any()
            }
            (View::Deliveries, current) => view! {
                <DeliveriesView api=current.api catalogue=current.catalogue />
            }
            .into_any(),
            (View::Lists, current) => view! { <ListsView api=current.api /> }.into_any(),
        };
        let nav_button = move |id: &'static str, label: &'static str, target: View| {
            let is_current = {
                let target = target.clone();
                move || match (&view.get(), &target) {
                    (View::Hooks(_) | View::Editor(_), View::Hooks(_)) => true,
                    (shown, target) => shown == target,
                }
            };
            view! {
                <button
                    id=id
                    type="button"
                    class:current=is_current.clone()
                    aria-current=move || if is_current() { Some("page") } else { None }
                    on:click=move |_| view.set(target.clone())
                >
                    {label}
                </button>
            }
        };
        view! {
            <header>
                <h1>"Callout"</h1>
                <nav aria-label="Views">
                    {nav_button("nav-hooks", "Hooks", View::Hooks(Outcome::default()))}
                    {nav_button("nav-deliveries", "Deliveries", View::Deliveries)}
                    {nav_button("nav-lists", "Lists and campaigns", View::Lists)}
                </nav>
                <span id="signed-in-as">
                    {format!("Signed in as {agent_label} for {client_name}")}
                </span>
                <button id="sign-out" type="button" on:click=sign_out>"Sign out"</button>
            </header>
            <main>{current_view}</main>
        }
    };

    move || {
        if restoring.get() {
            return view! { <p class="notice">"Signing in with the saved token…"</p> }.into_any();
        }
        match session.get() {
            Some(current) => signed_in(current).into_any(),
            None => view! {
                <header><h1>"Callout"</h1></header>
                <main>
                    <SignIn on_signed_in=on_signed_in message=sign_in_message.get() />
                </main>
            }
            .into_any(),
        }
    }
}

fn local_storage() -> Result<web_sys::Storage, String> {
    let unavailable = "This browser does not allow the page to keep the API token \
                       (localStorage is unavailable), so you will need to sign in again on every visit.";
    match window().local_storage() {
        Ok(Some(storage)) => Ok(storage),
        _ => Err(unavailable.to_string()),
    }
}

fn stored_token() -> Result<Option<String>, String> {
    let storage = local_storage()?;
    Ok(storage
        .get_item(TOKEN_KEY)
        .ok()
        .flatten()
        .filter(|token| !token.is_empty()))
}

fn store_token(token: &str) -> Result<(), String> {
    local_storage()?
        .set_item(TOKEN_KEY, token)
        .map_err(|_| "The API token could not be kept in this browser's storage, so you will need to sign in again on the next visit.".to_string())
}

fn forget_token() -> Result<(), String> {
    local_storage()?
        .remove_item(TOKEN_KEY)
        .map_err(|_| "The API token could not be removed from this browser's storage: clear the site's data to remove it.".to_string())
}
