//! Authentication: every API call is made by an agent, named by its bearer token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::Serialize;

use crate::api::AppState;
use crate::db::{token_hash, Flag};
use crate::error::ApiError;

/// The agent making a request, with its client.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct Agent {
    /// Agent id.
    pub id: i64,
    /// The client the agent works for. Every query of a request is limited to it.
    #[serde(skip)]
    pub client_id: i64,
    /// Sign-in name.
    pub username: String,
    /// Full name.
    pub name: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Language code.
    pub lang: Option<String>,
    /// The deployment's extra agent columns, as a JSON object.
    #[serde(skip)]
    pub columns: String,
    /// Whether the agent administers its client.
    pub is_admin: Flag,
    /// The client's name.
    #[serde(skip)]
    pub client_name: String,
    /// The client's MD5 identification.
    #[serde(skip)]
    pub client_identification: String,
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Agent, ApiError> {
        let header = parts.headers.get(AUTHORIZATION).ok_or(ApiError::Unauthorized)?;
        let token = header.to_str().ok().and_then(bearer_token).ok_or(ApiError::Unauthorized)?;
        let agent = sqlx::query_as::<_, Agent>(
            "SELECT agents.id, agents.client_id, username, agents.name, email, lang, columns, \
             is_admin, clients.name AS client_name, clients.identification AS \
             client_identification FROM agents JOIN clients ON clients.id = agents.client_id \
             WHERE token_hash = $1",
        )
        .bind(token_hash(token))
        .fetch_optional(&state.pool)
        .await?;
        agent.ok_or(ApiError::Unauthorized)
    }
}

/// Returns the token of an `Authorization: Bearer TOKEN` header value. The scheme name is
/// case-insensitive (RFC 9110 section 11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_token_table() {
        let cases = [
            ("Bearer co_abc", Some("co_abc")),
            ("bearer co_abc", Some("co_abc")),
            ("BEARER  co_abc ", Some("co_abc")),
            ("Basic co_abc", None),
            ("Bearer ", None),
            ("co_abc", None),
        ];
        for (header, expected) in cases {
            assert_eq!(bearer_token(header), expected, "header {header:?}");
        }
    }
}
