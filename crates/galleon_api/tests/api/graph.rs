//! The Graph lookups `az role assignment create --assignee` makes: tokens for galleon's Graph URL
//! (`{base}/graph/`), service principals by name or object id, and that Graph and ARM tokens are
//! not interchangeable — a token for galleon's own URL (`{base}/`, its advertised resource
//! manager) is an ARM token.

use axum::body::Body;
use axum::http::{Request, StatusCode};

use super::support::*;

async fn graph_token(app: &TestApp, client_id: &str, secret: &str) -> String {
    token_for(app, client_id, secret, "https://127.0.0.1/graph/.default").await
}

async fn token_for(app: &TestApp, client_id: &str, secret: &str, scope: &str) -> String {
    let form = format!(
        "grant_type=client_credentials&client_id={client_id}&client_secret={}&scope={}",
        urlencode(secret),
        urlencode(scope)
    );
    let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    let r = app.send(req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["access_token"].as_str().unwrap().to_string()
}

async fn graph(app: &TestApp, token: &str, method: &str, path: &str, body: Option<&str>) -> Resp {
    let req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
        .unwrap();
    app.send(req).await
}

#[tokio::test]
async fn service_principals_are_found_by_app_id_and_object_id() {
    let app = TestApp::new().await;
    let other = app.core.create_principal("team B").await.unwrap();
    let token = graph_token(&app, &app.client_id, &app.secret).await;

    let filter = format!("servicePrincipalNames%2Fany%28c%3Ac%20eq%20%27{}%27%29", other.principal.client_id);
    let r = graph(&app, &token, "GET", &format!("/graph/v1.0/servicePrincipals?$filter={filter}"), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let found = r.body["value"].as_array().unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["id"], other.principal.object_id.as_str());
    assert_eq!(found[0]["@odata.type"], "#microsoft.graph.servicePrincipal");

    let r = graph(&app, &token, "GET", "/graph/v1.0/servicePrincipals?$filter=appId%20eq%20%27nobody%27", None).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0);
    let body = format!(r#"{{"ids": ["{}", "00000000-0000-0000-0000-000000000000"]}}"#, other.principal.object_id);
    let r = graph(&app, &token, "POST", "/graph/v1.0/directoryObjects/getByIds", Some(&body)).await;
    assert_eq!(r.body["value"][0]["displayName"], "team B", "{}", r.body);
    assert_eq!(r.body["value"].as_array().unwrap().len(), 1);
    let r =
        graph(&app, &token, "GET", &format!("/graph/v1.0/servicePrincipals/{}", other.principal.object_id), None).await;
    assert_eq!(r.body["appId"], other.principal.client_id.as_str());
    let r =
        graph(&app, &token, "GET", "/graph/v1.0/servicePrincipals?$filter=startswith(displayName,%27t%27)", None).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    let r = graph(&app, &token, "GET", "/graph/v1.0/users?$filter=userPrincipalName%20eq%20%27a@b%27", None).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 0, "galleon has no users");
}

#[tokio::test]
async fn graph_and_arm_tokens_are_not_interchangeable() {
    let app = TestApp::new().await;
    let graph_token = graph_token(&app, &app.client_id, &app.secret).await;
    let r = graph(&app, &graph_token, "GET", &format!("/subscriptions/{SUB}/resourcegroups?{RES}"), None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = graph(&app, &app.token, "GET", "/graph/v1.0/servicePrincipals", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    let r = graph(&app, "", "GET", "/graph/v1.0/servicePrincipals", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    // Graph is still answered at the root for clouds registered before it moved.
    let r = graph(&app, &graph_token, "GET", "/v1.0/servicePrincipals", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // galleon's own URL, as Ansible and @azure/arm-resources derive it from `resourceManager`,
    // is an ARM audience (with or without the double slash of `{url}/.default`).
    for scope in ["https://127.0.0.1/.default", "https://127.0.0.1//.default"] {
        let own = token_for(&app, &app.client_id, &app.secret, scope).await;
        let r = graph(&app, &own, "GET", &format!("/subscriptions/{SUB}/resourcegroups?{RES}"), None).await;
        assert_eq!(r.status, StatusCode::OK, "{scope}: {}", r.body);
        let r = graph(&app, &own, "GET", "/graph/v1.0/servicePrincipals", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{scope} is not a Graph token");
    }
    // Other audiences are still refused at the token endpoint.
    let form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}&scope=https%3A%2F%2Fvault.azure.net%2F.default",
        app.client_id,
        urlencode(&app.secret)
    );
    let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .unwrap();
    assert_eq!(app.send(req).await.status, StatusCode::BAD_REQUEST);
}
