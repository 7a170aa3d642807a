//! JavaScript bindings of Callout's template engine, for the npm package `@callout/template`.
//!
//! The package's `api.js` is the only caller of these exports. It checks the types of what
//! users pass and packs render values into one string (see [`values`]). Results cross as JSON
//! text (see [`output`]), because one string per call is cheaper than building objects field
//! by field across the boundary. Template errors are data with a kind and a span, never only a
//! message.
#![forbid(unsafe_code)]

mod output;
mod values;

use callout_template::{parse, validate_hook, Catalogue, Error, Field, HookDraft, Template};
use wasm_bindgen::prelude::*;

use crate::output::{
    to_json, ErrorView, ParseOutput, PartView, Thrown, Utf16Offsets, ValidationOutput, WarningView,
};
use crate::values::{Names, Slots};

/// Parses `template` and returns the JSON of `{ok: true, parts}` or `{ok: false, errors}`.
#[wasm_bindgen(js_name = parseJson)]
pub fn parse_json(template: &str) -> String {
    match parse(template) {
        Ok(parsed) => to_json(&ParseOutput::Parsed {
            ok: true,
            parts: PartView::all(&parsed),
        }),
        Err(errors) => to_json(&ParseOutput::Failed {
            ok: false,
            errors: ErrorView::all(&errors, template),
        }),
    }
}

/// Validates a hook against the catalogue of a deployment with the extra `agent_columns`, and
/// returns the JSON of `{valid, errors, warnings}`.
#[wasm_bindgen(js_name = validateJson)]
pub fn validate_json(url: &str, target: &str, event: &str, agent_columns: Vec<String>) -> String {
    let draft = HookDraft { url, target, event };
    let report = validate_hook(&draft, &Catalogue::new(agent_columns));

    // Each error's offsets count in the field it points into.
    let mut url_offsets = Utf16Offsets::new(url);
    let mut target_offsets = Utf16Offsets::new(target);
    let mut event_offsets = Utf16Offsets::new(event);
    let errors = report
        .errors
        .iter()
        .map(|error| {
            let offsets = match error.field {
                Field::Url => &mut url_offsets,
                Field::Target => &mut target_offsets,
                Field::Event => &mut event_offsets,
            };
            ErrorView::new(error, offsets)
        })
        .collect();
    to_json(&ValidationOutput {
        valid: report.is_valid(),
        errors,
        warnings: WarningView::all(&report.warnings, url),
    })
}

/// Returns the JSON of the catalogue of a deployment with the extra `agent_columns`, in the
/// shape of the server's `GET /api/catalogue`.
#[wasm_bindgen(js_name = catalogueJson)]
pub fn catalogue_json(agent_columns: Vec<String>) -> String {
    to_json(&Catalogue::new(agent_columns))
}

/// A parsed template kept in wasm memory, so each render skips parsing.
#[wasm_bindgen]
pub struct Compiled {
    template: Template,
    names: Names,
}

#[wasm_bindgen]
impl Compiled {
    /// Parses `source`, or throws the JSON of `{errors}`.
    #[wasm_bindgen(constructor)]
    pub fn new(source: &str) -> Result<Compiled, JsValue> {
        compile(source).map_err(JsValue::from)
    }

    /// Returns the distinct variable names in order of first appearance, joined by commas:
    /// the order in which [`Compiled::render_packed`] expects their values. A name never
    /// contains a comma, and one string crosses into JavaScript faster than a list of them.
    pub fn names(&self) -> String {
        self.names.list().join(",")
    }

    /// Renders with one packed entry per name. Throws the JSON of `{errors}` when a value
    /// does not fit its variable.
    #[wasm_bindgen(js_name = renderPacked)]
    pub fn render_packed(&self, packed: &str) -> Result<String, JsValue> {
        self.render_slots(packed).map_err(JsValue::from)
    }
}

