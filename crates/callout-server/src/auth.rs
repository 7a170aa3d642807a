//! Authentication: every API call is made by an agent, named by its bearer token.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
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
    /// The id of the token the request was made with.
    #[serde(skip)]
    pub token_id: i64,
}

impl Agent {
    /// Returns 403 Forbidden unless the agent administers its client.
    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin.0 {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only an admin agent may do this".to_string(),
            ))
        }
    }
}

/// Failed authentications per client address, to slow down guessing of tokens. An address
/// with `max_failures` failures within [`FAILURE_WINDOW`] is refused until the window ends.
pub struct FailureLimiter {
    max_failures: u32,
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

/// Failed authentications an address may make per window, unless configured otherwise.
pub const MAX_FAILURES: u32 = 20;

/// The window of the failure count.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

impl Default for FailureLimiter {
    fn default() -> FailureLimiter {
        FailureLimiter::new(MAX_FAILURES)
    }
}

impl FailureLimiter {
    /// Creates a limiter that blocks an address after `max_failures` failures in a window.
    pub fn new(max_failures: u32) -> FailureLimiter {
        FailureLimiter {
            max_failures,
            failures: Mutex::default(),
        }
    }

    /// Returns the seconds until `ip` may try again, if it is blocked now.
    pub fn blocked_for(&self, ip: IpAddr) -> Option<u64> {
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (started, count) = *failures.get(&ip)?;
        let elapsed = started.elapsed();
        (count >= self.max_failures && elapsed < FAILURE_WINDOW)
            .then(|| (FAILURE_WINDOW - elapsed).as_secs().max(1))
    }

    /// Counts one failure of `ip`.
    pub fn record(&self, ip: IpAddr) {
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Keep the map small: addresses whose window has ended are forgotten.
        if failures.len() > 10_000 {
            failures.retain(|_, (started, _)| started.elapsed() < FAILURE_WINDOW);
        }
        let entry = failures.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= FAILURE_WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
    }
}

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Agent, ApiError> {
        let address = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip());
        if let Some(seconds) = address.and_then(|ip| state.sign_in_failures.blocked_for(ip)) {
            return Err(ApiError::TooManyAttempts(seconds));
        }
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|header| header.to_str().ok())
            .and_then(bearer_token);
        let agent = match token {
            Some(token) => {
                sqlx::query_as::<_, Agent>(
                    "SELECT agents.id, agents.client_id, username, agents.name, email, lang, \
                     columns, is_admin, clients.name AS client_name, clients.identification AS \
                     client_identification, tokens.id AS token_id FROM tokens \
                     JOIN agents ON agents.id = tokens.agent_id \
                     JOIN clients ON clients.id = agents.client_id \
                     WHERE tokens.token_hash = $1 AND tokens.revoked_at IS NULL",
                )
                .bind(token_hash(token))
                .fetch_optional(&state.pool)
                .await?
            }
            None => None,
        };
        match (agent, address) {
            (Some(agent), _) => Ok(agent),
            (None, Some(ip)) => {
                state.sign_in_failures.record(ip);
                tracing::info!(%ip, "request with a missing or invalid token");
                Err(ApiError::Unauthorized)
            }
            (None, None) => Err(ApiError::Unauthorized),
        }
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
