//! Direct sharing: an owner shares a gallery with another subscription (or tenant) through
//! `POST …/share`; principals acting there read it through `…/locations/{l}/sharedGalleries/…`
//! and make disks from its versions, never write it, and lose both when it is unshared.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use super::support::*;

const SHARE_API: &str = "api-version=2023-07-03";

async fn token_of(app: &TestApp, name: &str) -> (String, String) {
    let p = app.core.create_principal(name).await.unwrap();
    let t =
        app.token_request(&p.principal.client_id, &p.secret).await.body["access_token"].as_str().unwrap().to_string();
    (t, p.principal.object_id)
}

async fn assign(app: &TestApp, scope: &str, oid: &str, role: &str, n: u32) {
    let body =
        json!({ "properties": { "roleDefinitionId": role, "principalId": oid, "principalType": "ServicePrincipal" } });
    let uri = format!(
        "{scope}/providers/Microsoft.Authorization/roleAssignments/3{n:07}-0000-0000-0000-000000000000?api-version=2022-04-01"
    );
    let r = app.put(&uri, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
}

const CONTRIBUTOR: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";

/// A gallery `gal` whose definition `img` has version 1.0.0, built; returns (gallery, definition,
/// the admin's token).
async fn published_version() -> (TestApp, String, String, String) {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let r = app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    assert!(r.status.is_success(), "{}", r.body);
    app.settle().await;
    let admin = app.token.clone();
    (app, g, i, admin)
}

/// Another team: its own subscription, where its own principal is Contributor; returns (the
/// subscription, the principal's token).
async fn other_team(app: &TestApp, n: u32) -> (String, String) {
    let created = app.call(Method::POST, "/galleon/subscriptions", Some(json!({ "displayName": "team b" }))).await;
    let other = created.body["subscriptionId"].as_str().unwrap().to_string();
    let (team, team_oid) = token_of(app, "team b").await;
    assign(app, &format!("/subscriptions/{other}"), &team_oid, CONTRIBUTOR, n).await;
    (other, team)
}

async fn share(app: &TestApp, g: &str, op: &str, kind: &str, ids: &[&str]) -> Resp {
    let body = json!({ "operationType": op, "groups": [{ "type": kind, "ids": ids }] });
    app.call(Method::POST, &format!("{g}/share?{SHARE_API}"), Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_gallery_is_read_and_used_by_its_groups_only_and_unsharing_takes_that_away() {
    let (mut app, g, i, admin) = published_version().await;
    let (other, team) = other_team(&app, 1).await;
    let shared = format!("/subscriptions/{other}/providers/Microsoft.Compute/locations/westcentralus/sharedGalleries");
    let unique = format!("{SUB}-GAL");

    // Private: nothing to see, and a name probe answers as for a gallery that does not exist.
    app.token = team.clone();
    let list = app.get(&format!("{shared}?{SHARE_API}")).await;
    assert_eq!((list.status, list.body["value"].as_array().unwrap().len()), (StatusCode::OK, 0));
    let probe = app.get(&format!("{shared}/{unique}?{SHARE_API}")).await;
    assert_eq!((probe.status, probe.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"));

    // The owner shares it: Groups first (Add on a private gallery is refused and changes nothing).
    app.token = admin.clone();
    let refused = share(&app, &g, "Add", "Subscriptions", &[&other]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let r = app
        .patch(&format!("{g}?{COMPUTE}"), json!({ "properties": { "sharingProfile": { "permissions": "Groups" } } }))
        .await;
    assert_eq!(r.body["properties"]["sharingProfile"]["permissions"], "Groups", "{}", r.body);
    app.settle().await;
    let r = share(&app, &g, "Add", "Subscriptions", &[&other.to_ascii_uppercase()]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert_eq!(app.poll(r.header("azure-asyncoperation")).await.body["status"], "Succeeded");
    let plain = app.get(&format!("{g}?{COMPUTE}")).await;
    assert!(plain.body["properties"]["sharingProfile"].get("groups").is_none(), "groups only when expanded");
    assert_eq!(plain.body["properties"]["sharingStatus"]["aggregatedState"], "Succeeded");
    let expanded = app.get(&format!("{g}?{COMPUTE}&$expand=SharingProfile/Groups")).await;
    assert_eq!(
        expanded.body["properties"]["sharingProfile"]["groups"],
        json!([{ "type": "Subscriptions", "ids": [other.to_ascii_lowercase()] }])
    );

    // The other team reads it through the shared paths: no id, type or resource group.
    app.token = team.clone();
    let list = app.get(&format!("{shared}?{SHARE_API}")).await;
    let galleries = list.body["value"].as_array().unwrap();
    assert_eq!(galleries.len(), 1, "{}", list.body);
    assert_eq!(galleries[0]["name"], unique.as_str());
    assert_eq!(galleries[0]["identifier"]["uniqueId"], format!("/SharedGalleries/{unique}"));
    assert!(galleries[0].get("id").is_none() && !list.body.to_string().contains("/resourceGroups/"));
    let images = app.get(&format!("{shared}/{unique}/images?{SHARE_API}")).await;
    assert_eq!(images.body["value"][0]["properties"]["identifier"]["sku"], "img", "{}", images.body);
    let versions = app.get(&format!("{shared}/{unique}/images/img/versions?{SHARE_API}")).await;
    let v: &Value = &versions.body["value"][0];
    assert_eq!(v["identifier"]["uniqueId"], format!("/SharedGalleries/{unique}/Images/img/Versions/1.0.0"));
    assert!(v["properties"]["storageProfile"]["osDiskImage"]["diskSizeGB"].as_u64().is_some(), "{v}");
    let one = app.get(&format!("{shared}/{unique}/images/img/versions/1.0.0?{SHARE_API}")).await;
    assert_eq!(one.status, StatusCode::OK);
    let elsewhere = app.get(&format!("{}?{SHARE_API}", shared.replace("westcentralus", "eastus"))).await;
    assert_eq!(elsewhere.body["value"].as_array().unwrap().len(), 0, "shared in the gallery's own region");
    let missing = app.get(&format!("{shared}/{unique}/images/nope?{SHARE_API}")).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(!missing.body.to_string().contains("rg"), "{}", missing.body);

    // ...and makes disks from it in its own subscription: a version, and the definition's latest.
    let rg2 = format!("/subscriptions/{other}/resourceGroups/consumer");
    assert!(app.put(&format!("{rg2}?{RES}"), json!({ "location": "westcentralus" })).await.status.is_success());
    let disk_api = "api-version=2025-01-02";
    for (name, id) in [
        ("pinned", format!("/SharedGalleries/{unique}/Images/img/Versions/1.0.0")),
        ("latest", format!("/SharedGalleries/{unique}/Images/img")),
    ] {
        let body = json!({ "location": "westcentralus", "properties": { "creationData": {
            "createOption": "FromImage", "galleryImageReference": { "sharedGalleryImageId": id } } } });
        let r = app.put(&format!("{rg2}/providers/Microsoft.Compute/disks/{name}?{disk_api}"), body).await;
        assert!(r.status.is_success(), "{name}: {}", r.body);
        assert_eq!(r.body["properties"]["creationData"]["galleryImageReference"]["sharedGalleryImageId"], id.as_str());
    }
    app.settle().await;
    let disk = app.get(&format!("{rg2}/providers/Microsoft.Compute/disks/pinned?{disk_api}")).await;
    assert_eq!(disk.body["properties"]["provisioningState"], "Succeeded", "{}", disk.body);

    // Sharing never gives writes.
    let write = app.patch(&format!("{g}?{COMPUTE}"), json!({ "properties": { "description": "mine" } })).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN);
    let reshare = share(&app, &g, "Add", "Subscriptions", &[&other]).await;
    assert_eq!(reshare.status, StatusCode::FORBIDDEN);
    // Nor may a principal make a disk from it in a subscription it is not shared with.
    let direct = json!({ "location": "westcentralus", "properties": { "creationData": {
        "createOption": "FromImage", "galleryImageReference": { "id": format!("{i}/versions/1.0.0") } } } });
    let r = app.put(&format!("{rg2}/providers/Microsoft.Compute/disks/direct?{disk_api}"), direct).await;
    assert_eq!(r.code(), "LinkedAuthorizationFailed", "the private id still needs a role: {}", r.body);

    // Unsharing: the list empties, new disks are refused, the disks made stay.
    app.token = admin.clone();
    let r = share(&app, &g, "Remove", "Subscriptions", &[&other]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    app.token = team.clone();
    assert_eq!(app.get(&format!("{shared}?{SHARE_API}")).await.body["value"].as_array().unwrap().len(), 0);
    assert_eq!(app.get(&format!("{shared}/{unique}/images?{SHARE_API}")).await.status, StatusCode::NOT_FOUND);
    let body = json!({ "location": "westcentralus", "properties": { "creationData": {
        "createOption": "FromImage", "galleryImageReference": { "sharedGalleryImageId": format!("/SharedGalleries/{unique}/Images/img") } } } });
    let r = app.put(&format!("{rg2}/providers/Microsoft.Compute/disks/after?{disk_api}"), body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert_eq!(
        app.get(&format!("{rg2}/providers/Microsoft.Compute/disks/pinned?{disk_api}")).await.status,
        StatusCode::OK
    );

    // Shared with the tenant: every subscription of it sees it with sharedTo=tenant.
    app.token = admin.clone();
    share(&app, &g, "Add", "AADTenants", &[TENANT]).await;
    app.token = team.clone();
    let by_tenant = app.get(&format!("{shared}?{SHARE_API}&sharedTo=tenant")).await;
    assert_eq!(by_tenant.body["value"].as_array().unwrap().len(), 1, "{}", by_tenant.body);
    // Reset: private again, groups gone.
    app.token = admin;
    share(&app, &g, "Reset", "Subscriptions", &[]).await;
    let after = app.get(&format!("{g}?{COMPUTE}&$expand=SharingProfile/Groups")).await;
    assert_eq!(after.body["properties"]["sharingProfile"], json!({ "permissions": "Private", "groups": [] }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sharing_takes_an_owner_and_bad_requests_change_nothing() {
    let mut app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "img").await;
    let r = app
        .patch(&format!("{g}?{COMPUTE}"), json!({ "properties": { "sharingProfile": { "permissions": "Groups" } } }))
        .await;
    assert!(r.status.is_success());
    app.settle().await;
    let other = "00000000-0000-0000-0000-00000000beef";
    for (body, what) in [
        (json!({ "groups": [{ "type": "Subscriptions", "ids": [other] }] }), "no operationType"),
        (json!({ "operationType": "Share", "groups": [] }), "unknown operation"),
        (json!({ "operationType": "Add", "groups": [{ "type": "Users", "ids": [other] }] }), "unknown group type"),
        (json!({ "operationType": "Add", "groups": [{ "type": "Subscriptions", "ids": ["me"] }] }), "not a GUID"),
        (json!({ "operationType": "Add", "groups": [] }), "nothing to add"),
        (json!({ "operationType": "EnableCommunity" }), "not a community gallery"),
    ] {
        let r = app.call(Method::POST, &format!("{g}/share?{SHARE_API}"), Some(body)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {}", r.body);
    }
    let community = app
        .patch(&format!("{g}?{COMPUTE}"), json!({ "properties": { "sharingProfile": { "permissions": "Community" } } }))
        .await;
    assert_eq!(community.status, StatusCode::BAD_REQUEST);
    let info = json!({ "location": "westcentralus", "properties": { "sharingProfile": { "permissions": "Groups",
        "communityGalleryInfo": { "publisherUri": "x" } } } });
    let r = app.put(&format!("{g}?{COMPUTE}"), info).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("communityGalleryInfo"), "{}", r.body);
    let after = app.get(&format!("{g}?{COMPUTE}&$expand=SharingProfile/Groups")).await;
    assert_eq!(after.body["properties"]["sharingProfile"], json!({ "permissions": "Groups", "groups": [] }));

    // A contributor on the gallery may change it but not share it.
    let p = app.core.create_principal("contributor").await.unwrap();
    let token =
        app.token_request(&p.principal.client_id, &p.secret).await.body["access_token"].as_str().unwrap().to_string();
    let body = json!({ "properties": { "roleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c", "principalId": p.principal.object_id } });
    let r = app.put(&format!("{g}/providers/Microsoft.Authorization/roleAssignments/41111111-0000-0000-0000-000000000001?api-version=2022-04-01"), body).await;
    assert_eq!(r.status, StatusCode::CREATED);
    app.token = token;
    let tagged = app.patch(&format!("{g}?{COMPUTE}"), json!({ "tags": { "a": "b" } })).await;
    assert!(tagged.status.is_success(), "{}", tagged.body);
    let r = share(&app, &g, "Add", "Subscriptions", &[other]).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "AuthorizationFailed"), "{}", r.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_community_gallery_is_read_and_used_by_anyone_signed_in() {
    let (mut app, g, _, admin) = published_version().await;
    let info = json!({ "publisherUri": "https://images.example.org", "publisherContact": "images@example.org",
        "eula": "https://images.example.org/eula", "publicNamePrefix": "team1" });
    let r = app
        .patch(
            &format!("{g}?{COMPUTE}"),
            json!({ "properties": { "sharingProfile": { "permissions": "Community", "communityGalleryInfo": info } } }),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let c = &r.body["properties"]["sharingProfile"]["communityGalleryInfo"];
    assert_eq!(c["communityGalleryEnabled"], false);
    let public = c["publicNames"][0].as_str().unwrap().to_string();
    assert!(public.starts_with("team1-") && public.len() == "team1-".len() + 36, "{public}");
    app.settle().await;

    // Anyone signed in: a principal with no role anywhere, and one who owns another subscription.
    let (stranger, _) = token_of(&app, "stranger").await;
    let (other, team) = other_team(&app, 2).await;
    let community =
        format!("/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westcentralus/communityGalleries/{public}");

    app.token = stranger.clone();
    assert_eq!(app.get(&format!("{community}?{SHARE_API}")).await.status, StatusCode::NOT_FOUND, "not published yet");
    app.token = admin.clone();
    let r = share(&app, &g, "EnableCommunity", "Subscriptions", &[]).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);

    app.token = stranger.clone();
    let gallery = app.get(&format!("{community}?{SHARE_API}")).await;
    assert_eq!(gallery.status, StatusCode::OK, "{}", gallery.body);
    assert_eq!(gallery.body["identifier"]["uniqueId"], format!("/CommunityGalleries/{public}"));
    assert_eq!(gallery.body["properties"]["communityMetadata"]["publisherContact"], "images@example.org");
    assert!(!gallery.body.to_string().contains("/resourceGroups/"));
    let versions = app.get(&format!("{community}/images/img/versions?{SHARE_API}")).await;
    let unique_id = versions.body["value"][0]["identifier"]["uniqueId"].as_str().unwrap().to_string();
    assert_eq!(unique_id, format!("/CommunityGalleries/{public}/Images/img/Versions/1.0.0"));
    assert_eq!(versions.body["value"][0]["properties"]["disclaimer"], "https://aka.ms/community-gallery-disclaimer");
    assert_eq!(app.get(&format!("{community}/images/img?{SHARE_API}")).await.status, StatusCode::OK);
    // `az sig list-community` asks Resource Graph.
    let query = json!({ "query": "communitygalleryresources| where type == 'microsoft.compute/locations/communitygalleries' | where location == 'westcentralus' ", "options": { "$top": 30 } });
    let graph = app
        .call(Method::POST, "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01", Some(query))
        .await;
    assert_eq!(graph.status, StatusCode::OK, "{}", graph.body);
    assert_eq!(graph.body["data"][0]["name"], public.as_str());
    assert_eq!(graph.body["data"][0]["properties"]["identifier"]["uniqueId"], format!("/CommunityGalleries/{public}"));
    let other_query = json!({ "query": "resources | project name" });
    let refused = app
        .call(Method::POST, "/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01", Some(other_query))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    // Read-only for them, as for everyone.
    assert_eq!(app.patch(&format!("{g}?{COMPUTE}"), json!({ "tags": {} })).await.status, StatusCode::FORBIDDEN);

    // A disk from it in the other team's subscription.
    app.token = team;
    let rg2 = format!("/subscriptions/{other}/resourceGroups/consumer");
    assert!(app.put(&format!("{rg2}?{RES}"), json!({ "location": "westcentralus" })).await.status.is_success());
    let body = json!({ "location": "westcentralus", "properties": { "creationData": {
        "createOption": "FromImage", "galleryImageReference": { "communityGalleryImageId": unique_id } } } });
    let r = app
        .put(&format!("{rg2}/providers/Microsoft.Compute/disks/community?api-version=2025-01-02"), body.clone())
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    assert_eq!(
        r.body["properties"]["creationData"]["galleryImageReference"]["communityGalleryImageId"],
        unique_id.as_str()
    );
    app.settle().await;
    let disk = app.get(&format!("{rg2}/providers/Microsoft.Compute/disks/community?api-version=2025-01-02")).await;
    assert_eq!(disk.body["properties"]["provisioningState"], "Succeeded", "{}", disk.body);

    // ...and a version of their own from it, in their own gallery.
    let their_gallery = format!("{rg2}/providers/Microsoft.Compute/galleries/theirs");
    assert!(
        app.put(&format!("{their_gallery}?{COMPUTE}"), json!({ "location": "westcentralus" }))
            .await
            .status
            .is_success()
    );
    let def = definition_body("westcentralus", "them", "o", "s");
    assert!(app.put(&format!("{their_gallery}/images/copy?api-version=2021-10-01"), def).await.status.is_success());
    app.settle().await;
    let image_level = format!("/CommunityGalleries/{public}/Images/img");
    let body = json!({ "location": "westcentralus", "properties": {
        "storageProfile": { "source": { "communityGalleryImageId": image_level } } } });
    let r = app.put(&format!("{their_gallery}/images/copy/versions/1.0.0?{COMPUTE}"), body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    app.settle().await;
    let copy = app.get(&format!("{their_gallery}/images/copy/versions/1.0.0?{COMPUTE}")).await;
    assert_eq!(copy.body["properties"]["provisioningState"], "Succeeded", "{}", copy.body);
    assert_eq!(copy.body["properties"]["storageProfile"]["source"]["communityGalleryImageId"], image_level.as_str());
    assert!(copy.body["properties"]["storageProfile"]["source"].get("id").is_none());

    // Reset: gone for everyone; new disks refused.
    app.token = admin.clone();
    share(&app, &g, "Reset", "Subscriptions", &[]).await;
    app.token = stranger;
    assert_eq!(app.get(&format!("{community}?{SHARE_API}")).await.status, StatusCode::NOT_FOUND);

    // What a community gallery needs.
    app.token = admin;
    for bad in [
        json!({ "permissions": "Community" }),
        json!({ "permissions": "Groups", "communityGalleryInfo": info }),
        json!({ "permissions": "Community", "communityGalleryInfo": { "publisherUri": "x", "publisherContact": "nobody", "eula": "e", "publicNamePrefix": "p" } }),
    ] {
        let r = app.patch(&format!("{g}?{COMPUTE}"), json!({ "properties": { "sharingProfile": bad } })).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    let r = share(&app, &g, "EnableCommunity", "Subscriptions", &[]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a private gallery cannot be published: {}", r.body);
}
