//! The ARM client: credentials, retries of what ARM makes idempotent, ARM errors, typed answers
//! and long-running operations, over any [`Transport`].

use std::time::{Duration, Instant};

use bytes::Bytes;
use galleon_api_types::{List, OperationStatus};
use hyper::{HeaderMap, Method, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Mutex;

use crate::{ClientError, Https, Login, Transport};

/// How many times a transient refusal (429, 502, 503, 504) of an idempotent call is retried.
const RETRIES: u32 = 3;

/// The pause before retry `n` (from 1): the server's `Retry-After`, else 2, 4, 8 s; 1–10 s.
fn retry_delay(retry_after: Option<u64>, n: u32) -> Duration {
    Duration::from_secs(retry_after.unwrap_or(1 << n).clamp(1, 10))
}

/// Who the client calls as.
pub enum Credential {
    /// A service principal's secret, exchanged at the server's token endpoint (client-credentials
    /// grant) for tokens that are reused until near expiry.
    Secret { tenant_id: String, client_id: String, client_secret: String },
    /// A token already issued (a portal session's, a deployment's principal's).
    Token(String),
}

impl From<&Login> for Credential {
    fn from(login: &Login) -> Self {
        Self::Secret {
            tenant_id: login.tenant_id.clone(),
            client_id: login.client_id.clone(),
            client_secret: login.client_secret.clone(),
        }
    }
}

/// A reply: status, the headers a caller needs, and the JSON body (Null when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub async_operation: Option<String>,
    pub location: Option<String>,
    pub retry_after: Option<u64>,
    pub body: Value,
}

impl Reply {
    /// A reply standing for the operation at `url` (to wait on one started elsewhere).
    pub fn operation(url: String) -> Self {
        Self { status: 202, async_operation: Some(url), location: None, retry_after: None, body: Value::Null }
    }
}

/// A client of one server, as one principal.
pub struct Client<T = Https> {
    transport: T,
    credential: Credential,
    token: Mutex<Option<(String, Instant)>>,
}

impl Client<Https> {
    /// A client of `login`'s server over HTTPS; reads its CA file. Nothing is sent yet.
    pub fn new(login: Login) -> Result<Self, ClientError> {
        let transport = Https::new(&login.endpoint, login.ca_file.as_deref())?;
        Ok(Self::over(transport, Credential::from(&login)))
    }
}

impl<T: Transport> Client<T> {
    /// A client sending through `transport` as `credential`.
    pub fn over(transport: T, credential: Credential) -> Self {
        Self { transport, credential, token: Mutex::new(None) }
    }

    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Fetches a token now (checks the credentials).
    pub async fn authenticate(&self) -> Result<(), ClientError> {
        self.bearer().await.map(|_| ())
    }

