//! Checks of a whole hook: target, event, tags and the shape of the URL.

use std::collections::HashSet;

use crate::ast::{Expression, Operator, Part, Template};
use crate::catalogue::{Catalogue, Event, Target};
use crate::error::{Error, ErrorKind, Field, Warning, WarningKind};
use crate::parse::{parse_parts, MAX_ERRORS};
use crate::span::Span;

/// A hook as a person enters it, before it is checked.
#[derive(Clone, Copy, Debug)]
pub struct HookDraft<'a> {
    /// The URL template.
    pub url: &'a str,
    /// The target name, such as `callinglist`.
    pub target: &'a str,
    /// The event name, such as `import`.
    pub event: &'a str,
}

/// The outcome of [`validate_hook`].
#[derive(Clone, Debug)]
pub struct Report {
    /// The parsed template, when the URL parses.
    pub template: Option<Template>,
    /// Every error found. A hook with errors is rejected.
    pub errors: Vec<Error>,
    /// Risky parts of the hook, which do not stop it being saved.
    pub warnings: Vec<Warning>,
}

impl Report {
    /// Tells whether the hook can be saved.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks `draft` against `catalogue` and returns every error and warning.
///
/// A valid hook has a known target and event and a URL that parses. The URL starts with
/// `http://` or `https://` and has a host of literal text. It has no `+` or `#` expression,
/// because their values could change the URL's structure, and only tags that its target and
/// event provide.
pub fn validate_hook(draft: &HookDraft<'_>, catalogue: &Catalogue) -> Report {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();

    let target = Target::from_name(draft.target);
    if target.is_none() {
        let names: Vec<_> = Target::ALL.iter().map(|t| format!("`{t}`")).collect();
        errors.push(Error::new(
            ErrorKind::TargetUnknown,
            Field::Target,
            draft.target,
            Span::new(0, draft.target.len()),
            format!(
                "unknown target `{}`: use {}",
                draft.target,
                names.join(" or ")
            ),
        ));
    }
    let event = Event::from_name(draft.event).filter(|event| match target {
        Some(target) => target.events().contains(event),
        None => true,
    });
    if event.is_none() {
        let message = match target {
            Some(target) => {
                let names: Vec<_> = target.events().iter().map(|e| format!("`{e}`")).collect();
                format!(
                    "`{}` is not an event of `{target}`: use {}",
                    draft.event,
                    names.join(", ")
                )
            }
            None => format!("unknown event `{}`", draft.event),
        };
        errors.push(Error::new(
            ErrorKind::EventUnknown,
            Field::Event,
            draft.event,
            Span::new(0, draft.event.len()),
            message,
        ));
    }

    let (parts, parse_errors) = parse_parts(draft.url);
    let template = Template {
        source: draft.url.to_string(),
        parts,
    };
    if !parse_errors.is_empty() {
        // The expressions that did parse are still checked, so one round of fixes can
        // address every problem. Errors stay in the order of the text.
        errors.extend(parse_errors);
        check_expressions(
            &template,
            catalogue,
            target.zip(event),
            &mut errors,
            &mut Vec::new(),
        );
        errors.sort_by_key(|error| (error.field == Field::Url, error.start));
        errors.truncate(MAX_ERRORS);
        return Report {
            template: None,
            errors,
            warnings,
        };
    }

    check_url_shape(&template, &mut errors, &mut warnings);
    check_expressions(
        &template,
        catalogue,
        target.zip(event),
        &mut errors,
        &mut warnings,
    );
    check_literals(&template, &mut warnings);
    check_query_keys(&template, &mut warnings);
    warnings.sort_by_key(|warning| warning.start);
    // Like parse errors, reports are capped: a template with more is broken throughout.
    errors.truncate(MAX_ERRORS);
    warnings.truncate(MAX_ERRORS);
    Report {
        template: Some(template),
        errors,
        warnings,
    }
}

fn url_error(template: &Template, kind: ErrorKind, span: Span, message: String) -> Error {
    Error::new(kind, Field::Url, template.source(), span, message)
}

/// Checks that the URL is absolute, `http` or `https`, with a host that no value can empty.
fn check_url_shape(template: &Template, errors: &mut Vec<Error>, warnings: &mut Vec<Warning>) {
    let source = template.source();
    let first = match template.parts().first() {
        Some(Part::Literal { span, .. }) => &source[span.start..span.end],
        Some(Part::Expression(expression)) => {
            errors.push(url_error(
                template,
                ErrorKind::UrlSchemeInvalid,
                expression.span,
                "the URL must start with `http://` or `https://`, not with a tag".to_string(),
            ));
            return;
        }
        None => "",
    };

    let lower = first.to_ascii_lowercase();
    let scheme_end = if lower.starts_with("https://") {
        8
    } else if lower.starts_with("http://") {
        warnings.push(Warning::new(
            WarningKind::UrlInsecure,
            source,
            Span::new(0, 4),
            "`http` sends the call-out unencrypted: use `https` where the receiver has it"
                .to_string(),
        ));
        7
    } else {
        let message = match first.find("://") {
            Some(end) => format!(
                "scheme `{}` is not supported: use `http` or `https`",
                &first[..end]
            ),
            None => "the URL must be absolute and start with `http://` or `https://`".to_string(),
        };
        let end = first.find("://").unwrap_or(first.len().min(1));
        errors.push(url_error(
            template,
            ErrorKind::UrlSchemeInvalid,
            Span::new(0, end),
            message,
        ));
        return;
    };

    // The authority runs from after `://` to the first `/`, `?` or `#` of literal text.
    let mut literal_host = String::new();
    let mut host_tags: Vec<&Expression> = Vec::new();
    let mut authority_end = source.len();
    'parts: for part in template.parts() {
        match part {
            Part::Literal { span, .. } => {
                let start = span.start.max(scheme_end);
                if start >= span.end {
                    continue;
                }
                for (offset, c) in source[start..span.end].char_indices() {
                    if matches!(c, '/' | '?' | '#') {
                        authority_end = start + offset;
                        break 'parts;
                    }
                    literal_host.push(c);
                }
            }
            Part::Expression(expression) => host_tags.push(expression),
        }
    }

