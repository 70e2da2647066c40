//! `galleon sig share …` and the `…-shared` commands, as a user types them: a gallery shared with
//! another subscription is listed and used there, with az's arguments and az's output shape.

use super::Server;
use super::object_stores::published_version;

#[test]
fn a_gallery_shared_with_another_subscription_is_listed_and_used_there() {
    let server = Server::start();
    let raw = published_version(&server, &["westcentralus"]);
    let other = server.ok(&["subscription", "create", "-n", "consumer", "--query", "subscriptionId"]);
    let other = other.as_str().unwrap();
    let unique = server.ok(&["sig", "show", "-g", "rg", "-r", "gal", "--query", "identifier.uniqueName"]);
    let unique = unique.as_str().unwrap();

    // A private gallery cannot be shared: the server's refusal, as az prints it.
    let refused = server.galleon(&["sig", "share", "add", "-g", "rg", "-r", "gal", "--subscription-ids", other]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("(InvalidParameter)"));
    let usage = server.galleon(&["sig", "share", "add", "-g", "rg", "-r", "gal"]);
    assert_eq!(usage.status.code(), Some(2), "{}", String::from_utf8_lossy(&usage.stderr));

    let p =
        server.ok(&["sig", "update", "-g", "rg", "-r", "gal", "--permissions", "Groups", "--query", "sharingProfile"]);
    assert_eq!(p["permissions"], "Groups");
    server.ok(&["sig", "share", "add", "-g", "rg", "-r", "gal", "--subscription-ids", other, "-o", "none"]);
    server.ok(&["sig", "share", "wait", "-g", "rg", "-r", "gal", "--updated", "--timeout", "30"]);
    let groups = server.ok(&[
        "sig",
        "show",
        "-g",
        "rg",
        "-r",
        "gal",
        "--sharing-groups",
        "--query",
        "sharingProfile.groups[0].ids",
    ]);
    assert_eq!(groups, serde_json::json!([other]));

    let at = ["-l", "westcentralus", "--subscription", other];
    let listed = server.ok(&[&["sig", "list-shared", "--query", "[].uniqueId"][..], &at[..]].concat());
    assert_eq!(listed, serde_json::json!([format!("/SharedGalleries/{unique}")]));
    let def = server.ok(&[
        &["sig", "image-definition", "show-shared", "--gallery-unique-name", unique, "-i", "def", "--query", "osType"]
            [..],
        &at[..],
    ]
    .concat());
    assert_eq!(def, "Linux");
    let version = server.ok(&[
        &[
            "sig",
            "image-version",
            "list-shared",
            "--gallery-unique-name",
            unique,
            "-i",
            "def",
            "--query",
            "[0].uniqueId",
        ][..],
        &at[..],
    ]
    .concat());
    let version = version.as_str().unwrap().to_string();
    assert_eq!(version, format!("/SharedGalleries/{unique}/Images/def/Versions/1.0.0"));

    // The other subscription makes a disk from it, and downloads the bytes.
    let there = ["--subscription", other];
    server.ok(&[&["group", "create", "-n", "mine", "-l", "westcentralus", "-o", "none"][..], &there[..]].concat());
    let create =
        ["disk", "create", "-g", "mine", "-n", "from-shared", "--gallery-image-reference", &version, "-o", "none"];
    server.ok(&[&create[..], &there[..]].concat());
    let out = server.dir.path().join("shared.vhd");
    let download = ["disk", "download", "-g", "mine", "-n", "from-shared", "--file", out.to_str().unwrap()];
    server.ok(&[&download[..], &there[..]].concat());
    let (got, want) = (std::fs::read(&out).unwrap(), std::fs::read(&raw).unwrap());
    assert!(got.len() == want.len() + 512 && got[..want.len()] == want[..], "the shared version's bytes");

    // Removed: nothing listed there any more.
    server.ok(&["sig", "share", "remove", "-g", "rg", "-r", "gal", "--subscription-ids", other, "-o", "none"]);
    let listed = server.ok(&[&["sig", "list-shared", "--query", "length(@)"][..], &at[..]].concat());
    assert_eq!(listed, 0);
    server.ok(&["sig", "share", "reset", "-g", "rg", "-r", "gal", "-o", "none"]);
    let p = server.ok(&["sig", "show", "-g", "rg", "-r", "gal", "--query", "sharingProfile.permissions"]);
    assert_eq!(p, "Private");

    // A community gallery: published with enable-community, read and used by anyone signed in.
    let public = server.ok(&[
        "sig",
        "update",
        "-g",
        "rg",
        "-r",
        "gal",
        "--permissions",
        "Community",
        "--publisher-uri",
        "https://example.org",
        "--publisher-email",
        "images@example.org",
        "--eula",
        "none",
        "--public-name-prefix",
        "team",
        "--query",
        "sharingProfile.communityGalleryInfo.publicNames[0]",
    ]);
    let public = public.as_str().unwrap();
    server.ok(&["sig", "share", "enable-community", "-g", "rg", "-r", "gal", "-o", "none"]);
    let community = ["-l", "westcentralus", "--public-gallery-name", public];
    let listed = server.ok(&["sig", "list-community", "-l", "westcentralus", "--query", "[].name"]);
    assert_eq!(listed, serde_json::json!([public]));
    let shown = server.ok(&[&["sig", "show-community", "--query", "uniqueId"][..], &community[..]].concat());
    assert_eq!(shown, format!("/CommunityGalleries/{public}").as_str());
    let version = server.ok(&[
        &["sig", "image-version", "list-community", "-i", "def", "--query", "[0].uniqueId"][..],
        &community[..],
    ]
    .concat());
    let version = version.as_str().unwrap().to_string();
    let create = ["disk", "create", "-g", "mine", "-n", "from-community", "--gallery-image-reference", &version];
    let disk = server.ok(&[
        &create[..],
        &there[..],
        &["--query", "creationData.galleryImageReference.communityGalleryImageId"][..],
    ]
    .concat());
    assert_eq!(disk, version.as_str());
}
