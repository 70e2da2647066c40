//! ARM requests sent in-process through the same router (and so the same authentication,
//! authorization, validation and use cases) that serves `az` and the SDKs, with a caller's
//! token. The portal reads and writes only this way (like the Azure portal, it is an ARM
//! client and cannot do anything its user could not do with `az`), and template deployments
//! put their resources this way.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// An ARM error as the portal shows it.
#[derive(Debug, Clone)]
pub(crate) struct ArmFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub target: Option<String>,
}

impl ArmFailure {
    fn from_body(status: StatusCode, body: &Value) -> Self {
        let e = if body["error"].is_object() { &body["error"] } else { body };
        Self {
            status,
            code: e["code"].as_str().unwrap_or("Error").to_string(),
            message: e["message"].as_str().unwrap_or("The request failed.").to_string(),
            target: e["target"].as_str().map(str::to_string),
        }
    }
}

/// A reply: status, the `Azure-AsyncOperation` URL when the request started an operation, body.
pub(crate) struct Reply {
    pub async_operation: Option<String>,
    pub body: Value,
}

/// ARM calls on behalf of one principal.
pub(crate) struct Arm<'a> {
    pub router: &'a Router,
    pub token: &'a str,
    /// `Host` of the caller's request, so URLs ARM builds (access URLs, operations) reach the
    /// same origin.
    pub host: &'a str,
}

impl Arm<'_> {
    /// One request; non-2xx answers are [`ArmFailure`]s.
    pub(crate) async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ArmFailure> {
        let uri: axum::http::Uri = path
            .parse()
            .map_err(|_| failure(StatusCode::BAD_REQUEST, "InvalidRequest", format!("Bad path '{path}'.")))?;
        let uri = crate::normalize::normalize_uri(&uri).unwrap_or(uri);
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", self.token))
            .header("host", self.host)
            .header("content-type", "application/json")
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .map_err(|e| failure(StatusCode::BAD_REQUEST, "InvalidRequest", e.to_string()))?;
        let resp = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.to_string()))?;
        let status = resp.status();
        let async_operation =
            resp.headers().get("azure-asyncoperation").and_then(|v| v.to_str().ok()).map(str::to_string);
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| failure(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", e.to_string()))?
            .to_bytes();
        let body: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        if !status.is_success() {
            return Err(ArmFailure::from_body(status, &body));
        }
        Ok(Reply { async_operation, body })
    }

    /// A PUT that only creates: a resource already at `id` is refused (as the Azure portal's
    /// validation does), with `name_target` naming the field.
    pub(crate) async fn create(
        &self,
        id: &str,
        api: &str,
        body: &Value,
        name_target: &str,
    ) -> Result<Reply, ArmFailure> {
        if self.get(&format!("{id}?{api}")).await.is_ok() {
            let name = id.rsplit('/').next().unwrap_or_default();
            return Err(ArmFailure {
                status: StatusCode::CONFLICT,
                code: "Conflict".into(),
                message: format!("A resource named '{name}' already exists here. Choose another name."),
                target: Some(name_target.into()),
            });
        }
        self.call(Method::PUT, &format!("{id}?{api}"), Some(body)).await
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value, ArmFailure> {
        Ok(self.call(Method::GET, path, None).await?.body)
    }

    /// The `value` of a list (first page; the portal's lists are short).
    pub(crate) async fn list(&self, path: &str) -> Result<Vec<Value>, ArmFailure> {
        let body = self.get(path).await?;
        Ok(body["value"].as_array().cloned().unwrap_or_default())
    }

    /// Waits for the operation a reply started (its `Azure-AsyncOperation`), at most `limit`.
    pub(crate) async fn wait(&self, reply: &Reply, limit: Duration) -> Result<Value, ArmFailure> {
        let Some(url) = &reply.async_operation else { return Ok(reply.body.clone()) };
        let path = path_of(url);
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let status = self.get(&path).await?;
            match status["status"].as_str() {
                Some("Succeeded") => return Ok(status),
                Some("Failed" | "Canceled") => return Err(ArmFailure::from_body(StatusCode::OK, &status)),
                _ if tokio::time::Instant::now() > deadline => {
                    return Err(failure(
                        StatusCode::ACCEPTED,
                        "OperationPending",
                        "The operation is still running.".into(),
                    ));
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

fn failure(status: StatusCode, code: &str, message: String) -> ArmFailure {
    ArmFailure { status, code: code.into(), message, target: None }
}

/// The path and query of an absolute URL (`https://host/x?y` → `/x?y`).
pub(crate) fn path_of(url: &str) -> String {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or_else(|| "/".to_string(), |i| rest[i..].to_string()),
        None => url.to_string(),
    }
}
