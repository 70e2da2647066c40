//! Regions on object storage, end to end through the CLI: a disk uploaded into a region on
//! Azurite, a version replicated Azurite → Azurite (server-side), Azurite → S3 and Azurite →
//! local disk, disks made from `latest` in each region and downloaded byte-identical; then the
//! faults: a store that goes away mid-replication fails only its region, with the store's error,
//! and an update after it is back finishes the version; a store that stalls for a while is
//! waited out and retried without failing anything.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use galleon_blob::store::conformance::test_object_stores;

use super::{Server, write_raw};

const OPEN: u8 = 0;
const PAUSED: u8 = 1;
const CLOSED: u8 = 2;

/// A TCP forwarder between galleon and a store: it can stall every connection (a store that
/// stops answering for a while) or go away (connections dropped, the port refusing), by hand or
/// once a number of bytes has gone upstream.
struct Forwarder {
    port: u16,
    upstream: String,
    mode: Arc<AtomicU8>,
    sent: Arc<AtomicU64>,
    close_after: Arc<AtomicU64>,
    conns: Arc<Mutex<Vec<TcpStream>>>,
}

impl Forwarder {
    fn start(upstream: &str) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let f = Self {
            port,
            upstream: upstream.to_string(),
            mode: Arc::new(AtomicU8::new(CLOSED)),
            sent: Arc::new(AtomicU64::new(0)),
            close_after: Arc::new(AtomicU64::new(u64::MAX)),
            conns: Arc::new(Mutex::new(Vec::new())),
        };
        f.open();
        f
    }

    /// Listens again (after a close) and relays.
    fn open(&self) {
        let listener = TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        self.mode.store(OPEN, Ordering::SeqCst);
        let (mode, sent, close_after, conns, upstream) =
            (self.mode.clone(), self.sent.clone(), self.close_after.clone(), self.conns.clone(), self.upstream.clone());
        std::thread::spawn(move || {
            while mode.load(Ordering::SeqCst) != CLOSED {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let Ok(server) = TcpStream::connect(&upstream) else { continue };
                conns.lock().unwrap().extend([client.try_clone().unwrap(), server.try_clone().unwrap()]);
                let up = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (m1, s1, c1) = (mode.clone(), sent.clone(), close_after.clone());
                std::thread::spawn(move || pump(up.0, up.1, &m1, Some((&s1, &c1))));
                let m2 = mode.clone();
                std::thread::spawn(move || pump(server, client, &m2, None));
            }
        });
    }

    /// Stops: every connection dropped, the port refusing.
    fn close(&self) {
        self.mode.store(CLOSED, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(Shutdown::Both);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.close();
    }
}

