use crate::span::Span;

/// A parsed template: literal text and expressions, in order, with their spans.
///
/// Parsing happens once; [`Template::render`](crate::Template::render) can then be called
/// with any number of value sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    pub(crate) source: String,
    pub(crate) parts: Vec<Part>,
}

impl Template {
    /// Returns the template text as it was parsed.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Returns the literals and expressions in the order they appear.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Returns every variable of every expression, in order.
    pub fn variables(&self) -> impl Iterator<Item = &Variable> {
        self.parts.iter().flat_map(|part| match part {
            Part::Literal { .. } => [].iter(),
            Part::Expression(expression) => expression.variables.iter(),
        })
    }
}

impl std::fmt::Display for Template {
    /// Prints the template back exactly as it was written.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.source)
    }
}

/// A piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    /// Text outside braces. `encoded` is the text as it is sent: characters that RFC 6570
    /// allows in literals are copied, anything else is percent-encoded as UTF-8.
    Literal { span: Span, encoded: String },
    /// An expression in braces.
    Expression(Expression),
}

/// An expression such as `{agent.id}` or `{?agent.id,calling_list.id}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expression {
    /// The operator after the opening brace.
    pub operator: Operator,
    /// The variables, at least one.
    pub variables: Vec<Variable>,
    /// The span from the opening to the closing brace, both included.
    pub span: Span,
}

/// A variable in an expression, with its modifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variable {
    /// The name as written, pct-encoded triplets included.
    pub name: String,
    /// The modifier after the name: none, a prefix length or an explode mark.
    pub modifier: Modifier,
    /// The span of the name and its modifier.
    pub span: Span,
}

/// A value modifier of RFC 6570 section 2.4.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Modifier {
    /// No modifier.
    None,
    /// `:n`, the first `n` characters of a string value (1 to 9999).
    Prefix(u16),
    /// `*`, each list item or map pair as its own part.
    Explode,
}

/// An expression operator of RFC 6570 section 3.2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    /// `{var}`: simple string expansion.
    Simple,
    /// `{+var}`: reserved expansion, which lets reserved characters through.
    Reserved,
    /// `{#var}`: fragment expansion.
    Fragment,
    /// `{.var}`: label expansion with a dot prefix.
    Label,
    /// `{/var}`: path segments.
    PathSegment,
    /// `{;var}`: path-style parameters.
    PathParameter,
    /// `{?var}`: a query that starts with `?`.
    Query,
    /// `{&var}`: a query continuation that starts with `&`.
    QueryContinuation,
}

impl Operator {
    /// Returns the operator for the character after `{`, if it is one.
    pub(crate) fn from_byte(byte: u8) -> Option<Operator> {
        Some(match byte {
            b'+' => Operator::Reserved,
            b'#' => Operator::Fragment,
            b'.' => Operator::Label,
            b'/' => Operator::PathSegment,
            b';' => Operator::PathParameter,
            b'?' => Operator::Query,
            b'&' => Operator::QueryContinuation,
            _ => return None,
        })
    }

    /// Returns the operator's character, or `""` for simple expansion.
    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Simple => "",
            Operator::Reserved => "+",
            Operator::Fragment => "#",
            Operator::Label => ".",
            Operator::PathSegment => "/",
            Operator::PathParameter => ";",
            Operator::Query => "?",
            Operator::QueryContinuation => "&",
        }
    }

    /// Returns the text written before the first defined value (RFC 6570 appendix A, `first`).
    pub(crate) fn first(self) -> &'static str {
        match self {
            Operator::Simple | Operator::Reserved => "",
            other => other.as_str(),
        }
    }

    /// Returns the text written between values (appendix A, `sep`).
    pub(crate) fn separator(self) -> &'static str {
        match self {
            Operator::Simple | Operator::Reserved | Operator::Fragment => ",",
            Operator::Label => ".",
            Operator::PathSegment => "/",
            Operator::PathParameter => ";",
            Operator::Query | Operator::QueryContinuation => "&",
        }
    }

    /// Tells whether values are written as `name=value` pairs (appendix A, `named`).
    pub(crate) fn named(self) -> bool {
        matches!(
            self,
            Operator::PathParameter | Operator::Query | Operator::QueryContinuation
        )
    }

    /// Returns what follows the name of an empty value (appendix A, `ifemp`).
    pub(crate) fn if_empty(self) -> &'static str {
        match self {
            Operator::Query | Operator::QueryContinuation => "=",
            _ => "",
        }
    }

    /// Tells whether reserved characters and pct-encoded triplets in values pass unencoded
    /// (appendix A, `allow`).
    pub(crate) fn allows_reserved(self) -> bool {
        matches!(self, Operator::Reserved | Operator::Fragment)
    }
}
