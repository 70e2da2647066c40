//! Role assignments decide every request: a table of principal × scope × operation.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::support::*;

/// One row: what, whose token, method, URI, body, expected status.
type Case<'a> = (&'a str, &'a String, Method, String, Option<serde_json::Value>, StatusCode);

/// A principal with a token, and its object id.
async fn principal(app: &TestApp, name: &str) -> (String, String) {
    let p = app.core.create_principal(name).await.unwrap();
    let r = app.token_request(&p.principal.client_id, &p.secret).await;
    (r.body["access_token"].as_str().unwrap().to_string(), p.principal.object_id)
}

async fn assign(app: &TestApp, scope: &str, name: &str, oid: &str, role: &str) -> Resp {
    let body = json!({ "properties": { "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{role}"),
        "principalId": oid, "principalType": "ServicePrincipal" } });
    app.put(&format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}?api-version=2022-04-01"), body)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_decided_by_role_assignments() {
    let mut app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{}?{COMPUTE}", gallery_path("rg", "other")), json!({ "location": "westcentralus" })).await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/team?{RES}"), json!({ "location": "westcentralus" })).await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let admin = app.token.clone();

    let (reader, reader_oid) = principal(&app, "reader").await;
    let (contrib, contrib_oid) = principal(&app, "contributor").await;
    let (defwriter, defwriter_oid) = principal(&app, "definition writer").await;
    let (nobody, _) = principal(&app, "nobody").await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
    let team = format!("/subscriptions/{SUB}/resourceGroups/team");
    let r =
        assign(&app, &g, "11111111-0000-0000-0000-000000000001", &reader_oid, "acdd72a7-3385-48ef-bd42-f606fba81ae7")
            .await;
    assert_eq!(r.status, StatusCode::CREATED);
    // The scope and id keep the casing the client sent.
    assert_eq!(r.body["properties"]["scope"], g.as_str(), "{}", r.body);
    assert!(
        r.body["id"].as_str().unwrap().starts_with(&format!("{g}/providers/Microsoft.Authorization/roleAssignments/")),
        "{}",
        r.body
    );
    assert_eq!(
        assign(
            &app,
            &team,
            "11111111-0000-0000-0000-000000000002",
            &reader_oid,
            "b24988ac-6180-42a0-ab88-20f7382dd24c"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    assert_eq!(
        assign(&app, &rg, "11111111-0000-0000-0000-000000000003", &contrib_oid, "Contributor").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        assign(&app, &i, "11111111-0000-0000-0000-000000000004", &defwriter_oid, "Contributor").await.status,
        StatusCode::CREATED
    );

    let v = format!("{i}/versions/1.0.0?{COMPUTE}");
    let other = format!("{}?{COMPUTE}", gallery_path("rg", "other"));
    let gallery = format!("{g}?{COMPUTE}");
    let assignment = format!(
        "{rg}/providers/Microsoft.Authorization/roleAssignments/11111111-0000-0000-0000-000000000009?api-version=2022-04-01"
    );
    let assignment_body = json!({ "properties": { "roleDefinitionId": "Reader", "principalId": contrib_oid } });
    let table: Vec<Case<'_>> = vec![
        ("reader reads the shared gallery", &reader, Method::GET, gallery.clone(), None, StatusCode::OK),
        ("reader reads its versions", &reader, Method::GET, v.clone(), None, StatusCode::OK),
        (
            "reader cannot change the gallery",
            &reader,
            Method::PUT,
            gallery.clone(),
            Some(json!({ "location": "westcentralus" })),
            StatusCode::FORBIDDEN,
        ),
        ("reader cannot delete a version", &reader, Method::DELETE, v.clone(), None, StatusCode::FORBIDDEN),
        ("reader does not see another gallery", &reader, Method::GET, other.clone(), None, StatusCode::FORBIDDEN),
        (
            "contributor writes in its group",
            &contrib,
            Method::PATCH,
            gallery.clone(),
            Some(json!({ "tags": { "a": "b" } })),
            StatusCode::OK,
        ),
        (
            "contributor cannot assign roles",
            &contrib,
            Method::PUT,
            assignment.clone(),
            Some(assignment_body.clone()),
            StatusCode::FORBIDDEN,
        ),
        (
            "contributor cannot touch other groups",
            &contrib,
            Method::GET,
            format!("{team}?{RES}"),
            None,
            StatusCode::FORBIDDEN,
        ),
        (
            "definition writer reads its definition",
            &defwriter,
            Method::GET,
            format!("{i}?api-version=2021-10-01"),
            None,
            StatusCode::OK,
        ),
        (
            "definition writer cannot change the gallery",
            &defwriter,
            Method::PATCH,
            gallery.clone(),
            Some(json!({ "tags": {} })),
            StatusCode::FORBIDDEN,
        ),
        ("nobody reads nothing", &nobody, Method::GET, gallery.clone(), None, StatusCode::FORBIDDEN),
        (
            "owner assigns roles",
            &admin,
            Method::PUT,
            assignment.clone(),
            Some(assignment_body.clone()),
            StatusCode::CREATED,
        ),
    ];
    for (what, token, method, uri, body, expected) in table {
        app.token = token.clone();
        let r = app.call(method, &uri, body).await;
        assert_eq!(r.status, expected, "{what}: {}", r.body);
        if expected == StatusCode::FORBIDDEN {
            assert_eq!(r.code(), "AuthorizationFailed", "{what}");
            assert!(
                r.body["error"]["message"].as_str().unwrap().contains("does not have authorization to perform action"),
                "{what}"
            );
        }
        app.settle().await;
    }

    // Sharing a gallery: the reader makes a disk from its version in the reader's own group.
    app.token = reader.clone();
    let disk = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/1.0.0") } } } });
    let r = app.put(&format!("{team}/providers/Microsoft.Compute/disks/mine?api-version=2025-01-02"), disk).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    let op = r.header("azure-asyncoperation").to_string();
    app.settle().await;
    assert_eq!(app.poll(&op).await.body["status"], "Succeeded", "the reader polls its own operation");

    // Subscriptions: listed only where the principal has a role.
    assert_eq!(app.get("/subscriptions?api-version=2022-12-01").await.body["value"].as_array().unwrap().len(), 1);
    app.token = nobody;
    assert_eq!(app.get("/subscriptions?api-version=2022-12-01").await.body["value"], json!([]));

    // Assignments at a scope, and removal.
    app.token = admin;
    let list = app.get(&format!("{rg}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01")).await;
    let names: Vec<&str> = list.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["properties"]["roleDefinitionName"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"Contributor") && names.contains(&"Reader"), "{names:?}");
    assert_eq!(app.delete(&format!("{g}/providers/Microsoft.Authorization/roleAssignments/11111111-0000-0000-0000-000000000001?api-version=2022-04-01")).await.status, StatusCode::OK);
    app.token = reader;
    assert_eq!(app.get(&gallery).await.status, StatusCode::FORBIDDEN, "access ends with the assignment");
}

