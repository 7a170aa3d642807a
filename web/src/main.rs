//! Callout's admin page: sign in with an API token, manage hooks with a live preview of their
//! URLs, and read the deliveries made. Trunk builds it into `web/dist`, which the server
//! serves at `/`.
#![forbid(unsafe_code)]

mod api;
mod app;
mod check;
mod components;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
