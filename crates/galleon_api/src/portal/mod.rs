//! The web portal at `/portal`: server-rendered pages that follow the Azure portal's flows for
//! galleries, image definitions and versions. Every read and write goes through [`arm::Arm`]
//! (galleon_client over the ARM router itself), with the signed-in principal's token: one set of
//! validation rules, one authorization, one source of truth. The only script is the project's own
//! `assets/portal.js` (tabs, review step, region rows, progress polling, browser upload).

mod activity;
mod arm;
mod assets;
mod browse;
mod create_definition;
mod create_gallery;
mod create_version;
mod delete;
mod forms;
mod html;
mod paths;
mod region_rows;
mod session;
mod sharing;
mod signin;
mod update_version;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};
use galleon_core::Core;

/// What portal handlers share.
#[derive(Clone)]
pub(crate) struct PortalState {
    pub core: Arc<Core>,
    /// The ARM application (normalisation is applied per call by [`crate::inproc`]).
    pub arm: Router,
    pub public_url: Option<String>,
    pub scheme: &'static str,
}

impl PortalState {
    /// ARM on behalf of a signed-in request.
    pub(crate) fn arm(&self, signed: &session::Signed) -> arm::Arm {
        crate::inproc::client(self.arm.clone(), &signed.session.token, &signed.host)
    }

    /// Canonical names of the regions this deployment serves.
    pub(crate) fn regions(&self) -> &[String] {
        &self.core.config().regions
    }

    /// The regions as the options of a Region field.
    pub(crate) fn region_options(&self) -> Vec<(String, String)> {
        self.regions().iter().map(|r| (r.clone(), r.clone())).collect()
    }
}

/// The portal's routes.
pub(crate) fn routes(state: PortalState) -> Router {
    Router::new()
        .route("/portal", get(|| async { Redirect::to("/portal/galleries") }))
        .route("/portal/", get(|| async { Redirect::to("/portal/galleries") }))
        .route("/portal/static/{file}", get(assets::serve))
        .route("/portal/signin", get(signin::form).post(signin::submit))
        .route("/portal/signout", post(signin::signout))
        .route("/portal/galleries", get(browse::galleries))
        .route("/portal/subscriptions", get(browse::subscriptions))
        .route("/portal/r/{*id}", get(browse::resource))
        .route("/portal/create/gallery", get(create_gallery::form).post(create_gallery::submit))
        .route("/portal/create/definition", get(create_definition::form).post(create_definition::submit))
        .route("/portal/create/version", get(create_version::form).post(create_version::submit))
        .route("/portal/update/version", post(update_version::submit))
        .route("/portal/status", get(update_version::status))
        .route("/portal/delete", get(delete::confirm).post(delete::submit))
        .route("/portal/sharing", get(sharing::form).post(sharing::submit))
        .route("/portal/shared", get(sharing::shared_with_me))
        .route("/portal/upload", get(upload::form))
        .route("/portal/upload/start", post(upload::start))
        .route("/portal/upload/finish", post(upload::finish))
        .with_state(state)
}
