//! End to end: the `callout` binary fires hooks at a loopback receiver when calling lists and
//! campaigns change, with each tag's value percent-encoded, and only for the hook's own client.
//!
//! Each test starts its own server on a fresh database. Hooks fire after the request that
//! fires them has returned, so the tests wait for deliveries before they check. To show that
//! a hook did not fire, a test first waits for a later hook that does fire: deliveries are
//! created when their event happens, so by then any wrong one would be listed too.

use callout_e2e::{
    shared_dir, AgentRecord, Api, Body, ClientRecord, Method, NewAgent, NewHook, Receiver, Server,
};

/// A small comma-separated contact file with a quoted field.
const SMALL_CSV: &str = "FirstName,LastName,Phone\n\
                         Ada,Lovelace,+44 20 7946 0000\n\
                         \"Grace, Rear Admiral\",Hopper,555-0100\n";

/// Percent-encodes a tag value as Callout sends it: every byte outside `A-Z a-z 0-9 - . _ ~`
/// becomes `%XX` of its UTF-8 with upper-case hex. Written apart from the engine so that the
/// tests check the engine rather than repeat it.
fn encode_value(value: &str) -> String {
    let mut encoded = String::new();
    for byte in value.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || b"-._~".contains(&byte);
        if unreserved {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// A client and one agent of it, created with the command line.
struct Tenant {
    client: ClientRecord,
    agent: AgentRecord,
    api: Api,
}

fn add_tenant(server: &Server, client_name: &str, username: &str) -> Tenant {
    let client = server.add_client(client_name);
    let agent = server.add_agent(&NewAgent::new(client.id, username));
    let api = server.api(&agent.token);
    Tenant { client, agent, api }
}

#[test]
fn value_encoding_matches_known_bytes() {
    assert_eq!(encode_value("Ünited & Co"), "%C3%9Cnited%20%26%20Co");
    assert_eq!(
        encode_value("Zoë Ortiz & Ana"),
        "Zo%C3%AB%20Ortiz%20%26%20Ana"
    );
    assert_eq!(encode_value("a-b.c_d~e/f?g=h"), "a-b.c_d~e%2Ff%3Fg%3Dh");
}

#[tokio::test]
async fn import_sends_encoded_names() {
    let Some(shared) = shared_dir() else {
        println!("skipped: the shared directory with data/contacts/customers-100.csv is missing");
        return;
    };
    let csv_path = shared.join("data/contacts/customers-100.csv");
    let csv = std::fs::read_to_string(&csv_path)
        .unwrap_or_else(|error| panic!("failed to read {}: {error}", csv_path.display()));

    let server = Server::start();
    let receiver = Receiver::start();
    let client = server.add_client("Ünited & Co");
    assert_eq!(client.name, "Ünited & Co");
    let mut new_agent = NewAgent::new(client.id, "zoe");
    new_agent.name = Some("Zoë Ortiz & Ana".to_string());
    let agent = server.add_agent(&new_agent);
    assert_eq!(agent.client_id, client.id);
    let api = server.api(&agent.token);

    let template = format!(
        "{}/hook?agent_id={{agent.id}}&list={{calling_list.id}}&client={{client.name}}\
         &who={{agent.name}}",
        receiver.url()
    );
    let hook = api
        .create_hook(&NewHook::new(&template, "callinglist", "import"))
        .await;
    assert_eq!(hook.url, template);
    assert!(hook.enabled, "a hook created without `enabled` is enabled");

    let list = api.import_list("Customers 100", &csv).await;
    assert_eq!(list.name, "Customers 100");
    assert_eq!(list.contacts, 100);
    let header: Vec<&str> = csv
        .lines()
        .next()
        .expect("the file has a header")
        .split(',')
        .collect();
    assert_eq!(list.columns, header);
    assert_eq!(api.calling_list(list.id).await.contacts, 100);

    let deliveries = api.wait_for_deliveries(hook.id, 1).await;
    let expected = format!(
        "/hook?agent_id={}&list={}&client={}&who={}",
        agent.id,
        list.id,
        encode_value("Ünited & Co"),
        encode_value("Zoë Ortiz & Ana")
    );
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path_and_query, expected);

    assert_eq!(deliveries.len(), 1, "deliveries: {deliveries:#?}");
    let delivery = &deliveries[0];
    assert_eq!(delivery.status, "succeeded");
    assert_eq!(delivery.response_status, Some(200));
    assert_eq!(
        delivery.url.as_deref(),
        Some(format!("{}{expected}", receiver.url()).as_str())
    );
    assert_eq!(delivery.target, "callinglist");
    assert_eq!(delivery.event, "import");
    assert_eq!(delivery.object_id, list.id);
    assert_eq!(delivery.attempts, 1);
}

#[tokio::test]
async fn add_fires_add_hook_only() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Adders", "adder");
    let api = &tenant.api;

    let import_url = format!("{}/imported?list={{calling_list.id}}", receiver.url());
    let import_hook = api
        .create_hook(&NewHook::new(&import_url, "callinglist", "import"))
        .await;
    let add_url = format!(
        "{}/added?list={{calling_list.id}}&by={{agent.username}}",
        receiver.url()
    );
    let add_hook = api
        .create_hook(&NewHook::new(&add_url, "callinglist", "add"))
        .await;

    let list = api.import_list("Leads", SMALL_CSV).await;
    assert_eq!(list.contacts, 2);
    api.wait_for_deliveries(import_hook.id, 1).await;

    let more = "FirstName,LastName,Phone\nAlan,Turing,555-0101\nEdsger,Dijkstra,555-0102\n\
                Barbara,Liskov,555-0103\n";
    let added = api.add_contacts(list.id, more).await;
    assert_eq!(added.added, 3);
    assert_eq!(added.list.id, list.id);
    assert_eq!(added.list.contacts, 5);
    assert_eq!(api.calling_list(list.id).await.contacts, 5);

    let add_deliveries = api.wait_for_deliveries(add_hook.id, 1).await;
    assert_eq!(
        add_deliveries.len(),
        1,
        "add deliveries: {add_deliveries:#?}"
    );
    assert_eq!(add_deliveries[0].event, "add");
    assert_eq!(add_deliveries[0].object_id, list.id);
    let added_requests = receiver.requests_to("/added");
    assert_eq!(
        added_requests.len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );
    assert_eq!(added_requests[0].method, "GET");
    assert_eq!(
        added_requests[0].path_and_query,
        format!("/added?list={}&by=adder", list.id)
    );

    let import_deliveries = api.deliveries(Some(import_hook.id)).await;
    assert_eq!(
        import_deliveries.len(),
        1,
        "import deliveries: {import_deliveries:#?}"
    );
    assert_eq!(import_deliveries[0].event, "import");
    assert_eq!(
        receiver.requests_to("/imported").len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );
}

