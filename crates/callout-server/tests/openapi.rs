//! The OpenAPI description in `openapi.json` stays true. It lists exactly the routes that the
//! router serves, and the handlers' responses match its statuses, media types, headers and
//! schemas. Responses are validated with the `jsonschema` crate, in JSON Schema 2020-12 (the
//! dialect of OpenAPI 3.1) with `format` checked, so no hand-written check can drift from
//! what the description states.

#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse;
use callout_server::error::ApiError;
use common::{
    agent_of, client_with_agent, csv_body, fixture, json_body, small_limits, Description, Fixture,
    Kind, RequestBody,
};
use serde_json::{json, Value};
use tower::ServiceExt;

on_both_databases!(
    every_operation_responds_as_described,
    json_bodies_must_be_objects,
    nul_characters_are_rejected,
);

// ---------------------------------------------------------------------------------------------
// Routes

/// Returns every `METHOD /path` that the source of the router declares. These are the
/// `.route(...)` calls of the API modules, nested under `/api`, and of the metrics module, at
/// the root. Each `.route(` must be one this reads, so a route added in a new form fails here.
fn routes_in_source() -> BTreeSet<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let cli = std::fs::read_to_string(src.join("cli.rs")).unwrap();
    assert!(
        cli.contains(".nest(\"/api\", api::router("),
        "cli.rs no longer nests the API under /api"
    );
    assert!(
        cli.contains(".merge(crate::metrics::router())"),
        "cli.rs no longer merges the metrics routes"
    );
    let api_mod = std::fs::read_to_string(src.join("api/mod.rs")).unwrap();

    let mut files = vec![(src.join("metrics.rs"), "")];
    for entry in std::fs::read_dir(src.join("api")).unwrap() {
        let path = entry.unwrap().path();
        let module = path.file_stem().unwrap().to_str().unwrap().to_string();
        if module == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(".route(") {
            assert!(
                api_mod.contains(&format!("{module}::router()")),
                "api/{module}.rs declares routes that api/mod.rs does not merge"
            );
        }
        files.push((path, "/api"));
    }

    let mut routes = BTreeSet::new();
    for (file, prefix) in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for (index, _) in text.match_indices(".route(") {
            let call = &text[index + ".route(".len()..];
            let (path, methods) = parse_route_call(call).unwrap_or_else(|| {
                panic!(
                    "cannot read the route call at byte {index} of {}",
                    file.display()
                )
            });
            assert!(
                !methods.is_empty(),
                "the route {path} in {} has no method",
                file.display()
            );
            for method in methods {
                routes.insert(format!("{method} {prefix}{path}"));
            }
        }
    }
    routes
}

/// Reads the arguments of one `.route("PATH", get(a).post(b))` call, from just after its
/// opening parenthesis, and returns the path and the methods.
fn parse_route_call(call: &str) -> Option<(String, Vec<String>)> {
    let call = call.trim_start().strip_prefix('"')?;
    let (path, rest) = call.split_once('"')?;

    // The method router runs up to the parenthesis that closes the call.
    let mut depth = 1;
    let mut end = None;
    for (offset, character) in rest.char_indices() {
        match character {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    end = Some(offset);
                    break;
                }
            }
            _ => {}
        }
    }
    let router = &rest[..end?];

    let mut methods = Vec::new();
    for method in [
        "get", "post", "put", "delete", "patch", "head", "options", "trace",
    ] {
        let called = router.match_indices(&format!("{method}(")).any(|(at, _)| {
            let before = router[..at].chars().next_back();
            before.is_none_or(|character| !character.is_alphanumeric() && character != '_')
        });
        if called {
            methods.push(method.to_uppercase());
        }
    }
    Some((path.to_string(), methods))
}

#[test]
fn route_calls_are_read() {
    let (path, methods) =
        parse_route_call(r#""/hooks/{id}", get(read).put(update).delete(remove))"#).unwrap();
    assert_eq!(path, "/hooks/{id}");
    assert_eq!(methods, ["GET", "PUT", "DELETE"]);
    let (_, methods) = parse_route_call(r#""/x", post(target_get))"#).unwrap();
    assert_eq!(methods, ["POST"]);
}

#[test]
fn description_lists_every_route_and_nothing_else() {
    let served = routes_in_source();
    let described = Description::load().labels();
    let undescribed: Vec<_> = served.difference(&described).collect();
    let unserved: Vec<_> = described.difference(&served).collect();
    assert!(
        undescribed.is_empty(),
        "routes missing from openapi.json: {undescribed:?}"
    );
    assert!(
        unserved.is_empty(),
        "openapi.json describes routes the router lacks: {unserved:?}"
    );
    assert!(
        served.len() >= 32,
        "only {} routes were found in the source",
        served.len()
    );
}

/// Asks the running router about every described operation and every other method of each
/// described path: the first must reach a handler, the others must return 405.
#[tokio::test]
async fn router_serves_each_described_operation() {
    let f = fixture(Kind::Sqlite, small_limits()).await.unwrap();
    let probe = |method: &str, path: &str| {
        let uri = path.replace("{id}", "1");
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let app = f.app.clone();
        async move { app.oneshot(request).await.unwrap().status() }
    };

    for operation in &f.description.operations {
        let status = probe(&operation.method, &operation.path).await;
        // Without a token, a route that needs one returns 401 before it reads anything else.
        let expected = if operation.public {
            StatusCode::OK
        } else {
            StatusCode::UNAUTHORIZED
        };
        assert_eq!(status, expected, "{} without a token", operation.label());
    }

    let paths: BTreeSet<&str> = f
        .description
        .operations
        .iter()
        .map(|operation| operation.path.as_str())
        .collect();
    for path in paths {
        for method in ["GET", "POST", "PUT", "DELETE", "PATCH"] {
            if f.description.find(method, path).is_some() {
                continue;
            }
            let status = probe(method, path).await;
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} is served but not described"
            );
        }
    }
}

