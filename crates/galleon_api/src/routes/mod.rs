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

use std::sync::Arc;

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
use crate::auth::{Need, Needs};
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

/// A router that remembers, for each pattern it was given, what its caller needs
/// ([`Need`]): the authorization middleware enforces exactly that, and a test walks the table.
#[derive(Default)]
pub(crate) struct RouteTable {
    router: Router<AppState>,
    needs: Vec<(String, Need)>,
}

impl RouteTable {
    /// A route and what it needs: a route cannot be added without saying.
    fn route(mut self, pattern: &str, need: Need, methods: axum::routing::MethodRouter<AppState>) -> Self {
        self.needs.push((pattern.to_string(), need));
        self.router = self.router.route(pattern, methods);
        self
    }

    /// Adds another table's routes (and their needs).
    fn merge(mut self, other: RouteTable) -> Self {
        self.needs.extend(other.needs);
        self.router = self.router.merge(other.router);
        self
    }
}

/// Routes that need a bearer token, and what each needs beyond it (by route pattern).
pub(crate) fn arm_routes() -> (Router<AppState>, Needs) {
    let table = arm_table();
    (table.router, Arc::new(table.needs.into_iter().collect()))
}

/// Every route behind the bearer-token check with what it declares it needs (for the
/// route-table walk).
pub fn arm_route_needs() -> Vec<(String, Need)> {
    arm_table().needs
}

