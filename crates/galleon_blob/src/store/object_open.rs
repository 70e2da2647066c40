//! Opening region stores given by URL, through `object_store`: `az://container/prefix` (Azure
//! Blob Storage, or Azurite), `s3://bucket/prefix` (S3 and S3-compatible servers), `file:///dir`
//! and `memory://`. Stores in one container or bucket share one client, so a copy between them
//! never leaves the service (Azure Copy Blob, S3 CopyObject).
//!
//! Settings not given in a store's entry come from the environment, as `object_store` reads it
//! (`AZURE_STORAGE_ACCOUNT_NAME`, `AZURE_STORAGE_ACCOUNT_KEY`, `AWS_ACCESS_KEY_ID`, …).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::ObjectChunkStore;

/// One region store on an object store, as the configuration gives it. Secrets never print.
#[derive(Clone, Default)]
pub struct ObjectStoreSpec {
    /// `az://container/prefix`, `s3://bucket/prefix`, `file:///dir` or `memory://`.
    pub url: String,
    /// Azure: the storage account.
    pub account: Option<String>,
    /// Azure: the account key.
    pub key: Option<String>,
    /// Azure: a SAS token (query string, with or without the leading `?`).
    pub sas: Option<String>,
    /// The service's base URL (Azure: the account URL, e.g. Azurite's
    /// `http://127.0.0.1:10000/devstoreaccount1`; S3: the server's URL).
    pub endpoint: Option<String>,
    /// S3: the region (default `us-east-1`).
    pub region: Option<String>,
    /// S3: the access key id.
    pub access_key_id: Option<String>,
    /// S3: the secret access key.
    pub secret_access_key: Option<String>,
    /// S3: path-style requests (`endpoint/bucket/key`), which most self-hosted servers need.
    pub path_style: bool,
    /// Allow plain HTTP to the endpoint (emulators, loopback servers).
    pub allow_http: bool,
    /// PEM certificates (a CA bundle) to trust for the endpoint besides the system's, for a
    /// service whose certificate a private CA signed.
    pub ca_file: Option<std::path::PathBuf>,
    /// How long one request may take before it is retried (default 30 s).
    pub request_timeout: Option<Duration>,
    /// How long the client retries a failing request (5xx, 429, timeouts, refused connections)
    /// before the error reaches the job, which then retries with its own backoff (default 30 s).
    pub retry_timeout: Option<Duration>,
}

impl std::fmt::Debug for ObjectStoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("ObjectStoreSpec")
            .field("url", &self.url)
            .field("account", &self.account)
            .field("key", &set(&self.key))
            .field("sas", &set(&self.sas))
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &set(&self.secret_access_key))
            .field("path_style", &self.path_style)
            .field("allow_http", &self.allow_http)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// A store URL that cannot be used, or a client that cannot be built; names the store's URL.
#[derive(Debug, thiserror::Error)]
#[error("store '{url}': {reason}")]
pub struct OpenError {
    /// The store's URL as configured.
    pub url: String,
    /// What is wrong.
    pub reason: String,
}

/// A parsed store URL.
#[derive(Debug, PartialEq, Eq)]
enum Location<'a> {
    Azure { container: &'a str, prefix: &'a str },
    S3 { bucket: &'a str, prefix: &'a str },
    File { dir: &'a str },
    Memory,
}