#[tokio::test]
async fn assignments_are_validated() {
    let app = TestApp::new().await;
    let (_, oid) = principal(&app, "p").await;
    let sub = format!("/subscriptions/{SUB}");
    let r = assign(&app, &sub, "66666666-0000-0000-0000-000000000001", &oid, "Janitor").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r =
        assign(&app, &sub, "66666666-0000-0000-0000-000000000002", "00000000-0000-0000-0000-000000000bad", "Reader")
            .await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("does not exist"));
}

#[tokio::test]
async fn owners_manage_principals_and_secrets_are_shown_once() {
    let mut app = TestApp::new().await;
    let created = app.call(Method::POST, "/galleon/principals", Some(json!({ "displayName": "ci" }))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let (id, secret) = (
        created.body["clientId"].as_str().unwrap().to_string(),
        created.body["clientSecret"].as_str().unwrap().to_string(),
    );
    assert_eq!(app.token_request(&id, &secret).await.status, StatusCode::OK);
    let list = app.get("/galleon/principals").await;
    assert!(
        list.body["value"].as_array().unwrap().iter().all(|p| p.get("clientSecret").is_none()),
        "secrets are never listed"
    );
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);

    // A principal without the Owner role cannot manage principals.
    let ci_token = app.token_request(&id, &secret).await.body["access_token"].as_str().unwrap().to_string();
    let admin = std::mem::replace(&mut app.token, ci_token);
    assert_eq!(app.call(Method::POST, "/galleon/principals", Some(json!({}))).await.status, StatusCode::FORBIDDEN);
    app.token = admin;

    let reset = app.call(Method::POST, &format!("/galleon/principals/{id}/resetSecret"), None).await;
    let new_secret = reset.body["clientSecret"].as_str().unwrap().to_string();
    assert_eq!(app.token_request(&id, &secret).await.status, StatusCode::UNAUTHORIZED, "the old secret stops working");
    assert_eq!(app.token_request(&id, &new_secret).await.status, StatusCode::OK);
    assert_eq!(app.delete(&format!("/galleon/principals/{id}")).await.status, StatusCode::OK);
    assert_eq!(app.token_request(&id, &new_secret).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.delete(&format!("/galleon/principals/{id}")).await.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn owners_create_subscriptions_and_own_them() {
    let app = TestApp::new().await;
    let r = app.call(Method::POST, "/galleon/subscriptions", Some(json!({ "displayName": "team b" }))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let sub = r.body["subscriptionId"].as_str().unwrap();
    let list = app.get("/subscriptions?api-version=2022-12-01").await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 2);
    let rg = app.put(&format!("/subscriptions/{sub}/resourcegroups/b?{RES}"), json!({ "location": "eastus" })).await;
    assert_eq!(rg.status, StatusCode::CREATED, "the creator owns the new subscription: {}", rg.body);
}

#[tokio::test]
async fn tokens_for_another_audience_are_refused() {
    let mut app = TestApp::new().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let oid = app.core.principal_object_id(&app.client_id).await.unwrap().unwrap();
    app.token = app.core.tokens().sign(&galleon_core::auth::Claims {
        aud: "https://storage.azure.com/".into(),
        iss: "x".into(),
        iat: now,
        nbf: now,
        exp: now + 600,
        appid: app.client_id.clone(),
        oid: oid.clone(),
        sub: oid,
        tid: TENANT.into(),
    });
    let r = app.get(&format!("/subscriptions/{SUB}/resourcegroups?{RES}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("audience"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn using_a_version_takes_read_access_to_it() {
    let mut app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/own?{RES}"), json!({ "location": "westcentralus" })).await;
    app.settle().await;
    let (outsider, oid) = principal(&app, "outsider").await;
    let own = format!("/subscriptions/{SUB}/resourceGroups/own");
    assert_eq!(
        assign(&app, &own, "33333333-0000-0000-0000-000000000001", &oid, "Contributor").await.status,
        StatusCode::CREATED
    );
    let admin = std::mem::replace(&mut app.token, outsider.clone());
    let disk = json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "FromImage",
        "galleryImageReference": { "id": format!("{i}/versions/latest") } } } });
    let r = app.put(&format!("{own}/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"), disk.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "LinkedAuthorizationFailed"), "{}", r.body);
    let vm = json!({ "location": "westcentralus", "properties": { "storageProfile": { "imageReference": { "id": format!("{i}/versions/1.0.0") } } } });
    let r = app.put(&format!("{own}/providers/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01"), vm).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let empty = json!({ "location": "westcentralus", "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } });
    assert_eq!(
        app.put(&format!("{own}/providers/Microsoft.Compute/disks/e?api-version=2025-01-02"), empty).await.status,
        StatusCode::ACCEPTED
    );
    // Sharing the gallery (Reader on it) is what lets the outsider use its versions.
    app.token = admin;
    let gallery = i.split("/images/").next().unwrap().to_string();
    assert_eq!(
        assign(&app, &gallery, "33333333-0000-0000-0000-000000000002", &oid, "Reader").await.status,
        StatusCode::CREATED
    );
    app.token = outsider;
    let r = app.put(&format!("{own}/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"), disk).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
}

/// Owning a gallery (or a whole subscription) is not owning galleon: principals, subscriptions
/// and operator actions need Owner at the tenant root.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_tenant_owners_administer_galleon() {
    let mut app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "img").await;
    let (gallery_owner, gallery_oid) = principal(&app, "gallery owner").await;
    let (sub_owner, sub_oid) = principal(&app, "subscription owner").await;
    let victim = app.core.create_principal("victim").await.unwrap();
    let sub = format!("/subscriptions/{SUB}");
    assert_eq!(
        assign(&app, &g, "44444444-0000-0000-0000-000000000001", &gallery_oid, "Owner").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        assign(&app, &sub, "44444444-0000-0000-0000-000000000002", &sub_oid, "Owner").await.status,
        StatusCode::CREATED
    );
    let admin = app.token.clone();
    let victim_id = victim.principal.client_id.clone();
    for token in [&gallery_owner, &sub_owner] {
        app.token = token.clone();
        let refused = [
            app.get("/galleon/principals").await,
            app.call(Method::POST, "/galleon/principals", Some(json!({ "displayName": "x" }))).await,
            app.call(Method::POST, &format!("/galleon/principals/{}/resetSecret", app.client_id), None).await,
            app.call(Method::POST, &format!("/galleon/principals/{victim_id}/resetSecret"), None).await,
            app.delete(&format!("/galleon/principals/{victim_id}")).await,
            app.call(Method::POST, "/galleon/subscriptions", Some(json!({ "displayName": "mine" }))).await,
            app.call(Method::POST, "/galleon/regions/eastus/scrub", None).await,
            app.get("/galleon/regions/eastus/scrub").await,
            app.get("/galleon/regions").await,
            app.get("/metrics").await,
            app.get("/galleon/regions/eastus").await,
            app.call(Method::POST, "/galleon/gc", None).await,
            app.get("/galleon/operations/44444444-0000-0000-0000-000000000010").await,
        ];
        for r in refused {
            assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "AuthorizationFailed"), "{}", r.body);
        }
        // Nor can they make themselves tenant owners (the root scope: an empty prefix).
        let r = assign(&app, "", "44444444-0000-0000-0000-000000000003", &gallery_oid, "Owner").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    }
    assert_eq!(app.token_request(&victim_id, &victim.secret).await.status, StatusCode::OK, "the secret still works");
    // A gallery owner still manages role assignments under its gallery, and only there.
    app.token = gallery_owner.clone();
    let (_, reader_oid) = principal(&app, "reader").await;
    assert_eq!(
        assign(&app, &g, "44444444-0000-0000-0000-000000000004", &reader_oid, "Reader").await.status,
        StatusCode::CREATED
    );
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg");
    assert_eq!(
        assign(&app, &rg, "44444444-0000-0000-0000-000000000005", &reader_oid, "Reader").await.status,
        StatusCode::FORBIDDEN
    );
    // The tenant owner can make another tenant owner, who then administers galleon.
    app.token = admin;
    let r = assign(&app, "", "44444444-0000-0000-0000-000000000006", &gallery_oid, "Owner").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["properties"]["scope"], "/");
    app.token = gallery_owner;
    assert_eq!(app.get("/galleon/principals").await.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn role_assignments_are_refused_as_arm_refuses_them() {
    let app = TestApp::new().await;
    app.seed_definition("rg", "gal", "img").await;
    let (_, oid) = principal(&app, "p").await;
    let body = json!({ "properties": { "roleDefinitionId": "Reader", "principalId": oid } });
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments");
    let r = app.put(&format!("{rg}/55555555-0000-0000-0000-000000000001"), body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "MissingApiVersionParameter"));
    let r = app.put(&format!("{rg}/not-a-guid?api-version=2022-04-01"), body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "InvalidRoleAssignmentId"), "{}", r.body);
    let missing_rg = format!(
        "/subscriptions/{SUB}/resourceGroups/nope/providers/Microsoft.Authorization/roleAssignments/55555555-0000-0000-0000-000000000002?api-version=2022-04-01"
    );
    let r = app.put(&missing_rg, body.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceGroupNotFound"), "{}", r.body);
    let missing_gallery = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments/55555555-0000-0000-0000-000000000003?api-version=2022-04-01",
        gallery_path("rg", "nope")
    );
    let r = app.put(&missing_gallery, body).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "ResourceNotFound"), "{}", r.body);
    let list = app.get(&format!("{rg}?api-version=2022-04-01")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 0, "nothing was written: {}", list.body);
}

