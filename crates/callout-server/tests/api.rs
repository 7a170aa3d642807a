//! Handler tests: the router called directly, without a socket, on a fresh SQLite database
//! and on a fresh PostgreSQL schema.

use axum::body::{to_bytes, Body};
use axum::http::{Request, StatusCode};
use axum::Router;
use callout_server::db::{self, NewAgent};
use serde_json::{json, Value};
use tower::ServiceExt;

#[macro_use]
mod common;

use common::{Fixture, Kind};

/// Returns the router on a fresh database of `kind`, with small limits to pass in tests.
async fn fixture(kind: Kind) -> Option<Fixture> {
    common::fixture(kind, common::small_limits()).await
}

on_both_databases!(
    hooks_are_scoped_to_their_client,
    missing_or_wrong_token_is_unauthorized,
    invalid_hook_answers_errors_with_spans,
    unreadable_csv_stores_nothing,
    import_writes_its_delivery,
    campaign_copy_of_must_exist,
    hook_activity_and_hourly_stats,
    limits_answer_clear_errors,
    long_names_are_rejected,
    tokens_are_created_and_revoked,
    failed_sign_ins_are_limited,
    health_and_metrics_answer,
);

/// Creates a client with one agent and returns the agent's token.
async fn client_with_agent(pool: &db::Pool, name: &str) -> String {
    let client_id = db::create_client(pool, name).await.unwrap();
    let token = db::new_token();
    let agent = NewAgent {
        client_id,
        username: format!("agent-of-{name}"),
        ..NewAgent::default()
    };
    db::create_agent(pool, &agent, &token).await.unwrap();
    token
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: Body,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    request = request.header("content-type", "application/json");
    let response = app
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, value)
}

fn json_body(value: Value) -> Body {
    Body::from(value.to_string())
}

const HOOK: &str = "https://example.com/?agent={agent.id}&list={calling_list.id}";

async fn hooks_are_scoped_to_their_client(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let owner = client_with_agent(&f.pool, "owner").await;
    let other = client_with_agent(&f.pool, "other").await;
    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    let (status, created) = call(
        &f.app,
        "POST",
        "/api/hooks",
        Some(&owner),
        json_body(hook.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let path = format!("/api/hooks/{}", created["id"]);

    let (status, _) = call(&f.app, "GET", &path, Some(&other), Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&f.app, "PUT", &path, Some(&other), json_body(hook.clone())).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(&f.app, "DELETE", &path, Some(&other), Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, listed) = call(&f.app, "GET", "/api/hooks", Some(&other), Body::empty()).await;
    assert_eq!(listed, json!([]));

    let (status, kept) = call(&f.app, "GET", &path, Some(&owner), Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["url"], HOOK);
}

async fn missing_or_wrong_token_is_unauthorized(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    client_with_agent(&f.pool, "owner").await;
    for token in [None, Some("co_wrong"), Some("")] {
        let (status, body) = call(&f.app, "GET", "/api/hooks", token, Body::empty()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "token {token:?}");
        assert_eq!(body["code"], "unauthorized");
    }
}

async fn invalid_hook_answers_errors_with_spans(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let hook =
        json!({ "url": "https://x/{agent.nosuch}/{", "target": "callinglist", "event": "add" });
    let (status, body) = call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "hook_invalid");
    let errors = body["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["kind"], "TagUnknown");
    assert_eq!(
        (errors[0]["start"].as_u64(), errors[0]["end"].as_u64()),
        (Some(11), Some(23))
    );
    assert_eq!(errors[1]["kind"], "ExpressionUnclosed");
    assert_eq!(errors[1]["column"], 26);

    let (_, listed) = call(&f.app, "GET", "/api/hooks", Some(&token), Body::empty()).await;
    assert_eq!(listed, json!([]));
}

async fn unreadable_csv_stores_nothing(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;

    let csv = "name,phone\nAna,1\nBob\n";
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/calling-lists?name=Broken",
        Some(&token),
        Body::from(csv),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "csv_invalid");
    assert_eq!(body["line"], 3);

    let (_, lists) = call(
        &f.app,
        "GET",
        "/api/calling-lists",
        Some(&token),
        Body::empty(),
    )
    .await;
    assert_eq!(lists, json!([]));
    let (_, deliveries) = call(
        &f.app,
        "GET",
        "/api/deliveries",
        Some(&token),
        Body::empty(),
    )
    .await;
    assert_eq!(deliveries, json!([]));
}

async fn import_writes_its_delivery(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    let (_, hook) = call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    let other = json!({ "url": HOOK, "target": "callinglist", "event": "add" });
    call(&f.app, "POST", "/api/hooks", Some(&token), json_body(other)).await;

    let csv = "name;phone\n\"Doe; Jane\";+1 555\n";
    let (status, list) = call(
        &f.app,
        "POST",
        "/api/calling-lists?name=Leads",
        Some(&token),
        Body::from(csv),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(list["contacts"], 1);
    assert_eq!(list["columns"], json!(["name", "phone"]));

    // No dispatcher runs here, so the delivery stays pending as the transaction wrote it.
    let (_, deliveries) = call(
        &f.app,
        "GET",
        "/api/deliveries",
        Some(&token),
        Body::empty(),
    )
    .await;
    let deliveries = deliveries.as_array().unwrap();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0]["hook_id"], hook["id"]);
    assert_eq!(deliveries[0]["event"], "import");
    assert_eq!(deliveries[0]["object_id"], list["id"]);
    assert_eq!(deliveries[0]["status"], "pending");
}

