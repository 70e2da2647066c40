//! Tokens, the issuer endpoints and what the clients call first.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use galleon_core::auth::{Claims, TokenIssuer, generate_signing_key};

use super::support::*;

#[tokio::test]
async fn public_endpoints_answer_without_a_token() {
    let app = TestApp::new().await;
    let r = app.send(Request::get("/healthz").body(Body::empty()).unwrap()).await;
    assert_eq!(r.status, StatusCode::OK);

    let r = app
        .send(
            Request::get("/metadata/endpoints?api-version=2022-09-01")
                .header("host", "127.0.0.1:8443")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.body["resourceManager"], "https://127.0.0.1:8443/");
    assert_eq!(r.body["microsoftGraphResourceId"], "https://127.0.0.1:8443/graph/", "distinct from ARM's audience");
    assert_eq!(r.body["authentication"]["loginEndpoint"], "https://127.0.0.1:8443/");
    assert_eq!(r.body["authentication"]["audiences"][0], "https://management.core.windows.net/");
    let r = app.send(Request::get("/metadata/endpoints?api-version=2019-05-01").body(Body::empty()).unwrap()).await;
    assert!(r.body.is_array(), "older api-versions get an array: {}", r.body);

    let r = app
        .send(
            Request::get(format!("/{TENANT}/v2.0/.well-known/openid-configuration"))
                .header("host", "h:1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(r.body["token_endpoint"], format!("https://h:1/{TENANT}/oauth2/v2.0/token"));
    let r = app.send(Request::get(format!("/{TENANT}/discovery/v2.0/keys")).body(Body::empty()).unwrap()).await;
    assert_eq!(r.body["keys"][0]["crv"], "Ed25519");
}

#[tokio::test]
async fn token_endpoint_checks_secrets_without_revealing_client_ids() {
    let app = TestApp::new().await;
    let good = app.token_request(&app.client_id, &app.secret).await;
    assert_eq!(good.body["token_type"], "Bearer");
    assert!(good.body["expires_in"].as_i64().unwrap() > 3000);

    let wrong_secret = app.token_request(&app.client_id, "nope").await;
    let unknown_client = app.token_request("11111111-1111-1111-1111-111111111111", "nope").await;
    assert_eq!(wrong_secret.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_secret.body["error"], "invalid_client");
    assert_eq!(wrong_secret.body, unknown_client.body, "same answer for unknown clients and wrong secrets");

    let req = Request::post(format!("/{TENANT}/oauth2/v2.0/token"))
        .body(Body::from("grant_type=password&client_id=x"))
        .unwrap();
    assert_eq!(app.send(req).await.body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn arm_routes_need_a_valid_unexpired_token() {
    let mut app = TestApp::new().await;
    let uri = format!("/subscriptions/{SUB}/resourcegroups?{RES}");
    let r = app.send(Request::get(&uri).body(Body::empty()).unwrap()).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "AuthenticationFailed"));
    assert!(r.header("www-authenticate").starts_with("Bearer"));

    let good = app.token.clone();
    app.token = "not-a-token".into();
    assert_eq!(app.get(&uri).await.code(), "InvalidAuthenticationToken");

    // Signed by another key.
    let other = TokenIssuer::new(&generate_signing_key()).unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |exp: i64| Claims {
        aud: "https://management.core.windows.net/".into(),
        iss: "x".into(),
        iat: now - 7200,
        nbf: now - 7200,
        exp,
        appid: app.client_id.clone(),
        oid: "o".into(),
        sub: "o".into(),
        tid: TENANT.into(),
    };
    app.token = other.sign(&claims(now + 600));
    assert_eq!(app.get(&uri).await.status, StatusCode::UNAUTHORIZED);

    // Ours, but expired.
    app.token = app.core.tokens().sign(&claims(now - 60));
    let r = app.get(&uri).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "ExpiredAuthenticationToken"));

    app.token = good;
    assert_eq!(app.get(&uri).await.status, StatusCode::OK);
}

#[tokio::test]
async fn subscriptions_list_as_az_login_needs() {
    let app = TestApp::new().await;
    let r = app.get("/subscriptions?api-version=2022-12-01").await;
    assert_eq!(r.status, StatusCode::OK);
    let s = &r.body["value"][0];
    assert_eq!(s["subscriptionId"], SUB);
    assert_eq!(s["tenantId"], TENANT);
    assert_eq!(s["state"], "Enabled");
    assert_eq!(
        app.get(&format!("/subscriptions/{SUB}?api-version=2022-12-01")).await.body["id"],
        format!("/subscriptions/{SUB}")
    );
    let r = app.get("/subscriptions/00000000-0000-0000-0000-999999999999?api-version=2022-12-01").await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "SubscriptionNotFound"));
}

