//! The test harness.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use galleon_api::inproc::InProcess;
use galleon_api::{AppState, app};
use galleon_blob::store::{ChunkStore, LocalStore};
use galleon_client::{Client, Credential};
use galleon_core::auth::generate_signing_key;
use galleon_core::regions::RegionStore;
use galleon_core::{Core, CoreConfig};
use galleon_model::image_version::StorageAccountType;
use galleon_store::sqlite::SqliteStore;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub const SUB: &str = "00000000-0000-0000-0000-00000000000a";
pub const TENANT: &str = "00000000-0000-0000-0000-0000000000aa";
pub const COMPUTE: &str = "api-version=2024-03-03";
pub const RES: &str = "api-version=2024-11-01";

/// One server: core, router, an admin token.
pub struct TestApp {
    pub core: Arc<Core>,
    pub token: String,
    pub client_id: String,
    pub secret: String,
    state: AppState,
    pub dir: tempfile::TempDir,
}

/// A response.
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
    pub fn state(&self) -> &str {
        self.body["properties"]["provisioningState"].as_str().unwrap_or_default()
    }
}

pub async fn core_over(path: &std::path::Path, key: &[u8]) -> Arc<Core> {
    core_with_stores(path, key, &|_, _, store| store).await
}

/// The metadata store of a test app: SQLite in its directory, or, with
/// `GALLEON_TEST_BACKEND=postgres`, a schema of its own (named after the directory, so a restart
/// finds it) on the cluster at `GALLEON_TEST_DATABASE_URL`.
pub async fn metadata_store(path: &std::path::Path) -> Arc<dyn galleon_store::MetadataStore> {
    if std::env::var("GALLEON_TEST_BACKEND").as_deref() == Ok("postgres") {
        let url = std::env::var("GALLEON_TEST_DATABASE_URL").expect("GALLEON_TEST_DATABASE_URL");
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        path.hash(&mut h);
        let schema = format!("api_{:016x}", h.finish());
        return Arc::new(galleon_store::postgres::PgStore::connect_in_schema(&url, &schema).await.unwrap());
    }
    Arc::new(SqliteStore::open(&path.join("meta.db")).unwrap())
}

/// A store as a region gets it; tests may wrap one (to inject faults).
pub type WrapStore = dyn Fn(&str, &str, Arc<dyn ChunkStore>) -> Arc<dyn ChunkStore>;

