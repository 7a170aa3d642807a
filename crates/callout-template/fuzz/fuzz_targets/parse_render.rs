//! Parses, validates and renders arbitrary bytes. The first byte splits the input into a
//! template and a value given to every variable. Beyond not panicking, a template of simple
//! expansions must render exactly as an independent, plain implementation of RFC 6570
//! section 3.2.2 does.
#![no_main]

use std::collections::HashMap;

use callout_template::{
    parse, validate_hook, Catalogue, HookDraft, Modifier, Operator, Part, Value,
};
use libfuzzer_sys::fuzz_target;

/// Percent-encodes every byte outside `unreserved`.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Renders `parts` with `value` for every variable, or `None` if an operator is not simple.
fn simple_rendering(parts: &[Part], value: &str) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Literal { encoded, .. } => out.push_str(encoded),
            Part::Expression(expression) if expression.operator == Operator::Simple => {
                let pieces: Vec<String> = expression
                    .variables
                    .iter()
                    .map(|variable| match variable.modifier {
                        Modifier::Prefix(length) => {
                            encode(&value.chars().take(usize::from(length)).collect::<String>())
                        }
                        Modifier::None | Modifier::Explode => encode(value),
                    })
                    .collect();
                out.push_str(&pieces.join(","));
            }
            Part::Expression(_) => return None,
        }
    }
    Some(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let split = usize::from(split).min(rest.len());
    let (Ok(template), Ok(value)) = (
        std::str::from_utf8(&rest[..split]),
        std::str::from_utf8(&rest[split..]),
    ) else {
        return;
    };

    for (target, event) in [("callinglist", "import"), ("campaigns", "create")] {
        let draft = HookDraft {
            url: template,
            target,
            event,
        };
        let report = validate_hook(&draft, &Catalogue::new(["team"]));
        for error in &report.errors {
            assert!(error.start <= error.end);
            assert!(error.end <= template.len().max(event.len()));
        }
    }

    let Ok(parsed) = parse(template) else { return };
    assert_eq!(parsed.to_string(), template);
    let values: HashMap<String, Value> = parsed
        .variables()
        .map(|variable| (variable.name.clone(), Value::from(value)))
        .collect();
    let rendered = parsed.render(&values).expect("string values always render");
    if let Some(expected) = simple_rendering(parsed.parts(), value) {
        assert_eq!(rendered, expected);
    }
});
