//! Every route, in two lists: ARM routes (bearer token required) and public ones (health,
//! cloud metadata, the token issuer). Paths are written with the fixed segments in lowercase;
//! `normalize` rewrites requests to match.

mod access;
mod activity_log;
mod disks;
mod events;
mod explain_latest;
mod galleries;
mod generic;
mod graph;
mod groups;
mod identity;
mod images;
mod managed_images;
mod network;
mod operations;
mod principals;
mod provenance;
mod retention;
mod role_assignments;
mod shared_galleries;
mod soft_deleted;
mod subscriptions;
mod versions;
mod vms;

use axum::Json;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use galleon_api_types::List;
use galleon_core::Page;
use serde::Serialize;

use crate::AppState;
use crate::error::ApiError;

const RG: &str = "/subscriptions/{sub}/resourcegroups/{rg}";
const VMS: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/virtualmachines";
const MANAGED_IMAGES: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/images";
const DISKS: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/disks";
const SNAPSHOTS: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/snapshots";
const GALLERIES: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries";
const GALLERY: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}";
const IMAGES: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}/images";
const IMAGE: &str =
    "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}/images/{image}";
const VERSIONS: &str =
    "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}/images/{image}/versions";
const COMMUNITY: &str = "/subscriptions/{sub}/providers/microsoft.compute/locations/{location}/communitygalleries";
const SHARED: &str = "/subscriptions/{sub}/providers/microsoft.compute/locations/{location}/sharedgalleries";
const VERSION: &str = "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/galleries/{gallery}/images/{image}/versions/{version}";

/// A router that remembers the patterns it was given, so a test can walk every ARM route.
#[derive(Default)]
pub(crate) struct RouteTable {
    router: Router<AppState>,
    patterns: Vec<String>,
}

impl RouteTable {
    fn route(mut self, pattern: &str, methods: axum::routing::MethodRouter<AppState>) -> Self {
        self.patterns.push(pattern.to_string());
        self.router = self.router.route(pattern, methods);
        self
    }

    /// Adds another table's routes (and their patterns, for the authorization walk).
    fn merge(mut self, other: RouteTable) -> Self {
        self.patterns.extend(other.patterns);
        self.router = self.router.merge(other.router);
        self
    }
}

/// Routes that need a bearer token.
pub(crate) fn arm_routes() -> Router<AppState> {
    arm_table().router
}

/// The patterns of every route behind the bearer-token check (for the route-table walk).
pub fn arm_route_patterns() -> Vec<String> {
    arm_table().patterns
}

