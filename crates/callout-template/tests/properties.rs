//! Properties of parsing and rendering, checked on generated templates and values.

use std::collections::HashMap;

use callout_template::{parse, validate_hook, Catalogue, HookDraft, Value};
use proptest::prelude::*;

/// Characters that give a URL its structure.
const STRUCTURAL: [char; 5] = ['/', '?', '&', '=', '#'];

fn tag_names() -> Vec<&'static str> {
    vec![
        "client.id",
        "client.name",
        "agent.id",
        "agent.name",
        "agent.email",
        "calling_list.id",
    ]
}

/// A template that validates as a `callinglist`/`import` hook.
fn hook_template() -> impl Strategy<Value = String> {
    let literal = "[a-z0-9/?&=._~-]{0,6}";
    let operator = prop::sample::select(vec!["", "?", "&", "/", ".", ";"]);
    let names = prop::sample::subsequence(tag_names(), 1..4);
    let expression =
        (operator, names).prop_map(|(op, names)| format!("{{{op}{}}}", names.join(",")));
    prop::collection::vec((literal, expression), 1..5).prop_map(|pieces| {
        let mut url = "https://example.com/".to_string();
        for (literal, expression) in pieces {
            url.push_str(&literal);
            url.push_str(&expression);
        }
        url
    })
}

/// Values for the tags, each defined or not, with any characters.
fn tag_values() -> impl Strategy<Value = HashMap<String, Value>> {
    let value = prop::option::of(any::<String>());
    prop::collection::vec(value, 6).prop_map(|values| {
        tag_names()
            .into_iter()
            .zip(values)
            .filter_map(|(name, value)| Some((name.to_string(), Value::String(value?))))
            .collect()
    })
}

/// Returns `values` with each character of each value replaced by `x`, so the values are
/// defined, empty and long exactly where the originals are, but contain nothing structural.
fn neutral(values: &HashMap<String, Value>) -> HashMap<String, Value> {
    values
        .iter()
        .map(|(name, value)| {
            let Value::String(text) = value else {
                unreachable!("only strings are generated")
            };
            (
                name.clone(),
                Value::String("x".repeat(text.chars().count())),
            )
        })
        .collect()
}

/// Returns the structural characters of `text`, in order.
fn skeleton(text: &str) -> String {
    text.chars().filter(|c| STRUCTURAL.contains(c)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn rendering_never_panics(source in any::<String>(), value in any::<String>()) {
        if let Ok(template) = parse(&source) {
            let values: HashMap<String, Value> = template
                .variables()
                .map(|variable| (variable.name.clone(), Value::String(value.clone())))
                .collect();
            let _ = template.render(&values);
        }
    }

    #[test]
    fn parse_then_print_gives_template_back(source in "[a-z{}/?&=.,:*+#;%0-9A-F]{0,40}") {
        if let Ok(template) = parse(&source) {
            prop_assert_eq!(template.to_string(), source);
        }
    }

    #[test]
    fn values_never_change_url_structure(url in hook_template(), values in tag_values()) {
        let draft = HookDraft { url: &url, target: "callinglist", event: "import" };
        let report = validate_hook(&draft, &Catalogue::default());
        prop_assert!(report.is_valid(), "{:?}", report.errors);
        let template = report.template.unwrap();

        let rendered = template.render(&values).unwrap();
        let reference = template.render(&neutral(&values)).unwrap();
        prop_assert_eq!(skeleton(&rendered), skeleton(&reference));
    }
}
