//! `galleon serve`: bootstrap, then accept connections (TLS unless asked otherwise) and serve
//! the ARM application, with the job worker running beside it.

use std::sync::Arc;
use std::time::Duration;

use std::collections::BTreeMap;

use anyhow::Context;
use galleon_api::{AppState, app};
use galleon_core::{Core, CoreConfig, jobs};
use galleon_store::MetadataStore;
use galleon_store::postgres::PgStore;
use galleon_store::sqlite::SqliteStore;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::config::Settings;
use crate::{bootstrap, tls};

pub(crate) async fn run(settings: Settings) -> anyhow::Result<()> {
    let dir = &settings.data_dir;
    let _lock = bootstrap::lock(dir)?;
    let node_id = bootstrap::node_id(dir, settings.node_id.as_deref())?;
    let store = metadata_store(&settings).await?;
    if settings.database_url.is_some() && settings.uploads_dir.starts_with(dir) {
        tracing::warn!(
            "uploads are staged in this node's data directory: with several nodes, set uploads_dir to a directory they share (or route a disk's upload URL to one node)"
        );
    }
    let instance = bootstrap::instance(store.as_ref(), dir).await?;
    let key = bootstrap::signing_key(store.as_ref(), dir).await?;
    let stores = crate::stores::open(&settings)?;
    // Checked beside the start, not before it: a store that is down must not keep the regions
    // that work (or the API) from serving.
    tokio::spawn(async move {
        for failure in stores.remote.check().await {
            eprintln!("warning: region store unusable at start: {failure}");
        }
    });
    let chunk_stores = stores.by_region;
    std::fs::create_dir_all(dir.join("imports"))?;
    let config = CoreConfig {
        tenant_id: instance.tenant_id.clone(),
        regions: settings.regions.clone(),
        chunk_stores,
        import_allow: settings.import_allow.clone(),
        uploads_dir: settings.uploads_dir.clone(),
        fetcher: Some(Arc::new(crate::fetch::HttpFetcher::new(settings.fetch_timeouts))),
        webhooks: Some(Arc::new(crate::fetch::HttpFetcher::new(settings.fetch_timeouts))),
        link_copies: settings.link_copies,
        node_id: node_id.clone(),
    };
    let core = Arc::new(Core::new(store.clone(), config, &key)?);
    core.reload_signing_keys().await?;
    // Leases this node held when it last stopped belong to a process that died: resume its jobs
    // now. (With SQLite the directory lock makes every lease in the store this node's.)
    let resumed = core.release_own_leases().await?;
    if resumed > 0 {
        tracing::info!(resumed, "resuming operations interrupted by the previous run");
    }

    let (acceptor, ca_file) = if settings.insecure_http {
        (None, None)
    } else {
        let (cert, key, ca) = match &settings.tls {
            Some((cert, key)) => (cert.clone(), key.clone(), None),
            None => {
                let files = tls::ensure_generated(dir, &settings.listen.ip().to_string())?;
                (files.cert, files.key, Some(files.ca_cert))
            }
        };
        (Some(TlsAcceptor::from(tls::server_config(&cert, &key)?)), ca)
    };
    let endpoint = settings.endpoint();
    let credentials =
        bootstrap::admin(&core, store.as_ref(), dir, &instance, &endpoint, ca_file.as_deref(), &node_id).await?;

    let listener = TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let repaired = core.repair_orphans().await?;
    if !repaired.is_empty() {
        tracing::warn!(
            count = repaired.len(),
            "resources left in a transitional state without an operation were marked Failed"
        );
    }
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    let me = galleon_core::nodes::NodeRecord {
        node_id: node_id.clone(),
        endpoint: format!("{}://{}", if settings.insecure_http { "http" } else { "https" }, settings.listen),
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_at: t,
        last_seen: t,
    };
    core.record_node(&me).await?;
    // The metrics recorder first: what the background tasks record from now on is kept.
    let _ = galleon_api::metrics::handle();
    spawn_housekeeping(core.clone(), me);
    jobs::spawn_worker(core.clone());
    // Unreferenced chunks go after the grace period (an hour unless configured); young ones may
    // belong to an import still running.
    jobs::spawn_gc(core.clone(), settings.gc.0, settings.gc.1);
    galleon_core::activity::spawn_upkeep(core.clone(), settings.activity_retention);
    // Walking a store lists every chunk (a full bucket listing for object stores): as often as
    // garbage collection, which lists them anyway, not more.
    galleon_core::region_info::spawn_usage_gauges(core.clone(), settings.gc.0);
    let scheme = if settings.insecure_http { "http" } else { "https" };
    let state = AppState::new(core.clone(), settings.public_url.clone(), scheme);
    if let Some(addr) = settings.metrics_listen {
        let metrics = TcpListener::bind(addr).await.with_context(|| format!("binding the metrics address {addr}"))?;
        let router = axum::Router::new()
            .route("/metrics", axum::routing::get(galleon_api::metrics::render))
            .with_state(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics, router).await {
                tracing::error!(error = %e, "metrics listener");
            }
        });
        println!("metrics: http://{addr}/metrics");
    }
    // hyper hands over `Request<Incoming>`; the application takes axum's `Body`.
    let service = app(state).map_request(|req: hyper::Request<hyper::body::Incoming>| req.map(axum::body::Body::new));

    println!("galleon is listening on {endpoint}");
    match &ca_file {
        Some(ca) => println!("CA certificate: {}", std::fs::canonicalize(ca).unwrap_or_else(|_| ca.clone()).display()),
        None if settings.insecure_http => println!("TLS is off (--insecure-http)"),
        None => println!(
            "TLS certificate: {}",
            settings.tls.as_ref().map(|t| t.0.display().to_string()).unwrap_or_default()
        ),
    }
    match credentials {
        Some(path) => {
            println!("admin credentials: {}", std::fs::canonicalize(&path).unwrap_or(path).display())
        }
        None => println!("admin credentials: on the node that made the admin (see its data directory)"),
    }
    println!("node: {node_id}");
    println!("regions: {}", settings.regions.join(", "));
    println!("imports allowed from: {}", settings.import_allow.join(", "));

    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(error = %e, "accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone().map_request(
            move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(galleon_api::PeerAddr(peer));
                req
            },
        ));
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let mut builder = Builder::new(TokioExecutor::new());
            // hyper answers past its own limits with a bare status; keep them above the
            // application's (`galleon_api::limits`), which answer ARM errors.
            builder.http1().max_headers(256);
            builder.http2().max_header_list_size(256 * 1024);
            let result = match acceptor {
                Some(acceptor) => match tokio::time::timeout(Duration::from_secs(10), acceptor.accept(tcp)).await {
                    Ok(Ok(tls)) => builder.serve_connection(TokioIo::new(tls), service).await,
                    Ok(Err(e)) => return tracing::debug!(error = %e, "TLS handshake"),
                    Err(_) => return tracing::debug!("TLS handshake timed out"),
                },
                None => builder.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection");
            }
        });
    }
    if let Err(e) = core.forget_node(&node_id).await {
        tracing::warn!(error = %e, "removing this node's record");
    }
    // Jobs still running here are fenced from now on; other nodes take them over at once.
    match core.release_own_leases().await {
        Ok(n) if n > 0 => tracing::info!(released = n, "job leases handed back"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "handing back job leases"),
    }
    println!("galleon stopped");
    Ok(())
}

