//! Settings: built-in defaults, then a TOML file, then environment variables, then flags
//! (clap reads each flag's environment variable, so "env, then flag" is one step).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The regions galleon serves when nothing else is configured (design §8).
pub(crate) const DEFAULT_REGIONS: &[&str] =
    &["eastus", "eastus2", "westus2", "westcentralus", "southcentralus", "northeurope", "westeurope"];

/// `galleon serve` flags.
#[derive(clap::Args, Debug)]
pub(crate) struct ServeArgs {
    /// Data directory (metadata, keys, certificates, credentials).
    #[arg(long, env = "GALLEON_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "GALLEON_LISTEN")]
    listen: Option<SocketAddr>,
    /// A TOML configuration file (default: DATA_DIR/galleon.toml when it exists).
    #[arg(long, env = "GALLEON_CONFIG")]
    config: Option<PathBuf>,
    /// The URL clients use to reach this server, when it differs from the listen address.
    #[arg(long, env = "GALLEON_PUBLIC_URL")]
    public_url: Option<String>,
    /// Serve plain HTTP instead of HTTPS (the az CLI refuses this; SDKs need extra settings).
    #[arg(long, env = "GALLEON_INSECURE_HTTP")]
    insecure_http: bool,
    /// PEM certificate chain to serve instead of the generated one.
    #[arg(long, env = "GALLEON_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "GALLEON_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Comma-separated canonical region names this deployment serves.
    #[arg(long, env = "GALLEON_REGIONS", value_delimiter = ',')]
    regions: Option<Vec<String>>,
    /// `link` (default): hard-link chunks between stores on one filesystem; `copy`: always copy.
    #[arg(long, env = "GALLEON_REPLICATION_COPY")]
    replication_copy: Option<String>,
    /// Comma-separated URL prefixes imports may read from (default: DATA_DIR/imports/).
    #[arg(long, env = "GALLEON_IMPORT_ALLOW", value_delimiter = ',')]
    import_allow: Option<Vec<String>>,
    /// Seconds an http(s) import may take to connect (default 10).
    #[arg(long, env = "GALLEON_IMPORT_CONNECT_TIMEOUT_SECONDS")]
    import_connect_timeout_seconds: Option<u64>,
    /// Seconds an http(s) import may wait for the next bytes (default 60).
    #[arg(long, env = "GALLEON_IMPORT_IDLE_TIMEOUT_SECONDS")]
    import_idle_timeout_seconds: Option<u64>,
    /// Seconds an http(s) import may take in all (default 21600, six hours).
    #[arg(long, env = "GALLEON_IMPORT_TOTAL_TIMEOUT_SECONDS")]
    import_total_timeout_seconds: Option<u64>,
    /// Seconds between two background garbage collections (default 3600).
    #[arg(long, env = "GALLEON_GC_INTERVAL_SECONDS")]
    gc_interval_seconds: Option<u64>,
    /// Seconds an unreferenced chunk is kept before garbage collection may delete it (default 3600).
    #[arg(long, env = "GALLEON_GC_GRACE_SECONDS")]
    gc_grace_seconds: Option<u64>,
    /// PostgreSQL URL for metadata several nodes share (default: SQLite in the data directory).
    #[arg(long, env = "GALLEON_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// This node's id among several (default: generated once, kept in DATA_DIR/node-id).
    #[arg(long, env = "GALLEON_NODE_ID")]
    node_id: Option<String>,
    /// Where page writes to upload URLs are staged until `endGetAccess` (default: DATA_DIR/uploads;
    /// with several nodes, a directory every node shares).
    #[arg(long, env = "GALLEON_UPLOADS_DIR")]
    uploads_dir: Option<PathBuf>,
    /// Also serve `GET /metrics` (Prometheus text, no token) on this address, for a scraper on
    /// a private network (on the API port, /metrics needs a tenant owner's token).
    #[arg(long, env = "GALLEON_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// How many days the activity log keeps events (Azure keeps 90).
    #[arg(long, env = "GALLEON_ACTIVITY_RETENTION_DAYS")]
    activity_retention_days: Option<u64>,
}

/// A database URL: it may hold a password, so it never prints.
#[derive(Clone)]
pub(crate) struct DatabaseUrl(String);

impl DatabaseUrl {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl(…)")
    }
}

