//! The CLI end to end: a real `galleon serve`, and the `galleon` commands a user types (the
//! seed's examples with `az` replaced by `galleon`), checked by what they print and exit with.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

#[path = "cli/az_fixtures.rs"]
mod az_fixtures;
#[path = "cli/backup.rs"]
mod backup;
#[path = "cli/db_copy.rs"]
mod db_copy;
#[path = "cli/db_outage.rs"]
mod db_outage;
#[path = "cli/events.rs"]
mod events;
#[path = "cli/mixed_load.rs"]
mod mixed_load;
#[path = "cli/object_stores.rs"]
mod object_stores;
#[path = "cli/sharing.rs"]
mod sharing;
#[path = "cli/soft_delete.rs"]
mod soft_delete;
#[path = "cli/wire.rs"]
mod wire;

const BIN: &str = env!("CARGO_BIN_EXE_galleon");

struct Server {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server with extra `serve` flags.
    fn start_with(extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Self::spawn(&dir.path().join("data"), port, extra);
        let server = Self { child, dir, port };
        server.wait_ready();
        server
    }

    fn spawn(data: &Path, port: u16, extra: &[&str]) -> Child {
        Command::new(BIN)
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Stops the server (SIGKILL) and starts it again on the same directory and port.
    fn restart_with(&mut self, extra: &[&str]) {
        self.stop();
        self.child = Self::spawn(&self.data(), self.port, extra);
        self.wait_ready();
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn wait_ready(&self) {
        let (server, port) = (self, self.port);
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || !server.data().join("credentials.json").exists()
        {
            assert!(Instant::now() < deadline, "galleon serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Logs the CLI in and creates resource group `rg`.
    fn login_with_group(&self, location: &str) {
        self.ok(&["login", "--data-dir", self.data().to_str().unwrap(), "-o", "none"]);
        self.ok(&["group", "create", "-n", "rg", "-l", location, "-o", "none"]);
    }

    /// Gallery `gal` in `rg` with a generalized Linux definition.
    fn gallery_with_definition(&self, definition: &str) {
        self.ok(&["sig", "create", "-g", "rg", "-r", "gal", "-o", "none"]);
        let create = ["sig", "image-definition", "create", "-g", "rg", "-r", "gal", "-i", definition];
        let rest = ["-p", "p", "-f", "o", "-s", "s", "--os-type", "Linux", "-o", "none"];
        self.ok(&[&create[..], &rest[..]].concat());
    }

    /// Starts `galleon ARGS` (a transfer) and kills it once its `kind` journal records progress.
    fn interrupted(&self, args: &[&str], kind: &str) {
        let mut child = Command::new(BIN)
            .args(args)
            .env("GALLEON_CONFIG_DIR", self.dir.path().join("cli"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let transfers = self.dir.path().join("cli/transfers");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            // The journal itself, not the temporary file it is renamed from.
            let journal = std::fs::read_dir(&transfers).ok().and_then(|d| {
                d.flatten().map(|e| e.path()).find(|p| {
                    let name = p.file_name().unwrap().to_string_lossy();
                    name.starts_with(kind) && name.ends_with(".json")
                })
            });
            let done = journal.and_then(|path| {
                let j: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
                j["done"].as_u64()
            });
            if done.is_some_and(|d| d > 0) {
                break;
            }
            assert!(child.try_wait().unwrap().is_none(), "the {kind} finished before it could be interrupted");
            assert!(Instant::now() < deadline);
            std::thread::sleep(Duration::from_millis(2));
        }
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// Runs `galleon ARGS` with this test's CLI profile.
    fn galleon(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("GALLEON_CONFIG_DIR", self.dir.path().join("cli"))
            .env("HOME", self.dir.path().join("home"))
            .output()
            .unwrap()
    }

    /// Starts `galleon ARGS` with this test's CLI profile, output captured.
    fn spawn_galleon(&self, args: &[&str]) -> Child {
        Command::new(BIN)
            .args(args)
            .env("GALLEON_CONFIG_DIR", self.dir.path().join("cli"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Runs a command that must succeed and returns its JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.galleon(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "galleon {args:?} failed: {stderr}");
        if out.stdout.is_empty() { Value::Null } else { serde_json::from_slice(&out.stdout).unwrap() }
    }
}

/// The test PostgreSQL cluster's URL, or `None` (the test is skipped) when there is none.
fn test_database_url() -> Option<String> {
    galleon_store::conformance::test_database_url()
}

/// A fixed VHD with patterned content in the server's import directory.
fn write_vhd(dir: &Path, name: &str, size: u64) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    let mut bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    bytes.extend_from_slice(&galleon_blob::vhd::build(size));
    std::fs::write(&path, bytes).unwrap();
    format!("file://{}", path.display())
}

#[test]
fn the_seed_commands_work_from_the_galleon_cli() {
    let server = Server::start();
    let data = server.data();
    let login = server.ok(&["login", "--data-dir", data.to_str().unwrap()]);
    let subscription = login[0]["id"].as_str().unwrap().to_string();
    server.ok(&["group", "create", "-n", "myGalleryRG", "-l", "westcentralus", "-o", "none"]);
    let url = write_vhd(&data.join("imports"), "os.vhd", 4 << 20);
    let disk =
        server.ok(&["disk", "create", "-g", "myGalleryRG", "-n", "osdisk", "--source", &url, "--os-type", "Linux"]);
    assert_eq!(disk["provisioningState"], "Succeeded", "{disk}");
    let disk_id = disk["id"].as_str().unwrap().to_string();
    assert!(disk_id.starts_with(&format!("/subscriptions/{subscription}/")));

    server.ok(&["sig", "create", "--resource-group", "myGalleryRG", "--gallery-name", "myGallery"]);
    // The seed's image definition, verbatim.
    let definition = server.ok(&[
        "sig",
        "image-definition",
        "create",
        "--resource-group",
        "myGalleryRG",
        "--gallery-name",
        "myGallery",
        "--gallery-image-definition",
        "myImageDefinition",
        "--publisher",
        "myPublisher",
        "--offer",
        "myOffer",
        "--sku",
        "mySKU",
        "--os-type",
        "Linux",
        "--os-state",
        "specialized",
    ]);
    assert_eq!(definition["osState"], "Specialized");
    assert_eq!(definition["location"], "westcentralus", "the gallery's location is the default");
    let full = server.ok(&[
        "sig",
        "image-definition",
        "create",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "full",
        "-p",
        "myPublisher",
        "-f",
        "myOffer",
        "-s",
        "fullSKU",
        "--os-type",
        "Linux",
        "--hyper-v-generation",
        "V2",
        "--features",
        "SecurityType=TrustedLaunch",
        "--minimum-cpu-core",
        "2",
        "--maximum-cpu-core",
        "16",
        "--minimum-memory",
        "4",
        "--maximum-memory",
        "64",
        "--end-of-life-date",
        "2031-01-01T00:00:00+00:00",
        "--plan-name",
        "pn",
        "--plan-product",
        "pp",
        "--plan-publisher",
        "ppub",
    ]);
    assert_eq!(
        full["recommended"],
        serde_json::json!({ "vCPUs": { "min": 2, "max": 16 }, "memory": { "min": 4, "max": 64 } }),
        "az 2.91 prints the wire's names (its aaz Create, serialized_name=\"vCPUs\")"
    );
    assert_eq!(full["purchasePlan"], serde_json::json!({ "name": "pn", "product": "pp", "publisher": "ppub" }));
    assert_eq!((full["hyperVGeneration"].as_str(), full["osState"].as_str()), (Some("V2"), Some("Generalized")));
    assert_eq!(full["features"][0], serde_json::json!({ "name": "SecurityType", "value": "TrustedLaunch" }));
    server.ok(&["sig", "image-definition", "delete", "-g", "myGalleryRG", "-r", "myGallery", "-i", "full"]);
    // The seed's image version, with the OS source a disk (the seed's table: --os-snapshot).
    let version = server.ok(&[
        "sig",
        "image-version",
        "create",
        "--resource-group",
        "myGalleryRG",
        "--gallery-name",
        "myGallery",
        "--gallery-image-definition",
        "myImageDefinition",
        "--gallery-image-version",
        "1.0.0",
        "--target-regions",
        "westcentralus",
        "southcentralus=1",
        "eastus=1=standard_zrs",
        "--replica-count",
        "2",
        "--os-snapshot",
        &disk_id,
    ]);
    assert_eq!(version["provisioningState"], "Succeeded", "{version}");
    let regions = version["publishingProfile"]["targetRegions"].as_array().unwrap();
    assert_eq!(regions.len(), 3);
    let eastus = regions.iter().find(|r| r["name"] == "East US" || r["name"] == "eastus").unwrap();
    assert_eq!(
        (eastus["regionalReplicaCount"].as_i64(), eastus["storageAccountType"].as_str()),
        (Some(1), Some("Standard_ZRS"))
    );
    let shown = server.ok(&[
        "sig",
        "image-version",
        "show",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "myImageDefinition",
        "-e",
        "1.0.0",
        "--expand",
        "ReplicationStatus",
    ]);
    assert_eq!(shown["replicationStatus"]["aggregatedState"], "Completed", "{shown}");

    // A generalized definition from a managed image named by its bare name, as az takes it.
    server.ok(&[
        "image",
        "create",
        "-g",
        "myGalleryRG",
        "-n",
        "myImage",
        "--source",
        "osdisk",
        "--os-type",
        "Linux",
        "--hyper-v-generation",
        "V2",
        "-o",
        "none",
    ]);
    server.ok(&[
        "sig",
        "image-definition",
        "create",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "gen",
        "-p",
        "p",
        "-f",
        "o",
        "-s",
        "s",
        "--os-type",
        "Linux",
        "-o",
        "none",
    ]);
    let from_image = server.ok(&[
        "sig",
        "image-version",
        "create",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "gen",
        "-e",
        "2.0.0",
        "--managed-image",
        "myImage",
        "--exclude-from-latest",
    ]);
    assert_eq!(from_image["publishingProfile"]["excludeFromLatest"], true);
    assert!(from_image["storageProfile"]["source"]["id"].as_str().unwrap().ends_with("/images/myImage"));
    // Why `latest` of `gen` is nothing: its only version is excluded (galleon's explain-latest).
    let explain = ["sig", "image-definition", "explain-latest", "-g", "myGalleryRG", "-r", "myGallery", "-i", "gen"];
    let explained = server.ok(&[&explain[..], &["--region", "West Central US"]].concat());
    assert_eq!(explained["latest"], Value::Null, "{explained}");
    assert_eq!(explained["versions"][0]["notLatest"]["reason"], "excluded", "{explained}");
    let table = server.galleon(&[&explain[..], &["-l", "westcentralus", "-o", "table"]].concat());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("Name   Latest  Reason    Explanation"), "{table}");
    assert!(table.contains("2.0.0  False   excluded  excluded from latest  False"), "{table}");

    // VHDs in storage: the OS and a data disk, with their storage account's name.
    let data_url = write_vhd(&data.join("imports"), "data.vhd", 2 << 20);
    let from_vhds = server.ok(&[
        "sig",
        "image-version",
        "create",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "myImageDefinition",
        "-e",
        "3.0.0",
        "--os-vhd-uri",
        &url,
        "--os-vhd-storage-account",
        "mysa",
        "--data-vhds-uris",
        &data_url,
        "--data-vhds-luns",
        "3",
        "--data-vhds-sa",
        "mysa",
        "--query",
        "{state: provisioningState, luns: storageProfile.dataDiskImages[].lun}",
    ]);
    assert_eq!(from_vhds, serde_json::json!({ "state": "Succeeded", "luns": [3] }));
    let out = server.galleon(&[
        "sig",
        "image-version",
        "create",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "myImageDefinition",
        "-e",
        "3.0.1",
        "--os-vhd-uri",
        &url,
        "--os-vhd-storage-account",
        "mysa",
        "--data-vhds-uris",
        &data_url,
    ]);
    assert_eq!(out.status.code(), Some(2), "a data VHD without its LUN is a usage error");

    // Updates, as az takes them.
    let v = ["-g", "myGalleryRG", "-r", "myGallery", "-i", "myImageDefinition", "-e", "1.0.0"];
    let update = |extra: &[&str]| server.ok(&[&["sig", "image-version", "update"][..], &v[..], extra].concat());
    let regions = update(&[
        "--add",
        "publishingProfile.targetRegions",
        "name=westus2",
        "--query",
        "publishingProfile.targetRegions[].name",
    ]);
    assert_eq!(regions.as_array().unwrap().len(), 4, "{regions}");
    let latest = update(&[
        "--set",
        "publishing_profile.exclude_from_latest=true",
        "--query",
        "publishingProfile.excludeFromLatest",
    ]);
    assert_eq!(latest, true);
    let eol =
        update(&["--end-of-life-date", "2030-01-01T00:00:00+00:00", "--query", "publishingProfile.endOfLifeDate"]);
    assert!(eol.as_str().unwrap().starts_with("2030-01-01"), "{eol}");
    let described = server.ok(&[
        "sig",
        "update",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "--description",
        "images",
        "--query",
        "description",
    ]);
    assert_eq!(described, "images");
    let out = server.galleon(&[&["sig", "image-version", "update"][..], &v[..]].concat());
    assert_eq!(out.status.code(), Some(2), "an update with nothing to change is a usage error");

    // --no-wait, then wait, as the seed's PowerShell -AsJob pattern does.
    let w = ["-g", "myGalleryRG", "-r", "myGallery", "-i", "myImageDefinition", "-e", "1.0.1"];
    let started =
        server
            .ok(&[&["sig", "image-version", "create"][..], &w[..], &["--os-snapshot", &disk_id, "--no-wait"]].concat());
    let operation = started["operation"].as_str().expect("--no-wait prints the operation").to_string();
    assert_eq!(started["status"], "InProgress");
    let shown = server.ok(&["operation", "show", "--id", &operation, "--query", "name"]);
    assert!(operation.contains(shown.as_str().unwrap()), "{shown} {operation}");
    let done = server.ok(&["operation", "wait", "--id", &operation, "--query", "status"]);
    assert_eq!(done, "Succeeded");
    server.ok(&[&["sig", "image-version", "wait"][..], &w[..], &["--created", "--interval", "1"]].concat());
    let state = server.ok(&[&["sig", "image-version", "show"][..], &w[..], &["--query", "provisioningState"]].concat());
    assert_eq!(state, "Succeeded");
    server.ok(&[&["sig", "image-version", "delete"][..], &w[..], &["--no-wait"]].concat());
    server.ok(&[&["sig", "image-version", "wait"][..], &w[..], &["--deleted", "--interval", "1"]].concat());

    // Lists, and scripting output.
    let versions = server.ok(&[
        "sig",
        "image-version",
        "list",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "myImageDefinition",
        "--query",
        "[].name",
    ]);
    assert_eq!(versions, serde_json::json!(["1.0.0", "3.0.0"]));
    let table = server.galleon(&[
        "sig",
        "image-version",
        "list",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "myImageDefinition",
        "-o",
        "table",
    ]);
    let table = String::from_utf8(table.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("Location") && lines[0].contains("Name") && lines[1].starts_with("--------"),
        "{table}"
    );
    assert!(lines[2].contains("1.0.0") && lines[3].contains("3.0.0"), "{table}");
    // A retention policy (galleon only): set, shown, previewed as JSON and as a table.
    let retention = ["sig", "image-definition", "retention"];
    let def = ["-g", "myGalleryRG", "-r", "myGallery", "-i", "myImageDefinition"];
    let set = server.ok(&[&retention[..], &["set"], &def[..], &["--keep-latest", "1"]].concat());
    assert_eq!(set, serde_json::json!({ "keepLatest": 1, "countExcludedFromLatest": true }));
    assert_eq!(server.ok(&[&retention[..], &["show"], &def[..]].concat())["keepLatest"], 1);
    let preview = server.ok(&[&retention[..], &["preview"], &def[..], &["--keep-latest", "5"]].concat());
    assert_eq!(preview["policy"]["keepLatest"], 5, "the proposed rules, not the stored ones: {preview}");
    assert!(preview["versions"].as_array().unwrap().iter().all(|v| v["action"] == "keep"), "{preview}");
    let table = server.galleon(&[&retention[..], &["preview"], &def[..], &["-o", "table"]].concat());
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(table.starts_with("Name   Action  Reasons"), "{table}");
    assert!(table.contains("3.0.0  keep    among the newest 1"), "{table}");
    server.ok(&[&retention[..], &["delete"], &def[..]].concat());
    let yaml = server.galleon(&["sig", "show", "-g", "myGalleryRG", "-r", "myGallery", "-o", "yaml"]);
    let yaml = String::from_utf8(yaml.stdout).unwrap();
    assert!(yaml.lines().any(|l| l == "name: myGallery") && yaml.lines().any(|l| l == "description: images"), "{yaml}");
    let out = server.galleon(&["sig", "list", "-o", "tsv"]);
    let tsv = String::from_utf8(out.stdout).unwrap();
    // Every top-level value in key order, nested objects as empty columns (az's tsv).
    assert!(tsv.contains("\tmyGallery\t") && tsv.contains("\tmyGalleryRG\t"), "{tsv}");
    assert!(tsv.trim_end().ends_with("\tMicrosoft.Compute/galleries"), "{tsv}");
    assert!(server.galleon(&["sig", "show", "-g", "myGalleryRG", "-r", "myGallery", "-o", "none"]).stdout.is_empty());

    // Deletes.
    server.ok(&["sig", "image-version", "delete", "-g", "myGalleryRG", "-r", "myGallery", "-i", "gen", "-e", "2.0.0"]);
    let gone = server.galleon(&[
        "sig",
        "image-version",
        "show",
        "-g",
        "myGalleryRG",
        "-r",
        "myGallery",
        "-i",
        "gen",
        "-e",
        "2.0.0",
    ]);
    assert_eq!(gone.status.code(), Some(1));
}

#[test]
fn bad_arguments_are_refused_before_any_request_and_arm_errors_print_their_code() {
    let server = Server::start();
    // Not logged in yet.
    let out = server.galleon(&["sig", "list"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("galleon login"));
    server.login_with_group("eastus");
    server.gallery_with_definition("img");

    // Values may begin with '-' (about one generated secret in 64 did).
    let hyphen = server.galleon(&[
        "login",
        "--server",
        "https://127.0.0.1:1",
        "--tenant",
        "t",
        "--client-id",
        "c",
        "--client-secret",
        "-wXyz",
        "-o",
        "none",
    ]);
    let stderr = String::from_utf8_lossy(&hyphen.stderr);
    assert_eq!(hyphen.status.code(), Some(1), "parsed, then failed to connect: {stderr}");
    assert!(!stderr.contains("unexpected argument"), "{stderr}");
    let described = server.ok(&["sig", "update", "-g", "rg", "-r", "gal", "--description", "-dashed"]);
    assert_eq!(described["description"], "-dashed");

    let version = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "img", "-e", "1.0.0"];
    let refused = [
        (vec!["--target-regions", "eastus=standard_zrs=1", "--managed-image", "x"], "integer replica count"),
        (vec!["--target-regions", "eastus=fast", "--managed-image", "x"], "storage account type"),
        (vec!["--target-regions", "eastus"], "one source is required"),
        (vec!["--managed-image", "x", "--os-snapshot", "y"], "only one of"),
    ];
    for (extra, message) in refused {
        let args: Vec<&str> = version.iter().copied().chain(extra).collect();
        let out = server.galleon(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("usage error") && stderr.contains(message), "{stderr}");
        assert!(out.stdout.is_empty());
    }
    let list = server.ok(&["sig", "image-version", "list", "-g", "rg", "-r", "gal", "-i", "img"]);
    assert_eq!(list, Value::Array(vec![]), "nothing was created");

    // The server's refusal, as az prints it: `(Code) message` on stderr, exit 1.
    let out = server.galleon(&[
        "sig",
        "image-version",
        "create",
        "-g",
        "rg",
        "-r",
        "gal",
        "-i",
        "img",
        "-e",
        "1.0.0",
        "--managed-image",
        "missing",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("(InvalidParameter)") && stderr.contains("/images/missing"), "{stderr}");
    let out = server.galleon(&["sig", "show", "-g", "rg", "-r", "nope"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("(ResourceNotFound) The Resource 'Microsoft.Compute/galleries/nope'"), "{stderr}");
}

/// A raw image of whole MiB: patterned data, a long zero run, a marker near the end.
fn write_raw(path: &Path, mib: u64) {
    let mut bytes = vec![0u8; (mib << 20) as usize];
    for (i, b) in bytes.iter_mut().enumerate().take(4 << 20) {
        *b = (i * 7 % 256) as u8;
    }
    let marker = ((mib - 3) << 20) as usize;
    bytes[marker..marker + 100].fill(b'x');
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn upload_image_version_vm_from_latest_and_download_give_back_the_bytes() {
    let server = Server::start();
    server.login_with_group("westcentralus");
    let raw = server.dir.path().join("disk.raw");
    write_raw(&raw, 24);
    let state = server.ok(&[
        "disk",
        "upload",
        "-g",
        "rg",
        "-n",
        "up",
        "--file",
        raw.to_str().unwrap(),
        "--os-type",
        "Linux",
        "--query",
        "diskState",
    ]);
    assert_eq!(state, "Unattached");
    // V2, as az's definitions are by default.
    let image = ["image", "create", "-g", "rg", "-n", "img", "--source", "up", "--os-type", "Linux"];
    server.ok(&[&image[..], &["--hyper-v-generation", "V2", "-o", "none"]].concat());
    server.gallery_with_definition("def");
    let regions = server.ok(&[
        "sig",
        "image-version",
        "create",
        "-g",
        "rg",
        "-r",
        "gal",
        "-i",
        "def",
        "-e",
        "1.0.0",
        "--managed-image",
        "img",
        "--target-regions",
        "westcentralus",
        "eastus=2",
        "--query",
        "publishingProfile.targetRegions[].name",
    ]);
    assert_eq!(regions.as_array().unwrap().len(), 2, "{regions}");
    let definition =
        server.ok(&["sig", "image-definition", "show", "-g", "rg", "-r", "gal", "-i", "def", "--query", "id"]);
    let latest = format!("{}/versions/latest", definition.as_str().unwrap());
    // As az: the key in ~/.ssh/id_rsa.pub, a network made for the VM, az's summary printed.
    std::fs::create_dir_all(server.dir.path().join("home/.ssh")).unwrap();
    std::fs::write(server.dir.path().join("home/.ssh/id_rsa.pub"), "ssh-rsa AAAAB3NzaC1yc2E= me@host\n").unwrap();
    let create = ["vm", "create", "-g", "rg", "-n", "vm1", "--image", &latest, "--admin-username", "azureuser"];
    let created = server.ok(&[&create[..], &["--generate-ssh-keys"]].concat());
    assert_eq!(created["privateIpAddress"], "10.0.0.4", "{created}");
    assert_eq!(created["powerState"], "VM running", "{created}");
    let vm = server.ok(&[
        "vm",
        "show",
        "-g",
        "rg",
        "-n",
        "vm1",
        "--query",
        "{state: provisioningState, disk: storageProfile.osDisk.name, key: osProfile.linuxConfiguration.ssh.publicKeys[0].keyData, nic: networkProfile.networkInterfaces[0].id}",
    ]);
    assert_eq!(vm["state"], "Succeeded", "{vm}");
    assert_eq!(vm["key"], "ssh-rsa AAAAB3NzaC1yc2E= me@host", "{vm}");
    assert!(vm["nic"].as_str().unwrap().ends_with("/networkInterfaces/vm1VMNic"), "{vm}");
    let out = server.dir.path().join("out.vhd");
    server.ok(&["disk", "download", "-g", "rg", "-n", vm["disk"].as_str().unwrap(), "--file", out.to_str().unwrap()]);
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), (24 << 20) + 512);
    assert!(got[..24 << 20] == std::fs::read(&raw).unwrap()[..], "the VM's OS disk holds the uploaded bytes");
    assert_eq!(&got[(24 << 20)..(24 << 20) + 8], b"conectix");
    // Signed provenance: the server re-hashes every replica; a download from the version is
    // checked against the signature with the public keys; one from `latest` cannot be.
    let version = ["-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    let report = server.ok(&[&["sig", "image-version", "verify"][..], &version[..]].concat());
    assert_eq!(report["verified"], true, "{report}");
    assert_eq!(report["replicas"].as_array().unwrap().len(), 3, "westcentralus and two in eastus: {report}");
    let signed = server.ok(&[&["sig", "image-version", "show-provenance"][..], &version[..]].concat());
    let version_id = signed["statement"]["version"].as_str().unwrap().to_string();
    server.ok(&["disk", "create", "-g", "rg", "-n", "fromv", "--gallery-image-reference", &version_id, "-o", "none"]);
    let checked = server.dir.path().join("checked.vhd");
    let download = ["disk", "download", "-g", "rg", "--file", checked.to_str().unwrap(), "--verify"];
    let verified = server.ok(&[&download[..], &["-n", "fromv"]].concat());
    assert_eq!(
        (verified["verified"].clone(), verified["keyId"].clone()),
        (serde_json::json!(true), signed["keyId"].clone())
    );
    assert!(std::fs::read(&checked).unwrap() == got, "the same bytes as the VM's disk");
    let refused = server.galleon(&[&download[..], &["-n", vm["disk"].as_str().unwrap()]].concat());
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("(NotVerifiable)"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The VM's lifecycle as az drives it.
    server.ok(&["vm", "deallocate", "-g", "rg", "-n", "vm1"]);
    server.ok(&["vm", "generalize", "-g", "rg", "-n", "vm1"]);
    let power = server.ok(&["vm", "list", "-g", "rg", "--query", "length(@)"]);
    assert_eq!(power, 1);
}

#[test]
fn an_interrupted_upload_resumes_and_progress_shows_only_on_a_terminal() {
    let server = Server::start();
    server.login_with_group("eastus");
    let raw = server.dir.path().join("big.raw");
    // Every page non-zero, so every page is sent.
    std::fs::write(&raw, (0..(320u64 << 20)).map(|i| (i % 253) as u8 | 1).collect::<Vec<u8>>()).unwrap();
    server.interrupted(
        &["disk", "upload", "-g", "rg", "-n", "big", "--file", raw.to_str().unwrap(), "--os-type", "Linux"],
        "upload",
    );
    let state = server.ok(&["disk", "show", "-g", "rg", "-n", "big", "--query", "diskState"]);
    assert_eq!(state, "ActiveUpload");

    // Resumed under a terminal (`script`): the progress line is drawn on it.
    let cfg = server.dir.path().join("cli");
    let command =
        format!("GALLEON_CONFIG_DIR={} {BIN} disk upload -g rg -n big --file {} -o none", cfg.display(), raw.display());
    let out = Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", &screen[screen.len().saturating_sub(600)..]);
    assert!(screen.contains("Resuming the upload at") && !screen.contains("at 0 MiB"), "{screen}");
    assert!(screen.contains("Uploading big [") && screen.contains("MiB/s"), "{screen}");
    let state = server.ok(&["disk", "show", "-g", "rg", "-n", "big", "--query", "diskState"]);
    assert_eq!(state, "Unattached");

    // A version's replication under a terminal: one line per target region, ending at 100%.
    server.gallery_with_definition("def");
    let disk = server.ok(&["disk", "show", "-g", "rg", "-n", "big", "--query", "id"]);
    let command = format!(
        "GALLEON_CONFIG_DIR={} {BIN} sig image-version create -g rg -r gal -i def -e 1.0.0 --os-snapshot {} --target-regions eastus westus2=2 -o none",
        cfg.display(),
        disk.as_str().unwrap()
    );
    let out = Command::new("script").args(["-qec", &command, "/dev/null"]).output().unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    let finished: Vec<&str> = screen.split(['\r', '\n']).filter(|l| l.contains("100% Completed")).collect();
    assert!(finished.iter().any(|l| l.contains("[###")) && finished.len() >= 2, "{screen}");

    // In a pipe, nothing but the result.
    let out = server.galleon(&[
        "disk",
        "download",
        "-g",
        "rg",
        "-n",
        "big",
        "--file",
        server.dir.path().join("big.vhd").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = std::fs::File::open(server.dir.path().join("big.vhd")).unwrap();
    assert_eq!(got.metadata().unwrap().len(), (320 << 20) + 512);

    // An interrupted download resumes where its journal says, and ends with the same bytes.
    let again = server.dir.path().join("again.vhd");
    server.interrupted(&["disk", "download", "-g", "rg", "-n", "big", "--file", again.to_str().unwrap()], "download");
    assert!(!again.exists(), "an unfinished download is not under its final name");
    let out = server.galleon(&["disk", "download", "-g", "rg", "-n", "big", "--file", again.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("Resuming the download at") && !stderr.contains("at 0 MiB"),
        "{stderr}"
    );
    assert!(std::fs::read(&again).unwrap() == std::fs::read(server.dir.path().join("big.vhd")).unwrap());
}

#[test]
fn owners_share_a_gallery_with_a_new_principal_from_the_cli() {
    let server = Server::start();
    server.login_with_group("eastus");
    server.gallery_with_definition("def");
    let created = server.ok(&["principal", "create", "--display-name", "team-b"]);
    let (client_id, secret) = (created["clientId"].as_str().unwrap(), created["clientSecret"].as_str().unwrap());
    let gallery = server.ok(&["sig", "show", "-g", "rg", "-r", "gal", "--query", "id"]);
    let assignment = server.ok(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        client_id,
        "--role",
        "Reader",
        "--scope",
        gallery.as_str().unwrap(),
    ]);
    assert_eq!(assignment["principalId"], created["objectId"]);
    let mine = server.ok(&["role", "assignment", "list", "--assignee", client_id, "--query", "length(@)"]);
    assert_eq!(mine, 1);

    // The new principal logs in with --server, as it would from another machine.
    let credentials: Value =
        serde_json::from_slice(&std::fs::read(server.data().join("credentials.json")).unwrap()).unwrap();
    let other = server.dir.path().join("team-b");
    let as_b = |args: &[&str]| Command::new(BIN).args(args).env("GALLEON_CONFIG_DIR", &other).output().unwrap();
    let login = as_b(&[
        "login",
        "--server",
        credentials["endpoint"].as_str().unwrap(),
        "--tenant",
        credentials["tenantId"].as_str().unwrap(),
        "--client-id",
        client_id,
        "--client-secret",
        secret,
        "--ca-file",
        credentials["caFile"].as_str().unwrap(),
        "-o",
        "none",
    ]);
    assert!(login.status.success(), "{}", String::from_utf8_lossy(&login.stderr));
    let read = as_b(&["sig", "image-definition", "list", "-g", "rg", "-r", "gal", "--query", "[].name", "-o", "tsv"]);
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "def", "{}", String::from_utf8_lossy(&read.stderr));
    let write = as_b(&["sig", "update", "-g", "rg", "-r", "gal", "--description", "mine now"]);
    assert_eq!(write.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&write.stderr).contains("(AuthorizationFailed)"));
    let principals = as_b(&["principal", "list"]);
    assert!(
        String::from_utf8_lossy(&principals.stderr).contains("(AuthorizationFailed)"),
        "only owners manage principals"
    );
    let gc = as_b(&["gc", "run", "--grace-seconds", "0"]);
    assert!(
        String::from_utf8_lossy(&gc.stderr).contains("(AuthorizationFailed)"),
        "only tenant owners collect garbage"
    );
    let collected = server.ok(&["gc", "run", "--grace-seconds", "0"]);
    assert!(collected.as_array().unwrap().iter().any(|r| r["store"] == "eastus/standard_lrs-1"), "{collected}");
    let status = server.ok(&["gc", "status"]);
    assert_eq!(status["lastRun"]["stores"], collected, "{status}");
    assert_eq!(status["running"], false, "{status}");
    let status = as_b(&["gc", "status"]);
    assert!(String::from_utf8_lossy(&status.stderr).contains("(AuthorizationFailed)"), "owners only");

    // A new secret replaces the old one; deleting the principal ends its access.
    server.ok(&["principal", "reset-secret", "--client-id", client_id, "-o", "none"]);
    let stale = as_b(&["sig", "show", "-g", "rg", "-r", "gal"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("(invalid_client)"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
    server.ok(&["principal", "delete", "--client-id", client_id]);
    let sub = server.ok(&["subscription", "create", "--display-name", "second"]);
    let subs = server.ok(&["subscription", "list", "--query", "[].subscriptionId"]);
    assert!(subs.as_array().unwrap().contains(&sub["subscriptionId"]) && subs.as_array().unwrap().len() == 2, "{subs}");
    let listed = server.ok(&["principal", "list", "--query", "[].displayName"]);
    assert!(!listed.as_array().unwrap().iter().any(|n| n == "team-b"), "{listed}");
}

/// A source that accepts and never answers holds one job slot until its idle timeout, and fails
/// its import with the reason; meanwhile other jobs (a gallery, an empty disk) finish.
#[test]
fn a_stalled_import_fails_with_a_reason_and_blocks_nothing() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = held.clone();
    std::thread::spawn(move || {
        for conn in silent.incoming().flatten() {
            keep.lock().unwrap().push(conn);
        }
    });
    let allow = format!("http://127.0.0.1:{port}/");
    let server = Server::start_with(&["--import-allow", &allow, "--import-idle-timeout-seconds", "4"]);
    server.login_with_group("eastus");
    let source = format!("http://127.0.0.1:{port}/images/os.vhd");
    let stalled = ["disk", "create", "-g", "rg", "-n", "stalled", "--source", &source, "--os-type", "Linux"];
    let accepted = server.ok(&[&stalled[..], &["--no-wait"]].concat());
    let started = Instant::now();
    server.ok(&["sig", "create", "-g", "rg", "-r", "gal", "-o", "none"]);
    server.ok(&["disk", "create", "-g", "rg", "-n", "empty", "-z", "1", "-o", "none"]);
    assert!(started.elapsed() < Duration::from_secs(4), "other jobs waited for the stalled import");
    let deadline = Instant::now() + Duration::from_secs(60);
    let disk = loop {
        let disk = server.ok(&["disk", "show", "-g", "rg", "-n", "stalled"]);
        if disk["provisioningState"] != "Creating" || Instant::now() > deadline {
            break disk;
        }
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(disk["provisioningState"], "Failed", "{disk}");
    let op = server.galleon(&["operation", "show", "--id", accepted["operation"].as_str().unwrap()]);
    let op: Value = serde_json::from_slice(&op.stdout).unwrap();
    let message = op["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("timed out"), "{op}");
    assert!(!held.lock().unwrap().is_empty(), "galleon did connect to the source");
}

/// The server is killed (SIGKILL) in the middle of an upload and started again: every page it
/// acknowledged before is still there (the CLI checks the disk's digest against the file, and
/// the download gives the file's bytes back).
#[test]
fn a_server_killed_mid_upload_keeps_every_page_it_acknowledged() {
    let mut server = Server::start();
    server.login_with_group("eastus");
    let raw = server.dir.path().join("killed.raw");
    // Every MiB different, so each is its own chunk.
    std::fs::write(
        &raw,
        (0..(256u64 << 20)).map(|i| ((i >> 20) as u8).wrapping_mul(31) ^ (i % 251) as u8 | 1).collect::<Vec<u8>>(),
    )
    .unwrap();
    let upload = ["disk", "upload", "-g", "rg", "-n", "killed", "--file", raw.to_str().unwrap(), "-o", "none"];
    let client = server.spawn_galleon(&upload);
    // Killed once the client's journal records pages as landed: a resume does not send them
    // again, so they must have survived in the server.
    let transfers = server.dir.path().join("cli/transfers");
    let landed = || -> u64 {
        let journals = std::fs::read_dir(&transfers).into_iter().flatten().flatten();
        let mut journals = journals.map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json"));
        let journal = journals.next().and_then(|p| std::fs::read(p).ok());
        journal.and_then(|j| serde_json::from_slice::<Value>(&j).ok()).and_then(|j| j["done"].as_u64()).unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while landed() == 0 {
        assert!(Instant::now() < deadline, "the upload did not land a page");
        std::thread::sleep(Duration::from_millis(2));
    }
    server.restart_with(&[]);
    // The client either rode out the restart or stopped; run again, it resumes from its journal.
    if !client.wait_with_output().unwrap().status.success() {
        server.ok(&upload);
    }
    let state = server.ok(&["disk", "show", "-g", "rg", "-n", "killed", "--query", "diskState"]);
    assert_eq!(state, "Unattached");
    let out = server.dir.path().join("killed.vhd");
    server.ok(&["disk", "download", "-g", "rg", "-n", "killed", "--file", out.to_str().unwrap()]);
    assert!(std::fs::read(&out).unwrap()[..256 << 20] == std::fs::read(&raw).unwrap()[..]);
    assert_eq!(
        std::fs::read_dir(server.data().join("uploads")).unwrap().count(),
        0,
        "the staging is removed once finished"
    );
}

/// A sparse image: the pages in its holes are neither read nor sent, and the disk still holds
/// exactly the file's bytes (data at the start, in a page that is half hole, and at the end).
#[test]
fn a_sparse_image_uploads_only_its_data_and_downloads_whole() {
    let metrics = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server::start_with(&["--metrics-listen", &format!("127.0.0.1:{metrics}")]);
    server.login_with_group("westcentralus");
    let raw = server.dir.path().join("sparse.raw");
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::create(&raw).unwrap();
        f.set_len(40 << 20).unwrap();
        f.write_all_at(&[7u8; 1 << 20], 0).unwrap();
        f.write_all_at(&[9u8; 4096], (37 << 20) + 12288).unwrap();
        f.write_all_at(b"end", (40 << 20) - 3).unwrap();
    }
    let upload = ["disk", "upload", "-g", "rg", "-n", "sparse", "--file", raw.to_str().unwrap(), "--os-type", "Linux"];
    server.ok(&[&upload[..], &["-o", "none"]].concat());
    let out = server.dir.path().join("sparse.vhd");
    server.ok(&["disk", "download", "-g", "rg", "-n", "sparse", "--file", out.to_str().unwrap()]);
    let got = std::fs::read(&out).unwrap();
    assert!(got[..40 << 20] == std::fs::read(&raw).unwrap()[..], "the disk holds the sparse file's bytes");
    // The download asked for the page list and fetched only the two 4 MiB pages holding data and
    // the footer's, not 40 MiB.
    let served = scrape(metrics, "galleon_bytes_served_total{region=\"westcentralus\"}");
    assert_eq!(served, (8 << 20) + 512);
    let holes = std::os::unix::fs::MetadataExt::blocks(&std::fs::metadata(&out).unwrap()) * 512;
    assert!(holes < 12 << 20, "the downloaded file keeps its holes ({holes} bytes allocated)");

    // An image whose size is not a whole number of 4 MiB pages: its footer still goes up.
    let odd = server.dir.path().join("odd.raw");
    std::fs::write(&odd, (0..(22u64 << 20)).map(|i| (i % 241) as u8 | 1).collect::<Vec<u8>>()).unwrap();
    server.ok(&["disk", "upload", "-g", "rg", "-n", "odd", "--file", odd.to_str().unwrap(), "-o", "none"]);
    let out = server.dir.path().join("odd.vhd");
    server.ok(&["disk", "download", "-g", "rg", "-n", "odd", "--file", out.to_str().unwrap()]);
    assert!(std::fs::read(&out).unwrap()[..22 << 20] == std::fs::read(&odd).unwrap()[..]);
}

/// A counter's value on the metrics address.
fn scrape(port: u16, series: &str) -> u64 {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let line = answer.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series} in {answer}"));
    line.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64
}

/// `galleon … | head` : a reader that goes away ends the command quietly (as `az` and Unix
/// tools do), not with a panic; operators see each region's stores.
#[test]
fn region_commands_show_the_stores_and_a_closed_pipe_is_not_a_crash() {
    let server = Server::start();
    server.login_with_group("westcentralus");
    let stores = server.ok(&["region", "list", "--query", "[?region=='eastus']"]);
    let stores = stores.as_array().unwrap();
    assert_eq!(stores.len(), 6, "two stores of each type");
    assert!(stores.iter().all(|s| s["backend"].as_str().unwrap().starts_with("dir://")), "{stores:?}");
    let refused = server.galleon(&["region", "show", "-r", "../etc"]);
    assert!(!refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("not a region name"));

    let mut child = server.spawn_galleon(&["region", "list", "-o", "table"]);
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("panicked"), "{stderr}");
}

/// `--metrics-listen`: Prometheus text without a token on its own address (the API port asks for
/// a tenant owner's token for the same page).
#[test]
fn metrics_are_served_on_their_own_address() {
    use std::io::{Read, Write};
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let server = Server::start_with(&["--metrics-listen", &format!("127.0.0.1:{port}")]);
    server.login_with_group("westcentralus");
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("galleon_http_requests_total{method=\"PUT\""), "the group's PUT is counted: {answer}");
    assert!(answer.contains("galleon_store_chunks{region=\"westcentralus\",store=\"standard_lrs-1\"} 0"), "{answer}");
    let mut other = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    other.write_all(b"GET /subscriptions HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "only /metrics is served there: {answer}");
}
