//! Template text to [`Template`], following the grammar of RFC 6570 section 2.

use crate::ast::{Expression, Modifier, Operator, Part, Template, Variable};
use crate::encode::{encode_literal, starts_with_triplet};
use crate::error::{Error, ErrorKind, Field};
use crate::span::Span;

/// Errors reported for one template at most. A template with more is broken throughout, and
/// the cap keeps memory bounded for hostile input.
pub const MAX_ERRORS: usize = 100;

/// Parses `source` into a [`Template`], or returns every error found, up to [`MAX_ERRORS`].
///
/// Parsing takes time and memory linear in the length of `source`.
pub fn parse(source: &str) -> Result<Template, Vec<Error>> {
    let (parts, errors) = parse_parts(source);
    if errors.is_empty() {
        Ok(Template {
            source: source.to_string(),
            parts,
        })
    } else {
        Err(errors)
    }
}

/// Parses `source` into the parts that are valid and the errors of the others, so an editor
/// can highlight the valid expressions of a template that also has broken ones.
pub fn parse_parts(source: &str) -> (Vec<Part>, Vec<Error>) {
    let bytes = source.as_bytes();
    let mut parts = Vec::new();
    let mut errors = Vec::new();
    let mut literal_start = 0;
    let mut i = 0;

    while i < bytes.len() && errors.len() < MAX_ERRORS {
        match bytes[i] {
            b'{' => {
                push_literal(source, literal_start, i, &mut parts);
                // An expression ends at the next `}`. A `{` before it means this one is
                // never closed, and stopping there keeps the scan linear.
                let close = bytes[i + 1..]
                    .iter()
                    .position(|&b| b == b'}' || b == b'{')
                    .map(|offset| i + 1 + offset);
                match close {
                    Some(close) if bytes[close] == b'}' => {
                        match parse_expression(source, i, close) {
                            Ok(expression) => parts.push(Part::Expression(expression)),
                            Err(error) => errors.push(error),
                        }
                        i = close + 1;
                    }
                    other => {
                        let end = other.unwrap_or(bytes.len());
                        errors.push(error(
                            ErrorKind::ExpressionUnclosed,
                            source,
                            Span::new(i, end),
                            "`{` is not closed: add `}` after the tag, or write `%7B` for a \
                             literal brace"
                                .to_string(),
                        ));
                        i = end;
                    }
                }
                literal_start = i;
            }
            b'}' => {
                push_literal(source, literal_start, i, &mut parts);
                errors.push(error(
                    ErrorKind::BraceUnmatched,
                    source,
                    Span::new(i, i + 1),
                    "`}` has no matching `{`: remove it, or write `%7D` for a literal brace"
                        .to_string(),
                ));
                i += 1;
                literal_start = i;
            }
            b'%' if !starts_with_triplet(&bytes[i..]) => {
                errors.push(error(
                    ErrorKind::LiteralPercentInvalid,
                    source,
                    Span::new(i, i + 1),
                    "`%` does not start a percent-encoded byte such as `%20`: write `%25` for \
                     a literal percent sign"
                        .to_string(),
                ));
                i += 1;
            }
            _ => i += 1,
        }
    }
    push_literal(source, literal_start, i.min(bytes.len()), &mut parts);
    (parts, errors)
}

fn error(kind: ErrorKind, source: &str, span: Span, message: String) -> Error {
    Error::new(kind, Field::Url, source, span, message)
}

fn push_literal(source: &str, start: usize, end: usize, parts: &mut Vec<Part>) {
    if start < end {
        let span = Span::new(start, end);
        parts.push(Part::Literal {
            span,
            encoded: encode_literal(&source[start..end]),
        });
    }
}

/// Returns the character at byte `at` of `source` and its span.
fn char_at(source: &str, at: usize) -> (char, Span) {
    let c = source[at..].chars().next().unwrap_or('\u{FFFD}');
    (c, Span::new(at, at + c.len_utf8()))
}

