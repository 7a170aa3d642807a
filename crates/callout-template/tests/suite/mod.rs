//! Runs the RFC 6570 test suite (uritemplate-test) on the engine. Shared by the native test
//! and the wasm32 test of the bindings crate, which read the files in their own ways.

use std::collections::HashMap;

use callout_template::{parse, Value};
use serde_json::Value as Json;

/// The suite's files, each expected to hold at least this many cases.
pub const FILES: [(&str, usize); 3] = [
    ("spec-examples.json", 60),
    ("spec-examples-by-section.json", 110),
    ("negative-tests.json", 30),
];

/// Returns the folder of the suite: `shared/corpora/uritemplate-test` beside the checkout.
pub fn suite_dir() -> String {
    format!(
        "{}/../../../shared/corpora/uritemplate-test",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn to_value(json: &Json) -> Option<Value> {
    Some(match json {
        Json::Null => return None,
        Json::Array(items) => Value::List(items.iter().map(scalar).collect()),
        Json::Object(pairs) => Value::Map(
            pairs
                .iter()
                .map(|(key, value)| (key.clone(), scalar(value)))
                .collect(),
        ),
        other => Value::String(scalar(other)),
    })
}

fn scalar(json: &Json) -> String {
    match json {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Runs every case of the suite file `name` whose text is `text`, and returns the failures
/// and the number of cases run.
pub fn run_file(name: &str, text: &str) -> (Vec<String>, usize) {
    let groups: serde_json::Map<String, Json> = serde_json::from_str(text).unwrap();
    let mut failures = Vec::new();
    let mut count = 0;
    for (group, body) in &groups {
        let values: HashMap<String, Value> = body["variables"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(name, json)| to_value(json).map(|value| (name.clone(), value)))
            .collect();
        for case in body["testcases"].as_array().unwrap() {
            count += 1;
            let template = case[0].as_str().unwrap();
            let rendered = parse(template)
                .ok()
                .and_then(|parsed| parsed.render(&values).ok());
            let passed = match (&case[1], &rendered) {
                (Json::Bool(false), rendered) => rendered.is_none(),
                (Json::String(expected), Some(rendered)) => expected == rendered,
                (Json::Array(accepted), Some(rendered)) => accepted
                    .iter()
                    .any(|a| a.as_str() == Some(rendered.as_str())),
                _ => false,
            };
            if !passed {
                failures.push(format!(
                    "{name} / {group}: {template:?} gave {rendered:?}, expected {}",
                    case[1]
                ));
            }
        }
    }
    (failures, count)
}
