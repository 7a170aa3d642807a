//! Stores attempts in the database, many to a transaction.
//!
//! Each attempt writes its record, moves its delivery to the next step and may change its
//! hook. Written one transaction each, these writes set the dispatcher's pace on SQLite,
//! which lets one connection write at a time. There the recorder takes every attempt that is
//! waiting when it starts a transaction, so under load one commit stores many attempts, and
//! with a single attempt waiting it costs what one transaction did. PostgreSQL runs many
//! transactions at once, so there each attempt is stored in its own, by the task that made it.

use tokio::sync::{mpsc, oneshot};

use super::http::Exchange;
use crate::db::{backend, Backend, Pool, Writer};

/// Attempts stored in one transaction, at most.
const BATCH: usize = 128;

/// An attempt, with the decisions that follow from it, ready to be stored.
#[derive(Debug)]
pub struct Attempt {
    /// The delivery attempted.
    pub delivery_id: i64,
    /// The attempt's number, from 1.
    pub number: i64,
    /// The delivery's next status: `succeeded`, `failed` or `pending`.
    pub status: &'static str,
    /// When the next attempt is due, in milliseconds since the Unix epoch, if there is one.
    pub next_attempt_at: Option<i64>,
    /// The request sent and the response received.
    pub exchange: Exchange,
    /// The change to the delivery's hook, if any.
    pub hook_change: Option<HookChange>,
    /// When the attempt ended, in milliseconds since the Unix epoch.
    pub ended_at: i64,
}

/// A change to a hook's run of failures after an attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum HookChange {
    /// A success ends the hook's run of failures.
    ClearFailures { hook_id: i64 },
    /// A failure starts or continues the run. With a reason, it also disables the hook.
    Failing {
        hook_id: i64,
        since: i64,
        disable_reason: Option<String>,
    },
}

/// A request to store one attempt, and where to report the result.
type Job = (Attempt, oneshot::Sender<Result<(), String>>);

/// The handle through which dispatch tasks store their attempts.
#[derive(Clone)]
pub struct Recorder {
    pool: Pool,
    /// The queue of the task that stores attempts in batches, on SQLite only.
    jobs: Option<mpsc::UnboundedSender<Job>>,
}

impl Recorder {
    /// Returns a recorder that stores attempts in `pool`. On SQLite it starts the task that
    /// stores them in batches, which ends when every handle is dropped.
    pub fn start(pool: Pool) -> Recorder {
        let jobs = (backend(&pool) == Backend::Sqlite).then(|| {
            let (jobs, queue) = mpsc::unbounded_channel();
            tokio::spawn(store_batches(pool.clone(), queue));
            jobs
        });
        Recorder { pool, jobs }
    }

    /// Stores `attempt` and returns once it is committed, or with the error that stopped it.
    pub async fn record(&self, attempt: Attempt) -> Result<(), String> {
        let Some(jobs) = &self.jobs else {
            return store_together(&self.pool, std::slice::from_ref(&attempt))
                .await
                .map_err(|error| error.to_string());
        };
        let (done, result) = oneshot::channel();
        jobs.send((attempt, done))
            .map_err(|_| "the recorder has stopped".to_string())?;
        result
            .await
            .map_err(|_| "the recorder stopped before storing the attempt".to_string())?
    }
}

/// Takes the attempts waiting in `queue`, up to [`BATCH`], and stores them in one
/// transaction, until every sender is dropped. The queue needs no bound of its own: each
/// dispatch task waits for its attempt to be stored while it occupies one of the dispatcher's
/// slots, so the queue never contains more attempts than there are slots.
async fn store_batches(pool: Pool, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let (attempts, senders): (Vec<Attempt>, Vec<_>) = batch.drain(..).unzip();
        let results = store(&pool, &attempts).await;
        for (sender, result) in senders.into_iter().zip(results) {
            // The dispatch task may have been cancelled; the attempt is stored all the same.
            let _ = sender.send(result);
        }
    }
}