    for expression in host_tags.iter().take(MAX_ERRORS) {
        warnings.push(Warning::new(
            WarningKind::TagInHost,
            source,
            expression.span,
            "a tag in the host means the address cannot be checked until the hook fires"
                .to_string(),
        ));
    }
    let host = host_of(&literal_host);
    if host.is_empty() {
        let message = if host_tags.is_empty() {
            "the URL has no host: write one after `://`, such as `example.com`"
        } else {
            "the host is only tags, which may expand to nothing: add literal text to the host"
        };
        errors.push(url_error(
            template,
            ErrorKind::UrlHostMissing,
            Span::new(scheme_end, authority_end.max(scheme_end)),
            message.to_string(),
        ));
    } else if host_tags.is_empty() {
        let span = Span::new(scheme_end, authority_end.max(scheme_end));
        if let Some(message) = authority_problem(&literal_host) {
            let kind = if message.starts_with("port") {
                ErrorKind::UrlPortInvalid
            } else {
                ErrorKind::UrlHostInvalid
            };
            errors.push(url_error(template, kind, span, message));
        }
    }
}

/// Returns what is wrong with the host or port of an authority written in full, if anything.
fn authority_problem(authority: &str) -> Option<String> {
    let after_user = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(rest) = after_user.strip_prefix('[') {
        let (address, after) = rest.split_once(']')?;
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Some(format!("host `[{address}]` is not a valid IPv6 address"));
        }
        (None, after.strip_prefix(':'))
    } else {
        match after_user.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(after_user), None),
        }
    };
    if let Some(host) = host {
        if !host.is_ascii() {
            return Some(format!(
                "host `{host}` is not ASCII: write an internationalized name in its `xn--` form"
            ));
        }
        if let Some(c) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Some(format!(
                "host `{host}` contains `{c}`, which a host name cannot"
            ));
        }
    }
    match port {
        Some(port) if !port.is_empty() && port.parse::<u16>().map_or(true, |p| p == 0) => Some(
            format!("port `{port}` is invalid: use a number from 1 to 65535"),
        ),
        _ => None,
    }
}