impl Compiled {
    fn render_slots(&self, packed: &str) -> Result<String, String> {
        let slots = Slots::decode(&self.names, packed).map_err(internal)?;
        self.template
            .render(&slots)
            .map_err(|error| template_errors(&[error], &self.template))
    }
}

fn compile(source: &str) -> Result<Compiled, String> {
    let template = parse(source).map_err(|errors| {
        to_json(&Thrown::Errors {
            errors: ErrorView::all(&errors, source),
        })
    })?;
    let names = Names::new(template.variables().map(|variable| variable.name.as_str()));
    Ok(Compiled { template, names })
}

fn template_errors(errors: &[Error], template: &Template) -> String {
    to_json(&Thrown::Errors {
        errors: ErrorView::all(errors, template.source()),
    })
}

fn internal(message: String) -> String {
    to_json(&Thrown::Internal { internal: message })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn compiled_renders_packed_values() {
        let compiled = compile("https://x/{a}{?b,a}").unwrap();
        assert_eq!(compiled.names(), "a,b");
        assert_eq!(
            compiled.render_slots("s3:J&Jl2:1:x1:y").unwrap(),
            "https://x/J%26J?b=x,y&a=J%26J"
        );
        assert_eq!(compiled.render_slots("uu").unwrap(), "https://x/");
    }

    #[test]
    fn compile_errors_are_json() {
        let thrown = json(&compile("https://x/{a").err().unwrap());
        assert_eq!(thrown["errors"][0]["kind"], "ExpressionUnclosed");
        assert_eq!(thrown["errors"][0]["field"], "url");
        assert_eq!(thrown["errors"][0]["start"], 10);
    }

    #[test]
    fn prefix_on_list_throws_errors() {
        let compiled = compile("{list:2}").unwrap();
        let thrown = json(&compiled.render_slots("l1:1:a").unwrap_err());
        assert_eq!(thrown["errors"][0]["kind"], "ValuePrefixComposite");
    }

    #[test]
    fn malformed_pack_is_internal() {
        let compiled = compile("{a}").unwrap();
        let thrown = json(&compiled.render_slots("s9:a").unwrap_err());
        assert!(thrown["internal"].as_str().unwrap().contains("malformed"));
    }

    #[test]
    fn parse_json_both_shapes() {
        let parsed = json(&parse_json("a{b}"));
        assert_eq!(parsed["ok"], true);
        assert_eq!(parsed["parts"].as_array().unwrap().len(), 2);
        let failed = json(&parse_json("\u{e9}}"));
        assert_eq!(failed["ok"], false);
        assert_eq!(failed["errors"][0]["start"], 2);
        assert_eq!(failed["errors"][0]["utf16Start"], 1);
    }

    #[test]
    fn validate_offsets_follow_field() {
        let report = json(&validate_json(
            "https://x/{agent.nosuch}",
            "l\u{e9}sts",
            "add",
            vec![],
        ));
        assert_eq!(report["valid"], false);
        let errors = report["errors"].as_array().unwrap();
        assert_eq!(errors[0]["field"], "target");
        assert_eq!(
            (errors[0]["end"].as_u64(), errors[0]["utf16End"].as_u64()),
            (Some(6), Some(5))
        );
        assert_eq!(errors[1]["field"], "url");
        assert_eq!(errors[1]["kind"], "TagUnknown");
    }

    #[test]
    fn warnings_carry_replacement() {
        let report = json(&validate_json(
            "http://x/a b",
            "campaigns",
            "create",
            vec![],
        ));
        assert_eq!(report["valid"], true);
        let warnings = report["warnings"].as_array().unwrap();
        assert_eq!(warnings[0]["kind"], "UrlInsecure");
        assert_eq!(warnings[0]["replacement"], serde_json::Value::Null);
        assert_eq!(warnings[1]["kind"], "LiteralEncoded");
        assert_eq!(warnings[1]["replacement"], "http://x/a%20b");
    }
}
