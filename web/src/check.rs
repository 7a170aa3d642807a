//! The editor's check of a hook as it is typed: the engine's validation, then a preview of
//! the URL rendered by the same engine the server renders with.

use std::collections::{BTreeMap, HashMap};

use callout_template::{
    validate_hook, Catalogue, Error, Event, Field, HookDraft, Target, Value, Warning,
};

use crate::api::Problem;

/// Sample ids for the tags of the object an event is about, which exist only when a hook
/// fires. `campaign.copy_of` is left out on purpose: the preview shows it undefined, as it is
/// for a campaign that copies no other.
pub const SAMPLE_OBJECT_VALUES: [(&str, &str); 2] =
    [("calling_list.id", "1234"), ("campaign.id", "5678")];

/// The outcome of checking a hook in the page.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Check {
    /// The errors that stop the hook being saved.
    pub errors: Vec<Problem>,
    /// Risky parts of the URL, which do not stop it being saved.
    pub warnings: Vec<Problem>,
    /// The URL the hook would call, when it has no errors.
    pub preview: Option<String>,
}

/// Validates a hook against `catalogue` and, when it is valid, renders its URL with the
/// agent's `values` plus the sample object values that the target and event provide.
pub fn check_hook(
    url: &str,
    target: &str,
    event: &str,
    catalogue: &Catalogue,
    values: &BTreeMap<String, String>,
) -> Check {
    let report = validate_hook(&HookDraft { url, target, event }, catalogue);
    let mut errors: Vec<Problem> = report.errors.iter().map(problem_of_error).collect();
    let warnings = report.warnings.iter().map(problem_of_warning).collect();

    let preview = match (&report.template, errors.is_empty()) {
        (Some(template), true) => {
            let variables = preview_values(target, event, catalogue, values);
            match template.render(&variables) {
                Ok(rendered) => Some(rendered),
                Err(error) => {
                    errors.push(problem_of_error(&error));
                    None
                }
            }
        }
        _ => None,
    };
    Check {
        errors,
        warnings,
        preview,
    }
}

/// Returns the values a preview renders with.
fn preview_values(
    target: &str,
    event: &str,
    catalogue: &Catalogue,
    values: &BTreeMap<String, String>,
) -> HashMap<String, Value> {
    let mut variables: HashMap<String, Value> = values
        .iter()
        .map(|(name, value)| (name.clone(), Value::from(value.as_str())))
        .collect();

    let hook = Target::from_name(target).zip(Event::from_name(event));
    for (name, sample) in SAMPLE_OBJECT_VALUES {
        let available = match (hook, catalogue.tag(name)) {
            (Some((target, event)), Some(tag)) => tag.is_available(target, event),
            _ => false,
        };
        if available {
            variables.insert(name.to_string(), Value::from(sample));
        }
    }
    variables
}

fn problem_of_error(error: &Error) -> Problem {
    let field = match error.field {
        Field::Url => "url",
        Field::Target => "target",
        Field::Event => "event",
    };
    Problem {
        kind: format!("{:?}", error.kind),
        message: error.message.clone(),
        field: field.to_string(),
        start: error.start,
        end: error.end,
        line: error.line,
        column: error.column,
        replacement: None,
    }
}

fn problem_of_warning(warning: &Warning) -> Problem {
    Problem {
        kind: format!("{:?}", warning.kind),
        message: warning.message.clone(),
        field: "url".to_string(),
        start: warning.start,
        end: warning.end,
        line: warning.line,
        column: warning.column,
        replacement: warning.replacement.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_values() -> BTreeMap<String, String> {
        [
            ("agent.id", "7"),
            ("agent.name", "Zoë Ortiz"),
            ("client.id", "3"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
    }

    fn check(url: &str, target: &str, event: &str) -> Check {
        check_hook(
            url,
            target,
            event,
            &Catalogue::new(["team"]),
            &agent_values(),
        )
    }

    #[test]
    fn preview_uses_agent_and_sample_values() {
        let checked = check(
            "https://example.com/h?agent={agent.id}&who={agent.name}&list={calling_list.id}",
            "callinglist",
            "import",
        );
        assert_eq!(checked.errors, []);
        assert_eq!(
            checked.preview.as_deref(),
            Some("https://example.com/h?agent=7&who=Zo%C3%AB%20Ortiz&list=1234")
        );
    }

    #[test]
    fn preview_leaves_copy_of_undefined() {
        let checked = check(
            "https://example.com/c/{campaign.id}{?campaign.copy_of}",
            "campaigns",
            "create",
        );
        assert_eq!(checked.errors, []);
        assert_eq!(
            checked.preview.as_deref(),
            Some("https://example.com/c/5678")
        );
    }

    #[test]
    fn preview_lacks_undefined_agent_column() {
        let checked = check("https://example.com/?t={agent.team}", "callinglist", "add");
        assert_eq!(checked.preview.as_deref(), Some("https://example.com/?t="));
    }

    #[test]
    fn unknown_tag_is_url_error() {
        let checked = check(
            "https://example.com/{agent.nosuch}",
            "callinglist",
            "import",
        );
        assert_eq!(checked.preview, None);
        assert_eq!(checked.errors.len(), 1);
        let error = &checked.errors[0];
        assert_eq!(error.kind, "TagUnknown");
        assert_eq!(error.field, "url");
        assert_eq!((error.start, error.end), (21, 33));
        assert_eq!((error.line, error.column), (1, 22));
    }

    #[test]
    fn unknown_target_is_target_error() {
        let checked = check("https://example.com/", "nosuch", "import");
        assert_eq!(checked.preview, None);
        let fields: Vec<&str> = checked.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["target"]);
    }

    #[test]
    fn warning_keeps_replacement() {
        let checked = check("https://example.com/ü", "callinglist", "import");
        assert_eq!(checked.errors, []);
        let encoded = checked.warnings.iter().find(|w| w.kind == "LiteralEncoded");
        let encoded = encoded.expect("a literal `ü` is reported as encoded");
        assert_eq!(
            encoded.replacement.as_deref(),
            Some("https://example.com/%C3%BC")
        );
        assert_eq!(
            checked.preview.as_deref(),
            Some("https://example.com/%C3%BC")
        );
    }
}
