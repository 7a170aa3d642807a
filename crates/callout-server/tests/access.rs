//! Who may call what: one table with a row for every operation of the description. For each,
//! a missing, unknown, malformed or revoked token is rejected with 401 and changes nothing; an agent
//! of another client gets 404 for the owner's objects (or sees only its own data), an agent
//! that is not an admin gets 403 for admin-only actions, and the owner's data stays as it
//! was; then the owner's own agent succeeds with the same request. Every response is checked
//! against the OpenAPI description.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{
    agent_of, client_with_agent, csv_body, fixture, json_body, small_limits, Fixture, Kind,
    RequestBody,
};
use serde_json::{json, Value};

on_both_databases!(every_operation_is_scoped_to_its_client);

/// Text in the name of every object of the owner's client, so a response that leaks one is
/// found by a search.
const MARK: &str = "ownermark";

/// What another agent gets for a row's request.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// 404 `not_found`: the object belongs to another client.
    NotFound,
    /// 403 `forbidden`: only an admin agent may do this.
    Forbidden,
    /// 422 `request_invalid`: a body that names another client's object as if it did not exist.
    Unprocessable,
    /// This status, about the caller's own client only.
    OwnData(u16),
}

/// One operation of the API and the requests that try it.
struct Row {
    operation: &'static str,
    method: &'static str,
    uri: String,
    body: RequestBody,
    /// Whether the route needs no token.
    public: bool,
    /// What an admin agent of another client gets.
    stranger: Expect,
    /// What an agent of the owner's client that is not an admin gets, where it differs
    /// from what the owner's admin gets.
    member: Option<Expect>,
    /// What the owner's admin agent gets.
    owner: u16,
    /// The owner's body, where it must differ, such as a username that is already taken.
    owner_body: Option<RequestBody>,
}

fn row(
    operation: &'static str,
    uri: String,
    body: RequestBody,
    stranger: Expect,
    owner: u16,
) -> Row {
    let method = operation.split_once(' ').unwrap().0;
    Row {
        operation,
        method,
        uri,
        body,
        public: false,
        stranger,
        member: None,
        owner,
        owner_body: None,
    }
}

fn public(operation: &'static str) -> Row {
    let (method, path) = operation.split_once(' ').unwrap();
    Row {
        operation,
        method,
        uri: path.to_string(),
        body: RequestBody::Empty,
        public: true,
        stranger: Expect::OwnData(200),
        member: None,
        owner: 200,
        owner_body: None,
    }
}

/// The owner's client and its objects.
struct Owner {
    client_id: i64,
    admin: String,
    /// An agent of the same client that is not an admin.
    member: String,
    member_id: i64,
    /// A token of the admin, revoked through `DELETE /api/tokens/{id}`.
    revoked: String,
    /// A token of the admin that the table revokes.
    token_id: i64,
    hook: i64,
    other_hook: i64,
    list: i64,
    campaign: i64,
    delivery: i64,
}

const REFUSED: &str = "http://127.0.0.1:9";

