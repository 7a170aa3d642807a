//! The tag values a hook is rendered with.

use std::collections::BTreeMap;

use crate::auth::Agent;

/// Returns the values of the client and agent tags for hooks fired by `agent`. Tags whose
/// value the agent does not have (no email, say) are left out, so they are undefined.
pub fn agent_values(agent: &Agent, agent_columns: &[String]) -> BTreeMap<String, String> {
    let mut values = BTreeMap::new();
    values.insert("client.id".to_string(), agent.client_id.to_string());
    values.insert(
        "client.identification".to_string(),
        agent.client_identification.clone(),
    );
    values.insert("client.name".to_string(), agent.client_name.clone());
    values.insert("agent.id".to_string(), agent.id.to_string());
    values.insert("agent.username".to_string(), agent.username.clone());
    let optional = [
        ("agent.name", &agent.name),
        ("agent.lang", &agent.lang),
        ("agent.email", &agent.email),
    ];
    for (tag, value) in optional {
        if let Some(value) = value {
            values.insert(tag.to_string(), value.clone());
        }
    }

    let columns: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&agent.columns).unwrap_or_default();
    for column in agent_columns {
        let value = match columns.get(column) {
            Some(serde_json::Value::String(text)) => text.clone(),
            Some(serde_json::Value::Null) | None => continue,
            Some(other) => other.to_string(),
        };
        values.insert(format!("agent.{column}"), value);
    }
    values
}
