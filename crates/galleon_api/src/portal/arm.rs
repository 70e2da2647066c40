//! The portal's ARM client (galleon_client over [`crate::inproc`]), the api-versions it sends,
//! and ARM errors as its forms show them.

use axum::http::StatusCode;
use galleon_client::ClientError;
pub(crate) use galleon_client::api_version::{
    COMPUTE, DISKS, IMAGES_AND_VMS as IMAGES, INSIGHTS, RESOURCE_GRAPH, RESOURCES,
};
use serde_json::Value;

/// ARM as the signed-in principal.
pub(crate) type Arm = galleon_client::Client<crate::inproc::InProcess>;

/// An error as a form shows it: from ARM, or from the portal's own checks before sending.
#[derive(Debug, Clone)]
pub(crate) struct ArmFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    /// The field it is about, when there is one.
    pub target: Option<String>,
}

impl From<ClientError> for ArmFailure {
    fn from(e: ClientError) -> Self {
        let (status, code, message, target) = e.into_arm();
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code,
            message,
            target,
        }
    }
}

/// A GET of any document.
pub(crate) async fn read(arm: &Arm, path: &str) -> Result<Value, ArmFailure> {
    Ok(arm.get::<Value>(path).await?)
}

/// Every item of a list.
pub(crate) async fn items(arm: &Arm, path: &str) -> Result<Vec<Value>, ArmFailure> {
    Ok(arm.list::<Value>(path).await?)
}

/// Sends `method` and waits for what it started, at most `limit`; an operation still running
/// then is an `OperationPending` failure (the page says so and the user can come back).
pub(crate) async fn complete(
    arm: &Arm,
    method: axum::http::Method,
    path: &str,
    body: Option<&Value>,
    limit: std::time::Duration,
) -> Result<Value, ArmFailure> {
    let reply = arm.call(method, path, body).await?;
    match arm.wait_at_most(&reply, limit).await? {
        Some(status) => Ok(status.output().clone()),
        None => Err(ArmFailure {
            status: StatusCode::ACCEPTED,
            code: "OperationPending".into(),
            message: "The operation is still running.".into(),
            target: None,
        }),
    }
}

/// A PUT that only creates: a resource already at `id` is refused (as the Azure portal's
/// validation does), with `name_target` naming the field.
pub(crate) async fn create(arm: &Arm, id: &str, api: &str, body: &Value, name_target: &str) -> Result<(), ArmFailure> {
    if arm.get::<Value>(&format!("{id}?{api}")).await.is_ok() {
        let name = id.rsplit('/').next().unwrap_or_default();
        return Err(ArmFailure {
            status: StatusCode::CONFLICT,
            code: "Conflict".into(),
            message: format!("A resource named '{name}' already exists here. Choose another name."),
            target: Some(name_target.into()),
        });
    }
    arm.call(axum::http::Method::PUT, &format!("{id}?{api}"), Some(body)).await?;
    Ok(())
}
