//! Callout's template engine: hook URLs with tags in braces, as RFC 6570 URI Templates.
//!
//! The pipeline is [`parse`] (text to a [`Template`]), [`validate_hook`] (a template checked
//! against the [`Catalogue`] of targets, events and tags) and [`Template::render`] (values in,
//! URL out). The server, the admin page and the npm package all call this crate, so a preview
//! in the browser is byte for byte the URL the server sends.
#![forbid(unsafe_code)]

mod ast;
mod catalogue;
mod encode;
mod error;
mod parse;
mod render;
mod span;
mod validate;

pub use ast::{Expression, Modifier, Operator, Part, Template, Variable};
pub use catalogue::{Catalogue, Event, Tag, TagScope, Target};
pub use error::{Annotated, Error, ErrorKind, Field, Warning, WarningKind};
pub use parse::{parse, parse_parts, MAX_ERRORS};
pub use render::{Value, Variables};
pub use span::Span;
pub use validate::{validate_hook, HookDraft, Report};
