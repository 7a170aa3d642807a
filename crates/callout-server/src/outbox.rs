//! The outbox: deliveries are written in the same transaction as the change that fires them,
//! so a change is never stored without its call-outs, nor a call-out without its change.

use std::collections::BTreeMap;

use callout_template::{Event, Target};
use sqlx::AnyConnection;

use crate::auth::Agent;
use crate::dispatch::signing::new_message_id;
use crate::time::{now_ms, rfc3339};
use crate::values::agent_values;

/// A change that may fire hooks.
pub struct Change<'a> {
    /// The agent whose request made the change.
    pub agent: &'a Agent,
    /// What changed.
    pub target: Target,
    /// The kind of change.
    pub event: Event,
    /// The id of the calling list or campaign.
    pub object_id: i64,
    /// Tag values of the object, such as `calling_list.id`. Undefined tags are left out.
    pub object_values: Vec<(&'static str, String)>,
}

/// Writes one pending delivery for each enabled hook of the agent's client that watches the
/// change, inside the caller's transaction, and returns how many were written.
pub async fn enqueue(
    connection: &mut AnyConnection,
    change: &Change<'_>,
    agent_columns: &[String],
) -> Result<u64, sqlx::Error> {
    let hooks: Vec<(i64, String, String)> = sqlx::query_as(
        "SELECT id, url, method FROM hooks \
         WHERE client_id = $1 AND target = $2 AND event = $3 AND enabled = 1",
    )
    .bind(change.agent.client_id)
    .bind(change.target.name())
    .bind(change.event.name())
    .fetch_all(&mut *connection)
    .await?;
    if hooks.is_empty() {
        return Ok(0);
    }

    let mut values: BTreeMap<String, String> = agent_values(change.agent, agent_columns);
    for (tag, value) in &change.object_values {
        values.insert(tag.to_string(), value.clone());
    }
    let variables = serde_json::to_string(&values).unwrap_or_else(|_| "{}".to_string());
    let now = now_ms();
    let description = describe(change, now, agent_columns);
    for (hook_id, template, method) in &hooks {
        let message_id = new_message_id();
        let payload = with_id(description.clone(), &message_id);
        sqlx::query(
            "INSERT INTO deliveries (hook_id, client_id, agent_id, target, event, object_id, \
             message_id, method, template, variables, payload, next_attempt_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(hook_id)
        .bind(change.agent.client_id)
        .bind(change.agent.id)
        .bind(change.target.name())
        .bind(change.event.name())
        .bind(change.object_id)
        .bind(&message_id)
        .bind(method)
        .bind(template)
        .bind(&variables)
        .bind(payload)
        .bind(now)
        .bind(now)
        .execute(&mut *connection)
        .await?;
    }
    if connection.backend_name() == "PostgreSQL" {
        // Delivered when the transaction commits, to every process's dispatcher.
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(crate::dispatch::NOTIFY_CHANNEL)
            .execute(&mut *connection)
            .await?;
    }
    Ok(hooks.len() as u64)
}

/// Returns the JSON description of a change, the body of POST call-outs, with the message id
/// `message_id`. [`describe`] builds the rest once per change.
pub fn payload(
    change: &Change<'_>,
    message_id: &str,
    now: i64,
    agent_columns: &[String],
) -> String {
    with_id(describe(change, now, agent_columns), message_id)
}

/// Returns `description` with its `id` set to `message_id`, as text.
fn with_id(mut description: serde_json::Value, message_id: &str) -> String {
    description["id"] = message_id.into();
    description.to_string()
}

/// Returns the JSON description of a change without its message id.
fn describe(change: &Change<'_>, now: i64, agent_columns: &[String]) -> serde_json::Value {
    let agent = change.agent;
    let columns: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&agent.columns).unwrap_or_default();
    let columns: serde_json::Map<String, serde_json::Value> = agent_columns
        .iter()
        .filter_map(|column| {
            columns
                .get(column)
                .map(|value| (column.clone(), value.clone()))
        })
        .collect();
    let mut object = serde_json::Map::new();
    object.insert("id".to_string(), change.object_id.into());
    for (tag, value) in &change.object_values {
        let field = tag.rsplit('.').next().unwrap_or(tag);
        if field != "id" {
            object.insert(field.to_string(), value.clone().into());
        }
    }
    serde_json::json!({
        "id": null,
        "target": change.target.name(),
        "event": change.event.name(),
        "time": rfc3339(now),
        "client": {
            "id": agent.client_id,
            "name": agent.client_name,
            "identification": agent.client_identification,
        },
        "agent": {
            "id": agent.id,
            "username": agent.username,
            "name": agent.name,
            "email": agent.email,
            "lang": agent.lang,
            "columns": columns,
        },
        "object": object,
    })
}
