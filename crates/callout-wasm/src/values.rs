//! Values that the JavaScript side packs into one string, so a render crosses into wasm with
//! one string instead of one boundary call per value.
//!
//! The packed form, written by `packSlots` in the package's `api.js`, is one entry per
//! variable name of the template, in the order of [`Names`]:
//!
//! ```text
//! entry   = "u"                          ; undefined
//!         / "s" string                   ; a string
//!         / "l" count *string            ; a list of `count` strings
//!         / "m" count *(string string)   ; a map of `count` key and value pairs
//! string  = length ":" text              ; `length` counts UTF-16 code units of `text`
//! count   = 1*DIGIT ":"
//! ```
//!
//! Lengths count UTF-16 code units because that is what JavaScript's `length` returns without
//! scanning the text.

use std::collections::HashMap;

use callout_template::{Value, Variables};

/// Lists of names at most this long are searched in order. Longer ones use a hash map, so a
/// template with thousands of names still renders in linear time.
const LINEAR_LOOKUP_MAX: usize = 8;

/// A reader over packed values.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(text: &'a str) -> Reader<'a> {
        Reader { text, at: 0 }
    }

    fn malformed(&self, problem: &str) -> String {
        format!("packed values are malformed at byte {}: {problem}", self.at)
    }

    fn is_done(&self) -> bool {
        self.at == self.text.len()
    }

    /// Reads digits up to a `:`.
    fn number(&mut self) -> Result<usize, String> {
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut number: usize = 0;
        while let Some(&byte) = bytes.get(self.at) {
            if byte == b':' && self.at > start {
                self.at += 1;
                return Ok(number);
            }
            if !byte.is_ascii_digit() {
                break;
            }
            number = number
                .checked_mul(10)
                .and_then(|n| n.checked_add(usize::from(byte - b'0')))
                .ok_or_else(|| self.malformed("a length overflows"))?;
            self.at += 1;
        }
        Err(self.malformed("expected digits and `:`"))
    }

    /// Reads a length and then that many UTF-16 code units of text.
    fn string(&mut self) -> Result<&'a str, String> {
        let units = self.number()?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        let mut counted = 0;
        while counted < units {
            match bytes.get(self.at) {
                Some(byte) if byte.is_ascii() => {
                    self.at += 1;
                    counted += 1;
                }
                Some(_) => {
                    let c = self.text[self.at..].chars().next().unwrap_or_default();
                    self.at += c.len_utf8();
                    counted += c.len_utf16();
                }
                None => return Err(self.malformed("a string ends early")),
            }
        }
        if counted != units {
            return Err(self.malformed("a length splits a surrogate pair"));
        }
        Ok(&self.text[start..self.at])
    }

    /// Reads one entry: `None` for undefined, or a value.
    fn entry(&mut self) -> Result<Option<Value>, String> {
        let tag = self.text.as_bytes().get(self.at).copied();
        self.at += 1;
        match tag {
            Some(b'u') => Ok(None),
            Some(b's') => Ok(Some(Value::String(self.string()?.to_string()))),
            Some(b'l') => {
                let count = self.number()?;
                let mut items = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    items.push(self.string()?.to_string());
                }
                Ok(Some(Value::List(items)))
            }
            Some(b'm') => {
                let count = self.number()?;
                let mut pairs = Vec::with_capacity(count.min(1024));
                for _ in 0..count {
                    let key = self.string()?.to_string();
                    pairs.push((key, self.string()?.to_string()));
                }
                Ok(Some(Value::Map(pairs)))
            }
            _ => {
                self.at -= 1;
                Err(self.malformed("expected `u`, `s`, `l` or `m`"))
            }
        }
    }
}

/// The values of a compiled template's variables, one slot per name.
pub(crate) struct Slots<'a> {
    names: &'a Names,
    values: Vec<Option<Value>>,
}