/// Stores `attempts` in one transaction. If that fails, it stores each in a transaction of
/// its own, so that one attempt that cannot be stored does not hold back the others.
async fn store(pool: &Pool, attempts: &[Attempt]) -> Vec<Result<(), String>> {
    let together = store_together(pool, attempts).await;
    match together {
        Ok(()) => attempts.iter().map(|_| Ok(())).collect(),
        Err(_) if attempts.len() == 1 => vec![together.map_err(|error| error.to_string())],
        Err(error) => {
            tracing::warn!(%error, count = attempts.len(), "failed to store a batch of attempts; storing them one by one");
            let mut results = Vec::with_capacity(attempts.len());
            for attempt in attempts {
                let stored = store_together(pool, std::slice::from_ref(attempt)).await;
                results.push(stored.map_err(|error| error.to_string()));
            }
            results
        }
    }
}

async fn store_together(pool: &Pool, attempts: &[Attempt]) -> Result<(), sqlx::Error> {
    let mut transaction = crate::db::begin_write_as(pool, Writer::Dispatcher).await?;
    for attempt in attempts {
        let body = attempt.exchange.body_text();
        insert_attempt(&mut transaction, attempt, &body).await?;
        update_delivery(&mut transaction, attempt, &body.0).await?;
        if let Some(change) = &attempt.hook_change {
            update_hook(&mut transaction, change).await?;
        }
    }
    transaction.commit().await
}

