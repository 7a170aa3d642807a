//! The outbox: deliveries are written in the same transaction as the change that fires them,
//! so a change is never stored without its call-outs, nor a call-out without its change.

use std::collections::BTreeMap;

use callout_template::{Event, Target};
use sqlx::SqliteConnection;

use crate::auth::Agent;
use crate::time::now_ms;
use crate::values::agent_values;

/// A change that may fire hooks.
pub struct Change<'a> {
    /// The agent whose request made the change.
    pub agent: &'a Agent,
    /// What changed.
    pub target: Target,
    /// How it changed.
    pub event: Event,
    /// The id of the calling list or campaign.
    pub object_id: i64,
    /// Tag values of the object, such as `calling_list.id`. Undefined tags are left out.
    pub object_values: Vec<(&'static str, String)>,
}

/// Writes one pending delivery for each enabled hook of the agent's client that watches the
/// change, inside the caller's transaction, and returns how many were written.
pub async fn enqueue(
    connection: &mut SqliteConnection,
    change: &Change<'_>,
    agent_columns: &[String],
) -> Result<u64, sqlx::Error> {
    let hooks: Vec<(i64, String)> = sqlx::query_as(
        "SELECT id, url FROM hooks WHERE client_id = ? AND target = ? AND event = ? AND enabled = 1",
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
    for (hook_id, template) in &hooks {
        sqlx::query(
            "INSERT INTO deliveries (hook_id, client_id, agent_id, target, event, object_id, \
             template, variables, next_attempt_at, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(hook_id)
        .bind(change.agent.client_id)
        .bind(change.agent.id)
        .bind(change.target.name())
        .bind(change.event.name())
        .bind(change.object_id)
        .bind(template)
        .bind(&variables)
        .bind(now)
        .bind(now)
        .execute(&mut *connection)
        .await?;
    }
    Ok(hooks.len() as u64)
}
