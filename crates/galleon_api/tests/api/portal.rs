//! The portal over HTTP: sessions, CSRF, escaping, and that it can do no more than ARM lets
//! its user do. (Its flows in a real browser are in `tests/portal`.)

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::json;

use super::support::*;

/// A signed-in browser: its cookie and the CSRF token its pages carry.
struct Browser<'a> {
    app: &'a TestApp,
    cookie: String,
}

impl<'a> Browser<'a> {
    async fn sign_in(app: &'a TestApp, client_id: &str, secret: &str) -> Self {
        let (status, headers, _) = app
            .send_raw(
                Request::post("/portal/signin")
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(Body::from(format!(
                        "client_id={client_id}&client_secret={}&next=/portal/galleries",
                        urlencode(secret)
                    )))
                    .unwrap(),
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let set = headers["set-cookie"].to_str().unwrap().to_string();
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/portal"] {
            assert!(set.contains(attr), "{set}");
        }
        Self { app, cookie: set.split(';').next().unwrap().to_string() }
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let req = Request::get(path).header("cookie", &self.cookie).body(Body::empty()).unwrap();
        let (status, _, body) = self.app.send_raw(req).await;
        (status, String::from_utf8(body).unwrap())
    }

    async fn csrf(&self) -> String {
        let (_, page) = self.get("/portal/galleries").await;
        let start = page.find("name=\"csrf-token\" content=\"").expect("csrf meta") + 27;
        page[start..start + 64].to_string()
    }

    async fn post(&self, path: &str, form: &str, origin: Option<&str>) -> (StatusCode, String) {
        let mut req = Request::post(path)
            .header("cookie", &self.cookie)
            .header("host", "127.0.0.1:8443")
            .header("content-type", "application/x-www-form-urlencoded");
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        let (status, headers, body) = self.app.send_raw(req.body(Body::from(form.to_string())).unwrap()).await;
        let location = headers.get("location").map(|l| l.to_str().unwrap().to_string());
        (status, location.unwrap_or_else(|| String::from_utf8(body).unwrap()))
    }
}

#[tokio::test]
async fn pages_need_a_session_and_a_wrong_secret_opens_none() {
    let app = TestApp::new().await;
    let (status, headers, _) = app.send_raw(Request::get("/portal/galleries?q=x").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers["location"], "/portal/signin?next=/portal/galleries%3Fq%3Dx");
    let (status, headers, body) = app
        .send_raw(
            Request::post("/portal/signin")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(format!("client_id={}&client_secret=wrong", app.client_id)))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(headers.get("set-cookie").is_none());
    assert!(String::from_utf8(body).unwrap().contains("not valid"));
}