/// Parses the expression whose braces are at `open` and `close`.
fn parse_expression(source: &str, open: usize, close: usize) -> Result<Expression, Error> {
    let bytes = source.as_bytes();
    let mut at = open + 1;
    if at == close {
        return Err(error(
            ErrorKind::ExpressionEmpty,
            source,
            Span::new(open, close + 1),
            "`{}` has no variable in it: write a tag such as `{agent.id}`".to_string(),
        ));
    }

    let operator = match bytes[at] {
        b'=' | b',' | b'!' | b'@' | b'|' => {
            return Err(error(
                ErrorKind::ExpressionOperatorReserved,
                source,
                Span::new(at, at + 1),
                format!(
                    "operator `{}` is reserved by RFC 6570 and has no meaning",
                    bytes[at] as char
                ),
            ));
        }
        byte => match Operator::from_byte(byte) {
            Some(operator) => {
                at += 1;
                operator
            }
            None => Operator::Simple,
        },
    };

    let mut variables = Vec::new();
    loop {
        let variable = parse_variable(source, at, close)?;
        at = variable.span.end;
        variables.push(variable);
        if at == close {
            break;
        }
        // `parse_variable` stops only at `}` or `,`.
        at += 1;
    }
    Ok(Expression {
        operator,
        variables,
        span: Span::new(open, close + 1),
    })
}

