//! Prometheus metrics, rendered in the text exposition format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

/// Upper bounds (seconds) of the duration histogram buckets.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A histogram of durations in seconds.
pub struct Histogram {
    counts: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: BUCKETS.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_micros: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: std::time::Duration) {
        let secs = d.as_secs_f64();
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            if secs <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add(d.as_micros() as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (b, c) in BUCKETS.iter().zip(&self.counts) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{b}\"}} {}",
                c.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// The service's metrics.
#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    /// Time spent validating one payload.
    pub validation_seconds: Histogram,
    /// Time spent storing one interaction.
    pub storage_seconds: Histogram,
    /// Validations running now.
    pub validations_in_flight: AtomicI64,
    /// Requests waiting for a validation slot now.
    pub validations_queued: AtomicI64,
    /// Requests refused with 503 because every slot and queue place was taken.
    pub rejected_saturated: AtomicU64,
    /// Interactions stored.
    pub interactions_stored: AtomicU64,
    /// Issues in full diagnostics, by severity (fatal, error, warning, information).
    pub issues: [AtomicU64; 4],
    /// Forwarding to the data lake.
    pub forward: ForwardMetrics,
}

/// Forwarding metrics (the queue depth is read from the outbox when
/// rendered, see [`render_queue_depth`]).
#[derive(Default)]
pub struct ForwardMetrics {
    attempts: Mutex<BTreeMap<String, u64>>,
    /// Deliveries in flight now.
    pub in_flight: AtomicI64,
    /// Jobs delivered (2xx).
    pub deliveries: AtomicU64,
    /// Jobs dead-lettered.
    pub dead_letters: AtomicU64,
    /// Time of one attempt.
    pub attempt_seconds: Histogram,
    /// From acceptance (job creation) to delivery.
    pub delivery_latency: Histogram,
}

impl ForwardMetrics {
    /// Counts one attempt by outcome and observes its duration.
    pub fn attempt(&self, outcome: &str, took: std::time::Duration) {
        let mut m = self.attempts.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry(outcome.to_string()).or_default() += 1;
        drop(m);
        self.attempt_seconds.observe(took);
    }

    fn render(&self, out: &mut String) {
        out.push_str("# HELP shinny_forward_attempts_total Delivery attempts to the data lake by outcome.\n# TYPE shinny_forward_attempts_total counter\n");
        for (outcome, n) in self
            .attempts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "shinny_forward_attempts_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP shinny_forward_deliveries_total Bundles delivered to the data lake.\n# TYPE shinny_forward_deliveries_total counter\nshinny_forward_deliveries_total {}",
            self.deliveries.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP shinny_forward_dead_letters_total Forwarding jobs dead-lettered.\n# TYPE shinny_forward_dead_letters_total counter\nshinny_forward_dead_letters_total {}",
            self.dead_letters.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP shinny_forward_in_flight Deliveries in flight.\n# TYPE shinny_forward_in_flight gauge\nshinny_forward_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        self.attempt_seconds.render(
            out,
            "shinny_forward_attempt_duration_seconds",
            "Time of one delivery attempt.",
        );
        self.delivery_latency.render(
            out,
            "shinny_forward_delivery_latency_seconds",
            "Time from acceptance to delivery.",
        );
    }
}

/// The outbox depth by job state, in the text exposition.
pub fn render_queue_depth(depth: &[(String, i64)]) -> String {
    let mut out = String::from(
        "# HELP shinny_forward_queue_depth Forwarding jobs not yet delivered, by state.\n# TYPE shinny_forward_queue_depth gauge\n",
    );
    use crate::storage::outbox::state;
    for st in state::ALL.iter().filter(|s| **s != state::DELIVERED) {
        let n = depth.iter().find(|(s, _)| s == st).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "shinny_forward_queue_depth{{state=\"{st}\"}} {n}");
    }
    out
}

impl Metrics {
    /// Counts a finished request by route template and status.
    pub fn request(&self, route: &str, status: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((route.to_string(), status)).or_default() += 1;
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP shinny_http_requests_total HTTP requests by route and status.\n# TYPE shinny_http_requests_total counter\n");
        for ((route, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let route = route.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "shinny_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        self.validation_seconds.render(
            &mut out,
            "shinny_validation_duration_seconds",
            "Time to validate one payload.",
        );
        self.storage_seconds.render(
            &mut out,
            "shinny_storage_duration_seconds",
            "Time to store one interaction.",
        );
        let gauge = |out: &mut String, name: &str, help: &str, v: i64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        gauge(
            &mut out,
            "shinny_validations_in_flight",
            "Validations running now.",
            self.validations_in_flight.load(Ordering::Relaxed),
        );
        gauge(
            &mut out,
            "shinny_validations_queued",
            "Requests waiting for a validation slot.",
            self.validations_queued.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "shinny_rejected_saturated_total",
            "Requests refused with 503 because the service was saturated.",
            self.rejected_saturated.load(Ordering::Relaxed),
        );
        counter(
            &mut out,
            "shinny_interactions_stored_total",
            "Interactions stored.",
            self.interactions_stored.load(Ordering::Relaxed),
        );
        out.push_str("# HELP shinny_issues_total Issues found (before policy) by severity.\n# TYPE shinny_issues_total counter\n");
        for (sev, n) in ["fatal", "error", "warning", "information"]
            .iter()
            .zip(&self.issues)
        {
            let _ = writeln!(
                out,
                "shinny_issues_total{{severity=\"{sev}\"}} {}",
                n.load(Ordering::Relaxed)
            );
        }
        self.forward.render(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        m.request("/Bundle", 201);
        m.request("/Bundle", 201);
        m.validation_seconds
            .observe(std::time::Duration::from_millis(3));
        let text = m.render();
        assert!(text.contains("shinny_http_requests_total{route=\"/Bundle\",status=\"201\"} 2\n"));
        assert!(text.contains("shinny_validation_duration_seconds_bucket{le=\"0.0025\"} 0\n"));
        assert!(text.contains("shinny_validation_duration_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("shinny_validation_duration_seconds_count 1\n"));
    }
}