fn parse(url: &str) -> Result<Location<'_>, String> {
    if url == "memory://" {
        return Ok(Location::Memory);
    }
    if let Some(dir) = url.strip_prefix("file://") {
        if !dir.starts_with('/') {
            return Err("a file:// URL needs an absolute path (file:///dir)".into());
        }
        return Ok(Location::File { dir });
    }
    let (scheme, rest) = url.split_once("://").ok_or("expected az://, s3://, file:// or memory://")?;
    let (name, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_end_matches('/');
    // Credentials and hosts belong in the entry's fields, never in the URL, where they would be
    // logged: `az://key@container` or `s3://bucket.host` are refused.
    let valid_name = (3..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if !valid_name {
        return Err(format!(
            "'{name}' is not a container or bucket name (3 to 63 lowercase letters, digits and hyphens)"
        ));
    }
    if prefix.split('/').any(|s| s == "." || s == ".." || (s.is_empty() && !prefix.is_empty()))
        || prefix.contains(['?', '#', '\\', '%'])
    {
        return Err(format!("'{prefix}' is not a valid prefix"));
    }
    match scheme {
        "az" => Ok(Location::Azure { container: name, prefix }),
        "s3" => Ok(Location::S3 { bucket: name, prefix }),
        other => Err(format!("unsupported scheme '{other}' (use az://, s3://, file:// or memory://)")),
    }
}

/// Opens region stores, sharing one client per container or bucket and credentials.
pub struct ObjectStores {
    clients: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
}

impl Default for ObjectStores {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectStores {
    /// No stores opened yet. Installs ring as rustls' process-wide provider if none is (the
    /// HTTPS client is built without one, to keep C-built crypto out of the build).
    pub fn new() -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self { clients: Mutex::new(HashMap::new()) }
    }

    /// Opens the chunk store `spec` names. Nothing is sent to the service here: see
    /// [`ObjectChunkStore::probe`].
    pub fn open(&self, spec: &ObjectStoreSpec) -> Result<ObjectChunkStore, OpenError> {
        let fail = |reason: String| OpenError { url: spec.url.clone(), reason };
        let location = parse(&spec.url).map_err(fail)?;
        let (client, prefix): (Arc<dyn ObjectStore>, String) = match location {
            Location::Memory => (Arc::new(object_store::memory::InMemory::new()), "chunks".into()),
            Location::File { dir } => {
                std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
                let fs = object_store::local::LocalFileSystem::new_with_prefix(dir).map_err(|e| fail(e.to_string()))?;
                (Arc::new(fs), "chunks".into())
            }
            Location::Azure { container, prefix } => {
                let options = client_options(spec).map_err(fail)?;
                (self.shared(spec, "az", container, || azure(spec, container, options))?, prefix.into())
            }
            Location::S3 { bucket, prefix } => {
                let options = client_options(spec).map_err(fail)?;
                (self.shared(spec, "s3", bucket, || s3(spec, bucket, options))?, prefix.into())
            }
        };
        // Errors name the store by its URL, which callers may see in a region's `details`: a
        // container or bucket and prefix, never a path on this server.
        let label = if spec.url.starts_with("file://") { "file:// store" } else { spec.url.as_str() };
        Ok(ObjectChunkStore::new(client, &prefix).with_label(label))
    }

    fn shared(
        &self,
        spec: &ObjectStoreSpec,
        scheme: &str,
        name: &str,
        build: impl FnOnce() -> object_store::Result<Arc<dyn ObjectStore>>,
    ) -> Result<Arc<dyn ObjectStore>, OpenError> {
        // Same service, container and credentials: same client (the key is never printed).
        let key = format!(
            "{scheme}\n{name}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            spec.endpoint,
            spec.account,
            spec.key,
            spec.sas,
            spec.region,
            spec.access_key_id,
            spec.secret_access_key,
            spec.ca_file
        );
        let mut clients = self.clients.lock().expect("object store clients lock");
        if let Some(c) = clients.get(&key) {
            return Ok(c.clone());
        }
        let client = build().map_err(|e| OpenError { url: spec.url.clone(), reason: e.to_string() })?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

fn client_options(spec: &ObjectStoreSpec) -> Result<ClientOptions, String> {
    let mut options = ClientOptions::new()
        .with_allow_http(spec.allow_http)
        .with_connect_timeout(Duration::from_secs(5))
        .with_timeout(spec.request_timeout.unwrap_or(Duration::from_secs(30)));
    if let Some(path) = &spec.ca_file {
        let pem = std::fs::read(path).map_err(|e| format!("reading ca_file {}: {e}", path.display()))?;
        let certs = object_store::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("ca_file {} holds no usable PEM certificate: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("ca_file {} holds no PEM certificate", path.display()));
        }
        for cert in certs {
            options = options.with_root_certificate(cert);
        }
    }
    Ok(options)
}

fn retry(spec: &ObjectStoreSpec) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: 10,
        retry_timeout: spec.retry_timeout.unwrap_or(Duration::from_secs(30)),
    }
}

fn azure(
    spec: &ObjectStoreSpec,
    container: &str,
    options: ClientOptions,
) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut b = MicrosoftAzureBuilder::from_env()
        .with_container_name(container)
        .with_client_options(options)
        .with_retry(retry(spec));
    if let Some(v) = &spec.account {
        b = b.with_account(v);
    }
    if let Some(v) = &spec.key {
        b = b.with_access_key(v);
    }
    if let Some(v) = &spec.sas {
        b = b.with_config(AzureConfigKey::SasKey, v.trim_start_matches('?'));
    }
    if let Some(v) = &spec.endpoint {
        b = b.with_endpoint(v.clone());
    }
    Ok(Arc::new(b.build()?))
}