async fn campaign_copy_of_must_exist(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let other = client_with_agent(&f.pool, "other").await;
    let (_, theirs) = call(
        &f.app,
        "POST",
        "/api/campaigns",
        Some(&other),
        json_body(json!({ "name": "Theirs" })),
    )
    .await;

    let copy = json!({ "name": "Copy", "copy_of": theirs["id"] });
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/campaigns",
        Some(&token),
        json_body(copy),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["detail"].as_str().unwrap().contains("does not exist"));
}

#[test]
fn migrations_are_in_step() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut names: Vec<_> = std::fs::read_dir(dir.join("sqlite"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    names.sort();
    for name in names {
        let sqlite = std::fs::read_to_string(dir.join("sqlite").join(&name)).unwrap();
        let postgres = std::fs::read_to_string(dir.join("postgres").join(&name))
            .unwrap_or_else(|_| panic!("{name:?} has no PostgreSQL version"));
        // The PostgreSQL schema is the SQLite one with PostgreSQL's types.
        let translated = sqlite
            .replace(
                "INTEGER PRIMARY KEY AUTOINCREMENT",
                "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
            )
            .replace(" INTEGER", " BIGINT")
            .replace(" REAL", " DOUBLE PRECISION")
            .replace(
                "migrations/postgres, for SQLite",
                "migrations/sqlite, for PostgreSQL",
            );
        assert_eq!(
            translated, postgres,
            "{name:?} differs between SQLite and PostgreSQL"
        );
    }
}

async fn hook_activity_and_hourly_stats(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    let (_, hook) = call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    for name in ["a", "b", "c"] {
        let uri = format!("/api/calling-lists?name={name}");
        call(&f.app, "POST", &uri, Some(&token), Body::from("phone\n1\n")).await;
    }
    // No dispatcher runs here: the outcomes are written as it would write them.
    sqlx::query("UPDATE deliveries SET status = 'succeeded', duration_ms = 10, completed_at = created_at WHERE id <= 2")
        .execute(&f.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE deliveries SET status = 'failed', duration_ms = 40, completed_at = created_at WHERE id = 3")
        .execute(&f.pool)
        .await
        .unwrap();

    let (_, hooks) = call(&f.app, "GET", "/api/hooks", Some(&token), Body::empty()).await;
    let activity = &hooks[0]["activity"];
    assert_eq!(hooks[0]["id"], hook["id"]);
    assert_eq!(activity["succeeded"], 2);
    assert_eq!(activity["failed"], 1);
    assert!((activity["success_rate"].as_f64().unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(activity["last_status"], "failed");

    let (status, hours) = call(
        &f.app,
        "GET",
        "/api/deliveries/stats?hours=3",
        Some(&token),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let hours = hours.as_array().unwrap();
    assert_eq!(hours.len(), 3);
    let now = &hours[2];
    assert_eq!(
        (
            now["succeeded"].as_i64(),
            now["failed"].as_i64(),
            now["pending"].as_i64()
        ),
        (Some(2), Some(1), Some(0))
    );
    assert_eq!(now["mean_duration_ms"].as_f64(), Some(20.0));
    assert_eq!(hours[0]["succeeded"], 0);

    let (status, _) = call(
        &f.app,
        "GET",
        "/api/deliveries/stats?hours=0",
        Some(&token),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

async fn long_names_are_rejected(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let client_id = db::create_client(&f.pool, "owner").await.unwrap();
    let token = db::new_token();
    let admin = NewAgent {
        client_id,
        username: "admin".to_string(),
        is_admin: true,
        ..NewAgent::default()
    };
    db::create_agent(&f.pool, &admin, &token).await.unwrap();
    let long = "é".repeat(callout_server::api::MAX_NAME_CHARS + 1);
    let longest = "é".repeat(callout_server::api::MAX_NAME_CHARS);

    // Each case: the request with a name one character too long, the field the error
    // names, and the same request with the longest name that is accepted.
    let cases = [
        (
            "/api/campaigns",
            json!({ "name": long }),
            "campaign name",
            json!({ "name": longest }),
        ),
        (
            "/api/agents",
            json!({ "username": long }),
            "username",
            json!({ "username": longest }),
        ),
        (
            "/api/agents",
            json!({ "username": "ana", "name": long }),
            "name",
            json!({ "username": "ana", "name": longest }),
        ),
        (
            "/api/agents",
            json!({ "username": "bo", "email": long }),
            "email",
            json!({ "username": "bo", "email": longest }),
        ),
        (
            "/api/tokens",
            json!({ "label": long }),
            "label",
            json!({ "label": longest }),
        ),
    ];
    for (uri, too_long, field, accepted) in cases {
        let (status, body) = call(&f.app, "POST", uri, Some(&token), json_body(too_long)).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri} {field}: {body}"
        );
        let expected = format!("the {field} is 201 characters long: use at most 200");
        assert_eq!(body["detail"], expected.as_str(), "{uri}");

        let (status, body) = call(&f.app, "POST", uri, Some(&token), json_body(accepted)).await;
        assert_eq!(status, StatusCode::CREATED, "{uri} {field}: {body}");
    }

    let list_name = "x".repeat(201);
    let uri = format!("/api/calling-lists?name={list_name}");
    let (status, body) = call(&f.app, "POST", &uri, Some(&token), Body::from("phone\n1\n")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["detail"],
        "the list name is 201 characters long: use at most 200"
    );
    assert_eq!(f.count("calling_lists").await, 0);
    assert_eq!(f.count("campaigns").await, 1);
}

async fn limits_answer_clear_errors(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;

    let big_csv = format!("phone\n{}", "1234567890\n".repeat(500));
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/calling-lists?name=Big",
        Some(&token),
        Body::from(big_csv),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "body_too_large");
    assert_eq!(body["limit"], 4096);

    let many_rows = "phone\n1\n2\n3\n4\n5\n6\n";
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/calling-lists?name=Rows",
        Some(&token),
        Body::from(many_rows),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["line"], 7);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("more than 5 contacts"),
        "{body}"
    );

    let big_json = json!({ "name": "x".repeat(5000) });
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/campaigns",
        Some(&token),
        json_body(big_json),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "body_too_large");

    let long_url = format!("https://example.com/{}", "a".repeat(200));
    let hook = json!({ "url": long_url, "target": "callinglist", "event": "import" });
    let (status, body) = call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "limit_reached");

    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    for _ in 0..3 {
        let (status, _) = call(
            &f.app,
            "POST",
            "/api/hooks",
            Some(&token),
            json_body(hook.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, body) = call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "limit_reached");
    assert!(
        body["detail"].as_str().unwrap().contains("3 hooks"),
        "{body}"
    );

    let (_, lists) = call(
        &f.app,
        "GET",
        "/api/calling-lists",
        Some(&token),
        Body::empty(),
    )
    .await;
    assert_eq!(lists, json!([]));
}

/// Creates an admin agent of a new client and returns its token.
async fn admin_of(pool: &db::Pool, name: &str) -> String {
    let client_id = db::create_client(pool, name).await.unwrap();
    let token = db::new_token();
    let agent = NewAgent {
        client_id,
        username: format!("admin-of-{name}"),
        is_admin: true,
        ..NewAgent::default()
    };
    db::create_agent(pool, &agent, &token).await.unwrap();
    token
}

async fn tokens_are_created_and_revoked(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let admin = admin_of(&f.pool, "owner").await;
    let stranger = admin_of(&f.pool, "stranger").await;

    let new_agent = json!({ "username": "jane", "name": "Jane", "columns": { "team": "blue" } });
    let (status, jane) = call(
        &f.app,
        "POST",
        "/api/agents",
        Some(&admin),
        json_body(new_agent),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{jane}");
    let jane_token = jane["token"].as_str().unwrap().to_string();
    let (status, me) = call(&f.app, "GET", "/api/me", Some(&jane_token), Body::empty()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["values"]["agent.team"], "blue");

    // An agent that is not an admin cannot create agents or tokens for others.
    let (status, body) = call(
        &f.app,
        "POST",
        "/api/agents",
        Some(&jane_token),
        json_body(json!({ "username": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "forbidden");
    let for_admin = json!({ "agent_id": 1 });
    let (status, _) = call(
        &f.app,
        "POST",
        "/api/tokens",
        Some(&jane_token),
        json_body(for_admin),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // A second token of Jane's, created by herself, then revoked by the admin.
    let (status, second) = call(
        &f.app,
        "POST",
        "/api/tokens",
        Some(&jane_token),
        json_body(json!({ "label": "script" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let second_token = second["token"].as_str().unwrap().to_string();
    let path = format!("/api/tokens/{}", second["id"]);
    let (status, _) = call(&f.app, "DELETE", &path, Some(&stranger), Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/hooks",
        Some(&second_token),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&f.app, "DELETE", &path, Some(&admin), Body::empty()).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/hooks",
        Some(&second_token),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(
        &f.app,
        "GET",
        "/api/hooks",
        Some(&jane_token),
        Body::empty(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, listed) = call(
        &f.app,
        "GET",
        "/api/tokens",
        Some(&jane_token),
        Body::empty(),
    )
    .await;
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|token| token.get("token").is_none()));
    assert!(listed[1]["revoked_at"].is_string());
    let (_, agents) = call(&f.app, "GET", "/api/agents", Some(&stranger), Body::empty()).await;
    assert_eq!(agents.as_array().unwrap().len(), 1);
}

async fn failed_sign_ins_are_limited(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let from = |address: &str, token: &str| {
        let mut request = Request::builder()
            .uri("/api/hooks")
            .header("authorization", format!("Bearer {token}"));
        let address: std::net::SocketAddr = address.parse().unwrap();
        request = request.extension(axum::extract::ConnectInfo(address));
        request.body(Body::empty()).unwrap()
    };
    for attempt in 0..callout_server::auth::MAX_FAILURES {
        let response = f
            .app
            .clone()
            .oneshot(from("192.0.2.7:5000", "co_guess"))
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let response = f
        .app
        .clone()
        .oneshot(from("192.0.2.7:5001", &token))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    let response = f
        .app
        .clone()
        .oneshot(from("192.0.2.8:5000", &token))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

async fn health_and_metrics_answer(kind: Kind) {
    let Some(f) = fixture(kind).await else { return };
    let token = client_with_agent(&f.pool, "owner").await;
    let hook = json!({ "url": HOOK, "target": "callinglist", "event": "import" });
    call(&f.app, "POST", "/api/hooks", Some(&token), json_body(hook)).await;
    call(
        &f.app,
        "POST",
        "/api/calling-lists?name=a",
        Some(&token),
        Body::from("phone\n1\n"),
    )
    .await;

    for path in ["/healthz", "/readyz"] {
        let request = Request::builder().uri(path).body(Body::empty()).unwrap();
        let response = f.app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let request = Request::builder()
        .uri("/metrics")
        .body(Body::empty())
        .unwrap();
    let response = f.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert!(text.contains("callout_deliveries_pending 1\n"), "{text}");
    assert!(
        text.contains("callout_attempts_total{outcome=\"succeeded\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("callout_attempt_duration_seconds_bucket{le=\"+Inf\"} 0\n"),
        "{text}"
    );
    assert!(
        text.contains("callout_oldest_pending_delivery_age_seconds "),
        "{text}"
    );
}
