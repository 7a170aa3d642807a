//! A chart of deliveries per hour by outcome, with the mean call time, as inline SVG.

use leptos::prelude::*;

use crate::api::HourStats;
use crate::format::millis;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;
/// Room under the bars for the hour labels.
const AXIS: f64 = 18.0;

/// Draws stacked bars of succeeded, failed and pending deliveries per hour, and a line of the
/// mean call time on its own scale. A sentence under it gives the totals.
#[component]
pub fn DeliveryChart(
    /// One entry per hour, oldest first.
    hours: Vec<HourStats>,
) -> impl IntoView {
    let plot = HEIGHT - AXIS;
    let slot = WIDTH / hours.len().max(1) as f64;
    let max_count = hours
        .iter()
        .map(|hour| hour.succeeded + hour.failed + hour.pending)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let max_mean = hours
        .iter()
        .filter_map(|hour| hour.mean_duration_ms)
        .fold(0.0_f64, f64::max);

    let bars = hours
        .iter()
        .enumerate()
        .map(|(index, hour)| {
            let x = index as f64 * slot + slot * 0.15;
            let width = slot * 0.7;
            let mut top = plot;
            let segments = [("succeeded", hour.succeeded), ("failed", hour.failed), ("pending", hour.pending)]
                .into_iter()
                .filter(|(_, count)| *count > 0)
                .map(|(class, count)| {
                    let height = count as f64 / max_count * (plot - 4.0);
                    top -= height;
                    view! {
                        <rect class=class x=x y=top width=width height=height></rect>
                    }
                })
                .collect_view();
            let label = hour_label(&hour.hour);
            let mean = hour.mean_duration_ms.map(|ms| format!(", mean {}", millis(ms))).unwrap_or_default();
            let title = format!(
                "{label} UTC: {} succeeded, {} failed, {} pending{mean}",
                hour.succeeded, hour.failed, hour.pending
            );
            let tick = (index % 3 == 0).then(|| view! {
                <text class="tick" x=x + width / 2.0 y=HEIGHT - 4.0 text-anchor="middle">{label.clone()}</text>
            });
            view! { <g class="hour"><title>{title}</title>{segments}{tick}</g> }
        })
        .collect_view();

    let points: Vec<String> = hours
        .iter()
        .enumerate()
        .filter_map(|(index, hour)| {
            let mean = hour.mean_duration_ms?;
            let x = index as f64 * slot + slot / 2.0;
            let y = plot - mean / max_mean.max(1.0) * (plot - 4.0);
            Some(format!("{x:.1},{y:.1}"))
        })
        .collect();
    let line = (!points.is_empty()).then(|| {
        let dots = points
            .iter()
            .map(|point| {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                view! { <circle class="mean" cx=x.to_string() cy=y.to_string() r="2.5"></circle> }
            })
            .collect_view();
        view! { <polyline class="mean" points=points.join(" ")></polyline>{dots} }
    });

    let total = |pick: fn(&HourStats) -> i64| hours.iter().map(pick).sum::<i64>();
    let (succeeded, failed, pending) = (
        total(|h| h.succeeded),
        total(|h| h.failed),
        total(|h| h.pending),
    );
    let timed: Vec<(f64, i64)> = hours
        .iter()
        .filter_map(|hour| {
            Some((
                hour.mean_duration_ms?,
                hour.succeeded + hour.failed + hour.pending,
            ))
        })
        .collect();
    let weight: i64 = timed.iter().map(|(_, count)| count).sum();
    let overall_mean = (weight > 0).then(|| {
        timed
            .iter()
            .map(|(mean, count)| mean * *count as f64)
            .sum::<f64>()
            / weight as f64
    });
    let summary = format!(
        "Last {} hours: {succeeded} succeeded, {failed} failed, {pending} pending; {}.",
        hours.len(),
        match overall_mean {
            Some(mean) => format!(
                "mean call time {}, slowest hour {}",
                millis(mean),
                millis(max_mean)
            ),
            None => "no call time measured yet".to_string(),
        }
    );

    view! {
        <figure class="chart">
            <svg
                id="deliveries-chart"
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                role="img"
                aria-labelledby="chart-summary"
                data-succeeded=succeeded.to_string()
                data-failed=failed.to_string()
                data-pending=pending.to_string()
            >
                <line class="axis" x1="0" y1=plot x2=WIDTH y2=plot></line>
                {bars}
                {line}
            </svg>
            <figcaption>
                <span id="chart-summary">{summary}</span>
                <span class="legend">
                    <span class="key succeeded"></span>"succeeded "
                    <span class="key failed"></span>"failed "
                    <span class="key pending"></span>"pending "
                    <span class="key mean"></span>"mean call time (own scale)"
                </span>
            </figcaption>
        </figure>
    }
}

/// Returns `HH:00` from an RFC 3339 hour such as `2026-12-04T16:00:00Z`.
fn hour_label(hour: &str) -> String {
    hour.get(11..16).unwrap_or(hour).to_string()
}
