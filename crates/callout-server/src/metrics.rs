//! Prometheus metrics at `/metrics`, and the health checks `/healthz` and `/readyz`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::api::AppState;
use crate::time::now_ms;

/// Upper bounds of the attempt duration histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Counters the dispatcher updates as it records attempts.
#[derive(Default)]
pub struct Metrics {
    succeeded: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    /// Counts per bucket of [`BUCKETS`], then one for larger values.
    duration_buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of durations, in microseconds.
    duration_sum_us: AtomicU64,
}

/// The step a delivery moves to after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The receiver responded 2xx.
    Succeeded,
    /// The attempt failed and another is scheduled.
    Retried,
    /// The attempt failed and the delivery has ended.
    Failed,
}

impl Metrics {
    /// Counts an attempt that took `duration_ms` and had `outcome`.
    pub fn record_attempt(&self, outcome: Outcome, duration_ms: f64) {
        let counter = match outcome {
            Outcome::Succeeded => &self.succeeded,
            Outcome::Retried => &self.retried,
            Outcome::Failed => &self.failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        let seconds = duration_ms / 1000.0;
        let bucket = BUCKETS
            .iter()
            .position(|&bound| seconds <= bound)
            .unwrap_or(BUCKETS.len());
        self.duration_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        self.duration_sum_us
            .fetch_add((duration_ms * 1000.0) as u64, Ordering::Relaxed);
    }

    /// Writes the counters and the histogram in Prometheus's text format.
    fn write_counters(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP callout_attempts_total Call-out attempts by what followed them."
        );
        let _ = writeln!(out, "# TYPE callout_attempts_total counter");
        for (outcome, counter) in [
            ("succeeded", &self.succeeded),
            ("retried", &self.retried),
            ("failed", &self.failed),
        ] {
            let _ = writeln!(
                out,
                "callout_attempts_total{{outcome=\"{outcome}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }

        let _ = writeln!(
            out,
            "# HELP callout_attempt_duration_seconds Duration of call-out attempts."
        );
        let _ = writeln!(out, "# TYPE callout_attempt_duration_seconds histogram");
        let mut cumulative = 0;
        for (index, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.duration_buckets[index].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "callout_attempt_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.duration_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "callout_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.duration_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "callout_attempt_duration_seconds_sum {sum}");
        let _ = writeln!(out, "callout_attempt_duration_seconds_count {cumulative}");
    }
}

/// Returns the routes `/metrics`, `/healthz` and `/readyz`, which need no token.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// Responds 200 while the process serves requests.
async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

/// Responds 200 when the database responds, 503 otherwise.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match sqlx::query("SELECT 1").execute(&state.pool).await {
        Ok(_) => (StatusCode::OK, "ready\n".to_string()),
        Err(error) => {
            tracing::warn!(%error, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!("database unreachable: {error}\n"),
            )
        }
    }
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut out = String::new();
    state.metrics.write_counters(&mut out);

    // The outbox is shared by every process on one database, so these come from it.
    let queue: Result<(i64, Option<i64>), sqlx::Error> =
        sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM deliveries WHERE status = 'pending'")
            .fetch_one(&state.pool)
            .await;
    match queue {
        Ok((pending, oldest)) => {
            let _ = writeln!(out, "# HELP callout_deliveries_pending Deliveries waiting for an attempt, in the whole outbox.");
            let _ = writeln!(out, "# TYPE callout_deliveries_pending gauge");
            let _ = writeln!(out, "callout_deliveries_pending {pending}");
            let age = oldest.map_or(0.0, |created| (now_ms() - created).max(0) as f64 / 1000.0);
            let _ = writeln!(out, "# HELP callout_oldest_pending_delivery_age_seconds Age of the oldest pending delivery.");
            let _ = writeln!(
                out,
                "# TYPE callout_oldest_pending_delivery_age_seconds gauge"
            );
            let _ = writeln!(out, "callout_oldest_pending_delivery_age_seconds {age}");
        }
        Err(error) => tracing::warn!(%error, "failed to read the outbox for metrics"),
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out)
}
