//! The RFC 6570 test suite run on the engine compiled to wasm32, in Node through
//! `wasm-bindgen-test-runner`. The suite's files are read with Node's `fs` module.
#![cfg(target_arch = "wasm32")]

#[path = "../../callout-template/tests/suite/mod.rs"]
mod suite;

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen(module = "fs")]
extern "C" {
    #[wasm_bindgen(js_name = readFileSync, catch)]
    fn read_file_sync(path: &str, encoding: &str) -> Result<String, JsValue>;
}

#[wasm_bindgen_test]
fn uritemplate_suite_passes_in_wasm() {
    let dir = suite::suite_dir();
    for (name, minimum) in suite::FILES {
        let path = format!("{dir}/{name}");
        let text = match read_file_sync(&path, "utf8") {
            Ok(text) => text,
            Err(_) => {
                // The test is compiled in the same run that executes it, so the build's
                // environment shows whether this is CI.
                assert!(
                    option_env!("CI") != Some("true"),
                    "the RFC 6570 suite is missing at {path}"
                );
                wasm_bindgen_test::console_log!("skipped: the RFC 6570 suite is missing at {path}");
                return;
            }
        };
        let (failures, count) = suite::run_file(name, &text);
        assert!(
            failures.is_empty(),
            "{} failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(count >= minimum, "{name}: only {count} cases ran");
    }
}
