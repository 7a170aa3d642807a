//! The dispatcher: claims due deliveries from the outbox, renders their URLs, makes the
//! call-outs and records every attempt.
//!
//! A delivery goes through these steps: pending and due, claimed (a lease), attempted, then
//! succeeded, failed for good, or pending again with the next attempt scheduled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use callout_template::Value;
use tokio::sync::{Notify, Semaphore};
use tracing::Instrument;

use crate::config::DispatchSettings;
use crate::db::Pool;
use crate::time::now_ms;

/// Bytes of a response body kept in the delivery log.
pub const BODY_EXCERPT_BYTES: usize = 4096;

/// Deliveries claimed in one round.
const CLAIM_BATCH: i64 = 64;

/// How often the outbox is read when nothing wakes the dispatcher.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// A claimed delivery.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i64,
    hook_id: i64,
    template: String,
    variables: String,
    attempts: i64,
}

/// The outcome of one attempt.
#[derive(Debug, Default)]
struct Attempt {
    url: String,
    response_status: Option<u16>,
    duration_ms: i64,
    response_body: Option<String>,
    error: Option<String>,
    /// Whether a later attempt may succeed.
    retryable: bool,
}

impl Attempt {
    fn succeeded(&self) -> bool {
        self.error.is_none() && self.response_status.is_some_and(|status| (200..300).contains(&status))
    }
}

/// Makes call-outs for the deliveries in the outbox.
#[derive(Clone)]
pub struct Dispatcher {
    pool: Pool,
    client: reqwest::Client,
    settings: Arc<DispatchSettings>,
    wake: Arc<Notify>,
}

