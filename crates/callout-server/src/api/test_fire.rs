//! `POST /api/hooks/test`: renders a draft or saved hook with sample or given values and makes
//! the call-out through the same client and address guard as deliveries, without storing
//! anything.

use std::collections::{BTreeMap, HashMap};

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use callout_template::{Event, Target, Value};
use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::api::hooks::{check, HookInput};
use crate::api::{AppState, JsonBody};
use crate::auth::Agent;
use crate::dispatch::http::{CallOut, Exchange};
use crate::dispatch::signing::new_message_id;
use crate::dispatch::webhook_headers;
use crate::error::{ApiError, ApiResult};
use crate::outbox::{payload, Change};
use crate::time::now_ms;
use crate::values::agent_values;

pub fn router() -> Router<AppState> {
    Router::new().route("/hooks/test", post(test_fire))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestInput {
    /// A saved hook to fire; its fields are used where the request gives none.
    hook_id: Option<i64>,
    url: Option<String>,
    target: Option<String>,
    event: Option<String>,
    method: Option<String>,
    /// Tag values that replace the samples; null makes a tag undefined.
    #[serde(default)]
    values: BTreeMap<String, Option<String>>,
}

#[derive(sqlx::FromRow)]
struct SavedHook {
    url: String,
    target: String,
    event: String,
    method: String,
    secret: Option<String>,
}

#[derive(Serialize)]
struct TestView {
    /// The values the URL was rendered with.
    values: BTreeMap<String, String>,
    /// The attempt's full record.
    #[serde(flatten)]
    exchange: Exchange,
    /// The start of the response body: text, or base64 when `response_body_utf8` is false.
    response_body: String,
    response_body_utf8: bool,
    /// Whether the attempt succeeded (a 2xx response).
    succeeded: bool,
}

/// Returns sample values of the object tags of `target`, as an admin page shows them.
fn sample_object(target: Target) -> Vec<(&'static str, String)> {
    match target {
        Target::CallingList => vec![("calling_list.id", "1".to_string())],
        Target::Campaigns => vec![("campaign.id", "1".to_string())],
    }
}

async fn test_fire(
    State(state): State<AppState>,
    agent: Agent,
    JsonBody(input): JsonBody<TestInput>,
) -> ApiResult<Json<TestView>> {
    let saved = match input.hook_id {
        Some(id) => Some(
            sqlx::query_as::<_, SavedHook>(
                "SELECT url, target, event, method, secret FROM hooks WHERE id = $1 AND client_id = $2",
            )
            .bind(id)
            .bind(agent.client_id)
            .fetch_optional(&state.pool)
            .await?
            .ok_or(ApiError::NotFound("hook"))?,
        ),
        None => None,
    };
    let field = |given: Option<String>, saved_value: Option<&String>, name: &str| {
        given.or_else(|| saved_value.cloned()).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "missing `{name}`: give it, or `hook_id` of a saved hook"
            ))
        })
    };
    let draft = HookInput {
        url: field(input.url, saved.as_ref().map(|hook| &hook.url), "url")?,
        target: field(
            input.target,
            saved.as_ref().map(|hook| &hook.target),
            "target",
        )?,
        event: field(input.event, saved.as_ref().map(|hook| &hook.event), "event")?,
        method: input
            .method
            .or_else(|| saved.as_ref().map(|hook| hook.method.clone()))
            .unwrap_or_else(|| "GET".to_string()),
        enabled: Some(true),
        signed: None,
    };
    check(&state, &draft)?;
    let target = Target::from_name(&draft.target).expect("checked above");
    let event = Event::from_name(&draft.event).expect("checked above");

    let tags = state.catalogue.tags_for(target, event);
    if let Some(unknown) = input
        .values
        .keys()
        .find(|name| !tags.iter().any(|tag| &tag.name == *name))
    {
        let names: Vec<&str> = tags.iter().map(|tag| tag.name.as_str()).collect();
        return Err(ApiError::Unprocessable(format!(
            "unknown tag `{unknown}` in `values`: a {} {} hook has {}",
            draft.target,
            draft.event,
            names.join(", ")
        )));
    }

    let mut values = agent_values(&agent, state.catalogue.agent_columns());
    let object_values = sample_object(target);
    for (tag, value) in &object_values {
        values.insert(tag.to_string(), value.clone());
    }
    for (tag, value) in input.values {
        match value {
            Some(value) => values.insert(tag, value),
            None => values.remove(&tag),
        };
    }

    let template = callout_template::parse(&draft.url).expect("checked above");
    let typed: HashMap<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let url = template
        .render(&typed)
        .map_err(|error| ApiError::Unprocessable(format!("rendering failed: {error}")))?;

    let now = now_ms();
    let message_id = new_message_id();
    let method = if draft.method == "POST" {
        Method::POST
    } else {
        Method::GET
    };
    let body = if method == Method::POST {
        let change = Change {
            agent: &agent,
            target,
            event,
            object_id: 1,
            object_values,
        };
        Bytes::from(payload(
            &change,
            &message_id,
            now,
            state.catalogue.agent_columns(),
        ))
    } else {
        Bytes::new()
    };
    let secrets: Vec<&str> = saved
        .as_ref()
        .and_then(|hook| hook.secret.as_deref())
        .into_iter()
        .collect();
    let headers = webhook_headers(&message_id, &secrets, now / 1000, &body, &method)
        .map_err(ApiError::Unprocessable)?;

    let exchange = state
        .client
        .send(&CallOut {
            method,
            url,
            headers,
            body,
        })
        .await;
    let (response_body, response_body_utf8) = exchange.body_text();
    tracing::info!(
        agent_id = agent.id,
        hook_id = input.hook_id,
        response_status = exchange.status,
        error_class = exchange.error_class.map(|class| class.name()),
        "test call-out made"
    );
    Ok(Json(TestView {
        values,
        succeeded: exchange.succeeded(),
        exchange,
        response_body,
        response_body_utf8,
    }))
}
