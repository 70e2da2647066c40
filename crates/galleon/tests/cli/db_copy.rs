//! `galleon db copy`: a user who outgrows one node moves its metadata to PostgreSQL and serves
//! the same data directory from there, with nothing lost.

use std::process::Command;

use super::{BIN, Server, write_raw};

/// A new, empty database on the test cluster (`GALLEON_TEST_DATABASE_URL`), or `None` (the test
/// is skipped) when there is none and none is required.
fn fresh_database(name: &str) -> Option<String> {
    let base = super::test_database_url()?;
    let db = format!("{name}_{}_{}", std::process::id(), std::time::UNIX_EPOCH.elapsed().unwrap().subsec_nanos());
    let made = Command::new("psql").arg(&base).args(["-qc", &format!("CREATE DATABASE {db}")]).output().unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let (server, _) = base.rsplit_once('/').unwrap();
    Some(format!("{server}/{db}"))
}

#[test]
fn one_nodes_metadata_moves_to_postgres_without_losing_a_row() {
    let Some(url) = fresh_database("dbcopy") else { return };
    let mut server = Server::start();
    server.login_with_group("westcentralus");
    let raw = server.dir.path().join("disk.raw");
    write_raw(&raw, 20);
    let file = raw.to_str().unwrap();
    server.ok(&["disk", "upload", "-g", "rg", "-n", "up", "--file", file, "--os-type", "Linux", "-o", "none"]);
    // V2, as az's definitions are by default.
    let image = ["image", "create", "-g", "rg", "-n", "img", "--source", "up", "--os-type", "Linux"];
    server.ok(&[&image[..], &["--hyper-v-generation", "V2", "-o", "none"]].concat());
    server.gallery_with_definition("def");
    let version = ["sig", "image-version", "show", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    let create = ["sig", "image-version", "create", "-g", "rg", "-r", "gal", "-i", "def", "-e", "1.0.0"];
    server.ok(&[&create[..], &["--managed-image", "img", "--target-regions", "westcentralus", "eastus", "-o", "none"]]
        .concat());
    let reader = server.ok(&["principal", "create", "--display-name", "reader"]);
    let reader_id = reader["objectId"].as_str().unwrap().to_string();
    let group = server.ok(&["group", "show", "-n", "rg", "--query", "id"]);
    let scope = group.as_str().unwrap();
    server.ok(&[
        "role",
        "assignment",
        "create",
        "--assignee",
        &reader_id,
        "--role",
        "Reader",
        "--scope",
        scope,
        "-o",
        "none",
    ]);
    let before = server.ok(&version);
    let groups_before = server.ok(&["group", "list"]);
    let roles_before = server.ok(&["role", "assignment", "list"]);

    // While the directory is served, the copy refuses (its lock is held).
    let busy =
        Command::new(BIN).args(["db", "copy", "--from"]).arg(server.data()).args(["--to", &url]).output().unwrap();
    assert!(!busy.status.success());
    assert!(
        String::from_utf8_lossy(&busy.stderr).contains("stop galleon first"),
        "{}",
        String::from_utf8_lossy(&busy.stderr)
    );

    server.stop();
    let copy =
        Command::new(BIN).args(["db", "copy", "--from"]).arg(server.data()).args(["--to", &url]).output().unwrap();
    let stdout = String::from_utf8_lossy(&copy.stdout);
    assert!(copy.status.success(), "{}", String::from_utf8_lossy(&copy.stderr));
    assert!(stdout.contains("copied and verified"), "{stdout}");
    assert!(stdout.contains("version: 1") && stdout.contains("principal: 2"), "{stdout}");
    // A second copy into the same database is refused and changes nothing.
    let again =
        Command::new(BIN).args(["db", "copy", "--from"]).arg(server.data()).args(["--to", &url]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    // The same directory served from PostgreSQL: same tenant, same admin credentials, same
    // resources and roles, and the bytes read back.
    server.restart_with(&["--database-url", &url]);
    let after = server.ok(&version);
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["publishingProfile"], before["publishingProfile"]);
    assert_eq!(after["storageProfile"], before["storageProfile"]);
    assert_eq!(after["provisioningState"], "Succeeded");
    assert_eq!(server.ok(&["group", "list"]), groups_before);
    assert_eq!(server.ok(&["role", "assignment", "list"]), roles_before);
    let out = server.dir.path().join("back.vhd");
    server.ok(&["disk", "download", "-g", "rg", "-n", "up", "--file", out.to_str().unwrap()]);
    let got = std::fs::read(&out).unwrap();
    assert!(got[..20 << 20] == std::fs::read(&raw).unwrap()[..], "the disk's bytes after the move");
}

#[test]
fn nodes_initialising_one_database_at_the_same_instant_make_one_tenant_and_one_admin() {
    let Some(url) = fresh_database("init") else { return };
    let dir = tempfile::tempdir().unwrap();
    let inits: Vec<_> = (0..4)
        .map(|n| {
            Command::new(BIN)
                .args(["init", "--insecure-http", "--database-url", &url, "--node-id", &format!("n{n}"), "--data-dir"])
                .arg(dir.path().join(format!("n{n}")))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<String> = inits
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert_eq!(outs.iter().filter(|o| o.contains("admin credentials:")).count(), 1, "{outs:?}");
    let tenants: std::collections::BTreeSet<&str> =
        outs.iter().map(|o| o.lines().find(|l| l.starts_with("tenant: ")).unwrap()).collect();
    assert_eq!(tenants.len(), 1, "{outs:?}");
    let count = |kind: &str| {
        let q = format!("SELECT count(*) FROM docs WHERE kind = '{kind}'");
        let out = Command::new("psql").arg(&url).args(["-tAc", &q]).output().unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    assert_eq!(count("principal"), "1");
    assert_eq!(count("subscription"), "1");
    // Initialising again changes nothing.
    let again = Command::new(BIN)
        .args(["init", "--insecure-http", "--database-url", &url, "--data-dir"])
        .arg(dir.path().join("n0"))
        .output()
        .unwrap();
    assert!(again.status.success());
    assert_eq!(count("principal"), "1");
}