#[tokio::test]
async fn list_delete_fires() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Deleters", "deleter");
    let api = &tenant.api;

    let url = format!(
        "{}/list-deleted?list={{calling_list.id}}&client={{client.id}}&agent={{agent.id}}",
        receiver.url()
    );
    let hook = api
        .create_hook(&NewHook::new(&url, "callinglist", "delete"))
        .await;

    let list = api.import_list("Short-lived", SMALL_CSV).await;
    api.delete_list(list.id).await;
    let error = api
        .get(&format!("/api/calling-lists/{}", list.id))
        .await
        .error(404);
    assert_eq!(error.code, "not_found");

    let deliveries = api.wait_for_deliveries(hook.id, 1).await;
    assert_eq!(deliveries.len(), 1, "deliveries: {deliveries:#?}");
    assert_eq!(deliveries[0].event, "delete");
    assert_eq!(deliveries[0].object_id, list.id);
    assert_eq!(deliveries[0].response_status, Some(200));

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    assert_eq!(requests[0].method, "GET");
    let expected = format!(
        "/list-deleted?list={}&client={}&agent={}",
        list.id, tenant.client.id, tenant.agent.id
    );
    assert_eq!(requests[0].path_and_query, expected);
}

#[tokio::test]
async fn campaign_create_with_and_without_copy() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Campaigners", "planner");
    let api = &tenant.api;

    let pair_url = format!(
        "{}/campaign?id={{campaign.id}}&copy={{campaign.copy_of}}",
        receiver.url()
    );
    let pair_hook = api
        .create_hook(&NewHook::new(&pair_url, "campaigns", "create"))
        .await;
    let warned: Vec<&str> = pair_hook.warnings.iter().map(|w| w.kind.as_str()).collect();
    assert!(
        warned.contains(&"TagMayBeEmpty"),
        "warnings: {:#?}",
        pair_hook.warnings
    );
    let query_url = format!(
        "{}/optional{{?campaign.id,campaign.copy_of}}",
        receiver.url()
    );
    let query_hook = api
        .create_hook(&NewHook::new(&query_url, "campaigns", "create"))
        .await;

    let original = api.create_campaign("Spring", None).await;
    assert_eq!(original.copy_of, None);
    api.wait_for_deliveries(pair_hook.id, 1).await;
    api.wait_for_deliveries(query_hook.id, 1).await;
    let pair = receiver.requests_to("/campaign");
    assert_eq!(pair.len(), 1, "requests: {:#?}", receiver.requests());
    assert_eq!(
        pair[0].path_and_query,
        format!("/campaign?id={}&copy=", original.id)
    );
    let query = receiver.requests_to("/optional");
    assert_eq!(query.len(), 1, "requests: {:#?}", receiver.requests());
    assert_eq!(
        query[0].path_and_query,
        format!("/optional?campaign.id={}", original.id)
    );

    let copy = api.create_campaign("Spring again", Some(original.id)).await;
    assert_eq!(copy.copy_of, Some(original.id));
    api.wait_for_deliveries(pair_hook.id, 2).await;
    api.wait_for_deliveries(query_hook.id, 2).await;
    let pair = receiver.requests_to("/campaign");
    assert_eq!(pair.len(), 2, "requests: {:#?}", receiver.requests());
    let expected = format!("/campaign?id={}&copy={}", copy.id, original.id);
    assert_eq!(pair[1].path_and_query, expected);
    let query = receiver.requests_to("/optional");
    assert_eq!(query.len(), 2, "requests: {:#?}", receiver.requests());
    let expected = format!(
        "/optional?campaign.id={}&campaign.copy_of={}",
        copy.id, original.id
    );
    assert_eq!(query[1].path_and_query, expected);

    for request in receiver.requests() {
        assert_eq!(request.method, "GET", "request: {request:?}");
    }
    let deliveries = api.deliveries(Some(pair_hook.id)).await;
    let mut object_ids: Vec<i64> = deliveries.iter().map(|d| d.object_id).collect();
    object_ids.sort_unstable();
    assert_eq!(object_ids, [original.id, copy.id]);
}

