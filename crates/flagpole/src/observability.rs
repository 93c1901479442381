//! Operational signals: Prometheus metrics (`/internal-backstage/prometheus`) and request ids.
//!
//! Each server owns its own registry (no global state), so several servers in one process, as
//! in the tests, never mix their numbers. Request metrics are labelled with the route template
//! (axum's `MatchedPath`), never the raw path: label values stay few, and no flag name or token
//! secret in a path reaches them. State gauges are read from the snapshot and the pool when
//! scraped.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::domain::Core;

/// The header that carries a request's id, in both directions.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Content type of the OpenMetrics text format, which Prometheus scrapes.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Seconds; from a millisecond to ten seconds.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

// Label values are shared, not built per request: the method is a constant, the route an
// interned route template, and the status a number.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: Arc<str>,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlagLabels {
    project: String,
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    r#type: String,
}

/// Handles to the metrics of one route (see `Telemetry::route_metrics`). They share their
/// values with the registry, so what they count is what `/internal-backstage/prometheus` shows.
#[derive(Clone)]
pub(crate) struct RouteMetrics {
    ok: Counter,
    /// For routes that answer 304 at all, so that others show no series that stays at zero.
    not_modified: Option<Counter>,
    duration: Histogram,
}

impl RouteMetrics {
    /// Counts one answer: 200 or 304, the only ones the fast path gives.
    pub(crate) fn observe(&self, not_modified: bool, seconds: f64) {
        match &self.not_modified {
            Some(counter) if not_modified => counter.inc(),
            _ => self.ok.inc(),
        };
        self.duration.observe(seconds);
    }
}