/// Inserts the record of `attempt`. `body` is the response body as stored, and whether it is
/// UTF-8 text rather than base64.
async fn insert_attempt(
    connection: &mut sqlx::AnyConnection,
    attempt: &Attempt,
    (body, body_utf8): &(String, bool),
) -> Result<(), sqlx::Error> {
    let exchange = &attempt.exchange;
    let headers = |pairs: &Vec<(String, String)>| serde_json::to_string(pairs).unwrap_or_default();

    sqlx::query(
        "INSERT INTO delivery_attempts (delivery_id, attempt, method, url, address, \
         request_headers, response_status, response_headers, response_body, \
         response_body_utf8, response_body_truncated, error_class, error, dns_ms, \
         connect_ms, tls_ms, first_byte_ms, total_ms, started_at, next_attempt_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
    )
    .bind(attempt.delivery_id)
    .bind(attempt.number)
    .bind(&exchange.method)
    .bind(&exchange.url)
    .bind(exchange.address.map(|address| address.to_string()))
    .bind(headers(&exchange.request_headers))
    .bind(exchange.status.map(i64::from))
    .bind(headers(&exchange.response_headers))
    .bind(body)
    .bind(i64::from(*body_utf8))
    .bind(i64::from(exchange.body_truncated))
    .bind(exchange.error_class.map(|class| class.name()))
    .bind(&exchange.error)
    .bind(exchange.timings.dns_ms)
    .bind(exchange.timings.connect_ms)
    .bind(exchange.timings.tls_ms)
    .bind(exchange.timings.first_byte_ms)
    .bind(exchange.timings.total_ms)
    .bind(attempt.ended_at - exchange.timings.total_ms as i64)
    .bind(attempt.next_attempt_at)
    // sqlx 0.8.6's `Any` driver sends a NULL `f64` to PostgreSQL typed as `real`, so a
    // statement prepared with a NULL timing and cached would reject every later attempt
    // with a timing ("incorrect binary data format"). Unprepared, each bind is typed anew.
    .persistent(false)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Moves the delivery of `attempt` to its next step, keeping the start of `body` as the latest
/// response.
async fn update_delivery(
    connection: &mut sqlx::AnyConnection,
    attempt: &Attempt,
    body: &str,
) -> Result<(), sqlx::Error> {
    let exchange = &attempt.exchange;
    let excerpt: String = body.chars().take(1024).collect();
    let completed_at = (attempt.status != "pending").then_some(attempt.ended_at);
    sqlx::query(
        "UPDATE deliveries SET status = $1, attempts = $2, round_attempts = round_attempts + 1, \
         next_attempt_at = COALESCE($3, next_attempt_at), lease_until = NULL, url = $4, \
         response_status = $5, duration_ms = $6, response_body = $7, error_class = $8, error = $9, \
         completed_at = $10 WHERE id = $11",
    )
    .bind(attempt.status)
    .bind(attempt.number)
    .bind(attempt.next_attempt_at)
    .bind(&exchange.url)
    .bind(exchange.status.map(i64::from))
    .bind(exchange.timings.total_ms as i64)
    .bind(excerpt)
    .bind(exchange.error_class.map(|class| class.name()))
    .bind(&exchange.error)
    .bind(completed_at)
    .bind(attempt.delivery_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

async fn update_hook(
    connection: &mut sqlx::AnyConnection,
    change: &HookChange,
) -> Result<(), sqlx::Error> {
    match change {
        HookChange::ClearFailures { hook_id } => {
            sqlx::query("UPDATE hooks SET failing_since = NULL WHERE id = $1")
                .bind(hook_id)
                .execute(&mut *connection)
                .await?;
        }
        HookChange::Failing {
            hook_id,
            since,
            disable_reason,
        } => {
            sqlx::query(
                "UPDATE hooks SET failing_since = $1, \
                 enabled = CASE WHEN $2 IS NULL THEN enabled ELSE 0 END, \
                 disabled_reason = COALESCE($3, disabled_reason) WHERE id = $4",
            )
            .bind(since)
            .bind(disable_reason)
            .bind(disable_reason)
            .bind(hook_id)
            .execute(&mut *connection)
            .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opens a fresh SQLite database with `count` pending deliveries, numbered from 1.
    async fn database_with_deliveries(folder: &tempfile::TempDir, count: i64) -> Pool {
        let url = format!("sqlite://{}", folder.path().join("recorder.db").display());
        let pool = crate::db::connect(&url).await.unwrap();
        for id in 1..=count {
            sqlx::query(
                "INSERT INTO deliveries (id, hook_id, client_id, agent_id, target, event, \
                 object_id, message_id, method, template, variables, payload, next_attempt_at, \
                 created_at) VALUES ($1, 1, 1, 1, 'campaigns', 'create', 1, $2, 'GET', \
                 'https://example.com/', '{}', '{}', 0, 0)",
            )
            .bind(id)
            .bind(format!("msg_{id}"))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool
    }

    fn succeeded(delivery_id: i64) -> Attempt {
        Attempt {
            delivery_id,
            number: 1,
            status: "succeeded",
            next_attempt_at: None,
            exchange: Exchange {
                url: "https://example.com/".to_string(),
                method: "GET".to_string(),
                status: Some(200),
                ..Exchange::default()
            },
            hook_change: None,
            ended_at: 1_000,
        }
    }

    async fn statuses(pool: &Pool) -> Vec<(i64, String)> {
        sqlx::query_as("SELECT id, status FROM deliveries ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    async fn attempt_rows(pool: &Pool) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM delivery_attempts")
            .fetch_one(pool)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn batch_stores_every_attempt() {
        let folder = tempfile::tempdir().unwrap();
        let pool = database_with_deliveries(&folder, 3).await;

        let results = store(&pool, &[succeeded(1), succeeded(2), succeeded(3)]).await;

        assert_eq!(results, vec![Ok(()), Ok(()), Ok(())]);
        assert_eq!(attempt_rows(&pool).await, 3);
        for (id, status) in statuses(&pool).await {
            assert_eq!(status, "succeeded", "delivery {id}");
        }
    }

    #[tokio::test]
    async fn bad_attempt_spares_its_batch() {
        let folder = tempfile::tempdir().unwrap();
        let pool = database_with_deliveries(&folder, 2).await;

        // No delivery 99 exists, so its attempt breaks the foreign key.
        let results = store(&pool, &[succeeded(1), succeeded(99), succeeded(2)]).await;

        assert_eq!(results[0], Ok(()));
        assert!(
            results[1].is_err(),
            "the attempt of a missing delivery was stored"
        );
        assert_eq!(results[2], Ok(()));
        assert_eq!(attempt_rows(&pool).await, 2);
        assert_eq!(
            statuses(&pool).await,
            vec![(1, "succeeded".to_string()), (2, "succeeded".to_string())]
        );
    }

    #[tokio::test]
    async fn concurrent_attempts_all_reported() {
        let folder = tempfile::tempdir().unwrap();
        let pool = database_with_deliveries(&folder, 200).await;
        let recorder = Recorder::start(pool.clone());

        let tasks: Vec<_> = (1..=200)
            .map(|id| {
                let recorder = recorder.clone();
                tokio::spawn(async move { recorder.record(succeeded(id)).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap(), Ok(()));
        }

        assert_eq!(attempt_rows(&pool).await, 200);
    }
}