#[tokio::test]
async fn served_description_is_the_file() {
    let f = fixture(Kind::Sqlite, small_limits()).await.unwrap();
    let served = f
        .expect(200, "GET", "/api/openapi.json", None, RequestBody::Empty)
        .await;
    let file: Value = serde_json::from_slice(
        &std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(served, file);
}

/// The description's own consistency: every reference resolves, every schema is valid JSON
/// Schema 2020-12, every operation has a unique id, and every path parameter is declared.
#[test]
fn description_is_consistent() {
    let description = Description::load();
    let document = &description.document;
    assert_eq!(document["openapi"], "3.1.0");

    let mut references = Vec::new();
    collect_references(document, &mut references);
    assert!(
        references.len() > 100,
        "only {} references found",
        references.len()
    );
    for reference in &references {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(
            document.pointer(pointer).is_some(),
            "unresolved reference {reference}"
        );
    }

    for (name, schema) in document["components"]["schemas"].as_object().unwrap() {
        let root = json!({ "components": document["components"], "allOf": [schema] });
        if let Err(error) = jsonschema::draft202012::meta::validate(&root) {
            panic!("schema {name} is invalid: {error}");
        }
        assert!(
            jsonschema::draft202012::new(&root).is_ok(),
            "schema {name} does not compile"
        );
    }

    let mut ids = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in common::METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_string()), "operationId {id} appears twice");

            let mut declared = Vec::new();
            for parameters in [&item["parameters"], &operation["parameters"]] {
                for parameter in parameters.as_array().into_iter().flatten() {
                    let parameter = match parameter["$ref"].as_str() {
                        Some(reference) => document.pointer(&reference[1..]).unwrap(),
                        None => parameter,
                    };
                    if parameter["in"] == "path" {
                        declared.push(parameter["name"].as_str().unwrap().to_string());
                    }
                }
            }
            for segment in path.split('/').filter(|segment| segment.starts_with('{')) {
                let name = segment.trim_start_matches('{').trim_end_matches('}');
                assert!(
                    declared.iter().any(|declared| declared == name),
                    "{method} {path} does not declare `{name}`"
                );
            }
        }
    }
}

fn collect_references(value: &Value, references: &mut Vec<String>) {
    match value {
        Value::Object(fields) => {
            if let Some(Value::String(reference)) = fields.get("$ref") {
                references.push(reference.clone());
            }
            fields
                .values()
                .for_each(|field| collect_references(field, references));
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_references(item, references)),
        _ => {}
    }
}

