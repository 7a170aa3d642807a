//! Expansion of a parsed template with a set of values, as RFC 6570 appendix A describes.

use std::collections::{BTreeMap, HashMap};

use crate::ast::{Expression, Modifier, Part, Template, Variable};
use crate::encode::push_value;
use crate::error::{Error, ErrorKind, Field};

/// The value of a variable. A variable that is absent is undefined, and so are an empty list
/// and an empty map; an empty string is defined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A string.
    String(String),
    /// An ordered list of strings.
    List(Vec<String>),
    /// Ordered name and value pairs.
    Map(Vec<(String, String)>),
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::String(value.to_string())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::String(value)
    }
}

/// A source of variable values for rendering.
pub trait Variables {
    /// Returns the value of the variable `name` as written in the template, or `None` where
    /// it is undefined.
    fn get(&self, name: &str) -> Option<&Value>;
}

impl Variables for HashMap<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        HashMap::get(self, name)
    }
}

impl Variables for BTreeMap<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        BTreeMap::get(self, name)
    }
}

impl Variables for [(String, Value)] {
    fn get(&self, name: &str) -> Option<&Value> {
        self.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }
}

impl Template {
    /// Renders the template with `values`.
    ///
    /// Rendering is a single pass: a value is encoded and written once, and is never read
    /// again as template text, so a value such as `{agent.id}` arrives as `%7Bagent.id%7D`.
    /// The only error is a prefix modifier on a list or map value.
    pub fn render<V: Variables + ?Sized>(&self, values: &V) -> Result<String, Error> {
        let mut out = String::with_capacity(self.source.len() + 32);
        self.render_to(values, &mut out)?;
        Ok(out)
    }

    /// Renders like [`Template::render`], appending to `out`.
    pub fn render_to<V: Variables + ?Sized>(
        &self,
        values: &V,
        out: &mut String,
    ) -> Result<(), Error> {
        for part in &self.parts {
            match part {
                Part::Literal { encoded, .. } => out.push_str(encoded),
                Part::Expression(expression) => self.expand(expression, values, out)?,
            }
        }
        Ok(())
    }

    fn expand<V: Variables + ?Sized>(
        &self,
        expression: &Expression,
        values: &V,
        out: &mut String,
    ) -> Result<(), Error> {
        let operator = expression.operator;
        let allow_reserved = operator.allows_reserved();
        let mut first = true;
        for variable in &expression.variables {
            let Some(value) = values.get(&variable.name) else {
                continue;
            };
            let defined = match value {
                Value::String(_) => true,
                Value::List(items) => !items.is_empty(),
                Value::Map(pairs) => !pairs.is_empty(),
            };
            if !defined {
                continue;
            }
            out.push_str(if first {
                operator.first()
            } else {
                operator.separator()
            });
            first = false;

            let name = variable.name.as_str();
            match value {
                Value::String(text) => {
                    if operator.named() {
                        out.push_str(name);
                        if text.is_empty() {
                            out.push_str(operator.if_empty());
                            continue;
                        }
                        out.push('=');
                    }
                    let text = match variable.modifier {
                        Modifier::Prefix(length) => prefix(text, usize::from(length)),
                        _ => text.as_str(),
                    };
                    push_value(out, text, allow_reserved);
                }
                Value::List(items) => {
                    self.reject_prefix(variable)?;
                    let explode = variable.modifier == Modifier::Explode;
                    if operator.named() && !explode {
                        out.push_str(name);
                        out.push('=');
                    }
                    for (index, item) in items.iter().enumerate() {
                        if index > 0 {
                            out.push_str(if explode { operator.separator() } else { "," });
                        }
                        if operator.named() && explode {
                            out.push_str(name);
                            if item.is_empty() {
                                out.push_str(operator.if_empty());
                                continue;
                            }
                            out.push('=');
                        }
                        push_value(out, item, allow_reserved);
                    }
                }
                Value::Map(pairs) => {
                    self.reject_prefix(variable)?;
                    let explode = variable.modifier == Modifier::Explode;
                    if operator.named() && !explode {
                        out.push_str(name);
                        out.push('=');
                    }
                    for (index, (key, item)) in pairs.iter().enumerate() {
                        if index > 0 {
                            out.push_str(if explode { operator.separator() } else { "," });
                        }
                        push_value(out, key, allow_reserved);
                        if explode {
                            if operator.named() && item.is_empty() {
                                out.push_str(operator.if_empty());
                                continue;
                            }
                            out.push('=');
                        } else {
                            out.push(',');
                        }
                        push_value(out, item, allow_reserved);
                    }
                }
            }
        }
        Ok(())
    }

