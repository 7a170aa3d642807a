//! The editor's check of a hook as it is typed: the engine's validation, then a preview of
//! the URL rendered by the same engine the server renders with, cut into the pieces that each
//! part of the template produced.

use std::collections::{BTreeMap, HashMap};

use callout_template::{
    parse, validate_hook, Catalogue, Error, Field, HookDraft, Part, Template, Value, Warning,
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
    /// The same URL cut into the output of each literal and expression, in order.
    pub pieces: Vec<PreviewPiece>,
}

/// The bytes of the preview that one part of the template produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreviewPiece {
    /// The rendered text.
    pub text: String,
    /// The expression as written, such as `{agent.id}`, or `None` for literal text.
    pub expression: Option<String>,
}

/// Returns the sample values a new editor starts with: the agent's own values, then sample ids
/// for object tags. Every tag of `catalogue` has an entry, and `None` marks it undefined.
pub fn sample_values(
    catalogue: &Catalogue,
    agent_values: &BTreeMap<String, String>,
) -> BTreeMap<String, Option<String>> {
    let samples: HashMap<&str, &str> = SAMPLE_OBJECT_VALUES.into_iter().collect();
    catalogue
        .tags()
        .into_iter()
        .map(|tag| {
            let value = agent_values
                .get(&tag.name)
                .cloned()
                .or_else(|| samples.get(tag.name.as_str()).map(|v| v.to_string()));
            (tag.name, value)
        })
        .collect()
}

/// Validates a hook against `catalogue` and, when it is valid, renders its URL with `values`.
/// A tag whose value is `None` or absent is undefined.
pub fn check_hook(
    url: &str,
    target: &str,
    event: &str,
    catalogue: &Catalogue,
    values: &BTreeMap<String, Option<String>>,
) -> Check {
    let report = validate_hook(&HookDraft { url, target, event }, catalogue);
    let mut errors: Vec<Problem> = report.errors.iter().map(problem_of_error).collect();
    let warnings = report.warnings.iter().map(problem_of_warning).collect();

    let mut check = Check {
        warnings,
        ..Check::default()
    };
    if let (Some(template), true) = (&report.template, errors.is_empty()) {
        let variables: HashMap<String, Value> = values
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), Value::from(value.clone()?))))
            .collect();
        match render_pieces(template, &variables) {
            Ok(pieces) => {
                check.preview = Some(pieces.iter().map(|piece| piece.text.as_str()).collect());
                check.pieces = pieces;
            }
            Err(error) => errors.push(problem_of_error(&error)),
        }
    }
    check.errors = errors;
    check
}

/// Renders `template` one part at a time. Each expression is rendered on its own, which gives
/// the same bytes as rendering the whole template, because an expansion depends only on its
/// own expression and values.
pub fn render_pieces(
    template: &Template,
    variables: &HashMap<String, Value>,
) -> Result<Vec<PreviewPiece>, Error> {
    let mut pieces = Vec::with_capacity(template.parts().len());
    for part in template.parts() {
        let piece = match part {
            Part::Literal { encoded, .. } => PreviewPiece {
                text: encoded.clone(),
                expression: None,
            },
            Part::Expression(expression) => {
                let written = &template.source()[expression.span.start..expression.span.end];
                // A part of a valid template parses on its own; should it not, the whole
                // template is rendered as one piece rather than shown wrongly.
                let Ok(alone) = parse(written) else {
                    return template.render(variables).map(|text| {
                        vec![PreviewPiece {
                            text,
                            expression: None,
                        }]
                    });
                };
                PreviewPiece {
                    text: alone.render(variables)?,
                    expression: Some(written.to_string()),
                }
            }
        };
        pieces.push(piece);
    }
    Ok(pieces)
}

/// A run of the URL field's text with one look in the highlighted mirror behind the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Highlight {
    /// The text of the run. Empty for the marker of an error with an empty span.
    pub text: String,
    /// Whether the run is inside an expression that parsed.
    pub expression: bool,
    /// Whether an error covers the run.
    pub error: bool,
    /// Whether a warning covers the run.
    pub warning: bool,
}

