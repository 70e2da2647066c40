//! Prometheus metrics: the process-wide recorder, the HTTP request metrics (by route template,
//! method and status, with latency histograms) and `GET /metrics`. Other layers record through
//! the `metrics` facade (jobs, bytes moved, garbage collection, token failures); scrapes add the
//! gauges read from the store.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// Latency buckets, in seconds: ARM reads take milliseconds, page writes and LRO polls more.
const SECONDS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0];

/// The recorder, installed on first use (one per process: tests share it).
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().set_buckets(SECONDS).expect("static buckets").build_recorder();
        let handle = recorder.handle();
        // Another recorder may be installed already (an embedding program): then ours stays
        // empty and says so in the scrape rather than failing the server.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already: /metrics shows only what galleon renders itself");
        }
        handle
    })
}

/// The route a request matched, carried on the response to the outer layer.
#[derive(Clone)]
pub(crate) struct RouteLabel(pub(crate) String);

/// Inside the router (a route layer): notes the matched route template on the response.
pub(crate) async fn mark_route(path: Option<MatchedPath>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    if let Some(p) = path {
        resp.extensions_mut().insert(RouteLabel(p.as_str().to_string()));
    }
    resp
}

/// Outside the router: counts every request and times it, by route template (`other` for
/// paths no route matched, so a scan of random URLs cannot grow the label set).
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let _ = handle();
    let method = req.method().as_str().to_string();
    let started = Instant::now();
    let resp = next.run(req).await;
    let route = resp.extensions().get::<RouteLabel>().map_or_else(|| "other".to_string(), |r| r.0.clone());
    let status = resp.status().as_u16().to_string();
    let seconds = started.elapsed().as_secs_f64();
    metrics::counter!("galleon_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("galleon_http_request_duration_seconds", "method" => method, "route" => route).record(seconds);
    resp
}

/// `GET /metrics` (tenant administrators on the API port; anyone on `--metrics-listen`).
pub async fn render(State(s): State<AppState>) -> Response {
    // Gauges read from the shared store at scrape time.
    if let Ok(n) = s.core.operations_in_progress().await {
        metrics::gauge!("galleon_operations_in_progress").set(n as f64);
    }
    if let Some(pool) = s.core.database_pool() {
        for (state, n) in [("max", pool.max), ("open", pool.open), ("idle", pool.idle), ("waiting", pool.waiting)] {
            metrics::gauge!("galleon_db_pool_connections", "state" => state).set(n as f64);
        }
    }
    let text = handle().render();
    ([("content-type", "text/plain; version=0.0.4")], text).into_response()
}
