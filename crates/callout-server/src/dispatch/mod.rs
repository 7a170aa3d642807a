//! The dispatcher: claims due deliveries from the outbox, makes the call-outs and records
//! every attempt.
//!
//! A delivery goes through these steps: pending and due, claimed (a lease), attempted, then
//! succeeded, failed for good, or pending again with its next attempt scheduled. A claim is a
//! lease longer than the whole exchange's deadline, so a slow receiver is not called twice at
//! once for one delivery while the lease holds. A process that dies leaves its leases to
//! expire, and the deliveries are attempted again with the same `webhook-id`.

pub mod guard;
pub mod http;
mod recorder;
pub mod retry;
pub mod signing;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use callout_template::Value;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Method;
use tokio::sync::{watch, Notify, Semaphore};
use tracing::Instrument;

use crate::config::DispatchSettings;
use crate::db::{backend, Backend, Flag, Pool, Writer};
use crate::metrics::{Metrics, Outcome};
use crate::time::{now_ms, rfc3339};
use http::{CallOut, Client, ErrorClass, Exchange};
use recorder::{Attempt, HookChange, Recorder};

/// The PostgreSQL channel notified when deliveries are written.
pub const NOTIFY_CHANNEL: &str = "callout_deliveries";

/// Deliveries claimed in one round.
const CLAIM_BATCH: i64 = 64;

/// How often the outbox is read when nothing wakes the dispatcher.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Time a claim lasts beyond the whole exchange's deadline, for recording the attempt.
const LEASE_MARGIN: Duration = Duration::from_secs(10);

/// A claimed delivery.
#[derive(Debug, sqlx::FromRow)]
struct Claimed {
    id: i64,
    hook_id: i64,
    message_id: String,
    method: String,
    template: String,
    variables: String,
    payload: String,
    attempts: i64,
    round_attempts: i64,
}

/// The signing state of a hook at the time of an attempt.
#[derive(Debug, sqlx::FromRow)]
struct HookState {
    enabled: Flag,
    secret: Option<String>,
    previous_secret: Option<String>,
    previous_secret_until: Option<i64>,
    failing_since: Option<i64>,
}

/// A hook's state with its id, as [`Dispatcher::hook_states`] reads it.
#[derive(Debug, sqlx::FromRow)]
struct HookRow {
    id: i64,
    #[sqlx(flatten)]
    state: HookState,
}

/// Makes call-outs for the deliveries in the outbox.
#[derive(Clone)]
pub struct Dispatcher {
    pool: Pool,
    client: Client,
    settings: Arc<DispatchSettings>,
    wake: Arc<Notify>,
    metrics: Arc<Metrics>,
    recorder: Recorder,
}

impl Dispatcher {
    /// Creates a dispatcher on `pool`, and starts the task that stores its attempts. `wake` is
    /// notified after a transaction writes deliveries, so they are attempted at once rather
    /// than at the next poll.
    pub fn new(
        pool: Pool,
        settings: DispatchSettings,
        client: Client,
        wake: Arc<Notify>,
        metrics: Arc<Metrics>,
    ) -> Dispatcher {
        Dispatcher {
            recorder: Recorder::start(pool.clone()),
            pool,
            client,
            settings: Arc::new(settings),
            wake,
            metrics,
        }
    }