/// Every ARM route in the router's table, with every method, as a principal without any role
/// and as a Reader of the subscription: nothing is written, nothing of another's is read, and
/// nothing answers a server error. A route added without authorization fails here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_route_table_walk_finds_no_unguarded_route() {
    let mut app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let (nobody, _) = principal(&app, "nobody").await;
    let (reader, reader_oid) = principal(&app, "reader").await;
    let sub_scope = format!("/subscriptions/{SUB}");
    assert_eq!(
        assign(
            &app,
            &sub_scope,
            "44444444-0000-0000-0000-000000000001",
            &reader_oid,
            "acdd72a7-3385-48ef-bd42-f606fba81ae7"
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let admin_client = app.client_id.clone();

    let fill = |pattern: &str| {
        let mut path = pattern.to_string();
        for (param, value) in [
            ("{sub}", SUB),
            ("{rg}", "rg"),
            ("{gallery}", "gal"),
            ("{image}", "img"),
            ("{version}", "1.0.0"),
            ("{name}", "x"),
            ("{location}", "westcentralus"),
            ("{id}", "44444444-0000-0000-0000-000000000009"),
            ("{namespace}", "Microsoft.Compute"),
            ("{ty}", "virtualnetworks"),
            ("{region}", "westcentralus"),
            ("{client_id}", admin_client.as_str()),
            ("{action}", "resetSecret"),
            ("{run}", "r"),
            ("{log}", "management"),
            ("{artifact}", "Images"),
        ] {
            path = path.replace(param, value);
        }
        assert!(!path.contains('{'), "a route parameter the walk does not fill: {pattern}");
        path
    };
    // Open to anyone signed in: lists filtered to what the caller holds, and provider metadata.
    let open_reads = ["/subscriptions", "/tenants", "/providers", "/providers/{namespace}"];
    let needs = galleon_api::arm_route_needs();
    assert!(needs.len() > 40, "the table has every ARM route: {}", needs.len());
    // What is open to anyone signed in is a short list, reviewed here: a route declared so by
    // mistake fails this test before it opens anything.
    let community =
        "/subscriptions/{sub}/providers/microsoft.compute/locations/{location}/communitygalleries/{gallery}";
    let mut expected_open: Vec<String> = open_reads.iter().map(|p| p.to_string()).collect();
    expected_open.push("/providers/microsoft.resourcegraph/resources".into());
    for tail in ["", "/images", "/images/{image}", "/images/{image}/versions", "/images/{image}/versions/{version}"] {
        expected_open.push(format!("{community}{tail}"));
    }
    expected_open.sort();
    let mut open: Vec<String> =
        needs.iter().filter(|(_, n)| *n == galleon_api::Need::SignedIn).map(|(p, _)| p.clone()).collect();
    open.sort();
    assert_eq!(open, expected_open);
    // galleon's administration is the tenant Owner's only.
    for (pattern, need) in &needs {
        if pattern.starts_with("/galleon/") || pattern == "/metrics" {
            assert_eq!(*need, galleon_api::Need::Admin, "{pattern}");
        }
    }
    let patterns: Vec<&String> = needs.iter().map(|(p, _)| p).collect();
    let mut holes = Vec::new();
    for pattern in patterns {
        let path = fill(pattern);
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::POST, Method::DELETE] {
            for (who, token) in [("nobody", &nobody), ("subscription reader", &reader)] {
                app.token = token.clone();
                let body =
                    (method != Method::GET && method != Method::DELETE).then(|| json!({ "location": "westcentralus" }));
                let uri = format!("{path}?api-version=2024-03-03");
                let r = app.call(method.clone(), &uri, body).await;
                let read = method == Method::GET;
                let allowed = r.status.is_success()
                    && (open_reads.contains(&pattern.as_str()) || (read && who == "subscription reader"));
                if r.status.is_server_error() || (r.status.is_success() && !allowed) {
                    holes.push(format!("{who} {method} {pattern}: {} {}", r.status, r.body));
                }
            }
        }
    }
    app.token = String::new();
    assert!(holes.is_empty(), "{holes:#?}");
}