fn arm_table() -> RouteTable {
    RouteTable::default()
        .route("/subscriptions", Need::SignedIn, get(subscriptions::list))
        .route("/providers", Need::SignedIn, get(generic::tenant_providers))
        .route("/providers/{namespace}", Need::SignedIn, get(generic::tenant_provider))
        .route("/subscriptions/{sub}/providers", Need::Member, get(generic::subscription_providers))
        .route("/subscriptions/{sub}/providers/{namespace}", Need::Member, get(generic::subscription_provider))
        .route("/subscriptions/{sub}/locations", Need::Member, get(generic::locations))
        .route("/subscriptions/{sub}/resources", Need::Collection, get(generic::list))
        .route("/subscriptions/{sub}/resourcegroups/{rg}/resources", Need::Collection, get(generic::list))
        .route("/tenants", Need::SignedIn, get(subscriptions::tenants))
        .route("/metrics", Need::Admin, get(crate::metrics::render))
        .route("/galleon/regions", Need::Admin, get(identity::regions))
        .route("/galleon/regions/{region}", Need::Admin, get(identity::region))
        .route("/galleon/regions/{region}/scrub", Need::Admin, post(identity::scrub).get(identity::scrub_progress))
        .route("/galleon/gc", Need::Admin, get(identity::gc_status).post(identity::gc))
        .route("/galleon/keys/rotate", Need::Admin, post(identity::rotate_keys))
        .route("/galleon/nodes", Need::Admin, get(identity::nodes))
        .route("/galleon/operations/{id}", Need::Admin, get(identity::maintenance_operation))
        .route("/galleon/principals", Need::Admin, get(principals::list).post(principals::create))
        .route("/galleon/subscriptions", Need::Admin, post(principals::create_subscription))
        .route("/galleon/principals/{client_id}", Need::Admin, axum::routing::delete(principals::delete))
        .route("/galleon/principals/{client_id}/{action}", Need::Admin, post(principals::reset_secret))
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roledefinitions",
            Need::RoleAssignments,
            get(role_assignments::role_definitions),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roledefinitions/{id}",
            Need::RoleAssignments,
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{RG}/providers/microsoft.authorization/roledefinitions"),
            Need::RoleAssignments,
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{GALLERY}/providers/microsoft.authorization/roledefinitions"),
            Need::RoleAssignments,
            get(role_assignments::role_definitions),
        )
        .route(
            &format!("{IMAGE}/providers/microsoft.authorization/roledefinitions"),
            Need::RoleAssignments,
            get(role_assignments::role_definitions),
        )
        // Role assignments at the tenant root (galleon's administrators), subscription, group,
        // gallery and definition scope (list and one).
        .route("/providers/microsoft.authorization/roleassignments", Need::RoleAssignments, get(role_assignments::get))
        .route(
            "/providers/microsoft.authorization/roleassignments/{name}",
            Need::RoleAssignments,
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roleassignments",
            Need::RoleAssignments,
            get(role_assignments::get),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.authorization/roleassignments/{name}",
            Need::RoleAssignments,
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(
            &format!("{RG}/providers/microsoft.authorization/roleassignments"),
            Need::RoleAssignments,
            get(role_assignments::get),
        )
        .route(
            &format!("{RG}/providers/microsoft.authorization/roleassignments/{{name}}"),
            Need::RoleAssignments,
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(
            &format!("{GALLERY}/providers/microsoft.authorization/roleassignments"),
            Need::RoleAssignments,
            get(role_assignments::get),
        )
        .route(
            &format!("{GALLERY}/providers/microsoft.authorization/roleassignments/{{name}}"),
            Need::RoleAssignments,
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route(
            &format!("{IMAGE}/providers/microsoft.authorization/roleassignments"),
            Need::RoleAssignments,
            get(role_assignments::get),
        )
        .route(
            &format!("{IMAGE}/providers/microsoft.authorization/roleassignments/{{name}}"),
            Need::RoleAssignments,
            get(role_assignments::get).put(role_assignments::put).delete(role_assignments::delete),
        )
        .route("/subscriptions/{sub}", Need::Member, get(subscriptions::get))
        .route("/subscriptions/{sub}/resourcegroups", Need::Collection, get(groups::list))
        .route(RG, Need::Resource, get(groups::get).put(groups::put).delete(groups::delete))
        .route("/subscriptions/{sub}/providers/microsoft.compute/galleries", Need::Collection, get(galleries::list))
        .route(GALLERIES, Need::Collection, get(galleries::list))
        .route(
            GALLERY,
            Need::Resource,
            get(galleries::get).put(galleries::put_or_patch).patch(galleries::put_or_patch).delete(galleries::delete),
        )
        .route(&format!("{GALLERY}/share"), Need::Resource, post(galleries::share))
        .route(
            &format!("{GALLERY}/softdeletedartifacttypes/{{artifact}}/artifacts/{{image}}/versions"),
            Need::Collection,
            get(soft_deleted::list),
        )
        .route(
            &format!("{GALLERY}/softdeletedartifacttypes/{{artifact}}/artifacts/{{image}}/versions/{{version}}"),
            Need::Resource,
            axum::routing::delete(soft_deleted::delete),
        )
        .route(SHARED, Need::Collection, get(shared_galleries::list_galleries))
        .route(&format!("{SHARED}/{{gallery}}"), Need::Resource, get(shared_galleries::get_gallery))
        .route(&format!("{SHARED}/{{gallery}}/images"), Need::Collection, get(shared_galleries::list_images))
        .route(&format!("{SHARED}/{{gallery}}/images/{{image}}"), Need::Resource, get(shared_galleries::get_image))
        .route(
            &format!("{SHARED}/{{gallery}}/images/{{image}}/versions"),
            Need::Collection,
            get(shared_galleries::list_versions),
        )
        .route(
            &format!("{SHARED}/{{gallery}}/images/{{image}}/versions/{{version}}"),
            Need::Resource,
            get(shared_galleries::get_version),
        )
        .route("/providers/microsoft.resourcegraph/resources", Need::SignedIn, post(shared_galleries::resource_graph))
        .route(&format!("{COMMUNITY}/{{gallery}}"), Need::SignedIn, get(shared_galleries::get_community_gallery))
        .route(&format!("{COMMUNITY}/{{gallery}}/images"), Need::SignedIn, get(shared_galleries::list_community_images))
        .route(
            &format!("{COMMUNITY}/{{gallery}}/images/{{image}}"),
            Need::SignedIn,
            get(shared_galleries::get_community_image),
        )
        .route(
            &format!("{COMMUNITY}/{{gallery}}/images/{{image}}/versions"),
            Need::SignedIn,
            get(shared_galleries::list_community_versions),
        )
        .route(
            &format!("{COMMUNITY}/{{gallery}}/images/{{image}}/versions/{{version}}"),
            Need::SignedIn,
            get(shared_galleries::get_community_version),
        )
        .route(IMAGES, Need::Collection, get(images::list))
        .route(
            IMAGE,
            Need::Resource,
            get(images::get).put(images::put_or_patch).patch(images::put_or_patch).delete(images::delete),
        )
        .route(VERSIONS, Need::Collection, get(versions::list))
        .route(&format!("{IMAGE}/explainlatest"), Need::Resource, get(explain_latest::explain))
        .merge(event_routes("/subscriptions/{sub}"))
        .merge(event_routes(GALLERY))
        .route(&format!("{VERSION}/provenance"), Need::Resource, get(provenance::get))
        .route(&format!("{VERSION}/verify"), Need::Resource, post(provenance::verify))
        .route(
            &format!("{IMAGE}/retentionpolicy"),
            Need::Resource,
            get(retention::get).put(retention::put).delete(retention::delete),
        )
        .route(&format!("{IMAGE}/retentionpolicy/{{action}}"), Need::Resource, post(retention::action))
        .route(
            VERSION,
            Need::Resource,
            get(versions::get).put(versions::put_or_patch).patch(versions::put_or_patch).delete(versions::delete),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.compute/locations/{location}/capsoperations/{id}",
            Need::Member,
            get(operations::get),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.insights/eventtypes/{log}/values",
            Need::Member,
            get(activity_log::list),
        )
        .route(VMS, Need::Collection, get(vms::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/virtualmachines", Need::Collection, get(vms::list))
        .route(&format!("{VMS}/{{name}}"), Need::Resource, get(vms::get).put(vms::put).delete(vms::delete))
        .route(&format!("{VMS}/{{name}}/{{action}}"), Need::Resource, get(vms::get_instance_view).post(vms::action))
        .route(MANAGED_IMAGES, Need::Collection, get(managed_images::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/images", Need::Collection, get(managed_images::list))
        .route(
            &format!("{MANAGED_IMAGES}/{{name}}"),
            Need::Resource,
            get(managed_images::get).put(managed_images::put).delete(managed_images::delete),
        )
        .route(
            "/subscriptions/{sub}/providers/microsoft.network/{ty}",
            Need::Collection,
            get(network::list_by_subscription),
        )
        .route(&format!("{RG}/providers/microsoft.network/{{ty}}"), Need::Collection, get(network::list_by_group))
        .route(
            &format!("{RG}/providers/microsoft.network/{{ty}}/{{name}}"),
            Need::Resource,
            get(network::get).put(network::put).delete(network::delete),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments"),
            Need::Collection,
            get(crate::deployments::list),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/"),
            Need::Collection,
            get(crate::deployments::list),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}"),
            Need::Resource,
            get(crate::deployments::get).put(crate::deployments::put).delete(crate::deployments::delete),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}/validate"),
            Need::Resource,
            post(crate::deployments::validate),
        )
        .route(
            &format!("{RG}/providers/microsoft.resources/deployments/{{name}}/operationstatuses/{{run}}"),
            Need::Resource,
            get(crate::deployments::operation),
        )
        .route(DISKS, Need::Collection, get(disks::list))
        .route(SNAPSHOTS, Need::Collection, get(disks::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/disks", Need::Collection, get(disks::list))
        .route("/subscriptions/{sub}/providers/microsoft.compute/snapshots", Need::Collection, get(disks::list))
        .route(&format!("{DISKS}/{{name}}"), Need::Resource, get(disks::get).put(disks::put).delete(disks::delete))
        .route(&format!("{SNAPSHOTS}/{{name}}"), Need::Resource, get(disks::get).put(disks::put).delete(disks::delete))
        .route(&format!("{DISKS}/{{name}}/begingetaccess"), Need::Resource, post(disks::begin_get_access))
        .route(&format!("{SNAPSHOTS}/{{name}}/begingetaccess"), Need::Resource, post(disks::begin_get_access))
        .route(&format!("{DISKS}/{{name}}/endgetaccess"), Need::Resource, post(disks::end_get_access))
        .route(&format!("{SNAPSHOTS}/{{name}}/endgetaccess"), Need::Resource, post(disks::end_get_access))
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
        .route(&base, Need::Collection, get(events::list))
        .route(&format!("{base}/{{name}}"), Need::Resource, get(events::get).put(events::put).delete(events::delete))
        .route(&format!("{base}/{{name}}/test"), Need::Resource, post(events::test))
        .route(&format!("{base}/{{name}}/deadletters"), Need::Resource, get(events::dead_letters))
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