/// Parses one `varspec` starting at `start`. It ends at `close` or at a `,`.
fn parse_variable(source: &str, start: usize, close: usize) -> Result<Variable, Error> {
    let bytes = source.as_bytes();
    let mut at = start;
    loop {
        if at >= close {
            break;
        }
        let byte = bytes[at];
        if byte.is_ascii_alphanumeric() || byte == b'_' {
            at += 1;
        } else if byte == b'%' {
            if !starts_with_triplet(&bytes[at..close]) {
                let end = (at + 3).min(close);
                return Err(error(
                    ErrorKind::VariableNameInvalid,
                    source,
                    Span::new(at, end),
                    "`%` in a variable name must start a percent-encoded byte such as `%2E`"
                        .to_string(),
                ));
            }
            at += 3;
        } else if byte == b'.' {
            if at == start || bytes[at - 1] == b'.' {
                return Err(error(
                    ErrorKind::VariableNameInvalid,
                    source,
                    Span::new(at, at + 1),
                    "`.` in a variable name must stand between two name characters".to_string(),
                ));
            }
            at += 1;
        } else {
            break;
        }
    }

    if at == start {
        let message = if at == close || bytes[at] == b',' {
            "a variable name is missing".to_string()
        } else {
            let (c, _) = char_at(source, at);
            format!("`{c}` is not allowed in a variable name: use letters, digits, `_` and `.`")
        };
        let span = if at == close {
            Span::new(at, at)
        } else {
            char_at(source, at).1
        };
        return Err(error(ErrorKind::VariableNameInvalid, source, span, message));
    }
    if at < close && !matches!(bytes[at], b',' | b':' | b'*') {
        let (c, span) = char_at(source, at);
        let message =
            format!("`{c}` is not allowed in a variable name: use letters, digits, `_` and `.`");
        return Err(error(ErrorKind::VariableNameInvalid, source, span, message));
    }
    if bytes[at - 1] == b'.' {
        return Err(error(
            ErrorKind::VariableNameInvalid,
            source,
            Span::new(at - 1, at),
            "a variable name cannot end with `.`".to_string(),
        ));
    }
    let name = source[start..at].to_string();

    let mut modifier = Modifier::None;
    if at < close && bytes[at] == b':' {
        let digits_start = at + 1;
        let mut digits_end = digits_start;
        while digits_end < close && bytes[digits_end].is_ascii_digit() {
            digits_end += 1;
        }
        let digits = &source[digits_start..digits_end];
        let length = digits
            .parse::<u16>()
            .ok()
            .filter(|&n| (1..=9999).contains(&n));
        match length {
            Some(length) if !digits.starts_with('0') => modifier = Modifier::Prefix(length),
            _ => {
                let mut end = digits_end;
                while end < close && bytes[end] != b',' {
                    end += 1;
                }
                return Err(error(
                    ErrorKind::VariableModifierInvalid,
                    source,
                    Span::new(at, end),
                    format!(
                        "prefix `{}` is invalid: write `:` and a length from 1 to 9999",
                        &source[at..end]
                    ),
                ));
            }
        }
        at = digits_end;
    } else if at < close && bytes[at] == b'*' {
        modifier = Modifier::Explode;
        at += 1;
    }

    if at < close && bytes[at] != b',' {
        let (c, span) = char_at(source, at);
        let message = format!("`{c}` cannot follow the modifier of `{name}`");
        return Err(error(
            ErrorKind::VariableModifierInvalid,
            source,
            span,
            message,
        ));
    }

    Ok(Variable {
        name,
        modifier,
        span: Span::new(start, at),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<(ErrorKind, usize, usize)> {
        match parse(source) {
            Ok(_) => Vec::new(),
            Err(errors) => errors.iter().map(|e| (e.kind, e.start, e.end)).collect(),
        }
    }

    #[test]
    fn valid_templates_keep_their_parts() {
        let template =
            parse("http://example.com/?agent_id={agent.id}&calling_list_id={calling_list.id}")
                .unwrap();
        let names: Vec<_> = template.variables().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["agent.id", "calling_list.id"]);
        assert_eq!(template.parts().len(), 4);
        let first = template.variables().next().unwrap();
        assert_eq!(first.span, Span::new(30, 38));
    }

    #[test]
    fn operators_and_modifiers_parse() {
        let template = parse("{?a,b*,c:3}{+d}{#e}{.f}{/g}{;h}{&i}").unwrap();
        let Part::Expression(query) = &template.parts()[0] else {
            panic!("not an expression")
        };
        assert_eq!(query.operator, Operator::Query);
        let modifiers: Vec<_> = query.variables.iter().map(|v| v.modifier).collect();
        assert_eq!(
            modifiers,
            [Modifier::None, Modifier::Explode, Modifier::Prefix(3)]
        );
        assert_eq!(template.parts().len(), 7);
    }

    /// An error's kind and byte span.
    type Expected = (ErrorKind, usize, usize);

    #[test]
    fn invalid_templates_table() {
        let cases: &[(&str, &[Expected])] = &[
            (
                "http://x/{agent.id",
                &[(ErrorKind::ExpressionUnclosed, 9, 18)],
            ),
            ("http://x/{a{b}", &[(ErrorKind::ExpressionUnclosed, 9, 11)]),
            ("http://x/a}", &[(ErrorKind::BraceUnmatched, 10, 11)]),
            ("{}", &[(ErrorKind::ExpressionEmpty, 0, 2)]),
            ("{=path}", &[(ErrorKind::ExpressionOperatorReserved, 1, 2)]),
            ("{with space}", &[(ErrorKind::VariableNameInvalid, 5, 6)]),
            ("{x.}", &[(ErrorKind::VariableNameInvalid, 2, 3)]),
            ("{x..y}", &[(ErrorKind::VariableNameInvalid, 3, 4)]),
            ("{.x,}", &[(ErrorKind::VariableNameInvalid, 4, 4)]),
            ("{%2x}", &[(ErrorKind::VariableNameInvalid, 1, 4)]),
            ("{var:0}", &[(ErrorKind::VariableModifierInvalid, 4, 6)]),
            ("{var:01}", &[(ErrorKind::VariableModifierInvalid, 4, 7)]),
            (
                "{var:10000}",
                &[(ErrorKind::VariableModifierInvalid, 4, 10)],
            ),
            ("{hello:2*}", &[(ErrorKind::VariableModifierInvalid, 8, 9)]),
            ("{agent.ñame}", &[(ErrorKind::VariableNameInvalid, 7, 9)]),
            ("100%", &[(ErrorKind::LiteralPercentInvalid, 3, 4)]),
            (
                "}{a",
                &[
                    (ErrorKind::BraceUnmatched, 0, 1),
                    (ErrorKind::ExpressionUnclosed, 1, 3),
                ],
            ),
        ];
        for (source, expected) in cases {
            assert_eq!(kinds(source), *expected, "template {source:?}");
        }
    }

    #[test]
    fn errors_carry_line_and_column() {
        let errors = parse("http://x/\n  {a b}").unwrap_err();
        assert_eq!(errors[0].line, 2);
        assert_eq!(errors[0].column, 5);
    }

    #[test]
    fn parse_then_print_gives_template_back() {
        for source in [
            "http://x/{a}?b={c:2}&d={+e}#f",
            "",
            "plain",
            "caf\u{e9} {x}",
        ] {
            assert_eq!(parse(source).unwrap().to_string(), source);
        }
    }

    #[test]
    fn unclosed_braces_report_capped_errors() {
        let source = "{".repeat(50_000);
        let errors = parse(&source).unwrap_err();
        assert_eq!(errors.len(), MAX_ERRORS);
        assert!(errors
            .iter()
            .all(|e| e.kind == ErrorKind::ExpressionUnclosed));
    }

    #[test]
    fn annotated_error_points_at_span() {
        let source = "http://x/{agent.id";
        let errors = parse(source).unwrap_err();
        let shown = errors[0].annotate(source).to_string();
        assert!(shown.contains("  | http://x/{agent.id\n"), "{shown}");
        assert!(shown.ends_with("  |          ^^^^^^^^^"), "{shown}");
    }
}