/// Copies `from` → `to` while the mode allows; counts upstream bytes when asked, closing the
/// forwarder once `close_after` of them have passed.
fn pump(mut from: TcpStream, mut to: TcpStream, mode: &AtomicU8, count: Option<(&AtomicU64, &AtomicU64)>) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match mode.load(Ordering::SeqCst) {
            CLOSED => break,
            PAUSED => {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            _ => {}
        }
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if let Some((sent, limit)) = count
            && sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 >= limit.load(Ordering::SeqCst)
        {
            mode.store(CLOSED, Ordering::SeqCst);
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// An Azurite store entry (`galleon-test` container, Azurite's public development key).
fn azurite_entry(region: &str, endpoint: &str, prefix: &str, extra: &str) -> String {
    format!(
        "[[stores]]\nregion = \"{region}\"\ntype = \"Standard_LRS\"\nurl = \"az://galleon-test/{prefix}\"\n\
         account = \"devstoreaccount1\"\nkey = \"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==\"\n\
         endpoint = \"{endpoint}\"\nallow_http = true\n{extra}\n"
    )
}

fn fresh() -> String {
    format!("cli-{}-{}", std::process::id(), Instant::now().elapsed().as_nanos() ^ rand_ish())
}

fn rand_ish() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// A server whose configuration file is `stores` (the regions named in it).
fn server_with(stores: &str, regions: &[&str]) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("galleon.toml");
    let regions: Vec<String> = regions.iter().map(|r| format!("\"{r}\"")).collect();
    std::fs::write(&config, format!("regions = [{}]\n\n{stores}", regions.join(", "))).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Server::spawn(&dir.path().join("data"), port, &["--config", config.to_str().unwrap()]);
    let server = Server { child, dir, port };
    server.wait_ready();
    server
}

/// A server with eastus on Azurite and westeurope on Azurite through a [`Forwarder`] (its entry
/// with `extra` settings); returns them and the stores' prefix.
fn eastus_and_westeurope_behind_a_forwarder(az: &str, extra: &str) -> (Forwarder, Server, String) {
    let upstream = az.trim_start_matches("http://").split('/').next().unwrap().to_string();
    let forwarder = Forwarder::start(&upstream);
    let p = fresh();
    let via = format!("http://127.0.0.1:{}/devstoreaccount1", forwarder.port);
    let stores = format!(
        "{}{}",
        azurite_entry("eastus", az, &format!("{p}/eastus"), ""),
        azurite_entry("westeurope", &via, &format!("{p}/westeurope"), extra),
    );
    let server = server_with(&stores, &["eastus", "westeurope"]);
    (forwarder, server, p)
}

/// Uploads a 24 MiB disk into `region`, makes a managed image and a gallery definition of it.
pub(super) fn disk_image_and_definition(server: &Server, region: &str) -> std::path::PathBuf {
    server.login_with_group(region);
    let raw = server.dir.path().join("disk.raw");
    // 24 MiB, 16 of them data (each its own chunk), the rest zeros.
    write_raw(&raw, 24);
    let mut bytes = std::fs::read(&raw).unwrap();
    for (i, b) in bytes.iter_mut().enumerate().take(16 << 20) {
        *b = (i / 4096 % 251) as u8 ^ (i % 7) as u8;
    }
    std::fs::write(&raw, bytes).unwrap();
    let upload = ["disk", "upload", "-g", "rg", "-n", "up", "--file", raw.to_str().unwrap()];
    server.ok(&[&upload[..], &["--os-type", "Linux", "-o", "none"]].concat());
    // V2, as az's definitions are by default.
    let image = ["image", "create", "-g", "rg", "-n", "img", "--source", "up", "--os-type", "Linux"];
    server.ok(&[&image[..], &["--hyper-v-generation", "V2", "-o", "none"]].concat());
    server.gallery_with_definition("def");
    raw
}

/// The disk image and definition (in the first region), and version 1.0.0 published to
/// `regions`; returns the raw image.
pub(super) fn published_version(server: &Server, regions: &[&str]) -> std::path::PathBuf {
    let raw = disk_image_and_definition(server, regions[0]);
    let made = version_create(server, "1.0.0", regions);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    raw
}

pub(super) fn version_create(server: &Server, version: &str, regions: &[&str]) -> std::process::Output {
    let create = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "def", "-e", version];
    let rest = ["--managed-image", "img", "--target-regions"];
    server.galleon(&[&create[..], &rest[..], regions, &["-o", "none"]].concat())
}

/// A disk from the definition's `latest` in `region`, downloaded: the uploaded bytes.
pub(super) fn assert_latest_disk_in(server: &Server, region: &str, raw: &Path) {
    let definition =
        server.ok(&["sig", "image-definition", "show", "-g", "rg", "-r", "gal", "-i", "def", "--query", "id"]);
    let latest = format!("{}/versions/latest", definition.as_str().unwrap());
    let name = format!("from-{region}");
    server.ok(&[
        "disk",
        "create",
        "-g",
        "rg",
        "-n",
        &name,
        "-l",
        region,
        "--gallery-image-reference",
        &latest,
        "-o",
        "none",
    ]);
    let out = server.dir.path().join(format!("{name}.vhd"));
    server.ok(&["disk", "download", "-g", "rg", "-n", &name, "--file", out.to_str().unwrap()]);
    let got = std::fs::read(&out).unwrap();
    let want = std::fs::read(raw).unwrap();
    assert!(
        got.len() == want.len() + 512 && got[..want.len()] == want[..],
        "the disk in {region} holds the uploaded bytes"
    );
}