/// The configuration file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    public_url: Option<String>,
    insecure_http: Option<bool>,
    regions: Option<Vec<String>>,
    import_allow: Option<Vec<String>>,
    replication_copy: Option<String>,
    tls: Option<FileTls>,
    /// Region → store URL (`memory://`, `file:///dir`), served through `object_store`.
    region_stores: Option<std::collections::BTreeMap<String, String>>,
    /// Explicit stores: a region listed here has exactly these, primary first.
    stores: Option<Vec<FileStore>>,
    gc: Option<FileGc>,
    import_timeouts: Option<FileImportTimeouts>,
    database: Option<FileDatabase>,
    node_id: Option<String>,
    uploads_dir: Option<PathBuf>,
    metrics_listen: Option<SocketAddr>,
    activity_retention_days: Option<u64>,
}

/// `[database]`: where the metadata lives when several nodes share it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDatabase {
    url: Option<String>,
}

/// `[import_timeouts]`: bounds on http(s) import fetches.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileImportTimeouts {
    connect_seconds: Option<u64>,
    idle_seconds: Option<u64>,
    total_seconds: Option<u64>,
}

/// `[gc]`: how often garbage is collected and how long unreferenced chunks are spared.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGc {
    interval_seconds: Option<u64>,
    grace_seconds: Option<u64>,
}

/// One `[[stores]]` entry.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileStore {
    /// Region name.
    pub region: String,
    /// `Standard_LRS`, `Standard_ZRS` or `Premium_LRS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `dir:///path` (galleon's local chunk store), `az://container/prefix` (Azure Blob Storage),
    /// `s3://bucket/prefix` (S3-compatible), `file:///path` or `memory://` (object_store).
    pub url: String,
    /// Azure: the storage account (else `AZURE_STORAGE_ACCOUNT_NAME`).
    pub account: Option<String>,
    /// Azure: the account key (else `AZURE_STORAGE_ACCOUNT_KEY`).
    pub key: Option<String>,
    /// Azure: a SAS token instead of a key.
    pub sas: Option<String>,
    /// The service's URL (Azure: the account URL; S3: the server).
    pub endpoint: Option<String>,
    /// S3: the region.
    pub s3_region: Option<String>,
    /// S3: credentials (else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// S3: path-style requests (most self-hosted servers need them).
    #[serde(default)]
    pub path_style: bool,
    /// Plain HTTP to the endpoint (emulators, loopback).
    #[serde(default)]
    pub allow_http: bool,
    /// PEM CA certificates to trust for the endpoint besides the system's.
    pub ca_file: Option<PathBuf>,
    /// Seconds one request may take (default 30).
    pub request_timeout_seconds: Option<u64>,
    /// Seconds the client retries a failing request before the job sees the error (default 30).
    pub retry_timeout_seconds: Option<u64>,
}

impl FileStore {
    /// The entry as an object-store specification.
    pub(crate) fn object_spec(&self) -> galleon_blob::store::ObjectStoreSpec {
        galleon_blob::store::ObjectStoreSpec {
            url: self.url.clone(),
            account: self.account.clone(),
            key: self.key.clone(),
            sas: self.sas.clone(),
            endpoint: self.endpoint.clone(),
            region: self.s3_region.clone(),
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            path_style: self.path_style,
            allow_http: self.allow_http,
            ca_file: self.ca_file.clone(),
            request_timeout: self.request_timeout_seconds.map(std::time::Duration::from_secs),
            retry_timeout: self.retry_timeout_seconds.map(std::time::Duration::from_secs),
        }
    }
}

/// Secrets never print.
impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("region", &self.region)
            .field("type", &self.kind)
            .field("object_store", &self.object_spec())
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileTls {
    cert: PathBuf,
    key: PathBuf,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub public_url: Option<String>,
    pub insecure_http: bool,
    /// Certificate and key given by the operator, if any.
    pub tls: Option<(PathBuf, PathBuf)>,
    pub regions: Vec<String>,
    /// URL prefixes imports may read from.
    pub import_allow: Vec<String>,
    /// Region stores given by URL; other regions use `DATA_DIR/regions/<region>`.
    pub region_stores: std::collections::BTreeMap<String, String>,
    /// Link chunks between local stores instead of copying them.
    pub link_copies: bool,
    /// Explicit stores from the configuration file.
    pub stores: Vec<FileStore>,
    /// Background garbage collection: every `.0`, sparing chunks younger than `.1`.
    pub gc: (std::time::Duration, std::time::Duration),
    /// Bounds on http(s) import fetches.
    pub fetch_timeouts: crate::fetch::FetchTimeouts,
    /// PostgreSQL for the metadata; SQLite in the data directory when absent.
    pub database_url: Option<DatabaseUrl>,
    /// The configured node id, if any.
    pub node_id: Option<String>,
    /// Where uploads are staged.
    pub uploads_dir: PathBuf,
    /// Where `/metrics` is also served without a token, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// How long the activity log keeps events.
    pub activity_retention: std::time::Duration,
}

