//! The HTTPS transport: kept-alive HTTP/1.1 connections to one server (a transfer sends
//! thousands of pages; each no longer pays a TCP and TLS handshake).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Request, Response, Uri};

use crate::{ClientError, Connector, Transport};

/// How many idle connections are kept.
const MAX_IDLE: usize = 8;

/// Requests to the server at one endpoint.
pub struct Https {
    endpoint: String,
    base: Uri,
    connector: Connector,
    /// Kept-alive connections, reused by later requests.
    idle: std::sync::Mutex<Vec<SendRequest<Full<Bytes>>>>,
}

impl Https {
    /// A transport to `endpoint` (`https://host:port`, or `http://`), trusting `ca_file` too.
    pub fn new(endpoint: &str, ca_file: Option<&str>) -> Result<Self, ClientError> {
        let base: Uri = endpoint.trim_end_matches('/').parse().map_err(ClientError::transport)?;
        if base.host().is_none() {
            return Err(ClientError::transport("the endpoint has no host"));
        }
        Ok(Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            base,
            connector: Connector::new(ca_file)?,
            idle: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// The server's URL, without a trailing `/`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// A kept-alive connection, if one is idle.
    fn idle_connection(&self) -> Option<SendRequest<Full<Bytes>>> {
        let mut idle = self.idle.lock().ok()?;
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Reads the whole answer, then keeps the connection for the next request.
    async fn read(
        &self,
        sender: SendRequest<Full<Bytes>>,
        resp: Response<hyper::body::Incoming>,
    ) -> Result<Response<Bytes>, ClientError> {
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.map_err(ClientError::transport)?.to_bytes();
        if !sender.is_closed()
            && let Ok(mut idle) = self.idle.lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(sender);
        }
        Ok(Response::from_parts(parts, bytes))
    }
}

impl Transport for Https {
    async fn send(&self, request: Request<Bytes>) -> Result<Response<Bytes>, ClientError> {
        let (mut parts, body) = request.into_parts();
        let authority = self.base.authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        parts.headers.insert(hyper::header::HOST, authority.parse().map_err(ClientError::transport)?);
        let build = || {
            let mut req = Request::builder().method(parts.method.clone()).uri(parts.uri.clone());
            if let Some(headers) = req.headers_mut() {
                headers.clone_from(&parts.headers);
            }
            req.body(Full::new(body.clone())).map_err(ClientError::transport)
        };
        // A kept connection first; one the server closed meanwhile is replaced by a new one
        // (the request never reached it).
        if let Some(mut sender) = self.idle_connection()
            && sender.ready().await.is_ok()
        {
            match sender.send_request(build()?).await {
                Ok(resp) => return self.read(sender, resp).await,
                Err(e) if e.is_canceled() || e.is_closed() => {}
                Err(e) => return Err(ClientError::transport(e)),
            }
        }
        let mut sender = self.connector.connect(&self.base).await?;
        let resp = sender.send_request(build()?).await.map_err(ClientError::transport)?;
        self.read(sender, resp).await
    }
}