/// The description check itself rejects what it should, so a passing tour means something.
#[test]
fn description_check_rejects_wrong_responses() {
    let description = Description::load();
    let json = {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("content-type", "application/json".parse().unwrap());
        headers
    };
    let campaign = br#"{"id":1,"name":"a","copy_of":null,"created_at":"2026-12-04T10:00:00.000Z"}"#;
    assert!(description
        .check("GET", "/api/campaigns/1", 200, &json, campaign)
        .is_ok());

    let cases: [(&str, &str, u16, &[u8], &str); 7] = [
        ("GET", "/api/campaigns/1", 418, campaign, "does not list status"),
        ("GET", "/api/campaigns/1", 200, br#"{"id":1,"name":"a","copy_of":null}"#, "created_at"),
        ("GET", "/api/campaigns/1", 200, br#"{"id":"1","name":"a","copy_of":null,"created_at":"2026-12-04T10:00:00.000Z"}"#, "integer"),
        ("GET", "/api/campaigns/1", 200, br#"{"id":1,"name":"a","copy_of":null,"created_at":"yesterday"}"#, "date-time"),
        ("GET", "/api/campaigns/1", 200, br#"{"id":1,"name":"a","copy_of":null,"created_at":"2026-12-04T10:00:00.000Z","extra":1}"#, "extra"),
        ("GET", "/api/campaigns/1", 404, br#"{"code":"forbidden","detail":"x"}"#, "not_found"),
        ("GET", "/api/nosuch", 200, b"{}", "no operation"),
    ];
    for (method, uri, status, body, expected) in cases {
        let error = description
            .check(method, uri, status, &json, body)
            .unwrap_err();
        assert!(error.contains(expected), "{method} {uri} {status}: {error}");
    }
    let error = description
        .check("DELETE", "/api/hooks/1", 204, &json, b"{}")
        .unwrap_err();
    assert!(error.contains("a body where none is described"), "{error}");
    let error = description
        .check(
            "GET",
            "/api/me",
            429,
            &json,
            br#"{"code":"too_many_attempts","detail":"x","retry_after":3}"#,
        )
        .unwrap_err();
    assert!(error.contains("Retry-After"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// Responses

/// A URL that the address guard refuses (loopback), so the call-outs of the tour fail without
/// any packet leaving the machine.
const REFUSED: &str = "http://127.0.0.1:9";

/// Calls every operation on its success path and on its main errors, each response checked
/// against the description, then checks that every operation's success was among them.
async fn every_operation_responds_as_described(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let (client_id, admin) = client_with_agent(&f.pool, "Owner", "owner-admin", true).await;
    let agent = agent_of(&f.pool, client_id, "owner-agent", false).await;
    let (_, stranger) = client_with_agent(&f.pool, "Stranger", "stranger-admin", true).await;
    let admin = Some(admin.as_str());
    let agent = Some(agent.as_str());
    let stranger = Some(stranger.as_str());

    for path in ["/healthz", "/readyz", "/metrics", "/api/openapi.json"] {
        f.expect(200, "GET", path, None, RequestBody::Empty).await;
    }
    let me = f
        .expect(200, "GET", "/api/me", admin, RequestBody::Empty)
        .await;
    assert_eq!(me["client"]["id"], client_id);
    let catalogue = f
        .expect(200, "GET", "/api/catalogue", admin, RequestBody::Empty)
        .await;
    assert_eq!(catalogue["agent_columns"], json!(["team"]));
    f.expect(401, "GET", "/api/me", None, RequestBody::Empty)
        .await;

    agents_and_tokens(&f, admin, agent, stranger).await;
    let hooks = hooks(&f, admin, stranger).await;
    let list_id = calling_lists(&f, admin).await;
    campaigns(&f, admin).await;
    deliveries(&f, admin, hooks).await;

    f.expect(
        204,
        "DELETE",
        &format!("/api/calling-lists/{list_id}"),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "DELETE",
        &format!("/api/calling-lists/{list_id}"),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        204,
        "DELETE",
        &format!("/api/hooks/{}", hooks.signed),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "DELETE",
        &format!("/api/hooks/{}", hooks.signed),
        admin,
        RequestBody::Empty,
    )
    .await;
    too_many_attempts(&f).await;

    // A database that no longer responds: readiness fails, and API calls are server errors.
    f.pool.close().await;
    f.expect(503, "GET", "/readyz", None, RequestBody::Empty)
        .await;
    let body = f
        .expect(500, "GET", "/api/hooks", admin, RequestBody::Empty)
        .await;
    assert_eq!(body["code"], "internal");

    let checked = f.checked.lock().unwrap().clone();
    for operation in &f.description.operations {
        let succeeded = checked
            .iter()
            .any(|(label, status)| *label == operation.label() && *status < 300);
        assert!(
            succeeded,
            "the tour never saw {} succeed",
            operation.label()
        );
    }
    let statuses: BTreeSet<u16> = checked.iter().map(|(_, status)| *status).collect();
    for status in [400, 401, 403, 404, 413, 422, 429, 500, 503] {
        assert!(
            statuses.contains(&status),
            "the tour never saw status {status}"
        );
    }
}

async fn agents_and_tokens(
    f: &Fixture,
    admin: Option<&str>,
    agent: Option<&str>,
    stranger: Option<&str>,
) {
    let new_agent = json!({
        "username": "jane", "name": "Jane Doe", "email": "jane@example.com", "lang": "en",
        "is_admin": false, "columns": { "team": "blue" },
    });
    let jane = f
        .expect(
            201,
            "POST",
            "/api/agents",
            admin,
            json_body(new_agent.clone()),
        )
        .await;
    assert!(jane["token"]
        .as_str()
        .is_some_and(|token| token.starts_with("co_")));
    let duplicate = f
        .expect(422, "POST", "/api/agents", admin, json_body(new_agent))
        .await;
    assert_eq!(duplicate["code"], "request_invalid");
    f.expect(
        403,
        "POST",
        "/api/agents",
        agent,
        json_body(json!({ "username": "x" })),
    )
    .await;
    f.expect(
        400,
        "POST",
        "/api/agents",
        admin,
        json_body(json!({ "username": "x", "role": "boss" })),
    )
    .await;
    let too_large = json!({ "username": "x".repeat(5000) });
    let body = f
        .expect(413, "POST", "/api/agents", admin, json_body(too_large))
        .await;
    assert_eq!(body["limit"], 4096);
    let agents = f
        .expect(200, "GET", "/api/agents", admin, RequestBody::Empty)
        .await;
    assert_eq!(agents.as_array().unwrap().len(), 3);
    let own = f
        .expect(200, "GET", "/api/agents", agent, RequestBody::Empty)
        .await;
    assert_eq!(own.as_array().unwrap().len(), 1);

    let token = f
        .expect(
            201,
            "POST",
            "/api/tokens",
            admin,
            json_body(json!({ "label": "script" })),
        )
        .await;
    let for_jane = json!({ "agent_id": jane["id"], "label": null });
    f.expect(
        201,
        "POST",
        "/api/tokens",
        admin,
        json_body(for_jane.clone()),
    )
    .await;
    f.expect(
        403,
        "POST",
        "/api/tokens",
        agent,
        json_body(for_jane.clone()),
    )
    .await;
    f.expect(404, "POST", "/api/tokens", stranger, json_body(for_jane))
        .await;
    let tokens = f
        .expect(200, "GET", "/api/tokens", admin, RequestBody::Empty)
        .await;
    assert_eq!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .filter(|token| token["current"] == true)
            .count(),
        1
    );
    let path = format!("/api/tokens/{}", token["id"]);
    f.expect(204, "DELETE", &path, admin, RequestBody::Empty)
        .await;
    f.expect(404, "DELETE", &path, admin, RequestBody::Empty)
        .await;
}

/// The ids of the hooks the tour keeps.
#[derive(Clone, Copy)]
struct Hooks {
    /// A signed `callinglist/import` hook.
    signed: i64,
    /// A `campaigns/create` hook sent with POST.
    posted: i64,
}

async fn hooks(f: &Fixture, admin: Option<&str>, stranger: Option<&str>) -> Hooks {
    let signed = json!({
        "url": format!("{REFUSED}/import?list={{calling_list.id}}"),
        "target": "callinglist", "event": "import", "signed": true,
    });
    let signed = f
        .expect(201, "POST", "/api/hooks", admin, json_body(signed))
        .await;
    assert!(signed["secret"].is_string());
    let posted = json!({
        "url": format!("{REFUSED}/campaign?id={{campaign.id}}&copy={{campaign.copy_of}}"),
        "target": "campaigns", "event": "create", "method": "POST", "enabled": true,
    });
    let posted = f
        .expect(201, "POST", "/api/hooks", admin, json_body(posted))
        .await;
    assert!(
        !posted["warnings"].as_array().unwrap().is_empty(),
        "an http URL warns: {posted}"
    );
    let invalid =
        json!({ "url": "https://x/{agent.nosuch}/{", "target": "callinglist", "event": "add" });
    let body = f
        .expect(422, "POST", "/api/hooks", admin, json_body(invalid))
        .await;
    assert_eq!(body["code"], "hook_invalid");
    let long = json!({ "url": format!("https://example.com/{}", "a".repeat(200)), "target": "campaigns", "event": "create" });
    let body = f
        .expect(422, "POST", "/api/hooks", admin, json_body(long))
        .await;
    assert_eq!(body["code"], "limit_reached");
    let method = json!({ "url": "https://example.com/", "target": "campaigns", "event": "create", "method": "PATCH" });
    let body = f
        .expect(422, "POST", "/api/hooks", admin, json_body(method))
        .await;
    assert_eq!(body["code"], "request_invalid");

    let (signed, posted) = (
        signed["id"].as_i64().unwrap(),
        posted["id"].as_i64().unwrap(),
    );
    let listed = f
        .expect(200, "GET", "/api/hooks", admin, RequestBody::Empty)
        .await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    f.expect(
        200,
        "GET",
        &format!("/api/hooks/{signed}"),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "GET",
        &format!("/api/hooks/{signed}"),
        stranger,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "GET",
        "/api/hooks/not-a-number",
        admin,
        RequestBody::Empty,
    )
    .await;

    let update = json!({ "url": format!("{REFUSED}/campaign?id={{campaign.id}}"), "target": "campaigns", "event": "create", "method": "POST", "enabled": true });
    let updated = f
        .expect(
            200,
            "PUT",
            &format!("/api/hooks/{posted}"),
            admin,
            json_body(update.clone()),
        )
        .await;
    assert!(updated.get("secret").is_none());
    f.expect(
        404,
        "PUT",
        &format!("/api/hooks/{posted}"),
        stranger,
        json_body(update),
    )
    .await;
    let invalid = json!({ "url": "ftp://x/", "target": "campaigns", "event": "create" });
    f.expect(
        422,
        "PUT",
        &format!("/api/hooks/{posted}"),
        admin,
        json_body(invalid),
    )
    .await;

    let rotated = f
        .expect(
            200,
            "POST",
            &format!("/api/hooks/{signed}/secret"),
            admin,
            RequestBody::Empty,
        )
        .await;
    assert!(rotated["previous_valid_until"].is_string());
    let first = f
        .expect(
            200,
            "POST",
            &format!("/api/hooks/{posted}/secret"),
            admin,
            RequestBody::Empty,
        )
        .await;
    assert!(first["previous_valid_until"].is_null());

    // An update can remove a hook's secrets, and sign it again with a new one.
    let base = json!({ "url": format!("{REFUSED}/campaign?id={{campaign.id}}"), "target": "campaigns", "event": "create" });
    let mut unsign = base.clone();
    unsign["signed"] = json!(false);
    let path = format!("/api/hooks/{posted}");
    let unsigned = f.expect(200, "PUT", &path, admin, json_body(unsign)).await;
    assert_eq!(unsigned["signed"], false);
    assert!(unsigned.get("secret").is_none(), "{unsigned}");
    let mut sign = base;
    sign["signed"] = json!(true);
    let signed_again = f.expect(200, "PUT", &path, admin, json_body(sign)).await;
    assert!(signed_again["secret"].is_string(), "{signed_again}");
    f.expect(
        404,
        "POST",
        &format!("/api/hooks/{signed}/secret"),
        stranger,
        RequestBody::Empty,
    )
    .await;

    // The guard refuses loopback, so the test call-out fails without leaving the machine.
    let draft = json!({ "url": format!("{REFUSED}/x?c={{campaign.id}}"), "target": "campaigns", "event": "create", "values": { "campaign.id": "7" } });
    let tried = f
        .expect(200, "POST", "/api/hooks/test", admin, json_body(draft))
        .await;
    assert_eq!(tried["succeeded"], false);
    assert_eq!(tried["error_class"], "address_refused");
    assert_eq!(tried["url"], format!("{REFUSED}/x?c=7"));
    let saved = json!({ "hook_id": posted, "values": { "campaign.copy_of": null } });
    f.expect(
        200,
        "POST",
        "/api/hooks/test",
        admin,
        json_body(saved.clone()),
    )
    .await;
    f.expect(404, "POST", "/api/hooks/test", stranger, json_body(saved))
        .await;
    let foreign_tag = json!({ "hook_id": posted, "values": { "calling_list.id": "3" } });
    let rejected = f
        .expect(
            422,
            "POST",
            "/api/hooks/test",
            admin,
            json_body(foreign_tag),
        )
        .await;
    let detail = rejected["detail"].as_str().unwrap();
    assert!(
        detail
            .starts_with("unknown tag `calling_list.id` in `values`: a campaigns create hook has "),
        "{detail}"
    );
    assert!(detail.contains("campaign.copy_of"), "{detail}");
    f.expect(
        400,
        "POST",
        "/api/hooks/test",
        admin,
        json_body(json!({ "target": "campaigns" })),
    )
    .await;
    let invalid = json!({ "url": "https://x/{", "target": "campaigns", "event": "create" });
    f.expect(422, "POST", "/api/hooks/test", admin, json_body(invalid))
        .await;

    Hooks { signed, posted }
}

async fn calling_lists(f: &Fixture, admin: Option<&str>) -> i64 {
    let list = f
        .expect(
            201,
            "POST",
            "/api/calling-lists?name=Leads",
            admin,
            csv_body("name,phone\nAda,1\n"),
        )
        .await;
    assert_eq!(list["added"], 1);
    let id = list["id"].as_i64().unwrap();
    let body = f
        .expect(
            422,
            "POST",
            "/api/calling-lists?name=Bad",
            admin,
            csv_body("a,b\n1\n"),
        )
        .await;
    assert_eq!(body["line"], 2);
    f.expect(400, "POST", "/api/calling-lists", admin, csv_body("a\n1\n"))
        .await;
    f.expect(
        413,
        "POST",
        "/api/calling-lists?name=Big",
        admin,
        csv_body(vec![b'a'; 5000]),
    )
    .await;

    let added = f
        .expect(
            200,
            "POST",
            &format!("/api/calling-lists/{id}/contacts"),
            admin,
            csv_body("name;phone\nBo;2\nCy;3\n"),
        )
        .await;
    assert_eq!(
        (added["added"].as_i64(), added["contacts"].as_i64()),
        (Some(2), Some(3))
    );
    f.expect(
        422,
        "POST",
        &format!("/api/calling-lists/{id}/contacts"),
        admin,
        csv_body(""),
    )
    .await;
    f.expect(
        404,
        "POST",
        "/api/calling-lists/999999/contacts",
        admin,
        csv_body("a\n1\n"),
    )
    .await;

    let lists = f
        .expect(200, "GET", "/api/calling-lists", admin, RequestBody::Empty)
        .await;
    assert_eq!(lists.as_array().unwrap().len(), 1);
    f.expect(
        200,
        "GET",
        &format!("/api/calling-lists/{id}"),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "GET",
        "/api/calling-lists/999999",
        admin,
        RequestBody::Empty,
    )
    .await;
    id
}

async fn campaigns(f: &Fixture, admin: Option<&str>) {
    let spring = f
        .expect(
            201,
            "POST",
            "/api/campaigns",
            admin,
            json_body(json!({ "name": "Spring" })),
        )
        .await;
    let copy = json!({ "name": "Spring again", "copy_of": spring["id"] });
    let copy = f
        .expect(201, "POST", "/api/campaigns", admin, json_body(copy))
        .await;
    assert_eq!(copy["copy_of"], spring["id"]);

    f.expect(
        422,
        "POST",
        "/api/campaigns",
        admin,
        json_body(json!({ "name": "  " })),
    )
    .await;
    f.expect(
        400,
        "POST",
        "/api/campaigns",
        admin,
        json_body(json!({ "name": 7 })),
    )
    .await;

    let campaigns = f
        .expect(200, "GET", "/api/campaigns", admin, RequestBody::Empty)
        .await;
    assert_eq!(campaigns.as_array().unwrap().len(), 2);

    f.expect(
        200,
        "GET",
        &format!("/api/campaigns/{}", spring["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        204,
        "DELETE",
        &format!("/api/campaigns/{}", spring["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "GET",
        &format!("/api/campaigns/{}", spring["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        404,
        "DELETE",
        &format!("/api/campaigns/{}", spring["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;
}

async fn deliveries(f: &Fixture, admin: Option<&str>, hooks: Hooks) {
    // A delivery whose hook is gone before its attempt is recorded without a call-out.
    let doomed =
        json!({ "url": format!("{REFUSED}/gone"), "target": "campaigns", "event": "delete" });
    let doomed = f
        .expect(201, "POST", "/api/hooks", admin, json_body(doomed))
        .await;
    let campaign = f
        .expect(
            201,
            "POST",
            "/api/campaigns",
            admin,
            json_body(json!({ "name": "Short-lived" })),
        )
        .await;
    f.expect(
        204,
        "DELETE",
        &format!("/api/campaigns/{}", campaign["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        204,
        "DELETE",
        &format!("/api/hooks/{}", doomed["id"]),
        admin,
        RequestBody::Empty,
    )
    .await;

    let pending = f
        .expect(
            200,
            "GET",
            "/api/deliveries?status=pending",
            admin,
            RequestBody::Empty,
        )
        .await;
    assert!(pending.as_array().unwrap().len() >= 4, "{pending}");
    f.dispatch_until_idle().await;

    let all = f
        .expect(200, "GET", "/api/deliveries", admin, RequestBody::Empty)
        .await;
    let all = all.as_array().unwrap();
    assert!(
        all.iter().all(|delivery| delivery["status"] == "failed"),
        "{all:?}"
    );
    let filtered = format!(
        "/api/deliveries?hook_id={}&status=failed&target=callinglist&event=import&since=2000-01-01T00:00:00Z&until=2999-01-01T00:00:00%2B01:00",
        hooks.signed
    );
    let imports = f
        .expect(200, "GET", &filtered, admin, RequestBody::Empty)
        .await;
    assert_eq!(imports.as_array().unwrap().len(), 1);
    f.expect(
        400,
        "GET",
        "/api/deliveries?status=lost",
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        400,
        "GET",
        "/api/deliveries?hook_id=one",
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        400,
        "GET",
        "/api/deliveries?since=yesterday",
        admin,
        RequestBody::Empty,
    )
    .await;
    f.expect(
        400,
        "GET",
        "/api/deliveries?colour=red",
        admin,
        RequestBody::Empty,
    )
    .await;

    let hours = f
        .expect(
            200,
            "GET",
            "/api/deliveries/stats",
            admin,
            RequestBody::Empty,
        )
        .await;
    assert_eq!(hours.as_array().unwrap().len(), 24);
    let stats = format!("/api/deliveries/stats?hours=2&hook_id={}", hooks.posted);
    let hours = f
        .expect(200, "GET", &stats, admin, RequestBody::Empty)
        .await;
    assert!(hours[1]["failed"].as_i64().unwrap() >= 1, "{hours}");
    f.expect(
        400,
        "GET",
        "/api/deliveries/stats?hours=721",
        admin,
        RequestBody::Empty,
    )
    .await;

    for delivery in all {
        let detail = f
            .expect(
                200,
                "GET",
                &format!("/api/deliveries/{}", delivery["id"]),
                admin,
                RequestBody::Empty,
            )
            .await;
        assert_eq!(
            detail["attempts_log"].as_array().unwrap().len(),
            1,
            "{detail}"
        );
    }
    let stopped = all
        .iter()
        .find(|delivery| delivery["hook_id"] == doomed["id"])
        .expect("the deleted hook's delivery");
    assert!(
        stopped["error"].as_str().unwrap().contains("deleted"),
        "{stopped}"
    );
    f.expect(
        404,
        "GET",
        "/api/deliveries/999999",
        admin,
        RequestBody::Empty,
    )
    .await;

    // The newest delivery's hook was deleted, so it cannot be sent again.
    let path = format!("/api/deliveries/{}/redeliver", all[0]["id"]);
    let body = f
        .expect(422, "POST", &path, admin, RequestBody::Empty)
        .await;
    assert!(
        body["detail"].as_str().unwrap().contains("deleted"),
        "{body}"
    );

    let kept = all
        .iter()
        .find(|delivery| delivery["error_class"] != "hook_unavailable")
        .unwrap();
    let path = format!("/api/deliveries/{}/redeliver", kept["id"]);
    let again = f
        .expect(202, "POST", &path, admin, RequestBody::Empty)
        .await;
    assert_eq!(again["status"], "pending");
    let body = f
        .expect(422, "POST", &path, admin, RequestBody::Empty)
        .await;
    assert_eq!(body["code"], "request_invalid");
    f.expect(
        404,
        "POST",
        "/api/deliveries/999999/redeliver",
        admin,
        RequestBody::Empty,
    )
    .await;

    let path = format!("/api/hooks/{}/redeliver", hooks.posted);
    let since = json!({ "since": "2000-01-01T00:00:00Z" });
    let body = f
        .expect(202, "POST", &path, admin, json_body(since.clone()))
        .await;
    assert!(body["redelivered"].as_i64().unwrap() >= 1, "{body}");
    f.expect(
        400,
        "POST",
        &path,
        admin,
        json_body(json!({ "since": "last week" })),
    )
    .await;
    f.expect(
        404,
        "POST",
        "/api/hooks/999999/redeliver",
        admin,
        json_body(since),
    )
    .await;
}

async fn too_many_attempts(f: &Fixture) {
    let from = |token: &str| {
        let mut request = common::build_request("GET", "/api/me", Some(token), RequestBody::Empty);
        let address: std::net::SocketAddr = "192.0.2.9:4000".parse().unwrap();
        request
            .extensions_mut()
            .insert(axum::extract::ConnectInfo(address));
        request
    };
    for _ in 0..callout_server::auth::MAX_FAILURES {
        let reply = f.send(from("co_guess")).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
    let reply = f.send(from("co_guess")).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.body["code"], "too_many_attempts");
}

/// Returns an operation whose description lists the status of `error`. The match has no
/// wildcard, so a new kind of error fails to compile here until the description covers it.
fn operation_for(error: &ApiError) -> Option<(&'static str, &'static str)> {
    match error {
        ApiError::BadRequest(_) => Some(("POST", "/api/campaigns")),
        ApiError::Unauthorized => Some(("GET", "/api/me")),
        ApiError::Forbidden(_) => Some(("POST", "/api/agents")),
        ApiError::NotFound(_) => Some(("GET", "/api/hooks/1")),
        ApiError::BodyTimeout => Some(("POST", "/api/calling-lists")),
        ApiError::PayloadTooLarge(_) => Some(("POST", "/api/campaigns")),
        ApiError::LimitReached(_) => Some(("POST", "/api/hooks")),
        ApiError::TooManyAttempts(_) => Some(("GET", "/api/me")),
        ApiError::HookInvalid { .. } => Some(("PUT", "/api/hooks/1")),
        ApiError::CsvInvalid { .. } => Some(("POST", "/api/calling-lists")),
        ApiError::Unprocessable(_) => Some(("POST", "/api/campaigns")),
        ApiError::Busy => Some(("GET", "/api/hooks")),
        ApiError::Internal(_) => Some(("GET", "/api/hooks")),
        // These are for paths and methods that no operation has, so the description states them
        // in its introduction.
        ApiError::NotFoundPath(_) | ApiError::MethodNotAllowed(_) => None,
    }
}

/// Every error the API can return, rendered as the server renders it, matches the
/// description of an operation that lists its status.
#[tokio::test]
async fn api_errors_match_the_description() {
    let description = Description::load();
    let template_error = callout_template::Error {
        kind: callout_template::ErrorKind::TagUnknown,
        message: "unknown tag `agent.nosuch`".to_string(),
        field: callout_template::Field::Url,
        start: 11,
        end: 23,
        line: 1,
        column: 12,
    };
    let errors = [
        ApiError::BadRequest("invalid JSON body".to_string()),
        ApiError::Unauthorized,
        ApiError::Forbidden("only an admin agent may do this".to_string()),
        ApiError::NotFound("hook"),
        ApiError::NotFoundPath("/api/nosuch".to_string()),
        ApiError::MethodNotAllowed("PATCH is not allowed on /api/hooks".to_string()),
        ApiError::BodyTimeout,
        ApiError::PayloadTooLarge(4096),
        ApiError::LimitReached("too many hooks".to_string()),
        ApiError::TooManyAttempts(30),
        ApiError::HookInvalid {
            errors: vec![template_error],
            warnings: Vec::new(),
        },
        ApiError::CsvInvalid {
            line: 3,
            detail: "the row has 1 fields".to_string(),
        },
        ApiError::Unprocessable("the campaign name is empty".to_string()),
        ApiError::Busy,
        ApiError::Internal("database: gone".to_string()),
    ];
    let mut statuses = BTreeSet::new();
    for error in errors {
        let name = format!("{error:?}");
        let operation = operation_for(&error);
        let response = error.into_response();
        let status = response.status().as_u16();
        statuses.insert(status);
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            body["code"].is_string() && body["detail"].is_string(),
            "{name}: {body}"
        );

        let Some((method, path)) = operation else {
            continue;
        };
        if let Err(problem) = description.check(method, path, status, &headers, &bytes) {
            panic!("{name} as {method} {path} breaks the description: {problem}");
        }
    }
    assert!(
        statuses.len() >= 9,
        "only the statuses {statuses:?} were rendered"
    );
}

// ---------------------------------------------------------------------------------------------
// Bodies rejected before a handler reads them

/// serde's derived structs also read a JSON array of the fields in order; the API takes only
/// objects, as the description requires.
async fn json_bodies_must_be_objects(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let (_, token) = client_with_agent(&f.pool, "Owner", "owner", true).await;
    let token = Some(token.as_str());
    let cases = [
        ("/api/campaigns", json!(["Spring", null])),
        (
            "/api/hooks",
            json!(["https://example.com/{campaign.id}", "campaigns", "create"]),
        ),
        ("/api/tokens", json!([null, null])),
        ("/api/agents", json!(["jane"])),
        ("/api/hooks/test", json!([])),
        ("/api/campaigns", json!("Spring")),
        ("/api/campaigns", json!(null)),
    ];
    for (path, body) in cases {
        let reply = f
            .expect(400, "POST", path, token, json_body(body.clone()))
            .await;
        assert_eq!(reply["code"], "request_invalid", "{path} {body}");
    }
    for table in ["campaigns", "hooks", "tokens", "agents"] {
        let expected = if matches!(table, "tokens" | "agents") {
            1
        } else {
            0
        };
        assert_eq!(f.count(table).await, expected, "{table}");
    }
    f.expect(
        201,
        "POST",
        "/api/campaigns",
        token,
        json_body(json!({ "name": "Spring" })),
    )
    .await;
}

/// PostgreSQL's text cannot store U+0000, so text with it would fail there as a server error.
/// Every database rejects it with 400 and stores nothing.
async fn nul_characters_are_rejected(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let (_, token) = client_with_agent(&f.pool, "Owner", "owner", true).await;
    let token = Some(token.as_str());
    let json_cases = [
        ("/api/campaigns", json!({ "name": "a\u{0}b" })),
        ("/api/tokens", json!({ "label": "\u{0}" })),
        ("/api/agents", json!({ "username": "jane\u{0}" })),
        (
            "/api/agents",
            json!({ "username": "jane", "columns": { "team": "x\u{0}" } }),
        ),
        (
            "/api/hooks",
            json!({ "url": "https://example.com/\u{0}", "target": "campaigns", "event": "create" }),
        ),
        (
            "/api/hooks/test",
            json!({ "url": "https://example.com/", "target": "campaigns", "event": "create", "values": { "a\u{0}": "b" } }),
        ),
    ];
    for (path, body) in json_cases {
        let reply = f
            .expect(400, "POST", path, token, json_body(body.clone()))
            .await;
        assert!(
            reply["detail"].as_str().unwrap().contains("NUL"),
            "{path} {body}: {reply}"
        );
    }
    let query_cases = [
        ("POST", "/api/calling-lists?name=a%00b", csv_body("a\n1\n")),
        ("GET", "/api/deliveries?target=a%00b", RequestBody::Empty),
        ("GET", "/api/deliveries?event=%00", RequestBody::Empty),
    ];
    for (method, uri, body) in query_cases {
        let reply = f.expect(400, method, uri, token, body).await;
        assert!(
            reply["detail"].as_str().unwrap().contains("NUL"),
            "{uri}: {reply}"
        );
    }
    for table in ["campaigns", "hooks", "calling_lists"] {
        assert_eq!(f.count(table).await, 0, "{table}");
    }
    assert_eq!(f.count("agents").await, 1);

    // An escaped backslash before `u0000` is text, not NUL.
    let body = json!({ "name": "C:\\u0000" });
    let created = f
        .expect(201, "POST", "/api/campaigns", token, json_body(body))
        .await;
    assert_eq!(created["name"], "C:\\u0000");
}