/// `galleon init`: what the first start of `serve` does, without serving: the metadata store
/// (migrated), the tenant and subscription, the signing keys, the TLS files and the admin with
/// its `credentials.json`. With `--database-url`, run it once before starting the nodes.
pub(crate) async fn init(settings: Settings) -> anyhow::Result<()> {
    let dir = &settings.data_dir;
    let _lock = bootstrap::lock(dir)?;
    let node_id = bootstrap::node_id(dir, settings.node_id.as_deref())?;
    let store = metadata_store(&settings).await?;
    let instance = bootstrap::instance(store.as_ref(), dir).await?;
    let key = bootstrap::signing_key(store.as_ref(), dir).await?;
    let config = CoreConfig {
        tenant_id: instance.tenant_id.clone(),
        regions: settings.regions.clone(),
        chunk_stores: BTreeMap::new(),
        import_allow: vec![],
        uploads_dir: settings.uploads_dir.clone(),
        fetcher: None,
        webhooks: None,
        link_copies: settings.link_copies,
        node_id: node_id.clone(),
    };
    let core = Core::new(store.clone(), config, &key)?;
    let ca_file = match (&settings.tls, settings.insecure_http) {
        (None, false) => Some(tls::ensure_generated(dir, &settings.listen.ip().to_string())?.ca_cert),
        _ => None,
    };
    let endpoint = settings.endpoint();
    match bootstrap::admin(&core, store.as_ref(), dir, &instance, &endpoint, ca_file.as_deref(), &node_id).await? {
        Some(path) => println!("admin credentials: {}", std::fs::canonicalize(&path).unwrap_or(path).display()),
        None => println!(
            "already initialised: the admin was made by another node (its data directory has credentials.json)"
        ),
    }
    println!("tenant: {}", instance.tenant_id);
    println!("subscription: {}", instance.subscription_id);
    Ok(())
}

/// Every few seconds: reload the shared signing keys (a rotation made on any node is known here
/// before its new key signs) and record this node as alive.
fn spawn_housekeeping(core: Arc<Core>, mut me: galleon_core::nodes::NodeRecord) {
    let every = Duration::from_secs(galleon_core::auth::signing_keys::RELOAD_SECONDS);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match core.reload_signing_keys().await {
                Ok(true) => tracing::info!(keys = ?core.tokens().kids(), "token signing keys reloaded"),
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "reloading the token signing keys"),
            }
            me.last_seen = time::OffsetDateTime::now_utc().unix_timestamp();
            if let Err(e) = core.record_node(&me).await {
                tracing::warn!(error = %e, "recording this node as alive");
            }
        }
    });
}

/// The metadata store: PostgreSQL when a database URL is configured (several nodes may share
/// it), else SQLite in the data directory.
async fn metadata_store(settings: &Settings) -> anyhow::Result<Arc<dyn MetadataStore>> {
    match &settings.database_url {
        Some(url) => {
            let store = PgStore::connect(url.expose()).await.context("opening the PostgreSQL metadata store")?;
            Ok(Arc::new(store))
        }
        None => {
            let path = settings.data_dir.join("metadata.db");
            let store = SqliteStore::open(&path).context("opening the metadata store")?;
            // We hold the directory lock: leases in this file were held by a process that died,
            // whatever node id it ran under.
            store.release_all_leases()?;
            Ok(Arc::new(store))
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("signal handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}
