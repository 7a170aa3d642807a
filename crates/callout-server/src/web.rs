//! The admin page: the static files that Trunk builds into `web/dist`.

use std::path::Path;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

/// Returns a router that serves the built page from `dir`, with `index.html` for paths that
/// name no file. When the page is not built, every path gets 503 with how to build it.
pub fn router<S: Clone + Send + Sync + 'static>(dir: &Path) -> Router<S> {
    let index = dir.join("index.html");
    if !index.is_file() {
        tracing::warn!(web_dir = %dir.display(), "the admin page is not built; only the API is served");
        let message = format!(
            "the admin page is not built: run `trunk build --offline` in the checkout, or point \
             --web-dir at a built page (looked in {})\n",
            dir.display()
        );
        return Router::new().fallback(get(move || async move {
            (StatusCode::SERVICE_UNAVAILABLE, message)
        }));
    }
    Router::new().fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)))
}