/// As [`core_over`], each region store passed through `wrap(region, name, store)`.
pub async fn core_with_stores(path: &std::path::Path, key: &[u8], wrap: &WrapStore) -> Arc<Core> {
    let store = metadata_store(path).await;
    let regions = ["eastus", "eastus2", "westus2", "westcentralus", "southcentralus", "northeurope", "westeurope"];
    // Each region: two Standard_LRS stores, two Standard_ZRS and one Premium_LRS.
    let kinds = [
        ("standard_lrs-1", StorageAccountType::StandardLrs),
        ("standard_lrs-2", StorageAccountType::StandardLrs),
        ("standard_zrs-1", StorageAccountType::StandardZrs),
        ("standard_zrs-2", StorageAccountType::StandardZrs),
        ("premium_lrs-1", StorageAccountType::PremiumLrs),
    ];
    let chunk_stores = regions
        .iter()
        .map(|r| {
            let stores = kinds
                .iter()
                .map(|(name, kind)| RegionStore {
                    name: name.to_string(),
                    kind: *kind,
                    store: wrap(r, name, Arc::new(LocalStore::open(&path.join("regions").join(r).join(name)).unwrap())),
                })
                .collect();
            (r.to_string(), stores)
        })
        .collect();
    let config = CoreConfig {
        tenant_id: TENANT.into(),
        regions: regions.iter().map(|s| s.to_string()).collect(),
        chunk_stores,
        import_allow: vec![format!("file://{}/", path.join("imports").display())],
        uploads_dir: path.join("uploads"),
        // http(s) imports are exercised end to end against Azurite (tests/e2e).
        fetcher: None,
        webhooks: None,
        link_copies: true,
        node_id: "test-node".into(),
    };
    Arc::new(Core::new(store, config, key).unwrap())
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_stores(&|_, _, store| store).await
    }

    /// A test app whose region stores pass through `wrap` (fault injection).
    pub async fn with_stores(wrap: &WrapStore) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let key = generate_signing_key();
        std::fs::write(dir.path().join("key"), &key).unwrap();
        let core = core_with_stores(dir.path(), &key, wrap).await;
        core.ensure_signing_keys(&key).await.unwrap();
        core.ensure_subscription(SUB, "test").await.unwrap();
        let admin = core.create_principal("admin").await.unwrap();
        core.ensure_owner(SUB, &admin.principal.object_id).await.unwrap();
        core.ensure_tenant_admin(&admin.principal.object_id).await.unwrap();
        let mut app = Self::over(core, dir);
        app.client_id = admin.principal.client_id;
        app.secret = admin.secret;
        let resp = app.token_request(&app.client_id.clone(), &app.secret.clone()).await;
        assert_eq!(resp.status, StatusCode::OK, "{}", resp.body);
        app.token = resp.body["access_token"].as_str().unwrap().to_string();
        app
    }

    fn over(core: Arc<Core>, dir: tempfile::TempDir) -> Self {
        let state = AppState::new(core.clone(), None, "https");
        Self { core, token: String::new(), client_id: String::new(), secret: String::new(), state, dir }
    }

    /// The same data directory opened again, as after a restart.
    pub async fn restart(self) -> Self {
        let key = std::fs::read(self.dir.path().join("key")).unwrap();
        let (token, client_id, secret) = (self.token.clone(), self.client_id.clone(), self.secret.clone());
        let dir = self.dir;
        drop(self.core);
        drop(self.state);
        let core = core_over(dir.path(), &key).await;
        core.ensure_signing_keys(&key).await.unwrap();
        let mut app = Self::over(core, dir);
        (app.token, app.client_id, app.secret) = (token, client_id, secret);
        app
    }

    pub async fn token_request(&self, client_id: &str, secret: &str) -> Resp {
        let form = format!(
            "grant_type=client_credentials&client_id={client_id}&client_secret={}&scope=https%3A%2F%2Fmanagement.core.windows.net%2F%2F.default",
            urlencode(secret)
        );
        let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .unwrap();
        self.send(req).await
    }

    /// A request whose response body is returned as raw bytes.
    pub async fn send_raw(&self, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
        let resp = app(self.state.clone()).oneshot(req).await.unwrap();
        let (status, headers) = (resp.status(), resp.headers().clone());
        (status, headers, resp.into_body().collect().await.unwrap().to_bytes().to_vec())
    }

    pub async fn send(&self, req: Request<Body>) -> Resp {
        let resp = app(self.state.clone()).oneshot(req).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| json!({ "raw": String::from_utf8_lossy(&bytes) }))
        };
        Resp { status, headers, body }
    }

    /// An authenticated request; `uri` carries its own query.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Resp {
        let mut req =
            Request::builder().method(method).uri(uri).header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        self.send(req.body(body).unwrap()).await
    }

    pub async fn put(&self, uri: &str, body: Value) -> Resp {
        self.call(Method::PUT, uri, Some(body)).await
    }
    pub async fn patch(&self, uri: &str, body: Value) -> Resp {
        self.call(Method::PATCH, uri, Some(body)).await
    }
    pub async fn get(&self, uri: &str) -> Resp {
        self.call(Method::GET, uri, None).await
    }
    pub async fn delete(&self, uri: &str) -> Resp {
        self.call(Method::DELETE, uri, None).await
    }

    /// galleon's ARM client, in process over this app's router, as `credential`.
    pub fn arm_client(&self, credential: Credential) -> Client<InProcess> {
        Client::over(InProcess::new(galleon_api::router(self.state.clone()), "localhost"), credential)
    }

    /// Runs queued jobs to completion.
    pub async fn settle(&self) {
        let run = self.core.run_pending_jobs().await.unwrap();
        assert!(run.failed.is_empty(), "a background job failed: {:?}", run.failed);
    }

    /// Runs the jobs that are due where some are meant to fail; returns the failures
    /// (operation id, code, message).
    pub async fn settle_with_failures(&self) -> Vec<(String, String, String)> {
        self.core.run_pending_jobs().await.unwrap().failed
    }

    /// Runs jobs until the operation at `url` ends (retries wait out their backoff); returns
    /// its final status.
    pub async fn settle_until_done(&self, url: &str) -> Resp {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            self.settle_with_failures().await;
            let status = self.poll(url).await;
            if status.body["status"] != "InProgress" || std::time::Instant::now() > deadline {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    }

    /// Runs a maintenance request (`POST /galleon/gc`, `…/scrub`) to its end; returns its
    /// reports (`properties.output.value`).
    pub async fn maintenance(&self, path: &str) -> Value {
        let r = self.call(axum::http::Method::POST, path, None).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{path}: {}", r.body);
        let status = self.settle_until_done(r.header("azure-asyncoperation")).await;
        assert_eq!(status.body["status"], "Succeeded", "{path}: {}", status.body);
        status.body["properties"]["output"]["value"].clone()
    }

    /// Polls an absolute operation URL (as a client would) and returns its body.
    pub async fn poll(&self, url: &str) -> Resp {
        let path = url.split_once("://").map(|(_, rest)| &rest[rest.find('/').unwrap()..]).unwrap();
        self.get(path).await
    }

    /// Creates a resource group, gallery and definition the way `az` does; returns their paths.
    pub async fn seed_definition(&self, rg: &str, gallery: &str, image: &str) -> (String, String) {
        let r = self
            .put(&format!("/subscriptions/{SUB}/resourcegroups/{rg}?{RES}"), json!({ "location": "westcentralus" }))
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        let g = gallery_path(rg, gallery);
        let r = self.put(&format!("{g}?{COMPUTE}"), json!({ "location": "westcentralus" })).await;
        assert!(r.status.is_success(), "{}", r.body);
        let i = format!("{g}/images/{image}");
        let r = self
            .put(
                &format!("{i}?api-version=2021-10-01"),
                definition_body("westcentralus", "myPublisher", "myOffer", image),
            )
            .await;
        assert!(r.status.is_success(), "{}", r.body);
        self.seed_managed_image().await;
        self.settle().await;
        (g, i)
    }

    /// `MANAGED_IMAGE`: a Linux, generalized, V2 managed image of an empty 1 GiB disk, in
    /// `myResourceGroup`, as the seed's `--managed-image` names.
    pub async fn seed_managed_image(&self) {
        let rg = format!("/subscriptions/{SUB}/resourcegroups/myResourceGroup");
        self.put(&format!("{rg}?{RES}"), json!({ "location": "westcentralus" })).await;
        let disk = format!("{rg}/providers/Microsoft.Compute/disks/src?api-version=2025-01-02");
        let body = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } });
        assert!(self.put(&disk, body).await.status.is_success());
        self.settle().await;
        let image = json!({ "location": "westcentralus", "properties": { "hyperVGeneration": "V2", "storageProfile": { "osDisk": {
            "osType": "Linux", "osState": "Generalized",
            "managedDisk": { "id": format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/disks/src") } } } } });
        let r = self.put(&format!("{MANAGED_IMAGE}?api-version=2024-11-01"), image).await;
        assert!(r.status.is_success(), "{}", r.body);
        self.settle().await;
    }
}

pub fn gallery_path(rg: &str, gallery: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/galleries/{gallery}")
}

/// The body `az sig image-definition create` sends.
pub fn definition_body(location: &str, publisher: &str, offer: &str, sku: &str) -> Value {
    json!({
        "location": location,
        "properties": {
            "disallowed": {}, "features": [{ "name": "SecurityType", "value": "TrustedLaunchSupported" }],
            "hyperVGeneration": "V2", "identifier": { "offer": offer, "publisher": publisher, "sku": sku },
            "osState": "Generalized", "osType": "Linux"
        },
        "tags": {}
    })
}

pub const MANAGED_IMAGE: &str = "/subscriptions/00000000-0000-0000-0000-00000000000a/resourceGroups/myResourceGroup/providers/Microsoft.Compute/images/myImage";

/// The body the seed's `az sig image-version create` sends.
pub fn seed_version_body() -> Value {
    json!({
        "location": "westcentralus",
        "properties": {
            "publishingProfile": { "replicaCount": 2, "targetRegions": [
                { "name": "westcentralus" }, { "name": "southcentralus", "regionalReplicaCount": 1 },
                { "name": "eastus", "regionalReplicaCount": 1, "storageAccountType": "standard_zrs" } ] },
            "storageProfile": { "source": { "id": MANAGED_IMAGE } }
        },
        "tags": {}
    })
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Writes a sparse fixed VHD of `mib` MiB with a few blocks of data; returns its bytes.
pub fn write_vhd(path: &std::path::Path, mib: u64, seed: u8) -> Vec<u8> {
    use std::io::{Seek, SeekFrom, Write};
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let size = mib << 20;
    let mut f = std::fs::File::create(path).unwrap();
    f.set_len(size).unwrap();
    for i in 0..4u64 {
        f.seek(SeekFrom::Start((i * size / 4) + 4096 * u64::from(seed))).unwrap();
        f.write_all(&vec![seed.wrapping_add(i as u8) | 1; 70_000]).unwrap();
    }
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(&galleon_blob::vhd::build(size)).unwrap();
    drop(f);
    std::fs::read(path).unwrap()
}

/// The api-version of disks and snapshots.
pub const DISK_API: &str = "api-version=2025-01-02";

/// A group's Microsoft.Compute path.
pub fn rg_path(rg: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute")
}

/// Imports a fixed VHD from the import directory as a disk and waits for it.
pub async fn import_disk(app: &TestApp, rg: &str, name: &str, file: &std::path::Path, os: &str) -> Value {
    let body = json!({ "location": "westcentralus", "properties": { "osType": os, "hyperVGeneration": "V2",
        "creationData": { "createOption": "Import", "sourceUri": format!("file://{}", file.display()) } } });
    let r = app.put(&format!("{}/disks/{name}?{DISK_API}", rg_path(rg)), body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    app.settle().await;
    let got = app.get(&format!("{}/disks/{name}?{DISK_API}", rg_path(rg))).await;
    assert_eq!(got.state(), "Succeeded", "{}", got.body);
    got.body
}
