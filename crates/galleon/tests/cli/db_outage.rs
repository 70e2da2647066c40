//! A server on PostgreSQL while the database goes away and comes back: requests answer 503 with
//! `Retry-After` (never a 500, never a wrong answer), and work accepted before the outage
//! finishes after it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use galleon_store::MetadataStore;

use super::{Server, write_raw};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/postgres.sh")
}

/// A cluster of this test's own (it is stopped and started again), when PostgreSQL is available.
struct OwnCluster {
    dir: tempfile::TempDir,
    port: u16,
    url: String,
}

impl OwnCluster {
    fn start() -> Option<Self> {
        // PostgreSQL is installed where the test cluster runs; this test starts its own.
        super::test_database_url()?;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cluster = Self { dir, port, url: String::new() };
        cluster.url = cluster.up();
        Some(cluster)
    }

    fn pg(&self) -> PathBuf {
        self.dir.path().join("pg")
    }

    fn up(&self) -> String {
        // Durable: the test crashes it, and a crash keeps only durable commits.
        let out = Command::new(script())
            .arg("start")
            .arg(self.pg())
            .arg(self.port.to_string())
            .env("GALLEON_PG_DURABLE", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// One value from the database.
    fn sql(&self, query: &str) -> String {
        let out = Command::new("psql").arg(&self.url).args(["-tAc", query]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// Stops it as a crash would.
    fn down(&self) {
        let out = Command::new(script()).arg("crash").arg(self.pg()).output().unwrap();
        assert!(out.status.success());
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        self.down();
    }
}

#[test]
fn requests_answer_503_while_the_database_is_away_and_accepted_work_finishes_after() {
    let Some(db) = OwnCluster::start() else { return };
    let server = Server::start_with(&["--database-url", &db.url, "--replication-copy", "copy"]);
    server.login_with_group("westcentralus");
    let raw = server.dir.path().join("disk.raw");
    write_raw(&raw, 64);
    let file = raw.to_str().unwrap();
    server.ok(&["disk", "upload", "-g", "rg", "-n", "up", "--file", file, "--os-type", "Linux", "-o", "none"]);
    // V2, as az's definitions are by default.
    let image = ["image", "create", "-g", "rg", "-n", "img", "--source", "up", "--os-type", "Linux"];
    server.ok(&[&image[..], &["--hyper-v-generation", "V2", "-o", "none"]].concat());
    server.gallery_with_definition("def");
    let create = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    let regions = ["--target-regions", "westcentralus", "eastus", "westus2", "northeurope"];
    let token = token(&server);
    // Another node's garbage collection holds the content lock, so the build, once claimed, is
    // certainly still running when the database goes away (a small build is otherwise over in
    // milliseconds).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let collector = runtime.block_on(galleon_store::postgres::PgStore::connect(&db.url)).unwrap();
    let wait = Duration::from_secs(10);
    let gc = runtime.block_on(collector.lock("content", galleon_store::LockMode::Exclusive, wait)).unwrap();
    assert!(gc.is_some());
    server.ok(&[&create[..], &["--managed-image", "img", "--no-wait", "-o", "none"], &regions[..]].concat());

    // The database goes away (as a crash would take it: immediate stop) while the build runs.
    let build = "SELECT count(*) FROM operations WHERE job = 'build_version' AND status = 'InProgress' AND lease_owner IS NOT NULL";
    let deadline = Instant::now() + Duration::from_secs(60);
    while db.sql(build) != "1" {
        assert!(Instant::now() < deadline, "the build was never claimed");
        std::thread::sleep(Duration::from_millis(5));
    }
    db.down();
    drop((gc, collector, runtime));
    let show = ["sig", "image-version", "show", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    // The raw answer: 503 and when to come back.
    let status = curl_status(&server, &token);
    assert_eq!(status.0, 503, "{status:?}");
    assert!(status.1.contains("retry-after: 5"), "{status:?}");
    // Monitoring sees it too: /readyz says the database is not usable.
    let (code, body) = readyz(&server);
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("\"ready\":false") && !body.contains("\"database\":\"ok\""), "{body}");
    // The CLI, like az, asks again after Retry-After: a command started while the database is
    // away succeeds once it is back (here after 3 s).
    let waiting = server.spawn_galleon(&[&show[..], &["--query", "name", "-o", "tsv"]].concat());
    std::thread::sleep(Duration::from_secs(3));
    db.up();
    let out = waiting.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1.0.0");

    // Back: the version accepted before the outage finishes, in every region.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let out = server.galleon(&[&show[..], &["--query", "provisioningState", "-o", "tsv"]].concat());
        let state = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if state == "Succeeded" {
            break;
        }
        assert!(state != "Failed", "the version failed across the outage");
        assert!(Instant::now() < deadline, "the version did not finish after the database came back ({state})");
        std::thread::sleep(Duration::from_millis(500));
    }
    let expanded =
        server
            .ok(&[&show[..], &["--expand", "ReplicationStatus", "--query", "replicationStatus.aggregatedState"]]
                .concat());
    assert_eq!(expanded, "Completed");
    // The outage landed mid-build: the job was taken up again after it.
    let attempts = db.sql("SELECT attempts FROM operations WHERE job = 'build_version'");
    assert!(attempts.parse::<u32>().unwrap() >= 2, "the build finished before the outage ({attempts} attempt)");
}

fn credentials(server: &Server) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap()
}

/// An ARM token for the admin, from the token endpoint.
fn token(server: &Server) -> String {
    let c = credentials(server);
    let url = format!("{}/{}/oauth2/v2.0/token", c["endpoint"].as_str().unwrap(), c["tenantId"].as_str().unwrap());
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fmanagement.azure.com%2F.default",
        c["clientId"].as_str().unwrap(),
        c["clientSecret"].as_str().unwrap()
    );
    let out = Command::new("curl")
        .args(["-sf", "--cacert", c["caFile"].as_str().unwrap(), "-d", &form, &url])
        .output()
        .unwrap();
    assert!(out.status.success(), "token request failed");
    let body: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Status and lowercase headers of a GET of the subscription's resource groups.
fn curl_status(server: &Server, token: &str) -> (u16, String) {
    let creds = credentials(server);
    let url = format!(
        "{}/subscriptions/{}/resourcegroups?api-version=2021-04-01",
        creds["endpoint"].as_str().unwrap(),
        creds["subscriptionId"].as_str().unwrap()
    );
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null", "--cacert", creds["caFile"].as_str().unwrap()])
        .args(["-H", &format!("Authorization: Bearer {token}"), &url])
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head)
}

/// Status and body of `GET /readyz` (no token).
fn readyz(server: &Server) -> (u16, String) {
    let creds = credentials(server);
    let url = format!("{}/readyz", creds["endpoint"].as_str().unwrap().trim_end_matches('/'));
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}", "--cacert", creds["caFile"].as_str().unwrap(), &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or((&text, "0"));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

#[test]
fn a_server_whose_database_cannot_be_reached_says_so_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    // Port 1 on loopback refuses at once; the password never shows.
    let out = Command::new(super::BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "postgres://galleon:pw-s3cret@127.0.0.1:1/galleon",
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot reach PostgreSQL at 127.0.0.1 port 1"), "{stderr}");
    assert!(!stderr.contains("pw-s3cret"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(20));
}
