//! Prometheus metrics: requests and latency per route and status, validation failures per
//! country and field, database pool usage. Rendered by `GET /metrics` from a process-wide
//! recorder (metrics are per process; scrape every process).

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use metrics::{Counter, Histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use padron_store::Store;

use crate::error::FieldError;

/// Latency buckets in seconds: fine below 10 ms, where this service should answer.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];

/// How often histogram samples are drained into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide recorder, installed on first use (tests build many apps in one process).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Suffix("duration_seconds".to_owned()),
                &LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let handle = match builder.install_recorder() {
            Ok(handle) => handle,
            // Another recorder is installed (only possible when embedding): render our own.
            Err(_) => PrometheusBuilder::new().build_recorder().handle(),
        };
        // Histogram samples pile up until upkeep drains them into their buckets; relying on
        // scrapes alone grew memory by ~3 MiB a minute under load when nobody scraped.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new().name("padron-metrics-upkeep".to_owned()).spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_EVERY);
                upkeep.run_upkeep();
            }
        });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "failed to start metrics upkeep; histograms drain only when scraped");
        }
        handle
    })
}

/// The request counter and latency histogram of one method, route and status.
struct RequestSeries {
    method: &'static str,
    status: u16,
    total: Counter,
    duration: Histogram,
}

/// Series already registered, by route: building the labels and looking the series up in the
/// recorder on every request cost more than the rest of the accounting. Routes, methods and
/// statuses are all bounded sets (templates, not paths), so this stays small.
fn request_series() -> &'static RwLock<HashMap<String, Vec<RequestSeries>>> {
    static SERIES: OnceLock<RwLock<HashMap<String, Vec<RequestSeries>>>> = OnceLock::new();
    SERIES.get_or_init(Default::default)
}

/// Counts one answered request.
pub fn record_request(method: &str, route: &str, status: u16, seconds: f64) {
    // Clients choose the method: anything unusual is one label, so they cannot mint series.
    let method = match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
    let same = |s: &&RequestSeries| s.method == method && s.status == status;
    if let Ok(map) = request_series().read()
        && let Some(known) = map.get(route).and_then(|series| series.iter().find(same))
    {
        known.total.increment(1);
        known.duration.record(seconds);
        return;
    }
    // First time for this series: registered with the process-wide recorder, which must be
    // installed first.
    handle();
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    let total = metrics::counter!("padron_http_requests_total", &labels);
    let duration = metrics::histogram!("padron_http_request_duration_seconds", &labels);
    total.increment(1);
    duration.record(seconds);
    if let Ok(mut map) = request_series().write() {
        let series = map.entry(route.to_owned()).or_default();
        if !series.iter().any(|s| same(&s)) {
            series.push(RequestSeries {
                method,
                status,
                total,
                duration,
            });
        }
    }
}

/// A field path with list positions removed, so labels stay few: `children[3]` → `children[]`.
fn field_label(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    let mut in_index = false;
    for c in field.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

/// Counts the field errors of a rejected create or update.
pub fn record_validation_failures(country: Option<&str>, errors: &[FieldError]) {
    let country = country.unwrap_or("unknown").to_owned();
    for e in errors {
        let labels = [
            ("country", country.clone()),
            ("field", field_label(&e.field)),
            ("code", e.code.clone()),
        ];
        metrics::counter!("padron_validation_failures_total", &labels).increment(1);
    }
}

/// The Prometheus text, with the pool gauges read now.
pub fn render(store: &dyn Store) -> String {
    let stats = store.pool_stats();
    metrics::gauge!("padron_db_pool_connections").set(f64::from(stats.size));
    metrics::gauge!("padron_db_pool_idle_connections").set(f64::from(stats.idle));
    metrics::gauge!("padron_db_pool_max_connections").set(f64::from(stats.max));
    // Drain the latest samples too, so a scrape sees every request so far.
    handle().run_upkeep();
    handle().render()
}

#[cfg(test)]
mod tests {
    use super::field_label;

    #[test]
    fn field_labels_drop_list_positions() {
        assert_eq!(field_label("children[12]"), "children[]");
        assert_eq!(
            field_label("securityOptions.accessControl.scopes[0]"),
            "securityOptions.accessControl.scopes[]"
        );
        assert_eq!(field_label("[3].reference"), "[].reference");
        assert_eq!(field_label("phone"), "phone");
    }
}
