//! JavaScript bindings of Callout's template engine. Results cross as plain objects, and
//! errors as data with their kind and span, never as strings alone.
#![forbid(unsafe_code)]

use std::collections::HashMap;

use callout_template::{validate_hook, Catalogue, Error, HookDraft, Value, Warning};
use serde::{Deserialize, Serialize};
use wasm_bindgen::prelude::*;

/// A hook as JavaScript passes it to `validate`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HookInput {
    url: String,
    target: String,
    event: String,
    #[serde(default)]
    agent_columns: Vec<String>,
}

#[derive(Serialize)]
struct ValidationOutput {
    valid: bool,
    errors: Vec<Error>,
    warnings: Vec<Warning>,
}

#[derive(Serialize)]
struct RenderOutput {
    url: Option<String>,
    errors: Vec<Error>,
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|error| JsError::new(&error.to_string()))
}

/// Validates `{url, target, event, agentColumns?}` and returns `{valid, errors, warnings}`.
#[wasm_bindgen]
pub fn validate(hook: JsValue) -> Result<JsValue, JsError> {
    let input: HookInput = serde_wasm_bindgen::from_value(hook)
        .map_err(|error| JsError::new(&format!("invalid hook: {error}")))?;
    let draft = HookDraft { url: &input.url, target: &input.target, event: &input.event };
    let report = validate_hook(&draft, &Catalogue::new(input.agent_columns));
    to_js(&ValidationOutput {
        valid: report.is_valid(),
        errors: report.errors,
        warnings: report.warnings,
    })
}

/// Renders `template` with `values`, an object of strings, and returns `{url, errors}`:
/// `url` is null when the template has errors.
#[wasm_bindgen]
pub fn render(template: &str, values: JsValue) -> Result<JsValue, JsError> {
    let values: HashMap<String, String> = serde_wasm_bindgen::from_value(values)
        .map_err(|error| JsError::new(&format!("invalid values: {error}")))?;
    let values: HashMap<String, Value> =
        values.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
    let output = match callout_template::parse(template) {
        Ok(parsed) => match parsed.render(&values) {
            Ok(url) => RenderOutput { url: Some(url), errors: Vec::new() },
            Err(error) => RenderOutput { url: None, errors: vec![error] },
        },
        Err(errors) => RenderOutput { url: None, errors },
    };
    to_js(&output)
}

/// Returns every tag of a deployment with the extra `agent_columns`.
#[wasm_bindgen]
pub fn catalogue(agent_columns: Vec<String>) -> Result<JsValue, JsError> {
    to_js(&Catalogue::new(agent_columns).tags())
}
