//! The ARM HTTP surface of galleon: an axum router over `galleon_core`.
//!
//! Handlers are thin: extract and check the api-version, convert the wire body into the model's
//! request, call one core use case, convert the answer back, and add the LRO headers. Every
//! error goes through [`error::ApiError`], the only place that knows HTTP status codes and ARM
//! codes. Paths are normalised (fixed segments lowercased) before routing, so any casing of
//! `resourceGroups`/`Microsoft.Compute` matches. This crate never touches SQL or chunk storage.

mod activity;
pub mod api_version;
mod auth;
mod deployments;
pub mod error;
mod extract;
pub mod inproc;
pub mod limits;
mod lro;
pub mod metrics;
mod middleware;
pub mod normalize;
mod objects_only;
mod portal;
mod routes;
pub use auth::Need;
pub use routes::arm_route_needs;
mod skiptoken;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use galleon_core::Core;
use tower::ServiceExt;

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub core: Arc<Core>,
    /// The URL clients reach the server at, when configured; otherwise taken from `Host`.
    pub public_url: Option<String>,
    /// `https` or `http`, for URLs built from `Host`.
    pub scheme: &'static str,
}

impl AppState {
    /// The state of a server: its use cases, the URL clients reach it at (when configured) and
    /// its scheme.
    pub fn new(core: Arc<Core>, public_url: Option<String>, scheme: &'static str) -> Self {
        // Template deployments run as jobs in the core and send their resources back through
        // this router (the first state built for a core registers it).
        core.set_resource_writer(Arc::new(deployments::RouterWriter {
            core: Arc::downgrade(&core),
            public_url: public_url.clone(),
            scheme,
        }));
        Self { core, public_url, scheme }
    }
}

/// The TCP peer of a request, put in its extensions by the server (the token endpoint limits
/// failed attempts per source address).
#[derive(Debug, Clone, Copy)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The path as the client sent it, when normalisation rewrote it (ids a request creates keep the
/// client's casing, as ARM's do).
#[derive(Debug, Clone)]
pub struct SentPath(pub String);

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The router (ARM routes and the portal), without path normalisation (see [`app`]).
pub fn router(state: AppState) -> Router {
    let (arm, needs) = routes::arm_routes();
    let arm = arm
        .route_layer(axum::middleware::from_fn_with_state((state.clone(), needs), auth::require_bearer))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), activity::record))
        .route_layer(axum::middleware::from_fn(metrics::mark_route));
    let api = Router::new()
        .merge(arm)
        .merge(routes::public_routes().route_layer(axum::middleware::from_fn(metrics::mark_route)))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state.clone());
    let portal = portal::routes(portal::PortalState {
        core: state.core,
        arm: api.clone(),
        public_url: state.public_url,
        scheme: state.scheme,
    });
    portal
        .route_layer(axum::middleware::from_fn(metrics::mark_route))
        .merge(api)
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(axum::middleware::from_fn(middleware::request_log))
}

/// The whole HTTP application: size limits and path normalisation around the router. Serve this.
pub fn app(
    state: AppState,
) -> impl tower::Service<Request, Response = axum::response::Response, Error = std::convert::Infallible, Future: Send>
+ Clone
+ Send
+ 'static {
    let router = router(state);
    tower::service_fn(move |req: Request| {
        let router = router.clone();
        async move {
            let resp = limits::guarded(req, |mut req| async move {
                if let Some(uri) = normalize::normalize_uri(req.uri()) {
                    let sent = SentPath(req.uri().path().to_string());
                    req.extensions_mut().insert(sent);
                    *req.uri_mut() = uri;
                }
                router.oneshot(req).await.unwrap_or_else(|never| match never {})
            })
            .await;
            Ok(resp)
        }
    })
}