async fn owner_with_objects(f: &Fixture) -> Owner {
    let (client_id, admin) = client_with_agent(
        &f.pool,
        &format!("{MARK} Co"),
        &format!("{MARK}-admin"),
        true,
    )
    .await;
    let member = agent_of(&f.pool, client_id, &format!("{MARK}-member"), false).await;
    let member_id = f
        .expect(200, "GET", "/api/me", Some(&member), RequestBody::Empty)
        .await["agent"]["id"]
        .as_i64()
        .unwrap();
    let token = Some(admin.as_str());

    let revoked = f
        .expect(
            201,
            "POST",
            "/api/tokens",
            token,
            json_body(json!({ "label": format!("{MARK} old") })),
        )
        .await;
    let revoked_token = revoked["token"].as_str().unwrap().to_string();
    f.expect(
        200,
        "GET",
        "/api/me",
        Some(&revoked_token),
        RequestBody::Empty,
    )
    .await;
    f.expect(
        204,
        "DELETE",
        &format!("/api/tokens/{}", revoked["id"]),
        token,
        RequestBody::Empty,
    )
    .await;
    let spare = f
        .expect(
            201,
            "POST",
            "/api/tokens",
            token,
            json_body(json!({ "label": format!("{MARK} spare") })),
        )
        .await;

    let hook = json!({ "url": format!("{REFUSED}/{MARK}?list={{calling_list.id}}"), "target": "callinglist", "event": "import", "signed": true });
    let hook = f
        .expect(201, "POST", "/api/hooks", token, json_body(hook))
        .await;
    let other_hook = json!({ "url": format!("{REFUSED}/{MARK}?c={{campaign.id}}"), "target": "campaigns", "event": "create" });
    let other_hook = f
        .expect(201, "POST", "/api/hooks", token, json_body(other_hook))
        .await;
    let list = f
        .expect(
            201,
            "POST",
            &format!("/api/calling-lists?name={MARK}"),
            token,
            csv_body("phone\n1\n"),
        )
        .await;
    let campaign = f
        .expect(
            201,
            "POST",
            "/api/campaigns",
            token,
            json_body(json!({ "name": MARK })),
        )
        .await;
    // Every delivery fails at its one attempt, so each can be redelivered.
    f.dispatch_until_idle().await;
    let deliveries = f
        .expect(200, "GET", "/api/deliveries", token, RequestBody::Empty)
        .await;
    let delivery = deliveries
        .as_array()
        .unwrap()
        .iter()
        .find(|delivery| delivery["hook_id"] == hook["id"])
        .unwrap();

    Owner {
        client_id,
        admin,
        member,
        member_id,
        revoked: revoked_token,
        token_id: spare["id"].as_i64().unwrap(),
        hook: hook["id"].as_i64().unwrap(),
        other_hook: other_hook["id"].as_i64().unwrap(),
        list: list["id"].as_i64().unwrap(),
        campaign: campaign["id"].as_i64().unwrap(),
        delivery: delivery["id"].as_i64().unwrap(),
    }
}