    /// Claims due deliveries and attempts each of them until `stop` turns true. Then it
    /// claims no more, lets the attempts under way finish (each is bounded by the request
    /// deadline), and hands back the claims it has not started, so another process or the
    /// next start takes them at once.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        self.listen_for_deliveries();
        let concurrency = self.settings.concurrency.max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        while !*stop.borrow() {
            // Claim only deliveries that can start at once. A claimed delivery that waited for
            // a free slot would spend its lease waiting, and could still be in flight when the
            // lease ends and another process claims it. Only this loop takes permits, so those
            // free now are still free when the claimed deliveries start below.
            if permits.available_permits() == 0 {
                tokio::select! {
                    _ = permits.acquire() => {}
                    _ = stop.changed() => continue,
                }
            }
            let available = permits.available_permits().min(CLAIM_BATCH as usize) as i64;
            let claimed = match self.claim(available).await {
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
                    _ = stop.changed() => {}
                }
                continue;
            }
            let hooks = match self.hook_states(&claimed).await {
                Ok(hooks) => hooks,
                Err(error) => {
                    tracing::error!(%error, "failed to read the hooks of claimed deliveries");
                    let ids: Vec<i64> = claimed.iter().map(|delivery| delivery.id).collect();
                    self.release(&ids).await;
                    tokio::time::sleep(POLL_INTERVAL).await;
                    continue;
                }
            };
            let mut claimed = claimed.into_iter();
            while let Some(delivery) = claimed.next() {
                let permit = tokio::select! {
                    permit = permits.clone().acquire_owned() => permit,
                    _ = stop.changed() => {
                        let unstarted: Vec<i64> = std::iter::once(delivery.id).chain(claimed.map(|d| d.id)).collect();
                        self.release(&unstarted).await;
                        break;
                    }
                };
                let Ok(permit) = permit else { return };
                let hook = hooks.get(&delivery.hook_id).cloned();
                let dispatcher = self.clone();
                let span = tracing::info_span!(
                    "delivery",
                    delivery_id = delivery.id,
                    hook_id = delivery.hook_id,
                    attempt = delivery.attempts + 1
                );
                tokio::spawn(
                    async move {
                        dispatcher.deliver(delivery, hook).await;
                        drop(permit);
                    }
                    .instrument(span),
                );
            }
        }

        let drain = self.settings.request_timeout + LEASE_MARGIN;
        let drained = tokio::time::timeout(drain, permits.acquire_many(concurrency as u32)).await;
        match drained {
            Ok(_) => tracing::info!("dispatcher stopped; every attempt under way was recorded"),
            Err(_) => tracing::warn!(
                "dispatcher stopped with attempts still under way; their leases will expire"
            ),
        }
    }

    /// Hands back claims that were not started.
    async fn release(&self, ids: &[i64]) {
        let _gate = match crate::db::write_gate_as(&self.pool, Writer::Dispatcher).await {
            Ok(gate) => gate,
            Err(error) => {
                tracing::warn!(%error, count = ids.len(), "failed to hand back claims; their leases will expire");
                return;
            }
        };
        for id in ids {
            let released = sqlx::query(
                "UPDATE deliveries SET lease_until = NULL WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .execute(&self.pool)
            .await;
            if let Err(error) = released {
                tracing::warn!(%error, delivery_id = id, "failed to hand back a claim; its lease will expire");
            }
        }
        tracing::info!(count = ids.len(), "handed back unstarted claims");
    }

    /// Returns how long a claim lasts.
    fn lease(&self) -> Duration {
        self.settings.request_timeout + LEASE_MARGIN
    }

    /// Claims up to `limit` due deliveries. On PostgreSQL, rows another process is claiming
    /// at the same moment are skipped rather than waited for.
    async fn claim(&self, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
        let now = now_ms();
        let lock = match backend(&self.pool) {
            Backend::Sqlite => "",
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
        };
        let _gate = crate::db::write_gate_as(&self.pool, Writer::Dispatcher).await?;
        sqlx::query_as::<_, Claimed>(&format!(
            "UPDATE deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until <= $3) ORDER BY next_attempt_at, id LIMIT $4 \
             {lock}) RETURNING id, hook_id, message_id, method, template, variables, payload, \
             attempts, round_attempts"
        ))
        .bind(now + self.lease().as_millis() as i64)
        .bind(now)
        .bind(now)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
    }

    /// Wakes this dispatcher whenever any process writes deliveries, through PostgreSQL's
    /// `LISTEN`. The poll of the outbox stays as the fallback while the listener reconnects.
    fn listen_for_deliveries(&self) {
        if backend(&self.pool) != Backend::Postgres {
            return;
        }
        let url = self.pool.connect_options().database_url.to_string();
        let wake = self.wake.clone();
        tokio::spawn(async move {
            loop {
                let listened = async {
                    let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
                    listener.listen(NOTIFY_CHANNEL).await?;
                    loop {
                        listener.recv().await?;
                        wake.notify_one();
                    }
                    #[allow(unreachable_code)]
                    Ok::<(), sqlx::Error>(())
                };
                if let Err(error) = listened.await {
                    tracing::warn!(%error, "lost the notification listener; polling until it reconnects");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }

    /// Reads the signing state of the hooks of `claimed`, by hook id, in one query. A hook
    /// that was deleted is missing.
    async fn hook_states(
        &self,
        claimed: &[Claimed],
    ) -> Result<HashMap<i64, Arc<HookState>>, sqlx::Error> {
        let mut ids: Vec<i64> = claimed.iter().map(|delivery| delivery.hook_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT id, enabled, secret, previous_secret, previous_secret_until, failing_since \
             FROM hooks WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, HookRow>(&sql);
        for id in &ids {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|row| (row.id, Arc::new(row.state)))
            .collect())
    }

    /// Makes the call-out of `delivery` and records the attempt. `hook` is the hook's state
    /// when the delivery was claimed, or `None` if the hook was deleted.
    async fn deliver(&self, delivery: Claimed, hook: Option<Arc<HookState>>) {
        let exchange = match &hook {
            None => stopped("the hook was deleted before the call-out"),
            Some(hook) if !hook.enabled.0 => stopped("the hook was disabled before the call-out"),
            Some(hook) => match call_out(&delivery, hook, now_ms()) {
                Ok(call) => self.client.send(&call).await,
                Err(message) => Exchange {
                    error: Some(message),
                    error_class: Some(ErrorClass::InvalidUrl),
                    ..Exchange::default()
                },
            },
        };
        if let Err(error) = self.record(&delivery, hook.as_deref(), exchange).await {
            tracing::error!(%error, "failed to record the attempt; the delivery is tried again when its lease ends");
        }
    }

    /// Returns when the next attempt is due after `exchange`, or `None` if there is none.
    fn next_attempt(&self, delivery: &Claimed, exchange: &Exchange, now: i64) -> Option<i64> {
        if exchange.succeeded() || !retry::is_retryable(exchange) {
            return None;
        }
        let index = usize::try_from(delivery.round_attempts).ok()?;
        let scheduled = *self.settings.retry_delays.get(index)?;
        let requested = exchange
            .response_header("retry-after")
            .filter(|_| matches!(exchange.status, Some(429 | 503)))
            .and_then(|value| retry::retry_after(value, SystemTime::now()));
        let delay =
            requested.unwrap_or_else(|| retry::with_jitter(scheduled, self.settings.jitter));
        Some(now + delay.as_millis() as i64)
    }

    /// Stores the attempt, moves the delivery to its next step and updates the hook's run of
    /// failures, in one transaction that may hold other attempts too.
    async fn record(
        &self,
        delivery: &Claimed,
        hook: Option<&HookState>,
        exchange: Exchange,
    ) -> Result<(), String> {
        let now = now_ms();
        let next_attempt_at = self.next_attempt(delivery, &exchange, now);
        let (status, outcome) = match (exchange.succeeded(), next_attempt_at) {
            (true, _) => ("succeeded", Outcome::Succeeded),
            (false, Some(_)) => ("pending", Outcome::Retried),
            (false, None) => ("failed", Outcome::Failed),
        };
        self.metrics
            .record_attempt(outcome, exchange.timings.total_ms);
        let hook_change = hook
            .filter(|hook| hook.enabled.0)
            .and_then(|hook| self.hook_change(delivery.hook_id, hook, &exchange, now));
        if let Some(HookChange::Failing {
            disable_reason: Some(reason),
            ..
        }) = &hook_change
        {
            tracing::warn!(hook_id = delivery.hook_id, reason, "hook disabled");
        }

        let response_status = exchange.status;
        let total_ms = exchange.timings.total_ms;
        let error_class = exchange.error_class.map(|class| class.name());
        let error = exchange.error.clone();
        let attempt = Attempt {
            delivery_id: delivery.id,
            number: delivery.attempts + 1,
            status,
            next_attempt_at,
            exchange,
            hook_change,
            ended_at: now,
        };
        self.recorder.record(attempt).await?;
        tracing::info!(
            status,
            response_status,
            total_ms,
            error_class,
            error = error.as_deref(),
            "attempt recorded"
        );
        Ok(())
    }

    /// Returns how the hook's run of failures changes after `exchange`: a success clears it.
    /// A failure starts or continues it, and disables the hook when the receiver responded
    /// 410 Gone or the run has lasted the configured period.
    fn hook_change(
        &self,
        hook_id: i64,
        hook: &HookState,
        exchange: &Exchange,
        now: i64,
    ) -> Option<HookChange> {
        if exchange.succeeded() {
            return hook
                .failing_since
                .is_some()
                .then_some(HookChange::ClearFailures { hook_id });
        }

        let since = hook.failing_since.unwrap_or(now);
        let disable_reason = if exchange.status == Some(410) {
            Some("the receiver responded 410 Gone".to_string())
        } else if now - since >= self.settings.disable_after.as_millis() as i64 {
            Some(format!("every call-out failed from {} on", rfc3339(since)))
        } else {
            None
        };
        Some(HookChange::Failing {
            hook_id,
            since,
            disable_reason,
        })
    }
}

/// Returns the record of an attempt that was not made.
fn stopped(reason: &str) -> Exchange {
    Exchange {
        error: Some(reason.to_string()),
        error_class: Some(ErrorClass::HookUnavailable),
        ..Exchange::default()
    }
}

/// Returns the signing secrets of a hook that are valid at `now`, newest first.
fn valid_secrets(hook: &HookState, now: i64) -> Vec<&str> {
    let mut secrets: Vec<&str> = hook.secret.as_deref().into_iter().collect();
    if hook.previous_secret_until.is_some_and(|until| until > now) {
        secrets.extend(hook.previous_secret.as_deref());
    }
    secrets
}

/// Builds the call-out of a delivery: the URL rendered from the values stored at the event,
/// the Standard Webhooks headers with a fresh timestamp, and for POST the JSON payload.
fn call_out(delivery: &Claimed, hook: &HookState, now: i64) -> Result<CallOut, String> {
    let url = render(&delivery.template, &delivery.variables)?;
    let method = if delivery.method == "POST" {
        Method::POST
    } else {
        Method::GET
    };
    let body = if method == Method::POST {
        Bytes::from(delivery.payload.clone())
    } else {
        Bytes::new()
    };
    let headers = webhook_headers(
        &delivery.message_id,
        &valid_secrets(hook, now),
        now / 1000,
        &body,
        &method,
    )?;
    Ok(CallOut {
        method,
        url,
        headers,
        body,
    })
}

/// Returns the `webhook-id`, `webhook-timestamp` and, with secrets, `webhook-signature`
/// headers, and `content-type` for a body.
pub fn webhook_headers(
    message_id: &str,
    secrets: &[&str],
    timestamp: i64,
    body: &[u8],
    method: &Method,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let value = |text: &str| {
        HeaderValue::from_str(text).map_err(|_| format!("invalid header value `{text}`"))
    };
    let mut headers = vec![
        (HeaderName::from_static("webhook-id"), value(message_id)?),
        (
            HeaderName::from_static("webhook-timestamp"),
            value(&timestamp.to_string())?,
        ),
    ];
    let signatures: Vec<String> = secrets
        .iter()
        .filter_map(|secret| signing::sign(secret, message_id, timestamp, body))
        .collect();
    if !signatures.is_empty() {
        headers.push((
            HeaderName::from_static("webhook-signature"),
            value(&signatures.join(" "))?,
        ));
    }
    if *method == Method::POST {
        headers.push((
            hyper::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    Ok(headers)
}

/// Renders a template with values stored as a JSON object of strings.
fn render(template: &str, variables: &str) -> Result<String, String> {
    let template = callout_template::parse(template)
        .map_err(|errors| format!("the stored template is invalid: {}", errors[0]))?;
    let values: HashMap<String, String> = serde_json::from_str(variables)
        .map_err(|error| format!("the stored values are invalid: {error}"))?;
    let values: HashMap<String, Value> = values
        .into_iter()
        .map(|(name, value)| (name, Value::String(value)))
        .collect();
    template
        .render(&values)
        .map_err(|error| format!("rendering failed: {error}"))
}
