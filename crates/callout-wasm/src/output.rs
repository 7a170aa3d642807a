//! The JSON that crosses into JavaScript, where `api.js` reads it with `JSON.parse`.
//!
//! Errors, warnings and the catalogue have the fields of the server's JSON API, byte offsets
//! included. Every span also has `utf16Start` and `utf16End`, offsets in UTF-16 code units,
//! because JavaScript strings, `String.prototype.slice` and browser editors count those.

use callout_template::{Error, ErrorKind, Field, Modifier, Part, Template, Warning, WarningKind};
use serde::Serialize;

/// Converts byte offsets into one text to UTF-16 code unit offsets. Offsets requested in
/// increasing order cost one pass over the text in all.
pub(crate) struct Utf16Offsets<'a> {
    text: &'a str,
    ascii: bool,
    byte: usize,
    unit: usize,
}

impl<'a> Utf16Offsets<'a> {
    pub(crate) fn new(text: &'a str) -> Utf16Offsets<'a> {
        Utf16Offsets {
            text,
            ascii: text.is_ascii(),
            byte: 0,
            unit: 0,
        }
    }

    /// Returns the UTF-16 offset of byte `offset`. An offset inside a character counts from
    /// that character's start, and one past the end counts from the end.
    pub(crate) fn of(&mut self, offset: usize) -> usize {
        let mut offset = offset.min(self.text.len());
        if self.ascii {
            return offset;
        }
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        if offset < self.byte {
            self.byte = 0;
            self.unit = 0;
        }
        self.unit += self.text[self.byte..offset].encode_utf16().count();
        self.byte = offset;
        self.unit
    }
}

/// An error as the server's API returns it, plus UTF-16 offsets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorView<'a> {
    kind: ErrorKind,
    message: &'a str,
    field: Field,
    start: usize,
    end: usize,
    utf16_start: usize,
    utf16_end: usize,
    line: usize,
    column: usize,
}

impl<'a> ErrorView<'a> {
    pub(crate) fn new(error: &'a Error, offsets: &mut Utf16Offsets<'_>) -> ErrorView<'a> {
        ErrorView {
            kind: error.kind,
            message: &error.message,
            field: error.field,
            start: error.start,
            end: error.end,
            utf16_start: offsets.of(error.start),
            utf16_end: offsets.of(error.end),
            line: error.line,
            column: error.column,
        }
    }

    /// Views errors that all point into `source`.
    pub(crate) fn all(errors: &'a [Error], source: &str) -> Vec<ErrorView<'a>> {
        let mut offsets = Utf16Offsets::new(source);
        errors
            .iter()
            .map(|error| ErrorView::new(error, &mut offsets))
            .collect()
    }
}

/// A warning as the server's API returns it, plus UTF-16 offsets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WarningView<'a> {
    kind: WarningKind,
    message: &'a str,
    start: usize,
    end: usize,
    utf16_start: usize,
    utf16_end: usize,
    line: usize,
    column: usize,
    replacement: Option<&'a str>,
}

