//! Text for times, durations and rates as the page shows them.

use wasm_bindgen::JsValue;

/// Returns an RFC 3339 UTC time such as `2026-12-04T16:53:03.123Z` as `2026-12-04 16:53:03 UTC`.
/// Text in another shape is returned as it is.
pub fn time(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..19)) {
        (Some(date), Some(clock)) if rfc3339.as_bytes().get(10) == Some(&b'T') => {
            format!("{date} {clock} UTC")
        }
        _ => rfc3339.to_string(),
    }
}

/// Returns milliseconds with one decimal below 10 ms and none above.
pub fn millis(ms: f64) -> String {
    if ms < 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Returns a rate from 0 to 1 as a whole percentage.
pub fn percent(rate: f64) -> String {
    format!("{:.0} %", rate * 100.0)
}

/// Converts the value of a `datetime-local` field, a local time, into an RFC 3339 UTC time.
/// Returns `None` for an empty or invalid value.
pub fn local_to_rfc3339(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    let date = js_sys::Date::new(&JsValue::from_str(value));
    if date.get_time().is_nan() {
        return None;
    }
    Some(String::from(date.to_iso_string()))
}
