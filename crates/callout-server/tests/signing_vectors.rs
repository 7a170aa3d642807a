//! Call-out signatures against the Standard Webhooks test vectors, read from
//! `shared/corpora/standard-webhooks/vectors.md` beside the checkout.

use std::collections::HashMap;
use std::path::PathBuf;

use callout_server::dispatch::signing::sign;

fn vectors() -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/standard-webhooks/vectors.md");
    match std::fs::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cannot read {}: {error}",
                path.display()
            );
            eprintln!("skipped: cannot read {}: {error}", path.display());
            None
        }
    }
}

/// Returns the cells of a Markdown table row, with code quotes removed.
fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|cell| cell.trim().trim_matches('`').to_string())
        .collect()
}

/// Returns the `| field | value |` table of the section whose heading starts with `heading`.
fn field_table(text: &str, heading: &str) -> HashMap<String, String> {
    text.split("\n## ")
        .find(|section| section.starts_with(heading))
        .unwrap_or_else(|| panic!("no section {heading}"))
        .lines()
        .filter(|line| line.starts_with('|'))
        .map(cells)
        .filter(|row| row.len() == 2)
        .map(|row| (row[0].clone(), row[1].clone()))
        .collect()
}

fn body_of(cell: &str) -> String {
    // A body cell may add a note in brackets after the value.
    cell.split(" (")
        .next()
        .unwrap()
        .trim_matches('`')
        .to_string()
}

#[test]
fn signatures_match_the_vectors() {
    let Some(text) = vectors() else { return };
    let mut checked = 0;
    for heading in ["Vector A", "Vector B"] {
        let table = field_table(&text, heading);
        let secret = &table["secret"];
        let id = &table["webhook-id"];
        let timestamp: i64 = table["webhook-timestamp"].parse().unwrap();
        let body = body_of(&table["body"]);
        let expected = &table["signature"];
        assert_eq!(
            sign(secret, id, timestamp, body.as_bytes()).as_ref(),
            Some(expected),
            "{heading}"
        );
        let bare = secret.strip_prefix("whsec_").unwrap();
        assert_eq!(
            sign(bare, id, timestamp, body.as_bytes()).as_ref(),
            Some(expected),
            "{heading} without prefix"
        );
        checked += 1;
    }

    // Vector C reuses A's secret and id, one row per timestamp and body.
    let a = field_table(&text, "Vector A");
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Vector C"))
        .unwrap();
    for row in section.lines().filter(|l| l.starts_with("| `")).map(cells) {
        let timestamp: i64 = row[0].parse().unwrap();
        let body = if row[1] == "(empty)" {
            String::new()
        } else {
            row[1].clone()
        };
        let signature = sign(&a["secret"], &a["webhook-id"], timestamp, body.as_bytes());
        assert_eq!(
            signature.as_deref(),
            Some(row[2].as_str()),
            "vector C at {timestamp}"
        );
        checked += 1;
    }
    assert_eq!(checked, 3);

    // None of the signatures a verifier must reject is what Callout sends for vector A.
    let ours = sign(
        &a["secret"],
        &a["webhook-id"],
        a["webhook-timestamp"].parse().unwrap(),
        body_of(&a["body"]).as_bytes(),
    )
    .unwrap();
    let rejected = text
        .split("\n## ")
        .find(|s| s.starts_with("Cases a verifier must reject"))
        .unwrap();
    let wrong: Vec<&str> = rejected
        .lines()
        .filter_map(|line| line.split('`').nth(1))
        .filter(|s| s.starts_with('v'))
        .collect();
    assert!(wrong.len() >= 3);
    assert!(!wrong.contains(&ours.as_str()));
}