#[tokio::test]
async fn campaign_delete_fires() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Cleaners", "cleaner");
    let api = &tenant.api;

    let url = format!(
        "{}/campaign-deleted/{{campaign.id}}?client={{client.id}}&by={{agent.username}}",
        receiver.url()
    );
    let hook = api
        .create_hook(&NewHook::new(&url, "campaigns", "delete"))
        .await;

    let campaign = api.create_campaign("Autumn", None).await;
    api.delete_campaign(campaign.id).await;
    let error = api
        .get(&format!("/api/campaigns/{}", campaign.id))
        .await
        .error(404);
    assert_eq!(error.code, "not_found");

    let deliveries = api.wait_for_deliveries(hook.id, 1).await;
    assert_eq!(deliveries.len(), 1, "deliveries: {deliveries:#?}");
    assert_eq!(deliveries[0].target, "campaigns");
    assert_eq!(deliveries[0].event, "delete");
    assert_eq!(deliveries[0].object_id, campaign.id);

    let requests = receiver.requests();
    assert_eq!(requests.len(), 1, "requests: {requests:#?}");
    assert_eq!(requests[0].method, "GET");
    let expected = format!(
        "/campaign-deleted/{}?client={}&by=cleaner",
        campaign.id, tenant.client.id
    );
    assert_eq!(requests[0].path_and_query, expected);
}