/// Cuts `source` into runs where expressions, errors and warnings start and end.
pub fn highlight(source: &str, errors: &[Problem], warnings: &[Problem]) -> Vec<Highlight> {
    let (parts, _) = callout_template::parse_parts(source);
    let expressions: Vec<(usize, usize)> = parts
        .iter()
        .filter_map(|part| match part {
            Part::Expression(expression) => Some((expression.span.start, expression.span.end)),
            Part::Literal { .. } => None,
        })
        .collect();
    let spans = |problems: &[Problem]| -> Vec<(usize, usize)> {
        problems
            .iter()
            .filter(|problem| problem.field == "url")
            .map(|problem| (problem.start, problem.end.max(problem.start)))
            .filter(|(start, end)| {
                *end <= source.len()
                    && source.is_char_boundary(*start)
                    && source.is_char_boundary(*end)
            })
            .collect()
    };
    let error_spans = spans(errors);
    let warning_spans = spans(warnings);

    let mut cuts = vec![0, source.len()];
    for (start, end) in expressions.iter().chain(&error_spans).chain(&warning_spans) {
        cuts.push(*start);
        cuts.push(*end);
    }
    cuts.sort_unstable();
    cuts.dedup();

    let covers = |spans: &[(usize, usize)], start: usize, end: usize| {
        spans
            .iter()
            .any(|(from, to)| from < to && *from <= start && end <= *to)
    };
    let mut runs = Vec::new();
    for (index, &start) in cuts.iter().enumerate() {
        let empty_error = error_spans
            .iter()
            .any(|(from, to)| from == to && *from == start);
        if empty_error {
            runs.push(Highlight {
                text: String::new(),
                expression: false,
                error: true,
                warning: false,
            });
        }
        let Some(&end) = cuts.get(index + 1) else {
            break;
        };
        runs.push(Highlight {
            text: source[start..end].to_string(),
            expression: covers(&expressions, start, end),
            error: covers(&error_spans, start, end),
            warning: covers(&warning_spans, start, end),
        });
    }
    runs
}

/// The tag name being typed after a `{`, which the editor completes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Completion {
    /// Byte offset where the name starts.
    pub start: usize,
    /// The part of the name typed so far.
    pub typed: String,
}

/// Returns the tag name being typed at byte offset `cursor`, when the cursor is inside an
/// unclosed expression: after `{`, an optional operator, and names separated by commas.
pub fn completion_at(source: &str, cursor: usize) -> Option<Completion> {
    let before = source.get(..cursor)?;
    let open = before.rfind('{')?;
    let inside = &before[open + 1..];
    if inside.contains('}') {
        return None;
    }
    let operators = ['+', '#', '.', '/', ';', '?', '&'];
    let skip = usize::from(inside.starts_with(operators));
    let names = &inside[skip..];
    let name_start = names.rfind(',').map_or(0, |comma| comma + 1);
    let typed = &names[name_start..];
    let is_name = typed
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    is_name.then(|| Completion {
        start: open + 1 + skip + name_start,
        typed: typed.to_string(),
    })
}

/// Returns the names of `tags` that complete `typed`: those that start with it first, then
/// those that merely contain it.
pub fn suggestions(tags: &[String], typed: &str) -> Vec<String> {
    let starting = tags.iter().filter(|name| name.starts_with(typed));
    let containing = tags
        .iter()
        .filter(|name| !name.starts_with(typed) && name.contains(typed));
    starting.chain(containing).cloned().collect()
}

/// Returns `source` with the name being typed replaced by `name` and the expression closed,
/// and the byte offset just after the closing brace.
pub fn complete(
    source: &str,
    completion: &Completion,
    cursor: usize,
    name: &str,
) -> (String, usize) {
    let rest = &source[cursor..];
    let closing = if rest.starts_with('}') { "" } else { "}" };
    let text = format!("{}{name}{closing}{rest}", &source[..completion.start]);
    (text, completion.start + name.len() + 1)
}

/// Returns `source` with `{name}` in place of the bytes `start..end`, and the byte offset
/// after it.
pub fn insert_tag(source: &str, start: usize, end: usize, name: &str) -> (String, usize) {
    let start = floor_char_boundary(source, start.min(source.len()));
    let end = floor_char_boundary(source, end.clamp(start, source.len()));
    let inserted = format!("{{{name}}}");
    let text = format!("{}{inserted}{}", &source[..start], &source[end..]);
    (text, start + inserted.len())
}

/// Converts a UTF-16 offset, as text fields count, into a byte offset of `text`.
pub fn byte_offset(text: &str, utf16_offset: usize) -> usize {
    let mut units = 0;
    for (index, c) in text.char_indices() {
        if units >= utf16_offset {
            return index;
        }
        units += c.len_utf16();
    }
    text.len()
}

