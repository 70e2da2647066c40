//! Signed provenance (a galleon extension; any api-version): `GET …/versions/{v}/provenance`
//! (readers of the version), `POST …/versions/{v}/verify` (202; the operation's output is the
//! report), and the public keys, open without a token, at
//! `GET /.well-known/galleon/provenance-keys`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use galleon_model::{GroupRef, VersionRef};
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ArmPath, BaseUrl};

type VersionPath = ArmPath<(String, String, String, String, String)>;

fn version(ArmPath((sub, rg, g, i, v)): VersionPath) -> VersionRef {
    GroupRef::new(&sub, &rg).gallery(&g).image(&i).version(&v)
}

pub(super) async fn get(State(s): State<AppState>, path: VersionPath) -> Result<Json<Value>, ApiError> {
    let p = s.core.version_provenance(&version(path)).await?;
    Ok(Json(serde_json::to_value(p).unwrap_or_default()))
}

pub(super) async fn verify(
    State(s): State<AppState>,
    path: VersionPath,
    BaseUrl(base): BaseUrl,
) -> Result<Response, ApiError> {
    let op = s.core.start_verify(&version(path)).await?;
    Ok(crate::lro::delete_started(&base, "2024-03-03", Some(op)))
}

pub(super) async fn keys(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    Ok(Json(s.core.provenance_jwks().await?))
}