#[tokio::test]
async fn other_client_cannot_touch_hooks() {
    let server = Server::start();
    let receiver = Receiver::start();
    let first = add_tenant(&server, "First", "first");
    let second = add_tenant(&server, "Second", "second");
    assert_ne!(first.client.id, second.client.id);

    let first_url = format!("{}/first?list={{calling_list.id}}", receiver.url());
    let first_hook = first
        .api
        .create_hook(&NewHook::new(&first_url, "callinglist", "import"))
        .await;
    let second_url = format!("{}/second?list={{calling_list.id}}", receiver.url());
    let second_hook = second
        .api
        .create_hook(&NewHook::new(&second_url, "callinglist", "import"))
        .await;

    let path = format!("/api/hooks/{}", first_hook.id);
    let read = second.api.get(&path).await.error(404);
    assert_eq!(read.code, "not_found");
    let replacement = NewHook::new(&second_url, "callinglist", "import").enabled(false);
    let change = second
        .api
        .send(Method::PUT, &path, Body::Json(replacement.to_json()))
        .await;
    assert_eq!(change.error(404).code, "not_found");
    let delete = second.api.send(Method::DELETE, &path, Body::Empty).await;
    assert_eq!(delete.error(404).code, "not_found");
    let listed: Vec<i64> = second
        .api
        .hooks()
        .await
        .iter()
        .map(|hook| hook.id)
        .collect();
    assert_eq!(listed, [second_hook.id]);

    let unchanged = first.api.hook(first_hook.id).await;
    assert_eq!(unchanged.url, first_url);
    assert!(
        unchanged.enabled,
        "the other client's PUT must not disable the hook"
    );

    let second_list = second.api.import_list("Second's leads", SMALL_CSV).await;
    let second_deliveries = second.api.wait_for_deliveries(second_hook.id, 1).await;
    assert_eq!(second_deliveries[0].object_id, second_list.id);
    let first_deliveries = first.api.deliveries(Some(first_hook.id)).await;
    assert!(
        first_deliveries.is_empty(),
        "first client's deliveries: {first_deliveries:#?}"
    );
    assert!(
        receiver.requests_to("/first").is_empty(),
        "requests: {:#?}",
        receiver.requests()
    );
    assert_eq!(
        receiver.requests_to("/second").len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );

    // The first client's hook still fires for its own import, so the missing call-out above
    // comes from the client boundary, not from a broken hook.
    let first_list = first.api.import_list("First's leads", SMALL_CSV).await;
    let first_deliveries = first.api.wait_for_deliveries(first_hook.id, 1).await;
    assert_eq!(
        first_deliveries.len(),
        1,
        "deliveries: {first_deliveries:#?}"
    );
    assert_eq!(first_deliveries[0].object_id, first_list.id);
    let first_requests = receiver.requests_to("/first");
    assert_eq!(
        first_requests.len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );
    assert_eq!(
        first_requests[0].path_and_query,
        format!("/first?list={}", first_list.id)
    );

    let leaked = second.api.deliveries(Some(first_hook.id)).await;
    assert!(
        leaked.is_empty(),
        "the other client sees the deliveries: {leaked:#?}"
    );
}

#[tokio::test]
async fn unreadable_csv_is_rejected() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Importers", "importer");
    let api = &tenant.api;

    let import_url = format!("{}/imported?list={{calling_list.id}}", receiver.url());
    let import_hook = api
        .create_hook(&NewHook::new(&import_url, "callinglist", "import"))
        .await;
    let add_url = format!("{}/added?list={{calling_list.id}}", receiver.url());
    let add_hook = api
        .create_hook(&NewHook::new(&add_url, "callinglist", "add"))
        .await;

    let cases = [
        (
            "ragged row",
            "FirstName,LastName,Phone\nAda,Lovelace,555-0100\nBob\n",
            3,
        ),
        ("empty body", "", 1),
    ];
    for (case, csv, line) in cases {
        let reply = api
            .send(
                Method::POST,
                "/api/calling-lists?name=Broken",
                Body::Csv(csv.into()),
            )
            .await;
        let error = reply.error(422);
        assert_eq!(error.code, "csv_invalid", "{case}");
        assert_eq!(error.line, Some(line), "{case}: {error:?}");
    }
    let lists = api.calling_lists().await;
    assert!(
        lists.is_empty(),
        "a rejected file created lists: {lists:#?}"
    );

    // The valid import is the first to fire the import hook. An invalid addition to its list
    // then fires nothing and stores nothing.
    let list = api.import_list("Valid", SMALL_CSV).await;
    let import_deliveries = api.wait_for_deliveries(import_hook.id, 1).await;
    assert_eq!(
        import_deliveries.len(),
        1,
        "deliveries: {import_deliveries:#?}"
    );
    assert_eq!(import_deliveries[0].object_id, list.id);
    assert_eq!(
        receiver.requests_to("/imported").len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );

    let ragged = "FirstName,LastName,Phone\nAlan,Turing,555-0101\nEdsger\n";
    let path = format!("/api/calling-lists/{}/contacts", list.id);
    let error = api
        .send(Method::POST, &path, Body::Csv(ragged.into()))
        .await
        .error(422);
    assert_eq!(error.code, "csv_invalid");
    assert_eq!(error.line, Some(3), "{error:?}");
    assert_eq!(api.calling_list(list.id).await.contacts, 2);

    let later = api.import_list("Later", SMALL_CSV).await;
    api.wait_for_deliveries(import_hook.id, 2).await;
    assert_eq!(api.calling_lists().await.len(), 2);
    let add_deliveries = api.deliveries(Some(add_hook.id)).await;
    assert!(
        add_deliveries.is_empty(),
        "add deliveries: {add_deliveries:#?}"
    );
    assert!(
        receiver.requests_to("/added").is_empty(),
        "requests: {:#?}",
        receiver.requests()
    );
    let imported = receiver.requests_to("/imported");
    assert_eq!(imported.len(), 2, "requests: {:#?}", receiver.requests());
    assert_eq!(
        imported[1].path_and_query,
        format!("/imported?list={}", later.id)
    );
}