/// Returns the host of the literal text of an authority, without user information and port.
fn host_of(authority: &str) -> &str {
    let after_user = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if after_user.starts_with('[') {
        return after_user;
    }
    after_user
        .split_once(':')
        .map_or(after_user, |(host, _)| host)
}

fn check_expressions(
    template: &Template,
    catalogue: &Catalogue,
    hook: Option<(Target, Event)>,
    errors: &mut Vec<Error>,
    warnings: &mut Vec<Warning>,
) {
    let source = template.source();
    let mut previous_literal = "";
    for part in template.parts() {
        let expression = match part {
            Part::Literal { span, .. } => {
                previous_literal = &source[span.start..span.end];
                continue;
            }
            Part::Expression(expression) => expression,
        };
        if matches!(expression.operator, Operator::Reserved | Operator::Fragment) {
            let operator = expression.operator.as_str();
            errors.push(url_error(
                template,
                ErrorKind::ExpressionOperatorUnsafe,
                Span::new(expression.span.start + 1, expression.span.start + 2),
                format!(
                    "`{operator}` lets values add `/`, `?`, `&` and `#` to the URL, which hooks \
                     do not allow: remove `{operator}`"
                ),
            ));
        }

        for variable in &expression.variables {
            if errors.len() >= MAX_ERRORS || warnings.len() >= MAX_ERRORS {
                return;
            }
            let name_span = Span::new(
                variable.span.start,
                variable.span.start + variable.name.len(),
            );
            let Some(tag) = catalogue.tag(&variable.name) else {
                errors.push(url_error(
                    template,
                    ErrorKind::TagUnknown,
                    name_span,
                    format!("unknown tag `{}`", variable.name),
                ));
                continue;
            };
            if let Some((target, event)) = hook {
                if !tag.is_available(target, event) {
                    errors.push(url_error(
                        template,
                        ErrorKind::TagUnavailable,
                        name_span,
                        format!("`{}` is not available to {target}/{event} hooks", tag.name),
                    ));
                    continue;
                }
            }
            if tag.optional
                && expression.operator == Operator::Simple
                && previous_literal.ends_with('=')
            {
                warnings.push(Warning::new(
                    WarningKind::TagMayBeEmpty,
                    source,
                    expression.span,
                    format!(
                        "`{}` may be undefined, which leaves nothing after `=`: `{{&{}}}` leaves \
                         the pair out instead",
                        tag.name, tag.name
                    ),
                ));
            }
        }
        previous_literal = "";
    }
}

fn check_literals(template: &Template, warnings: &mut Vec<Warning>) {
    let source = template.source();
    for part in template.parts() {
        if let Part::Literal { span, encoded } = part {
            let text = &source[span.start..span.end];
            if encoded != text && warnings.len() < MAX_ERRORS {
                let mut warning = Warning::new(
                    WarningKind::LiteralEncoded,
                    source,
                    *span,
                    format!(
                        "`{text}` has characters that are sent percent-encoded, as `{encoded}`"
                    ),
                );
                warning.replacement = Some(encoded.clone());
                warnings.push(warning);
            }
        }
    }
}