impl<'a> WarningView<'a> {
    pub(crate) fn all(warnings: &'a [Warning], url: &str) -> Vec<WarningView<'a>> {
        let mut offsets = Utf16Offsets::new(url);
        warnings
            .iter()
            .map(|warning| WarningView {
                kind: warning.kind,
                message: &warning.message,
                start: warning.start,
                end: warning.end,
                utf16_start: offsets.of(warning.start),
                utf16_end: offsets.of(warning.end),
                line: warning.line,
                column: warning.column,
                replacement: warning.replacement.as_deref(),
            })
            .collect()
    }
}

/// A literal or an expression of a parsed template.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum PartView<'a> {
    Literal(LiteralView<'a>),
    Expression(ExpressionView<'a>),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LiteralView<'a> {
    start: usize,
    end: usize,
    utf16_start: usize,
    utf16_end: usize,
    /// The text as it is sent, percent-encoded where RFC 6570 requires it.
    encoded: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExpressionView<'a> {
    start: usize,
    end: usize,
    utf16_start: usize,
    utf16_end: usize,
    /// The operator character, or `""` for simple expansion.
    operator: &'static str,
    variables: Vec<VariableView<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VariableView<'a> {
    name: &'a str,
    modifier: ModifierView,
    start: usize,
    end: usize,
    utf16_start: usize,
    utf16_end: usize,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum ModifierView {
    None,
    Prefix { length: u16 },
    Explode,
}

impl PartView<'_> {
    /// Views the parts of `template`, converting offsets in one pass because parts and the
    /// variables inside them come in the order of the text.
    pub(crate) fn all(template: &Template) -> Vec<PartView<'_>> {
        let mut offsets = Utf16Offsets::new(template.source());
        template
            .parts()
            .iter()
            .map(|part| PartView::new(part, &mut offsets))
            .collect()
    }

    fn new<'t>(part: &'t Part, offsets: &mut Utf16Offsets<'_>) -> PartView<'t> {
        match part {
            Part::Literal { span, encoded } => PartView::Literal(LiteralView {
                start: span.start,
                end: span.end,
                utf16_start: offsets.of(span.start),
                utf16_end: offsets.of(span.end),
                encoded,
            }),
            Part::Expression(expression) => {
                let utf16_start = offsets.of(expression.span.start);
                let variables = expression
                    .variables
                    .iter()
                    .map(|variable| VariableView {
                        name: &variable.name,
                        modifier: match variable.modifier {
                            Modifier::None => ModifierView::None,
                            Modifier::Prefix(length) => ModifierView::Prefix { length },
                            Modifier::Explode => ModifierView::Explode,
                        },
                        start: variable.span.start,
                        end: variable.span.end,
                        utf16_start: offsets.of(variable.span.start),
                        utf16_end: offsets.of(variable.span.end),
                    })
                    .collect();
                PartView::Expression(ExpressionView {
                    start: expression.span.start,
                    end: expression.span.end,
                    utf16_start,
                    utf16_end: offsets.of(expression.span.end),
                    operator: expression.operator.as_str(),
                    variables,
                })
            }
        }
    }
}

/// The result of `parse`: the parts, or the errors.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum ParseOutput<'a> {
    Parsed {
        ok: bool,
        parts: Vec<PartView<'a>>,
    },
    Failed {
        ok: bool,
        errors: Vec<ErrorView<'a>>,
    },
}

/// The result of `validate`.
#[derive(Serialize)]
pub(crate) struct ValidationOutput<'a> {
    pub(crate) valid: bool,
    pub(crate) errors: Vec<ErrorView<'a>>,
    pub(crate) warnings: Vec<WarningView<'a>>,
}

/// The value that a failed render throws: the template's errors, or a fault of the bindings.
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum Thrown<'a> {
    Errors { errors: Vec<ErrorView<'a>> },
    Internal { internal: String },
}

/// Serializes `value`, or describes the failure as `{"internal": ...}` JSON. The views contain
/// only strings, numbers and lists, so the failure branch is not expected to run.
pub(crate) fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|error| {
        // Built by hand: `serde_json::json!` would add its `Value` type to the wasm module.
        let message = serde_json::to_string(&format!("serializing the result failed: {error}"))
            .unwrap_or_else(|_| "\"serializing the result failed\"".to_string());
        format!("{{\"internal\":{message}}}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_offsets_table() {
        // "é" is 2 bytes and 1 unit, while "😀" is 4 bytes and 2 units.
        let text = "a\u{e9}b\u{1F600}c";
        let cases = [(0, 0), (1, 1), (3, 2), (4, 3), (8, 5), (9, 6), (100, 6)];
        let mut offsets = Utf16Offsets::new(text);
        for (byte, unit) in cases {
            assert_eq!(offsets.of(byte), unit, "byte {byte}");
        }
        // Going back restarts the count, and an offset inside a character rounds down.
        assert_eq!(offsets.of(2), 1);
        assert_eq!(offsets.of(5), 3);
    }

    #[test]
    fn parts_carry_both_offsets() {
        let template = callout_template::parse("caf\u{e9}/{x:2,y*}").unwrap();
        let json = to_json(&PartView::all(&template));
        let parts: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(parts[0]["type"], "literal");
        assert_eq!(parts[0]["encoded"], "caf%C3%A9/");
        assert_eq!(
            (parts[0]["end"].as_u64(), parts[0]["utf16End"].as_u64()),
            (Some(6), Some(5))
        );
        assert_eq!(parts[1]["type"], "expression");
        assert_eq!(parts[1]["operator"], "");
        assert_eq!(parts[1]["utf16Start"], 5);
        assert_eq!(
            parts[1]["variables"][0]["modifier"],
            serde_json::json!({"type": "prefix", "length": 2})
        );
        assert_eq!(
            parts[1]["variables"][1]["modifier"],
            serde_json::json!({"type": "explode"})
        );
        assert_eq!(parts[1]["variables"][1]["utf16Start"], 10);
    }

    #[test]
    fn catalogue_has_server_shape() {
        let json = to_json(&callout_template::Catalogue::new(["team"]));
        let catalogue: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(catalogue["targets"][0]["name"], "callinglist");
        assert_eq!(
            catalogue["targets"][0]["events"],
            serde_json::json!(["import", "add", "delete"])
        );
        assert_eq!(catalogue["agent_columns"], serde_json::json!(["team"]));
        assert_eq!(catalogue["tags"][0]["scope"], "every");
    }
}
