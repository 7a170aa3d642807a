use std::fmt;

use crate::span::Span;

/// The kind of problem in a template or a hook. Names start with the subject, so related kinds
/// sort together.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum ErrorKind {
    /// A `}` with no `{` before it.
    BraceUnmatched,
    /// Braces with nothing between them.
    ExpressionEmpty,
    /// A `{` with no `}` after it.
    ExpressionUnclosed,
    /// An operator that RFC 6570 reserves for future use: `=`, `,`, `!`, `@` or `|`.
    ExpressionOperatorReserved,
    /// An operator that hooks do not allow, because it lets values change the URL's structure.
    ExpressionOperatorUnsafe,
    /// A `%` in literal text that does not start a pct-encoded triplet.
    LiteralPercentInvalid,
    /// A hook's event that its target does not have.
    EventUnknown,
    /// A tag that the catalogue does not know.
    TagUnknown,
    /// A known tag that the hook's target and event do not provide.
    TagUnavailable,
    /// A hook's target that the catalogue does not know.
    TargetUnknown,
    /// A host that is not a valid name or address.
    UrlHostInvalid,
    /// A URL without a host, or whose host is only tags.
    UrlHostMissing,
    /// A port that is not a number from 1 to 65535.
    UrlPortInvalid,
    /// A URL that does not start with `http://` or `https://`.
    UrlSchemeInvalid,
    /// A variable name that is empty or contains a character outside RFC 6570's `varname`.
    VariableNameInvalid,
    /// A modifier other than `:1` to `:9999` or `*`, or text after one.
    VariableModifierInvalid,
    /// A prefix modifier applied to a list or map value while rendering.
    ValuePrefixComposite,
}

/// The input of a hook that an error or warning points into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename_all = "lowercase")
)]
pub enum Field {
    /// The URL template.
    Url,
    /// The target name.
    Target,
    /// The event name.
    Event,
}

/// An error with its place: the field, the byte span and the line and column (from 1).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Error {
    /// The kind of problem.
    pub kind: ErrorKind,
    /// A lowercase sentence for a person, without a final period.
    pub message: String,
    /// The input the span points into.
    pub field: Field,
    /// Byte offset where the problem starts.
    pub start: usize,
    /// Byte offset one past where it ends.
    pub end: usize,
    /// Line of `start`, from 1.
    pub line: usize,
    /// Column of `start` in characters, from 1.
    pub column: usize,
}

impl Error {
    pub(crate) fn new(
        kind: ErrorKind,
        field: Field,
        source: &str,
        span: Span,
        message: String,
    ) -> Error {
        let (line, column) = span.line_column(source);
        Error {
            kind,
            message,
            field,
            start: span.start,
            end: span.end,
            line,
            column,
        }
    }

    /// Returns the span of the problem.
    pub fn span(&self) -> Span {
        Span::new(self.start, self.end)
    }

    /// Returns a value whose `Display` prints the message, the line of `source` with the
    /// problem and a caret line under the span, for terminals and logs.
    pub fn annotate<'a>(&'a self, source: &'a str) -> Annotated<'a> {
        Annotated {
            message: &self.message,
            span: self.span(),
            source,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (line {}, column {})",
            self.message, self.line, self.column
        )
    }
}

impl std::error::Error for Error {}

/// The kind of risk in a template that is nevertheless valid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum WarningKind {
    /// Literal text with characters that are sent percent-encoded, such as a raw space.
    LiteralEncoded,
    /// A tag inside the host, which cannot be checked before the hook fires.
    TagInHost,
    /// A query key that appears twice, which receivers read in different ways.
    QueryKeyRepeated,
    /// A tag that may expand to nothing right after `key=`.
    TagMayBeEmpty,
    /// A URL that uses `http`, so the call-out travels unencrypted.
    UrlInsecure,
}

/// A warning with its place, like [`Error`], and the corrected text where there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Warning {
    /// The kind of risk.
    pub kind: WarningKind,
    /// A lowercase sentence for a person, without a final period.
    pub message: String,
    /// Byte offset where the risky text starts.
    pub start: usize,
    /// Byte offset one past where it ends.
    pub end: usize,
    /// Line of `start`, from 1.
    pub line: usize,
    /// Column of `start` in characters, from 1.
    pub column: usize,
    /// Text to put in place of the span, where the fix is known.
    pub replacement: Option<String>,
}

impl Warning {
    pub(crate) fn new(kind: WarningKind, source: &str, span: Span, message: String) -> Warning {
        let (line, column) = span.line_column(source);
        Warning {
            kind,
            message,
            start: span.start,
            end: span.end,
            line,
            column,
            replacement: None,
        }
    }
}

/// A message with the source line it is about and a caret line under its span.
pub struct Annotated<'a> {
    message: &'a str,
    span: Span,
    source: &'a str,
}

impl fmt::Display for Annotated<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let start = self.span.start.min(self.source.len());
        let end = self.span.end.clamp(start, self.source.len());
        let line_start = self.source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.source[start..]
            .find('\n')
            .map_or(self.source.len(), |i| start + i);
        let (line, column) = self.span.line_column(self.source);

        let text = &self.source[line_start..line_end];
        let pad = self.source[line_start..start].chars().count();
        let width = self.source[start..end.min(line_end)].chars().count().max(1);
        writeln!(f, "error: {}", self.message)?;
        writeln!(f, " --> line {line}, column {column}")?;
        writeln!(f, "  | {text}")?;
        write!(f, "  | {}{}", " ".repeat(pad), "^".repeat(width))
    }
}