/// Warns about query keys written twice, in literal text or as names of `?` and `&`
/// expressions. A key split between literal text and a tag is not checked.
fn check_query_keys(template: &Template, warnings: &mut Vec<Warning>) {
    let source = template.source();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut in_query = false;
    let mut previous_was_expression = false;
    let repeated = |key: &str, span: Span, seen: &HashSet<&str>, warnings: &mut Vec<Warning>| {
        if seen.contains(key) && warnings.len() < MAX_ERRORS {
            let message =
                format!("query key `{key}` appears twice, which receivers read in different ways");
            warnings.push(Warning::new(
                WarningKind::QueryKeyRepeated,
                source,
                span,
                message,
            ));
        }
    };
    for part in template.parts() {
        match part {
            Part::Literal { span, .. } => {
                let text = &source[span.start..span.end];
                let mut offset = 0;
                if !in_query {
                    match text.find('?') {
                        Some(at) => offset = at + 1,
                        None => {
                            previous_was_expression = false;
                            continue;
                        }
                    }
                    in_query = true;
                } else if previous_was_expression {
                    // The first pair continues the expression's text, so its key is unknown.
                    offset = text.find('&').map_or(text.len(), |at| at + 1);
                }
                let query = &text[offset..];
                let query = &query[..query.find('#').unwrap_or(query.len())];
                let mut pair_start = span.start + offset;
                for pair in query.split('&') {
                    if let Some((key, _)) = pair.split_once('=') {
                        if !key.is_empty() {
                            let key_span = Span::new(pair_start, pair_start + key.len());
                            repeated(key, key_span, &seen, warnings);
                            seen.insert(key);
                        }
                    }
                    pair_start += pair.len() + 1;
                }
                previous_was_expression = false;
            }
            Part::Expression(expression) => {
                if matches!(
                    expression.operator,
                    Operator::Query | Operator::QueryContinuation
                ) {
                    in_query = true;
                    for variable in &expression.variables {
                        repeated(&variable.name, variable.span, &seen, warnings);
                        seen.insert(&variable.name);
                    }
                }
                previous_was_expression = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(url: &str, target: &str, event: &str) -> Report {
        validate_hook(&HookDraft { url, target, event }, &Catalogue::new(["team"]))
    }

    fn error_kinds(report: &Report) -> Vec<(ErrorKind, Field, usize, usize)> {
        report
            .errors
            .iter()
            .map(|e| (e.kind, e.field, e.start, e.end))
            .collect()
    }

    #[test]
    fn valid_hooks_table() {
        let cases = [
            (
                "https://example.com/?agent_id={agent.id}&calling_list_id={calling_list.id}",
                "callinglist",
                "import",
            ),
            (
                "https://example.com/{calling_list.id}",
                "callinglist",
                "delete",
            ),
            (
                "https://example.com/c/{campaign.id}{?campaign.copy_of}",
                "campaigns",
                "create",
            ),
            ("https://example.com/c/{campaign.id}", "campaigns", "delete"),
            (
                "https://user:pw@example.com:8443/x?team={agent.team}",
                "campaigns",
                "delete",
            ),
            ("HTTPS://{client.name}.example.com/", "campaigns", "delete"),
            ("https://[2001:db8::1]:8443/x", "campaigns", "delete"),
            ("https://example.com:/x", "campaigns", "delete"),
        ];
        for (url, target, event) in cases {
            let report = check(url, target, event);
            assert!(report.is_valid(), "{url}: {:?}", report.errors);
        }
    }

    /// An error's kind, field and byte span.
    type Expected = (ErrorKind, Field, usize, usize);

    #[test]
    fn invalid_hooks_table() {
        use ErrorKind::*;
        let cases: &[(&str, &str, &str, &[Expected])] = &[
            (
                "https://x/",
                "lists",
                "import",
                &[(TargetUnknown, Field::Target, 0, 5)],
            ),
            (
                "https://x/",
                "callinglist",
                "create",
                &[(EventUnknown, Field::Event, 0, 6)],
            ),
            (
                "https://x/{agent.nosuch}",
                "callinglist",
                "add",
                &[(TagUnknown, Field::Url, 11, 23)],
            ),
            (
                "https://x/{campaign.id}",
                "callinglist",
                "add",
                &[(TagUnavailable, Field::Url, 11, 22)],
            ),
            (
                "https://x/{campaign.copy_of}",
                "campaigns",
                "delete",
                &[(TagUnavailable, Field::Url, 11, 27)],
            ),
            (
                "https://x/{agent.id",
                "callinglist",
                "add",
                &[(ExpressionUnclosed, Field::Url, 10, 19)],
            ),
            (
                "https://x/agent.id}",
                "callinglist",
                "add",
                &[(BraceUnmatched, Field::Url, 18, 19)],
            ),
            (
                "example.com/{agent.id}",
                "callinglist",
                "add",
                &[(UrlSchemeInvalid, Field::Url, 0, 1)],
            ),
            (
                "ftp://x/{agent.id}",
                "callinglist",
                "add",
                &[(UrlSchemeInvalid, Field::Url, 0, 3)],
            ),
            (
                "{agent.id}",
                "callinglist",
                "add",
                &[(UrlSchemeInvalid, Field::Url, 0, 10)],
            ),
            (
                "https:///{agent.id}",
                "callinglist",
                "add",
                &[(UrlHostMissing, Field::Url, 8, 8)],
            ),
            (
                "https://{client.name}/",
                "callinglist",
                "add",
                &[(UrlHostMissing, Field::Url, 8, 21)],
            ),
            (
                "https://x/{+agent.name}",
                "callinglist",
                "add",
                &[(ExpressionOperatorUnsafe, Field::Url, 11, 12)],
            ),
            (
                "http://127.0.0.1:99999/x",
                "callinglist",
                "add",
                &[(UrlPortInvalid, Field::Url, 7, 22)],
            ),
            (
                "http://exa mple.com/x",
                "callinglist",
                "add",
                &[(UrlHostInvalid, Field::Url, 7, 19)],
            ),
            (
                "https://\u{e9}.com/x",
                "callinglist",
                "add",
                &[(UrlHostInvalid, Field::Url, 8, 14)],
            ),
            (
                "https://[::1x]/",
                "callinglist",
                "add",
                &[(UrlHostInvalid, Field::Url, 8, 14)],
            ),
            (
                "",
                "callinglist",
                "add",
                &[(UrlSchemeInvalid, Field::Url, 0, 0)],
            ),
        ];
        for (url, target, event, expected) in cases {
            assert_eq!(
                error_kinds(&check(url, target, event)),
                *expected,
                "hook {url:?}"
            );
        }
    }

    #[test]
    fn several_errors_are_all_reported() {
        let report = check("https://x/{agent.nosuch}/{campaign.id}/{", "nosuch", "add");
        let kinds: Vec<_> = report.errors.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                ErrorKind::TargetUnknown,
                ErrorKind::TagUnknown,
                ErrorKind::ExpressionUnclosed
            ]
        );

        let report = check(
            "https://x/{agent.nosuch}/{campaign.id}",
            "callinglist",
            "add",
        );
        let kinds: Vec<_> = report.errors.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [ErrorKind::TagUnknown, ErrorKind::TagUnavailable]);
    }

    #[test]
    fn warnings_table() {
        use WarningKind::*;
        let cases: &[(&str, &[WarningKind])] = &[
            ("https://x/{agent.id}", &[]),
            ("http://x/{agent.id}", &[UrlInsecure]),
            ("https://x/a b/{agent.id}", &[LiteralEncoded]),
            ("https://{client.name}.x.com/", &[TagInHost]),
            ("https://x/?copy={campaign.copy_of}", &[TagMayBeEmpty]),
            ("https://x/{?campaign.copy_of}", &[]),
            ("https://x/?a=1&b={agent.id}&a=2", &[QueryKeyRepeated]),
            ("https://x/?agent.id=1{&agent.id}", &[QueryKeyRepeated]),
            ("https://x/?a={agent.id}&b={agent.id}", &[]),
            ("https://x/a=1/?b=1#a=2", &[]),
        ];
        for (url, expected) in cases {
            let report = check(url, "campaigns", "create");
            let kinds: Vec<_> = report.warnings.iter().map(|w| w.kind).collect();
            assert_eq!(kinds, *expected, "hook {url:?}");
        }
    }

    #[test]
    fn encoded_literal_warning_gives_replacement() {
        let report = check("https://x/a b/", "campaigns", "create");
        assert_eq!(
            report.warnings[0].replacement.as_deref(),
            Some("https://x/a%20b/")
        );
    }
}
