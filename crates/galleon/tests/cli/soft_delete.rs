//! `galleon sig update --soft-delete`, `sig image-version list-soft-deleted` and `undelete`:
//! a deleted version comes back, with az's arguments.

use super::Server;
use super::object_stores::{assert_latest_disk_in, published_version};

#[test]
fn a_soft_deleted_version_is_listed_and_undeleted_from_the_cli() {
    let server = Server::start();
    let raw = published_version(&server, &["westcentralus"]);
    let policy = server.ok(&[
        "sig",
        "update",
        "-g",
        "rg",
        "-r",
        "gal",
        "--soft-delete",
        "true",
        "--soft-delete-retention-period",
        "10",
        "--query",
        "softDeletePolicy",
    ]);
    assert_eq!(
        policy,
        serde_json::json!({ "isSoftDeleteEnabled": true, "retentionPeriodInDays": 10, "gracePeriodInDays": 0 })
    );
    let v = ["-g", "rg", "-r", "gal", "-i", "def"];
    server.ok(&[&["sig", "image-version", "delete"][..], &v[..], &["-e", "1.0.0"][..]].concat());
    let listed =
        server.ok(&[&["sig", "image-version", "list-soft-deleted"][..], &v[..], &["--query", "[].name"][..]].concat());
    assert_eq!(listed, serde_json::json!(["1.0.0"]));
    let gone = server.galleon(&[&["sig", "image-version", "show"][..], &v[..], &["-e", "1.0.0"][..]].concat());
    assert!(!gone.status.success() && String::from_utf8_lossy(&gone.stderr).contains("(ResourceNotFound)"));
    let back = server.ok(&[
        &["sig", "image-version", "undelete"][..],
        &v[..],
        &["-e", "1.0.0", "--query", "provisioningState"][..],
    ]
    .concat());
    assert_eq!(back, "Succeeded");
    assert_latest_disk_in(&server, "westcentralus", &raw);
}