fn s3(spec: &ObjectStoreSpec, bucket: &str, options: ClientOptions) -> object_store::Result<Arc<dyn ObjectStore>> {
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(bucket)
        .with_client_options(options)
        .with_retry(retry(spec))
        .with_virtual_hosted_style_request(!spec.path_style);
    b = b.with_region(spec.region.as_deref().unwrap_or("us-east-1"));
    if let Some(v) = &spec.endpoint {
        b = b.with_endpoint(v);
    }
    if let Some(v) = &spec.access_key_id {
        b = b.with_access_key_id(v);
    }
    if let Some(v) = &spec.secret_access_key {
        b = b.with_secret_access_key(v);
    }
    Ok(Arc::new(b.build()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(parse("az://chunks/eastus/1"), Ok(Location::Azure { container: "chunks", prefix: "eastus/1" }));
        assert_eq!(parse("s3://my-bucket"), Ok(Location::S3 { bucket: "my-bucket", prefix: "" }));
        assert_eq!(parse("s3://my-bucket/p/"), Ok(Location::S3 { bucket: "my-bucket", prefix: "p" }));
        assert_eq!(parse("memory://"), Ok(Location::Memory));
        assert_eq!(parse("file:///srv/x"), Ok(Location::File { dir: "/srv/x" }));
        for bad in [
            "az://user:pw@chunks/p",
            "az://Chunks/p",
            "s3://bucket.example.com/p",
            "s3://ab/p",
            "s3://bucket/../x",
            "s3://bucket/a//b",
            "s3://bucket/p?sig=1",
            "gs://bucket/p",
            "file://relative",
            "chunks",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_never_print() {
        let spec = ObjectStoreSpec {
            url: "az://c1c/p".into(),
            key: Some("SECRETKEY".into()),
            sas: Some("sig=SECRETSAS".into()),
            secret_access_key: Some("SECRETS3".into()),
            ..Default::default()
        };
        let shown = format!("{spec:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }

    #[test]
    fn one_client_per_container_and_credentials() {
        let stores = ObjectStores::new();
        let spec = |url: &str, key: &str| ObjectStoreSpec {
            url: url.into(),
            account: Some("acct".into()),
            key: Some(key.into()),
            endpoint: Some("http://127.0.0.1:1/acct".into()),
            allow_http: true,
            ..Default::default()
        };
        let key = "a2V5"; // base64
        let a = stores.open(&spec("az://chunks/eastus", key)).unwrap();
        let b = stores.open(&spec("az://chunks/westus", key)).unwrap();
        let c = stores.open(&spec("az://other/westus", key)).unwrap();
        let d = stores.open(&spec("az://chunks/northeurope", "b3RoZXI=")).unwrap();
        assert!(a.shares_service_with(&b));
        assert!(!a.shares_service_with(&c));
        assert!(!a.shares_service_with(&d));
    }
}
