//! Callout's admin page: sign in with an API token, manage hooks with a live preview of their
//! URLs and a test call-out, read the deliveries made, and manage calling lists and
//! campaigns. Trunk builds it into `web/dist`, which the server serves at `/`.
#![forbid(unsafe_code)]

mod api;
mod app;
mod check;
mod components;
mod format;
mod upload;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
