//! Soft delete: with the gallery's policy on, a deleted version is kept out of sight (not
//! readable, not `latest`, not a source), listed among the soft-deleted artifacts, restorable as
//! it was, and removed for good after its hard deletion time.

use axum::http::{Method, StatusCode};
use serde_json::json;

use super::support::*;

const API: &str = "api-version=2026-03-03";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_soft_deleted_version_is_hidden_listed_restorable_and_purged_after_its_time() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let policy = json!({ "properties": { "softDeletePolicy": { "isSoftDeleteEnabled": true, "retentionPeriodInDays": 30, "gracePeriodInDays": 7 } } });
    let r = app.patch(&format!("{g}?{API}"), policy).await;
    assert_eq!(
        r.body["properties"]["softDeletePolicy"],
        json!({ "isSoftDeleteEnabled": true, "retentionPeriodInDays": 30, "gracePeriodInDays": 7 })
    );
    app.settle().await;
    let v = format!("{i}/versions/1.0.0");
    assert!(app.put(&format!("{v}?{COMPUTE}"), seed_version_body()).await.status.is_success());
    app.settle().await;
    let before = app.get(&format!("{v}?{COMPUTE}")).await.body;

    // Deleted: the usual 202, then nothing under the version's name, nor as `latest`.
    let del = app.delete(&format!("{v}?{COMPUTE}")).await;
    assert_eq!(del.status, StatusCode::ACCEPTED);
    assert_eq!(app.poll(del.header("azure-asyncoperation")).await.body["status"], "Succeeded");
    assert_eq!(app.get(&format!("{v}?{COMPUTE}")).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(&format!("{i}/versions?{COMPUTE}")).await.body["value"], json!([]));
    let rg2 = format!("/subscriptions/{SUB}/resourceGroups/rg");
    let from_latest = json!({ "location": "westcentralus", "properties": { "creationData": {
        "createOption": "FromImage", "galleryImageReference": { "id": i } } } });
    let r = app
        .put(&format!("{rg2}/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"), from_latest.clone())
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no latest while deleted: {}", r.body);

    // Listed among the soft-deleted, with Azure's times.
    let listed = app.get(&format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions?{API}")).await;
    let item = &listed.body["value"][0];
    assert_eq!(item["name"], "1.0.0", "{}", listed.body);
    assert_eq!(item["properties"]["resourceArmId"], v.as_str());
    let deleted = time::OffsetDateTime::parse(
        item["properties"]["softDeletedTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let hard = time::OffsetDateTime::parse(
        item["properties"]["hardDeletionTargetTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(hard - deleted, time::Duration::days(37));

    // The definition (and so the gallery) cannot go while it holds one.
    let refused = app.delete(&format!("{i}?{COMPUTE}")).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("soft-deleted"), "{}", refused.body);

    // Restored by a PUT of its location (az's undelete): as it was, and `latest` again.
    let r = app.put(&format!("{v}?{COMPUTE}"), json!({ "location": "westcentralus", "tags": {} })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let after = app.get(&format!("{v}?{COMPUTE}")).await.body;
    assert_eq!(after["properties"]["storageProfile"], before["properties"]["storageProfile"]);
    assert_eq!(
        after["properties"]["publishingProfile"]["targetRegions"],
        before["properties"]["publishingProfile"]["targetRegions"]
    );
    assert_eq!(
        app.get(&format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions?{API}")).await.body["value"],
        json!([])
    );
    assert!(
        app.put(&format!("{rg2}/providers/Microsoft.Compute/disks/d?api-version=2025-01-02"), from_latest)
            .await
            .status
            .is_success()
    );
    app.settle().await;

    // PATCH with restore: true, and a restore with nothing to restore.
    app.delete(&format!("{v}?{COMPUTE}")).await;
    let r =
        app.patch(&format!("{v}?{COMPUTE}"), json!({ "properties": { "restore": true, "storageProfile": {} } })).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = app.patch(&format!("{i}/versions/9.9.9?{COMPUTE}"), json!({ "properties": { "restore": true } })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);

    // Past its hard deletion time it can no longer be restored, and garbage collection purges it.
    app.delete(&format!("{v}?{COMPUTE}")).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(36);
    assert_eq!(app.core.purge_soft_deleted_at(later).await.unwrap(), 0, "still within its grace period");
    let much_later = time::OffsetDateTime::now_utc() + time::Duration::days(38);
    assert_eq!(app.core.purge_soft_deleted_at(much_later).await.unwrap(), 1);
    assert_eq!(
        app.get(&format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions?{API}")).await.body["value"],
        json!([])
    );
    assert!(
        app.put(&format!("{v}?{COMPUTE}"), seed_version_body()).await.status.is_success(),
        "the name is free again"
    );
    app.settle().await;

    // Hard delete by hand; then the definition can go.
    app.delete(&format!("{v}?{COMPUTE}")).await;
    let gone = app
        .call(Method::DELETE, &format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions/1.0.0?{API}"), None)
        .await;
    assert_eq!(gone.status, StatusCode::OK);
    assert_eq!(
        app.get(&format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions?{API}")).await.body["value"],
        json!([])
    );
    assert!(app.delete(&format!("{i}?{COMPUTE}")).await.status.is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_policy_a_delete_is_final_and_bad_policies_are_refused() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg", "gal", "img").await;
    let v = format!("{i}/versions/1.0.0");
    assert!(app.put(&format!("{v}?{COMPUTE}"), seed_version_body()).await.status.is_success());
    app.settle().await;
    app.delete(&format!("{v}?{COMPUTE}")).await;
    app.settle().await;
    assert_eq!(
        app.get(&format!("{g}/softDeletedArtifactTypes/Images/artifacts/img/versions?{API}")).await.body["value"],
        json!([])
    );
    let r = app.put(&format!("{v}?{COMPUTE}"), json!({ "location": "westcentralus" })).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a PUT without a source creates nothing: {}", r.body);
    for bad in [
        json!({ "retentionPeriodInDays": 0 }),
        json!({ "gracePeriodInDays": 400 }),
        json!({ "isSoftDeleteEnabled": "yes" }),
    ] {
        let r = app.patch(&format!("{g}?{API}"), json!({ "properties": { "softDeletePolicy": bad } })).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.body);
    }
    let wrong_type = app.get(&format!("{g}/softDeletedArtifactTypes/Applications/artifacts/img/versions?{API}")).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
}
