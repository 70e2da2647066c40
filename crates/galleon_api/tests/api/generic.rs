//! ARM's generic surface: resource lists with a type filter and paging, provider metadata,
//! locations, and the errors for types and namespaces galleon does not serve.

use axum::http::StatusCode;
use serde_json::json;

use super::support::*;

#[tokio::test]
async fn resources_are_listed_by_subscription_group_and_type() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/other?{RES}"), json!({ "location": "westcentralus" })).await;
    let disk = json!({ "location": "westcentralus", "tags": { "team": "a" },
        "properties": { "diskSizeGB": 1, "creationData": { "createOption": "Empty" } } });
    app.put(
        &format!("/subscriptions/{SUB}/resourceGroups/other/providers/Microsoft.Compute/disks/d1?{DISK_API}"),
        disk,
    )
    .await;
    app.settle().await;

    let all = app.get(&format!("/subscriptions/{SUB}/resources?{RES}")).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.body);
    let types: Vec<&str> = all.body["value"].as_array().unwrap().iter().map(|r| r["type"].as_str().unwrap()).collect();
    // The test app's seed holds a managed image and its disk too (in myResourceGroup).
    assert_eq!(
        &types[..3],
        ["Microsoft.Compute/galleries", "Microsoft.Compute/galleries/images", "Microsoft.Compute/disks"]
    );
    assert!(types.contains(&"Microsoft.Compute/images"), "{types:?}");
    assert_eq!(all.body["value"][0]["id"], g);
    let names: Vec<String> =
        all.body["value"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    let d1 = all.body["value"].as_array().unwrap().iter().find(|r| r["name"] == "d1").unwrap();
    assert_eq!(d1["tags"]["team"], "a");

    let group = app.get(&format!("/subscriptions/{SUB}/resourceGroups/other/resources?{RES}")).await;
    assert_eq!(group.body["value"].as_array().unwrap().len(), 1, "{}", group.body);
    let filtered = app
        .get(&format!(
            "/subscriptions/{SUB}/resources?{RES}&$filter=resourceType%20eq%20%27microsoft.compute/galleries%27"
        ))
        .await;
    assert_eq!(filtered.body["value"].as_array().unwrap().len(), 1, "{}", filtered.body);
    let bad = app.get(&format!("/subscriptions/{SUB}/resources?{RES}&$filter=name%20gt%201")).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "InvalidFilterInQueryString"));
    let missing = app.get(&format!("/subscriptions/{SUB}/resourceGroups/nope/resources?{RES}")).await;
    assert_eq!(missing.code(), "ResourceGroupNotFound");

    // Pages of one walk the whole list across types.
    let (mut seen, mut next) = (vec![], Some(format!("/subscriptions/{SUB}/resources?{RES}&$top=1")));
    while let Some(url) = next {
        let path = url.split_once("://").map_or(url.clone(), |(_, rest)| rest[rest.find('/').unwrap()..].to_string());
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(page.body["value"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_string()));
        next = page.body["nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(seen, names);
}

#[tokio::test]
async fn providers_and_locations_describe_what_galleon_serves() {
    let app = TestApp::new().await;
    let compute = app.get(&format!("/providers/Microsoft.Compute?{RES}")).await;
    assert_eq!(compute.status, StatusCode::OK, "{}", compute.body);
    assert_eq!(compute.body["registrationState"], "Registered");
    let galleries = compute.body["resourceTypes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resourceType"] == "galleries/images/versions")
        .unwrap()
        .clone();
    assert!(galleries["apiVersions"].as_array().unwrap().iter().any(|v| v == "2024-03-03"));
    let sub = app.get(&format!("/subscriptions/{SUB}/providers/microsoft.compute?{RES}")).await;
    assert_eq!(sub.body["id"], format!("/subscriptions/{SUB}/providers/Microsoft.Compute"));
    let list = app.get(&format!("/subscriptions/{SUB}/providers?{RES}")).await;
    assert!(list.body["value"].as_array().unwrap().len() >= 4);
    let unknown = app.get(&format!("/providers/Microsoft.Sql?{RES}")).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "InvalidResourceNamespace"));
    let locations = app.get(&format!("/subscriptions/{SUB}/locations?api-version=2022-12-01")).await;
    assert!(
        locations.body["value"].as_array().unwrap().iter().any(|l| l["name"] == "westcentralus"),
        "{}",
        locations.body
    );

    // Paths no route serves name the type or namespace, as ARM does.
    let r = app
        .get(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/widgets/w?{COMPUTE}"))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "InvalidResourceType"));
    assert!(r.body["error"]["message"].as_str().unwrap().contains("'widgets'"), "{}", r.body);
    let r =
        app.get(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s?{COMPUTE}")).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "InvalidResourceNamespace"));
}