/// Returns the table: every operation once, the ones that delete last, so the owner's
/// requests can run in order.
fn table(owner: &Owner, admin_id: i64) -> Vec<Row> {
    use Expect::*;
    let hook_url = format!("{REFUSED}/{MARK}/edited?list={{calling_list.id}}");
    let mut new_agent = row(
        "POST /api/agents",
        "/api/agents".into(),
        json_body(json!({ "username": "newcomer" })),
        OwnData(201),
        201,
    );
    new_agent.member = Some(Forbidden);
    // Usernames are unique across clients, and another client's admin took this one.
    new_agent.owner_body = Some(json_body(json!({ "username": "newcomer-of-owner" })));
    let mut token_for_member = row(
        "POST /api/tokens",
        "/api/tokens".into(),
        json_body(json!({ "agent_id": owner.member_id })),
        NotFound,
        201,
    );
    // A member asking for a token of another agent, the admin, needs to be an admin.
    token_for_member.member = Some(Forbidden);
    token_for_member.body = json_body(json!({ "agent_id": admin_id }));
    let mut revoke = row(
        "DELETE /api/tokens/{id}",
        format!("/api/tokens/{}", owner.token_id),
        RequestBody::Empty,
        NotFound,
        204,
    );
    // Any agent may revoke its own tokens, and only an admin those of others.
    revoke.member = Some(NotFound);

    vec![
        public("GET /healthz"),
        public("GET /readyz"),
        public("GET /metrics"),
        public("GET /api/openapi.json"),
        row(
            "GET /api/me",
            "/api/me".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "GET /api/catalogue",
            "/api/catalogue".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        // The listings come before the creation, which adds to what another client lists.
        row(
            "GET /api/agents",
            "/api/agents".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "GET /api/tokens",
            "/api/tokens".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        new_agent,
        token_for_member,
        row(
            "GET /api/hooks",
            "/api/hooks".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "POST /api/hooks",
            "/api/hooks".into(),
            json_body(
                json!({ "url": format!("{REFUSED}/new?c={{campaign.id}}"), "target": "campaigns", "event": "delete" }),
            ),
            OwnData(201),
            201,
        ),
        row(
            "POST /api/hooks/test",
            "/api/hooks/test".into(),
            json_body(json!({ "hook_id": owner.hook })),
            NotFound,
            200,
        ),
        row(
            "GET /api/hooks/{id}",
            format!("/api/hooks/{}", owner.hook),
            RequestBody::Empty,
            NotFound,
            200,
        ),
        row(
            "PUT /api/hooks/{id}",
            format!("/api/hooks/{}", owner.hook),
            json_body(
                json!({ "url": hook_url, "target": "callinglist", "event": "import", "enabled": true }),
            ),
            NotFound,
            200,
        ),
        row(
            "POST /api/hooks/{id}/secret",
            format!("/api/hooks/{}/secret", owner.hook),
            RequestBody::Empty,
            NotFound,
            200,
        ),
        row(
            "GET /api/calling-lists",
            "/api/calling-lists".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "POST /api/calling-lists",
            "/api/calling-lists?name=Leads".into(),
            csv_body("phone\n2\n"),
            OwnData(201),
            201,
        ),
        row(
            "GET /api/calling-lists/{id}",
            format!("/api/calling-lists/{}", owner.list),
            RequestBody::Empty,
            NotFound,
            200,
        ),
        row(
            "POST /api/calling-lists/{id}/contacts",
            format!("/api/calling-lists/{}/contacts", owner.list),
            csv_body("phone\n3\n"),
            NotFound,
            200,
        ),
        row(
            "GET /api/campaigns",
            "/api/campaigns".into(),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        // The original of a copy is named in the body, and another client's is treated as an id
        // that does not exist.
        row(
            "POST /api/campaigns",
            "/api/campaigns".into(),
            json_body(json!({ "name": "Copy", "copy_of": owner.campaign })),
            Unprocessable,
            201,
        ),
        row(
            "GET /api/campaigns/{id}",
            format!("/api/campaigns/{}", owner.campaign),
            RequestBody::Empty,
            NotFound,
            200,
        ),
        row(
            "GET /api/deliveries",
            format!("/api/deliveries?hook_id={}", owner.hook),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "GET /api/deliveries/stats",
            format!("/api/deliveries/stats?hours=2&hook_id={}", owner.hook),
            RequestBody::Empty,
            OwnData(200),
            200,
        ),
        row(
            "GET /api/deliveries/{id}",
            format!("/api/deliveries/{}", owner.delivery),
            RequestBody::Empty,
            NotFound,
            200,
        ),
        row(
            "POST /api/deliveries/{id}/redeliver",
            format!("/api/deliveries/{}/redeliver", owner.delivery),
            RequestBody::Empty,
            NotFound,
            202,
        ),
        // After the delivery's own redelivery, which needs it failed, not pending.
        row(
            "POST /api/hooks/{id}/redeliver",
            format!("/api/hooks/{}/redeliver", owner.hook),
            json_body(json!({ "since": "2000-01-01T00:00:00Z" })),
            NotFound,
            202,
        ),
        revoke,
        row(
            "DELETE /api/hooks/{id}",
            format!("/api/hooks/{}", owner.other_hook),
            RequestBody::Empty,
            NotFound,
            204,
        ),
        row(
            "DELETE /api/calling-lists/{id}",
            format!("/api/calling-lists/{}", owner.list),
            RequestBody::Empty,
            NotFound,
            204,
        ),
        row(
            "DELETE /api/campaigns/{id}",
            format!("/api/campaigns/{}", owner.campaign),
            RequestBody::Empty,
            NotFound,
            204,
        ),
    ]
}

/// Returns a snapshot of the rows that requests can change, of one client or of all.
async fn snapshot(f: &Fixture, client_id: Option<i64>) -> Vec<String> {
    let scope = client_id.map_or("1 = 1".to_string(), |id| format!("client_id = {id}"));
    let queries = [
        format!("SELECT CAST(id AS TEXT) || ':' || username FROM agents WHERE {scope} ORDER BY id"),
        format!(
            "SELECT CAST(id AS TEXT) || ':' || COALESCE(CAST(revoked_at AS TEXT), '-') FROM tokens \
             WHERE agent_id IN (SELECT id FROM agents WHERE {scope}) ORDER BY id"
        ),
        format!(
            "SELECT CAST(id AS TEXT) || ':' || url || ':' || CAST(enabled AS TEXT) || ':' || \
             COALESCE(secret, '-') || ':' || CAST(updated_at AS TEXT) FROM hooks WHERE {scope} ORDER BY id"
        ),
        format!("SELECT CAST(id AS TEXT) || ':' || name FROM calling_lists WHERE {scope} ORDER BY id"),
        format!(
            "SELECT CAST(calling_list_id AS TEXT) || ':' || CAST(COUNT(*) AS TEXT) FROM contacts \
             WHERE calling_list_id IN (SELECT id FROM calling_lists WHERE {scope}) \
             GROUP BY calling_list_id ORDER BY calling_list_id"
        ),
        format!("SELECT CAST(id AS TEXT) || ':' || name FROM campaigns WHERE {scope} ORDER BY id"),
        format!(
            "SELECT CAST(id AS TEXT) || ':' || status || ':' || CAST(attempts AS TEXT) || ':' || \
             CAST(next_attempt_at AS TEXT) FROM deliveries WHERE {scope} ORDER BY id"
        ),
    ];
    let mut rows = Vec::new();
    for query in queries {
        let found: Vec<String> = sqlx::query_scalar(&query).fetch_all(&f.pool).await.unwrap();
        rows.push(format!("{query}\n  {}", found.join("\n  ")));
    }
    rows
}

async fn every_operation_is_scoped_to_its_client(kind: Kind) {
    let Some(f) = fixture(kind, small_limits()).await else {
        return;
    };
    let owner = owner_with_objects(&f).await;
    let (stranger_client, stranger) =
        client_with_agent(&f.pool, "Stranger Co", "stranger-admin", true).await;
    let admin_id = f
        .expect(
            200,
            "GET",
            "/api/me",
            Some(&owner.admin),
            RequestBody::Empty,
        )
        .await["agent"]["id"]
        .as_i64()
        .unwrap();
    let rows = table(&owner, admin_id);

    let covered: BTreeSet<String> = rows.iter().map(|row| row.operation.to_string()).collect();
    assert_eq!(
        covered,
        f.description.labels(),
        "the table and the description name different operations"
    );
    assert_eq!(
        covered.len(),
        rows.len(),
        "an operation appears twice in the table"
    );

    for row in &rows {
        let name = row.operation;
        if row.public {
            for token in [None, Some("co_unknown"), Some(owner.revoked.as_str())] {
                let reply = f.call(row.method, &row.uri, token, row.body.clone()).await;
                assert_eq!(reply.status.as_u16(), 200, "{name} with {token:?}");
            }
            continue;
        }

        // Requests that no agent makes: nothing anywhere may change.
        let before = snapshot(&f, None).await;
        let malformed = format!("Basic {}", owner.admin);
        let anonymous = [
            None,
            Some("co_unknown"),
            Some(owner.revoked.as_str()),
            Some(""),
        ];
        for token in anonymous {
            let reply = f.call(row.method, &row.uri, token, row.body.clone()).await;
            assert_eq!(
                reply.status.as_u16(),
                401,
                "{name} with token {token:?}: {}",
                reply.body
            );
            assert_eq!(reply.body["code"], "unauthorized", "{name}");
        }
        let mut request = common::build_request(row.method, &row.uri, None, row.body.clone());
        request
            .headers_mut()
            .insert("authorization", malformed.parse().unwrap());
        let reply = f.send(request).await;
        assert_eq!(
            reply.status.as_u16(),
            401,
            "{name} with a Basic authorization"
        );
        assert_eq!(
            snapshot(&f, None).await,
            before,
            "{name} without a valid token changed the database"
        );

        // Another client's admin, then a member of the owner's client: the owner's data stays.
        let owned = snapshot(&f, Some(owner.client_id)).await;
        let reply = f
            .call(row.method, &row.uri, Some(&stranger), row.body.clone())
            .await;
        check_expectation(
            name,
            "another client's admin",
            row.stranger,
            reply.status.as_u16(),
            &reply.body,
        );
        if let Expect::OwnData(_) = row.stranger {
            let text = reply.body.to_string();
            assert!(
                !text.contains(MARK),
                "{name} showed another client's data: {text}"
            );
            check_own_data(name, &reply.body, stranger_client);
        }
        assert_eq!(
            snapshot(&f, Some(owner.client_id)).await,
            owned,
            "{name} by another client changed the owner's data"
        );

        if let Some(expected) = row.member {
            let reply = f
                .call(row.method, &row.uri, Some(&owner.member), row.body.clone())
                .await;
            check_expectation(
                name,
                "a member that is not an admin",
                expected,
                reply.status.as_u16(),
                &reply.body,
            );
            assert_eq!(
                snapshot(&f, Some(owner.client_id)).await,
                owned,
                "{name} by a member changed the owner's data"
            );
        }
    }

    // The same requests by the owner's admin succeed, so the refusals above came from the
    // caller and not from the request.
    for row in &rows {
        let body = row.owner_body.clone().unwrap_or_else(|| row.body.clone());
        let reply = f.call(row.method, &row.uri, Some(&owner.admin), body).await;
        assert_eq!(
            reply.status.as_u16(),
            row.owner,
            "{} by the owner: {}",
            row.operation,
            reply.body
        );
    }
    let deliveries = f
        .expect(
            200,
            "GET",
            &format!("/api/deliveries?hook_id={}", owner.hook),
            Some(&owner.admin),
            RequestBody::Empty,
        )
        .await;
    assert!(
        !deliveries.as_array().unwrap().is_empty(),
        "the owner sees its hook's deliveries"
    );
}

fn check_expectation(operation: &str, caller: &str, expected: Expect, status: u16, body: &Value) {
    let (status_expected, code) = match expected {
        Expect::NotFound => (404, Some("not_found")),
        Expect::Forbidden => (403, Some("forbidden")),
        Expect::Unprocessable => (422, Some("request_invalid")),
        Expect::OwnData(status) => (status, None),
    };
    assert_eq!(status, status_expected, "{operation} by {caller}: {body}");
    if let Some(code) = code {
        assert_eq!(body["code"], code, "{operation} by {caller}");
    }
}

/// Checks that a response to another client's agent is about that client only.
fn check_own_data(operation: &str, body: &Value, client_id: i64) {
    match operation {
        "GET /api/me" => assert_eq!(body["client"]["id"], client_id, "{operation}"),
        "GET /api/hooks"
        | "GET /api/calling-lists"
        | "GET /api/campaigns"
        | "GET /api/deliveries" => {
            assert_eq!(body, &json!([]), "{operation}")
        }
        "GET /api/agents" | "GET /api/tokens" => {
            assert_eq!(body.as_array().unwrap().len(), 1, "{operation}: {body}")
        }
        "GET /api/deliveries/stats" => {
            for hour in body.as_array().unwrap() {
                let counts = (&hour["succeeded"], &hour["failed"], &hour["pending"]);
                assert_eq!(
                    counts,
                    (&json!(0), &json!(0), &json!(0)),
                    "{operation}: {body}"
                );
            }
        }
        _ => {}
    }
}