/// Every kind of request that uses another resource (a version's source or disk images, a disk's
/// image, a VM's image, disks and interfaces, a managed image's disks, an interface's subnet)
/// is refused with `LinkedAuthorizationFailed` when the caller cannot read it, and writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_link_of_a_request_takes_read_access() {
    let mut app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/own?{RES}"), json!({ "location": "westcentralus" })).await;
    let own = format!("/subscriptions/{SUB}/resourceGroups/own");
    let og = format!("{own}/providers/Microsoft.Compute/galleries/og");
    assert!(app.put(&format!("{og}?{COMPUTE}"), json!({ "location": "westcentralus" })).await.status.is_success());
    let od = format!("{og}/images/od");
    let def = definition_body("westcentralus", "p", "o", "s");
    assert!(app.put(&format!("{od}?{COMPUTE}"), def).await.status.is_success());
    app.settle().await;
    let (outsider, oid) = principal(&app, "outsider").await;
    assert_eq!(
        assign(&app, &own, "55555555-0000-0000-0000-000000000001", &oid, "Contributor").await.status,
        StatusCode::CREATED
    );
    let theirs = format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute");
    let subnet =
        format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s");
    let nic = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/n");
    let version = |storage: serde_json::Value| {
        json!({ "location": "westcentralus", "properties": { "storageProfile": storage,
            "publishingProfile": { "targetRegions": [{ "name": "westcentralus" }] } } })
    };
    let cases = [
        (
            "version from a managed image",
            format!("{od}/versions/1.0.0?{COMPUTE}"),
            version(json!({ "source": { "id": MANAGED_IMAGE } })),
        ),
        (
            "version from a disk",
            format!("{od}/versions/1.0.1?{COMPUTE}"),
            version(json!({ "osDiskImage": { "source": { "id": format!("{theirs}/disks/src") } } })),
        ),
        (
            "disk from a version",
            format!("{own}/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"),
            json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "FromImage",
                "galleryImageReference": { "id": format!("{i}/versions/1.0.0") } } } }),
        ),
        (
            "disk copied from a disk",
            format!("{own}/providers/Microsoft.Compute/disks/c?api-version=2025-01-02"),
            json!({ "location": "westcentralus", "properties": { "creationData": { "createOption": "Copy",
                "sourceResourceId": format!("{theirs}/disks/src") } } }),
        ),
        (
            "VM from a managed image",
            format!("{own}/providers/Microsoft.Compute/virtualMachines/vm?api-version=2024-11-01"),
            json!({ "location": "westcentralus", "properties": { "storageProfile": { "imageReference": { "id": MANAGED_IMAGE } } } }),
        ),
        (
            "VM with another's interface",
            format!("{own}/providers/Microsoft.Compute/virtualMachines/vm2?api-version=2024-11-01"),
            json!({ "location": "westcentralus", "properties": { "storageProfile": { "imageReference": { "id": format!("{od}/versions/latest") } },
                "networkProfile": { "networkInterfaces": [{ "id": nic }] } } }),
        ),
        (
            "managed image from a disk",
            format!("{own}/providers/Microsoft.Compute/images/mi?api-version=2024-11-01"),
            json!({ "location": "westcentralus", "properties": { "storageProfile": { "osDisk": { "osType": "Linux", "osState": "Generalized",
                "managedDisk": { "id": format!("{theirs}/disks/src") } } } } }),
        ),
        (
            "interface on another's subnet",
            format!("{own}/providers/Microsoft.Network/networkInterfaces/n?api-version=2023-04-01"),
            json!({ "location": "westcentralus", "properties": { "ipConfigurations": [{ "name": "ip", "properties": { "subnet": { "id": subnet } } }] } }),
        ),
    ];
    let admin = std::mem::replace(&mut app.token, outsider);
    for (what, uri, body) in &cases {
        let r = app.put(uri, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "LinkedAuthorizationFailed"), "{what}: {}", r.body);
    }
    app.token = admin;
    for (what, uri, _) in &cases {
        assert_eq!(app.get(uri).await.status, StatusCode::NOT_FOUND, "{what}: nothing was written");
    }
}
