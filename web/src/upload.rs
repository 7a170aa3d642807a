//! CSV uploads through `XMLHttpRequest`, whose upload progress events `fetch` lacks.

use js_sys::Promise;
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use crate::api::{report_unauthorized, Api, ApiError};

/// Posts `file` as `text/csv` to `path` and decodes the JSON response. Calls `on_progress`
/// with the bytes sent and the total as the upload goes on.
pub async fn post_csv<T: DeserializeOwned>(
    api: &Api,
    path: &str,
    file: &File,
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<T, ApiError> {
    let request = XmlHttpRequest::new().map_err(script_error)?;
    request.open("POST", path).map_err(script_error)?;
    request
        .set_request_header("Authorization", &api.authorization())
        .map_err(script_error)?;
    request
        .set_request_header("Content-Type", "text/csv")
        .map_err(script_error)?;

    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        if event.length_computable() {
            on_progress(event.loaded(), event.total());
        }
    });
    request
        .upload()
        .map_err(script_error)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    // Every way the request can end resolves the promise, and the status distinguishes them.
    let ended = Promise::new(&mut |resolve, _reject| {
        request.set_onload(Some(&resolve));
        request.set_onerror(Some(&resolve));
        request.set_onabort(Some(&resolve));
        request.set_ontimeout(Some(&resolve));
    });
    request
        .send_with_opt_blob(Some(file))
        .map_err(script_error)?;
    let _ = JsFuture::from(ended).await;
    drop(progress);

    let status = request.status().map_err(script_error)?;
    let text = request
        .response_text()
        .map_err(script_error)?
        .unwrap_or_default();
    if status == 0 {
        return Err(ApiError::Network(
            "the upload did not reach the server".to_string(),
        ));
    }
    if (200..300).contains(&status) {
        return serde_json::from_str(&text).map_err(|error| ApiError::Decode(error.to_string()));
    }
    let status_text = request.status_text().unwrap_or_default();
    let error = ApiError::from_status(status, &text, status_text);
    if error == ApiError::Unauthorized {
        report_unauthorized();
    }
    Err(error)
}

fn script_error(error: JsValue) -> ApiError {
    let cause = error
        .as_string()
        .or_else(|| {
            error
                .dyn_into::<js_sys::Error>()
                .ok()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "the browser refused the request".to_string());
    ApiError::Network(cause)
}
