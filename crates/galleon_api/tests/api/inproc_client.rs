//! galleon's own ARM client (galleon_client) over the in-process transport the portal and
//! template deployments use: typed answers, operations waited on, ARM errors, both credentials.

use std::time::Duration;

use axum::http::{Method, StatusCode};
use galleon_api_types::Resource;
use galleon_api_types::gallery::GalleryProperties;
use galleon_api_types::image::ImageProperties;
use galleon_api_types::version::VersionProperties;
use galleon_client::{ClientError, Credential};
use serde_json::{Value, json};

use super::support::{COMPUTE, TENANT, TestApp, seed_version_body};

#[tokio::test]
async fn the_in_process_client_decodes_types_waits_for_operations_and_answers_arm_errors() {
    let app = TestApp::new().await;
    let (gallery, definition) = app.seed_definition("rg", "gal", "def").await;
    let arm = app.arm_client(Credential::Token(app.token.clone()));

    let g: Resource<GalleryProperties> = arm.get(&format!("{gallery}?{COMPUTE}")).await.unwrap();
    assert_eq!(g.name.as_deref(), Some("gal"));
    assert_eq!(g.properties.unwrap().provisioning_state.as_deref(), Some("Succeeded"));
    let defs: Vec<Resource<ImageProperties>> = arm.list(&format!("{gallery}/images?{COMPUTE}")).await.unwrap();
    assert_eq!(defs.len(), 1);
    let identifier = defs[0].properties.as_ref().unwrap().identifier.clone().unwrap();
    assert_eq!(identifier.publisher.as_deref(), Some("myPublisher"));

    // A version build is a job: still running after a short wait, Succeeded once it has run.
    let version = format!("{definition}/versions/1.0.0");
    let reply = arm.call(Method::PUT, &format!("{version}?{COMPUTE}"), Some(&seed_version_body())).await.unwrap();
    assert_eq!(reply.status, 201);
    assert!(arm.wait_at_most(&reply, Duration::from_millis(300)).await.unwrap().is_none());
    app.settle().await;
    let done = arm.wait(&reply).await.unwrap();
    assert_eq!(done.status, "Succeeded");
    let v: Resource<VersionProperties> =
        arm.get(&format!("{version}?{COMPUTE}&$expand=ReplicationStatus")).await.unwrap();
    let p = v.properties.unwrap();
    assert_eq!(p.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(p.replication_status.unwrap().aggregated_state, "Completed");

    // ARM errors keep their status, code and target.
    let missing = arm.get::<Value>(&format!("{gallery}/images/nope?{COMPUTE}")).await.unwrap_err();
    assert!(
        matches!(&missing, ClientError::Arm { status: 404, code, .. } if code == "ResourceNotFound"),
        "{missing:?}"
    );
    let bad = json!({ "location": "westcentralus", "properties": { "identifier": { "publisher": "p", "offer": "o", "sku": "s" }, "osType": "Plan9", "osState": "Generalized" } });
    let refused = arm.call(Method::PUT, &format!("{gallery}/images/bad?{COMPUTE}"), Some(&bad)).await.unwrap_err();
    let ClientError::Arm { status, code, target, .. } = &refused else { panic!("{refused:?}") };
    assert_eq!((*status, code.as_str()), (StatusCode::BAD_REQUEST.as_u16(), "InvalidParameter"), "{refused:?}");
    assert!(target.as_deref().is_some_and(|t| t.contains("osType")), "{refused:?}");

    // A service principal's secret is exchanged for a token through the same transport.
    let secret = Credential::Secret {
        tenant_id: TENANT.into(),
        client_id: app.client_id.clone(),
        client_secret: app.secret.clone(),
    };
    let by_secret = app.arm_client(secret);
    by_secret.authenticate().await.unwrap();
    let again: Resource<GalleryProperties> = by_secret.get(&format!("{gallery}?{COMPUTE}")).await.unwrap();
    assert_eq!(again.id, g.id);
    let wrong =
        Credential::Secret { tenant_id: TENANT.into(), client_id: app.client_id.clone(), client_secret: "x".into() };
    let refused = app.arm_client(wrong).authenticate().await.unwrap_err();
    assert!(matches!(&refused, ClientError::Arm { status: 401, code, .. } if code == "invalid_client"), "{refused:?}");
}