/// Converts a byte offset of `text` into a UTF-16 offset, as text fields count.
pub fn utf16_offset(text: &str, byte_offset: usize) -> usize {
    let end = floor_char_boundary(text, byte_offset.min(text.len()));
    text[..end].encode_utf16().count()
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
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

    fn values() -> BTreeMap<String, Option<String>> {
        let agent: BTreeMap<String, String> = [
            ("agent.id", "7"),
            ("agent.name", "Zoë Ortiz"),
            ("client.id", "3"),
            ("client.name", "Café & Bar"),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect();
        sample_values(&Catalogue::new(["team"]), &agent)
    }

    fn check(url: &str, target: &str, event: &str) -> Check {
        check_hook(url, target, event, &Catalogue::new(["team"]), &values())
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
    fn edited_value_changes_preview() {
        let mut edited = values();
        edited.insert("calling_list.id".to_string(), Some("42".to_string()));
        edited.insert("agent.id".to_string(), None);
        let checked = check_hook(
            "https://example.com/{calling_list.id}{?agent.id}",
            "callinglist",
            "import",
            &Catalogue::new(["team"]),
            &edited,
        );
        assert_eq!(checked.preview.as_deref(), Some("https://example.com/42"));
    }

    #[test]
    fn pieces_join_to_whole_render() {
        let url = "https://example.com/{calling_list.id}/x?c={client.name}{&agent.id,agent.name}#a";
        let checked = check(url, "callinglist", "delete");
        let template = parse(url).expect("the template parses");
        let variables: HashMap<String, Value> = values()
            .into_iter()
            .filter_map(|(name, value)| Some((name, Value::from(value?))))
            .collect();
        let whole = template.render(&variables).expect("the template renders");
        let joined: String = checked
            .pieces
            .iter()
            .map(|piece| piece.text.as_str())
            .collect();
        assert_eq!(joined, whole);
        let expressions: Vec<_> = checked
            .pieces
            .iter()
            .filter_map(|piece| Some((piece.expression.clone()?, piece.text.clone())))
            .collect();
        assert_eq!(
            expressions,
            [
                ("{calling_list.id}".to_string(), "1234".to_string()),
                (
                    "{client.name}".to_string(),
                    "Caf%C3%A9%20%26%20Bar".to_string()
                ),
                (
                    "{&agent.id,agent.name}".to_string(),
                    "&agent.id=7&agent.name=Zo%C3%AB%20Ortiz".to_string()
                ),
            ]
        );
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

    #[test]
    fn highlight_marks_tags_and_errors() {
        let url = "https://example.com/{agent.id}?x={agent.nosuch}";
        let checked = check(url, "callinglist", "import");
        let runs = highlight(url, &checked.errors, &checked.warnings);
        let joined: String = runs.iter().map(|run| run.text.as_str()).collect();
        assert_eq!(joined, url);
        let tag = runs
            .iter()
            .find(|run| run.text == "{agent.id}")
            .expect("the tag is a run");
        assert!(tag.expression);
        assert!(!tag.error);
        let bad = runs
            .iter()
            .find(|run| run.text.contains("nosuch"))
            .expect("the bad tag is a run");
        assert!(bad.error);
        let literal = runs
            .iter()
            .find(|run| run.text == "https://example.com/")
            .expect("literal");
        assert!(!literal.expression);
        assert!(!literal.error);
    }

    #[test]
    fn highlight_marks_unclosed_brace() {
        let url = "https://example.com/?list={calling_list.id";
        let checked = check(url, "callinglist", "import");
        let runs = highlight(url, &checked.errors, &checked.warnings);
        let last = runs.last().expect("runs");
        assert_eq!(last.text, "{calling_list.id");
        assert!(last.error);
        assert!(!last.expression);
    }

    #[test]
    fn completion_finds_partial_name() {
        let cases = [
            ("https://x/{ag", 13, Some((11, "ag"))),
            ("https://x/{", 11, Some((11, ""))),
            ("https://x/{?agent.id,cl", 23, Some((21, "cl"))),
            ("https://x/{agent.id}", 20, None),
            ("https://x/", 10, None),
            ("https://x/{a b", 14, None),
        ];
        for (source, cursor, expected) in cases {
            let found = completion_at(source, cursor).map(|c| (c.start, c.typed));
            let expected = expected.map(|(start, typed)| (start, typed.to_string()));
            assert_eq!(found, expected, "completion in {source:?} at {cursor}");
        }
    }

    #[test]
    fn complete_closes_expression() {
        let source = "https://x/{ag?y=1";
        let completion = completion_at(source, 13).expect("a completion");
        assert_eq!(
            complete(source, &completion, 13, "agent.id"),
            ("https://x/{agent.id}?y=1".to_string(), 20)
        );
        let source = "https://x/{ag}";
        let completion = completion_at(source, 13).expect("a completion");
        assert_eq!(
            complete(source, &completion, 13, "agent.id"),
            ("https://x/{agent.id}".to_string(), 20)
        );
    }

    #[test]
    fn suggestions_prefer_prefix() {
        let tags = ["agent.id", "client.id", "agent.name"].map(String::from);
        assert_eq!(suggestions(&tags, "agent"), ["agent.id", "agent.name"]);
        assert_eq!(suggestions(&tags, "id"), ["agent.id", "client.id"]);
        assert_eq!(suggestions(&tags, ".id"), ["agent.id", "client.id"]);
    }

    #[test]
    fn insert_tag_replaces_selection() {
        assert_eq!(
            insert_tag("https://x/?a=SEL", 13, 16, "agent.id"),
            ("https://x/?a={agent.id}".to_string(), 23)
        );
    }

    #[test]
    fn offsets_convert_between_utf16_and_bytes() {
        let text = "ü😀x";
        assert_eq!(byte_offset(text, 0), 0);
        assert_eq!(byte_offset(text, 1), 2);
        assert_eq!(byte_offset(text, 3), 6);
        assert_eq!(byte_offset(text, 9), text.len());
        assert_eq!(utf16_offset(text, 6), 3);
        assert_eq!(utf16_offset(text, 2), 1);
    }
}