impl Dispatcher {
    /// Creates a dispatcher on `pool`. `wake` is notified after a transaction writes
    /// deliveries, so they are attempted at once rather than at the next poll.
    pub fn new(pool: Pool, settings: DispatchSettings, wake: Arc<Notify>) -> Result<Dispatcher, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Callout/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("failed to create the HTTP client: {error}"))?;
        Ok(Dispatcher { pool, client, settings: Arc::new(settings), wake })
    }

    /// Runs until the process ends: claims due deliveries and attempts each of them.
    pub async fn run(self) {
        let permits = Arc::new(Semaphore::new(self.settings.concurrency.max(1)));
        loop {
            let claimed = match self.claim().await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(%error, "failed to claim deliveries");
                    tokio::time::sleep(POLL_INTERVAL).await;
                    continue;
                }
            };
            if claimed.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(POLL_INTERVAL) => {}
                }
                continue;
            }
            for delivery in claimed {
                let Ok(permit) = permits.clone().acquire_owned().await else { return };
                let dispatcher = self.clone();
                let span = tracing::info_span!(
                    "delivery",
                    delivery_id = delivery.id,
                    hook_id = delivery.hook_id,
                    attempt = delivery.attempts + 1
                );
                tokio::spawn(
                    async move {
                        dispatcher.deliver(delivery).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }
    }

    /// Claims due deliveries with a lease longer than the whole exchange's deadline, so no
    /// other round attempts one of them while its attempt may still be running.
    async fn claim(&self) -> Result<Vec<Claimed>, sqlx::Error> {
        let now = now_ms();
        let lease = self.settings.request_timeout + self.settings.connect_timeout + Duration::from_secs(30);
        sqlx::query_as::<_, Claimed>(
            "UPDATE deliveries SET lease_until = ? WHERE id IN (SELECT id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= ? \
             AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at, id LIMIT ?) \
             RETURNING id, hook_id, template, variables, attempts",
        )
        .bind(now + lease.as_millis() as i64)
        .bind(now)
        .bind(now)
        .bind(CLAIM_BATCH)
        .fetch_all(&self.pool)
        .await
    }

    async fn deliver(&self, delivery: Claimed) {
        let hook: Option<bool> = match sqlx::query_scalar("SELECT enabled FROM hooks WHERE id = ?")
            .bind(delivery.hook_id)
            .fetch_optional(&self.pool)
            .await
        {
            Ok(hook) => hook,
            Err(error) => {
                tracing::error!(%error, "failed to read the hook; the lease will expire and the delivery is tried again");
                return;
            }
        };
        let attempt = match hook {
            None => final_failure("the hook was deleted before the call-out"),
            Some(false) => final_failure("the hook was disabled before the call-out"),
            Some(true) => match render(&delivery) {
                Ok(url) => self.send(url).await,
                Err(error) => final_failure(&error),
            },
        };
        if let Err(error) = self.record(&delivery, &attempt).await {
            tracing::error!(%error, "failed to record the attempt; the lease will expire and the delivery is tried again");
        }
    }

    /// Makes the call-out: a GET with the configured deadlines, redirects not followed.
    async fn send(&self, url: String) -> Attempt {
        let started = Instant::now();
        let mut attempt = Attempt { url: url.clone(), ..Attempt::default() };
        let result = self.client.get(&url).send().await;
        match result {
            Ok(mut response) => {
                let status = response.status();
                attempt.response_status = Some(status.as_u16());
                attempt.response_body = read_excerpt(&mut response).await;
                attempt.retryable = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
                if status.is_redirection() {
                    let location = response
                        .headers()
                        .get(reqwest::header::LOCATION)
                        .and_then(|value| value.to_str().ok())
                        .unwrap_or("");
                    attempt.error = Some(format!("redirects are not followed; Location: {location}"));
                }
            }
            Err(error) => {
                attempt.error = Some(describe(&error));
                attempt.retryable = true;
            }
        }
        attempt.duration_ms = started.elapsed().as_millis() as i64;
        attempt
    }

    /// Stores the attempt and moves the delivery to its next step.
    async fn record(&self, delivery: &Claimed, attempt: &Attempt) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let number = delivery.attempts + 1;
        let retry_delay = usize::try_from(delivery.attempts)
            .ok()
            .and_then(|index| self.settings.retry_delays.get(index));
        let (status, next_attempt_at, completed_at) = if attempt.succeeded() {
            ("succeeded", now, Some(now))
        } else {
            match retry_delay {
                Some(delay) if attempt.retryable => ("pending", now + delay.as_millis() as i64, None),
                _ => ("failed", now, Some(now)),
            }
        };

        let mut transaction = crate::db::begin_write(&self.pool).await?;
        sqlx::query(
            "INSERT INTO delivery_attempts (delivery_id, attempt, url, response_status, \
             duration_ms, response_body, error, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(delivery.id)
        .bind(number)
        .bind(&attempt.url)
        .bind(attempt.response_status)
        .bind(attempt.duration_ms)
        .bind(&attempt.response_body)
        .bind(&attempt.error)
        .bind(now - attempt.duration_ms)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, \
             lease_until = NULL, url = ?, response_status = ?, duration_ms = ?, \
             response_body = ?, error = ?, completed_at = ? WHERE id = ?",
        )
        .bind(status)
        .bind(number)
        .bind(next_attempt_at)
        .bind(&attempt.url)
        .bind(attempt.response_status)
        .bind(attempt.duration_ms)
        .bind(&attempt.response_body)
        .bind(&attempt.error)
        .bind(completed_at)
        .bind(delivery.id)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;

        tracing::info!(
            status,
            response_status = attempt.response_status,
            duration_ms = attempt.duration_ms,
            error = attempt.error.as_deref(),
            "attempt recorded"
        );
        Ok(())
    }
}

fn final_failure(reason: &str) -> Attempt {
    Attempt { error: Some(reason.to_string()), retryable: false, ..Attempt::default() }
}

/// Renders the delivery's URL from the template and values stored at the event.
fn render(delivery: &Claimed) -> Result<String, String> {
    let template = callout_template::parse(&delivery.template)
        .map_err(|errors| format!("the stored template is invalid: {}", errors[0]))?;
    let values: HashMap<String, String> = serde_json::from_str(&delivery.variables)
        .map_err(|error| format!("the stored values are invalid: {error}"))?;
    let values: HashMap<String, Value> =
        values.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
    template.render(&values).map_err(|error| format!("rendering failed: {error}"))
}

/// Reads the start of the body, up to [`BODY_EXCERPT_BYTES`], cut on a UTF-8 boundary. A body
/// that is not UTF-8 is kept with its invalid bytes replaced by U+FFFD.
async fn read_excerpt(response: &mut reqwest::Response) -> Option<String> {
    let mut body = Vec::new();
    while body.len() < BODY_EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    if body.len() > BODY_EXCERPT_BYTES {
        body.truncate(BODY_EXCERPT_BYTES);
        // Drop a character cut in two at the end.
        if let Err(error) = std::str::from_utf8(&body) {
            if error.error_len().is_none() {
                body.truncate(error.valid_up_to());
            }
        }
    }
    Some(String::from_utf8_lossy(&body).into_owned())
}

/// Describes a failed request in words an operator can act on.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