    async fn bearer(&self) -> Result<String, ClientError> {
        let (tenant_id, client_id, client_secret) = match &self.credential {
            Credential::Token(token) => return Ok(token.clone()),
            Credential::Secret { tenant_id, client_id, client_secret } => (tenant_id, client_id, client_secret),
        };
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let form = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            ("client_id", client_id.as_str()),
            ("client_secret", client_secret.as_str()),
            ("scope", "https://management.azure.com/.default"),
        ])
        .map_err(ClientError::transport)?;
        let path = format!("/{tenant_id}/oauth2/v2.0/token");
        let form_type = [("content-type", "application/x-www-form-urlencoded".to_string())];
        let mut retries = 0;
        let reply = loop {
            let reply =
                reply_of(self.exchange(Method::POST, &path, None, &form_type, Bytes::from(form.clone())).await?);
            // A token service briefly away is asked again; a refusal (401, 429) is final.
            if matches!(reply.status, 502..=504) && retries < RETRIES {
                retries += 1;
                tokio::time::sleep(retry_delay(reply.retry_after, retries)).await;
                continue;
            }
            break reply;
        };
        if reply.status != 200 {
            return Err(ClientError::from_reply(reply.status, &reply.body));
        }
        let token = reply.body["access_token"].as_str().ok_or_else(|| ClientError::transport("no access_token"))?;
        let lifetime = reply.body["expires_in"].as_u64().unwrap_or(300).saturating_sub(60);
        *cached = Some((token.to_string(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(token.to_string())
    }

    /// An authenticated call; `path` is a path with query (or a full URL on this server).
    /// Non-2xx replies are ARM errors.
    /// A server that is briefly unable to answer (429, 502, 503, 504: a node failing over, its
    /// database away) is asked again after its `Retry-After` (1–10 s), up to three times, for
    /// the methods ARM makes idempotent, as the Azure SDKs' retry policy does.
    pub async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Reply, ClientError> {
        let bytes = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let idempotent = matches!(method, Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::PATCH);
        let json = [("content-type", "application/json".to_string())];
        let mut retries = 0;
        loop {
            let token = self.bearer().await?;
            let reply = reply_of(self.exchange(method.clone(), path, Some(&token), &json, bytes.clone()).await?);
            if reply.status < 300 {
                return Ok(reply);
            }
            let transient = matches!(reply.status, 429 | 502 | 503 | 504);
            if !(idempotent && transient) || retries == RETRIES {
                return Err(ClientError::from_reply(reply.status, &reply.body));
            }
            retries += 1;
            tokio::time::sleep(retry_delay(reply.retry_after, retries)).await;
        }
    }

    /// A GET decoded into `R` (a `galleon_api_types` resource, or `Value` for any document).
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, ClientError> {
        let reply = self.call(Method::GET, path, None).await?;
        serde_json::from_value(reply.body).map_err(|e| ClientError::Decode(format!("GET {}: {e}", path_only(path))))
    }

    /// Every item of a list, following `nextLink` pages.
    pub async fn list<R: DeserializeOwned>(&self, path: &str) -> Result<Vec<R>, ClientError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(page) = next.take() {
            let list: List<R> = self.get(&page).await?;
            items.extend(list.value);
            next = list.next_link;
        }
        Ok(items)
    }

    /// Waits for the long-running operation `reply` started (polling its `Azure-AsyncOperation`
    /// as `Retry-After` says) and returns its final status; a failed or canceled operation is
    /// its ARM error. A reply that started none is a finished operation.
    pub async fn wait(&self, reply: &Reply) -> Result<OperationStatus, ClientError> {
        Ok(self.poll(reply, None).await?.unwrap_or_else(finished))
    }

    /// As [`Self::wait`], for at most `limit`: `None` if the operation is still running then.
    pub async fn wait_at_most(&self, reply: &Reply, limit: Duration) -> Result<Option<OperationStatus>, ClientError> {
        self.poll(reply, Some(Instant::now() + limit)).await
    }

    async fn poll(&self, reply: &Reply, deadline: Option<Instant>) -> Result<Option<OperationStatus>, ClientError> {
        let Some(url) = reply.async_operation.as_deref() else { return Ok(Some(finished())) };
        // Short operations end within a few hundred milliseconds: poll at 100 ms, doubling up
        // to what `Retry-After` asks (at most 5 s).
        let mut delay = Duration::from_millis(100);
        loop {
            let reply = self.call(Method::GET, url, None).await?;
            let retry_after = reply.retry_after;
            let status: OperationStatus = serde_json::from_value(reply.body)
                .map_err(|e| ClientError::Decode(format!("GET {}: {e}", path_only(url))))?;
            match status.status.as_str() {
                "Succeeded" => return Ok(Some(status)),
                "Failed" | "Canceled" => {
                    let error = status.error.unwrap_or_else(|| galleon_api_types::ErrorBody {
                        code: "OperationFailed".into(),
                        message: "The operation failed.".into(),
                        target: None,
                        details: Vec::new(),
                    });
                    return Err(ClientError::Arm {
                        status: 200,
                        code: error.code,
                        message: error.message,
                        target: error.target,
                    });
                }
                _ => {
                    let ceiling = Duration::from_secs(retry_after.unwrap_or(1).clamp(1, 5));
                    if deadline.is_some_and(|d| Instant::now() + delay > d) {
                        return Ok(None);
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(ceiling);
                }
            }
        }
    }

    /// A call to a URL that carries its own authorization (a disk access URL): extra headers,
    /// raw bytes both ways. Non-2xx replies are errors.
    pub async fn blob(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(HeaderMap, Bytes), ClientError> {
        let (status, headers, bytes) = self.exchange(method, url, None, headers, body).await?;
        if status >= 300 {
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(ClientError::from_reply(status, &body));
        }
        Ok((headers, bytes))
    }

    /// One request through the transport, with the bearer `token` when given; the answer
    /// whatever its status.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(u16, HeaderMap, Bytes), ClientError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path_only(path))
            .header("user-agent", concat!("galleon/", env!("CARGO_PKG_VERSION")));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        let req = req.body(body).map_err(ClientError::transport)?;
        let (parts, body) = self.transport.send(req).await?.into_parts();
        Ok((parts.status.as_u16(), parts.headers, body))
    }
}

/// An answer as a [`Reply`]: the headers a caller needs, the body as JSON (Null when empty).
fn reply_of((status, headers, bytes): (u16, HeaderMap, Bytes)) -> Reply {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let (async_operation, location) = (header("azure-asyncoperation"), header("location"));
    let retry_after = header("retry-after").and_then(|v| v.parse().ok());
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
    Reply { status, async_operation, location, retry_after, body }
}

/// A status for an operation that finished with its request.
fn finished() -> OperationStatus {
    OperationStatus {
        name: String::new(),
        status: "Succeeded".into(),
        start_time: String::new(),
        end_time: None,
        error: None,
        properties: None,
    }
}

/// The path and query of a URL on the server (operation URLs come back absolute).
fn path_only(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

#[cfg(test)]
mod tests {
    use super::path_only;

    #[test]
    fn absolute_urls_keep_only_their_path_and_query() {
        assert_eq!(path_only("https://h:1/a/b?x=1"), "/a/b?x=1");
        assert_eq!(path_only("https://h:1"), "/");
        assert_eq!(path_only("/a?b"), "/a?b");
    }
}
