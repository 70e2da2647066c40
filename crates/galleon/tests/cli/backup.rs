//! `galleon backup` while the server takes writes, and `galleon restore` into a new directory:
//! every resource accepted before the backup began is there, and the disk from each version's
//! `latest` is byte-identical in every region.

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use super::object_stores::{assert_latest_disk_in, published_version};
use super::{BIN, Server};

fn galleon(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_backup_under_writes_restores_every_resource_and_byte() {
    let server = Server::start();
    let raw = published_version(&server, &["westcentralus", "eastus"]);

    // Writes keep coming while the backup runs: groups, one after another.
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(std::sync::Mutex::new(Vec::<(String, std::time::Instant)>::new()));
    let load = {
        let (stop, accepted, config) = (stop.clone(), accepted.clone(), server.dir.path().join("cli"));
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let name = format!("load{i}");
                let out = Command::new(BIN)
                    .args(["group", "create", "-n", &name, "-l", "westcentralus", "-o", "none"])
                    .env("GALLEON_CONFIG_DIR", &config)
                    .output()
                    .unwrap();
                if out.status.success() {
                    accepted.lock().unwrap().push((name, std::time::Instant::now()));
                }
                i += 1;
            }
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let backup_dir = server.dir.path().join("backup");
    let (data, to) = (server.data(), backup_dir.to_str().unwrap().to_string());
    let began = std::time::Instant::now();
    let first = json_of(&galleon(&["backup", "--to", &to, "--data-dir", data.to_str().unwrap()]));
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    let before: Vec<String> =
        accepted.lock().unwrap().iter().filter(|(_, at)| *at < began).map(|(n, _)| n.clone()).collect();
    assert!(before.len() >= 2, "the load made groups before the backup began: {before:?}");
    assert_eq!(first["metadata"], "sqlite");
    assert!(first["chunksCopied"].as_u64().unwrap() >= 16, "{first}");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&backup_dir).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o700, "the backup holds secrets");

    // A second backup copies no chunk again (only the groups changed).
    let second = json_of(&galleon(&["backup", "--to", &to, "--data-dir", data.to_str().unwrap()]));
    assert_eq!(second["chunksCopied"], 0, "{second}");
    assert_eq!(second["chunks"], first["chunks"]);

    // Restore into a new directory and serve it.
    let restored = tempfile::tempdir().unwrap();
    let new_data = restored.path().join("data");
    let out = json_of(&galleon(&["restore", "--from", &to, "--data-dir", new_data.to_str().unwrap()]));
    assert!(out["restoredChunks"]["eastus/standard_lrs-1"].as_u64().unwrap() > 0, "{out}");
    let again = galleon(&["restore", "--from", &to, "--data-dir", new_data.to_str().unwrap()]);
    assert!(!again.status.success() && String::from_utf8_lossy(&again.stderr).contains("not empty"));
    // The original goes away entirely (its directory too); the uploaded bytes are kept aside.
    let raw_copy = restored.path().join("disk.raw");
    std::fs::copy(&raw, &raw_copy).unwrap();
    drop(server);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Server::spawn(&new_data, port, &[]);
    let second_life = Server { child, dir: restored, port };
    second_life.wait_ready();
    second_life.ok(&["login", "--data-dir", new_data.to_str().unwrap(), "-o", "none"]);
    let groups = second_life.ok(&["group", "list", "--query", "[].name"]);
    for name in &before {
        assert!(groups.as_array().unwrap().iter().any(|g| g == name.as_str()), "{name} was accepted before the backup");
    }
    for region in ["westcentralus", "eastus"] {
        assert_latest_disk_in(&second_life, region, &raw_copy);
    }
}

#[test]
fn backups_and_restores_refuse_directories_that_are_not_theirs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let server =
        Server::spawn(&data, std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(), &[]);
    let mut server = Server { child: server, dir, port: 0 };
    // A data directory the server has set up (a fixed pause was too short on a loaded machine).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !data.join("credentials.json").exists() {
        assert!(std::time::Instant::now() < deadline, "galleon serve did not set up its data directory");
        std::thread::sleep(Duration::from_millis(20));
    }
    server.stop();
    let busy = server.dir.path().join("busy");
    std::fs::create_dir(&busy).unwrap();
    std::fs::write(busy.join("notes.txt"), "mine").unwrap();
    let out = galleon(&["backup", "--to", busy.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("holds no galleon backup"));
    assert_eq!(std::fs::read_to_string(busy.join("notes.txt")).unwrap(), "mine");
    let target = server.dir.path().join("new");
    let out = galleon(&["restore", "--from", busy.to_str().unwrap(), "--data-dir", target.to_str().unwrap()]);
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stderr).contains("no finished backup"));
    assert!(!target.exists(), "a refused restore makes nothing");
}

#[test]
fn a_data_directory_from_a_newer_galleon_is_refused_and_an_older_one_upgraded() {
    let server = Server::start();
    let data = server.data();
    assert_eq!(std::fs::read_to_string(data.join("format")).unwrap().trim(), "1", "new directories carry their format");
    drop(server);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A directory from before the format file: taken as format 1, and marked so.
    let init = galleon(&["init", "--data-dir", data.to_str().unwrap()]);
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    std::fs::remove_file(data.join("format")).unwrap();
    let again = galleon(&["init", "--data-dir", data.to_str().unwrap()]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(std::fs::read_to_string(data.join("format")).unwrap().trim(), "1");
    // One from a newer galleon: refused by serve, backup and restore alike, and left as it was.
    std::fs::write(data.join("format"), "2\n").unwrap();
    let before = std::fs::read_dir(&data).unwrap().count();
    let serve = Command::new(BIN)
        .args(["serve", "--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&serve.stderr);
    assert!(!serve.status.success(), "{stderr}");
    assert!(
        stderr.contains("has format 2, written by a newer galleon") && stderr.contains("upgrade galleon"),
        "{stderr}"
    );
    let to = dir.path().join("b");
    let backup = galleon(&["backup", "--to", to.to_str().unwrap(), "--data-dir", data.to_str().unwrap()]);
    assert!(!backup.status.success() && String::from_utf8_lossy(&backup.stderr).contains("newer galleon"));
    assert_eq!(std::fs::read_to_string(data.join("format")).unwrap(), "2\n");
    assert_eq!(std::fs::read_dir(&data).unwrap().count(), before);
}