#[tokio::test]
async fn invalid_hook_is_rejected() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Authors", "author");
    let api = &tenant.api;

    let unknown_tag = format!("{}/x?who={{agent.nosuch}}", receiver.url());
    let start = unknown_tag
        .find("agent.nosuch")
        .expect("the tag is in the URL");
    let reply = api.send(
        Method::POST,
        "/api/hooks",
        Body::Json(NewHook::new(&unknown_tag, "callinglist", "import").to_json()),
    );
    let error = reply.await.error(422);
    assert_eq!(error.code, "hook_invalid");
    assert_eq!(error.errors.len(), 1, "errors: {:#?}", error.errors);
    let issue = &error.errors[0];
    assert_eq!(issue.kind, "TagUnknown");
    assert_eq!(issue.field.as_deref(), Some("url"));
    assert_eq!(
        (issue.start, issue.end),
        (start, start + "agent.nosuch".len())
    );
    assert_eq!((issue.line, issue.column), (1, start + 1));

    let unclosed = format!("{}/x?id={{agent.id", receiver.url());
    let open = unclosed.find('{').expect("the brace is in the URL");
    let reply = api.send(
        Method::POST,
        "/api/hooks",
        Body::Json(NewHook::new(&unclosed, "callinglist", "import").to_json()),
    );
    let error = reply.await.error(422);
    assert_eq!(error.code, "hook_invalid");
    assert_eq!(error.errors.len(), 1, "errors: {:#?}", error.errors);
    let issue = &error.errors[0];
    assert_eq!(issue.kind, "ExpressionUnclosed");
    assert_eq!(issue.field.as_deref(), Some("url"));
    assert_eq!((issue.start, issue.end), (open, unclosed.len()));
    assert_eq!((issue.line, issue.column), (1, open + 1));

    let valid = format!("{}/x?id={{agent.id}}", receiver.url());
    let reply = api.send(
        Method::POST,
        "/api/hooks",
        Body::Json(NewHook::new(&valid, "callinglist", "create").to_json()),
    );
    let error = reply.await.error(422);
    assert_eq!(error.code, "hook_invalid");
    let issue = &error.errors[0];
    assert_eq!(issue.kind, "EventUnknown");
    assert_eq!(issue.field.as_deref(), Some("event"));
    assert_eq!((issue.start, issue.end), (0, "create".len()));
    assert!(api.hooks().await.is_empty(), "a rejected hook was stored");

    // A rejected update leaves the stored hook as it was.
    let hook = api
        .create_hook(&NewHook::new(&valid, "callinglist", "import"))
        .await;
    let path = format!("/api/hooks/{}", hook.id);
    let update = NewHook::new(&unknown_tag, "callinglist", "import").enabled(true);
    let error = api
        .send(Method::PUT, &path, Body::Json(update.to_json()))
        .await
        .error(422);
    assert_eq!(error.code, "hook_invalid");
    assert_eq!(error.errors[0].kind, "TagUnknown");
    assert_eq!(api.hook(hook.id).await.url, valid);
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let server = Server::start();
    let admin = server.admin_api();
    let me = admin.me().await;
    assert_eq!(me["agent"]["is_admin"], true, "GET /api/me: {me}");

    let headers = [
        None,
        Some(format!("Bearer {}x", server.admin_token())),
        Some("Bearer not-a-token".to_string()),
        Some("Bearer ".to_string()),
        Some(format!("Basic {}", server.admin_token())),
        Some(server.admin_token().to_string()),
    ];
    let hook = NewHook::new(
        "http://127.0.0.1:9/x?id={agent.id}",
        "callinglist",
        "import",
    );
    for header in headers {
        let api = Api::with_authorization(server.url(), header.clone());
        let requests = [
            (Method::GET, "/api/me", Body::Empty),
            (Method::GET, "/api/hooks", Body::Empty),
            (Method::POST, "/api/hooks", Body::Json(hook.to_json())),
            (Method::GET, "/api/deliveries", Body::Empty),
            (
                Method::POST,
                "/api/calling-lists?name=x",
                Body::Csv(SMALL_CSV.into()),
            ),
            (Method::DELETE, "/api/campaigns/1", Body::Empty),
        ];
        for (method, path, body) in requests {
            let reply = api.send(method, path, body).await;
            assert_eq!(
                reply.status, 401,
                "{} with {header:?}: {}",
                reply.request, reply.text
            );
            let code = &reply.body["code"];
            assert_eq!(
                code, "unauthorized",
                "{} with {header:?}: {}",
                reply.request, reply.text
            );
        }
    }

    // None of the rejected requests stored anything for the admin's client.
    assert!(admin
        .hooks()
        .await
        .iter()
        .all(|hook| !hook.url.contains("127.0.0.1:9/")));
    assert!(admin
        .calling_lists()
        .await
        .iter()
        .all(|list| list.name != "x"));
}