#[tokio::test]
async fn forms_need_the_session_csrf_token_and_this_origin() {
    let app = TestApp::new().await;
    let browser = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    let csrf = browser.csrf().await;
    let form = format!("subscription={SUB}&group=rg1&name=g1&location=eastus&description=");
    let gallery = format!("{}?{COMPUTE}", gallery_path("rg1", "g1"));

    let (status, _) = browser.post("/portal/create/gallery", &form, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no token");
    // One character changed (never to itself: a token starting with '0' made this test pass 15 times in 16).
    let first = if csrf.starts_with('0') { '1' } else { '0' };
    let (status, _) = browser.post("/portal/create/gallery", &format!("{form}&csrf={first}{}", &csrf[1..]), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "wrong token");
    let (status, _) =
        browser.post("/portal/create/gallery", &format!("{form}&csrf={csrf}"), Some("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "another origin");
    assert_eq!(app.get(&gallery).await.status, StatusCode::NOT_FOUND, "nothing was created");

    let (status, location) =
        browser.post("/portal/create/gallery", &format!("{form}&csrf={csrf}"), Some("https://127.0.0.1:8443")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(location.ends_with("/galleries/g1"), "{location}");
    assert_eq!(app.get(&gallery).await.status, StatusCode::OK);
    // The create form only creates: the same name again is refused on its field.
    let (status, page) = browser.post("/portal/create/gallery", &format!("{form}&csrf={csrf}"), None).await;
    assert_eq!(status, StatusCode::OK);
    let field = page.find("id=\"name-error\"").expect("the name field's error");
    assert!(page[field..field + 120].contains("already exists"), "{}", &page[field..field + 120]);

    // Signing out ends the session: the cookie opens nothing any more.
    let (status, _) = browser.post("/portal/signout", &format!("csrf={csrf}"), None).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(browser.get("/portal/galleries").await.0, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn user_text_is_escaped() {
    let app = TestApp::new().await;
    app.put(&format!("/subscriptions/{SUB}/resourcegroups/rg1?{RES}"), json!({ "location": "eastus" })).await;
    let g = gallery_path("rg1", "g1");
    let r = app
        .put(
            &format!("{g}?{COMPUTE}"),
            json!({ "location": "eastus", "properties": { "description": "<script>alert(1)</script>\"'" } }),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    let browser = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    for path in [format!("/portal/r{g}"), "/portal/galleries?q=%3Cscript%3E".to_string()] {
        let (status, page) = browser.get(&path).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!page.contains("<script>alert"), "{page}");
    }
    let (_, page) = browser.get(&format!("/portal/r{g}")).await;
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;'"), "{page}");
}

#[tokio::test]
async fn a_reader_sees_a_shared_gallery_and_cannot_change_it() {
    let app = TestApp::new().await;
    let (g, i) = app.seed_definition("rg1", "g1", "def1").await;
    let reader = app.core.create_principal("reader").await.unwrap();
    let body = json!({ "properties": {
        "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        "principalId": reader.principal.object_id } });
    let r = app
        .put(&format!("{g}/providers/Microsoft.Authorization/roleAssignments/77777777-0000-0000-0000-000000000001?api-version=2022-04-01"), body)
        .await;
    assert!(r.status.is_success(), "{}", r.body);

    let browser = Browser::sign_in(&app, &reader.principal.client_id, &reader.secret).await;
    let (status, page) = browser.get(&format!("/portal/r{g}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("def1"), "the reader sees the gallery's definitions");
    let csrf = browser.csrf().await;
    let form = format!(
        "csrf={csrf}&location=westcentralus&name=def2&osType=Linux&osState=Generalized&hyperVGeneration=V1&publisher=p&offer=o&sku=s"
    );
    let (status, page) =
        browser.post(&format!("/portal/create/definition?gallery={}", urlencode(&g)), &form, None).await;
    assert_eq!(status, StatusCode::OK, "the form comes back");
    assert!(page.contains("AuthorizationFailed"), "{page}");
    assert_eq!(app.get(&format!("{g}/images/def2?{COMPUTE}")).await.status, StatusCode::NOT_FOUND);
    let (_, page) =
        browser.post(&format!("/portal/delete?id={}", urlencode(&i)), &format!("csrf={csrf}&confirm=def1"), None).await;
    assert!(page.contains("AuthorizationFailed"), "{page}");
    assert_eq!(app.get(&format!("{i}?{COMPUTE}")).await.status, StatusCode::OK);

    // The refusals are in the activity log, under the reader's name, and the gallery's page shows
    // its activity (the definition written by the owner) to the reader.
    let since = galleon_api_types::dates::format(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
    let filter = format!("eventTimestamp ge '{since}' and status eq 'Failed'");
    let log = app
        .get(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Insights/eventtypes/management/values?api-version=2015-04-01&$filter={}",
            urlencode(&filter)
        ))
        .await;
    let refused: Vec<_> = log.body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["operationName"]["value"].as_str().unwrap(),
                e["subStatus"]["value"].as_str().unwrap(),
                e["caller"].as_str().unwrap(),
            )
        })
        .collect();
    let who = reader.principal.client_id.as_str();
    assert!(refused.contains(&("Microsoft.Compute/galleries/images/write", "Forbidden", who)), "{refused:?}");
    assert!(refused.contains(&("Microsoft.Compute/galleries/images/delete", "Forbidden", who)), "{refused:?}");
    let (_, page) = browser.get(&format!("/portal/r{g}")).await;
    assert!(page.contains("Activity log") && page.contains("Microsoft.Compute/galleries/images/write"), "{page}");
}

#[tokio::test]
async fn arm_validation_errors_come_back_on_their_field_and_change_nothing() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg1", "g1", "def1").await;
    let browser = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    let csrf = browser.csrf().await;
    let form = format!(
        "csrf={csrf}&location=westcentralus&name=def2&osType=Linux&osState=Generalized&hyperVGeneration=V1&publisher=p&offer=o&sku=s&endOfLifeDate=2001-01-01"
    );
    let (status, page) =
        browser.post(&format!("/portal/create/definition?gallery={}", urlencode(&g)), &form, None).await;
    assert_eq!(status, StatusCode::OK);
    let field = page.find("id=\"endOfLifeDate-error\"").expect("the field's error element");
    assert!(page[field..field + 200].contains("future date"), "{}", &page[field..field + 200]);
    assert!(page.contains("value=\"def2\""), "the form keeps what was typed");
    assert_eq!(app.get(&format!("{g}/images/def2?{COMPUTE}")).await.status, StatusCode::NOT_FOUND);
}

/// Names typed into the portal are checked by the model before they become a path: a query,
/// a fragment or a space in a name is refused on its field and creates nothing.
#[tokio::test]
async fn typed_names_never_reach_a_path_unchecked() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg1", "g1", "def1").await;
    let browser = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    let csrf = browser.csrf().await;
    for name in ["myImage?api-version=2024-03-03&x=", "my image", "my#image", "a/../../x"] {
        let form = format!(
            "csrf={csrf}&location=westcentralus&name={}&osType=Linux&osState=Generalized&hyperVGeneration=V1&publisher=p&offer=o&sku={}",
            urlencode(name),
            urlencode(name)
        );
        let (status, page) =
            browser.post(&format!("/portal/create/definition?gallery={}", urlencode(&g)), &form, None).await;
        assert_eq!(status, StatusCode::OK, "{name}");
        let field = page.find("id=\"name-error\"").unwrap_or_else(|| panic!("{name}: the name field's error"));
        assert!(page[field..field + 300].contains("InvalidResourceName"), "{name}: {}", &page[field..field + 300]);
    }
    let list = app.get(&format!("{g}/images?{COMPUTE}")).await;
    assert_eq!(list.body["value"].as_array().unwrap().len(), 1, "only def1: {}", list.body);
    // A version name with a query in it, and a parent id that is not one galleon made.
    let version = format!("csrf={csrf}&location=westcentralus&name={}", urlencode("1.0.0?x=1"));
    let (status, page) = browser
        .post(&format!("/portal/create/version?definition={}", urlencode(&format!("{g}/images/def1"))), &version, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Major(int).Minor(int).Patch(int)"), "the model's message");
    let (status, _) = browser
        .post(
            &format!("/portal/create/definition?gallery={}", urlencode(&format!("{g}?api-version=1"))),
            "csrf=x&name=ok",
            None,
        )
        .await;
    assert_ne!(status, StatusCode::SEE_OTHER);
}

/// A principal whose only role is Reader on one gallery sees that gallery: on the galleries
/// blade, and in ARM's subscription list (filtered to what it may read, as ARM filters).
#[tokio::test]
async fn a_gallery_reader_sees_its_gallery_and_no_other() {
    let mut app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg1", "shared", "def1").await;
    app.put(
        &format!("{}?{COMPUTE}", gallery_path("rg1", "private")),
        serde_json::json!({ "location": "westcentralus" }),
    )
    .await;
    app.settle().await;
    let reader = app.core.create_principal("reader").await.unwrap();
    let body = serde_json::json!({ "properties": { "roleDefinitionId": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7"),
        "principalId": reader.principal.object_id, "principalType": "ServicePrincipal" } });
    let r = app
        .put(&format!("{g}/providers/Microsoft.Authorization/roleAssignments/33333333-0000-0000-0000-000000000001?api-version=2022-04-01"), body)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);

    let browser = Browser::sign_in(&app, &reader.principal.client_id, &reader.secret).await;
    let (status, page) = browser.get("/portal/galleries").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(">shared<"), "the shared gallery is listed: {page}");
    assert!(!page.contains(">private<") && !page.contains("AuthorizationFailed"), "{page}");

    let token = app.token_request(&reader.principal.client_id, &reader.secret).await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    app.token = token;
    let list = app.get(&format!("/subscriptions/{SUB}/providers/Microsoft.Compute/galleries?{COMPUTE}")).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    let names: Vec<&str> = list.body["value"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shared"]);
    let group = app
        .get(&format!("/subscriptions/{SUB}/resourceGroups/rg1/providers/Microsoft.Compute/galleries?{COMPUTE}"))
        .await;
    assert_eq!(group.body["value"].as_array().unwrap().len(), 1, "{}", group.body);
    // A collection with nothing readable under it stays refused.
    let other = app.get(&format!("/subscriptions/{SUB}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/disks?api-version=2025-01-02")).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.body);
}

/// The Sharing page changes sharing through ARM (with the user's token), shows who it is shared
/// with, and the other subscription's owner finds the gallery under "Shared with me".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sharing_page_shares_a_gallery_and_shared_with_me_lists_it() {
    let app = TestApp::new().await;
    let (g, _) = app.seed_definition("rg1", "g1", "def1").await;
    let owner = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    let (status, page) = owner.get(&format!("/portal/sharing?id={}", urlencode(&g))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sharing method") && page.contains("value=\"Private\" checked"), "{page}");
    let csrf = owner.csrf().await;
    let at = format!("/portal/sharing?id={}", urlencode(&g));
    let (status, page) = owner.post(&at, &format!("csrf={csrf}&op=permissions&permissions=Groups"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Sharing method saved.") && page.contains("value=\"Groups\" checked"), "{page}");
    app.settle().await;
    // The other team's subscription, where the owner (tenant admin) acts too.
    let created =
        app.call(axum::http::Method::POST, "/galleon/subscriptions", Some(json!({ "displayName": "b" }))).await;
    let other = created.body["subscriptionId"].as_str().unwrap().to_string();
    app.settle().await;
    let (_, page) = owner.post(&at, &format!("csrf={csrf}&op=add&kind=Subscriptions&target={other}"), None).await;
    assert!(page.contains("Shared.") && page.contains(&other), "{page}");
    let (_, page) = owner.post(&at, &format!("csrf={csrf}&op=add&kind=Subscriptions&target=not-a-guid"), None).await;
    assert!(page.contains("InvalidParameter"), "ARM's refusal is shown: {page}");
    let (_, mine) = owner.get("/portal/shared").await;
    assert!(mine.contains(&format!("{SUB}-G1")), "{mine}");
    let (_, page) = owner.post(&at, &format!("csrf={csrf}&op=remove&kind=Subscriptions&target={other}"), None).await;
    assert!(page.contains("Removed.") && !page.contains(&format!("<code>{other}</code>")), "{page}");
    let (_, mine) = owner.get("/portal/shared").await;
    assert!(mine.contains("Nothing is shared with you."), "{mine}");
    // Community: saved with its information, published, public name shown.
    let form = format!(
        "csrf={csrf}&op=permissions&permissions=Community&publisherUri=https%3A%2F%2Fx.org&publisherContact=a%40x.org&eula=e&publicNamePrefix=pub"
    );
    let (_, page) = owner.post(&at, &form, None).await;
    assert!(page.contains("pub-") && page.contains("Publish to the community"), "{page}");
    app.settle().await;
    let (_, page) = owner.post(&at, &format!("csrf={csrf}&op=enable-community"), None).await;
    assert!(page.contains("Published to the community.") && !page.contains("Publish to the community<"), "{page}");
    let (_, mine) = owner.get("/portal/shared").await;
    assert!(mine.contains("id=\"community\"") && mine.contains("a@x.org"), "{mine}");
    let (_, page) = owner.post(&at, &format!("csrf={csrf}&op=reset"), None).await;
    assert!(page.contains("value=\"Private\" checked"), "{page}");
}

/// A definition's page shows `latest` in every region its versions target, and why the other
/// versions are not it (galleon's explainLatest).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_definition_page_explains_latest_in_each_region() {
    let app = TestApp::new().await;
    let (_, i) = app.seed_definition("rg", "gal", "img").await;
    app.put(&format!("{i}/versions/1.0.0?{COMPUTE}"), seed_version_body()).await;
    app.settle().await;
    let mut excluded = seed_version_body();
    excluded["properties"]["publishingProfile"]["excludeFromLatest"] = json!(true);
    app.put(&format!("{i}/versions/2.0.0?{COMPUTE}"), excluded).await;
    app.settle().await;
    let browser = Browser::sign_in(&app, &app.client_id, &app.secret).await;
    let (status, page) = browser.get(&format!("/portal/r{i}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Latest by region"), "{page}");
    assert!(page.contains("<td>East US</td><td>1.0.0</td>"), "{page}");
    assert!(page.contains("2.0.0: excluded from latest"), "{page}");
    assert!(!page.contains("Retention policy"), "no policy, no section");
    // With a retention policy, the page shows it and what it would do now.
    app.put(&format!("{i}/retentionPolicy?{COMPUTE}"), json!({ "keepLatest": 1 })).await;
    let (_, page) = browser.get(&format!("/portal/r{i}")).await;
    assert!(page.contains("Keep the newest 1 versions."), "{page}");
    // 1.0.0 is past the newest 1, but it is latest (2.0.0 is excluded) and its source disk
    // holds its content: kept, and the page says why.
    assert!(page.contains("<td>2.0.0</td><td>Kept</td><td>among the newest 1</td>"), "{page}");
    // A version's page shows its signed provenance.
    let (_, version_page) = browser.get(&format!("/portal/r{i}/versions/1.0.0")).await;
    assert!(
        version_page.contains("Signed provenance") && version_page.contains("Signed by gallery key"),
        "{version_page}"
    );
    assert!(version_page.contains("<pre><code>eyJ"), "the JWS: {version_page}");
    // A gallery's page lists its event subscriptions (never their secrets).
    let g = i.rsplit_once("/images/").unwrap().0;
    let hook = json!({ "properties": { "destination": { "endpointUrl": "https://hooks.example.org/g" },
        "secret": "a-secret-of-some-length" } });
    let r = app.put(&format!("{g}/providers/Galleon.Events/eventSubscriptions/hooks?{COMPUTE}"), hook).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let (_, gallery_page) = browser.get(&format!("/portal/r{g}")).await;
    assert!(gallery_page.contains("<td>hooks</td><td>https://hooks.example.org/g</td><td>all</td>"), "{gallery_page}");
    assert!(!gallery_page.contains("a-secret-of-some-length"));
    assert!(page.contains("<td>1.0.0</td><td>Kept</td><td>disks hold its content: myResourceGroup/src; it is latest in West Central US"), "{page}");
}