/// One server's metrics.
pub struct Telemetry {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    open_streams: Gauge,
    snapshot_revision: Gauge,
    snapshot_age: Gauge<f64, AtomicU64>,
    pool_connections: Gauge,
    pool_idle: Gauge,
    flags: Family<FlagLabels, Gauge>,
    tokens: Family<TokenLabels, Gauge>,
    /// Scrapes refresh the state gauges, one at a time.
    scrape: Mutex<()>,
    /// Route templates seen so far (a bounded set: the router's), shared by the label sets.
    routes: RwLock<HashSet<Arc<str>>>,
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("flagpole");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(LATENCY_BUCKETS)) as fn() -> Histogram,
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer HTTP requests (until the response starts), by method and route template",
            durations.clone(),
        );
        let open_streams = Gauge::default();
        registry.register(
            "sdk_streams_open",
            "Open SDK streaming connections (/api/client/streaming)",
            open_streams.clone(),
        );
        let snapshot_revision = Gauge::default();
        registry.register(
            "snapshot_revision",
            "Database revision of the in-memory snapshot that requests are served from",
            snapshot_revision.clone(),
        );
        let snapshot_age = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "snapshot_age_seconds",
            "Seconds since the snapshot was last confirmed up to date with the database",
            snapshot_age.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Open database connections (idle or in use)",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections",
            pool_idle.clone(),
        );
        let flags = Family::<FlagLabels, Gauge>::default();
        registry.register(
            "flags",
            "Feature flags by project and state (active or archived)",
            flags.clone(),
        );
        let tokens = Family::<TokenLabels, Gauge>::default();
        registry.register("api_tokens", "Known API tokens by type", tokens.clone());
        Telemetry {
            registry,
            requests,
            durations,
            open_streams,
            snapshot_revision,
            snapshot_age,
            pool_connections,
            pool_idle,
            flags,
            tokens,
            scrape: Mutex::new(()),
            routes: RwLock::default(),
        }
    }

    /// The shared copy of a route template.
    fn intern_route(&self, route: &str) -> Arc<str> {
        let known = self.routes.read().unwrap_or_else(|e| e.into_inner());
        if let Some(shared) = known.get(route) {
            return Arc::clone(shared);
        }
        drop(known);
        let mut known = self.routes.write().unwrap_or_else(|e| e.into_inner());
        let shared: Arc<str> = Arc::from(route);
        known.insert(Arc::clone(&shared));
        shared
    }

    /// The metrics of one route, resolved once, for a caller that answers that route very
    /// often (the SDK fast path): counting through them takes no lock and hashes no labels.
    /// `not_modified` says whether the route answers 304 as well as 200.
    pub(crate) fn route_metrics(
        &self,
        method: &Method,
        route: &str,
        not_modified: bool,
    ) -> RouteMetrics {
        let method = loggable_method(method);
        let route = self.intern_route(route);
        let count = |status: u16| {
            self.requests
                .get_or_create(&RequestLabels {
                    method,
                    route: Arc::clone(&route),
                    status,
                })
                .clone()
        };
        RouteMetrics {
            ok: count(200),
            not_modified: not_modified.then(|| count(304)),
            duration: self
                .durations
                .get_or_create(&RouteLabels {
                    method,
                    route: Arc::clone(&route),
                })
                .clone(),
        }
    }

    /// Counts one answered request.
    pub(crate) fn observe(&self, method: &Method, route: &str, status: u16, seconds: f64) {
        let method = loggable_method(method);
        let route = self.intern_route(route);
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: Arc::clone(&route),
                status,
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels { method, route })
            .observe(seconds);
    }

    /// Counts an SDK stream as open until the returned guard is dropped.
    pub fn stream_opened(&self) -> StreamGuard {
        self.open_streams.inc();
        StreamGuard(self.open_streams.clone())
    }

    /// Every metric in the OpenMetrics text format, with the state gauges read now.
    pub fn render(&self, core: &Core) -> Result<String, std::fmt::Error> {
        let _scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = core.snapshot.current();
        self.snapshot_revision.set(snapshot.revision);
        self.snapshot_age
            .set(core.snapshot.synced_at().elapsed().as_secs_f64());
        let (size, idle) = core.store.pool_stats();
        self.pool_connections.set(i64::from(size));
        self.pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
        let mut flags: BTreeMap<(&str, bool), i64> = BTreeMap::new();
        for project in snapshot.projects.keys() {
            flags.insert((project.as_str(), false), 0);
            flags.insert((project.as_str(), true), 0);
        }
        for feature in snapshot.features.values() {
            *flags
                .entry((feature.value.project.as_str(), feature.value.archived))
                .or_default() += 1;
        }
        // Projects that are gone disappear from the output rather than lingering.
        self.flags.clear();
        for ((project, archived), count) in flags {
            let state = if archived { "archived" } else { "active" };
            self.flags
                .get_or_create(&FlagLabels {
                    project: project.to_owned(),
                    state: state.to_owned(),
                })
                .set(count);
        }
        let mut tokens: BTreeMap<&str, i64> = ["admin", "client", "frontend"]
            .into_iter()
            .map(|kind| (kind, 0))
            .collect();
        for token in snapshot.tokens.values() {
            *tokens.entry(token.value.token_type.as_str()).or_default() += 1;
        }
        self.tokens.clear();
        for (kind, count) in tokens {
            self.tokens
                .get_or_create(&TokenLabels {
                    r#type: kind.to_owned(),
                })
                .set(count);
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// Keeps a stream counted in `flagpole_sdk_streams_open` while it lives.
pub struct StreamGuard(Gauge);

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Standard methods by name; anything else as `OTHER`, so that label values stay few.
fn loggable_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: counts each request and its latency under its route template. Requests that
/// match no route are counted as `unmatched`.
pub async fn track_requests(
    State(telemetry): State<Arc<Telemetry>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request.extensions().get::<MatchedPath>().cloned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    telemetry.observe(
        &method,
        route.as_ref().map_or("unmatched", MatchedPath::as_str),
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// Whether an incoming request id may be kept: short, and only characters that are safe in
/// logs and headers.
pub fn is_sane_request_id(id: &str) -> bool {
    (1..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

/// The id of a request: the caller's `x-request-id` when it is sane, a new ULID otherwise.
pub fn request_id_for(headers: &HeaderMap) -> HeaderValue {
    match headers
        .get(&REQUEST_ID_HEADER)
        .filter(|value| value.to_str().is_ok_and(is_sane_request_id))
    {
        Some(id) => id.clone(),
        None => {
            // Encoded on the stack: every SDK poll gets an id, so this is on the hottest path.
            let mut text = [0; ulid::ULID_LEN];
            HeaderValue::from_str(ulid::Ulid::new().array_to_str(&mut text))
                .unwrap_or(HeaderValue::from_static("unknown"))
        }
    }
}

/// Middleware: gives every request an `x-request-id` (the caller's, when it is sane; a new ULID
/// otherwise) before the trace span is made, and returns it on the response.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request_id_for(request.headers());
    request.headers_mut().insert(REQUEST_ID_HEADER, id.clone());
    let mut response = next.run(request).await;
    response.headers_mut().insert(REQUEST_ID_HEADER, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_kept_only_when_sane() {
        assert!(is_sane_request_id("01J9Z3K8Q4-abc_def.1:2/3"));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(129)));
        assert!(!is_sane_request_id("has space"));
        assert!(!is_sane_request_id("new\nline"));
        assert!(!is_sane_request_id("quote\""));
    }

    #[test]
    fn methods_outside_the_standard_ones_share_a_label() {
        assert_eq!(loggable_method(&Method::GET), "GET");
        let custom = Method::from_bytes(b"PURGE").unwrap();
        assert_eq!(loggable_method(&custom), "OTHER");
    }
}