#[tokio::test]
async fn disabled_hook_does_not_fire() {
    let server = Server::start();
    let receiver = Receiver::start();
    let tenant = add_tenant(&server, "Switchers", "switcher");
    let api = &tenant.api;

    let off_url = format!("{}/off?list={{calling_list.id}}", receiver.url());
    let off = NewHook::new(&off_url, "callinglist", "import").enabled(false);
    let off_hook = api.create_hook(&off).await;
    assert!(!off_hook.enabled);
    let on_url = format!("{}/on?list={{calling_list.id}}", receiver.url());
    let on = NewHook::new(&on_url, "callinglist", "import");
    let on_hook = api.create_hook(&on).await;
    assert!(on_hook.enabled);

    let first = api.import_list("First", SMALL_CSV).await;
    api.wait_for_deliveries(on_hook.id, 1).await;
    let off_deliveries = api.deliveries(Some(off_hook.id)).await;
    assert!(
        off_deliveries.is_empty(),
        "disabled hook's deliveries: {off_deliveries:#?}"
    );
    assert!(
        receiver.requests_to("/off").is_empty(),
        "requests: {:#?}",
        receiver.requests()
    );
    let on_requests = receiver.requests_to("/on");
    assert_eq!(on_requests.len(), 1, "requests: {:#?}", receiver.requests());
    assert_eq!(
        on_requests[0].path_and_query,
        format!("/on?list={}", first.id)
    );

    // Swap them with PUT: now only the other one fires.
    let updated = api.update_hook(on_hook.id, &on.enabled(false)).await;
    assert!(!updated.enabled);
    let updated = api.update_hook(off_hook.id, &off.enabled(true)).await;
    assert!(updated.enabled);

    let second = api.import_list("Second", SMALL_CSV).await;
    let off_deliveries = api.wait_for_deliveries(off_hook.id, 1).await;
    assert_eq!(off_deliveries.len(), 1, "deliveries: {off_deliveries:#?}");
    assert_eq!(off_deliveries[0].object_id, second.id);
    let on_deliveries = api.deliveries(Some(on_hook.id)).await;
    assert_eq!(
        on_deliveries.len(),
        1,
        "disabled hook fired again: {on_deliveries:#?}"
    );
    assert_eq!(
        receiver.requests_to("/on").len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );
    let off_requests = receiver.requests_to("/off");
    assert_eq!(
        off_requests.len(),
        1,
        "requests: {:#?}",
        receiver.requests()
    );
    assert_eq!(
        off_requests[0].path_and_query,
        format!("/off?list={}", second.id)
    );
}