fn replication(server: &Server) -> serde_json::Value {
    server.ok(&[
        "sig",
        "image-version",
        "show",
        "-g",
        "rg",
        "-r",
        "gal",
        "-i",
        "def",
        "-e",
        "1.0.0",
        "--expand",
        "ReplicationStatus",
        "--query",
        "{state: provisioningState, regions: replicationStatus.summary}",
    ])
}

fn region_of<'a>(status: &'a serde_json::Value, region: &str) -> &'a serde_json::Value {
    // The summary names regions as Azure displays them ("West Europe").
    let canonical = |s: &str| s.replace(' ', "").to_ascii_lowercase();
    let regions = status["regions"].as_array().unwrap();
    regions
        .iter()
        .find(|r| canonical(r["region"].as_str().unwrap_or_default()) == region)
        .unwrap_or_else(|| panic!("{status}"))
}

#[test]
fn a_version_replicates_between_object_stores_and_local_disk_and_serves_disks() {
    let Some((az, s3)) = test_object_stores() else { return };
    let p = fresh();
    let s3 = galleon_blob::store::conformance::s3_spec(&s3, &format!("{p}/westus"));
    let local = tempfile::tempdir().unwrap();
    let stores = format!(
        "{}{}[[stores]]\nregion = \"westus\"\ntype = \"Standard_LRS\"\nurl = \"{}\"\nendpoint = \"{}\"\n\
         access_key_id = \"{}\"\nsecret_access_key = \"{}\"\ns3_region = \"{}\"\npath_style = true\nallow_http = true\n\n\
         [[stores]]\nregion = \"northeurope\"\ntype = \"Standard_LRS\"\nurl = \"dir://{}\"\n",
        azurite_entry("eastus", &az, &format!("{p}/eastus"), ""),
        azurite_entry("westeurope", &az, &format!("{p}/westeurope"), ""),
        s3.url,
        s3.endpoint.unwrap(),
        s3.access_key_id.unwrap(),
        s3.secret_access_key.unwrap(),
        s3.region.unwrap(),
        local.path().join("northeurope").display(),
    );
    let server = server_with(&stores, &["eastus", "westeurope", "westus", "northeurope"]);
    let raw = disk_image_and_definition(&server, "eastus");
    let out = version_create(&server, "1.0.0", &["eastus", "westeurope", "westus", "northeurope"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = replication(&server);
    assert_eq!(status["state"], "Succeeded", "{status}");
    for region in ["westeurope", "westus", "northeurope"] {
        assert_latest_disk_in(&server, region, &raw);
    }
    // Operators see each region's backend and what it holds: the 16 data chunks and the
    // manifests (the disk's, the image's, the version's share content-addressed names).
    for (region, backend) in [("westeurope", format!("az://galleon-test/{p}/westeurope")), ("westus", s3.url.clone())] {
        let stores = server.ok(&["region", "show", "-r", region]);
        let store = &stores[0];
        assert_eq!(store["backend"], backend.as_str(), "{stores}");
        assert!(store["chunks"].as_u64().unwrap() >= 17, "{stores}");
        assert!(store["bytes"].as_u64().unwrap() >= 16 << 20, "{stores}");
    }
    let listed = server.ok(&["region", "list", "--query", "[?region=='northeurope'].backend"]);
    assert!(listed[0].as_str().unwrap().starts_with("dir://"), "{listed}");
    // And scrub it: every chunk of the object store is re-hashed; nothing is wrong.
    let reports = server.ok(&["region", "scrub", "-r", "westeurope"]);
    assert_eq!(reports[0]["checked"], stores_chunks(&server, "westeurope"), "{reports}");
    assert_eq!((reports[0]["corrupt"].as_u64(), reports[0]["missing"].as_u64()), (Some(0), Some(0)), "{reports}");
}

fn stores_chunks(server: &Server, region: &str) -> serde_json::Value {
    server.ok(&["region", "show", "-r", region, "--query", "[0].chunks"])
}

#[test]
fn a_store_lost_mid_replication_fails_its_region_only_and_an_update_finishes_it() {
    let Some((az, _)) = test_object_stores() else { return };
    // westeurope reaches Azurite through the forwarder; its client gives up on a request after 2 s.
    let (forwarder, server, p) =
        eastus_and_westeurope_behind_a_forwarder(&az, "retry_timeout_seconds = 2\nrequest_timeout_seconds = 2");
    let raw = disk_image_and_definition(&server, "eastus");
    // The store goes away once 6 of the 16 MiB of data have gone to it.
    forwarder.close_after.store(forwarder.sent.load(Ordering::SeqCst) + (6 << 20), Ordering::SeqCst);
    let out = version_create(&server, "1.0.0", &["eastus", "westeurope"]);
    assert!(!out.status.success(), "the version fails while a region's store is gone");
    assert!(forwarder.sent.load(Ordering::SeqCst) >= 6 << 20, "the store went away mid-replication");
    let status = replication(&server);
    assert_eq!(status["state"], "Failed", "{status}");
    assert_eq!(region_of(&status, "eastus")["state"], "Completed", "{status}");
    let west = region_of(&status, "westeurope");
    assert_eq!(west["state"], "Failed", "{status}");
    let details = west["details"].as_str().unwrap();
    assert!(
        details.contains(&format!("az://galleon-test/{p}/westeurope")) && details.contains("could not be reached"),
        "{details}"
    );

    // Back, and an update retries the failed region only.
    forwarder.close_after.store(u64::MAX, Ordering::SeqCst);
    forwarder.open();
    let update = ["sig", "image-version", "update", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    server.ok(&[&update[..], &["--set", "tags.retry=again", "-o", "none"]].concat());
    let status = replication(&server);
    assert_eq!(status["state"], "Succeeded", "{status}");
    assert_eq!(region_of(&status, "westeurope")["state"], "Completed", "{status}");
    assert_latest_disk_in(&server, "westeurope", &raw);
}

#[test]
fn a_store_that_stalls_for_a_while_is_waited_out_and_nothing_fails() {
    let Some((az, _)) = test_object_stores() else { return };
    let (forwarder, server, _) = eastus_and_westeurope_behind_a_forwarder(&az, "request_timeout_seconds = 1");
    let raw = disk_image_and_definition(&server, "eastus");
    // Mid-replication the store stops answering for 4 s (requests time out after 1 s, and are
    // retried), then answers again.
    let start = forwarder.sent.load(Ordering::SeqCst);
    let mode = forwarder.mode.clone();
    let sent = forwarder.sent.clone();
    let staller = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while sent.load(Ordering::SeqCst) < start + (4 << 20) {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        mode.store(PAUSED, Ordering::SeqCst);
        let paused_at = Instant::now();
        std::thread::sleep(Duration::from_secs(4));
        mode.store(OPEN, Ordering::SeqCst);
        Some(paused_at)
    });
    // While the store stalls, westeurope reports what it has copied and what it still needs.
    let (out, during) = std::thread::scope(|scope| {
        let create = scope.spawn(|| version_create(&server, "1.0.0", &["eastus", "westeurope"]));
        let deadline = Instant::now() + Duration::from_secs(60);
        while forwarder.mode.load(Ordering::SeqCst) != PAUSED && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(1500));
        let during = replication(&server);
        (create.join().unwrap(), during)
    });
    let finished = Instant::now();
    let paused_at = staller.join().unwrap().expect("replication sent 4 MiB to the store");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(finished > paused_at + Duration::from_secs(4), "the stall fell inside the replication");
    let west = region_of(&during, "westeurope");
    assert_eq!(west["state"], "Replicating", "{during}");
    let (done, needed) =
        (west["transfer"]["bytesDone"].as_u64().unwrap(), west["transfer"]["bytesNeeded"].as_u64().unwrap());
    assert!(needed >= 16 << 20 && done < needed, "{during}");
    let status = replication(&server);
    assert_eq!(status["state"], "Succeeded", "{status}");
    assert_latest_disk_in(&server, "westeurope", &raw);
}

#[test]
fn a_store_unreachable_at_start_is_named_and_the_other_regions_serve() {
    let Some((az, _)) = test_object_stores() else { return };
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = fresh();
    let stores = format!(
        "{}{}",
        azurite_entry("eastus", &az, &format!("{p}/eastus"), ""),
        azurite_entry(
            "westeurope",
            &format!("http://127.0.0.1:{closed}/devstoreaccount1"),
            &format!("{p}/westeurope"),
            "retry_timeout_seconds = 1"
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("galleon.toml");
    std::fs::write(&config, format!("regions = [\"eastus\", \"westeurope\"]\n\n{stores}")).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = dir.path().join("serve.log");
    let child = std::process::Command::new(super::BIN)
        .args(["serve", "--data-dir"])
        .arg(dir.path().join("data"))
        .args(["--listen", &format!("127.0.0.1:{port}"), "--config", config.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let server = Server { child, dir, port };
    server.wait_ready();
    // The check runs beside the start: the server answers before it has finished.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut said = String::new();
    while !said.contains("unusable at start") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        said = std::fs::read_to_string(&log).unwrap();
    }
    assert!(
        said.contains(&format!("westeurope/standard_lrs-1 (az://galleon-test/{p}/westeurope)"))
            && said.contains("could not be reached"),
        "{said}"
    );
    assert!(!said.contains(&format!("eastus/standard_lrs-1 (az://galleon-test/{p}/eastus)")), "{said}");
    // eastus works.
    let raw = disk_image_and_definition(&server, "eastus");
    let out = version_create(&server, "1.0.0", &["eastus"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_latest_disk_in(&server, "eastus", &raw);
}

#[test]
fn a_server_killed_mid_replication_to_an_object_store_finishes_after_restart() {
    let Some((az, _)) = test_object_stores() else { return };
    let (forwarder, mut server, _) = eastus_and_westeurope_behind_a_forwarder(&az, "");
    let config = server.dir.path().join("galleon.toml");
    let raw = disk_image_and_definition(&server, "eastus");
    // Mid-replication (4 of 16 MiB sent to westeurope) the store stalls; the server is killed.
    let start = forwarder.sent.load(Ordering::SeqCst);
    let create = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    let rest = ["--managed-image", "img", "--target-regions", "eastus", "westeurope", "--no-wait", "-o", "none"];
    server.ok(&[&create[..], &rest[..]].concat());
    let deadline = Instant::now() + Duration::from_secs(60);
    while forwarder.sent.load(Ordering::SeqCst) < start + (4 << 20) {
        assert!(Instant::now() < deadline, "replication did not start");
        std::thread::sleep(Duration::from_millis(1));
    }
    forwarder.mode.store(PAUSED, Ordering::SeqCst);
    server.stop();
    forwarder.close();
    forwarder.open();
    server.restart_with(&["--config", config.to_str().unwrap()]);
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        let status = replication(&server);
        if status["state"] != "Creating" || Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(status["state"], "Succeeded", "{status}");
    assert_latest_disk_in(&server, "westeurope", &raw);
}