fn arm_table() -> RouteTable {
    RouteTable::default()
        .route("/subscriptions", get(subscriptions::list))
        .route("/providers", get(generic::tenant_providers))
        .route("/providers/{namespace}", get(generic::tenant_provider))
        .route("/subscriptions/{sub}/providers", get(generic::subscription_providers))
        .route("/subscriptions/{sub}/providers/{namespace}", get(generic::subscription_provider))
        .route("/subscriptions/{sub}/locations", get(generic::locations))
        .route("/subscriptions/{sub}/resources", get(generic::list))
        .route("/subscriptions/{sub}/resourcegroups/{rg}/resources", get(generic::list))
        .route("/tenants", get(subscriptions::tenants))
        .route("/metrics", get(crate::metrics::render))
        .route("/galleon/regions", get(identity::regions))
        .route("/galleon/regions/{region}", get(identity::region))
        .route("/galleon/regions/{region}/scrub", post(identity::scrub).get(identity::scrub_progress))
        .route("/galleon/gc", get(identity::gc_status).post(identity::gc))
        .route("/galleon/keys/rotate", post(identity::rotate_keys))
        .route("/galleon/nodes", get(identity::nodes))
        .route("/galleon/operations/{id}", get(identity::maintenance_operation))
        .route("/galleon/principals", get(principals::list).post(principals::create))
        .route("/galleon/subscriptions", post(principals::create_subscription))
        .route("/galleon/principals/{client_id}", axum::routing::delete(principals::delete))
        .route("/galleon/principals/{client_id}/{action}", post(principals::reset_secret))
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roledefinitions",
            get(role_assignments::role_definitions),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roledefinitions/{id}",
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{RG}/providers/microsoft.authorization/roledefinitions"),
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{GALLERY}/providers/microsoft.authorization/roledefinitions"),
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{IMAGE}/providers/microsoft.authorization/roledefinitions"),
            get(role_assignments::role_definitions),
        )
        // Role assignments at the tenant root (galleon's administrators), subscription, group,
        // gallery and definition scope (list and one).
        .route("/providers/microsoft.authorization/roleassignments", get(role_assignments::get))
        .route(
            "/providers/microsoft.authorization/roleassignments/{name}",
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route("/subscriptions/{sub}/providers/microsoft.authorization/roleassignments", get(role_assignments::get))
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roleassignments/{name}",
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(&format!("{RG}/providers/microsoft.authorization/roleassignments"), get(role_assignments::get))
        .route(
            &format!("{RG}/providers/microsoft.authorization/roleassignments/{{name}}"),
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(&format!("{GALLERY}/providers/microsoft.authorization/roleassignments"), get(role_assignments::get))
        .route(
            &format!("{GALLERY}/providers/microsoft.authorization/roleassignments/{{name}}"),
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(&format!("{IMAGE}/providers/microsoft.authorization/roleassignments"), get(role_assignments::get))
        .route(
            &format!("{IMAGE}/providers/microsoft.authorization/roleassignments/{{name}}"),
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route("/subscriptions/{sub}", get(subscriptions::get))
        .route("/subscriptions/{sub}/resourcegroups", get(groups::list))
        .route(RG, get(groups::get).put(groups::put).delete(groups::delete))
        .route("/subscriptions/{sub}/providers/microsoft.compute/galleries", get(galleries::list))
        .route(GALLERIES, get(galleries::list))
        .route(
            GALLERY,
            get(galleries::get).put(galleries::put_or_patch).patch(galleries::put_or_patch).delete(galleries::delete),
        )
        .route(&format!("{GALLERY}/share"), post(galleries::share))
        .route(
            &format!("{GALLERY}/softdeletedartifacttypes/{{artifact}}/artifacts/{{image}}/versions"),
            get(soft_deleted::list),
        )
        .route(
            &format!("{GALLERY}/softdeletedartifacttypes/{{artifact}}/artifacts/{{image}}/versions/{{version}}"),
            axum::routing::delete(soft_deleted::delete),
        )
        .route(SHARED, get(shared_galleries::list_galleries))
        .route(&format!("{SHARED}/{{gallery}}"), get(shared_galleries::get_gallery))
        .route(&format!("{SHARED}/{{gallery}}/images"), get(shared_galleries::list_images))
        .route(&format!("{SHARED}/{{gallery}}/images/{{image}}"), get(shared_galleries::get_image))
        .route(&format!("{SHARED}/{{gallery}}/images/{{image}}/versions"), get(shared_galleries::list_versions))
        .route(
            &format!("{SHARED}/{{gallery}}/images/{{image}}/versions/{{version}}"),
            get(shared_galleries::get_version),
        )
        .route("/providers/microsoft.resourcegraph/resources", post(shared_galleries::resource_graph))
        .route(&format!("{COMMUNITY}/{{gallery}}"), get(shared_galleries::get_community_gallery))
        .route(&format!("{COMMUNITY}/{{gallery}}/images"), get(shared_galleries::list_community_images))
        .route(&format!("{COMMUNITY}/{{gallery}}/images/{{image}}"), get(shared_galleries::get_community_image))
        .route(
            &format!("{COMMUNITY}/{{gallery}}/images/{{image}}/versions"),
            get(shared_galleries::list_community_versions),
        )
        .route(
            &format!("{COMMUNITY}/{{gallery}}/images/{{image}}/versions/{{version}}"),
            get(shared_galleries::get_community_version),
        )
        .route(IMAGES, get(images::list))
        .route(IMAGE, get(images::get).put(images::put_or_patch).patch(images::put_or_patch).delete(images::delete))
        .route(VERSIONS, get(versions::list))
        .route(&format!("{IMAGE}/explainlatest"), get(explain_latest::explain))
        .merge(event_routes("/subscriptions/{sub}"))
        .merge(event_routes(GALLERY))
        .route(&format!("{VERSION}/provenance"), get(provenance::get))
        .route(&format!("{VERSION}/verify"), post(provenance::verify))
        .route(&format!("{IMAGE}/retentionpolicy"), get(retention::get).put(retention::put).delete(retention::delete))
        .route(&format!("{IMAGE}/retentionpolicy/{{action}}"), post(retention::action))
        .route(
            VERSION,
            get(versions::get).put(versions::put_or_patch).patch(versions::put_or_patch).delete(versions::delete),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.compute/locations/{location}/capsoperations/{id}",
            get(operations::get),
        )
        .route("/subscriptions/{sub}/providers/microsoft.insights/eventtypes/{log}/values", get(activity_log::list))
        .route(VMS, get(vms::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/virtualmachines", get(vms::list))
        .route(&format!("{VMS}/{{name}}"), get(vms::get).put(vms::put).delete(vms::delete))
        .route(&format!("{VMS}/{{name}}/{{action}}"), get(vms::get_instance_view).post(vms::action))
        .route(MANAGED_IMAGES, get(managed_images::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/images", get(managed_images::list))
        .route(
            &format!("{MANAGED_IMAGES}/{{name}}"),
            get(managed_images::get).put(managed_images::put).delete(managed_images::delete),
        )
        .route("/subscriptions/{sub}/providers/microsoft.network/{ty}", get(network::list_by_subscription))
        .route(&format!("{RG}/providers/microsoft.network/{{ty}}"), get(network::list_by_group))
        .route(
            &format!("{RG}/providers/microsoft.network/{{ty}}/{{name}}"),
            get(network::get).put(network::put).delete(network::delete),
        )
        .route(&format!("{RG}/providers/microsoft.resources/deployments"), get(crate::deployments::list))
        .route(&format!("{RG}/providers/microsoft.resources/deployments/"), get(crate::deployments::list))
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}"),
            get(crate::deployments::get).put(crate::deployments::put).delete(crate::deployments::delete),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}/validate"),
            post(crate::deployments::validate),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}/operationstatuses/{{run}}"),
            get(crate::deployments::operation),
        )
        .route(DISKS, get(disks::list))
        .route(SNAPSHOTS, get(disks::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/disks", get(disks::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/snapshots", get(disks::list))
        .route(&format!("{DISKS}/{{name}}"), get(disks::get).put(disks::put).delete(disks::delete))
        .route(&format!("{SNAPSHOTS}/{{name}}"), get(disks::get).put(disks::put).delete(disks::delete))
        .route(&format!("{DISKS}/{{name}}/begingetaccess"), post(disks::begin_get_access))
        .route(&format!("{SNAPSHOTS}/{{name}}/begingetaccess"), post(disks::begin_get_access))
        .route(&format!("{DISKS}/{{name}}/endgetaccess"), post(disks::end_get_access))
        .route(&format!("{SNAPSHOTS}/{{name}}/endgetaccess"), post(disks::end_get_access))
}

/// The Graph lookups `az role assignment create --assignee` makes (they check their own token).
fn graph_routes() -> Router<AppState> {
    Router::new()
        .route("/v1.0/servicePrincipals", get(graph::service_principals))
        .route("/v1.0/servicePrincipals/{id}", get(graph::service_principal))
        .route("/v1.0/directoryObjects/getByIds", post(graph::get_by_ids))
        .route("/v1.0/users", get(graph::none))
        .route("/v1.0/groups", get(graph::none))
}

/// Event subscriptions under a scope (a subscription or a gallery).
fn event_routes(scope: &str) -> RouteTable {
    let base = format!("{scope}/providers/galleon.events/eventsubscriptions");
    RouteTable::default()
        .route(&base, get(events::list))
        .route(&format!("{base}/{{name}}"), get(events::get).put(events::put).delete(events::delete))
        .route(&format!("{base}/{{name}}/test"), post(events::test))
        .route(&format!("{base}/{{name}}/deadletters"), get(events::dead_letters))
}

/// Routes open without a token.
pub(crate) fn public_routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(identity::healthz))
        .route("/readyz", get(identity::readyz))
        // Graph at `{base}/graph/` (the advertised `microsoftGraphResourceId`) and, for clouds
        // registered before it moved there, at the root.
        .nest(galleon_core::auth::GRAPH_PATH, graph_routes())
        .merge(graph_routes())
        .route("/metadata/endpoints", get(identity::metadata_endpoints))
        .route("/{tenant}/v2.0/.well-known/openid-configuration", get(identity::openid_configuration))
        .route("/{tenant}/.well-known/openid-configuration", get(identity::openid_configuration))
        .route("/{tenant}/oauth2/v2.0/token", post(identity::token))
        .route("/{tenant}/discovery/v2.0/keys", get(identity::jwks))
        .route("/.well-known/galleon/provenance-keys", get(provenance::keys))
        .route(
            "/access/{key}/{blob}",
            // Page writes carry up to 4 MiB, Azure's limit for one `PUT ?comp=page`.
            get(access::serve)
                .head(access::serve)
                .put(access::serve)
                .layer(DefaultBodyLimit::max(galleon_core::access::MAX_PAGE_WRITE)),
        )
}

/// Unknown routes.
pub(crate) async fn not_found(uri: Uri, sent: Option<axum::Extension<crate::SentPath>>) -> ApiError {
    let path = sent.map_or_else(|| uri.path().to_string(), |s| s.0.0);
    unserved(&path)
}

/// What ARM answers for a path no route serves: the resource type (or namespace) it names.
fn unserved(path: &str) -> ApiError {
    let lower = path.to_ascii_lowercase();
    let Some(at) = lower.rfind("/providers/") else {
        return ApiError::new(StatusCode::NOT_FOUND, "NotFound", format!("The requested path '{path}' was not found."));
    };
    let mut segments = path[at + "/providers/".len()..].split('/').filter(|s| !s.is_empty());
    let namespace = segments.next().unwrap_or_default();
    let types: Vec<&str> = segments.step_by(2).collect();
    let served = ["microsoft.compute", "microsoft.network", "microsoft.resources", "microsoft.authorization"];
    if !served.contains(&namespace.to_ascii_lowercase().as_str()) {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "InvalidResourceNamespace",
            format!("The resource namespace '{namespace}' is invalid."),
        );
    }
    ApiError::new(
        StatusCode::NOT_FOUND,
        "InvalidResourceType",
        format!("The resource type '{}' could not be found in the namespace '{namespace}'.", types.join("/")),
    )
}

/// Known routes, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "MethodNotAllowed",
        "The requested method is not allowed for this resource.",
    )
}

/// A list page as `{"value": [...], "nextLink": ...}`; the next link repeats the request with `$skiptoken`.
pub(crate) fn list_response<T, W: Serialize>(
    base: &str,
    uri: &Uri,
    page: Page<T>,
    to_wire: impl Fn(&T) -> W,
) -> Response {
    let next_link = page.next.map(|after| {
        let kept: Vec<(String, String)> =
            serde_urlencoded::from_str::<Vec<(String, String)>>(uri.query().unwrap_or_default())
                .unwrap_or_default()
                .into_iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("$skiptoken"))
                .chain(std::iter::once(("$skiptoken".to_string(), crate::skiptoken::encode(&after))))
                .collect();
        format!("{base}{}?{}", uri.path(), serde_urlencoded::to_string(kept).unwrap_or_default())
    });
    Json(List { value: page.items.iter().map(to_wire).collect(), next_link }).into_response()
}
