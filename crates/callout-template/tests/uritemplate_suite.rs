//! The RFC 6570 test suite (uritemplate-test), read from `shared/corpora/uritemplate-test`
//! beside the checkout. Every case must pass: there is no list of expected failures.

mod suite;

use std::path::Path;

#[test]
fn uritemplate_suite_passes() {
    let dir = suite::suite_dir();
    if !Path::new(&dir).is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "the RFC 6570 suite is missing at {dir}"
        );
        eprintln!("skipped: the RFC 6570 suite is missing at {dir}");
        return;
    }
    for (name, minimum) in suite::FILES {
        let text = std::fs::read_to_string(Path::new(&dir).join(name)).unwrap();
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
