//! The CLI end to end: a real `galleon serve`, and the `galleon` commands a user types (the
//! seed's examples with `az` replaced by `galleon`), checked by what they print and exit with.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_galleon");

struct Server {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(BIN)
            .args(["serve", "--data-dir"])
            .arg(dir.path().join("data"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = Self { child, dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || !server.data().join("credentials.json").exists()
        {
            assert!(Instant::now() < deadline, "galleon serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Runs `galleon ARGS` with this test's CLI profile.
    fn galleon(&self, args: &[&str]) -> Output {
        Command::new(BIN).args(args).env("GALLEON_CONFIG_DIR", self.dir.path().join("cli")).output().unwrap()
    }

    /// Runs a command that must succeed and returns its JSON output.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.galleon(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "galleon {args:?} failed: {stderr}");
        if out.stdout.is_empty() { Value::Null } else { serde_json::from_slice(&out.stdout).unwrap() }
    }
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
    assert_eq!(disk["properties"]["provisioningState"], "Succeeded", "{disk}");
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
    assert_eq!(definition["properties"]["osState"], "Specialized");
    assert_eq!(definition["location"], "westcentralus", "the gallery's location is the default");
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
    assert_eq!(version["properties"]["provisioningState"], "Succeeded", "{version}");
    let regions = version["properties"]["publishingProfile"]["targetRegions"].as_array().unwrap();
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
    assert_eq!(shown["properties"]["replicationStatus"]["aggregatedState"], "Completed", "{shown}");

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
    assert_eq!(from_image["properties"]["publishingProfile"]["excludeFromLatest"], true);
    assert!(from_image["properties"]["storageProfile"]["source"]["id"].as_str().unwrap().ends_with("/images/myImage"));

    // Lists, and scripting output.
    let versions =
        server.ok(&["sig", "image-version", "list", "-g", "myGalleryRG", "-r", "myGallery", "-i", "myImageDefinition"]);
    assert_eq!(versions.as_array().unwrap().len(), 1);
    let out = server.galleon(&["sig", "list", "-o", "tsv"]);
    assert!(String::from_utf8(out.stdout).unwrap().contains("myGallery\tMicrosoft.Compute/galleries"));
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
    server.ok(&["login", "--data-dir", server.data().to_str().unwrap(), "-o", "none"]);
    server.ok(&["group", "create", "-n", "rg", "-l", "eastus", "-o", "none"]);
    server.ok(&["sig", "create", "-g", "rg", "-r", "gal", "-o", "none"]);
    server.ok(&[
        "sig",
        "image-definition",
        "create",
        "-g",
        "rg",
        "-r",
        "gal",
        "-i",
        "img",
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