#[tokio::test]
async fn the_token_endpoint_limits_failed_attempts() {
    // Shared counts live in fixed windows of WINDOW_SECONDS: start well inside one, so a window
    // that turns mid-test cannot reset them (it made this test fail now and then).
    let window = galleon_core::auth::WINDOW_SECONDS;
    let into = time::OffsetDateTime::now_utc().unix_timestamp().rem_euclid(window);
    if into > window - 15 {
        tokio::time::sleep(std::time::Duration::from_secs((window - into + 1) as u64)).await;
    }
    let app = TestApp::new().await;
    for _ in 0..galleon_core::auth::MAX_FAILURES {
        assert_eq!(app.token_request(&app.client_id, "wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    // Past the limit even the right secret is refused for a while; unknown ids are treated alike.
    let limited = app.token_request(&app.client_id, &app.secret).await;
    assert_eq!(
        (limited.status, limited.body["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("temporarily_unavailable"))
    );
    let unknown = app.token_request("22222222-2222-2222-2222-222222222222", "x").await;
    assert_eq!(unknown.status, StatusCode::TOO_MANY_REQUESTS, "the source address is limited too");
    // The counts are shared through the store: another node (or this one restarted) refuses too.
    let key = std::fs::read(app.dir.path().join("key")).unwrap();
    let sign_in = |core: std::sync::Arc<galleon_core::Core>| {
        let (client_id, secret) = (app.client_id.clone(), app.secret.clone());
        async move {
            let scope = "https://management.azure.com/.default";
            core.issue_token(TENANT, &client_id, &secret, scope, "https://x/t/v2.0", "unknown").await
        }
    };
    let other = core_over(app.dir.path(), &key).await;
    let refused = sign_in(other.clone()).await;
    assert!(
        matches!(refused, Err(galleon_core::CoreError::Unauthenticated(galleon_core::auth::AuthError::RateLimited))),
        "{refused:?}"
    );
    // Once the window has passed the counts are swept (garbage collection does it), and the
    // right secret works again.
    let later = time::OffsetDateTime::now_utc().unix_timestamp() + 2 * galleon_core::auth::WINDOW_SECONDS;
    assert_eq!(other.sweep_token_failures(later).await.unwrap(), 2, "one count per client id and per source");
    assert!(sign_in(core_over(app.dir.path(), &key).await).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotation_publishes_the_new_key_first_and_keeps_old_tokens_working() {
    let mut app = TestApp::new().await;
    let before = app.token.clone();
    async fn jwks(app: &TestApp) -> Vec<String> {
        let r = app.send(Request::get(format!("/{TENANT}/discovery/v2.0/keys")).body(Body::empty()).unwrap()).await;
        r.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_string()).collect()
    }
    assert_eq!(jwks(&app).await.len(), 1);
    let r = app.call(Method::POST, "/galleon/keys/rotate", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let from = r.body["activeFrom"].as_i64().unwrap();
    assert!((now + 55..=now + 65).contains(&from), "signs a minute later: {from} vs {now}");
    let published = jwks(&app).await;
    assert_eq!(published.len(), 2);
    assert_eq!(published[1], r.body["kid"].as_str().unwrap(), "the new key is published before it signs");
    // Until then the old key signs, and tokens it signed keep working.
    assert_eq!(
        app.get(&format!("/subscriptions/{SUB}/resourcegroups?api-version=2021-04-01")).await.status,
        StatusCode::OK
    );
    let fresh = app.token_request(&app.client_id, &app.secret).await;
    let old_key = TokenIssuer::new(&std::fs::read(app.dir.path().join("key")).unwrap()).unwrap();
    assert_eq!(old_key.kids(), published[..1]);
    let at = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(old_key.verify(fresh.body["access_token"].as_str().unwrap(), at).is_ok(), "still signed by the old key");
    // A second rotation before the first takes effect would drop keys in use: refused.
    let again = app.call(Method::POST, "/galleon/keys/rotate", None).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "RotationInProgress"));
    // Only a tenant administrator rotates.
    let p = app.core.create_principal("someone").await.unwrap();
    let token =
        app.token_request(&p.principal.client_id, &p.secret).await.body["access_token"].as_str().unwrap().to_string();
    app.token = token;
    let refused = app.call(Method::POST, "/galleon/keys/rotate", None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    app.token = before;
    assert_eq!(
        app.get(&format!("/subscriptions/{SUB}/resourcegroups?api-version=2021-04-01")).await.status,
        StatusCode::OK
    );
    // A restarted server (another node, in effect) loads the whole set from the store.
    let app = app.restart().await;
    assert_eq!(jwks(&app).await, published);
}

#[tokio::test]
async fn nodes_are_listed_with_whether_they_are_heard_from() {
    use galleon_core::nodes::NodeRecord;
    let app = TestApp::new().await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let node = |id: &str, last_seen: i64| NodeRecord {
        node_id: id.into(),
        endpoint: "https://10.0.0.1:8443".into(),
        version: "0.1.0".into(),
        started_at: now - 600,
        last_seen,
    };
    app.core.record_node(&node("node-1", now)).await.unwrap();
    app.core.record_node(&node("node-2", now - 120)).await.unwrap();
    let r = app.get("/galleon/nodes").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let states: Vec<(&str, &str)> = r.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["nodeId"].as_str().unwrap(), n["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("node-1", "Running"), ("node-2", "Unreachable")]);
    // A node that stops cleanly leaves the list.
    app.core.forget_node("node-2").await.unwrap();
    assert_eq!(app.get("/galleon/nodes").await.body["value"].as_array().unwrap().len(), 1);
}