fn read_file_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl Settings {
    pub(crate) fn resolve(args: ServeArgs) -> anyhow::Result<Self> {
        let data_dir = args.data_dir.unwrap_or_else(|| PathBuf::from("galleon-data"));
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None if data_dir.join("galleon.toml").exists() => read_file_config(&data_dir.join("galleon.toml"))?,
            None => FileConfig::default(),
        };
        let regions: Vec<String> = args
            .regions
            .or(file.regions)
            .unwrap_or_else(|| DEFAULT_REGIONS.iter().map(|s| s.to_string()).collect())
            .iter()
            .map(|r| galleon_model::region::canonical(r))
            .filter(|r| !r.is_empty())
            .collect();
        anyhow::ensure!(!regions.is_empty(), "at least one region must be configured");
        let default_imports = || {
            let abs = std::path::absolute(&data_dir).unwrap_or_else(|_| data_dir.clone());
            vec![format!("file://{}/", abs.join("imports").display())]
        };
        let import_allow = args.import_allow.or(file.import_allow).unwrap_or_else(default_imports);
        let region_stores = file
            .region_stores
            .unwrap_or_default()
            .into_iter()
            .map(|(r, u)| (galleon_model::region::canonical(&r), u))
            .collect();
        let copy = args.replication_copy.or(file.replication_copy).unwrap_or_else(|| "link".into());
        anyhow::ensure!(copy == "link" || copy == "copy", "replication_copy must be 'link' or 'copy', not '{copy}'");
        let stores: Vec<FileStore> = file
            .stores
            .unwrap_or_default()
            .into_iter()
            .map(|mut s| {
                s.region = galleon_model::region::canonical(&s.region);
                s
            })
            .collect();
        let file_gc = file.gc.unwrap_or_default();
        let gc_every = args.gc_interval_seconds.or(file_gc.interval_seconds).unwrap_or(3600);
        anyhow::ensure!(gc_every > 0, "gc interval_seconds must be at least 1");
        let gc_grace = args.gc_grace_seconds.or(file_gc.grace_seconds).unwrap_or(3600);
        let t = file.import_timeouts.unwrap_or_default();
        let secs = |flag: Option<u64>, file: Option<u64>, default: u64| -> anyhow::Result<std::time::Duration> {
            let v = flag.or(file).unwrap_or(default);
            anyhow::ensure!(v > 0, "import timeouts must be at least one second");
            Ok(std::time::Duration::from_secs(v))
        };
        let fetch_timeouts = crate::fetch::FetchTimeouts {
            connect: secs(args.import_connect_timeout_seconds, t.connect_seconds, 10)?,
            idle: secs(args.import_idle_timeout_seconds, t.idle_seconds, 60)?,
            total: secs(args.import_total_timeout_seconds, t.total_seconds, 21_600)?,
        };
        let database_url =
            args.database_url.or(file.database.and_then(|d| d.url)).filter(|u| !u.trim().is_empty()).map(DatabaseUrl);
        let uploads_dir = args.uploads_dir.or(file.uploads_dir).unwrap_or_else(|| data_dir.join("uploads"));
        let retention_days = args.activity_retention_days.or(file.activity_retention_days).unwrap_or(90);
        anyhow::ensure!(retention_days > 0, "activity_retention_days must be at least 1");
        Ok(Self {
            activity_retention: std::time::Duration::from_secs(retention_days * 24 * 3600),
            metrics_listen: args.metrics_listen.or(file.metrics_listen),
            uploads_dir,
            database_url,
            node_id: args.node_id.or(file.node_id),
            fetch_timeouts,
            gc: (std::time::Duration::from_secs(gc_every), std::time::Duration::from_secs(gc_grace)),
            stores,
            link_copies: copy == "link",
            region_stores,
            import_allow,
            data_dir,
            listen: args.listen.or(file.listen).unwrap_or_else(|| "127.0.0.1:8443".parse().expect("valid default")),
            public_url: args.public_url.or(file.public_url),
            insecure_http: args.insecure_http || file.insecure_http.unwrap_or(false),
            tls: args.tls_cert.zip(args.tls_key).or(file.tls.map(|t| (t.cert, t.key))),
            regions,
        })
    }

    /// The URL clients reach the server at.
    pub(crate) fn endpoint(&self) -> String {
        if let Some(url) = &self.public_url {
            return url.trim_end_matches('/').to_string();
        }
        let scheme = if self.insecure_http { "http" } else { "https" };
        let host =
            if self.listen.ip().is_unspecified() { "127.0.0.1".to_string() } else { self.listen.ip().to_string() };
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        format!("{scheme}://{host}:{}", self.listen.port())
    }
}
