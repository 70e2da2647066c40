//! `GET …/galleries/{g}/images/{i}/explainLatest?region=R` (a galleon extension; any
//! api-version): which version `latest` resolves to in the region and why each other version
//! is not it. Readers of the definition may ask.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use galleon_model::GroupRef;
use serde_json::Value;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::ArmPath;

pub(super) async fn explain(
    State(s): State<AppState>,
    ArmPath((sub, rg, g, i)): ArmPath<(String, String, String, String)>,
    uri: Uri,
) -> Result<Json<Value>, ApiError> {
    let region = crate::api_version::query_param(uri.query(), "region").unwrap_or_default();
    let image = GroupRef::new(&sub, &rg).gallery(&g).image(&i);
    let explained = s.core.explain_latest(&image, &region).await?;
    Ok(Json(serde_json::to_value(explained).unwrap_or_default()))
}
