//! The RFC 6570 test suite (uritemplate-test), read from `shared/corpora/uritemplate-test`
//! beside the checkout. Every case must pass: there is no list of expected failures.

use std::collections::HashMap;
use std::path::PathBuf;

use callout_template::{parse, Value};
use serde_json::Value as Json;

fn suite_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/uritemplate-test");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "the RFC 6570 suite is missing at {}",
        dir.display()
    );
    eprintln!("skipped: the RFC 6570 suite is missing at {}", dir.display());
    None
}

fn to_value(json: &Json) -> Option<Value> {
    Some(match json {
        Json::Null => return None,
        Json::String(text) => Value::String(text.clone()),
        Json::Number(number) => Value::String(number.to_string()),
        Json::Bool(flag) => Value::String(flag.to_string()),
        Json::Array(items) => Value::List(items.iter().map(scalar).collect()),
        Json::Object(pairs) => {
            Value::Map(pairs.iter().map(|(key, value)| (key.clone(), scalar(value))).collect())
        }
    })
}

fn scalar(json: &Json) -> String {
    match json {
        Json::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Runs every case of one suite file and returns how many ran.
fn run_file(name: &str) -> usize {
    let Some(dir) = suite_dir() else { return 0 };
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let groups: serde_json::Map<String, Json> = serde_json::from_str(&text).unwrap();
    let mut count = 0;
    for (group, body) in &groups {
        let values: HashMap<String, Value> = body["variables"]
            .as_object()
            .unwrap()
            .iter()
            .filter_map(|(name, json)| to_value(json).map(|value| (name.clone(), value)))
            .collect();
        for case in body["testcases"].as_array().unwrap() {
            let template = case[0].as_str().unwrap();
            let rendered = parse(template).map_err(|_| ()).and_then(|t| t.render(&values).map_err(|_| ()));
            match &case[1] {
                Json::Bool(false) => {
                    assert!(rendered.is_err(), "{name} / {group}: {template:?} must fail, got {rendered:?}")
                }
                Json::String(expected) => {
                    assert_eq!(rendered.as_deref(), Ok(expected.as_str()), "{name} / {group}: {template:?}")
                }
                Json::Array(accepted) => {
                    let rendered = rendered.unwrap_or_else(|_| panic!("{name} / {group}: {template:?} failed"));
                    assert!(
                        accepted.iter().any(|a| a.as_str() == Some(rendered.as_str())),
                        "{name} / {group}: {template:?} gave {rendered:?}, not one of {accepted:?}"
                    );
                }
                other => panic!("{name} / {group}: unexpected expectation {other}"),
            }
            count += 1;
        }
    }
    count
}

#[test]
fn spec_examples_pass() {
    let count = run_file("spec-examples.json");
    assert!(count == 0 || count > 60, "only {count} cases ran");
}

#[test]
fn spec_examples_by_section_pass() {
    let count = run_file("spec-examples-by-section.json");
    assert!(count == 0 || count > 110, "only {count} cases ran");
}

#[test]
fn negative_tests_pass() {
    let count = run_file("negative-tests.json");
    assert!(count == 0 || count > 30, "only {count} cases ran");
}
