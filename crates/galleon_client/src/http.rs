//! HTTPS requests with a bearer token over kept-alive HTTP/1.1 connections (a transfer sends
//! thousands of pages; each no longer pays a TCP and TLS handshake), the token fetched once with
//! the client-credentials grant and reused until it is near expiry.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, pem::PemObject};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::Mutex;

use crate::{ClientError, Login};

/// How many times a transient refusal (429, 502, 503, 504) of an idempotent call is retried.
const RETRIES: u32 = 3;

/// The pause before retry `n` (from 1): the server's `Retry-After`, else 2, 4, 8 s; 1–10 s.
fn retry_delay(retry_after: Option<u64>, n: u32) -> Duration {
    Duration::from_secs(retry_after.unwrap_or(1 << n).clamp(1, 10))
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

/// A logged-in client of one server.
pub struct Client {
    login: Login,
    base: Uri,
    tls: tokio_rustls::TlsConnector,
    token: Mutex<Option<(String, Instant)>>,
    /// Kept-alive connections, reused by later requests (transfers send thousands of pages).
    idle: std::sync::Mutex<Vec<http1::SendRequest<Full<Bytes>>>>,
}

/// How many idle connections are kept.
const MAX_IDLE: usize = 8;

impl Client {
    /// A client for `login`; reads its CA file. Nothing is sent yet.
    pub fn new(login: Login) -> Result<Self, ClientError> {
        let base: Uri = login.endpoint.trim_end_matches('/').parse().map_err(ClientError::transport)?;
        let mut roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        if let Some(ca) = &login.ca_file {
            for cert in CertificateDer::pem_file_iter(ca).map_err(|e| ClientError::Transport(format!("{ca}: {e}")))? {
                roots
                    .add(cert.map_err(|e| ClientError::Transport(format!("{ca}: {e}")))?)
                    .map_err(ClientError::transport)?;
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(ClientError::transport)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self {
            login,
            base,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            token: Mutex::new(None),
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The login this client uses.
    pub fn login(&self) -> &Login {
        &self.login
    }

    /// Fetches a token now (checks the credentials).
    pub async fn authenticate(&self) -> Result<(), ClientError> {
        self.bearer().await.map(|_| ())
    }

    async fn bearer(&self) -> Result<String, ClientError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let form = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            ("client_id", self.login.client_id.as_str()),
            ("client_secret", self.login.client_secret.as_str()),
            ("scope", "https://management.azure.com/.default"),
        ])
        .map_err(ClientError::transport)?;
        let path = format!("/{}/oauth2/v2.0/token", self.login.tenant_id);
        let mut retries = 0;
        let reply = loop {
            let form = Bytes::from(form.clone());
            let reply = self.send(Method::POST, &path, None, "application/x-www-form-urlencoded", form).await?;
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
        let mut retries = 0;
        loop {
            let token = self.bearer().await?;
            let reply = self.send(method.clone(), path, Some(&token), "application/json", bytes.clone()).await?;
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

    /// Waits for a long-running operation started by `reply` (polling `Azure-AsyncOperation`
    /// as its `Retry-After` says) and returns its final status document. `on_poll` sees every
    /// status while it runs.
    pub async fn wait(&self, reply: &Reply, mut on_poll: impl FnMut(&Value)) -> Result<Value, ClientError> {
        let Some(url) = reply.async_operation.clone() else { return Ok(reply.body.clone()) };
        // Short operations end within a few hundred milliseconds: poll at 100 ms, doubling up
        // to what `Retry-After` asks (at most 5 s).
        let mut delay = Duration::from_millis(100);
        loop {
            let status = self.call(Method::GET, &url, None).await?;
            on_poll(&status.body);
            match status.body["status"].as_str() {
                Some("Succeeded") => return Ok(status.body),
                Some("Failed" | "Canceled") => {
                    let error = &status.body["error"];
                    return Err(ClientError::Arm {
                        status: 200,
                        code: error["code"].as_str().unwrap_or("OperationFailed").to_string(),
                        message: error["message"].as_str().unwrap_or("The operation failed.").to_string(),
                    });
                }
                _ => {
                    tokio::time::sleep(delay).await;
                    let ceiling = Duration::from_secs(status.retry_after.unwrap_or(1).clamp(1, 5));
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
    ) -> Result<(hyper::HeaderMap, Bytes), ClientError> {
        let (status, headers, bytes) = self.send_raw(method, url, None, headers, body).await?;
        if status >= 300 {
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(ClientError::from_reply(status, &body));
        }
        Ok((headers, bytes))
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Bytes,
    ) -> Result<Reply, ClientError> {
        let (status, headers, bytes) =
            self.send_raw(method, path, token, &[("content-type", content_type.to_string())], body).await?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (async_operation, location) = (header("azure-asyncoperation"), header("location"));
        let retry_after = header("retry-after").and_then(|v| v.parse().ok());
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        Ok(Reply { status, async_operation, location, retry_after, body })
    }

    async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Bytes,
    ) -> Result<(u16, hyper::HeaderMap, Bytes), ClientError> {
        // Operation URLs come back absolute; keep only their path on this server.
        let path = match path.parse::<Uri>() {
            Ok(uri) if uri.scheme().is_some() => uri.path_and_query().map_or("/", |p| p.as_str()).to_string(),
            _ => path.to_string(),
        };
        let host = self.base.host().ok_or_else(|| ClientError::transport("the endpoint has no host"))?;
        let authority = self.base.authority().map_or(host, |a| a.as_str()).to_string();
        let build = || {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path.as_str())
                .header("host", authority.as_str())
                .header("user-agent", concat!("galleon-cli/", env!("CARGO_PKG_VERSION")));
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            for (name, value) in headers {
                req = req.header(*name, value);
            }
            req.body(Full::new(body.clone())).map_err(ClientError::transport)
        };
        // A kept connection first; one the server closed meanwhile is replaced by a new one
        // (the request never reached it).
        if let Some(mut sender) = self.idle_connection()
            && sender.ready().await.is_ok()
        {
            match sender.send_request(build()?).await {
                Ok(resp) => return self.read_response(sender, resp).await,
                Err(e) if e.is_canceled() || e.is_closed() => {}
                Err(e) => return Err(ClientError::transport(e)),
            }
        }
        let mut sender = self.connect().await?;
        let resp = sender.send_request(build()?).await.map_err(ClientError::transport)?;
        self.read_response(sender, resp).await
    }

    /// A kept-alive connection, if one is idle.
    fn idle_connection(&self) -> Option<http1::SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// A new connection (TLS unless the endpoint is `http://`).
    async fn connect(&self) -> Result<http1::SendRequest<Full<Bytes>>, ClientError> {
        let host = self.base.host().ok_or_else(|| ClientError::transport("the endpoint has no host"))?;
        let https = self.base.scheme_str() != Some("http");
        let port = self.base.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host, port))
            .await
            .map_err(|e| ClientError::Transport(format!("cannot reach {}: {e}", self.login.endpoint)))?;
        let _ = tcp.set_nodelay(true);
        if https {
            let name = ServerName::try_from(host.to_string()).map_err(ClientError::transport)?;
            let tls = self.tls.connect(name, tcp).await.map_err(|e| ClientError::Transport(format!("TLS: {e}")))?;
            let (send, conn) = http1::handshake(TokioIo::new(tls)).await.map_err(ClientError::transport)?;
            tokio::spawn(conn);
            Ok(send)
        } else {
            let (send, conn) = http1::handshake(TokioIo::new(tcp)).await.map_err(ClientError::transport)?;
            tokio::spawn(conn);
            Ok(send)
        }
    }

    /// Reads the whole answer, then keeps the connection for the next request.
    async fn read_response(
        &self,
        sender: http1::SendRequest<Full<Bytes>>,
        resp: hyper::Response<hyper::body::Incoming>,
    ) -> Result<(u16, hyper::HeaderMap, Bytes), ClientError> {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.map_err(ClientError::transport)?.to_bytes();
        if !sender.is_closed()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(sender);
        }
        Ok((status, headers, bytes))
    }
}