impl<'a> Slots<'a> {
    /// Decodes one entry for each of `names` from `packed`.
    pub(crate) fn decode(names: &'a Names, packed: &str) -> Result<Slots<'a>, String> {
        let mut reader = Reader::new(packed);
        let mut values = Vec::with_capacity(names.list.len());
        for _ in &names.list {
            values.push(reader.entry()?);
        }
        if !reader.is_done() {
            return Err(reader.malformed("text after the last entry"));
        }
        Ok(Slots { names, values })
    }
}

impl Variables for Slots<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let index = self.names.position(name)?;
        self.values[index].as_ref()
    }
}

/// The distinct variable names of a template, in order of first appearance.
pub(crate) struct Names {
    list: Vec<String>,
    /// Positions by name, built only for lists longer than [`LINEAR_LOOKUP_MAX`].
    index: Option<HashMap<String, usize>>,
}

impl Names {
    pub(crate) fn new<'n>(names: impl Iterator<Item = &'n str>) -> Names {
        let mut distinct = Names {
            list: Vec::new(),
            index: None,
        };
        for name in names {
            if distinct.position(name).is_some() {
                continue;
            }
            distinct.list.push(name.to_string());
            if let Some(index) = &mut distinct.index {
                index.insert(name.to_string(), distinct.list.len() - 1);
            } else if distinct.list.len() > LINEAR_LOOKUP_MAX {
                let positions = distinct
                    .list
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, n)| (n, i));
                distinct.index = Some(positions.collect());
            }
        }
        distinct
    }

    pub(crate) fn list(&self) -> &[String] {
        &self.list
    }

    fn position(&self, name: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(name).copied(),
            None => self.list.iter().position(|known| known == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Names {
        Names::new(list.iter().copied())
    }

    #[test]
    fn entries_decode_table() {
        let cases: &[(&str, Option<Value>)] = &[
            ("u", None),
            ("s0:", Some(Value::String(String::new()))),
            ("s5:a:b,c", Some(Value::String("a:b,c".into()))),
            ("s4:Jos\u{e9}", Some(Value::String("Jos\u{e9}".into()))),
            // An emoji is two UTF-16 code units and four UTF-8 bytes.
            ("s3:\u{1F600}!", Some(Value::String("\u{1F600}!".into()))),
            (
                "l2:1:a3:b c",
                Some(Value::List(vec!["a".into(), "b c".into()])),
            ),
            ("l0:", Some(Value::List(Vec::new()))),
            (
                "m1:1:k1:v",
                Some(Value::Map(vec![("k".into(), "v".into())])),
            ),
        ];
        for (packed, expected) in cases {
            let names = names(&["x"]);
            let slots = Slots::decode(&names, packed).unwrap();
            assert_eq!(slots.get("x"), expected.as_ref(), "packed {packed:?}");
        }
    }

    #[test]
    fn malformed_packs_are_errors() {
        let cases = [
            "",
            "s",
            "s3:ab",
            "s:a",
            "x",
            "s1:ab",
            "l2:1:a",
            "s99999999999999999999999:a",
        ];
        for packed in cases {
            let names = names(&["x"]);
            assert!(Slots::decode(&names, packed).is_err(), "packed {packed:?}");
        }
    }

    #[test]
    fn length_splitting_surrogate_pair_is_error() {
        let names = names(&["x"]);
        assert!(Slots::decode(&names, "s1:\u{1F600}").is_err());
    }

    #[test]
    fn names_keep_first_appearance() {
        let names = names(&["b", "a", "b", "c"]);
        assert_eq!(names.list(), ["b", "a", "c"]);
        let slots = Slots::decode(&names, "s1:1us1:3").unwrap();
        assert_eq!(slots.get("b"), Some(&Value::String("1".into())));
        assert_eq!(slots.get("a"), None);
        assert_eq!(slots.get("missing"), None);
    }

    #[test]
    fn many_names_use_the_index() {
        let list: Vec<String> = (0..20).chain(5..15).map(|i| format!("v{i}")).collect();
        let names = Names::new(list.iter().map(String::as_str));
        assert_eq!(names.list().len(), 20);
        assert!(names.index.is_some());
        let packed: String = (0..20)
            .map(|i| format!("s{}:{i}", i.to_string().len()))
            .collect();
        let slots = Slots::decode(&names, &packed).unwrap();
        assert_eq!(slots.get("v17"), Some(&Value::String("17".into())));
    }
}