    fn reject_prefix(&self, variable: &Variable) -> Result<(), Error> {
        if let Modifier::Prefix(_) = variable.modifier {
            return Err(Error::new(
                ErrorKind::ValuePrefixComposite,
                Field::Url,
                &self.source,
                variable.span,
                format!(
                    "`{}` is a list or map, which a prefix modifier cannot shorten",
                    variable.name
                ),
            ));
        }
        Ok(())
    }
}

/// Returns the first `length` characters of `text`, never splitting a UTF-8 sequence.
fn prefix(text: &str, length: usize) -> &str {
    match text.char_indices().nth(length) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse;

    fn values(pairs: &[(&str, Value)]) -> HashMap<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn hook_renderings_table() {
        let vals = values(&[
            ("agent.id", "7".into()),
            ("agent.name", "José & Ana".into()),
            ("client.name", "Acme Calls+Co #1/2 50%".into()),
            ("calling_list.id", "42".into()),
            ("campaign.copy_of", "".into()),
            ("evil", "{agent.id}".into()),
        ]);
        let cases = [
            (
                "http://example.com/?agent_id={agent.id}&calling_list_id={calling_list.id}",
                "http://example.com/?agent_id=7&calling_list_id=42",
            ),
            ("https://x/{agent.name}", "https://x/Jos%C3%A9%20%26%20Ana"),
            (
                "https://x/?c={client.name}",
                "https://x/?c=Acme%20Calls%2BCo%20%231%2F2%2050%25",
            ),
            ("https://x/?v={evil}", "https://x/?v=%7Bagent.id%7D"),
            ("https://x/?copy={campaign.copy_of}", "https://x/?copy="),
            (
                "https://x/{?agent.id,missing,calling_list.id}",
                "https://x/?agent.id=7&calling_list.id=42",
            ),
            (
                "https://x/{?campaign.copy_of}",
                "https://x/?campaign.copy_of=",
            ),
            (
                "https://x/{;campaign.copy_of}",
                "https://x/;campaign.copy_of",
            ),
            ("https://x/{agent.name:4}", "https://x/Jos%C3%A9"),
            ("https://x/a b", "https://x/a%20b"),
        ];
        for (source, expected) in cases {
            let template = parse(source).unwrap();
            assert_eq!(
                template.render(&vals).unwrap(),
                expected,
                "template {source:?}"
            );
        }
    }

    #[test]
    fn composite_values_expand() {
        let vals = values(&[
            ("list", Value::List(vec!["red".into(), "green".into()])),
            (
                "keys",
                Value::Map(vec![
                    ("semi".into(), ";".into()),
                    ("dot".into(), ".".into()),
                ]),
            ),
            ("empty_list", Value::List(Vec::new())),
        ]);
        let cases = [
            ("{list}", "red,green"),
            ("{list*}", "red,green"),
            ("{?list*}", "?list=red&list=green"),
            ("{keys}", "semi,%3B,dot,."),
            ("{keys*}", "semi=%3B,dot=."),
            ("{;keys*}", ";semi=%3B;dot=."),
            ("{?empty_list}", ""),
        ];
        for (source, expected) in cases {
            assert_eq!(
                parse(source).unwrap().render(&vals).unwrap(),
                expected,
                "{source}"
            );
        }
    }

    #[test]
    fn prefix_on_map_is_error() {
        let vals = values(&[("keys", Value::Map(vec![("a".into(), "b".into())]))]);
        let error = parse("{keys:1}").unwrap().render(&vals).unwrap_err();
        assert_eq!(error.kind, ErrorKind::ValuePrefixComposite);
        assert_eq!((error.start, error.end), (1, 7));
    }
}
