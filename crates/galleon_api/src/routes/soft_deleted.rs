//! Soft-deleted image versions: `GET …/galleries/{g}/softDeletedArtifactTypes/Images/artifacts/{i}/versions`
//! (az's `sig image-version list-soft-deleted`) and `DELETE …/versions/{v}` there (hard delete).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use galleon_api_types::List;
use galleon_api_types::version::soft_deleted_wire;
use galleon_model::GroupRef;

use crate::AppState;
use crate::api_version::{ApiVersion, COMPUTE_GALLERY};
use crate::error::ApiError;
use crate::extract::ArmPath;

const TYPE: &str = "Microsoft.Compute/galleries/softDeletedArtifactTypes/artifacts/versions";

fn images_only(artifact_type: &str) -> Result<(), ApiError> {
    if artifact_type.eq_ignore_ascii_case("Images") {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameter",
            format!(
                "The artifact type '{artifact_type}' is not valid: the only soft-deleted artifact type is 'Images'."
            ),
        ))
    }
}

pub(super) async fn list(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, gallery, artifact_type, image)): ArmPath<(String, String, String, String, String)>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    images_only(&artifact_type)?;
    let g = GroupRef::new(&sub, &rg).gallery(&gallery);
    let versions = s.core.list_soft_deleted_versions(&g.image(&image)).await?;
    let value = versions.iter().map(|v| soft_deleted_wire(&g.id(), &image, v)).collect();
    Ok(Json(List { value, next_link: None }).into_response())
}

pub(super) async fn delete(
    State(s): State<AppState>,
    api: ApiVersion,
    ArmPath((sub, rg, gallery, artifact_type, image, version)): ArmPath<(
        String,
        String,
        String,
        String,
        String,
        String,
    )>,
) -> Result<Response, ApiError> {
    api.require(COMPUTE_GALLERY, TYPE)?;
    images_only(&artifact_type)?;
    let r = GroupRef::new(&sub, &rg).gallery(&gallery).image(&image).version(&version);
    Ok(if s.core.hard_delete_version(&r).await? { StatusCode::OK } else { StatusCode::NO_CONTENT }.into_response())
}
